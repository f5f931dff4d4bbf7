"""Every Atlas cluster has Cloud Backup and continuous (point-in-time) backup on."""

from __future__ import annotations

from collections.abc import Iterator

from backstop.ground import seeds, tokens
from backstop.ground.resources import Resource, is_unknown
from backstop.policy.core import Finding, Severity, resource_rule, unknown, violation
from backstop.policy.rules.atlas_common import cloud_backup_key
from backstop.policy.targets import PolicyTargets
from backstop.policy.values import get, is_true


@resource_rule(
    id="atlas-cloud-backup-enabled",
    types=tokens.ATLAS_CLUSTERS,
    description=(
        f"{seeds.SEED_BACKUP}, Tier 1: Atlas Cloud Backup with 'WiredTiger oplog continuous replay' and "
        "'point-in-time recovery down to 1-second granularity' for every cluster."
    ),
    severity=Severity.CRITICAL,
    remediation="Set backupEnabled (AdvancedCluster) or cloudBackup (legacy Cluster) and pitEnabled to true.",
)
def check(resource: Resource, targets: PolicyTargets) -> Iterator[Finding]:
    backup_key = cloud_backup_key(resource)
    for key, what in ((backup_key, "Cloud Backup"), ("pitEnabled", "continuous (point-in-time) backup")):
        value = get(resource.props, key)
        if is_unknown(value):
            yield unknown(resource, key)
        elif not is_true(value):
            yield violation(resource, f"{what} is off: {key} must be true")
