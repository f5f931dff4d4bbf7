"""Every project holding backed-up clusters alerts someone when a snapshot, copy, restore, export or the
encryption key fails: a backup that silently stops is a missed RPO nobody sees."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from backstop import seeds, tokens
from backstop.policy.core import Finding, Severity, stack_rule, unknown, violation
from backstop.policy.rules.atlas_common import cloud_backup
from backstop.policy.stackview import StackView
from backstop.policy.targets import PolicyTargets
from backstop.policy.values import get, is_true, items
from backstop.resources import UNKNOWN, Resource, is_unknown

ANY_EVENT = "*"  # an alert whose event type is not known yet may be any of them


@stack_rule(
    id="atlas-backup-alerts",
    description=(
        f"{seeds.SEED_WISER}, Monitoring and Alerting: 'Backup status: MongoDB Atlas provides backup status "
        "and alerts through the Atlas portal'; 'All critical infrastructure alerts flow to the engineering "
        "team'. Each required event needs an enabled AlertConfiguration with at least one notification."
    ),
    severity=Severity.MEDIUM,
    remediation=(
        "For each missing event declare mongodbatlas.AlertConfiguration(project_id=project.id, "
        "event_type=<event>, enabled=True, notifications=[{'type_name': 'EMAIL', 'email_address': ...}])."
    ),
    tunables=("required_alert_events",),
)
def check(stack: StackView, targets: PolicyTargets) -> Iterator[Finding]:
    required = list(dict.fromkeys(targets.required_alert_events))
    if not required:
        return
    clusters_by_project: dict[str, list[Resource]] = defaultdict(list)
    definitely_backed_up: set[str] = set()
    for cluster in stack.of(tokens.ATLAS_CLUSTERS):
        backed_up = cloud_backup(cluster)
        if backed_up is False:
            continue
        project = stack.atlas_project(cluster)
        if is_unknown(project):
            yield unknown(cluster, "the project of this cluster (to match its alert configurations)")
            continue
        if not isinstance(project, str):
            continue  # no projectId at all: the provider rejects the cluster before any backup exists
        clusters_by_project[project].append(cluster)
        if backed_up is True:
            definitely_backed_up.add(project)

    covered: dict[str, set[str]] = defaultdict(set)  # events alerted on for sure, per project
    maybe: dict[str, set[str]] = defaultdict(set)  # events an alert with unknown values may cover
    anywhere: set[str] = set()  # events of alerts whose project is not known yet
    for alert in stack.of(tokens.ATLAS_ALERT):
        state = _delivers(alert)
        if state is False:
            continue
        event = get(alert.props, "eventType")
        events = {event} if isinstance(event, str) else {ANY_EVENT} if is_unknown(event) else set()
        project = stack.atlas_project(alert)
        if not isinstance(project, str):
            anywhere |= events if is_unknown(project) else set()
        elif state is True and isinstance(event, str):
            covered[project].add(event)
        else:
            maybe[project] |= events

    for project, clusters in clusters_by_project.items():
        missing = [event for event in required if event not in covered[project]]
        if not missing:
            continue
        possible = maybe[project] | anywhere
        decided = [] if ANY_EVENT in possible else [event for event in missing if event not in possible]
        declared = stack.by_urn(project)
        at_fault = [declared] if declared is not None else clusters
        for resource in at_fault:
            if decided and project in definitely_backed_up:
                yield violation(
                    resource,
                    f"no enabled alert configuration with a notification for: {', '.join(decided)}",
                )
            else:
                yield unknown(resource, f"whether enabled alerts cover {', '.join(missing)}")


def _delivers(alert: Resource) -> bool | Any:
    """Is the alert enabled (Atlas defaults to disabled) with at least one notification?"""
    enabled = get(alert.props, "enabled")
    notifications = items(get(alert.props, "notifications"))
    if (not is_unknown(enabled) and not is_true(enabled)) or (
        not is_unknown(notifications) and not notifications
    ):
        return False
    if is_unknown(enabled) or is_unknown(notifications):
        return UNKNOWN
    return True
