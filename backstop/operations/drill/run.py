"""The quarterly restore drill, end to end.

`plan_drill` decides everything without changing anything: it refuses any target the prod stack declares
(its Atlas project, resolved by name, and its clusters), picks the tenant (seeded, never an excluded or
system database), loads and checks its latest manifest from the hash-chained `backup_audit_log`, and
chooses how to restore. The drill cluster has the source's topology: a sharded source gets a sharded drill
cluster with the same number of shards, because Atlas restores a sharded snapshot only into such a cluster.

`execute_drill` then creates the ephemeral stack, restores into it, measures the restore job, verifies the
tenant against the manifest, and destroys the stack in `finally`, whatever happened (a failed restore, a
failed check, a timeout, an exception in `up`, Ctrl-C). Atlas cannot cancel `automated` or `pointInTime`
restores, so the drill never tries: when it ends while its restore still runs, it waits (at most
`settle_wait`) for the job to end before destroying the target; if the job still runs then, or the
operator pressed Ctrl-C, it leaves the stack, with its name and the reason, for `backstop drill sweep`,
which removes it once its expiry has passed. A teardown failure is loud in the same way.

Time to restore runs from the moment Atlas accepted the restore request, on Atlas's own clock (the `Date`
of its 200 answer), to the job's `finishedAt` (Atlas's clock too); the evidence says which clock it used.

Long because planning, executing and reporting one drill share its `DrillPlan` and `DrillOutcome`; what
the drill shares with recoveries (modes, the production guard, stacks) lives in `backstop.restore`.
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from backstop.clients.atlas import AtlasClient, cluster_topology, one_line, parse_time, restore_job_state
from backstop.clients.mongo_manifest import (
    Manifest,
    SampledDocument,
    Verification,
    format_id,
    pick_spot_checks,
    verify_database,
)
from backstop.config import ConfigError, StackConfig, is_tenant_database, source_cluster_name, stack_file_name
from backstop.ground.documents import SYSTEM_DATABASES, utc_iso
from backstop.ground.errors import EXIT_OK, EXIT_VIOLATIONS, BackstopError, UsageError
from backstop.program.ephemeral import DrillClusterSpec, drill_program
from backstop.report.attestations import latest_records
from backstop.report.evidence import AUDIT_COLLECTION, EvidenceError, verify_chain
from backstop.restore.common import (
    EXIT_INTERRUPTED,
    MECHANISMS,
    MODE_POINT_IN_TIME,
    MODE_SNAPSHOT,
    PITR_MARGIN,
    RefusedTarget,
    connection_string,
    duration_text,
    guard_restore_target,
    refuse_prod_targets,
)
from backstop.restore.stacks import STACK_EXPIRY_TAG, DrillStacks, stack_name_for

# How long a drill that ends while its (uncancellable) restore runs waits for it before leaving the stack.
DEFAULT_SETTLE_WAIT = timedelta(minutes=30)


class RestoreTimeout(Exception):
    pass


@dataclass(frozen=True)
class DrillOptions:
    database: str | None = None
    seed: int | None = None
    mode: str | None = None
    timeout: timedelta | None = None
    poll_interval: timedelta | None = None
    settle_wait: timedelta | None = None


@dataclass(frozen=True)
class DrillPlan:
    stack: str
    drill_id: str
    stack_name: str
    created_at: datetime
    expires_at: datetime
    seed: int
    tenant: str
    audit_sequence: int
    audit_record_hash: str
    manifest: Manifest
    source_project_id: str
    source_project_name: str
    source_cluster: str
    source_major_version: str | None
    target_project_id: str
    target_project_name: str
    instance_size: str
    region: str
    mode: str
    restore_request: dict[str, Any]
    snapshot: dict[str, Any] | None
    spot_checks: list[SampledDocument]
    rto: timedelta
    timeout: timedelta
    poll_interval: timedelta
    prod_project_ids: frozenset[str]
    prod_cluster_names: frozenset[str]
    db_username: str
    db_password: str = field(repr=False)
    cluster_type: str = "REPLICASET"
    shards: int = 1
    settle_wait: timedelta = DEFAULT_SETTLE_WAIT

    @property
    def cluster_name(self) -> str:
        return self.stack_name

    @property
    def mechanism(self) -> str:
        return MECHANISMS[self.mode]

    def cluster_spec(self) -> DrillClusterSpec:
        return DrillClusterSpec(
            project_id=self.target_project_id,
            cluster_name=self.cluster_name,
            instance_size=self.instance_size,
            region=self.region,
            expires_at=self.expires_at,
            source_cluster=self.source_cluster,
            drill_id=self.drill_id,
            mongo_db_major_version=self.source_major_version,
            database_username=self.db_username,
            database_password=self.db_password,
            cluster_type=self.cluster_type,
            shards=self.shards,
        )


def plan_drill(
    cfg: StackConfig,
    prod_cfg: StackConfig,
    *,
    stack: str,
    atlas: AtlasClient,
    evidence: Any,
    clock: Callable[[], datetime],
    options: DrillOptions | None = None,
) -> DrillPlan:
    """Every decision of the drill, made and checked before anything is created."""
    options = options or DrillOptions()
    drill = cfg.drill
    source_file = stack_file_name(stack)
    if drill.staging_project_id is None:
        raise ConfigError(
            f"{source_file}: backstop:drill.stagingProjectId: is required to run a drill "
            "(the Atlas project id the drill cluster is created in)"
        )
    target_project_id = drill.staging_project_id
    source_cluster = source_cluster_name(cfg, stack)

    # Refuse before anything else is looked at: prod's project by its declared name, prod's clusters.
    prod_project = atlas.project_by_name(prod_cfg.atlas.project_name)
    prod_project_id = str(prod_project["id"])
    now = clock()
    drill_id = secrets.token_hex(3)
    stack_name = stack_name_for(now, drill_id)
    target_project = (
        prod_project if target_project_id == prod_project_id else atlas.project(target_project_id)
    )
    refuse_prod_targets(target_project_id, target_project, stack_name, prod_cfg, prod_project_id)

    source_project = prod_project if cfg.is_prod else atlas.project_by_name(cfg.atlas.project_name)
    source_project_id = str(source_project["id"])
    source_info = atlas.cluster(source_project_id, source_cluster)
    topology = cluster_topology(source_info)
    if topology.cluster_type == "GEOSHARDED":
        raise UsageError(
            f"cluster {source_cluster} is a global (GEOSHARDED) cluster: the drill builds replica sets and "
            "sharded clusters only, and a global cluster's snapshot restores only into a global cluster "
            "with the same zones"
        )

    # The evidence: an intact chain, and the tenant's latest manifest.
    log = evidence[AUDIT_COLLECTION]
    chain = verify_chain(log)
    if chain.broken is not None:
        raise EvidenceError(f"{chain.broken.line()}; not drilling against it (run `backstop audit verify`)")
    latest = latest_records(log, project_id=source_project_id, cluster=source_cluster)
    seed = options.seed if options.seed is not None else secrets.randbits(32)
    rng = random.Random(seed)
    if options.database is not None:
        tenant = options.database
        if tenant in SYSTEM_DATABASES:
            raise UsageError(f"--database {tenant}: a system database is never a drill target")
        if tenant in drill.excluded_databases:
            raise UsageError(
                f"--database {tenant}: excluded by backstop:drill.excludedDatabases in {source_file}"
            )
        if not is_tenant_database(tenant, drill):
            raise UsageError(
                f"--database {tenant}: does not match backstop:drill.tenantDatabasePattern "
                f"{drill.tenant_database_pattern!r}"
            )
        if tenant not in latest:
            raise EvidenceError(
                f"{AUDIT_COLLECTION}: no manifest of {tenant} on cluster {source_cluster}: "
                "run `backstop audit` first"
            )
    else:
        candidates = sorted(t for t in latest if is_tenant_database(t, drill))
        if not candidates:
            raise EvidenceError(
                f"{AUDIT_COLLECTION}: no audited tenant database of cluster {source_cluster}: "
                "run `backstop audit` first"
            )
        tenant = rng.choice(candidates)
    record = latest[tenant]
    manifest = Manifest.from_document(record["manifest"])
    spot_checks = pick_spot_checks(manifest, drill.spot_check_documents, rng)

    mode, request, snapshot = _restore_request(
        cfg,
        options,
        source_info,
        record,
        manifest,
        now,
        target_project_id,
        stack_name,
        atlas,
        source_project_id,
    )
    return DrillPlan(
        stack=stack,
        drill_id=drill_id,
        stack_name=stack_name,
        created_at=now,
        expires_at=now + timedelta(hours=drill.ttl_hours),
        seed=seed,
        tenant=tenant,
        audit_sequence=int(record["sequence"]),
        audit_record_hash=str(record["recordHash"]),
        manifest=manifest,
        source_project_id=source_project_id,
        source_project_name=cfg.atlas.project_name,
        source_cluster=source_cluster,
        source_major_version=source_info.get("mongoDBMajorVersion"),
        target_project_id=target_project_id,
        target_project_name=str(target_project.get("name", target_project_id)),
        instance_size=drill.instance_size,
        region=drill.region,
        mode=mode,
        restore_request=request,
        snapshot=snapshot,
        spot_checks=spot_checks,
        rto=drill.rto,
        timeout=options.timeout or drill.restore_timeout,
        poll_interval=options.poll_interval if options.poll_interval is not None else drill.poll_interval,
        prod_project_ids=frozenset({prod_project_id}),
        prod_cluster_names=frozenset(c.name for c in prod_cfg.atlas.clusters),
        db_username=f"backstop-drill-{drill_id}",
        db_password=secrets.token_urlsafe(24),
        cluster_type=topology.cluster_type,
        shards=topology.shards,
        settle_wait=options.settle_wait if options.settle_wait is not None else DEFAULT_SETTLE_WAIT,
    )


def _restore_request(
    cfg: StackConfig,
    options: DrillOptions,
    source_info: dict[str, Any],
    record: dict[str, Any],
    manifest: Manifest,
    now: datetime,
    target_project_id: str,
    cluster_name: str,
    atlas: AtlasClient,
    source_project_id: str,
) -> tuple[str, dict[str, Any], dict[str, Any] | None]:
    """Point in time to the manifest (exact oplog timestamp when known) or the manifest's snapshot."""
    requested = options.mode or cfg.drill.restore_mode
    window = timedelta(days=cfg.atlas.backup.restore_window_days)
    pit_capable = source_info.get("pitEnabled") is True
    in_window = now - manifest.restore_point < window - PITR_MARGIN
    if requested == "auto":
        requested = MODE_POINT_IN_TIME if pit_capable and in_window else MODE_SNAPSHOT
    target = {"targetClusterName": cluster_name, "targetGroupId": target_project_id}
    if requested == MODE_POINT_IN_TIME:
        if not pit_capable:
            raise UsageError(
                f"point-in-time restore needs continuous cloud backup, and cluster "
                f"{source_info.get('name')} has pitEnabled false: use --mode snapshot"
            )
        if not in_window:
            raise UsageError(
                f"the manifest of {manifest.database} ({utc_iso(manifest.restore_point)}) is outside the "
                f"{window.days}-day point-in-time window: use --mode snapshot or run `backstop audit` first"
            )
        request: dict[str, Any] = {"deliveryType": "pointInTime", **target}
        if manifest.cluster_time is not None:
            request["oplogTs"], request["oplogInc"] = manifest.cluster_time
        else:
            request["pointInTimeUTCSeconds"] = int(manifest.captured_at.timestamp())
        return MODE_POINT_IN_TIME, request, None
    snapshot = record.get("snapshot")
    if not isinstance(snapshot, dict) or not snapshot.get("id"):
        raise EvidenceError(
            f"{AUDIT_COLLECTION} record #{record.get('sequence')}: no snapshot holds {manifest.database}, "
            "so there is nothing to restore in snapshot mode"
        )
    available = {s.get("id"): s for s in atlas.cluster_snapshots(source_project_id, source_info)}
    current = available.get(snapshot["id"])
    if current is None or current.get("status") != "completed":
        raise EvidenceError(
            f"snapshot {snapshot['id']} of {manifest.database} no longer exists (expired?): "
            "run `backstop audit`"
        )
    return MODE_SNAPSHOT, {"deliveryType": "automated", "snapshotId": snapshot["id"], **target}, snapshot


