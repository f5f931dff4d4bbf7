"""What the Atlas rules read alike (this module holds no rule): which flag means Cloud Backup, a cluster's
regions, the policy items of a schedule or compliance policy, and retention in days whatever its unit.

Every helper returns `UNKNOWN` rather than guessing when a value is not known yet, and never raises on
malformed props, so a rule built on them can neither crash nor silently pass.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from backstop.ground import tokens
from backstop.ground.resources import UNKNOWN, Resource, is_unknown
from backstop.policy.values import MISSING, fmt, get, is_true, items, number

# Cloud Backup schedules and Backup Compliance Policies spell their policy items the same way.
BACKUP_POLICY_TYPES = frozenset({tokens.ATLAS_BACKUP_SCHEDULE, tokens.ATLAS_COMPLIANCE_POLICY})

# A year is 365 days and a month a twelfth of it, so 12 months, 1 year and 365 days are the same retention.
DAYS_PER_UNIT = {"days": 1.0, "weeks": 7.0, "months": 365.0 / 12, "years": 365.0}
# Policy items from the most to the least frequent: (tier, wire name, is a list).
TIERS = (
    ("hourly", "policyItemHourly", False),
    ("daily", "policyItemDaily", False),
    ("weekly", "policyItemWeeklies", True),
    ("monthly", "policyItemMonthlies", True),
    ("yearly", "policyItemYearlies", True),
)
TOLERANCE = 1e-9


def cloud_backup_key(cluster: Resource) -> str:
    """In a legacy Cluster `backupEnabled` is the deprecated Legacy Backup; Cloud Backup is `cloudBackup`."""
    return "backupEnabled" if cluster.type == tokens.ATLAS_ADVANCED_CLUSTER else "cloudBackup"


def cloud_backup(cluster: Resource) -> bool | Any:
    """Is Cloud Backup on for this cluster? True, False or `UNKNOWN`."""
    value = get(cluster.props, cloud_backup_key(cluster))
    return UNKNOWN if is_unknown(value) else is_true(value)


def known_list(value: Any) -> tuple[list[Any], bool]:
    """A list property's entries and whether the list (or an entry) is unknown."""
    listed = items(value)
    if is_unknown(listed):
        return [], True
    return [entry for entry in listed if not is_unknown(entry)], any(is_unknown(e) for e in listed)


def cluster_regions(cluster: Resource) -> tuple[frozenset[str], bool]:
    """The Atlas regions a cluster's nodes run in, and whether some region is not known.

    AdvancedCluster: `replicationSpecs[].regionConfigs[].regionName`; legacy Cluster: `providerRegionName`
    and `replicationSpecs[].regionsConfigs[].regionName`.
    """
    regions: set[str] = set()
    specs, undecided = known_list(get(cluster.props, "replicationSpecs"))
    for spec in specs:
        for key in ("regionConfigs", "regionsConfigs"):
            configs, unknown_configs = known_list(get(spec, key))
            undecided = undecided or unknown_configs
            for config in configs:
                region = get(config, "regionName")
                if is_unknown(region):
                    undecided = True
                elif isinstance(region, str) and region:
                    regions.add(region)
    legacy = get(cluster.props, "providerRegionName")
    if is_unknown(legacy):
        undecided = True
    elif isinstance(legacy, str) and legacy:
        regions.add(legacy)
    return frozenset(regions), undecided


@dataclass(frozen=True)
class PolicyItem:
    """One snapshot policy item: its tier, where it is (for messages) and its retention in days.

    `days` is `UNKNOWN` when the value or unit is not known yet, None when unusable (`problem` says why).
    """

    tier: str
    path: str
    days: Any  # float, UNKNOWN or None
    problem: str = ""
    written: str = ""  # the retention as the program wrote it, e.g. "12 months"

    @property
    def known(self) -> bool:
        return isinstance(self.days, float)


