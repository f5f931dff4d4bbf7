"""Snapshot copies in another region are kept as long as the seeds keep snapshots.

A copy policy item carries its own `retentionUnit`/`retentionValue`, independent of the schedule's: the
region a restore falls back to after a region loss may hold daily, weekly or monthly copies for far less
than 7 days, 4 weeks or 12 months while the schedule looks right. Only the copy-policy mode has its own
retention; deprecated `frequencies` copies keep the source snapshot's.
"""

from __future__ import annotations

from collections.abc import Iterator

from backstop.ground import seeds, tokens
from backstop.ground.resources import Resource, is_unknown
from backstop.policy.core import Finding, Severity, resource_rule, unknown, violation
from backstop.policy.rules.atlas_common import DAYS_PER_UNIT, TOLERANCE, retention_days, written
from backstop.policy.targets import PolicyTargets
from backstop.policy.values import fmt, get, is_true, items


@resource_rule(
    id="atlas-copy-retention",
    types=[tokens.ATLAS_BACKUP_SCHEDULE],
    description=(
        f"{seeds.SEED_BACKUP}, Tier 1: 'Retention: 7 daily · 4 weekly · 12 monthly' and 'Cross-region copy: "
        "enabled (us-east-1 → us-west-2)': after a region loss the copies are the backups, so each copied "
        "daily, weekly and monthly snapshot is kept at least as long as the seeds require."
    ),
    severity=Severity.HIGH,
    remediation=(
        "Give each copy_policy_items entry the schedule's retention: daily $min_daily_retention_days days "
        "or more, weekly $min_weekly_retention_weeks weeks or more, monthly $min_monthly_retention_months "
        "months or more."
    ),
    tunables=("min_daily_retention_days", "min_weekly_retention_weeks", "min_monthly_retention_months"),
)
def check(resource: Resource, targets: PolicyTargets) -> Iterator[Finding]:
    minimums = {
        "daily": (targets.min_daily_retention_days, "days"),
        "weekly": (targets.min_weekly_retention_weeks, "weeks"),
        "monthly": (targets.min_monthly_retention_months, "months"),
    }
    mode = get(resource.props, "copyPolicyItemsEnabled")
    if is_unknown(mode):
        yield unknown(resource, "copyPolicyItemsEnabled")
        return
    if not is_true(mode):
        return  # `frequencies` copies keep the source snapshot's retention
    settings = items(get(resource.props, "copySettings"))
    if is_unknown(settings):
        yield unknown(resource, "copySettings")
        return
    for index, setting in enumerate(settings):
        listed = items(get(setting, "copyPolicyItems"))
        if is_unknown(listed):
            yield unknown(resource, f"copySettings[{index}].copyPolicyItems")
            continue
        for position, item in enumerate(listed):
            tier = get(item, "frequencyType")
            if is_unknown(tier):
                yield unknown(resource, f"copySettings[{index}].copyPolicyItems[{position}].frequencyType")
                continue
            if not isinstance(tier, str) or tier.lower() not in minimums:
                continue
            amount, unit = minimums[tier.lower()]
            days, problem = retention_days(item)
            where = f"copySettings[{index}].copyPolicyItems[{position}]"
            if is_unknown(days):
                yield unknown(resource, f"the retention of {where}")
            elif days is None:
                yield violation(resource, f"{where}: {problem}")
            elif days + TOLERANCE < amount * DAYS_PER_UNIT[unit]:
                region = get(setting, "regionName")
                place = region if isinstance(region, str) else "the copy region"
                yield violation(
                    resource,
                    f"{where} keeps {tier.lower()} copies in {place} {written(item)}; at least {fmt(amount)} "
                    f"{unit} required",
                )