# --- execution ------------------------------------------------------------------------------------------


@dataclass
class DrillOutcome:
    started_at: datetime
    finished_at: datetime | None = None
    restore_job: dict[str, Any] | None = None
    restore_state: str | None = None
    requested_at: datetime | None = None
    accepted_at: datetime | None = None
    clock: str | None = None
    time_to_restore: timedelta | None = None
    time_basis: str | None = None
    verification: Verification | None = None
    error: str | None = None
    interrupted: bool = False
    destroyed: bool = False
    teardown_error: str | None = None
    left_for_sweep: str | None = None


@dataclass
class DrillIO:
    """Where the drill talks to the world: Atlas, Pulumi, the restored cluster, the clock, the operator."""

    atlas: AtlasClient
    stacks: DrillStacks
    connect: Callable[..., Any]
    clock: Callable[[], datetime]
    sleep: Callable[[float], None]
    progress: Callable[[str], None]


def _guard_target(plan: DrillPlan, cluster: dict[str, Any]) -> None:
    guard_restore_target(
        cluster,
        project_id=plan.target_project_id,
        cluster_name=plan.cluster_name,
        prod_project_ids=plan.prod_project_ids,
        prod_cluster_names=plan.prod_cluster_names,
    )
    topology = cluster_topology(cluster)
    if (topology.cluster_type, topology.shards) != (plan.cluster_type, plan.shards):
        raise RefusedTarget(
            f"refusing to restore: the drill cluster {plan.cluster_name} is {topology.describe()}, unlike "
            f"the source {plan.source_cluster} (Atlas restores a snapshot only into the same topology)"
        )


