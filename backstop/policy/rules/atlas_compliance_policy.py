"""Prod projects holding clusters have a Backup Compliance Policy, the floor no project member can lower;
staging has none, because that floor would also block restore drills and teardown."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from backstop.ground import seeds, tokens
from backstop.ground.resources import Resource, is_unknown
from backstop.policy.core import Finding, Severity, stack_rule, unknown, violation
from backstop.policy.stackview import StackView
from backstop.policy.targets import PolicyTargets
from backstop.policy.values import fmt, get, is_true

# What the floor must lock in, besides the policy items the schedule rules also check.
LOCKED = (
    ("pitEnabled", "point-in-time recovery"),
    ("encryptionAtRestEnabled", "encryption at rest with the customer key"),
    ("copyProtectionEnabled", "the cross-region snapshot copies"),
)


@stack_rule(
    id="atlas-compliance-policy",
    description=(
        f"{seeds.SEED_WISER}: 'Backup access restricted to Security Officer and Engineering Lead only' and "
        f"{seeds.SEED_BACKUP}'s retention and point-in-time targets hold only if no project member can "
        "lower them: a Backup Compliance Policy makes them a floor in prod. In staging the same floor would "
        "block the restore drill's 'Tear down staging cluster' step."
    ),
    severity=Severity.MEDIUM,
    remediation=(
        "Prod: declare mongodbatlas.BackupCompliancePolicy(project_id=project.id, pit_enabled=True, "
        "encryption_at_rest_enabled=True, copy_protection_enabled=True, ...) per project. Staging: remove it "
        "(disabling an active policy needs MongoDB Support)."
    ),
    tunables=("compliance_policy",),
)
def check(stack: StackView, targets: PolicyTargets) -> Iterator[Finding]:
    policies = stack.of(tokens.ATLAS_COMPLIANCE_POLICY)
    if targets.compliance_policy == "forbidden":
        for policy in policies:
            yield violation(
                policy,
                f"a Backup Compliance Policy in a {targets.environment} stack keeps every snapshot and can "
                "only be disabled through MongoDB Support: it would block restore drills and teardown",
            )
        return
    if targets.compliance_policy != "required":
        return
    yield from _every_project_has_one(stack, policies)
    for policy in policies:
        for flag, what in LOCKED:
            value = get(policy.props, flag)
            if is_unknown(value):
                yield unknown(policy, flag)
            elif not is_true(value):
                yield violation(policy, f"{flag} is {fmt(value)}: the floor does not lock in {what}")


def _every_project_has_one(stack: StackView, policies: list[Resource]) -> Iterator[Finding]:
    clusters_by_project: dict[str, list[Resource]] = defaultdict(list)
    for cluster in stack.of(tokens.ATLAS_CLUSTERS):
        project = stack.atlas_project(cluster)
        if isinstance(project, str):
            clusters_by_project[project].append(cluster)
        elif is_unknown(project):
            yield unknown(cluster, "the project of this cluster (to match its Backup Compliance Policy)")
    covered: set[str] = set()
    undecided = False  # a policy whose project is not known yet may cover any project
    for policy in policies:
        project = stack.atlas_project(policy)
        if isinstance(project, str):
            covered.add(project)
        elif is_unknown(project):
            undecided = True
    for project, clusters in clusters_by_project.items():
        if project in covered:
            continue
        declared = stack.by_urn(project)
        for resource in [declared] if declared is not None else clusters:
            if undecided:
                yield unknown(resource, "the Backup Compliance Policy of this project")
            else:
                yield violation(
                    resource,
                    "no BackupCompliancePolicy: any project owner can shorten retention, turn off "
                    "point-in-time recovery or delete snapshots",
                )
