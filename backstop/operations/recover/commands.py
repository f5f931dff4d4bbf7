"""`backstop recover plan|restore|verify|cutover|record|cleanup`: the operator emergency runbook.

The edges (Atlas, Pulumi stacks, MongoDB connections, the clock) are `backstop.restore.runtime.RUNTIME`, as
for the drill and the audit, so tests swap them once for the fake Atlas, mongomock and the Pulumi SDK's
mocks. Every refusal is one line and exit 2 before anything is created or written.
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

from backstop.config import SRV_HOST_PATTERN
from backstop.ground.errors import EXIT_OK, EXIT_VIOLATIONS, UsageError
from backstop.operations.recover.text import shown, terminal_safe
from backstop.restore import runtime

LOSS_CHOICES = ("record", "collection", "tenant", "cluster", "region")
# A user on the production cluster that may insert and replace in the affected database (cutover only).
ENV_CUTOVER_URI = "BACKSTOP_CUTOVER_MONGODB_URI"
EXIT_INTERRUPTED = 130


def _drill_results(cfg: Any) -> list[dict[str, Any]] | None:
    """Drill measurements from the evidence store, or None when no evidence store is configured."""
    from backstop.report.evidence import DRILL_RESULTS_COLLECTION, ENV_EVIDENCE_URI

    if not runtime.RUNTIME.env.get(ENV_EVIDENCE_URI):
        return None
    evidence = runtime.evidence_database(cfg)
    return list(evidence[DRILL_RESULTS_COLLECTION].find({}, {"_id": 0}))


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


def _plan(args: argparse.Namespace, cfg: Any, prod: Any, atlas: Any) -> Any:
    from backstop.operations.recover.plan import plan_recovery

    return plan_recovery(
        cfg,
        prod,
        stack=args.stack,
        request=_request(args),
        atlas=atlas,
        clock=runtime.RUNTIME.clock,
        drill_results=_drill_results(cfg),
    )


def _cmd_plan(args: argparse.Namespace) -> int:
    cfg, prod = runtime.stack_configs(args)
    plan = _plan(args, cfg, prod, runtime.atlas_client())
    print(plan.as_json() if args.format == "json" else terminal_safe(plan.as_text()))
    return EXIT_OK


# --- restore ------------------------------------------------------------------------------------------


def _resumed_request(incident: Any) -> Any:
    from backstop.operations.recover.plan import LossRequest, parse_when

    loss = incident.plan["loss"]
    return LossRequest(
        loss=str(loss["type"]),
        database=str(loss["database"]),
        collection=loss.get("collection"),
        at=parse_when(str(loss["at"]), "--at"),
        detected_at=parse_when(str(loss["detectedAt"]), "--detected-at"),
    )


def _cmd_restore(args: argparse.Namespace) -> int:
    from backstop.operations.recover.plan import plan_recovery
    from backstop.operations.recover.restore import RecoveryIO, execute_restore, open_incident
    from backstop.operations.recover.store import (
        StepLock,
        ensure_log_indexes,
        incident_for_loss,
        load_incident,
    )
    from backstop.restore.common import RefusedTarget, duration_text

    if not args.incident and not (args.loss and args.database and args.at):
        raise UsageError("recover restore needs --loss, --database and --at (or --incident to resume one)")
    cfg, prod = runtime.stack_configs(args)
    atlas = runtime.atlas_client()
    evidence = runtime.evidence_database(cfg)
    say = runtime.progress_printer(args.quiet)
    ensure_log_indexes(evidence)
    resumed: str | None = args.incident
    if resumed is None:
        plan = _plan(args, cfg, prod, atlas)  # refuses a prod recovery project before anything exists
        if not args.new:
            resumed = incident_for_loss(evidence, args.stack, plan.as_document()["loss"])
    if resumed is not None:
        incident, log = load_incident(evidence, resumed, runtime.RUNTIME.clock)
        if incident.stack != args.stack:
            raise UsageError(f"--incident {resumed}: recovers stack {incident.stack}, not {args.stack}")
        if log.last("restore-finished") is not None:
            print(f"incident {resumed}: already restored")
            print(f"next: backstop recover verify --stack {args.stack} --incident {resumed}")
            return EXIT_OK
        plan = plan_recovery(
            cfg,
            prod,
            stack=args.stack,
            request=_resumed_request(incident),
            atlas=atlas,
            clock=runtime.RUNTIME.clock,
            drill_results=_drill_results(cfg),
        )
        say(f"resuming incident {resumed} (its restore had not finished; --new opens another incident)")
    else:
        incident, log = open_incident(plan, evidence, runtime.RUNTIME.clock)
    say(
        f"incident {incident.incident_id}: {plan.request.describe()}, {plan.mode} restore of "
        f"{plan.source_cluster} into {incident.stack_name}"
    )
    io = RecoveryIO(
        atlas=atlas,
        stacks=runtime.RUNTIME.recovery_stacks(),
        clock=runtime.RUNTIME.clock,
        sleep=runtime.RUNTIME.sleep,
        progress=say,
    )
    poll = (
        timedelta(seconds=args.poll_interval) if args.poll_interval is not None else cfg.recover.poll_interval
    )
    try:
        with StepLock(
            evidence, incident.incident_id, "restore", runtime.RUNTIME.clock, force=args.break_lock
        ):
            outcome = execute_restore(
                plan, incident, log, io, timeout=cfg.recover.restore_timeout, poll_interval=poll
            )
    except RefusedTarget as refused:
        raise RefusedTarget(
            f"{refused}; no restore was requested (remove what was created: backstop recover cleanup "
            f"--stack {args.stack} --incident {incident.incident_id})"
        ) from None
    met = "met" if outcome.time_to_restore is not None and outcome.time_to_restore <= plan.rto else "MISSED"
    if args.format == "json":
        print(
            json.dumps(
                {
                    "incidentId": incident.incident_id,
                    "recoveryCluster": {
                        "name": incident.stack_name,
                        "projectId": plan.target_project_id,
                        "keptUntil": incident.recovery["expiresAt"],
                    },
                    "restoredTo": None if outcome.error else incident.plan["restorePoint"]["at"],
                    "timeToRestoreSeconds": outcome.time_to_restore.total_seconds()
                    if outcome.time_to_restore
                    else None,
                    "rtoSeconds": plan.rto.total_seconds(),
                    "rtoMet": None if outcome.error else met == "met",
                    "error": outcome.error,
                    "next": (
                        f"backstop recover restore --stack {args.stack} --incident {incident.incident_id}"
                        if outcome.error
                        else f"backstop recover verify --stack {args.stack} --incident {incident.incident_id}"
                    ),
                },
                indent=2,
            )
        )
        if outcome.error:
            print(f"backstop: restore not complete: {outcome.error}", file=sys.stderr)
            return EXIT_INTERRUPTED if outcome.interrupted else EXIT_VIOLATIONS
        return EXIT_OK
    print(f"incident {incident.incident_id}")
    print(
        f"recovery cluster {incident.stack_name} in project {plan.target_project_name}, kept until "
        f"{incident.recovery['expiresAt']} "
        f"(remove it: backstop recover cleanup --incident {incident.incident_id})"
    )
    if outcome.error:
        print(f"backstop: restore not complete: {outcome.error}", file=sys.stderr)
        print(
            f"resume: backstop recover restore --stack {args.stack} --incident {incident.incident_id}",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED if outcome.interrupted else EXIT_VIOLATIONS
    print(
        f"restored to {incident.plan['restorePoint']['at']} in {duration_text(outcome.time_to_restore)} "
        f"(RTO target {duration_text(plan.rto)}: {met})"
    )
    print(f"next: backstop recover verify --stack {args.stack} --incident {incident.incident_id}")
    return EXIT_OK


# --- verify ---------------------------------------------------------------------------------------------


def _incident(args: argparse.Namespace, cfg: Any) -> tuple[Any, Any, Any]:
    from backstop.operations.recover.store import load_incident

    evidence = runtime.evidence_database(cfg)
    incident, log = load_incident(evidence, args.incident, runtime.RUNTIME.clock)
    if incident.stack != args.stack:
        raise UsageError(f"--incident {args.incident}: recovers stack {incident.stack}, not {args.stack}")
    return evidence, incident, log


def _restore_finished(incident: Any, log: Any, atlas: Any) -> bool:
    """True once the restore job finished (recorded now if it finished after `recover restore` stopped)."""
    from backstop.clients.atlas import parse_time, restore_job_state

    if log.last("restore-finished") is not None:
        return True
    requested = log.last("restore-requested")
    if requested is None:
        raise UsageError(
            f"incident {incident.incident_id}: no restore job was created (see its recovery_log)"
        )
    recovery = incident.recovery
    job = atlas.restore_job(
        str(recovery["sourceProjectId"]), str(recovery["sourceCluster"]), requested["jobId"]
    )
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


def _recovery_database(incident: Any, atlas: Any) -> Any:
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


def _latest_manifest(
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


def _cmd_verify(args: argparse.Namespace) -> int:
    from backstop.operations.recover.store import StepLock

    cfg, _ = runtime.stack_configs(args)
    evidence, incident, log = _incident(args, cfg)
    with StepLock(evidence, incident.incident_id, "verify", runtime.RUNTIME.clock, force=args.break_lock):
        return _verify(args, cfg, evidence, incident, log)


def _verify(args: argparse.Namespace, cfg: Any, evidence: Any, incident: Any, log: Any) -> int:
    from pymongo.errors import PyMongoError

    from backstop.clients.atlas import one_line
    from backstop.operations.recover.verify import (
        collections_in_scope,
        diff_collection,
        summary_lines,
        verdict_problems,
    )
    from backstop.report.evidence import ENV_SOURCE_URI, env_uri

    atlas = runtime.atlas_client()
    if not _restore_finished(incident, log, atlas):
        return EXIT_VIOLATIONS
    recovery_db = _recovery_database(incident, atlas)
    manifest, record, broken_chain = _latest_manifest(evidence, incident, args.ignore_audit_chain)
    if broken_chain is not None:
        print(
            f"backstop: WARNING: {broken_chain}: the audit log was changed; verifying against production "
            "only, without a manifest (--ignore-audit-chain, recorded in the incident)",
            file=sys.stderr,
        )
    production_db: Any = runtime.RUNTIME.connect(env_uri(ENV_SOURCE_URI, runtime.RUNTIME.env))[
        incident.database
    ]
    production_note = None
    names = collections_in_scope(recovery_db, incident.collection, manifest)
    try:
        diffs = [diff_collection(recovery_db, production_db, name, manifest) for name in names]
    except PyMongoError as exc:
        if incident.loss not in ("cluster", "region"):
            raise
        production_note = f"production unreachable ({one_line(exc)}): compared with the manifest only"
        diffs = [diff_collection(recovery_db, None, name, manifest) for name in names]
    problems = verdict_problems(diffs, incident.database)
    accepted = args.accept_mismatch if problems else None
    log.append(
        "verified",
        verdict={"passed": not problems or accepted is not None, "problems": problems, "accepted": accepted},
        database=incident.database,
        collections=[d.as_document() for d in diffs],
        manifest=None
        if record is None
        else {
            "auditSequence": record["sequence"],
            "recordHash": record["recordHash"],
            "restorePoint": manifest.as_document()["capturedAt"] if manifest else None,
        },
        production=production_note or "compared",
        auditChain=None if broken_chain is None else {"ignored": True, "broken": broken_chain},
    )
    missing = sum(len(d.missing) for d in diffs)
    changed = sum(len(d.changed) for d in diffs)
    lines = [
        f"# Recovery verify `{incident.incident_id}`: `{shown(incident.database)}`"
        + (f".`{shown(incident.collection)}`" if incident.collection else ""),
        "",
        f"Recovery cluster `{incident.stack_name}` (restored to {incident.plan['restorePoint']['at']}) "
        "against production now and "
        + (
            f"the manifest of `backup_audit_log` #{record['sequence']}"
            if record
            else "no manifest (none attested)"
        )
        + ".",
        "",
        *summary_lines(diffs),
        "",
    ]
    if production_note:
        lines += [production_note, ""]
    if not problems:
        lines += ["Verdict: PASSED (counts and the manifest sample agree with the attested manifest).", ""]
    else:
        lines += [
            "Verdict: " + ("MISMATCH ACCEPTED" if accepted else "FAILED") + " (the recovery copy does not "
            "match what was attested):",
            *[f"- {p}" for p in problems],
            "",
        ]
        if accepted:
            lines += [f"Accepted by the operator: {accepted}", ""]
        else:
            lines += [
                "A cutover is refused until a verify passes (or the mismatch is explained with "
                "--accept-mismatch REASON, which the incident records).",
                "",
            ]
    lines.append(
        f"A cutover would insert {missing} missing document(s) and, with --replace-changed, replace "
        f"{changed} changed one(s); nothing else in production is touched. Written to the incident record."
    )
    if args.format == "json":
        print(
            json.dumps(
                {
                    "incidentId": incident.incident_id,
                    "verdict": {
                        "passed": not problems or accepted is not None,
                        "problems": problems,
                        "accepted": accepted,
                    },
                    "collections": [
                        {
                            **{k: v for k, v in d.as_document().items() if not k.endswith("InProduction")},
                            "missingInProduction": len(d.missing),
                            "changedInProduction": len(d.changed),
                        }
                        for d in diffs
                    ],
                    "production": production_note or "compared",
                    "auditChain": None if broken_chain is None else {"ignored": True, "broken": broken_chain},
                },
                indent=2,
            )
        )
    else:
        print(terminal_safe("\n".join(lines)))
    return EXIT_VIOLATIONS if problems and not accepted else EXIT_OK


# --- cutover --------------------------------------------------------------------------------------------


def _cmd_cutover(args: argparse.Namespace) -> int:
    from backstop.operations.recover.store import StepLock

    cfg, _ = runtime.stack_configs(args)
    evidence, incident, log = _incident(args, cfg)
    if args.execute:
        if args.confirm is None:
            raise UsageError(f"--execute needs --confirm {incident.database} (the incident's database)")
        if args.confirm != incident.database:
            raise UsageError(
                f"--confirm {args.confirm}: the incident's database is {incident.database}; "
                "nothing was written"
            )
    if not args.execute:
        return _cutover(args, cfg, incident, log)
    with StepLock(evidence, incident.incident_id, "cutover", runtime.RUNTIME.clock, force=args.break_lock):
        return _cutover(args, cfg, incident, log)


def _cutover(args: argparse.Namespace, cfg: Any, incident: Any, log: Any) -> int:
    verified = _passing_verify(args, incident, log)
    if incident.loss in ("cluster", "region"):
        return _switch(args, cfg, incident, log)
    return _write_back(args, cfg, incident, log, verified)


def _passing_verify(args: argparse.Namespace, incident: Any, log: Any) -> dict[str, Any]:
    """The incident's last verification, refused unless it passed (or its mismatch was accepted)."""
    verified: dict[str, Any] | None = log.last("verified")
    command = f"backstop recover verify --stack {args.stack} --incident {incident.incident_id}"
    if verified is None:
        raise UsageError(
            f"incident {incident.incident_id}: nothing verified yet: run `{command}` first (the cutover "
            "writes only what it lists); nothing was written"
        )
    verdict = verified.get("verdict") or {}
    if verdict.get("passed") is not True:
        problems = verdict.get("problems") or ["no verdict recorded"]
        raise UsageError(
            f"incident {incident.incident_id}: the last verify did not pass ({problems[0]}"
            + (f"; and {len(problems) - 1} more" if len(problems) > 1 else "")
            + f"): nothing was written; run `{command}` again once the recovery copy is right"
        )
    return verified


