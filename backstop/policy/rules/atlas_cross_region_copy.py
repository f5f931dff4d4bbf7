"""Every Cloud Backup schedule copies snapshots (and, with point-in-time recovery, oplogs) to a region
other than its cluster's, so a region outage does not take the backups with it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from backstop.ground import seeds, tokens
from backstop.ground.resources import UNKNOWN, Resource, is_unknown
from backstop.policy.core import Finding, Severity, stack_rule, unknown, violation
from backstop.policy.rules.atlas_common import cluster_regions, region_loss_rpo_hours
from backstop.policy.stackview import StackView
from backstop.policy.targets import PolicyTargets
from backstop.policy.values import MISSING, fmt, get, is_true, items, number


@stack_rule(
    id="atlas-cross-region-copy",
    description=(
        f"{seeds.SEED_BACKUP}, Tier 1: 'Cross-region copy: enabled (us-east-1 → us-west-2)'; RPO table: "
        "'Whole-cluster loss (region outage) ≤ 6 hours … Cross-region snapshot promote'. With point-in-time "
        "recovery on, the oplog is copied too so restores in the copy region keep 1-second granularity."
    ),
    severity=Severity.HIGH,
    remediation=(
        "Add copy_settings to the CloudBackupSchedule with region_name in another region (e.g. US_WEST_2 "
        "for a US_EAST_1 cluster), copy_policy_items (copy_policy_items_enabled=True) whose most frequent "
        "copied tier is at most $max_region_loss_rpo_hours hours apart, and should_copy_oplogs=True."
    ),
    tunables=("require_oplog_copy", "max_region_loss_rpo_hours"),
)
def check(stack: StackView, targets: PolicyTargets) -> Iterator[Finding]:
    for schedule in stack.of(tokens.ATLAS_BACKUP_SCHEDULE):
        yield from _check_schedule(stack, schedule, targets)


def _check_schedule(stack: StackView, schedule: Resource, targets: PolicyTargets) -> Iterator[Finding]:
    settings = items(get(schedule.props, "copySettings"))
    if is_unknown(settings):
        yield unknown(schedule, "copySettings")
        return
    if not settings:
        yield violation(schedule, "no copySettings: snapshots stay in the cluster's region and fail with it")
        return
    cluster, cluster_undecided = stack.cluster_for(schedule)
    if cluster is None:
        if cluster_undecided:
            yield unknown(schedule, "the cluster this schedule backs up")
        else:
            name = get(schedule.props, "clusterName")
            yield Finding(
                schedule.urn,
                f"cluster {fmt(name)} is not declared in this stack, so its regions cannot be compared with "
                "the copy regions",
                unknown=True,
            )
        return
    regions, regions_unknown = cluster_regions(cluster)
    undecided = False
    elsewhere: list[Any] = []  # copy settings that copy snapshots to a region the cluster is not in
    problems: list[str] = []
    for index, setting in enumerate(settings):
        where = f"copySettings[{index}]"
        region = get(setting, "regionName")
        copies = _copies_snapshots(setting)
        if is_unknown(region) or is_unknown(copies):
            undecided = True
        elif not isinstance(region, str) or not region:
            problems.append(f"{where} names no region")
        elif region in regions:
            problems.append(f"{where} copies to {region}, the cluster's own region")
        elif not copies:
            problems.append(
                f"{where} to {region} copies no snapshot (no copyPolicyItems, frequencies or "
                "lastNumberOfSnapshots)"
            )
        elif regions_unknown:
            undecided = True  # the copy region may be one of the cluster's unknown regions
        else:
            elsewhere.append(setting)
    if not elsewhere:
        if undecided:
            yield unknown(schedule, "whether a copy setting reaches a region other than the cluster's")
        else:
            own = ", ".join(sorted(regions)) or "none"
            yield violation(
                schedule,
                f"no snapshot is copied out of the cluster's region(s) {own}: " + "; ".join(problems),
            )
        return
    yield from _oplogs(schedule, cluster, elsewhere, targets)
    yield from _region_loss_rpo(schedule, cluster, settings, elsewhere, targets)


def _region_loss_rpo(
    schedule: Resource, cluster: Resource, settings: list[Any], elsewhere: list[Any], targets: PolicyTargets
) -> Iterator[Finding]:
    """What the copies really hold: the tiers Atlas copies (by `copyPolicyItemsEnabled` mode) that the
    schedule really takes, and with copied oplogs a point-in-time restore in the copy region."""
    pit = get(cluster.props, "pitEnabled")
    limit = targets.max_region_loss_rpo_hours
    results = []
    for setting in elsewhere:
        where = f"copySettings[{settings.index(setting)}] to {get(setting, 'regionName')}"
        rpo, why = region_loss_rpo_hours(schedule.props, setting, pit)
        results.append((where, rpo, why))
    if any(isinstance(rpo, float) and rpo <= limit for _, rpo, _ in results):
        return
    if any(is_unknown(rpo) for _, rpo, _ in results):
        yield unknown(schedule, "which snapshots the copy settings copy")
        return
    reasons = []
    for where, rpo, why in results:
        if rpo is None:
            reasons.append(f"{where} {why}: it copies no snapshot")
        else:
            reasons.append(
                f"{where} copies a snapshot only every {days_or_hours(rpo)}: a region loss loses up to "
                f"{days_or_hours(rpo)}, above the {fmt(limit)} h whole-cluster RPO"
            )
    yield violation(schedule, "; ".join(reasons))


def days_or_hours(hours: float) -> str:
    return f"{fmt(hours / 24)} d" if hours >= 24 and (hours / 24).is_integer() else f"{fmt(hours)} h"


def _copies_snapshots(setting: Any) -> bool | Any:
    """Does a copy setting copy any snapshot? Items (copy-policy mode), frequencies (legacy) or last N."""
    if is_unknown(setting):
        return UNKNOWN
    verdicts: list[Any] = []
    for key in ("copyPolicyItems", "frequencies"):
        listed = items(get(setting, key))
        verdicts.append(UNKNOWN if is_unknown(listed) else bool(listed))
    last = get(setting, "lastNumberOfSnapshots")
    if is_unknown(last):
        verdicts.append(UNKNOWN)
    elif last is not MISSING:
        count = number(last)
        verdicts.append(count is not None and count > 0)
    if any(v is True for v in verdicts):
        return True
    return UNKNOWN if any(is_unknown(v) for v in verdicts) else False


def _oplogs(
    schedule: Resource, cluster: Resource, elsewhere: list[Any], targets: PolicyTargets
) -> Iterator[Finding]:
    """With point-in-time recovery on, one out-of-region copy must carry the oplog too."""
    if not targets.require_oplog_copy:
        return
    pit = get(cluster.props, "pitEnabled")
    if not is_unknown(pit) and not is_true(pit):
        return
    flags = [get(setting, "shouldCopyOplogs") for setting in elsewhere]
    if any(is_true(flag) for flag in flags):
        return
    if is_unknown(pit) or any(is_unknown(flag) for flag in flags):
        yield unknown(schedule, "copySettings[].shouldCopyOplogs")
        return
    copied_to = ", ".join(sorted({str(get(setting, "regionName")) for setting in elsewhere}))
    yield violation(
        schedule,
        f"point-in-time recovery is on but the copy to {copied_to} does not set shouldCopyOplogs: a restore "
        "there can only reach the last copied snapshot",
    )