def retention_days(item: Any) -> tuple[Any, str]:
    """An item's retention in days, or (`UNKNOWN`, "") / (None, why it is unusable)."""
    value, unit = get(item, "retentionValue"), get(item, "retentionUnit")
    if is_unknown(value) or is_unknown(unit):
        return UNKNOWN, ""
    amount = number(value)
    if amount is None or not math.isfinite(amount) or amount <= 0:
        return None, f"retentionValue is {fmt(value)}, not a positive number"
    if not isinstance(unit, str) or unit.lower() not in DAYS_PER_UNIT:
        return None, f"retentionUnit is {fmt(unit)}, not one of {', '.join(DAYS_PER_UNIT)}"
    return amount * DAYS_PER_UNIT[unit.lower()], ""


def written(item: Any) -> str:
    """`12 months`: an item's retention as the program wrote it."""
    value, unit = get(item, "retentionValue"), get(item, "retentionUnit")
    return f"{fmt(value)} {unit if isinstance(unit, str) else fmt(unit)}"


def policy_items(props: Any, tier: str) -> tuple[list[PolicyItem], bool]:
    """The items of one tier ("hourly", "daily", …), and whether the tier itself is unknown."""
    key, is_list = next((k, listed) for t, k, listed in TIERS if t == tier)
    raw = get(props, key)
    if is_unknown(raw):
        return [], True
    if raw is MISSING:
        return [], False
    if is_list:
        entries = items(raw)
        found = [(f"{key}[{i}]", entry) for i, entry in enumerate(entries)]
    else:
        found = [(key, raw)] if isinstance(raw, dict) else []
    result: list[PolicyItem] = []
    for path, entry in found:
        if is_unknown(entry):
            result.append(PolicyItem(tier, path, UNKNOWN))
            continue
        days, problem = retention_days(entry)
        result.append(PolicyItem(tier, path, days, problem, written(entry)))
    return result, False


def all_policy_items(props: Any) -> Iterator[tuple[str, list[PolicyItem], bool]]:
    """Every tier from the most to the least frequent: (tier, its items, tier unknown)."""
    for tier, _key, _is_list in TIERS:
        found, unknown_tier = policy_items(props, tier)
        yield tier, found, unknown_tier


def days_text(days: float) -> str:
    """Retention for a message: whole days print without a fraction."""
    rounded = round(days, 2)
    return f"{int(rounded)} d" if float(rounded).is_integer() else f"{rounded} d"


# --- what a copy setting copies -------------------------------------------------------------------------

# Hours between two snapshots of a policy-item tier (hourly: the item's `frequencyInterval`).
TIER_HOURS = {"daily": 24.0, "weekly": 7 * 24.0, "monthly": 31 * 24.0, "yearly": 366 * 24.0}
# A schedule that declares no policy item keeps Atlas's default policy: hourly every 6 hours (non-NVMe),
# daily, weekly and monthly (Atlas docs, "Backup Scheduling, Retention, and On-Demand Snapshots").
ATLAS_DEFAULT_TIER_HOURS = {"hourly": 6.0, "daily": 24.0, "weekly": 7 * 24.0, "monthly": 31 * 24.0}


def tier_interval_hours(schedule_props: Any, tier: str) -> Any:
    """How often the schedule takes a snapshot of `tier`; None when it has no such policy item (so a copy
    of that tier copies nothing); `UNKNOWN` when that cannot be told."""
    if tier not in {t for t, _key, _listed in TIERS}:
        return None  # on-demand snapshots follow no schedule
    declared = [get(schedule_props, key) for _t, key, _listed in TIERS]
    if all(value is MISSING for value in declared):
        return ATLAS_DEFAULT_TIER_HOURS.get(tier)
    found, tier_unknown = policy_items(schedule_props, tier)
    if tier_unknown:
        return UNKNOWN
    if not found:
        return None
    if tier == "hourly":
        interval = get(schedule_props, "policyItemHourly.frequencyInterval")
        if is_unknown(interval):
            return UNKNOWN
        hours = number(interval)
        return hours if hours is not None and hours > 0 else None
    return TIER_HOURS[tier]