def _wait_for_restore(plan: DrillPlan, io: DrillIO, outcome: DrillOutcome, job_id: str) -> dict[str, Any]:
    assert outcome.requested_at is not None
    deadline = outcome.requested_at + plan.timeout
    while True:
        job = io.atlas.restore_job(plan.source_project_id, plan.source_cluster, job_id)
        outcome.restore_job = job
        state = restore_job_state(job)
        outcome.restore_state = state
        io.progress(
            f"restore job {job_id}: {state}, {duration_text(io.clock() - outcome.requested_at)} elapsed"
        )
        if state != "running":
            return job
        if io.clock() >= deadline:
            raise RestoreTimeout(f"restore job {job_id} did not finish within {duration_text(plan.timeout)}")
        io.sleep(plan.poll_interval.total_seconds())


def _restore_still_running(plan: DrillPlan, io: DrillIO, outcome: DrillOutcome) -> str | None:
    """Why the target cannot be destroyed yet, or None. Never cancels: Atlas refuses to cancel
    `automated` and `pointInTime` restores. Waits at most `settle_wait` for the job to end, not at all
    after Ctrl-C."""
    job = outcome.restore_job or {}
    job_id = job.get("id")
    if not job_id or outcome.restore_state not in (None, "running"):
        return None
    kind = plan.restore_request["deliveryType"]
    if outcome.interrupted:
        return f"restore job {job_id} ({kind}) was still running when the drill was interrupted"
    deadline = io.clock() + plan.settle_wait
    io.progress(
        f"restore job {job_id} ({kind}) is still running and Atlas cannot cancel it: waiting up to "
        f"{duration_text(plan.settle_wait)} for it to end before destroying {plan.cluster_name}"
    )
    last_error = ""
    try:
        while True:
            try:
                current = io.atlas.restore_job(plan.source_project_id, plan.source_cluster, str(job_id))
                outcome.restore_job = current
                outcome.restore_state = restore_job_state(current)
                if outcome.restore_state != "running":
                    io.progress(f"restore job {job_id} ended: {outcome.restore_state}")
                    return None
            except Exception as exc:
                last_error = f" (last poll: {one_line(exc)})"
            if io.clock() >= deadline:
                waited = duration_text(plan.settle_wait)
                return f"restore job {job_id} ({kind}) still running after {waited}{last_error}"
            io.sleep(plan.poll_interval.total_seconds())
    except KeyboardInterrupt:
        outcome.interrupted = True
        return f"restore job {job_id} ({kind}) was still running when the drill was interrupted"


