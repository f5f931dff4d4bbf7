"""Atlas objectives, per cluster, read through the spec-validated `AtlasClient` (its retries included).

- `atlas-snapshot-age`: the newest completed snapshot against the 6 h snapshot cadence (Tier 1).
- `atlas-pit-window`: continuous backup on, and the restorable window (the schedule's
  `restoreWindowDays`, bounded by the oldest completed snapshot still kept) against 7 days.
- `atlas-copy-age`: per copy region the schedule names (and the seed's us-west-2), the newest completed
  snapshot whose `copyRegions` lists it, against the 6 h region-loss RPO. The API reports where a snapshot
  was copied, not a copy's own state: a copy that failed shows as a region missing from `copyRegions`.
- `atlas-failed-snapshots`: snapshots with status `failed` taken in the last day, against none.
- `atlas-last-restore-job`: the newest restore job (by `finishedAt`) must not have failed.
- `atlas-last-on-demand`: the newest on-demand snapshot must not have failed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from backstop.clients.atlas import API_PREFIX, AtlasClient, cluster_topology, parse_time, restore_job_state
from backstop.ground import seeds, tokens
from backstop.ground.resources import Resource, is_unknown
from backstop.operations.status.probe import Objective, Probe, bind, unknown_reason
from backstop.operations.status.rows import Evidence, Row, Verdict, duration
from backstop.policy.targets import PolicyTargets

FAILED_LOOKBACK = timedelta(days=1)


@dataclass(frozen=True)
class AtlasCluster:
    group_id: str
    name: str
    urn_name: str

    @property
    def label(self) -> str:
        return f"atlas:{self.name}"


def clusters(resources: list[Resource]) -> list[AtlasCluster]:
    """Every Atlas cluster of the stack with a known project id and name (backed-up or not: the rows say)."""
    found = []
    for resource in resources:
        if resource.type not in tokens.ATLAS_CLUSTERS:
            continue
        group, name = resource.props.get("projectId"), resource.props.get("name")
        if (
            isinstance(group, str)
            and isinstance(name, str)
            and not is_unknown(group)
            and not is_unknown(name)
        ):
            found.append(AtlasCluster(group, name, resource.name))
    return found


def _call(path: str) -> str:
    return f"GET {API_PREFIX}{path}"


def probes(
    found: list[AtlasCluster],
    client: Callable[[], AtlasClient],
    targets: PolicyTargets,
    now: Callable[[], datetime],
) -> list[Probe]:
    """Two probes per cluster, as the calls depend on each other: the cluster, its snapshots and its
    schedule (the snapshot list needs the cluster's topology; a refused schedule leaves only the rows that
    need it unknown), and apart from them its restore jobs, which need Project Backup Manager: without
    that role only `atlas-last-restore-job` is unknown."""
    result = []
    for cluster in found:
        own = {
            objective: Objective(objective, cluster.label, target, basis)
            for objective, target, basis in _objectives(targets)
        }
        jobs = own.pop(RESTORE_JOB)
        objectives = (*own.values(), _copy_objective(cluster, seeds.COPY_ATLAS_REGION, targets))
        result.append(Probe("atlas", cluster.label, objectives, bind(measure, client, now, cluster, targets)))
        run = bind(measure_restore_job, client, now, cluster, targets)
        result.append(Probe("atlas", cluster.label, (jobs,), run))
    return result


RESTORE_JOB = "atlas-last-restore-job"
COPY_BASIS = f"{seeds.SEED_BACKUP}: cross-region copy us-east-1 → us-west-2; whole-cluster loss RPO ≤ 6 h"


def _copy_objective(cluster: AtlasCluster, region: str, targets: PolicyTargets) -> Objective:
    target = f"≤ {targets.max_region_loss_rpo_hours:g} h"
    return Objective("atlas-copy-age", f"{cluster.label} → {region}", target, COPY_BASIS)


def _objectives(targets: PolicyTargets) -> list[tuple[str, str, str]]:
    return [
        (
            "atlas-snapshot-age",
            f"≤ {targets.max_snapshot_interval_hours:g} h",
            f"{seeds.SEED_BACKUP}: snapshot every 6 hours",
        ),
        (
            "atlas-pit-window",
            f"≥ {targets.min_restore_window_days:g} d",
            f"{seeds.SEED_BACKUP}: point-in-time recovery within last 7 days",
        ),
        ("atlas-failed-snapshots", "0 in the last day", f"{seeds.SEED_BACKUP}: backup status and alerts"),
        (RESTORE_JOB, "not failed", f"{seeds.SEED_BACKUP}: restoration drill"),
        ("atlas-last-on-demand", "not failed", f"{seeds.SEED_BACKUP}: backup status and alerts"),
    ]


def _row_maker(cluster: AtlasCluster, targets: PolicyTargets) -> Callable[..., Row]:
    objectives = {objective: (target, basis) for objective, target, basis in _objectives(targets)}

    def row(objective: str, verdict: bool | None, **fields: Any) -> Row:
        target, basis = objectives[objective]
        state: Verdict = "unknown" if verdict is None else "ok" if verdict else "breach"
        return Row(objective, fields.pop("resource", cluster.label), state, target, basis=basis, **fields)

    return row


def measure_restore_job(
    client: AtlasClient, cluster: AtlasCluster, targets: PolicyTargets, now: datetime
) -> list[Row]:
    """`atlas-last-restore-job`: its own call (and role), so a refusal leaves only this row unknown."""
    base = f"/groups/{cluster.group_id}/clusters/{cluster.name}"
    jobs = client.restore_jobs(cluster.group_id, cluster.name)
    return [_restore_row(_row_maker(cluster, targets), jobs, now, base, now)]


def measure(client: AtlasClient, cluster: AtlasCluster, targets: PolicyTargets, now: datetime) -> list[Row]:
    """Every Atlas objective of one cluster but its restore job: three calls, each one's answer the
    evidence of its rows. The snapshot list needs the cluster's answer (its topology); the schedule does
    not, so a refused schedule leaves unknown only the restorable window and the copy ages."""
    group, name = cluster.group_id, cluster.name
    base = f"/groups/{group}/clusters/{name}"
    description = client.cluster(group, name)
    asked = now
    snapshot_path = base + (
        "/backup/snapshots/shardedClusters" if cluster_topology(description).sharded else "/backup/snapshots"
    )
    snapshots = client.cluster_snapshots(group, description)
    schedule: Mapping[str, Any] = {}
    schedule_refused = ""
    if description.get("backupEnabled") is not False:
        try:
            schedule = client.backup_schedule(group, name)
        except Exception as error:  # its own rows' unknown, never the snapshots' rows
            schedule_refused = unknown_reason(error)
    row = _row_maker(cluster, targets)

    completed = [s for s in snapshots if s.get("status") == "completed" and parse_time(s.get("createdAt"))]
    newest = max(completed, key=lambda s: parse_time(s["createdAt"]) or now, default=None)
    rows: list[Row] = []
    limit = timedelta(hours=targets.max_snapshot_interval_hours)
    list_call = Evidence(_call(snapshot_path), None, asked)
    if newest is None:
        rows.append(
            row(
                "atlas-snapshot-age",
                False,
                measured="no completed snapshot",
                reason="Atlas lists no completed snapshot for this cluster",
                evidence=list_call,
            )
        )
    else:
        created = parse_time(newest["createdAt"])
        assert created is not None
        age = now - created
        rows.append(
            row(
                "atlas-snapshot-age",
                age <= limit,
                measured=duration(age),
                seconds=age.total_seconds(),
                reason=""
                if age <= limit
                else f"newest completed snapshot {newest.get('id')} is {duration(age)} old",
                evidence=Evidence(list_call.call, created, asked),
            )
        )
    if schedule_refused and description.get("pitEnabled") is True:
        rows.append(row("atlas-pit-window", None, reason=schedule_refused))
    else:
        rows.append(_pit_row(row, description, schedule, completed, targets, now, base, asked))
    if schedule_refused:
        rows.append(_copy_objective(cluster, seeds.COPY_ATLAS_REGION, targets).unknown(schedule_refused))
    else:
        rows.extend(_copy_rows(cluster, schedule, completed, targets, now, list_call, description))
    failed = [
        s
        for s in snapshots
        if s.get("status") == "failed"
        and (parse_time(s.get("createdAt")) or now - 2 * FAILED_LOOKBACK) >= now - FAILED_LOOKBACK
    ]
    newest_failed = max(
        (parse_time(s.get("createdAt")) for s in failed), default=None, key=lambda t: t or now
    )
    rows.append(
        row(
            "atlas-failed-snapshots",
            not failed,
            measured=f"{len(failed)} failed",
            value=float(len(failed)),
            reason=", ".join(f"snapshot {s.get('id')} failed at {s.get('createdAt')}" for s in failed),
            evidence=Evidence(list_call.call, newest_failed, asked),
        )
    )
    rows.append(_on_demand_row(row, snapshots, now, list_call))
    return rows


def _pit_row(
    row: Callable[..., Row],
    description: Mapping[str, Any],
    schedule: Mapping[str, Any],
    completed: list[dict[str, Any]],
    targets: PolicyTargets,
    now: datetime,
    base: str,
    asked: datetime,
) -> Row:
    target = timedelta(days=targets.min_restore_window_days)
    if description.get("pitEnabled") is not True:
        return row(
            "atlas-pit-window",
            False,
            measured="continuous backup off",
            seconds=0.0,
            reason="pitEnabled is false: no point-in-time restore is possible",
            evidence=Evidence(_call(base), None, asked),
        )
    days = schedule.get("restoreWindowDays")
    if not isinstance(days, int | float):
        return row(
            "atlas-pit-window",
            None,
            reason="the backup schedule gives no restoreWindowDays",
            evidence=Evidence(_call(base + "/backup/schedule"), None, asked),
        )
    oldest = min((parse_time(s["createdAt"]) or now for s in completed), default=now)
    window = min(timedelta(days=float(days)), now - oldest)
    ok = window >= target
    reason = ""
    if not ok:
        reason = (
            f"restoreWindowDays is {days:g}"
            if timedelta(days=float(days)) < target
            else f"the oldest completed snapshot is {duration(now - oldest)} old"
        ) + f": a restore can reach back {duration(window)}, not {duration(target)}"
    return row(
        "atlas-pit-window",
        ok,
        measured=duration(window),
        seconds=window.total_seconds(),
        reason=reason,
        evidence=Evidence(_call(base + "/backup/schedule"), oldest if oldest != now else None, asked),
    )


def _copy_rows(
    cluster: AtlasCluster,
    schedule: Mapping[str, Any],
    completed: list[dict[str, Any]],
    targets: PolicyTargets,
    now: datetime,
    list_call: Evidence,
    description: Mapping[str, Any],
) -> list[Row]:
    settings = schedule.get("copySettings")
    regions = [
        str(s["regionName"])
        for s in (settings if isinstance(settings, list) else [])
        if isinstance(s, dict) and s.get("regionName")
    ]
    limit = timedelta(hours=targets.max_region_loss_rpo_hours)
    target = f"≤ {targets.max_region_loss_rpo_hours:g} h"
    basis = COPY_BASIS
    rows = []
    for region in sorted({*regions, seeds.COPY_ATLAS_REGION}):
        resource = f"{cluster.label} → {region}"
        if region not in regions:
            rows.append(
                Row(
                    "atlas-copy-age",
                    resource,
                    "breach",
                    target,
                    measured="not copied",
                    reason=f"the backup schedule copies to {', '.join(regions) or 'no region'}, not {region}",
                    evidence=Evidence(
                        list_call.call.replace("/snapshots", "/schedule"), None, list_call.asked_at
                    ),
                    basis=basis,
                )
            )
            continue
        if cluster_topology(description).sharded:
            rows.append(
                Row(
                    "atlas-copy-age",
                    resource,
                    "unknown",
                    target,
                    reason="a sharded cluster's snapshots do not say where they were copied",
                    basis=basis,
                )
            )
            continue
        copied = [s for s in completed if region in (s.get("copyRegions") or [])]
        newest = max((parse_time(s["createdAt"]) for s in copied), default=None, key=lambda t: t or now)
        if newest is None:
            rows.append(
                Row(
                    "atlas-copy-age",
                    resource,
                    "breach",
                    target,
                    measured="no copy",
                    reason=f"no completed snapshot lists {region} in copyRegions: copies failed or never ran",
                    evidence=list_call,
                    basis=basis,
                )
            )
            continue
        age = now - newest
        rows.append(
            Row(
                "atlas-copy-age",
                resource,
                "ok" if age <= limit else "breach",
                target,
                measured=duration(age),
                seconds=age.total_seconds(),
                reason=""
                if age <= limit
                else f"the newest snapshot copied to {region} is {duration(age)} old: later copies failed",
                evidence=Evidence(list_call.call, newest, list_call.asked_at),
                basis=basis,
            )
        )
    return rows


def _on_demand_row(
    row: Callable[..., Row], snapshots: list[dict[str, Any]], now: datetime, list_call: Evidence
) -> Row:
    """The newest on-demand snapshot (taken before a risky change, or by `backstop recover` before a
    cutover) must not have failed; none taken is fine."""
    taken = [s for s in snapshots if s.get("snapshotType") == "onDemand" and parse_time(s.get("createdAt"))]
    if not taken:
        return row("atlas-last-on-demand", True, measured="none taken", evidence=list_call)
    last = max(taken, key=lambda s: parse_time(s["createdAt"]) or now)
    created = parse_time(last["createdAt"])
    assert created is not None
    status = str(last.get("status"))
    return row(
        "atlas-last-on-demand",
        status != "failed",
        measured=f"{status}, {duration(now - created)} ago",
        seconds=(now - created).total_seconds(),
        reason=f"on-demand snapshot {last.get('id')} failed" if status == "failed" else "",
        evidence=Evidence(list_call.call, created, list_call.asked_at),
    )


def _restore_row(
    row: Callable[..., Row], jobs: list[dict[str, Any]], now: datetime, base: str, asked: datetime
) -> Row:
    call = _call(base + "/backup/restoreJobs")
    if not jobs:
        return row(
            "atlas-last-restore-job",
            True,
            measured="no restore job",
            evidence=Evidence(call, None, asked),
        )

    def when(job: Mapping[str, Any]) -> datetime:
        return parse_time(job.get("finishedAt")) or parse_time(job.get("timestamp")) or now

    last = max(jobs, key=when)
    state = restore_job_state(last)
    stamp = parse_time(last.get("finishedAt")) or parse_time(last.get("timestamp"))
    return row(
        "atlas-last-restore-job",
        state in ("finished", "running"),
        measured=f"{state} ({last.get('deliveryType')} into {last.get('targetClusterName')})",
        seconds=(now - stamp).total_seconds() if stamp else None,
        reason="" if state in ("finished", "running") else f"restore job {last.get('id')} {state}",
        evidence=Evidence(call, stamp, asked),
    )
