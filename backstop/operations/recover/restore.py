"""Step 2 of the runbook, first half: restore into a recovery cluster, never over production.

`open_incident` names the incident and its recovery stack and records the plan before anything is
created. `execute_restore` creates the recovery cluster through the drill's program (tagged `recovery`
with its expiry, a reader whose password is only a Pulumi secret), checks the cluster Atlas reports
right before the restore request exactly as the drill does, restores to the planned point and waits,
recording every step in `recovery_log` as it happens. Unlike a drill cluster, the recovery cluster is
kept: the operator still has to verify and cut over. `recover cleanup` removes it.

Atlas cannot cancel an `automated` or `pointInTime` restore, so an interrupted or timed-out wait leaves
the job running and says so; `recover verify` checks the job has finished before it reads anything.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from backstop.clients.atlas import AtlasClient, RestoreSubmission, one_line, parse_time, restore_job_state
from backstop.ground.documents import utc_iso
from backstop.operations.recover.plan import RecoveryPlan
from backstop.operations.recover.store import Incident, IncidentLog
from backstop.program.ephemeral import DrillClusterSpec, drill_program
from backstop.restore.common import RefusedTarget, duration_text, guard_restore_target
from backstop.restore.recovery_stacks import RecoveryStacks, incident_id_for, stack_name_for
from backstop.restore.stacks import STACK_EXPIRY_TAG

RECOVERY_PURPOSE = "recovery"


@dataclass
class RecoveryIO:
    atlas: AtlasClient
    stacks: RecoveryStacks
    clock: Callable[[], datetime]
    sleep: Callable[[float], None]
    progress: Callable[[str], None]


def open_incident(
    plan: RecoveryPlan, evidence: Any, clock: Callable[[], datetime]
) -> tuple[Incident, IncidentLog]:
    """Name the incident, its recovery stack and cluster; record the plan. Nothing is created yet."""
    now = clock()
    incident_id = incident_id_for(now, secrets.token_hex(3))
    stack_name = stack_name_for(incident_id)
    log = IncidentLog(evidence, incident_id, clock)
    opened = log.append(
        "opened",
        plan=plan.as_document(),
        recovery={
            "stackName": stack_name,
            "clusterName": stack_name,
            "projectId": plan.target_project_id,
            "projectName": plan.target_project_name,
            "region": plan.region,
            "instanceSize": plan.instance_size,
            "expiresAt": utc_iso(now + plan.ttl),
            "databaseUsername": f"backstop-recover-{incident_id[-6:]}",
            "restoreRequest": plan.restore_request(stack_name),
            "sourceProjectId": plan.source_project_id,
            "sourceCluster": plan.source_cluster,
            "sourceMajorVersion": plan.source_major_version,
            "clusterType": plan.cluster_type,
            "shards": plan.shards,
        },
    )
    return Incident(incident_id, opened), log


@dataclass
class RestoreOutcome:
    job: dict[str, Any] | None = None
    state: str | None = None
    accepted_at: datetime | None = None
    finished_at: datetime | None = None
    error: str | None = None
    interrupted: bool = False

    @property
    def time_to_restore(self) -> timedelta | None:
        if self.accepted_at is None or self.finished_at is None:
            return None
        return max(self.finished_at - self.accepted_at, timedelta(0))


def recovery_spec(
    incident: Incident, password: str, *, termination_protection: bool = False
) -> DrillClusterSpec:
    """The recovery cluster as the incident recorded it when it was opened (so a later `up` changes only
    what it means to, such as termination protection before a cluster swap)."""
    from backstop.operations.recover.plan import LOSSES

    recovery = incident.recovery
    major = recovery.get("sourceMajorVersion")
    return DrillClusterSpec(
        project_id=str(recovery["projectId"]),
        cluster_name=incident.stack_name,
        instance_size=str(recovery["instanceSize"]),
        region=str(recovery["region"]),
        expires_at=datetime.fromisoformat(str(recovery["expiresAt"]).replace("Z", "+00:00")),
        source_cluster=str(recovery["sourceCluster"]),
        drill_id=incident.incident_id,
        mongo_db_major_version=str(major) if major else None,
        database_username=str(recovery["databaseUsername"]),
        database_password=password,
        cluster_type=str(recovery.get("clusterType") or "REPLICASET"),
        shards=int(recovery.get("shards") or 1),
        purpose=RECOVERY_PURPOSE,
        id_tag="incident-id",
        # A cluster that will carry production after a swap is backed up like production from the start.
        backup_enabled=not LOSSES[incident.loss].writes_back,
        export_password=True,
        termination_protection=termination_protection,
    )


def _spec(plan: RecoveryPlan, incident: Incident, password: str) -> DrillClusterSpec:
    return recovery_spec(incident, password)


def _create_and_submit(
    plan: RecoveryPlan, incident: Incident, log: IncidentLog, io: RecoveryIO
) -> RestoreSubmission:
    """Create (or, resumed, bring up again) the recovery cluster, guard it, submit the restore once: a job
    an interrupted run already submitted into this cluster is adopted, not submitted twice."""
    name = incident.stack_name
    password = None
    if log.last("cluster-requested") is not None:
        try:  # keep the reader's password of the stack already up
            password = io.stacks.outputs(name).get("databasePassword")
        except Exception:
            password = None
    else:
        log.append("cluster-requested", stackName=name, projectId=plan.target_project_id)
    io.progress(f"creating recovery cluster {name} in project {plan.target_project_name}")
    io.stacks.up(
        name,
        drill_program(_spec(plan, incident, str(password or secrets.token_urlsafe(24)))),
        io.progress,
        {STACK_EXPIRY_TAG: str(incident.recovery["expiresAt"])},
    )
    cluster = io.atlas.cluster(plan.target_project_id, name)
    log.append(
        "cluster-created",
        cluster=name,
        groupId=cluster.get("groupId"),
        stateName=cluster.get("stateName"),
    )
    # The drill's second check, right before the request: the cluster Atlas reports is ours, not prod's.
    guard_restore_target(
        cluster,
        project_id=plan.target_project_id,
        cluster_name=name,
        prod_project_ids=plan.prod_project_ids,
        prod_cluster_names=plan.prod_cluster_names,
        role="recovery",
    )
    request = incident.recovery["restoreRequest"]
    earlier = [
        j
        for j in io.atlas.restore_jobs(plan.source_project_id, plan.source_cluster)
        if j.get("targetClusterName") == name and j.get("targetGroupId") == plan.target_project_id
    ]
    if earlier:
        job = earlier[0]
        io.progress(f"restore job {job.get('id')} into {name} already submitted: adopting it")
        submission = RestoreSubmission(job, parse_time(job.get("createdAt")) or io.clock(), "adopted", True)
    else:
        submission = io.atlas.submit_restore_job(plan.source_project_id, plan.source_cluster, request)
    log.append(
        "restore-requested",
        jobId=str(submission.job.get("id")),
        request=request,
        acceptedAt=utc_iso(submission.accepted_at),
    )
    io.progress(f"restore job {submission.job.get('id')} accepted ({request['deliveryType']})")
    return submission


def execute_restore(
    plan: RecoveryPlan,
    incident: Incident,
    log: IncidentLog,
    io: RecoveryIO,
    *,
    timeout: timedelta,
    poll_interval: timedelta,
) -> RestoreOutcome:
    """Create the recovery cluster, guard it, restore into it, wait; every step into `recovery_log`."""
    outcome = RestoreOutcome()
    try:
        requested = log.last("restore-requested")
        if requested is None:
            submission = _create_and_submit(plan, incident, log, io)
        else:
            # A resumed incident: the job was accepted before the interruption; wait on it, submit nothing.
            accepted = parse_time(requested.get("acceptedAt")) or io.clock()
            submission = RestoreSubmission(
                io.atlas.restore_job(plan.source_project_id, plan.source_cluster, str(requested["jobId"])),
                accepted,
                "recorded",
            )
            io.progress(
                f"resuming incident {incident.incident_id}: restore job {requested['jobId']} accepted"
            )
        job = submission.job
        outcome.job, outcome.accepted_at = job, submission.accepted_at
        outcome.state = restore_job_state(job)
        job_id = str(job.get("id"))
        deadline = submission.accepted_at + timeout
        while True:
            job = io.atlas.restore_job(plan.source_project_id, plan.source_cluster, job_id)
            outcome.job, outcome.state = job, restore_job_state(job)
            elapsed = duration_text(io.clock() - submission.accepted_at)
            io.progress(f"restore job {job_id}: {outcome.state}, {elapsed} elapsed")
            if outcome.state != "running":
                break
            if io.clock() >= deadline:
                outcome.error = (
                    f"restore job {job_id} still running after {duration_text(timeout)}; Atlas cannot cancel "
                    f"it: `backstop recover restore --stack {incident.stack} --incident "
                    f"{incident.incident_id}` keeps waiting, `backstop recover verify` picks it up once it "
                    "finishes"
                )
                break
            io.sleep(poll_interval.total_seconds())
        outcome.finished_at = parse_time(job.get("finishedAt"))
        if outcome.state not in ("finished", "running"):
            outcome.error = f"restore job {job_id} {outcome.state}"
        log.append(
            "restore-finished" if outcome.state == "finished" else "restore-ended",
            jobId=job_id,
            state=outcome.state,
            finishedAt=job.get("finishedAt"),
            timeToRestoreSeconds=outcome.time_to_restore.total_seconds() if outcome.time_to_restore else None,
            error=outcome.error,
        )
    except RefusedTarget as exc:
        outcome.error = str(exc)
        log.append("refused", error=str(exc))
        raise
    except KeyboardInterrupt:
        outcome.interrupted = True
        outcome.error = "interrupted (Ctrl-C); a restore job already accepted keeps running in Atlas"
        log.append("interrupted", error=outcome.error, jobId=(outcome.job or {}).get("id"))
    except Exception as exc:
        outcome.error = f"{type(exc).__name__}: {one_line(exc)}"
        if outcome.job is not None:
            # Atlas answered 503s past the retry budget (or the network went): the job it accepted goes on.
            outcome.error += (
                f"; restore job {outcome.job.get('id')} keeps running in Atlas: resume the wait with "
                f"`backstop recover restore --stack {incident.stack} --incident {incident.incident_id}`"
            )
        log.append("failed", error=outcome.error, jobId=(outcome.job or {}).get("id"))
    return outcome