def _selected(
    args: argparse.Namespace, incident: Any, verified: dict[str, Any], recovery_db: Any
) -> tuple[list[dict[str, Any]], int]:
    """The verified collections in the incident's scope, narrowed to `--id` / `--filter`; and how many
    listed documents were left out. A record loss with more than one missing document needs a selection:
    the others may have been deleted by the application after the loss."""
    from backstop.operations.recover.guards import Selection, in_scope

    collections = in_scope(list(verified["collections"]), incident.collection)
    selection = Selection.from_args(args.id, args.filter)
    if selection is None:
        missing = sum(len(c["missingInProduction"]) for c in collections)
        if incident.loss == "record" and missing > 1 and args.execute:
            raise UsageError(
                f"incident {incident.incident_id}: verify lists {missing} documents missing for a "
                "single-record loss: name the lost one(s) with --id or --filter (the others may have been "
                "deleted by the application since); nothing was written"
            )
        return collections, 0
    chosen: list[dict[str, Any]] = []
    left = 0
    for collection in collections:
        source = recovery_db[collection["collection"]]
        lost = selection.pick(source, collection["missingInProduction"])
        changed = selection.pick(source, collection["changedInProduction"])
        left += len(collection["missingInProduction"]) - len(lost)
        left += len(collection["changedInProduction"]) - len(changed)
        chosen.append(dict(collection, missingInProduction=lost, changedInProduction=changed))
    return chosen, left


