"""In prod, the resources whose loss loses the backups carry Pulumi's `protect`.

Backup-critical: every KMS key (Key, ReplicaKey: deleting one makes its backups unreadable), the S3 buckets
Atlas exports snapshots to and the replicas they copy to, every CloudBackupSchedule and every Backup
Compliance Policy. `protect` makes `pulumi destroy` or an accidental replacement stop before deleting them.
"""

from __future__ import annotations

from collections.abc import Iterator

from backstop.ground import seeds, tokens
from backstop.ground.resources import Resource, is_unknown
from backstop.policy.core import Finding, Severity, stack_rule, unknown, violation
from backstop.policy.stackview import StackView
from backstop.policy.targets import PolicyTargets
from backstop.policy.values import get

_WHY = {
    tokens.KMS_KEY: "KMS key",
    tokens.KMS_REPLICA_KEY: "KMS replica key",
    tokens.ATLAS_BACKUP_SCHEDULE: "Cloud Backup schedule",
    tokens.ATLAS_COMPLIANCE_POLICY: "Backup Compliance Policy",
}


def _critical(stack: StackView) -> list[tuple[Resource, str]]:
    found = [(r, _WHY[r.type]) for r in stack.of(_WHY)]
    found += [(bucket, "Atlas snapshot export bucket (or its replica)") for bucket in stack.export_buckets()]
    return found


def _unresolved_exports(stack: StackView) -> Iterator[Finding]:
    """Export targets and replications whose bucket cannot be told yet, when an unprotected bucket could be
    the one: an unknown must not pass as protected."""
    buckets = stack.of(tokens.S3_BUCKETS)
    if all(bucket.protect for bucket in buckets):
        return
    resolved = {export.urn for bucket in buckets for export in stack.export_targets_of(bucket)[0]}
    for export in stack.of(tokens.ATLAS_EXPORT_BUCKET):
        value = get(export.props, "bucketName")
        if export.urn in resolved or not is_unknown(value) or export.property_dependencies.get("bucketName"):
            continue
        # Its bucketName is unknown and no dependency says which bucket it is.
        yield unknown(export, "the S3 bucket this export target writes to")
    unprotected = [b.urn for b in buckets if not b.protect]
    for source in stack.export_buckets():
        rules, undecided = stack.replication_rules(source)
        unresolved = undecided or any(
            is_unknown(rule.destination) and not stack.replication_targets(rule, source) for rule in rules
        )
        # Some unprotected bucket other than the source itself could be the replica.
        if unresolved and (len(unprotected) > 1 or (unprotected and unprotected[0] != source.urn)):
            yield unknown(source, "the replica bucket this export bucket copies to")


@stack_rule(
    id="backup-resources-protected",
    description=(
        f"{seeds.SEED_BACKUP}: the 'Total catastrophic loss' scenario restores from the 'Cross-region copy + "
        "offsite weekly export' under 'AWS KMS-managed keys'; the keys, export buckets and their replicas, "
        "backup schedules and the compliance policy must survive a mistaken destroy or replace in prod."
    ),
    severity=Severity.HIGH,
    remediation="Pass opts=pulumi.ResourceOptions(protect=True) to the resource in prod stacks.",
    tunables=("require_protect",),
)
def check(stack: StackView, targets: PolicyTargets) -> Iterator[Finding]:
    if not targets.require_protect:
        return
    for resource, what in _critical(stack):
        if not resource.protect:
            yield violation(resource, f"{what} is not protected: pulumi destroy or a replace would delete it")
    yield from _unresolved_exports(stack)
