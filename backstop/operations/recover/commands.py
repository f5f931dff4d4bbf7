"""`backstop recover plan|restore|verify|cutover|record|cleanup`: the operator emergency runbook.

The edges (Atlas, Pulumi stacks, MongoDB connections, the clock) are `backstop.restore.runtime.RUNTIME`, as
for the drill and the audit, so tests swap them once for the fake Atlas, mongomock and the Pulumi SDK's
mocks. Every refusal is one line and exit 2 before anything is created or written.

Long because each runbook step is a handler and its arguments; the steps' logic lives in the modules beside
it (plan, restore, verify, cutover, record).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

from backstop.config import SRV_HOST_PATTERN
from backstop.ground.errors import EXIT_OK, EXIT_VIOLATIONS, UsageError
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
        detected_at=parse_when(args.detected_at, "--detected-at") if args.detected_at else None,
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
    print(plan.as_json() if args.format == "json" else plan.as_text())
    return EXIT_OK


# --- restore ------------------------------------------------------------------------------------------


def _cmd_restore(args: argparse.Namespace) -> int:
    from backstop.operations.recover.restore import RecoveryIO, execute_restore, open_incident
    from backstop.operations.recover.store import ensure_log_indexes
    from backstop.restore.common import RefusedTarget, duration_text

    cfg, prod = runtime.stack_configs(args)
    atlas = runtime.atlas_client()
    evidence = runtime.evidence_database(cfg)
    plan = _plan(args, cfg, prod, atlas)  # refuses a prod recovery project before anything exists
    say = runtime.progress_printer(args.quiet)
    ensure_log_indexes(evidence)
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
        outcome = execute_restore(
            plan, incident, log, io, timeout=cfg.recover.restore_timeout, poll_interval=poll
        )
    except RefusedTarget as refused:
        raise RefusedTarget(
            f"{refused}; no restore was requested (remove what was created: backstop recover cleanup "
            f"--stack {args.stack} --incident {incident.incident_id})"
        ) from None
    print(f"incident {incident.incident_id}")
    print(
        f"recovery cluster {incident.stack_name} in project {plan.target_project_name}, kept until "
        f"{incident.recovery['expiresAt']} "
        f"(remove it: backstop recover cleanup --incident {incident.incident_id})"
    )
    if outcome.error:
        print(f"backstop: restore not complete: {outcome.error}", file=sys.stderr)
        return EXIT_INTERRUPTED if outcome.interrupted else EXIT_VIOLATIONS
    met = "met" if outcome.time_to_restore is not None and outcome.time_to_restore <= plan.rto else "MISSED"
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


def _latest_manifest(evidence: Any, incident: Any) -> tuple[Any, dict[str, Any] | None]:
    from backstop.clients.mongo_manifest import Manifest
    from backstop.report.attestations import latest_records
    from backstop.report.evidence import AUDIT_COLLECTION, EvidenceError, verify_chain

    log = evidence[AUDIT_COLLECTION]
    chain = verify_chain(log)
    if chain.broken is not None:
        raise EvidenceError(f"{chain.broken.line()}; not verifying against it (run `backstop audit verify`)")
    recovery = incident.recovery
    records = latest_records(
        log, project_id=str(recovery["sourceProjectId"]), cluster=str(recovery["sourceCluster"])
    )
    record = records.get(incident.database)
    if record is None:
        return None, None
    return Manifest.from_document(record["manifest"]), record


def _cmd_verify(args: argparse.Namespace) -> int:
    from pymongo.errors import PyMongoError

    from backstop.clients.atlas import one_line
    from backstop.operations.recover.verify import collections_in_scope, diff_collection, summary_lines
    from backstop.report.evidence import ENV_SOURCE_URI, env_uri

    cfg, _ = runtime.stack_configs(args)
    evidence, incident, log = _incident(args, cfg)
    atlas = runtime.atlas_client()
    if not _restore_finished(incident, log, atlas):
        return EXIT_VIOLATIONS
    recovery_db = _recovery_database(incident, atlas)
    manifest, record = _latest_manifest(evidence, incident)
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
    log.append(
        "verified",
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
    )
    missing = sum(len(d.missing) for d in diffs)
    changed = sum(len(d.changed) for d in diffs)
    lines = [
        f"# Recovery verify `{incident.incident_id}`: `{incident.database}`"
        + (f".`{incident.collection}`" if incident.collection else ""),
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
    lines.append(
        f"A cutover would insert {missing} missing document(s) and, with --replace-changed, replace "
        f"{changed} changed one(s); nothing else in production is touched. Written to the incident record."
    )
    print("\n".join(lines))
    return EXIT_OK


# --- cutover --------------------------------------------------------------------------------------------


def _cmd_cutover(args: argparse.Namespace) -> int:
    cfg, _ = runtime.stack_configs(args)
    _, incident, log = _incident(args, cfg)
    if args.execute:
        if args.confirm is None:
            raise UsageError(f"--execute needs --confirm {incident.database} (the incident's database)")
        if args.confirm != incident.database:
            raise UsageError(
                f"--confirm {args.confirm}: the incident's database is {incident.database}; "
                "nothing was written"
            )
    if incident.loss in ("cluster", "region"):
        return _switch(args, cfg, incident, log)
    return _write_back(args, cfg, incident, log)


def _write_back(args: argparse.Namespace, cfg: Any, incident: Any, log: Any) -> int:
    from backstop.operations.recover.cutover import SnapshotIO, pre_cutover_snapshot, write_back
    from backstop.report.evidence import ENV_SOURCE_URI, env_uri

    verified = log.last("verified")
    if verified is None:
        raise UsageError(
            f"incident {incident.incident_id}: nothing verified yet: run `backstop recover verify --stack "
            f"{args.stack} --incident {incident.incident_id}` first (the cutover writes only what it lists)"
        )
    env = runtime.RUNTIME.env
    uri = (
        env_uri(ENV_CUTOVER_URI, env)
        if args.execute
        else (env.get(ENV_CUTOVER_URI) or env_uri(ENV_SOURCE_URI, env))
    )
    atlas = runtime.atlas_client()
    recovery_db = _recovery_database(incident, atlas)
    production_db = runtime.RUNTIME.connect(uri)[incident.database]
    say = runtime.progress_printer(args.quiet)
    snapshot = None
    if args.execute:
        snapshot = pre_cutover_snapshot(
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
        log.append("cutover-started", replaceChanged=args.replace_changed, snapshotId=snapshot["snapshotId"])
    try:
        results = write_back(
            verified["collections"],
            recovery_db=recovery_db,
            production_db=production_db,
            replace_changed=args.replace_changed,
            execute=args.execute,
            log=log if args.execute else None,
        )
    except KeyboardInterrupt:
        log.append("cutover-interrupted")
        print(
            "backstop: cutover interrupted; every write so far is logged: run the same command again to "
            "resume (documents already written are recognised, never written twice)",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
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
            f"| `{r.collection}` | {r.inserted} | {r.replaced} | {r.already} | {r.not_replaced} "
            f"| {len(r.conflicts)} |"
        )
    conflicts = [f"- `{r.collection}` {c}" for r in results for c in r.conflicts]
    if conflicts:
        lines += ["", "Conflicts (not written):", *conflicts]
    if not args.execute:
        lines += [
            "",
            f"To write: backstop recover cutover --stack {args.stack} --incident {incident.incident_id} "
            + ("--replace-changed " if args.replace_changed else "")
            + f"--execute --confirm {incident.database}",
        ]
    else:
        log.append(
            "cutover-completed",
            collections=[r.as_document() for r in results],
            snapshotId=snapshot and snapshot["snapshotId"],
        )
    print("\n".join(lines))
    return EXIT_VIOLATIONS if conflicts else EXIT_OK


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
        path = switch_connection_target(Path(args.project_dir), args.stack, target)
        log.append("cutover-switch", target=target, stackFile=path.name)
        lines += [f"Written to {path.name}. Apply it with:", ""]
    else:
        lines += [
            f"Dry run: run again with --execute --confirm {incident.database} to write it, then apply with:",
            "",
        ]
    print("\n".join(lines))
    print(pulumi_up_command(args.stack))
    return EXIT_OK


# --- record ---------------------------------------------------------------------------------------------


def _cmd_record(args: argparse.Namespace) -> int:
    from backstop.ground.files import write_output
    from backstop.operations.recover.plan import parse_when
    from backstop.operations.recover.record import build_record, postmortem_markdown
    from backstop.operations.recover.store import INCIDENT_REGISTRY, ensure_log_indexes
    from backstop.report.evidence import EvidenceError, append_record, verify_chain

    cfg, _ = runtime.stack_configs(args)
    notified = (
        parse_when(args.tenants_notified_at, "--tenants-notified-at") if args.tenants_notified_at else None
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
    print(text.rstrip())
    print(f"\n{INCIDENT_REGISTRY} head: #{linked['sequence']} {linked['recordHash']}")
    if args.result_json:
        write_output(
            args.result_json,
            json.dumps({k: v for k, v in linked.items() if k != "_id"}, indent=2, default=str) + "\n",
        )
    return EXIT_VIOLATIONS if record.missed else EXIT_OK


# --- cleanup --------------------------------------------------------------------------------------------


def _cmd_cleanup(args: argparse.Namespace) -> int:
    from backstop.restore.recovery_stacks import created_from_name, stack_name_for
    from backstop.restore.stacks import DrillStackInfo, destroy_stack, effective_expiry

    cfg, _ = runtime.stack_configs(args)
    if not args.dry_run:
        runtime.atlas_client()  # destroying needs the provider's credentials: fail early, with one line
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


# --- argument parsing -----------------------------------------------------------------------------------


def _loss_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--loss", choices=LOSS_CHOICES, required=True, help="what was lost")
    parser.add_argument("--database", required=True, help="the affected (tenant) database")
    parser.add_argument("--collection", help="the affected collection (required for --loss collection)")
    parser.add_argument(
        "--at", required=True, help="when the loss happened, ISO 8601 (UTC unless an offset is given)"
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
    _loss_arguments(restore)
    restore.add_argument("--poll-interval", type=float, help="seconds between restore job polls")
    restore.add_argument("--quiet", action="store_true", help="no progress on stderr")
    restore.set_defaults(handler=guarded(_cmd_restore))

    verify = steps.add_parser(
        "verify", help="step 2: compare the recovery cluster with production and the manifest"
    )
    runtime.common_arguments(verify)
    _incident_argument(verify)
    verify.set_defaults(handler=guarded(_cmd_verify))

    cutover = steps.add_parser(
        "cutover", help="step 2: write back what verify listed, or switch the connection target (dry run)"
    )
    runtime.common_arguments(cutover)
    _incident_argument(cutover)
    cutover.add_argument("--replace-changed", action="store_true", help="also replace changed documents")
    cutover.add_argument("--execute", action="store_true", help="write (default: a dry run)")
    cutover.add_argument("--confirm", help="the incident's database name, required with --execute")
    cutover.add_argument("--quiet", action="store_true", help="no progress on stderr")
    cutover.set_defaults(handler=guarded(_cmd_cutover))

    record = steps.add_parser(
        "record", help="step 3: append the incident to incident_registry; write the post-mortem skeleton"
    )
    runtime.common_arguments(record)
    _incident_argument(record)
    record.add_argument("--tenants-notified-at", help="when affected tenants were notified (ISO 8601)")
    record.add_argument("--postmortem", help="also write the Markdown post-mortem skeleton to this file")
    record.add_argument("--result-json", help="also write the registry record as JSON")
    record.set_defaults(handler=guarded(_cmd_record))

    cleanup = steps.add_parser("cleanup", help="destroy a recovery cluster (--incident) or every expired one")
    runtime.common_arguments(cleanup)
    _incident_argument(cleanup, required=False)
    cleanup.add_argument("--dry-run", action="store_true", help="list, destroy nothing")
    cleanup.add_argument("--quiet", action="store_true", help="no Pulumi output on stderr")
    cleanup.set_defaults(handler=_cmd_cleanup)
