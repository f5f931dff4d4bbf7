"""`backstop drill` and `drill sweep`: the quarterly restore drill, and the removal of what it left."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from datetime import timedelta
from typing import Any

from backstop.ground.envelope import json_document
from backstop.ground.errors import EXIT_BAD_INPUT, EXIT_OK, EXIT_VIOLATIONS
from backstop.ground.files import write_output
from backstop.ground.logs import progress
from backstop.restore import runtime
from backstop.restore.runtime import (
    atlas_client,
    common_arguments,
    evidence_database,
    one_line_mongo_errors,
    stack_configs,
)

logger = logging.getLogger(__name__)

# --- drill ----------------------------------------------------------------------------------------------


def _cmd_drill(args: argparse.Namespace) -> int:
    from backstop.operations.drill.run import (
        DrillIO,
        DrillOptions,
        execute_drill,
        exit_code,
        plan_drill,
        result_document,
        summary_markdown,
    )
    from backstop.report.evidence import DRILL_RESULTS_COLLECTION, append_drill_result

    cfg, prod = stack_configs(args)
    say = progress(logger, step="drill", stack=args.stack)
    atlas = atlas_client(say)
    evidence = evidence_database(cfg)
    options = DrillOptions(
        database=args.database,
        seed=args.seed,
        mode=args.mode,
        poll_interval=timedelta(seconds=args.poll_interval) if args.poll_interval is not None else None,
        settle_wait=timedelta(seconds=args.settle_wait) if args.settle_wait is not None else None,
    )
    plan = plan_drill(
        cfg,
        prod,
        stack=args.stack,
        atlas=atlas,
        evidence=evidence,
        clock=runtime.RUNTIME.clock,
        options=options,
    )
    say(f"drill {plan.stack_name}: tenant {plan.tenant}, {plan.mode} restore from {plan.source_cluster}")
    io = DrillIO(
        atlas=atlas,
        stacks=runtime.RUNTIME.stacks(),
        connect=runtime.RUNTIME.connect,
        clock=runtime.RUNTIME.clock,
        sleep=runtime.RUNTIME.sleep,
        progress=say,
    )
    outcome = execute_drill(plan, io)
    document = result_document(plan, outcome)
    recorded = True
    try:
        document = append_drill_result(evidence, document, now=runtime.RUNTIME.clock())
    except Exception as exc:
        recorded = False
        print(f"backstop: drill result NOT recorded in {DRILL_RESULTS_COLLECTION}: {exc}", file=sys.stderr)
    text = summary_markdown(plan, outcome)
    write_output(args.summary, text)
    if args.result_json:
        write_output(args.result_json, json.dumps(document, indent=2, default=str) + "\n")
    print(json_document("drill", document) if args.format == "json" else text.rstrip())
    if outcome.left_for_sweep:
        print(
            f"backstop: drill stack {plan.stack_name} LEFT FOR `backstop drill sweep`: "
            f"{outcome.left_for_sweep}, and Atlas cannot cancel it "
            f"(it expires {plan.expires_at.isoformat()})",
            file=sys.stderr,
        )
    if outcome.teardown_error:
        print(
            f"backstop: TEARDOWN FAILED for drill stack {plan.stack_name}: {outcome.teardown_error}; "
            f"remove it with `backstop drill sweep` (it expires {plan.expires_at.isoformat()})",
            file=sys.stderr,
        )
    code = exit_code(plan, outcome)
    return code if recorded or code != EXIT_OK else EXIT_VIOLATIONS


def _cmd_sweep(args: argparse.Namespace) -> int:
    from backstop.program.ephemeral import DRILL_STACK_PREFIX
    from backstop.restore.stacks import destroy_stack, effective_expiry

    cfg, _ = stack_configs(args)
    if not args.dry_run:
        atlas_client()  # destroying needs the provider's credentials: fail early, with one line
    stacks = runtime.RUNTIME.stacks()
    now = runtime.RUNTIME.clock()
    ttl = timedelta(hours=cfg.drill.ttl_hours)
    say = progress(logger, step="drill-sweep", stack=args.stack)
    if args.force:
        return _force_sweep(args, stacks, say)
    failures = 0
    expired = 0
    seen: list[dict[str, Any]] = []

    def report(action: str, name: str, expiry: Any, line: str) -> None:
        seen.append({"stack": name, "action": action, "expiresAt": expiry and expiry.isoformat()})
        if args.format == "text":
            print(line)

    for info in sorted(stacks.list(), key=lambda i: i.name):
        if not info.name.rsplit("/", 1)[-1].startswith(DRILL_STACK_PREFIX):
            continue
        expiry = effective_expiry(info, ttl)
        if expiry is None:
            report(
                "keep", info.name, None, f"keep   {info.name}: no expiry recorded or in its name; not touched"
            )
            continue
        if expiry > now:
            report("keep", info.name, expiry, f"keep   {info.name}: expires {expiry.isoformat()}")
            continue
        expired += 1
        if args.dry_run:
            line = f"expired {info.name}: expired {expiry.isoformat()} (dry run: not destroyed)"
            report("would-destroy", info.name, expiry, line)
            continue
        if destroy_stack(stacks, info, say):
            report("destroyed", info.name, expiry, f"destroyed {info.name}: expired {expiry.isoformat()}")
        else:
            failures += 1
            seen.append({"stack": info.name, "action": "failed", "expiresAt": expiry.isoformat()})
    verb = "would destroy" if args.dry_run else "destroyed"
    if args.format == "json":
        body = {"dryRun": bool(args.dry_run), "passed": not failures, "stacks": seen}
        print(json_document("drill sweep", body))
    else:
        print(f"{'FAILED' if failures else 'PASSED'}: {verb} {expired - failures} expired drill stack(s)")
    return EXIT_VIOLATIONS if failures else EXIT_OK


def _cmd_verify(args: argparse.Namespace) -> int:
    """`drill verify`: the `backup_drill_results` chain checked as `audit verify` checks the audit log."""
    from backstop.report.evidence import DRILL_RESULTS_COLLECTION, accept_legacy, read_drill_results

    cfg, _ = stack_configs(args)
    evidence = evidence_database(cfg)
    now = runtime.RUNTIME.clock()
    adopted = []
    if args.accept_legacy:
        for entry in accept_legacy(evidence, now):
            adopted.append({"drillId": entry.get("drillId"), "sequence": entry["sequence"]})
            if args.format == "text":
                print(f"adopted {entry.get('drillId')}: legacy entry chained as record #{entry['sequence']}")
    drills = read_drill_results(evidence, now, expected_head=args.head)
    status = drills.status
    notes = drills.notes()[1 if status.broken else 0 :]
    for note in notes:
        print(f"backstop: {note}", file=sys.stderr)
    if status.broken is not None:
        print(f"backstop: TAMPERED: {status.broken.line()}", file=sys.stderr)
    if args.format == "json":
        document = {**status.as_dict(DRILL_RESULTS_COLLECTION), "adopted": adopted, "notes": notes}
        print(json_document("drill verify", document))
        return EXIT_VIOLATIONS if status.broken is not None else EXIT_OK
    if status.broken is not None:
        print(f"FAILED: {DRILL_RESULTS_COLLECTION} chain broken at record #{status.broken.sequence}")
        return EXIT_VIOLATIONS
    print(
        f"PASSED: {DRILL_RESULTS_COLLECTION} chain intact, {status.records} record(s), "
        f"head #{status.head_sequence} {status.head_hash}"
    )
    return EXIT_OK


def _force_sweep(args: argparse.Namespace, stacks: Any, say: Any) -> int:
    """`drill sweep --force NAME`: a killed drill's stack before its expiry. Only a stack named as a drill
    names its stacks (`drill-YYYYMMDD-HHMMSS-<hex>`) and listed among the drill stacks is destroyed; a
    production, recovery or any other name is refused in one line and nothing is destroyed."""
    from backstop.restore.stacks import created_from_name, destroy_stack

    listed = {info.name.rsplit("/", 1)[-1]: info for info in stacks.list()}
    chosen, refused = [], []
    for name in args.force:
        short = name.rsplit("/", 1)[-1]
        if created_from_name(short) is None or "prod" in short.lower():
            refused.append(f"refused {name}: not a drill stack name (drill-YYYYMMDD-HHMMSS-<id>)")
        elif short not in listed:
            refused.append(f"refused {name}: not a drill stack of this project (see `drill sweep --dry-run`)")
        else:
            chosen.append(listed[short])
    if refused:
        for line in refused:
            print(f"backstop: {line}", file=sys.stderr)
        print(f"backstop: refused {len(refused)} stack name(s); nothing destroyed", file=sys.stderr)
        return EXIT_BAD_INPUT
    seen: list[dict[str, Any]] = []
    failures = 0
    for info in chosen:
        expiry = info.expires_at and info.expires_at.isoformat()
        if args.dry_run:
            seen.append({"stack": info.name, "action": "would-force", "expiresAt": expiry})
            line = f"force  {info.name}: would be destroyed (dry run)"
        elif destroy_stack(stacks, info, say):
            seen.append({"stack": info.name, "action": "forced", "expiresAt": expiry})
            line = f"destroyed {info.name}: forced before its expiry"
        else:
            failures += 1
            seen.append({"stack": info.name, "action": "failed", "expiresAt": expiry})
            continue
        if args.format == "text":
            print(line)
    if args.format == "json":
        body = {"dryRun": bool(args.dry_run), "passed": not failures, "stacks": seen}
        print(json_document("drill sweep", body))
    elif args.dry_run:
        print(f"PASSED: would destroy {len(chosen)} drill stack(s)")
    else:
        verdict = "FAILED" if failures else "PASSED"
        print(f"{verdict}: destroyed {len(chosen) - failures} drill stack(s) by --force")
    return EXIT_VIOLATIONS if failures else EXIT_OK


# --- argument parsing -----------------------------------------------------------------------------------


def register(subparsers: Any) -> Any:
    """Add `drill` (with `drill sweep`) to the `backstop` command; return its subcommands, where the
    application's rollback drill joins."""
    drill = subparsers.add_parser(
        "drill", help="restore a random tenant into a throwaway staging cluster and verify it against the RTO"
    )
    common_arguments(drill)
    drill.add_argument("--summary", help="also write the Markdown summary to this file")
    drill.add_argument(
        "--result-json", help="also write the result document (for `backstop report --drill-results`)"
    )
    drill.add_argument("--database", help="drill this tenant database instead of a random one")
    drill.add_argument(
        "--seed", type=int, help="seed of the random choices (tenant, spot checks), to repeat a drill"
    )
    drill.add_argument(
        "--mode",
        choices=["auto", "pointInTime", "snapshot"],
        help="restore to the manifest's point in time, or from its snapshot "
        "(default: backstop:drill.restoreMode)",
    )
    drill.add_argument("--poll-interval", type=float, help="seconds between restore job polls")
    drill.add_argument(
        "--settle-wait",
        type=float,
        help="seconds to wait for a still-running restore (Atlas cannot cancel it) before leaving the stack "
        "for `drill sweep` (default: 1800)",
    )
    drill.add_argument(
        "--format", choices=["text", "json"], default="text", help="json: the --result-json document"
    )
    drill.add_argument("--quiet", action="store_true", help="no progress on stderr")
    drill.set_defaults(handler=one_line_mongo_errors(_cmd_drill))
    drill_sub = drill.add_subparsers(dest="drill_command")
    sweep = drill_sub.add_parser("sweep", help="destroy drill stacks whose expiry has passed")
    common_arguments(sweep)
    sweep.add_argument(
        "--dry-run", action="store_true", help="list the expired drill stacks, destroy nothing"
    )
    sweep.add_argument(
        "--force",
        action="append",
        metavar="NAME",
        help="destroy this drill stack now, before its expiry (a killed drill's); repeatable",
    )
    sweep.add_argument("--quiet", action="store_true", help="no Pulumi output on stderr")
    sweep.add_argument("--format", choices=["text", "json"], default="text")
    sweep.set_defaults(handler=_cmd_sweep)
    verify = drill_sub.add_parser(
        "verify", help="recompute the backup_drill_results hash chain; exit 1 on tampering"
    )
    common_arguments(verify)
    verify.add_argument(
        "--head", help="a head hash published earlier (drill summary): it must still be there"
    )
    verify.add_argument(
        "--accept-legacy",
        action="store_true",
        help="append the unchained entries written before the chain existed to it (listed, never deleted)",
    )
    verify.add_argument("--format", choices=["text", "json"], default="text")
    verify.set_defaults(handler=one_line_mongo_errors(_cmd_verify))
    return drill_sub
