"""`backstop recover cleanup` and `recover status`: which recovery clusters go, and where incidents stand."""

from __future__ import annotations

import argparse
import logging
from datetime import timedelta
from typing import Any

from backstop.ground.envelope import json_document
from backstop.ground.errors import EXIT_OK, EXIT_VIOLATIONS, UsageError
from backstop.ground.logs import progress
from backstop.operations.recover.text import terminal_safe
from backstop.restore import runtime

logger = logging.getLogger(__name__)


def _deployed(args: argparse.Namespace) -> tuple[dict[str, Any] | None, str | None]:
    """The application stack's deployed outputs, or why they could not be read."""
    from backstop.clients.atlas import one_line
    from backstop.ground.files import project_dir

    try:
        return dict(runtime.RUNTIME.deployed_outputs(str(project_dir(args.project_dir)), args.stack)), None
    except Exception as exc:
        return None, one_line(exc)


def cmd_cleanup(args: argparse.Namespace) -> int:
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
    say = progress(logger, step="cleanup", stack=args.stack, incident=args.incident)
    seen: list[dict[str, str]] = []

    def report(action: str, name: str, line: str) -> None:
        seen.append({"stack": name, "action": action, "line": line})
        if args.format == "text":
            print(line)

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
                report(
                    "keep",
                    info.name,
                    f"keep   {info.name}: "
                    + (f"expires {expiry.isoformat()}" if expiry else "no expiry; not touched"),
                )
                continue
            chosen.append(info)
    failures = removed = 0
    for info in chosen:
        name = info.name.rsplit("/", 1)[-1]
        if live is not None and live.cluster_name == name:
            report(
                "keep",
                info.name,
                f"keep   {info.name}: it is the application's connection target in Pulumi.{args.stack}.yaml "
                "(backstop:recover.connectionTarget); switch back first",
            )
            failures += 1
            continue
        reasons = serving_reasons(name, evidence, deployed, args.stack)
        if deployed_error is not None:
            reasons.append(f"the deployed stack {args.stack}'s outputs could not be read ({deployed_error})")
        if reasons:
            report("keep", info.name, f"keep   {info.name}: may serve production: {'; '.join(reasons)}")
            failures += 1
            continue
        if args.dry_run:
            report("would-destroy", info.name, f"would destroy {info.name}")
            removed += 1
            continue
        if destroy_stack(stacks, info, say):
            removed += 1
            report("destroyed", info.name, f"destroyed {info.name}")
        else:
            failures += 1
            seen.append({"stack": info.name, "action": "failed", "line": f"failed {info.name}"})
    verb = "would destroy" if args.dry_run else "destroyed"
    if args.format == "json":
        body = {"dryRun": bool(args.dry_run), "passed": not failures, "stacks": seen}
        print(json_document("recover cleanup", body))
    else:
        print(f"{'FAILED' if failures else 'PASSED'}: {verb} {removed} recovery stack(s)")
    return EXIT_VIOLATIONS if failures else EXIT_OK


def cmd_status(args: argparse.Namespace) -> int:
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
