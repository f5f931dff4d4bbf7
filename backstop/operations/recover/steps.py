"""What the runbook's step handlers share: the loss request and plan, the incident, the restored copy."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from backstop.ground.errors import UsageError
from backstop.restore import runtime

LOSS_CHOICES = ("record", "collection", "tenant", "cluster", "region")


# A user on the production cluster that may insert and replace in the affected database (cutover only).
ENV_CUTOVER_URI = "BACKSTOP_CUTOVER_MONGODB_URI"


EXIT_INTERRUPTED = 130


def drill_results(cfg: Any) -> tuple[list[dict[str, Any]] | None, list[str]]:
    """Drill measurements from the evidence store (None when no evidence store is configured): only
    entries of an intact `backup_drill_results` chain, with one note per entry or break not used."""
    from backstop.report.evidence import ENV_EVIDENCE_URI, read_drill_results

    if not runtime.RUNTIME.env.get(ENV_EVIDENCE_URI):
        return None, []
    evidence = read_drill_results(runtime.evidence_database(cfg), runtime.RUNTIME.clock())
    return evidence.trusted, evidence.notes()


def _request(args: argparse.Namespace) -> Any:
    from backstop.operations.recover.plan import LossRequest, parse_when

    return LossRequest(
        loss=args.loss,
        database=args.database,
        collection=args.collection,
        at=parse_when(args.at, "--at"),
        detected_at=(
            parse_when(args.detected_at, "--detected-at", now=runtime.RUNTIME.clock())
            if args.detected_at
            else None
        ),
    )


def plan_of(args: argparse.Namespace, cfg: Any, prod: Any, atlas: Any) -> Any:
    from backstop.operations.recover.plan import plan_recovery

    results, notes = drill_results(cfg)
    return plan_recovery(
        cfg,
        prod,
        stack=args.stack,
        request=_request(args),
        atlas=atlas,
        clock=runtime.RUNTIME.clock,
        drill_results=results,
        drill_notes=notes,
    )


def incident_of(args: argparse.Namespace, cfg: Any) -> tuple[Any, Any, Any]:
    from backstop.operations.recover.store import load_incident

    evidence = runtime.evidence_database(cfg)
    incident, log = load_incident(evidence, args.incident, runtime.RUNTIME.clock)
    if incident.stack != args.stack:
        raise UsageError(f"--incident {args.incident}: recovers stack {incident.stack}, not {args.stack}")
    return evidence, incident, log


def restore_finished(incident: Any, log: Any, atlas: Any, resume: str) -> bool:
    """True once the restore job finished (recorded now if it finished after `recover restore` stopped);
    Atlas failing past its retry budget says the job keeps running and `resume` picks it up."""
    from backstop.clients.atlas import AtlasApiError, parse_time, restore_job_state

    if log.last("restore-finished") is not None:
        return True
    requested = log.last("restore-requested")
    if requested is None:
        raise UsageError(
            f"incident {incident.incident_id}: no restore job was created (see its recovery_log)"
        )
    recovery = incident.recovery
    try:
        job = atlas.restore_job(
            str(recovery["sourceProjectId"]), str(recovery["sourceCluster"]), requested["jobId"]
        )
    except AtlasApiError as exc:
        if exc.status is not None and exc.status < 500 and exc.status != 429:
            raise
        raise AtlasApiError(
            f"{exc}; restore job {requested['jobId']} keeps running in Atlas: pick it up with `{resume}`",
            exc.status,
        ) from None
    state = restore_job_state(job)
    if state != "finished":
        print(f"backstop: restore job {requested['jobId']} is {state}", file=sys.stderr)
        return False
    accepted, finished = parse_time(requested.get("acceptedAt")), parse_time(job.get("finishedAt"))
    seconds = (finished - accepted).total_seconds() if accepted and finished else None
    log.append(
        "restore-finished",
        jobId=requested["jobId"],
        state=state,
        finishedAt=job.get("finishedAt"),
        timeToRestoreSeconds=seconds,
        error=None,
    )
    return True


def recovery_database(incident: Any, atlas: Any) -> Any:
    from backstop.restore.common import connection_string

    recovery = incident.recovery
    cluster = atlas.cluster(str(recovery["projectId"]), str(recovery["clusterName"]))
    outputs = runtime.RUNTIME.recovery_stacks().outputs(incident.stack_name)
    client = runtime.RUNTIME.connect(
        connection_string(cluster),
        username=outputs.get("databaseUsername"),
        password=outputs.get("databasePassword"),
        authSource="admin",
    )
    return client[incident.database]


def latest_manifest(
    evidence: Any, incident: Any, ignore_broken: bool = False
) -> tuple[Any, dict[str, Any] | None, str | None]:
    """The latest attested manifest of the incident's database; with `ignore_broken`, a broken audit chain
    is reported (third item) and no manifest is used, instead of stopping the incident response."""
    from backstop.clients.mongo_manifest import Manifest
    from backstop.report.attestations import latest_records
    from backstop.report.evidence import AUDIT_COLLECTION, EvidenceError, verify_chain

    log = evidence[AUDIT_COLLECTION]
    chain = verify_chain(log)
    if chain.broken is not None:
        if ignore_broken:
            return None, None, chain.broken.line()
        raise EvidenceError(
            f"{chain.broken.line()}; not verifying against it (run `backstop audit verify`; "
            "--ignore-audit-chain verifies against production only and records that in the incident)"
        )
    recovery = incident.recovery
    records = latest_records(
        log, project_id=str(recovery["sourceProjectId"]), cluster=str(recovery["sourceCluster"])
    )
    record = records.get(incident.database)
    if record is None:
        return None, None, None
    return Manifest.from_document(record["manifest"]), record, None