def _snapshot_or_interrupted(incident: Any, log: Any, io: Any) -> dict[str, Any] | None:
    """The pre-cutover snapshot; Ctrl-C while waiting for it is one line (nothing was written), not a
    traceback."""
    from backstop.operations.recover.cutover import pre_cutover_snapshot

    try:
        return pre_cutover_snapshot(incident, log, io)
    except KeyboardInterrupt:
        requested = log.last("cutover-snapshot-requested")
        log.append("cutover-interrupted", beforeAnyWrite=True)
        what = f"snapshot {requested['snapshotId']}" if requested else "the snapshot request"
        print(
            f"backstop: cutover interrupted while waiting for the pre-cutover {what}; nothing was written: "
            "run the same command again to keep waiting",
            file=sys.stderr,
        )
        return None


def _write_back(args: argparse.Namespace, cfg: Any, incident: Any, log: Any, verified: dict[str, Any]) -> int:
    from backstop.operations.recover.cutover import SnapshotIO, restore_indexes, write_back
    from backstop.operations.recover.guards import check_cutover_uri
    from backstop.report.evidence import ENV_SOURCE_URI, env_uri

    env = runtime.RUNTIME.env
    uri = (
        env_uri(ENV_CUTOVER_URI, env)
        if args.execute
        else (env.get(ENV_CUTOVER_URI) or env_uri(ENV_SOURCE_URI, env))
    )
    atlas = runtime.atlas_client()
    if args.execute:
        source = atlas.cluster(
            str(incident.recovery["sourceProjectId"]), str(incident.recovery["sourceCluster"])
        )
        check_cutover_uri(uri, ENV_CUTOVER_URI, source)
    recovery_db = _recovery_database(incident, atlas)
    collections, left_out = _selected(args, incident, verified, recovery_db)
    production_db = runtime.RUNTIME.connect(uri)[incident.database]
    say = runtime.progress_printer(args.quiet)
    snapshot = None
    if args.execute:
        snapshot = _snapshot_or_interrupted(
            incident,
            log,
            SnapshotIO(
                atlas=atlas,
                clock=runtime.RUNTIME.clock,
                sleep=runtime.RUNTIME.sleep,
                progress=say,
                poll_interval=cfg.recover.poll_interval,
                timeout=cfg.recover.snapshot_timeout,
                retention_days=cfg.recover.snapshot_retention_days,
            ),
        )
        if snapshot is None:
            return EXIT_INTERRUPTED
        log.append("cutover-started", replaceChanged=args.replace_changed, snapshotId=snapshot["snapshotId"])
    try:
        results = write_back(
            collections,
            recovery_db=recovery_db,
            production_db=production_db,
            replace_changed=args.replace_changed,
            execute=args.execute,
            log=log if args.execute else None,
            progress=say,
            clock=runtime.RUNTIME.clock,
        )
    except KeyboardInterrupt:
        log.append("cutover-interrupted")
        print(
            "backstop: cutover interrupted; every write so far is logged: run the same command again to "
            "resume (documents already written are recognised, never written twice)",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    indexes, index_failures = restore_indexes(
        [str(c["collection"]) for c in collections],
        recovery_db=recovery_db,
        production_db=production_db,
        execute=args.execute,
        log=log if args.execute else None,
    )
    verb = "" if args.execute else "would be "
    lines = [
        f"# Recovery cutover `{incident.incident_id}`: "
        + ("EXECUTED" if args.execute else "DRY RUN (nothing written)"),
        "",
    ]
    if snapshot is not None:
        lines += [
            f"Production snapshot before any write: `{snapshot['snapshotId']}` "
            f"({snapshot.get('createdAt')}).",
            "",
        ]
    lines += [
        f"| collection | {verb}inserted | {verb}replaced | already in place | changed, left alone "
        "| conflicts |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| `{shown(r.collection)}` | {r.inserted} | {r.replaced} | {r.already} | {r.not_replaced} "
            f"| {len(r.conflicts)} |"
        )
    conflicts = [f"- `{shown(r.collection)}` {c}" for r in results for c in r.conflicts]
    if conflicts:
        lines += ["", "Conflicts (not written):", *conflicts]
    if left_out:
        lines += ["", f"{left_out} listed document(s) not selected by --id/--filter: left alone."]
    if indexes:
        lines += ["", f"Indexes production lacks, {'created' if args.execute else 'to create'}:"]
        lines += [f"- {shown(text)}" for text in indexes]
    if index_failures:
        lines += ["", "Indexes NOT created:", *[f"- {shown(text)}" for text in index_failures]]
    if not args.execute:
        selection = [f"--id {shlex.quote(i)}" for i in args.id or []]
        if args.filter:
            selection.append(f"--filter {shlex.quote(args.filter)}")
        lines += [
            "",
            f"To write: backstop recover cutover --stack {args.stack} --incident {incident.incident_id} "
            + ("--replace-changed " if args.replace_changed else "")
            + "".join(f"{part} " for part in selection)
            + f"--execute --confirm {incident.database}",
        ]
    else:
        log.append(
            "cutover-completed",
            collections=[r.as_document() for r in results],
            snapshotId=snapshot and snapshot["snapshotId"],
        )
    if args.format == "json":
        print(
            json.dumps(
                {
                    "incidentId": incident.incident_id,
                    "executed": bool(args.execute),
                    "snapshotId": snapshot["snapshotId"] if snapshot else None,
                    "collections": [r.as_document() for r in results],
                    "notSelected": left_out,
                    "indexes": indexes,
                    "indexFailures": index_failures,
                },
                indent=2,
                default=str,
            )
        )
    else:
        print(terminal_safe("\n".join(lines)))
    return EXIT_VIOLATIONS if conflicts or index_failures else EXIT_OK


def _switch(args: argparse.Namespace, cfg: Any, incident: Any, log: Any) -> int:
    from backstop.operations.recover.cutover import (
        config_set_commands,
        pulumi_up_command,
        switch_connection_target,
    )

    if log.last("restore-finished") is None and not _restore_finished(incident, log, runtime.atlas_client()):
        raise UsageError(f"incident {incident.incident_id}: the restore has not finished; nothing switched")
    recovery = incident.recovery
    target = {
        "projectId": str(recovery["projectId"]),
        "clusterName": str(recovery["clusterName"]),
        "incidentId": incident.incident_id,
    }
    # Where the apps connect (their BACKSTOP_DATABASE_SRV setting): the recovered cluster's SRV host.
    strings = (
        runtime.atlas_client().cluster(target["projectId"], target["clusterName"]).get("connectionStrings")
        or {}
    )
    srv = strings.get("standardSrv")
    if isinstance(srv, str) and re.match(SRV_HOST_PATTERN, srv):
        target["standardSrv"] = srv
    current = cfg.recover.connection_target
    was = (
        f"{current.cluster_name} in {current.project_id}"
        if current
        else f"{incident.recovery['sourceCluster']} (the stack's own cluster)"
    )
    lines = [
        f"# Recovery cutover `{incident.incident_id}`: cluster swap "
        + ("EXECUTED" if args.execute else "DRY RUN (nothing written)"),
        "",
        f"The application's connection target (stack output `applicationDatabase`) moves from {was} to "
        f"{target['clusterName']} in project {target['projectId']}: `backstop:recover.connectionTarget` in "
        f"Pulumi.{args.stack}.yaml, the same as:",
        "",
        *config_set_commands(args.stack, target),
        "",
    ]
    if args.execute:
        _protect(incident, log, runtime.progress_printer(args.quiet))
        path = switch_connection_target(Path(args.project_dir), args.stack, target)
        log.append("cutover-switch", target=target, stackFile=path.name)
        lines += [
            f"Termination protection is on for {target['clusterName']} (it now carries production).",
            f"Written to {path.name}. Apply it with:",
            "",
        ]
    else:
        lines += [
            f"Dry run: run again with --execute --confirm {incident.database} to write it, then apply with:",
            "",
        ]
    if args.format == "json":
        print(
            json.dumps(
                {
                    "incidentId": incident.incident_id,
                    "executed": bool(args.execute),
                    "connectionTarget": target,
                    "configSet": config_set_commands(args.stack, target),
                    "apply": pulumi_up_command(args.stack),
                },
                indent=2,
            )
        )
        return EXIT_OK
    print(terminal_safe("\n".join(lines)))
    print(pulumi_up_command(args.stack))
    return EXIT_OK


def _protect(incident: Any, log: Any, say: Any) -> None:
    """Termination protection on for the recovery cluster before it carries production: the same
    recovery stack, updated with the reader it already has, so Atlas refuses to delete the cluster."""
    from backstop.operations.recover.restore import recovery_spec
    from backstop.program.ephemeral import drill_program
    from backstop.restore.stacks import STACK_EXPIRY_TAG

    if log.last("termination-protection-enabled") is not None:
        return
    stacks = runtime.RUNTIME.recovery_stacks()
    password = stacks.outputs(incident.stack_name).get("databasePassword")
    spec = recovery_spec(incident, str(password or ""), termination_protection=True)
    say(f"turning on termination protection for {incident.stack_name}")
    stacks.up(
        incident.stack_name,
        drill_program(spec),
        say,
        {STACK_EXPIRY_TAG: str(incident.recovery["expiresAt"])},
    )
    cluster = runtime.atlas_client().cluster(
        str(incident.recovery["projectId"]), str(incident.recovery["clusterName"])
    )
    if cluster.get("terminationProtectionEnabled") is not True:
        raise UsageError(
            f"{incident.stack_name}: Atlas does not report termination protection after the update; "
            "the connection target was not switched"
        )
    log.append("termination-protection-enabled", cluster=incident.stack_name)


# --- record ---------------------------------------------------------------------------------------------


def _cmd_record(args: argparse.Namespace) -> int:
    from backstop.ground.files import write_output
    from backstop.operations.recover.plan import parse_when
    from backstop.operations.recover.record import build_record, postmortem_markdown
    from backstop.operations.recover.store import INCIDENT_REGISTRY, ensure_log_indexes
    from backstop.report.evidence import EvidenceError, append_record, verify_chain

    cfg, _ = runtime.stack_configs(args)
    notified = (
        parse_when(args.tenants_notified_at, "--tenants-notified-at", now=runtime.RUNTIME.clock())
        if args.tenants_notified_at
        else None
    )
    evidence, incident, log = _incident(args, cfg)
    registry = evidence[INCIDENT_REGISTRY]
    chain = verify_chain(registry, name=INCIDENT_REGISTRY, label="incidentId")
    if chain.broken is not None:
        raise EvidenceError(f"{chain.broken.line()}; not appending (the registry was changed)")
    ensure_log_indexes(evidence)
    previous = next(
        iter(registry.find({"incidentId": incident.incident_id}, {"_id": 0}).sort("sequence", -1).limit(1)),
        None,
    )
    record = build_record(
        incident, log, now=runtime.RUNTIME.clock(), tenants_notified_at=notified, previous=previous
    )
    linked = append_record(registry, record.document, previous=chain)
    text = postmortem_markdown(linked, log.events())
    write_output(args.postmortem, text)
    if args.format == "json":
        print(json.dumps({k: v for k, v in linked.items() if k != "_id"}, indent=2, default=str))
    else:
        print(terminal_safe(text.rstrip()))
        print(f"\n{INCIDENT_REGISTRY} head: #{linked['sequence']} {linked['recordHash']}")
    if args.result_json:
        write_output(
            args.result_json,
            json.dumps({k: v for k, v in linked.items() if k != "_id"}, indent=2, default=str) + "\n",
        )
    return EXIT_VIOLATIONS if record.missed else EXIT_OK


# --- cleanup --------------------------------------------------------------------------------------------


def _deployed(args: argparse.Namespace) -> tuple[dict[str, Any] | None, str | None]:
    """The application stack's deployed outputs, or why they could not be read."""
    from backstop.clients.atlas import one_line
    from backstop.ground.files import project_dir

    try:
        return dict(runtime.RUNTIME.deployed_outputs(str(project_dir(args.project_dir)), args.stack)), None
    except Exception as exc:
        return None, one_line(exc)


def _cmd_cleanup(args: argparse.Namespace) -> int:
    from backstop.operations.recover.guards import serving_reasons
    from backstop.restore.recovery_stacks import created_from_name, stack_name_for
    from backstop.restore.stacks import DrillStackInfo, destroy_stack, effective_expiry

    cfg, _ = runtime.stack_configs(args)
    if not args.dry_run:
        runtime.atlas_client()  # destroying needs the provider's credentials: fail early, with one line
    # What says a recovery cluster serves production: the incidents' trails and the deployed stack.
    evidence = runtime.evidence_database(cfg)
    deployed, deployed_error = _deployed(args)
    stacks = runtime.RUNTIME.recovery_stacks()
    now = runtime.RUNTIME.clock()
    ttl = timedelta(hours=cfg.recover.ttl_hours)
    live = cfg.recover.connection_target
    say = runtime.progress_printer(args.quiet)
    infos: list[DrillStackInfo] = sorted(stacks.list(), key=lambda i: i.name)
    if args.incident:
        wanted = stack_name_for(args.incident)
        chosen = [i for i in infos if i.name.rsplit("/", 1)[-1] == wanted]
        if not chosen:
            raise UsageError(f"--incident {args.incident}: no recovery stack {wanted}")
    else:
        chosen = []
        for info in infos:
            expiry = effective_expiry(info, ttl, created_from_name)
            if expiry is None or expiry > now:
                print(
                    f"keep   {info.name}: "
                    + (f"expires {expiry.isoformat()}" if expiry else "no expiry; not touched")
                )
                continue
            chosen.append(info)
    failures = removed = 0
    for info in chosen:
        name = info.name.rsplit("/", 1)[-1]
        if live is not None and live.cluster_name == name:
            print(
                f"keep   {info.name}: it is the application's connection target in Pulumi.{args.stack}.yaml "
                "(backstop:recover.connectionTarget); switch back first",
            )
            failures += 1
            continue
        reasons = serving_reasons(name, evidence, deployed, args.stack)
        if deployed_error is not None:
            reasons.append(f"the deployed stack {args.stack}'s outputs could not be read ({deployed_error})")
        if reasons:
            print(f"keep   {info.name}: may serve production: {'; '.join(reasons)}")
            failures += 1
            continue
        if args.dry_run:
            print(f"would destroy {info.name}")
            removed += 1
            continue
        if destroy_stack(stacks, info, say):
            removed += 1
            print(f"destroyed {info.name}")
        else:
            failures += 1
    verb = "would destroy" if args.dry_run else "destroyed"
    print(f"{'FAILED' if failures else 'PASSED'}: {verb} {removed} recovery stack(s)")
    return EXIT_VIOLATIONS if failures else EXIT_OK


# --- verify-registry ------------------------------------------------------------------------------------


def _cmd_verify_registry(args: argparse.Namespace) -> int:
    """`incident_registry`'s chain, as `audit verify` checks `backup_audit_log`'s (with `--head`)."""
    from backstop.operations.recover.store import INCIDENT_REGISTRY
    from backstop.report.evidence import verify_chain

    cfg, _ = runtime.stack_configs(args)
    evidence = runtime.evidence_database(cfg)
    status = verify_chain(
        evidence[INCIDENT_REGISTRY], expected_head=args.head, name=INCIDENT_REGISTRY, label="incidentId"
    )
    if status.broken is not None:
        print(f"backstop: TAMPERED: {terminal_safe(status.broken.line())}", file=sys.stderr)
        print(f"FAILED: {INCIDENT_REGISTRY} chain broken at record #{status.broken.sequence}")
        return EXIT_VIOLATIONS
    print(
        f"PASSED: {INCIDENT_REGISTRY} chain intact, {status.records} record(s), head "
        f"#{status.head_sequence} {status.head_hash}"
    )
    return EXIT_OK


# --- status ---------------------------------------------------------------------------------------------


def _cmd_status(args: argparse.Namespace) -> int:
    from backstop.operations.recover.guards import serving_reasons
    from backstop.operations.recover.status import as_json, as_text, gather

    cfg, _ = runtime.stack_configs(args)
    evidence = runtime.evidence_database(cfg)
    deployed, deployed_error = _deployed(args)
    stacks = [info.name.rsplit("/", 1)[-1] for info in runtime.RUNTIME.recovery_stacks().list()]
    live = cfg.recover.connection_target

    def serving(name: str) -> list[str]:
        reasons = serving_reasons(name, evidence, deployed, args.stack)
        if live is not None and live.cluster_name == name:
            reasons.insert(0, f"the connection target in Pulumi.{args.stack}.yaml")
        if deployed_error is not None:
            reasons.append(f"unknown: the deployed stack's outputs could not be read ({deployed_error})")
        return reasons

    status = gather(evidence, now=runtime.RUNTIME.clock(), stacks=stacks, serving=serving, only=args.incident)
    if args.incident and not status["incidents"]:
        raise UsageError(f"--incident {args.incident}: no such incident in recovery_log")
    print(as_json(status) if args.format == "json" else terminal_safe(as_text(status)).rstrip())
    return EXIT_OK


# --- argument parsing -----------------------------------------------------------------------------------


def _loss_arguments(parser: argparse.ArgumentParser, required: bool = True) -> None:
    parser.add_argument("--loss", choices=LOSS_CHOICES, required=required, help="what was lost")
    parser.add_argument("--database", required=required, help="the affected (tenant) database")
    parser.add_argument("--collection", help="the affected collection (required for --loss collection)")
    parser.add_argument(
        "--at", required=required, help="when the loss happened, ISO 8601 with Z or an offset"
    )
    parser.add_argument("--detected-at", help="when the loss was detected (default: now)")


def _incident_argument(parser: argparse.ArgumentParser, required: bool = True) -> None:
    parser.add_argument("--incident", required=required, help="the incident id `recover restore` printed")


def register(subparsers: Any) -> None:
    """Add `recover` and its steps to the `backstop` command."""
    recover = subparsers.add_parser(
        "recover", help="the operator emergency runbook: plan, restore, verify, cut over, record"
    )
    steps = recover.add_subparsers(dest="recover_command", required=True)
    guarded = runtime.one_line_mongo_errors

    plan = steps.add_parser("plan", help="step 1: what the runbook prescribes for this loss; creates nothing")
    runtime.common_arguments(plan)
    _loss_arguments(plan)
    plan.add_argument("--format", choices=["text", "json"], default="text")
    plan.set_defaults(handler=guarded(_cmd_plan))

    restore = steps.add_parser(
        "restore", help="step 2: restore into a recovery cluster (never production); it is kept"
    )
    runtime.common_arguments(restore)
    _loss_arguments(restore, required=False)
    _incident_argument(restore, required=False)
    restore.add_argument(
        "--new", action="store_true", help="open a new incident even if one for this loss is unfinished"
    )
    restore.add_argument("--poll-interval", type=float, help="seconds between restore job polls")
    restore.add_argument("--quiet", action="store_true", help="no progress on stderr")
    restore.add_argument(
        "--break-lock", action="store_true", help="take over the lock a killed run of this step left"
    )
    restore.add_argument("--format", choices=["text", "json"], default="text")
    restore.set_defaults(handler=guarded(_cmd_restore))

    verify = steps.add_parser(
        "verify", help="step 2: compare the recovery cluster with production and the manifest"
    )
    runtime.common_arguments(verify)
    _incident_argument(verify)
    verify.add_argument(
        "--ignore-audit-chain",
        action="store_true",
        help="go on when backup_audit_log's chain is broken (no manifest used; recorded in the incident)",
    )
    verify.add_argument(
        "--accept-mismatch",
        metavar="REASON",
        help="let a cutover go on despite a mismatch with the manifest; the reason is recorded",
    )
    verify.add_argument(
        "--break-lock", action="store_true", help="take over the lock a killed run of this step left"
    )
    verify.add_argument("--format", choices=["text", "json"], default="text")
    verify.set_defaults(handler=guarded(_cmd_verify))

    cutover = steps.add_parser(
        "cutover", help="step 2: write back what verify listed, or switch the connection target (dry run)"
    )
    runtime.common_arguments(cutover)
    _incident_argument(cutover)
    cutover.add_argument("--replace-changed", action="store_true", help="also replace changed documents")
    cutover.add_argument(
        "--id",
        action="append",
        help="write back only this document (its _id as verify prints it; repeatable)",
    )
    cutover.add_argument(
        "--filter", help="write back only listed documents matching this Extended JSON query (recovery copy)"
    )
    cutover.add_argument("--execute", action="store_true", help="write (default: a dry run)")
    cutover.add_argument("--confirm", help="the incident's database name, required with --execute")
    cutover.add_argument("--quiet", action="store_true", help="no progress on stderr")
    cutover.add_argument(
        "--break-lock", action="store_true", help="take over the lock a killed run of this step left"
    )
    cutover.add_argument("--format", choices=["text", "json"], default="text")
    cutover.set_defaults(handler=guarded(_cmd_cutover))

    record = steps.add_parser(
        "record", help="step 3: append the incident to incident_registry; write the post-mortem skeleton"
    )
    runtime.common_arguments(record)
    _incident_argument(record)
    record.add_argument("--tenants-notified-at", help="when affected tenants were notified (ISO 8601)")
    record.add_argument("--postmortem", help="also write the Markdown post-mortem skeleton to this file")
    record.add_argument("--result-json", help="also write the registry record as JSON")
    record.add_argument("--format", choices=["text", "json"], default="text")
    record.set_defaults(handler=guarded(_cmd_record))

    registry = steps.add_parser(
        "verify-registry", help="check incident_registry's hash chain (and a published head)"
    )
    runtime.common_arguments(registry)
    registry.add_argument("--head", help="a head hash published earlier: it must still be in the chain")
    registry.set_defaults(handler=guarded(_cmd_verify_registry))

    status = steps.add_parser(
        "status", help="every incident: steps done, next command, deadlines, recovery clusters"
    )
    runtime.common_arguments(status)
    _incident_argument(status, required=False)
    status.add_argument("--format", choices=["text", "json"], default="text")
    status.set_defaults(handler=guarded(_cmd_status))

    cleanup = steps.add_parser("cleanup", help="destroy a recovery cluster (--incident) or every expired one")
    runtime.common_arguments(cleanup)
    _incident_argument(cleanup, required=False)
    cleanup.add_argument("--dry-run", action="store_true", help="list, destroy nothing")
    cleanup.add_argument("--quiet", action="store_true", help="no Pulumi output on stderr")
    cleanup.set_defaults(handler=_cmd_cleanup)
