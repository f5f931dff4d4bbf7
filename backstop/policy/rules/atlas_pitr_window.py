"""The point-in-time restore window covers the seed's 7 days, and hourly snapshots are kept as long."""

from __future__ import annotations

import math
from collections.abc import Iterator

from backstop.ground import seeds
from backstop.ground.resources import Resource, is_unknown
from backstop.policy.core import Finding, Severity, resource_rule, unknown, violation
from backstop.policy.rules.atlas_common import BACKUP_POLICY_TYPES, TOLERANCE, days_text, policy_items
from backstop.policy.targets import PolicyTargets
from backstop.policy.values import MISSING, fmt, get, number


@resource_rule(
    id="atlas-pitr-window",
    types=BACKUP_POLICY_TYPES,
    description=(
        f"{seeds.SEED_BACKUP}, Tier 1: 'Point-in-time recovery: down to 1-second granularity within last 7 "
        "days'. A point-in-time restore replays the oplog from a snapshot, so Atlas needs hourly snapshots "
        "kept at least as long as the restore window. Applies to schedules and the Backup Compliance Policy."
    ),
    severity=Severity.HIGH,
    remediation=(
        "Set restore_window_days to $min_restore_window_days or more, and policy_item_hourly.retention_value "
        "(in days) to at least "
        "restore_window_days."
    ),
    tunables=("min_restore_window_days",),
)
def check(resource: Resource, targets: PolicyTargets) -> Iterator[Finding]:
    value = get(resource.props, "restoreWindowDays")
    if is_unknown(value):
        yield unknown(resource, "restoreWindowDays")
        return
    minimum = targets.min_restore_window_days
    if value is MISSING:
        yield violation(resource, f"restoreWindowDays is not set; the seed's window is {fmt(minimum)} days")
        return
    window = number(value)
    if window is None or not math.isfinite(window) or window <= 0:
        yield violation(resource, f"restoreWindowDays is {fmt(value)}, not a positive number of days")
        return
    if window + TOLERANCE < minimum:
        yield violation(
            resource,
            f"point-in-time restores reach back {fmt(window)} days; at least {fmt(minimum)} days required",
        )
    hourly, hourly_unknown = policy_items(resource.props, "hourly")
    if hourly_unknown or any(is_unknown(item.days) for item in hourly):
        yield unknown(resource, "the hourly snapshot retention")
        return
    # No hourly item (or an unusable one) is reported by atlas-hourly-snapshot-rpo / atlas-snapshot-retention.
    for item in hourly:
        if item.known and item.days + TOLERANCE < window:
            yield violation(
                resource,
                f"restoreWindowDays {fmt(window)} is longer than the {days_text(item.days)} hourly snapshots "
                f"are kept ({item.written}): restores cannot reach the start of the window",
            )