def copied_tiers(schedule_props: Any, setting: Any) -> tuple[Any, str]:
    """The snapshot tiers a copy setting really copies, as Atlas reads it, and why none when it is empty.

    `copyPolicyItemsEnabled` (on the schedule) selects the mode: true reads `copyPolicyItems` or
    `lastNumberOfSnapshots` ("Allowed only when copyPolicyItemsEnabled is true"), false or unset reads the
    deprecated `frequencies` only. Returns a set of tiers, `{"*"}` for `lastNumberOfSnapshots` (the latest
    snapshots of every tier), or `UNKNOWN`.
    """
    mode = get(schedule_props, "copyPolicyItemsEnabled")
    if is_unknown(mode) or is_unknown(setting):
        return UNKNOWN, ""
    policy_mode = is_true(mode)
    listed = items(get(setting, "copyPolicyItems"))
    legacy = items(get(setting, "frequencies"))
    last = get(setting, "lastNumberOfSnapshots")
    if policy_mode:
        if is_unknown(listed) or is_unknown(last):
            return UNKNOWN, ""
        count = number(last) if last is not MISSING else None
        if count is not None and count > 0:
            return {"*"}, ""
        kinds = {get(item, "frequencyType") for item in listed}
        if any(is_unknown(kind) for kind in kinds):
            return UNKNOWN, ""
        tiers = {str(kind).lower() for kind in kinds if isinstance(kind, str)}
        if not tiers and legacy and not is_unknown(legacy):
            return (
                tiers,
                "sets only the deprecated frequencies, which Atlas ignores once copyPolicyItemsEnabled "
                "is true",
            )
        return tiers, "" if tiers else "has no copyPolicyItems or lastNumberOfSnapshots"
    if is_unknown(legacy):
        return UNKNOWN, ""
    tiers = {str(kind).lower() for kind in legacy if isinstance(kind, str)}
    if not tiers and ((listed and not is_unknown(listed)) or last is not MISSING):
        return tiers, (
            "sets copyPolicyItems or lastNumberOfSnapshots, which Atlas allows only when the schedule's "
            "copyPolicyItemsEnabled is true; without it only frequencies are read"
        )
    return tiers, "" if tiers else "has no frequencies"


def copied_interval_hours(schedule_props: Any, setting: Any) -> tuple[Any, str]:
    """Hours between two snapshots the setting copies (the most frequent copied tier the schedule really
    takes); None and why when it copies none; `UNKNOWN` when that cannot be told."""
    tiers, why = copied_tiers(schedule_props, setting)
    if is_unknown(tiers):
        return UNKNOWN, ""
    if not tiers:
        return None, why
    candidates = ["hourly", "daily", "weekly", "monthly", "yearly"] if "*" in tiers else sorted(tiers)
    intervals = [tier_interval_hours(schedule_props, tier) for tier in candidates if tier != "ondemand"]
    known = [i for i in intervals if isinstance(i, float)]
    if any(is_unknown(i) for i in intervals) and not known:
        return UNKNOWN, ""
    if not known:
        taken = ", ".join(sorted(tiers))
        return None, f"copies {taken} snapshots, which the schedule does not take"
    best = min(known)
    if any(is_unknown(i) for i in intervals):
        return UNKNOWN, ""  # an unknown tier might be taken more often
    return best, ""


def region_loss_rpo_hours(schedule_props: Any, setting: Any, pit_enabled: Any) -> tuple[Any, str]:
    """What a region loss can lose when restoring from this copy: 0 when oplogs are copied too
    (`shouldCopyOplogs`: "You can use copied oplogs to perform continuous cloud backup from secondary
    regions") with point-in-time recovery on and a copied snapshot inside the restore window to replay
    them onto; else the interval between copied snapshots. None (and why) when nothing is copied."""
    interval, why = copied_interval_hours(schedule_props, setting)
    if interval is None or is_unknown(interval):
        return interval, why
    oplogs = get(setting, "shouldCopyOplogs")
    window = number(get(schedule_props, "restoreWindowDays"))
    if is_unknown(oplogs) or is_unknown(pit_enabled):
        return UNKNOWN, ""
    if is_true(oplogs) and is_true(pit_enabled) and window is not None and interval <= window * 24:
        return 0.0, ""
    return interval, ""
