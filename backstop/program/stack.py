"""The whole declared posture of one stack, built from its validated `StackConfig`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws
from pulumi_azure_native import resources

from backstop.config import NAMESPACE, StackConfig, from_pulumi_config
from backstop.program.app_layer import AppLayer, declare_app_layer
from backstop.program.components.atlas import AtlasBackupArgs, AtlasBackupPosture
from backstop.program.components.aws import BackupKey, BackupKeyArgs, ReplicatedBucket, ReplicatedBucketArgs
from backstop.program.components.azure import (
    BlobStorage,
    BlobStorageArgs,
    ServiceBusArgs,
    ServiceBusWithDeadLetters,
)
from backstop.program.components.slack import SlackAlertRouting, SlackAlertRoutingArgs


@dataclass(frozen=True)
class Posture:
    """Every component of one stack, so tests and callers can follow outputs from one resource to another."""

    key: BackupKey
    media: ReplicatedBucket
    exports: ReplicatedBucket
    atlas: AtlasBackupPosture
    resource_group: resources.ResourceGroup
    blobs: BlobStorage
    bus: ServiceBusWithDeadLetters
    # The action group that brings an Azure Monitor alert to Slack (None without `slackWebhookUrl`): every
    # Azure Monitor alert of the posture lists `slack.action_group.id` in its `actions`.
    slack: SlackAlertRouting | None
    app: AppLayer
    outputs: dict[str, pulumi.Output]


def declare(
    cfg: StackConfig,
    slack_webhook_url: pulumi.Input[str] | None = None,
    slack_api_token: pulumi.Input[str] | None = None,
) -> Posture:
    """Register every resource of the posture.

    `slack_webhook_url` (a Slack incoming webhook) carries Azure Monitor alerts to Slack through a Logic App
    relay; `slack_api_token` (a Slack bot token) lets Atlas post its backup alerts with its `SLACK` type.

    Backup-critical resources (KMS keys, the Atlas export bucket and its replica, backup schedules, the
    compliance policy) are protected in prod so that `pulumi destroy` cannot take them away.
    """
    cfg = cfg.with_global_names()
    protect = cfg.is_prod
    account_id = aws.get_caller_identity_output().account_id
    key = BackupKey(
        "backup-key",
        BackupKeyArgs(
            account_id=account_id,
            region=cfg.aws.region,
            replica_region=cfg.aws.replica_region,
            deletion_window_days=cfg.aws.kms_deletion_window_days,
            description=f"backstop {cfg.environment}: Atlas encryption at rest and backup buckets",
            alias_name=f"backstop-{cfg.environment}-backups",
            protect=protect,
        ),
    )
    media = ReplicatedBucket(
        "media",
        ReplicatedBucketArgs(
            bucket_name=cfg.aws.media_bucket,
            region=cfg.aws.region,
            replica_region=cfg.aws.replica_region,
            kms_key_arn=key.key.arn,
            replica_kms_key_arn=key.replica.arn,
            noncurrent_version_days=cfg.aws.noncurrent_version_days,
            protect=False,
        ),
    )
    exports = ReplicatedBucket(
        "atlas-exports",
        ReplicatedBucketArgs(
            bucket_name=cfg.aws.export_bucket,
            region=cfg.aws.region,
            replica_region=cfg.aws.replica_region,
            kms_key_arn=key.key.arn,
            replica_kms_key_arn=key.replica.arn,
            noncurrent_version_days=cfg.aws.noncurrent_version_days,
            protect=protect,
            object_lock=cfg.aws.export_object_lock,
        ),
    )
    atlas = AtlasBackupPosture(
        "atlas",
        AtlasBackupArgs(
            config=cfg.atlas,
            environment=cfg.environment,
            kms_key_id=key.key.key_id,
            kms_key_arn=key.key.arn,
            kms_region=cfg.aws.region,
            export_bucket_name=exports.bucket.bucket,
            export_bucket_arn=exports.bucket.arn,
            slack_api_token=slack_api_token,
            protect=protect,
            export_bucket_settings=exports.upload_ready(),
        ),
    )
    tags = {"environment": cfg.environment, "managed-by": "backstop"}
    group = resources.ResourceGroup(
        "backstop", resource_group_name=cfg.azure.resource_group_name, location=cfg.azure.location, tags=tags
    )
    slack = None
    if slack_webhook_url is not None:
        slack = SlackAlertRouting(
            "slack-alerts",
            SlackAlertRoutingArgs(
                resource_group_name=group.name,
                location=cfg.azure.location,
                slack_webhook_url=slack_webhook_url,
                tags=tags,
            ),
        )
    blobs = BlobStorage(
        "media-blobs",
        BlobStorageArgs(
            config=cfg.azure.storage, resource_group_name=group.name, location=cfg.azure.location, tags=tags
        ),
    )
    bus = ServiceBusWithDeadLetters(
        "messaging",
        ServiceBusArgs(
            config=cfg.azure.service_bus,
            resource_group_name=group.name,
            location=cfg.azure.location,
            tags=tags,
            alert_action_group_ids=[slack.action_group.id] if slack is not None else [],
        ),
    )
    # Availability alerts notify what the dead-letter alert notifies: the engineering e-mail group and, with
    # `slackWebhookUrl` set, the action group whose Logic App relay posts to Slack #alerts.
    database = application_database(cfg, atlas.project.id, atlas.clusters)
    app = declare_app_layer(
        cfg,
        database=database,
        atlas_project_id=atlas.project.id,
        storage_account_id=blobs.account.id,
        storage_account_name=cfg.azure.storage.account_name,
        alert_action_group_ids=[bus.action_group.id, *([slack.action_group.id] if slack is not None else [])],
    )
    outputs: dict[str, pulumi.Output] = {
        "environment": pulumi.Output.from_input(cfg.environment),
        "atlasProjectId": atlas.project.id,
        "clusterNames": pulumi.Output.from_input(sorted(atlas.clusters)),
        "kmsKeyArn": key.key.arn,
        "mediaBucket": media.bucket.bucket,
        "exportBucket": exports.bucket.bucket,
        "storageAccount": blobs.account.name,
        "serviceBusNamespace": bus.namespace.name,
    }
    outputs["applicationDatabase"] = pulumi.Output.all(**database)
    if slack is not None:
        outputs["slackActionGroupId"] = slack.action_group.id
    if app.app_service is not None and app.registry is not None:
        outputs["registryLoginServer"] = app.registry.login_server
        outputs["webAppHostNames"] = pulumi.Output.all(
            **{name: site.default_host_name for name, site in app.app_service.apps.items()}
        )
    return Posture(
        key=key,
        media=media,
        exports=exports,
        atlas=atlas,
        resource_group=group,
        blobs=blobs,
        bus=bus,
        slack=slack,
        app=app,
        outputs=outputs,
    )


def application_database(
    cfg: StackConfig, project_id: pulumi.Input[str], clusters: Mapping[str, Any]
) -> dict[str, Any]:
    """The cluster the application connects to: the stack's own (of `clusters`, the declared ones by
    name), until `backstop recover cutover` swaps it for a recovered cluster after a cluster or region loss
    (`backstop:recover.connectionTarget`). Its `standardSrv` (a host, no credentials) is what the apps
    receive in their settings."""
    swap = cfg.recover.connection_target
    if swap is None:
        name = cfg.drill.source_cluster or cfg.atlas.clusters[0].name
        own = clusters.get(name)
        return {
            "projectId": project_id,
            "clusterName": name,
            "standardSrv": (
                own.connection_strings.apply(lambda strings: getattr(strings, "standard_srv", None))
                if own is not None
                else None
            ),
        }
    return {
        "projectId": swap.project_id,
        "clusterName": swap.cluster_name,
        "incidentId": swap.incident_id,
        "standardSrv": swap.standard_srv,
    }


def main() -> None:
    """Entry point of the Pulumi program (`infra/__main__.py`): config first, then resources."""
    cfg = from_pulumi_config()
    config = pulumi.Config(NAMESPACE)
    posture = declare(cfg, config.get_secret("slackWebhookUrl"), config.get_secret("slackApiToken"))
    for name, value in posture.outputs.items():
        pulumi.export(name, value)
