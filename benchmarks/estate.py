"""A generated estate for the benchmark: many copies of the prod stack, each one team's stack with its own
Atlas project, storage account, Service Bus namespace, buckets and keys, as one `pulumi preview --json`
document, and the same estate as a Terraform plan JSON for Checkov.

Every URN, id, bucket, account, namespace and project name is made unique per copy, so the document holds
as many distinct Atlas projects, storage accounts and namespaces as copies: a join that compares every
project with every cluster shows up as quadratic time. Cluster names are deliberately *not* made unique:
teams reuse names like "main" in their own projects, which is exactly what a per-project join must handle.
One copy in four is the first-deployment preview (computed values unknown), the others the mocked update.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from backstop.ground import tokens
from backstop.ground.resources import UNKNOWN, Resource
from backstop.policy.values import get
from backstop.program.mocks import run_stack

# Props whose string values name a resource other resources point at.
_NAMING_KEYS = (
    "bucket",
    "accountName",
    "namespaceName",
    "arn",
    "name",
    "keyId",
    "bucketName",
    "roleId",
    "registryName",
    "resourceGroupName",
    "zoneId",
)


def _naming_values(resources: Sequence[Resource]) -> set[str]:
    cluster_names = {
        r.props.get("name")
        for r in resources
        if r.type in tokens.ATLAS_CLUSTERS and isinstance(r.props.get("name"), str)
    }
    found = {r.id for r in resources if isinstance(r.id, str) and len(r.id) > 3}
    for r in resources:
        for key in _NAMING_KEYS:
            value = r.props.get(key)
            if isinstance(value, str) and len(value) > 3:
                found.add(value)
    return found - cluster_names


def _hosts(resources: Sequence[Resource]) -> set[str]:
    """The DNS names of the Cloudflare records: the edge rules name them inside their expressions."""
    found = {get(r.props, "name") for r in resources if r.type in tokens.CF_DNS_RECORDS}
    return {h for h in found if isinstance(h, str)}


def _copy(resources: Sequence[Resource], names: set[str], hosts: set[str], n: int) -> Iterator[Resource]:
    suffix = f"-t{n}"

    def rename(value: Any) -> Any:
        if isinstance(value, str):
            if value.startswith("urn:pulumi:") or value in names:
                return value + suffix
            for host in hosts:
                value = value.replace(f'"{host}"', f'"{host}{suffix}"')
            return value
        if isinstance(value, dict):
            return {k: rename(v) for k, v in value.items()}
        if isinstance(value, list):
            return [rename(v) for v in value]
        return value

    for r in resources:
        yield Resource(
            urn=r.urn + suffix,
            type=r.type,
            props=rename(dict(r.props)),
            name=r.name,
            id=rename(r.id),
            protect=r.protect,
            parent=r.parent + suffix if r.parent else None,
            provider=r.provider,
            dependencies=tuple(d + suffix for d in r.dependencies),
            property_dependencies={
                k: tuple(u + suffix for u in v) for k, v in r.property_dependencies.items()
            },
            custom=r.custom,
        )


class Estate:
    """The prod stack, run once under mocks (deployed and first-preview), copied on demand."""

    def __init__(self, root: Path) -> None:
        # As deployed: the Slack secrets set on the deploying machine, as `backstop plan` reads them.
        self.deployed = [
            r for r in run_stack(root, "prod", assume_deploy_secrets=True).resources if r.type != tokens.STACK
        ]
        self.preview = [
            r
            for r in run_stack(root, "prod", preview=True, assume_deploy_secrets=True).resources
            if r.type != tokens.STACK
        ]
        self.names = _naming_values(self.deployed) | _naming_values(self.preview)
        self.hosts = _hosts(self.deployed)

    @property
    def per_copy(self) -> int:
        return len(self.deployed)

    def copies_for(self, resources: int) -> int:
        return max(1, round(resources / self.per_copy))

    def resources(self, copies: int) -> list[Resource]:
        out: list[Resource] = []
        for n in range(copies):
            out.extend(_copy(self.preview if n % 4 == 3 else self.deployed, self.names, self.hosts, n))
        return out


# --- as `pulumi preview --json` -----------------------------------------------------------------------


def write_preview(resources: Sequence[Resource], path: Path) -> None:
    """The resources as the steps of a `pulumi preview --json` document (one `create` step each), written
    as the tests write theirs (`tests.policy_support.to_preview`)."""
    from tests.policy_support import to_preview

    with path.open("w", encoding="utf-8") as out:
        json.dump(to_preview(resources), out)


# --- as a Terraform plan for Checkov ------------------------------------------------------------------

# Pulumi token -> Terraform resource type. Resources without a Terraform equivalent (components, Pulumi
# providers, azure-native's separate BlobServiceProperties) are left out; their settings are folded into
# the account (blob_properties) so Checkov sees the same posture.
_TERRAFORM_TYPES = {
    tokens.S3_BUCKET: "aws_s3_bucket",
    tokens.S3_BUCKET_V2: "aws_s3_bucket",
    tokens.S3_VERSIONING: "aws_s3_bucket_versioning",
    tokens.S3_SSE: "aws_s3_bucket_server_side_encryption_configuration",
    tokens.S3_PUBLIC_ACCESS_BLOCK: "aws_s3_bucket_public_access_block",
    tokens.S3_REPLICATION: "aws_s3_bucket_replication_configuration",
    tokens.S3_LIFECYCLE: "aws_s3_bucket_lifecycle_configuration",
    tokens.S3_OBJECT_LOCK: "aws_s3_bucket_object_lock_configuration",
    tokens.KMS_KEY: "aws_kms_key",
    tokens.KMS_REPLICA_KEY: "aws_kms_replica_key",
    tokens.KMS_ALIAS: "aws_kms_alias",
    tokens.IAM_ROLE: "aws_iam_role",
    tokens.IAM_ROLE_POLICY: "aws_iam_role_policy",
    tokens.AZ_RESOURCE_GROUP: "azurerm_resource_group",
    tokens.AZ_STORAGE_ACCOUNT: "azurerm_storage_account",
    tokens.AZ_BLOB_CONTAINER: "azurerm_storage_container",
    tokens.AZ_SB_NAMESPACE: "azurerm_servicebus_namespace",
    tokens.AZ_SB_QUEUE: "azurerm_servicebus_queue",
    tokens.AZ_SB_TOPIC: "azurerm_servicebus_topic",
    tokens.AZ_SB_SUBSCRIPTION: "azurerm_servicebus_subscription",
    tokens.AZ_METRIC_ALERT: "azurerm_monitor_metric_alert",
    tokens.AZ_ACTION_GROUP: "azurerm_monitor_action_group",
    tokens.ATLAS_PROJECT: "mongodbatlas_project",
    tokens.ATLAS_ADVANCED_CLUSTER: "mongodbatlas_advanced_cluster",
    tokens.ATLAS_LEGACY_CLUSTER: "mongodbatlas_cluster",
    tokens.ATLAS_BACKUP_SCHEDULE: "mongodbatlas_cloud_backup_schedule",
    tokens.ATLAS_EXPORT_BUCKET: "mongodbatlas_cloud_backup_snapshot_export_bucket",
    tokens.ATLAS_ENCRYPTION_AT_REST: "mongodbatlas_encryption_at_rest",
    tokens.ATLAS_COMPLIANCE_POLICY: "mongodbatlas_backup_compliance_policy",
    tokens.ATLAS_ALERT: "mongodbatlas_alert_configuration",
    tokens.ATLAS_PROVIDER_ACCESS_SETUP: "mongodbatlas_cloud_provider_access_setup",
    tokens.ATLAS_PROVIDER_ACCESS_AUTH: "mongodbatlas_cloud_provider_access_authorization",
    tokens.ATLAS_DATABASE_USER: "mongodbatlas_database_user",
}
_CAMEL = re.compile(r"(?<=[a-z0-9])([A-Z])")


def _snake(key: str) -> str:
    return _CAMEL.sub(r"_\1", key).lower()


def _terraform_values(value: Any) -> Any:
    """Wire values as Terraform writes them: snake_case keys, unknowns as null (Terraform's
    `after_unknown` marks them; planned values hold null)."""
    if value is UNKNOWN:
        return None
    if isinstance(value, dict):
        return {_snake(k): _terraform_values(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_terraform_values(v) for v in value]
    return value


def _address_name(resource: Resource) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", resource.urn.rsplit("::", 1)[-1])


def terraform_plan(resources: Sequence[Resource]) -> tuple[dict[str, Any], int]:
    """The estate as `terraform show -json` of a plan (format 1.2), and how many resources it holds."""
    blob_settings: dict[str, dict[str, Any]] = {}
    for r in resources:
        if r.type == tokens.AZ_BLOB_SERVICE:
            account = r.property_dependencies.get("accountName", ())
            if account:
                blob_settings[account[0]] = _terraform_values(dict(r.props))
    planned: list[dict[str, Any]] = []
    changes: list[dict[str, Any]] = []
    seen: set[str] = set()
    for r in resources:
        kind = _TERRAFORM_TYPES.get(r.type)
        if kind is None:
            continue
        name = _address_name(r)
        address = f"{kind}.{name}"
        if address in seen:
            continue
        seen.add(address)
        values = _terraform_values(dict(r.props))
        if r.urn in blob_settings:
            values["blob_properties"] = [blob_settings[r.urn]]
        provider = "registry.terraform.io/" + (
            "hashicorp/aws"
            if kind.startswith("aws_")
            else "hashicorp/azurerm"
            if kind.startswith("azurerm_")
            else "mongodb/mongodbatlas"
        )
        planned.append(
            {
                "address": address,
                "mode": "managed",
                "type": kind,
                "name": name,
                "provider_name": provider,
                "schema_version": 0,
                "values": values,
                "sensitive_values": {},
            }
        )
        changes.append(
            {
                "address": address,
                "mode": "managed",
                "type": kind,
                "name": name,
                "provider_name": provider,
                "change": {"actions": ["create"], "before": None, "after": values, "after_unknown": {}},
            }
        )
    plan = {
        "format_version": "1.2",
        "terraform_version": "1.9.8",
        "planned_values": {"root_module": {"resources": planned}},
        "resource_changes": changes,
        "configuration": {"root_module": {}},
    }
    return plan, len(planned)
