"""Every cluster (and so every snapshot of it) is encrypted at rest with a customer-managed key that its
project's `EncryptionAtRest` configures (join: cluster → project → EncryptionAtRest)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from backstop.ground import seeds, tokens
from backstop.ground.resources import UNKNOWN, Resource, is_unknown
from backstop.policy.core import Finding, Severity, stack_rule, unknown, violation
from backstop.policy.stackview import StackView
from backstop.policy.targets import PolicyTargets
from backstop.policy.values import MISSING, fmt, get, is_true

# encryptionAtRestProvider -> (EncryptionAtRest block, the field naming the customer key)
PROVIDER_KEYS = {
    "AWS": ("awsKmsConfig", "customerMasterKeyId"),
    "AZURE": ("azureKeyVaultConfig", "keyIdentifier"),
    "GCP": ("googleCloudKmsConfig", "keyVersionResourceId"),
}


@stack_rule(
    id="atlas-encryption-at-rest",
    description=(
        f"{seeds.SEED_BACKUP}, Tier 1: 'Encryption: AES-256 server-side at rest in S3; AWS KMS-managed "
        f"keys'; {seeds.SEED_WISER}: backups 'AES-256, consistent with primary data encryption'. Atlas "
        "encrypts a cluster's snapshots with the customer key only when the cluster uses encryption at rest."
    ),
    severity=Severity.HIGH,
    remediation=(
        "Set encryption_at_rest_provider to one of $encryption_at_rest_providers (the seed: 'AWS') on every "
        "cluster and declare mongodbatlas.EncryptionAtRest("
        "project_id=project.id, aws_kms_config={'enabled': True, 'customer_master_key_id': key.key_id, "
        "'region': ..., 'role_id': ...}) for its project."
    ),
    tunables=("encryption_at_rest_providers",),
)
def check(stack: StackView, targets: PolicyTargets) -> Iterator[Finding]:
    configs: dict[str, list[Resource]] = defaultdict(list)
    floating: list[Resource] = []  # EncryptionAtRest resources whose project is not known yet
    for config in stack.of(tokens.ATLAS_ENCRYPTION_AT_REST):
        project = stack.atlas_project(config)
        if isinstance(project, str):
            configs[project].append(config)
        elif is_unknown(project):
            floating.append(config)
    reported: set[tuple[str, str]] = set()
    for cluster in stack.of(tokens.ATLAS_CLUSTERS):
        provider = get(cluster.props, "encryptionAtRestProvider")
        if is_unknown(provider):
            yield unknown(cluster, "encryptionAtRestProvider")
            continue
        if not isinstance(provider, str) or provider not in targets.encryption_at_rest_providers:
            expected = " or ".join(targets.encryption_at_rest_providers)
            yield violation(
                cluster,
                f"encryptionAtRestProvider is {fmt(provider)}: the cluster and its snapshots are not "
                f"encrypted with a customer key (expected {expected})",
            )
            continue
        project = stack.atlas_project(cluster)
        candidates = configs.get(project, []) if isinstance(project, str) else []
        if not candidates:
            if floating or (is_unknown(project) and configs):
                yield unknown(cluster, "the EncryptionAtRest of this cluster's project")
            else:
                yield violation(
                    cluster,
                    f"its project has no EncryptionAtRest resource configuring a customer {provider} key",
                )
            continue
        verdicts = [(config, *_configures(stack, config, provider)) for config in candidates]
        if any(verdict is True for _config, verdict, _what in verdicts):
            continue
        for config, verdict, what in verdicts:
            if (config.urn, provider) in reported:
                continue
            reported.add((config.urn, provider))
            yield unknown(config, what) if is_unknown(verdict) else violation(config, what)


def _configures(stack: StackView, config: Resource, provider: str) -> tuple[bool | Any, str]:
    """Does this EncryptionAtRest enable a customer key of `provider`? (verdict, what is wrong or unknown)."""
    block_key, key_field = PROVIDER_KEYS[provider]
    block = get(config.props, block_key)
    if is_unknown(block):
        return UNKNOWN, block_key
    if not isinstance(block, dict):
        return False, f"no {block_key}: the project's customer {provider} key is not configured"
    enabled = get(block, "enabled")
    if is_unknown(enabled):
        return UNKNOWN, f"{block_key}.enabled"
    if not is_true(enabled):
        return False, f"{block_key}.enabled is {fmt(enabled)}, not true: encryption at rest is off"
    key = get(block, key_field)
    if is_unknown(key):
        # At preview the key id is unknown, but the engine knows it comes from a KMS key of this stack.
        deps = config.property_dependencies.get(block_key, ())
        if provider == "AWS" and any(
            (dep := stack.by_urn(urn)) is not None and dep.type in tokens.KMS_KEYS for urn in deps
        ):
            return True, ""
        return UNKNOWN, f"{block_key}.{key_field}"
    if key is MISSING or not isinstance(key, str) or not key.strip():
        return False, f"{block_key}.{key_field} is not set: no customer key encrypts the project"
    return True, ""
