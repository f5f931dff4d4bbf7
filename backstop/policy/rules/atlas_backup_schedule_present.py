"""Every cluster with Cloud Backup on has a declared `CloudBackupSchedule` (a stack-level join)."""

from __future__ import annotations

from collections.abc import Iterator

from backstop.ground import seeds, tokens
from backstop.ground.resources import is_unknown
from backstop.policy.core import Finding, Severity, stack_rule, unknown, violation
from backstop.policy.rules.atlas_common import cloud_backup, cloud_backup_key
from backstop.policy.stackview import StackView
from backstop.policy.targets import PolicyTargets
from backstop.policy.values import fmt


@stack_rule(
    id="atlas-backup-schedule-present",
    description=(
        f"{seeds.SEED_BACKUP}, Tier 1: the 'every 6 hours' cadence, '7 daily · 4 weekly · 12 monthly' "
        "retention and 'us-east-1 → us-west-2' copy exist only in a declared schedule; without one Atlas "
        "applies its own default policy, which is not the seed's and copies no snapshot to another region."
    ),
    severity=Severity.HIGH,
    remediation=(
        "Declare mongodbatlas.CloudBackupSchedule(project_id=cluster.project_id, cluster_name=cluster.name, "
        "...) for the cluster, with the seed's policy items, restore window and copy settings."
    ),
)
def check(stack: StackView, targets: PolicyTargets) -> Iterator[Finding]:
    for cluster in stack.of(tokens.ATLAS_CLUSTERS):
        backed_up = cloud_backup(cluster)
        if backed_up is False:
            continue  # atlas-cloud-backup-enabled reports a cluster without Cloud Backup
        schedules, undecided = stack.schedules_for(cluster)
        if schedules:
            continue
        if undecided or is_unknown(backed_up):
            what = "the CloudBackupSchedule of this cluster" if undecided else cloud_backup_key(cluster)
            yield unknown(cluster, what)
        else:
            name = stack.cluster_name(cluster)
            yield violation(
                cluster,
                f"Cloud Backup is on but no CloudBackupSchedule names cluster {fmt(name)}: Atlas applies "
                "its own default policy",
            )
