"""Deleting a backed-up cluster does not delete its snapshots.

Atlas deletes a cluster's Cloud Backup snapshots with the cluster unless something holds them: a Backup
Compliance Policy on the project, or `retainBackupsEnabled` on the `AdvancedCluster` or legacy `Cluster`
(pulumi-mongodbatlas: "Set to true to retain backup snapshots for the deleted cluster"), unset by default.
So a cluster that looks backed up (schedule, retention, copies) loses every backup with one `pulumi
destroy`, a replace, or a mistaken delete in the UI. Staging stacks, which must be torn down with their
snapshots, are not checked (`compliancePolicy: forbidden`).
"""

from __future__ import annotations

from collections.abc import Iterator

from backstop.ground import seeds, tokens
from backstop.ground.resources import UNKNOWN, is_unknown
from backstop.policy.core import Finding, Severity, stack_rule, unknown, violation
from backstop.policy.rules.atlas_common import cloud_backup
from backstop.policy.stackview import StackView
from backstop.policy.targets import PolicyTargets
from backstop.policy.values import fmt, get, is_true


@stack_rule(
    id="atlas-cluster-keeps-backups",
    description=(
        f"{seeds.SEED_BACKUP}: 'Total catastrophic loss (Atlas data loss)' and the ~13-month retention "
        "must survive the cluster itself: a backed-up cluster's snapshots are held by a Backup Compliance "
        "Policy or by retainBackupsEnabled when the cluster is deleted."
    ),
    severity=Severity.HIGH,
    remediation=(
        "Set retain_backups_enabled=True on the mongodbatlas.AdvancedCluster or Cluster (or declare a "
        "BackupCompliancePolicy for its project)."
    ),
    tunables=("compliance_policy",),
)
def check(stack: StackView, targets: PolicyTargets) -> Iterator[Finding]:
    if targets.compliance_policy == "forbidden":
        return
    for cluster in stack.of(tokens.ATLAS_CLUSTERS):
        if cloud_backup(cluster) is False:
            continue
        project = stack.atlas_project(cluster)
        held = stack.in_project([tokens.ATLAS_COMPLIANCE_POLICY], project) if isinstance(project, str) else []
        if held:
            continue
        floating = stack.in_project([tokens.ATLAS_COMPLIANCE_POLICY], UNKNOWN)
        retain = get(cluster.props, "retainBackupsEnabled")
        setting = f"retainBackupsEnabled is {fmt(retain)}"
        if is_unknown(retain) or (not is_true(retain) and (floating or is_unknown(project))):
            yield unknown(
                cluster, "whether a Backup Compliance Policy or retainBackupsEnabled keeps its snapshots"
            )
        elif not is_true(retain):
            yield violation(
                cluster,
                "deleting the cluster deletes its snapshots: no Backup Compliance Policy holds them and "
                + setting,
            )
