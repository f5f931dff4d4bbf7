"""Snapshots are kept 7 days (daily), 4 weeks (weekly) and 12 months (monthly), and rarer snapshots are
never kept for less time than more frequent ones."""

from __future__ import annotations

from collections.abc import Iterator

from backstop.ground import seeds
from backstop.ground.resources import Resource, is_unknown
from backstop.policy.core import Finding, Severity, resource_rule, unknown, violation
from backstop.policy.rules.atlas_common import (
    BACKUP_POLICY_TYPES,
    DAYS_PER_UNIT,
    TIERS,
    TOLERANCE,
    PolicyItem,
    all_policy_items,
)
from backstop.policy.targets import PolicyTargets
from backstop.policy.values import fmt

WIRE_NAMES = {tier: key for tier, key, _is_list in TIERS}


def _minimums(targets: PolicyTargets) -> dict[str, tuple[float, str]]:
    """Per tier: the shortest retention allowed, as (amount, unit)."""
    return {
        "daily": (targets.min_daily_retention_days, "days"),
        "weekly": (targets.min_weekly_retention_weeks, "weeks"),
        "monthly": (targets.min_monthly_retention_months, "months"),
    }


@resource_rule(
    id="atlas-snapshot-retention",
    types=BACKUP_POLICY_TYPES,
    description=(
        f"{seeds.SEED_BACKUP}, Tier 1: 'Retention: 7 daily · 4 weekly · 12 monthly = ~13 month rolling "
        "window'; Atlas requires less frequent policy items to be kept at least as long as more frequent "
        "ones. A month is a twelfth of 365 days. Applies to schedules and the Backup Compliance Policy."
    ),
    severity=Severity.HIGH,
    remediation=(
        "Keep daily snapshots $min_daily_retention_days days or more, weekly $min_weekly_retention_weeks "
        "weeks or more and monthly $min_monthly_retention_months months or more (policy_item_daily, "
        "policy_item_weeklies, policy_item_monthlies), each at least as long as every more frequent item."
    ),
    tunables=("min_daily_retention_days", "min_weekly_retention_weeks", "min_monthly_retention_months"),
)
def check(resource: Resource, targets: PolicyTargets) -> Iterator[Finding]:
    minimums = _minimums(targets)
    longest: PolicyItem | None = None  # the longest-kept item of the more frequent tiers seen so far
    for tier, found, tier_unknown in all_policy_items(resource.props):
        if tier_unknown:
            yield unknown(resource, WIRE_NAMES[tier])
            continue
        for item in found:
            if item.problem:
                yield violation(resource, f"{item.path}: {item.problem}")
            elif is_unknown(item.days):
                yield unknown(resource, f"the retention of {item.path}")
        known = [item for item in found if item.known]
        if tier in minimums:
            yield from _minimum(resource, tier, found, known, minimums[tier])
        if known and longest is not None:
            shortest = min(known, key=lambda item: item.days)
            if shortest.days + TOLERANCE < longest.days:
                yield violation(
                    resource,
                    f"{shortest.path} keeps {tier} snapshots {shortest.written}, less than the "
                    f"{longest.written} of {longest.path}: retention must not shrink as snapshots get rarer",
                )
        for item in known:
            if longest is None or item.days > longest.days:
                longest = item


def _minimum(
    resource: Resource,
    tier: str,
    found: list[PolicyItem],
    known: list[PolicyItem],
    minimum: tuple[float, str],
) -> Iterator[Finding]:
    amount, unit = minimum
    required = amount * DAYS_PER_UNIT[unit]
    if required <= 0:
        return
    if not found:
        yield violation(
            resource, f"no {WIRE_NAMES[tier]}: {tier} snapshots must be kept at least {fmt(amount)} {unit}"
        )
        return
    if any(item.days + TOLERANCE >= required for item in known):
        return
    if not known or any(is_unknown(item.days) for item in found):
        return  # unusable or unknown items are reported on their own; an unknown one may yet suffice
    best = max(known, key=lambda item: item.days)
    yield violation(
        resource,
        f"{tier} snapshots are kept {best.written} ({best.path}); at least {fmt(amount)} {unit} required",
    )
