"""Step 1 of the operator emergency runbook: identify the loss and decide the recovery, creating nothing.

`plan_recovery` maps the loss to the mechanism the runbook prescribes, checks the restore point against
Atlas itself (continuous backup on, the schedule's `restoreWindowDays`, a completed snapshot to replay
from; or the newest completed snapshot taken before the loss and how much data it gives up), estimates the
time to restore from the last drill that measured it (else the seed's estimate), and sets the runbook's
deadlines. It also resolves the recovery project and refuses prod exactly as the drill does, so a plan
that prints is a plan `recover restore` can carry out.

Long because each loss type's restore point, data loss and deadlines are decided here together, against
the same Atlas answers, so that they cannot disagree.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from backstop.clients.atlas import (
    AtlasApiError,
    AtlasClient,
    cluster_topology,
    newest_completed_snapshot,
    one_line,
    parse_time,
)
from backstop.config import ConfigError, StackConfig, source_cluster_name, stack_file_name
from backstop.ground import seeds
from backstop.ground.documents import SYSTEM_DATABASES, utc_iso
from backstop.ground.envelope import json_document
from backstop.ground.errors import UsageError
from backstop.operations.recover.text import shown
from backstop.restore.common import (
    MECHANISMS,
    MODE_POINT_IN_TIME,
    MODE_SNAPSHOT,
    PITR_MARGIN,
    duration_text,
    refuse_prod_targets,
)

RECOVER_STACK_PREFIX = "recover-"
# Tier 1: "Point-in-time recovery: down to 1-second granularity": a point-in-time restore to the second
# before the loss gives up no more than that, which is what the seed's "0 min (oplog replay)" promises.
PITR_GRANULARITY = timedelta(seconds=1)


def rpo_met(data_lost: timedelta, rpo: timedelta, mode: str) -> bool:
    """Data lost within the objective; a point-in-time restore is allowed its 1-second granularity."""
    return data_lost <= rpo + (PITR_GRANULARITY if mode == MODE_POINT_IN_TIME else timedelta(0))


PROJECT_SETTING = "backstop:recover.projectId"


@dataclass(frozen=True)
class LossType:
    key: str
    runbook: str
    mechanism: str
    scenario: str
    estimate: str
    mode: str
    cross_region: bool
    writes_back: bool


# The runbook's Step 1, loss by loss; cluster and region losses follow the RTO/RPO table's
# "Whole-cluster loss (region outage) → Cross-region snapshot promote".
LOSSES: dict[str, LossType] = {
    "record": LossType(
        "record",
        "Was a single record deleted? → use oplog replay (1 min)",
        "oplog replay (point-in-time restore to the second before the loss)",
        "single_document",
        "oplog_replay",
        MODE_POINT_IN_TIME,
        False,
        True,
    ),
    "collection": LossType(
        "collection",
        "Was a collection emptied? → use point-in-time recovery (1 hour)",
        "point-in-time recovery (to the second before the loss)",
        "single_collection",
        "snapshot_restore",
        MODE_POINT_IN_TIME,
        False,
        True,
    ),
    "tenant": LossType(
        "tenant",
        "Is the whole tenant gone? → use cross-region snapshot promotion (2 hour)",
        "cross-region snapshot promotion (the newest snapshot before the loss, restored in the copy region)",
        "whole_cluster",
        "cross_region_restore",
        MODE_SNAPSHOT,
        True,
        True,
    ),
    "cluster": LossType(
        "cluster",
        "Whole-cluster loss (region outage) → Cross-region snapshot promote (2 hour)",
        "cross-region snapshot promotion, then a cluster swap of the application's connection target",
        "whole_cluster",
        "cross_region_restore",
        MODE_SNAPSHOT,
        True,
        False,
    ),
    "region": LossType(
        "region",
        "Whole-cluster loss (region outage) → Cross-region snapshot promote (2 hour)",
        "cross-region snapshot promotion from the copy region, then a cluster swap of the connection target",
        "whole_cluster",
        "cross_region_restore",
        MODE_SNAPSHOT,
        True,
        False,
    ),
}


class RecoveryRefused(UsageError):
    """The loss cannot be recovered as asked (nothing to restore from, bad time, system database)."""


def parse_when(value: str, option: str, *, now: datetime | None = None) -> datetime:
    """ISO 8601 with a time zone (`Z` or an offset): an operator's local time taken for UTC would move the
    restore point by hours. With `now`, a time in the future is refused too."""
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(
            f"{option} {shown(value)}: not an ISO 8601 time (like 2026-05-18T02:13:00Z)"
        ) from None
    if parsed.tzinfo is None:
        raise UsageError(
            f"{option} {shown(value)}: no time zone: add Z for UTC or an offset (like "
            f"{parsed.isoformat(timespec='seconds')}Z or {parsed.isoformat(timespec='seconds')}+02:00)"
        )
    if now is not None and parsed > now:
        raise UsageError(f"{option} {utc_iso(parsed)}: in the future (now {utc_iso(now)})")
    return parsed.astimezone(UTC)


@dataclass(frozen=True)
class LossRequest:
    loss: str
    database: str
    at: datetime
    collection: str | None = None
    detected_at: datetime | None = None

    def describe(self) -> str:
        what = f"{self.database}.{self.collection}" if self.collection else self.database
        return f"{self.loss} loss in {shown(what)}"


@dataclass(frozen=True)
class RecoveryPlan:
    stack: str
    request: LossRequest
    loss: LossType
    planned_at: datetime
    detected_at: datetime
    source_project_id: str
    source_project_name: str
    source_cluster: str
    source_major_version: str | None
    cluster_type: str
    shards: int
    pit_enabled: bool
    window_days: int | None
    window_start: datetime | None
    mode: str
    fallback: str | None
    restore_point: datetime
    snapshot: dict[str, Any] | None
    data_lost: timedelta
    rpo: timedelta
    rto: timedelta
    expected: timedelta
    expected_basis: str
    target_project_id: str
    target_project_name: str
    region: str
    instance_size: str
    ttl: timedelta
    prod_project_ids: frozenset[str]
    prod_cluster_names: frozenset[str]
    notes: tuple[str, ...] = ()
    # A tenant loss: which of point in time and the newest snapshot was chosen, and what each loses.
    choice: dict[str, Any] | None = None

    @property
    def mechanism_key(self) -> str:
        return MECHANISMS[self.mode]

    @property
    def mechanism_text(self) -> str:
        if self.choice and self.choice["chosen"] == MODE_POINT_IN_TIME:
            return (
                "point-in-time recovery to the second before the loss (it loses less data than the newest "
                "snapshot), restored in the copy region"
            )
        return self.loss.mechanism

    @property
    def notice_due(self) -> datetime:
        return self.request.at + seeds.TENANT_NOTICE_DEADLINE

    @property
    def record_due(self) -> datetime:
        return self.request.at + seeds.INCIDENT_RECORD_DEADLINE

    @property
    def rpo_met(self) -> bool:
        return rpo_met(self.data_lost, self.rpo, self.mode)

    @property
    def rto_met(self) -> bool:
        return self.expected <= self.rto

    def restore_request(self, cluster_name: str) -> dict[str, Any]:
        target = {"targetClusterName": cluster_name, "targetGroupId": self.target_project_id}
        if self.mode == MODE_POINT_IN_TIME:
            return {
                "deliveryType": "pointInTime",
                "pointInTimeUTCSeconds": int(self.restore_point.timestamp()),
                **target,
            }
        assert self.snapshot is not None
        return {"deliveryType": "automated", "snapshotId": self.snapshot["id"], **target}

    def command_args(self) -> list[str]:
        """The arguments that repeat this plan (`recover restore` takes the same)."""
        args = ["--stack", self.stack, "--loss", self.request.loss, "--database", self.request.database]
        if self.request.collection:
            args += ["--collection", self.request.collection]
        args += ["--at", utc_iso(self.request.at)]
        if self.request.detected_at is not None:
            args += ["--detected-at", utc_iso(self.request.detected_at)]
        return args

    def as_document(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "loss": {
                "type": self.request.loss,
                "database": self.request.database,
                "collection": self.request.collection,
                "at": utc_iso(self.request.at),
                "detectedAt": utc_iso(self.detected_at),
            },
            "plannedAt": utc_iso(self.planned_at),
            "mechanism": {
                "runbook": self.loss.runbook,
                "description": self.mechanism_text,
                "restoreMode": self.mode,
                "key": self.mechanism_key,
                "fallback": self.fallback,
                "choice": self.choice,
            },
            "source": {
                "projectId": self.source_project_id,
                "projectName": self.source_project_name,
                "cluster": self.source_cluster,
                "pitEnabled": self.pit_enabled,
                "restoreWindowDays": self.window_days,
                "windowStart": utc_iso(self.window_start) if self.window_start else None,
            },
            "restorePoint": {
                "at": utc_iso(self.restore_point),
                "snapshot": self.snapshot,
                "dataLostSeconds": self.data_lost.total_seconds(),
                "rpoSeconds": self.rpo.total_seconds(),
                "rpoMet": self.rpo_met,
            },
            "expectedTimeToRestore": {
                "seconds": self.expected.total_seconds(),
                "basis": self.expected_basis,
                "rtoSeconds": self.rto.total_seconds(),
                "rtoMet": self.rto_met,
            },
            "recoveryCluster": {
                "projectId": self.target_project_id,
                "projectName": self.target_project_name,
                "region": self.region,
                "instanceSize": self.instance_size,
                "keptForHours": self.ttl.total_seconds() / 3600,
            },
            "deadlines": {
                "tenantNotice": utc_iso(self.notice_due),
                "incidentRecord": utc_iso(self.record_due),
            },
            "notes": list(self.notes),
            "next": "backstop recover restore " + " ".join(self.command_args()),
        }

    def as_json(self) -> str:
        return json_document("recover plan", self.as_document())

    def as_text(self) -> str:
        req = self.request

        def due(when: datetime) -> str:
            left = when - self.planned_at
            return (
                f"{utc_iso(when)} (in {duration_text(left)})"
                if left >= timedelta(0)
                else f"{utc_iso(when)} (**OVERDUE** by {duration_text(-left)})"
            )

        if self.mode == MODE_POINT_IN_TIME:
            window = f"inside Atlas's {self.window_days}-day point-in-time window, which starts " + (
                utc_iso(self.window_start) if self.window_start else "?"
            )
            point = f"{utc_iso(self.restore_point)}, point in time ({window})"
        else:
            snap = self.snapshot or {}
            point = (
                f"{utc_iso(self.restore_point)}, snapshot {snap.get('id')} "
                f"({snap.get('snapshotType', 'scheduled')}, {snap.get('frequencyType', '?')})"
            )
        met = "met" if self.rpo_met else "MISSED"
        if self.rpo_met and self.data_lost > self.rpo:
            met += ", within point-in-time's 1-second granularity"
        rto_met = "met" if self.rto_met else "MISSED"
        lines = [
            f"backstop recover plan: {req.describe()} at {utc_iso(req.at)} (stack {self.stack})",
            "",
            "Step 1 — identify the loss",
            f"  runbook           {self.loss.runbook}",
            f"  mechanism         {self.mechanism_text}",
            f"  source            cluster {self.source_cluster} in project {self.source_project_name}"
            f" ({self.source_project_id})",
            "",
            "Step 2 — restore (to a recovery cluster first, never over production)",
            f"  restore point     {point}",
            f"  data lost         {duration_text(self.data_lost)}"
            f" (RPO target {duration_text(self.rpo)}: {met})",
            f"  expected time     {duration_text(self.expected)}, {self.expected_basis}"
            f" (RTO target {duration_text(self.rto)}: {rto_met})",
            f"  recovery cluster  {self.instance_size} in {self.region}, project {self.target_project_name}"
            f" ({self.target_project_id}), kept {duration_text(self.ttl)} then `recover cleanup`",
        ]
        if self.fallback:
            lines.append(f"  fallback          {self.fallback}")
        if self.choice:
            lines.append(f"  chosen            {self.choice['text']}")
        lines += [
            "",
            "Step 3 — notify and record",
            f"  tenant notice due    {due(self.notice_due)} (loss + 1 h)",
            f"  incident record due  {due(self.record_due)} (loss + 24 h)",
        ]
        if self.notes:
            lines += ["", "Notes:"] + [f"  - {note}" for note in self.notes]
        lines += ["", "Next: backstop recover restore " + " ".join(self.command_args())]
        return "\n".join(lines)


def recovery_project_id(cfg: StackConfig, stack: str) -> str:
    project = cfg.recover.project_id or cfg.drill.staging_project_id
    if project is None:
        raise ConfigError(
            f"{stack_file_name(stack)}: {PROJECT_SETTING}: is required to recover (the Atlas project id "
            "recovery clusters are created in; backstop:drill.stagingProjectId is used when it is set)"
        )
    return project


def _expected_time(
    cfg: StackConfig,
    loss: LossType,
    mode: str,
    drill_results: Sequence[Mapping[str, Any]] | None,
    now: datetime | None = None,
    notes: list[str] | None = None,
) -> tuple[timedelta, str]:
    mechanism = MECHANISMS[mode]
    best: tuple[str, float, str] | None = None
    for result in drill_results or []:
        seconds = result.get("timeToRestoreSeconds")
        finished = str(result.get("finishedAt", ""))
        if result.get("mechanism") != mechanism or isinstance(seconds, bool):
            continue
        finished_at = parse_time(finished) if finished else None
        if finished_at is not None and finished_at.tzinfo is None:
            finished_at = finished_at.replace(tzinfo=UTC)
        if finished_at is None or (now is not None and finished_at > now):
            # A drill cannot have finished in the future (or at no time): not a measurement.
            if notes is not None:
                why = "not a time" if finished_at is None and finished else "in the future"
                when = shown(finished) or "at no time"
                notes.append(
                    f"drill result {shown(result.get('drillId', '?'))} finished {when} is not used: {why}"
                )
            continue
        if isinstance(seconds, int | float) and (best is None or finished > best[0]):
            best = (finished, float(seconds), str(result.get("drillId", "?")))
    if best is not None:
        return timedelta(seconds=best[1]), f"measured by the last drill ({best[2]}, finished {best[0]})"
    if drill_results is None:
        basis = "seed estimate (no evidence store to read drill measurements from)"
    else:
        article = "an" if mechanism.startswith("o") else "a"
        basis = f"seed estimate (no drill has measured {article} {mechanism.replace('_', ' ')} yet)"
    return getattr(cfg.objectives.estimates, loss.estimate), basis


def _check_database_in_snapshot(
    atlas: AtlasClient, project_id: str, cluster: str, snapshot: Mapping[str, Any], request: LossRequest
) -> list[str]:
    """Refuse a database the snapshot does not hold (the snapshot contents API, as the audit reads it):
    restoring it would bring back nothing. When Atlas cannot list the contents, say so in a note."""
    snapshot_id = str(snapshot.get("id"))
    try:
        listed = atlas.snapshot_databases(project_id, cluster, snapshot_id)
    except AtlasApiError as exc:
        return [f"could not check that snapshot {snapshot_id} holds {request.database}: {one_line(exc)}"]
    if request.database not in listed:
        raise RecoveryRefused(
            f"--database {shown(request.database)}: not in snapshot {snapshot_id} of {cluster} taken "
            f"{snapshot.get('createdAt')}: there is nothing to restore (Atlas lists "
            f"{', '.join(shown(name) for name in sorted(listed)) or 'no databases'})"
        )
    return []


def _no_point_in_time(
    cluster: str,
    pit: bool,
    window_days: int | None,
    window_start: datetime | None,
    point: datetime,
    base: Mapping[str, Any] | None,
) -> str | None:
    """Why Atlas cannot restore `cluster` to `point` in time, or None when it can."""
    if not pit:
        return f"cluster {cluster} has no continuous cloud backup (pitEnabled false)"
    if window_start is None:
        return f"Atlas reports no backup schedule for {cluster}"
    if point < window_start + PITR_MARGIN:
        return (
            f"{utc_iso(point)} is outside (or within {duration_text(PITR_MARGIN)} of the edge of) the "
            f"{window_days}-day point-in-time window, which starts {utc_iso(window_start)}"
        )
    if base is None:
        return f"no completed snapshot taken before {utc_iso(point)} to replay the oplog from"
    return None


def _tenant_choice(
    request: LossRequest,
    snapshot: Mapping[str, Any],
    snapshots: list[dict[str, Any]],
    now: datetime,
    cluster: str,
    pit: bool,
    window_days: int | None,
    window_start: datetime | None,
) -> dict[str, Any]:
    """A tenant loss restores to the second before the loss when that is inside the point-in-time window
    and later than the newest snapshot (it loses less); else the newest snapshot. Both figures are kept."""
    created = parse_time(snapshot.get("createdAt"))
    assert created is not None
    point = request.at.replace(microsecond=0) - timedelta(seconds=1)
    base = newest_completed_snapshot(snapshots, point, now=now)
    why = _no_point_in_time(cluster, pit, window_days, window_start, point, base)
    if why is None and point <= created:
        why = f"the newest snapshot {snapshot.get('id')} is as recent as {utc_iso(point)}"
    snapshot_lost = max(request.at - created, timedelta(0))
    pit_lost = max(request.at - point, timedelta(0))
    if why is None:
        text = (
            f"point-in-time restore to {utc_iso(point)} (loses {duration_text(pit_lost)}) rather than "
            f"the newest snapshot {snapshot.get('id')} of {utc_iso(created)} (would lose "
            f"{duration_text(snapshot_lost)})"
        )
    else:
        text = (
            f"the newest snapshot {snapshot.get('id')} of {utc_iso(created)} (loses "
            f"{duration_text(snapshot_lost)}): no point-in-time restore ({why})"
        )
    return {
        "chosen": MODE_SNAPSHOT if why else MODE_POINT_IN_TIME,
        "pointInTimeDataLostSeconds": None if why else pit_lost.total_seconds(),
        "snapshotDataLostSeconds": snapshot_lost.total_seconds(),
        "pointInTimeNotPossible": why,
        "text": text,
    }


def plan_recovery(
    cfg: StackConfig,
    prod_cfg: StackConfig,
    *,
    stack: str,
    request: LossRequest,
    atlas: AtlasClient,
    clock: Callable[[], datetime],
    drill_results: Sequence[Mapping[str, Any]] | None = None,
    drill_notes: Sequence[str] = (),
) -> RecoveryPlan:
    """Every decision of the recovery, checked against Atlas, before anything is created."""
    loss = LOSSES[request.loss]
    now = clock()
    if request.database in SYSTEM_DATABASES:
        raise RecoveryRefused(
            f"--database {shown(request.database)}: a system database is not recovered by backstop"
        )
    if loss.key == "collection" and not request.collection:
        raise UsageError("--loss collection needs --collection (the collection that was emptied)")
    if request.at > now:
        raise UsageError(f"--at {utc_iso(request.at)}: the loss cannot be in the future (now {utc_iso(now)})")
    detected = request.detected_at or now
    if detected < request.at:
        raise UsageError(f"--detected-at {utc_iso(detected)}: before the loss at {utc_iso(request.at)}")

    source_cluster = source_cluster_name(cfg, stack)
    cluster_cfg = next(c for c in cfg.atlas.clusters if c.name == source_cluster)
    target_project_id = recovery_project_id(cfg, stack)

    # The same refusal as the drill's, before anything else is looked at.
    prod_project = atlas.project_by_name(prod_cfg.atlas.project_name)
    prod_project_id = str(prod_project["id"])
    target_project = (
        prod_project if target_project_id == prod_project_id else atlas.project(target_project_id)
    )
    refuse_prod_targets(
        target_project_id, target_project, RECOVER_STACK_PREFIX, prod_cfg, prod_project_id, PROJECT_SETTING
    )

    source_project = prod_project if cfg.is_prod else atlas.project_by_name(cfg.atlas.project_name)
    source_project_id = str(source_project["id"])
    info = atlas.cluster(source_project_id, source_cluster)
    snapshots = atlas.cluster_snapshots(source_project_id, info)
    topology = cluster_topology(info)
    pit = info.get("pitEnabled") is True
    window_days: int | None = None
    if pit:
        try:
            days = atlas.backup_schedule(source_project_id, source_cluster).get("restoreWindowDays")
            window_days = int(days) if isinstance(days, int) else cfg.atlas.backup.restore_window_days
        except AtlasApiError as exc:
            if exc.status != 404:
                raise
    window_start = now - timedelta(days=window_days) if window_days else None

    notes: list[str] = []
    mode = loss.mode
    fallback: str | None = None
    point = request.at.replace(microsecond=0) - timedelta(seconds=1)
    snapshot: dict[str, Any] | None = None
    choice: dict[str, Any] | None = None
    if mode == MODE_POINT_IN_TIME:
        base = newest_completed_snapshot(snapshots, point, now=now)
        why = _no_point_in_time(source_cluster, pit, window_days, window_start, point, base)
        if why is not None:
            mode = MODE_SNAPSHOT
            fallback = f"point-in-time restore not possible: {why}; restoring the newest snapshot instead"
        else:
            assert base is not None
            notes.append(
                f"Atlas replays the oplog from snapshot {base.get('id')} taken {base.get('createdAt')}"
            )
    if mode == MODE_SNAPSHOT:
        candidates = snapshots
        copy_region = cfg.atlas.backup.copy_region
        if loss.key == "region":
            candidates = [s for s in snapshots if copy_region in (s.get("copyRegions") or [])]
        snapshot = newest_completed_snapshot(candidates, request.at - timedelta(microseconds=1), now=now)
        if snapshot is None:
            where = f" with a copy in {copy_region}" if loss.key == "region" else ""
            raise RecoveryRefused(
                f"no completed, unexpired snapshot of {source_cluster}{where} was taken before "
                f"{utc_iso(request.at)}: there is nothing to restore from"
            )
        created = parse_time(snapshot.get("createdAt"))
        assert created is not None
        point = created
        notes += _check_database_in_snapshot(atlas, source_project_id, source_cluster, snapshot, request)
        if loss.key == "tenant":
            choice = _tenant_choice(
                request, snapshot, snapshots, now, source_cluster, pit, window_days, window_start
            )
            if choice["chosen"] == MODE_POINT_IN_TIME:
                mode, snapshot = MODE_POINT_IN_TIME, None
                point = request.at.replace(microsecond=0) - timedelta(seconds=1)
                base = newest_completed_snapshot(snapshots, point, now=now)
                assert base is not None
                notes.append(
                    f"Atlas replays the oplog from snapshot {base.get('id')} taken {base.get('createdAt')}"
                )
    if mode == MODE_SNAPSHOT:
        assert snapshot is not None
        if loss.cross_region and copy_region not in (snapshot.get("copyRegions") or []):
            notes.append(
                f"snapshot {snapshot.get('id')} has no copy in {copy_region}: restored from the source"
            )
        keys = ("id", "createdAt", "expiresAt", "status", "frequencyType", "snapshotType", "copyRegions")
        snapshot = {key: snapshot[key] for key in keys if key in snapshot}

    objective = getattr(cfg.objectives, loss.scenario)
    notes += drill_notes  # drill results not used: a broken chain, unchained or future entries
    expected, basis = _expected_time(cfg, loss, mode, drill_results, now, notes)
    region = cfg.atlas.backup.copy_region if loss.cross_region else cluster_cfg.region
    if loss.writes_back:
        notes.append(
            "production is never a restore target: `recover cutover` writes back only what "
            "`recover verify` lists"
        )
    return RecoveryPlan(
        stack=stack,
        request=request,
        loss=loss,
        planned_at=now,
        detected_at=detected,
        source_project_id=source_project_id,
        source_project_name=str(source_project.get("name", cfg.atlas.project_name)),
        source_cluster=source_cluster,
        source_major_version=info.get("mongoDBMajorVersion"),
        cluster_type=topology.cluster_type,
        shards=topology.shards,
        pit_enabled=pit,
        window_days=window_days,
        window_start=window_start,
        mode=mode,
        fallback=fallback,
        restore_point=point,
        snapshot=snapshot,
        data_lost=max(request.at - point, timedelta(0)),
        rpo=objective.rpo,
        rto=objective.rto,
        expected=expected,
        expected_basis=basis,
        target_project_id=target_project_id,
        target_project_name=str(target_project.get("name", target_project_id)),
        region=region,
        instance_size=cfg.recover.instance_size or cluster_cfg.instance_size,
        ttl=timedelta(hours=cfg.recover.ttl_hours),
        prod_project_ids=frozenset({prod_project_id}),
        prod_cluster_names=frozenset(c.name for c in prod_cfg.atlas.clusters),
        notes=tuple(notes),
        choice=choice,
    )