def _restore_and_verify(plan: DrillPlan, io: DrillIO, outcome: DrillOutcome) -> None:
    io.progress(f"creating drill stack {plan.stack_name} (cluster in project {plan.target_project_name})")
    io.stacks.up(
        plan.stack_name,
        drill_program(plan.cluster_spec()),
        io.progress,
        {STACK_EXPIRY_TAG: utc_iso(plan.expires_at)},
    )
    target = io.atlas.cluster(plan.target_project_id, plan.cluster_name)
    _guard_target(plan, target)
    uri = connection_string(target)
    outcome.requested_at = io.clock()
    submission = io.atlas.submit_restore_job(
        plan.source_project_id, plan.source_cluster, plan.restore_request
    )
    job = submission.job
    outcome.restore_job = job
    outcome.restore_state = restore_job_state(job)
    outcome.accepted_at, outcome.clock = submission.accepted_at, submission.clock
    job_id = str(job.get("id"))
    io.progress(f"restore job {job_id} created ({plan.restore_request['deliveryType']})")
    job = _wait_for_restore(plan, io, outcome, job_id)
    if outcome.restore_state != "finished":
        outcome.error = f"restore job {job_id} {outcome.restore_state}"
        return
    finished = parse_time(job.get("finishedAt"))
    outcome.time_basis = f"{submission.basis} → restore job finishedAt (Atlas clock)"
    if finished is not None:
        outcome.time_to_restore = max(finished - submission.accepted_at, timedelta(0))
    io.progress(f"verifying {plan.tenant} on {plan.cluster_name}")
    client = io.connect(uri, username=plan.db_username, password=plan.db_password, authSource="admin")
    try:
        outcome.verification = verify_database(client, plan.manifest, plan.spot_checks)
    finally:
        close = getattr(client, "close", None)
        if callable(close):
            close()


