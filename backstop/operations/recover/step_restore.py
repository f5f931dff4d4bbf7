"""`backstop recover plan` and `recover restore`: decide the recovery, then restore it into a new cluster."""

from __future__ import annotations

import argparse
import logging
import sys
from datetime import timedelta
from typing import Any

from backstop.ground.envelope import json_document
from backstop.ground.errors import EXIT_OK, EXIT_VIOLATIONS, UsageError
from backstop.ground.logs import progress
from backstop.operations.recover.steps import EXIT_INTERRUPTED, drill_results, plan_of
from backstop.operations.recover.text import terminal_safe
from backstop.restore import runtime

logger = logging.getLogger(__name__)


def cmd_plan(args: argparse.Namespace) -> int:
    cfg, prod = runtime.stack_configs(args)
    plan = plan_of(args, cfg, prod, runtime.atlas_client())
    print(plan.as_json() if args.format == "json" else terminal_safe(plan.as_text()))
    return EXIT_OK


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


def cmd_restore(args: argparse.Namespace) -> int:
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
    say = progress(logger, step="restore", stack=args.stack, incident=args.incident)
    atlas = runtime.atlas_client(say)  # reports each 429/503 wait, as the drill does
    evidence = runtime.evidence_database(cfg)
    ensure_log_indexes(evidence)
    resumed: str | None = args.incident
    if resumed is None:
        plan = plan_of(args, cfg, prod, atlas)  # refuses a prod recovery project before anything exists
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
        results, notes = drill_results(cfg)
        plan = plan_recovery(
            cfg,
            prod,
            stack=args.stack,
            request=_resumed_request(incident),
            atlas=atlas,
            clock=runtime.RUNTIME.clock,
            drill_results=results,
            drill_notes=notes,
        )
        say(f"resuming incident {resumed} (its restore had not finished; --new opens another incident)")
    else:
        incident, log = open_incident(plan, evidence, runtime.RUNTIME.clock)
    say = progress(logger, step="restore", stack=args.stack, incident=incident.incident_id)
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
            json_document(
                "recover restore",
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
