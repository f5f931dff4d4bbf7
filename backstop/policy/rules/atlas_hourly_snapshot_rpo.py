"""Snapshots are taken at least as often as the RPO target, at an interval Atlas accepts."""

from __future__ import annotations

import math
from collections.abc import Iterator

from backstop.ground import seeds
from backstop.ground.resources import Resource, is_unknown
from backstop.policy.core import Finding, Severity, resource_rule, unknown, violation
from backstop.policy.rules.atlas_common import BACKUP_POLICY_TYPES
from backstop.policy.targets import PolicyTargets
from backstop.policy.values import MISSING, fmt, get, number


@resource_rule(
    id="atlas-hourly-snapshot-rpo",
    types=BACKUP_POLICY_TYPES,
    description=(
        f"{seeds.SEED_BACKUP}, Tier 1: 'Snapshot cadence: continuous (every 6 hours full snapshot + "
        "WiredTiger oplog continuous replay)' and the RPO table's '≤ 6 hours' for collection corruption and "
        "whole-cluster loss. Applies to Cloud Backup schedules and to the Backup Compliance Policy floor."
    ),
    severity=Severity.HIGH,
    remediation=(
        "Set policy_item_hourly with frequency_interval of $max_snapshot_interval_hours or less, one of "
        "$allowed_hourly_intervals (e.g. {'frequency_interval': <that>, 'retention_unit': 'days', "
        "'retention_value': 7})."
    ),
    tunables=("max_snapshot_interval_hours", "allowed_hourly_intervals"),
)
def check(resource: Resource, targets: PolicyTargets) -> Iterator[Finding]:
    limit = targets.max_snapshot_interval_hours
    hourly = get(resource.props, "policyItemHourly")
    if is_unknown(hourly):
        yield unknown(resource, "policyItemHourly")
        return
    if hourly is MISSING:
        yield violation(
            resource,
            f"no policyItemHourly: without hourly snapshots the newest snapshot can be a day or more old, "
            f"missing the {fmt(limit)} h RPO",
        )
        return
    value = get(hourly, "frequencyInterval")
    if is_unknown(value):
        yield unknown(resource, "policyItemHourly.frequencyInterval")
        return
    hours = number(value)
    if hours is None or not math.isfinite(hours):
        yield violation(
            resource, f"policyItemHourly.frequencyInterval is {fmt(value)}, not a number of hours"
        )
        return
    if hours > limit:
        yield violation(
            resource,
            f"hourly snapshots every {fmt(hours)} h can lose up to {fmt(hours)} h of data; "
            f"the RPO target is {fmt(limit)} h",
        )
    if hours not in targets.allowed_hourly_intervals:
        allowed = ", ".join(str(i) for i in targets.allowed_hourly_intervals)
        yield violation(
            resource, f"policyItemHourly.frequencyInterval {fmt(hours)} is not one Atlas accepts ({allowed})"
        )