def execute_drill(plan: DrillPlan, io: DrillIO) -> DrillOutcome:
    """Create, restore, measure, verify; destroy the stack in `finally` on every path."""
    outcome = DrillOutcome(started_at=io.clock())
    try:
        _restore_and_verify(plan, io, outcome)
    except KeyboardInterrupt:
        outcome.interrupted = True
        outcome.error = "interrupted (Ctrl-C)"
    except Exception as exc:
        outcome.error = (
            f"{type(exc).__name__}: {one_line(exc)}" if not isinstance(exc, BackstopError) else one_line(exc)
        )
    finally:
        outcome.left_for_sweep = _restore_still_running(plan, io, outcome)
        if outcome.left_for_sweep is not None:
            io.progress(
                f"leaving drill stack {plan.stack_name} for `backstop drill sweep`: "
                f"{outcome.left_for_sweep}; Atlas cannot cancel it "
                f"(the stack expires {utc_iso(plan.expires_at)})"
            )
        else:
            io.progress(f"destroying drill stack {plan.stack_name}")
            try:
                io.stacks.destroy(plan.stack_name, io.progress)
                outcome.destroyed = True
            except (Exception, KeyboardInterrupt) as exc:
                outcome.teardown_error = one_line(exc) or type(exc).__name__
        outcome.finished_at = io.clock()
    return outcome


