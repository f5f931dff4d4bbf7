"""`backstop recover cutover`: write back what verify listed as lost, or switch the connection target."""

from __future__ import annotations

import argparse
import logging
import re
import shlex
import sys
from pathlib import Path
from typing import Any

from backstop.config import SRV_HOST_PATTERN
from backstop.ground.envelope import json_document
from backstop.ground.errors import EXIT_OK, EXIT_VIOLATIONS, UsageError
from backstop.ground.logs import progress
from backstop.operations.recover.steps import (
    ENV_CUTOVER_URI,
    EXIT_INTERRUPTED,
    incident_of,
    recovery_database,
    restore_finished,
)
from backstop.operations.recover.text import shown, terminal_safe
from backstop.restore import runtime

logger = logging.getLogger(__name__)


def cmd_cutover(args: argparse.Namespace) -> int:
    from backstop.operations.recover.store import StepLock

    cfg, _ = runtime.stack_configs(args)
    evidence, incident, log = incident_of(args, cfg)
    if args.execute:
        if args.confirm is None:
            raise UsageError(f"--execute needs --confirm {incident.database} (the incident's database)")
        if args.confirm != incident.database:
            raise UsageError(
                f"--confirm {args.confirm}: the incident's database is {incident.database}; "
                "nothing was written"
            )
    if not args.execute:
        return _cutover(args, cfg, evidence, incident, log)
    with StepLock(evidence, incident.incident_id, "cutover", runtime.RUNTIME.clock, force=args.break_lock):
        return _cutover(args, cfg, evidence, incident, log)


def _cutover(args: argparse.Namespace, cfg: Any, evidence: Any, incident: Any, log: Any) -> int:
    from backstop.operations.recover.diffs import with_lists

    verified = _passing_verify(args, incident, log)
    if incident.loss in ("cluster", "region"):
        return _switch(args, cfg, incident, log)
    # The lists verify kept in `recovery_diffs`, refused if a chunk was changed since.
    verified = dict(verified, collections=with_lists(evidence, incident.incident_id, verified))
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


def _execute_command(args: argparse.Namespace, incident: Any) -> str:
    """The cutover command that writes, with this run's selection: what resumes it."""
    selection = [f"--id {shlex.quote(i)}" for i in args.id or []]
    if args.filter:
        selection.append(f"--filter {shlex.quote(args.filter)}")
    return (
        f"backstop recover cutover --stack {args.stack} --incident {incident.incident_id} "
        + ("--replace-changed " if args.replace_changed else "")
        + "".join(f"{part} " for part in selection)
        + f"--execute --confirm {incident.database}"
    )


def _snapshot_or_interrupted(command: str, incident: Any, log: Any, io: Any) -> dict[str, Any] | None:
    """The pre-cutover snapshot; Ctrl-C while waiting for it is one line (nothing was written), not a
    traceback; Atlas failing past its retry budget says the snapshot goes on and how to pick it up."""
    from backstop.operations.recover.cutover import SnapshotStillRunning, pre_cutover_snapshot

    try:
        return pre_cutover_snapshot(incident, log, io)
    except SnapshotStillRunning as exc:
        raise SnapshotStillRunning(f"{exc}: pick it up with `{command}`") from None
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
    from backstop.operations.recover.validators import restore_collection_options
    from backstop.report.evidence import ENV_SOURCE_URI, env_uri

    env = runtime.RUNTIME.env
    uri = (
        env_uri(ENV_CUTOVER_URI, env)
        if args.execute
        else (env.get(ENV_CUTOVER_URI) or env_uri(ENV_SOURCE_URI, env))
    )
    say = progress(logger, step="cutover", stack=args.stack, incident=incident.incident_id)
    atlas = runtime.atlas_client(say)  # reports each 429/503 wait, as the drill does
    if args.execute:
        source = atlas.cluster(
            str(incident.recovery["sourceProjectId"]), str(incident.recovery["sourceCluster"])
        )
        check_cutover_uri(uri, ENV_CUTOVER_URI, source)
    recovery_db = recovery_database(incident, atlas)
    collections, left_out = _selected(args, incident, verified, recovery_db)
    production_db = runtime.RUNTIME.connect(uri)[incident.database]
    snapshot = None
    if args.execute:
        snapshot = _snapshot_or_interrupted(
            _execute_command(args, incident),
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
    # Validators first: the write-back would otherwise create a dropped collection without its own.
    options, option_failures, blocked = restore_collection_options(
        [str(c["collection"]) for c in collections],
        recovery_db=recovery_db,
        production_db=production_db,
        execute=args.execute,
        log=log if args.execute else None,
    )
    try:
        results = write_back(
            [c for c in collections if str(c["collection"]) not in blocked],
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
    if options:
        lines += [
            "",
            f"Collection validators production lacks, {'restored' if args.execute else 'to restore'} "
            "before the write-back:",
        ]
        lines += [f"- {shown(text)}" for text in options]
    if option_failures:
        lines += [
            "",
            "Collection validators NOT restored (nothing written back to these collections):",
            *[f"- {shown(text)}" for text in option_failures],
        ]
    if indexes:
        lines += ["", f"Indexes production lacks, {'created' if args.execute else 'to create'}:"]
        lines += [f"- {shown(text)}" for text in indexes]
    if index_failures:
        lines += ["", "Indexes NOT created:", *[f"- {shown(text)}" for text in index_failures]]
    if not args.execute:
        lines += ["", f"To write: {_execute_command(args, incident)}"]
    else:
        log.append(
            "cutover-completed",
            collections=[r.as_document() for r in results],
            snapshotId=snapshot and snapshot["snapshotId"],
        )
    if args.format == "json":
        print(
            json_document(
                "recover cutover",
                {
                    "incidentId": incident.incident_id,
                    "executed": bool(args.execute),
                    "snapshotId": snapshot["snapshotId"] if snapshot else None,
                    "collections": [r.as_document() for r in results],
                    "notSelected": left_out,
                    "collectionOptions": options,
                    "collectionOptionFailures": option_failures,
                    "indexes": indexes,
                    "indexFailures": index_failures,
                },
            )
        )
    else:
        print(terminal_safe("\n".join(lines)))
    return EXIT_VIOLATIONS if conflicts or index_failures or option_failures else EXIT_OK


def _switch(args: argparse.Namespace, cfg: Any, incident: Any, log: Any) -> int:
    from backstop.operations.recover.cutover import (
        config_set_commands,
        pulumi_up_command,
        switch_connection_target,
    )

    say = progress(logger, step="cutover", stack=args.stack, incident=incident.incident_id)
    resume = f"backstop recover verify --stack {args.stack} --incident {incident.incident_id}"
    if log.last("restore-finished") is None and not restore_finished(
        incident, log, runtime.atlas_client(say), resume
    ):
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
        _protect(incident, log, say)
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
            json_document(
                "recover cutover",
                {
                    "incidentId": incident.incident_id,
                    "executed": bool(args.execute),
                    "connectionTarget": target,
                    "configSet": config_set_commands(args.stack, target),
                    "apply": pulumi_up_command(args.stack),
                },
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
