"""Every project holding backed-up clusters alerts someone when a snapshot, copy, restore, export or the
encryption key fails: a backup that silently stops is a missed RPO nobody sees.

Threshold event types count only with a threshold Atlas accepts and that fires in time: Atlas refuses
`CPS_SNAPSHOT_BEHIND` or a key rotation alert without one, and "snapshot behind by more than 7 days" does
not protect a 6-hour RPO."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from backstop.ground import seeds, tokens
from backstop.ground.resources import UNKNOWN, Resource, is_unknown
from backstop.policy.core import Finding, Severity, stack_rule, unknown, violation
from backstop.policy.rules.atlas_common import cloud_backup
from backstop.policy.stackview import StackView
from backstop.policy.targets import PolicyTargets
from backstop.policy.values import MISSING, fmt, get, is_true, items, number

ANY_EVENT = "*"  # an alert whose event type is not known yet may be any of them


@stack_rule(
    id="atlas-backup-alerts",
    description=(
        f"{seeds.SEED_WISER}, Monitoring and Alerting: 'Backup status: MongoDB Atlas provides backup status "
        "and alerts through the Atlas portal'; 'All critical infrastructure alerts flow to the engineering "
        "team'. Each required event needs an enabled AlertConfiguration with at least one notification; "
        f"{seeds.SEED_BACKUP}: 'every 6 hours full snapshot', RPO <= 6 hours: a snapshot-behind alert "
        "must fire within one snapshot interval plus the RPO, a key rotation alert within a year."
    ),
    severity=Severity.MEDIUM,
    remediation=(
        "For each missing event (of $required_alert_events) declare mongodbatlas.AlertConfiguration("
        "project_id=project.id, event_type=<event>, enabled=True, notifications=[{'type_name': 'EMAIL', "
        "'email_address': ...}]); for CPS_SNAPSHOT_BEHIND add threshold_config={'operator': "
        "'GREATER_THAN', 'threshold': <$max_snapshot_behind_hours or less>, 'units': 'HOURS'}, for "
        "*_ENCRYPTION_KEY_NEEDS_ROTATION {'operator': 'GREATER_THAN', 'threshold': "
        "<$max_key_rotation_alert_days or less>, 'units': 'DAYS'}."
    ),
    tunables=("required_alert_events", "max_snapshot_behind_hours", "max_key_rotation_alert_days"),
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

    # Per backed-up cluster (alert matchers select clusters within a project):
    covered: dict[str, set[str]] = defaultdict(set)  # events alerted on for sure
    maybe: dict[str, set[str]] = defaultdict(set)  # events an alert with unknown values may cover
    anywhere: set[str] = set()  # events of alerts whose project is not known yet
    misfits: dict[str, dict[str, str]] = defaultdict(dict)  # why an alert of an event does not count
    for alert in stack.of(tokens.ATLAS_ALERT):
        state = _delivers(alert)
        if state is False:
            continue
        event = get(alert.props, "eventType")
        project = stack.atlas_project(alert)
        if isinstance(event, str) and event in tokens.ATLAS_THRESHOLD_UNITS:
            fits = _threshold_fits(alert, event, targets)
            if isinstance(fits, str):
                if isinstance(project, str):
                    misfits[project].setdefault(event, f"{event} alert {alert.name}: {fits}")
                continue
            if fits is not True:
                state = UNKNOWN
        events = {event} if isinstance(event, str) else {ANY_EVENT} if is_unknown(event) else set()
        if not isinstance(project, str):
            anywhere |= events if is_unknown(project) else set()
            continue
        for cluster in clusters_by_project.get(project, []):
            matched, why = _matches(alert, stack.cluster_name(cluster))
            if matched is False:
                for name in events - {ANY_EVENT}:
                    misfits[cluster.urn].setdefault(
                        name, f"{name} alert {alert.name} never fires for {cluster.name}: {why}"
                    )
                continue
            if state is True and matched is True and isinstance(event, str):
                covered[cluster.urn].add(event)
            else:
                maybe[cluster.urn] |= events

    for project, clusters in clusters_by_project.items():
        missing_by_cluster = {c.urn: [e for e in required if e not in covered[c.urn]] for c in clusters}
        if not any(missing_by_cluster.values()):
            continue
        decided_by_cluster: dict[str, list[str]] = {}
        for cluster in clusters:
            possible = maybe[cluster.urn] | anywhere
            missing = missing_by_cluster[cluster.urn]
            decided_by_cluster[cluster.urn] = (
                [] if ANY_EVENT in possible else [event for event in missing if event not in possible]
            )
        declared = stack.by_urn(project)
        at_fault = [declared] if declared is not None else clusters
        decided_sets = {tuple(v) for v in decided_by_cluster.values()}
        for resource in at_fault:
            if any(decided_by_cluster.values()) and project in definitely_backed_up:
                parts = []
                for cluster in clusters:
                    decided = decided_by_cluster[cluster.urn]
                    if not decided:
                        continue
                    prefix = "" if len(decided_sets) == 1 and len(clusters) == 1 else f"for {cluster.name}: "
                    reasons = [
                        reasons_for[event]
                        for reasons_for in (misfits[project], misfits[cluster.urn])
                        for event in decided
                        if event in reasons_for
                    ]
                    listed = ", ".join(decided)
                    parts.append(
                        f"{prefix}no enabled alert configuration with a notification for: {listed}"
                        + "".join(f"; {reason}" for reason in reasons)
                    )
                yield violation(resource, " | ".join(parts))
            else:
                missing = sorted({e for v in missing_by_cluster.values() for e in v}, key=required.index)
                yield unknown(resource, f"whether enabled alerts cover {', '.join(missing)}")


_STRING_OPERATORS = {
    "EQUALS": lambda value, wanted: value == wanted,
    "NOT_EQUALS": lambda value, wanted: value != wanted,
    "CONTAINS": lambda value, wanted: wanted in value,
    "NOT_CONTAINS": lambda value, wanted: wanted not in value,
    "STARTS_WITH": lambda value, wanted: value.startswith(wanted),
    "ENDS_WITH": lambda value, wanted: value.endswith(wanted),
}


def _matches(alert: Resource, cluster_name: Any) -> tuple[bool | Any, str]:
    """Does the alert apply to the cluster? Atlas checks an alert only for targets that match every
    matcher ("The parameter must match all rules"). `CLUSTER_NAME` is compared with the cluster's name;
    any other field (host, replica set, shard names Atlas assigns) cannot be told from the program."""
    matchers = items(get(alert.props, "matchers"))
    if is_unknown(matchers):
        return UNKNOWN, ""
    verdict: bool | Any = True
    for matcher in matchers:
        field, operator, wanted = (get(matcher, key) for key in ("fieldName", "operator", "value"))
        if any(is_unknown(v) for v in (field, operator, wanted)):
            verdict = UNKNOWN
            continue
        if field != "CLUSTER_NAME":
            verdict = UNKNOWN
            continue
        if not isinstance(cluster_name, str) or not isinstance(wanted, str):
            verdict = UNKNOWN
            continue
        if operator == "REGEX":
            try:
                hit = re.fullmatch(wanted, cluster_name) is not None
            except re.error:
                return False, f"matcher CLUSTER_NAME REGEX {wanted!r} is not a valid pattern"
        elif operator in _STRING_OPERATORS:
            hit = _STRING_OPERATORS[operator](cluster_name, wanted)
        else:
            verdict = UNKNOWN
            continue
        if not hit:
            return False, f"its matcher CLUSTER_NAME {operator} {wanted!r} excludes {cluster_name!r}"
    return verdict, ""


_HOURS_PER_UNIT = {
    "NANOSECONDS": 1 / 3.6e12,
    "MILLISECONDS": 1 / 3.6e6,
    "SECONDS": 1 / 3600,
    "MINUTES": 1 / 60,
    "HOURS": 1.0,
    "DAYS": 24.0,
    "MILLION_MINUTES": 1e6 / 60,
}


def _threshold_fits(alert: Resource, event: str, targets: PolicyTargets) -> bool | str | Any:
    """True when the threshold is one Atlas accepts for `event` and fires in time; else why not (a str);
    UNKNOWN when a value is not known yet."""
    config = get(alert.props, "thresholdConfig")
    if is_unknown(config):
        return UNKNOWN
    if config is MISSING:
        return "no thresholdConfig, which Atlas requires for this event type"
    operator, threshold, units = (get(config, key) for key in ("operator", "threshold", "units"))
    if any(is_unknown(value) for value in (operator, threshold, units)):
        return UNKNOWN
    allowed_units = tokens.ATLAS_THRESHOLD_UNITS[event]
    if operator != tokens.ATLAS_THRESHOLD_OPERATOR:
        return f"operator {fmt(operator)}, Atlas accepts only {tokens.ATLAS_THRESHOLD_OPERATOR}"
    if units not in allowed_units:
        return f"units {fmt(units)}, Atlas accepts {', '.join(allowed_units)}"
    value = number(threshold)
    if value is None or value <= 0:
        return f"threshold {fmt(threshold)} is not a positive number"
    hours = value * _HOURS_PER_UNIT[str(units)]
    if event in tokens.ATLAS_KEY_ROTATION_EVENTS:
        limit = targets.max_key_rotation_alert_days
        if hours > limit * 24:
            return f"fires only after {fmt(threshold)} {units}, later than {fmt(limit)} days"
        return True
    limit = targets.max_snapshot_behind_hours
    if hours > limit:
        return (
            f"fires only after {fmt(threshold)} {units}, later than {fmt(limit)} h "
            "(one snapshot interval plus the snapshot RPO)"
        )
    return True


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