# --- the verdict, the result document and the summary ---------------------------------------------------


def rto_met(plan: DrillPlan, outcome: DrillOutcome) -> bool | None:
    return None if outcome.time_to_restore is None else outcome.time_to_restore <= plan.rto


def passed(plan: DrillPlan, outcome: DrillOutcome) -> bool:
    return (
        outcome.error is None
        and outcome.verification is not None
        and outcome.verification.ok
        and rto_met(plan, outcome) is True
        and outcome.destroyed
    )


def exit_code(plan: DrillPlan, outcome: DrillOutcome) -> int:
    if outcome.interrupted:
        return EXIT_INTERRUPTED
    return EXIT_OK if passed(plan, outcome) else EXIT_VIOLATIONS


def result_document(plan: DrillPlan, outcome: DrillOutcome) -> dict[str, Any]:
    """What `backup_drill_results` keeps; `backstop report --drill-results` reads `mechanism`,
    `timeToRestoreSeconds` (set only when the restored data verified) and `finishedAt`."""
    job = outcome.restore_job or {}
    verified = outcome.verification is not None and outcome.verification.ok
    seconds = outcome.time_to_restore.total_seconds() if outcome.time_to_restore is not None else None
    return {
        "drillId": plan.drill_id,
        "stackName": plan.stack_name,
        "sourceStack": plan.stack,
        "startedAt": utc_iso(outcome.started_at),
        "finishedAt": utc_iso(outcome.finished_at or outcome.started_at),
        "seed": plan.seed,
        "tenantDatabase": plan.tenant,
        "source": {
            "projectId": plan.source_project_id,
            "projectName": plan.source_project_name,
            "cluster": plan.source_cluster,
        },
        "target": {
            "projectId": plan.target_project_id,
            "projectName": plan.target_project_name,
            "cluster": plan.cluster_name,
            "expiresAt": utc_iso(plan.expires_at),
        },
        "manifest": {
            "auditSequence": plan.audit_sequence,
            "auditRecordHash": plan.audit_record_hash,
            "readMode": plan.manifest.read_mode,
            "restorePoint": utc_iso(plan.manifest.restore_point),
            "clusterTime": None
            if plan.manifest.cluster_time is None
            else {"t": plan.manifest.cluster_time[0], "i": plan.manifest.cluster_time[1]},
        },
        "restore": {
            "mode": plan.mode,
            "request": plan.restore_request,
            "snapshot": plan.snapshot,
            "jobId": job.get("id"),
            "state": outcome.restore_state,
            "requestedAt": utc_iso(outcome.requested_at) if outcome.requested_at else None,
            "acceptedAt": utc_iso(outcome.accepted_at) if outcome.accepted_at else None,
            "acceptedClock": outcome.clock,
            "finishedAt": job.get("finishedAt"),
            "durationSeconds": seconds,
            "durationBasis": outcome.time_basis,
        },
        "mechanism": plan.mechanism,
        "timeToRestoreSeconds": seconds if verified else None,
        "rtoSeconds": plan.rto.total_seconds(),
        "rtoMet": rto_met(plan, outcome),
        "verification": outcome.verification.as_document() if outcome.verification else None,
        "teardown": {
            "destroyed": outcome.destroyed,
            "error": outcome.teardown_error,
            "leftForSweep": outcome.left_for_sweep,
        },
        "error": outcome.error,
        "passed": passed(plan, outcome),
        "exitCode": exit_code(plan, outcome),
    }


def summary_markdown(plan: DrillPlan, outcome: DrillOutcome) -> str:
    verdict = "PASSED" if passed(plan, outcome) else "INTERRUPTED" if outcome.interrupted else "FAILED"
    verification = outcome.verification
    if plan.mode == MODE_POINT_IN_TIME:
        point = plan.restore_request
        at = (
            f"oplog timestamp {point['oplogTs']}:{point['oplogInc']}"
            if "oplogTs" in point
            else f"{point['pointInTimeUTCSeconds']} (UTC seconds)"
        )
        restore = f"point in time to the manifest: {at} ({utc_iso(plan.manifest.restore_point)})"
    else:
        snap = plan.snapshot or {}
        restore = f"snapshot `{snap.get('id')}` taken {snap.get('createdAt')}"
    met = rto_met(plan, outcome)
    measured = f"{duration_text(outcome.time_to_restore)} ({outcome.time_basis})"
    rto_text = (
        f"{measured} against the RTO of {duration_text(plan.rto)}: " + ("met" if met else "**missed**")
        if met is not None
        else f"not measured (RTO {duration_text(plan.rto)})"
    )
    job = outcome.restore_job or {}
    rows = [
        ("tenant database", f"`{plan.tenant}` (seed {plan.seed}; `--seed {plan.seed}` repeats the pick)"),
        ("source", f"cluster `{plan.source_cluster}` in project `{plan.source_project_name}`"),
        (
            "drill cluster",
            f"`{plan.cluster_name}` in project `{plan.target_project_name}` ({plan.target_project_id}), "
            f"expires {utc_iso(plan.expires_at)}",
        ),
        ("manifest", f"`{AUDIT_COLLECTION}` #{plan.audit_sequence} `{plan.audit_record_hash[:12]}`"),
        ("restore", restore),
        ("restore job", f"`{job.get('id', 'not created')}`: {outcome.restore_state or 'not started'}"),
        ("time to restore", rto_text),
    ]
    if verification is not None:
        counts_ok = sum(1 for c in verification.counts if c.ok)
        docs_ok = sum(1 for d in verification.documents if d.ok)
        rows += [
            (
                "collections",
                "match the manifest" if verification.collections_ok else "**differ from the manifest**",
            ),
            ("document counts", f"{counts_ok} of {len(verification.counts)} collections match"),
            ("spot checks", f"{docs_ok} of {len(verification.documents)} documents equal by SHA-256"),
        ]
    if outcome.destroyed:
        teardown = "stack destroyed"
    elif outcome.left_for_sweep is not None:
        teardown = (
            f"**left for `backstop drill sweep`**: {outcome.left_for_sweep}, and Atlas cannot cancel it; "
            f"`{plan.stack_name}` expires {utc_iso(plan.expires_at)}"
        )
    else:
        teardown = (
            f"**FAILED**: {outcome.teardown_error}; run `backstop drill sweep` to remove `{plan.stack_name}`"
        )
    rows.append(("teardown", teardown))
    lines = [f"# Restore drill `{plan.stack_name}`: {verdict}", "", "| | |", "|---|---|"]
    lines += [f"| {key} | {value} |" for key, value in rows]
    findings = []
    if outcome.error:
        findings.append(outcome.error)
    if met is False:
        findings.append(
            f"time to restore {duration_text(outcome.time_to_restore)} exceeds the RTO of "
            f"{duration_text(plan.rto)}"
        )
    if verification is not None:
        findings += verification.failures()
    if findings:
        lines += ["", "## Findings", ""] + [f"- {finding}" for finding in findings]
    if verification is not None and verification.documents:
        lines += ["", "## Spot-checked documents", "", "| collection | _id | result |", "|---|---|---|"]
        lines += [f"| `{d.collection}` | `{format_id(d.id)}` | {d.outcome} |" for d in verification.documents]
    return "\n".join(lines) + "\n"
