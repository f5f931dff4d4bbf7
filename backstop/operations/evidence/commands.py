"""`backstop evidence bundle --stack NAME --period 2026Q4 [--out DIR] [--status FILE]` and
`backstop evidence verify DIR`.

The bundle reads the evidence store (`BACKSTOP_EVIDENCE_MONGODB_URI`, `backstop:drill.evidenceDatabase`)
once, exports its three collections whole, runs the stack's program under the SDK mocks for the policy
results and the objectives table, and writes the bundle (report/bundle). With `--status`, the rows a
`backstop status --format json` file measured stand beside each objective (read as `backstop report
--status` reads them: anything else is refused before anything is written). It exits 1 whenever the period is
not clean (a broken chain, missing evidence, a missed deadline or objective), after writing the bundle
that says why; 2 on unusable input, with nothing written.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from backstop.ground.envelope import json_document
from backstop.ground.errors import EXIT_OK, EXIT_VIOLATIONS, UsageError
from backstop.ground.files import PROJECT_DIR_HELP, project_dir
from backstop.restore import runtime
from backstop.restore.runtime import evidence_database, one_line_mongo_errors, stack_configs


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("backstop")
    except PackageNotFoundError:
        return "(unknown version)"


def program_resources(project: Path, stack: str) -> Sequence[Any]:
    """The stack's resources as its program declares them (the seam tests replace with one cached run)."""
    from backstop.program.mocks import run_stack

    return run_stack(project, stack, assume_deploy_secrets=True).resources


def _cmd_bundle(args: argparse.Namespace) -> int:
    from backstop.config.waivers import read_waivers
    from backstop.policy.core import evaluate, load_rules
    from backstop.policy.suppressions import apply_waivers
    from backstop.policy.targets import PolicyTargets, prod_inventory
    from backstop.report.bundle.files import prepare_directory, store_file, write_bundle
    from backstop.report.bundle.gather import build_document
    from backstop.report.bundle.html import render
    from backstop.report.bundle.period import parse_period
    from backstop.report.bundle.stores import EXPORTED, check_store, export_lines, read_lines
    from backstop.report.measured import read_status

    period = parse_period(args.period)
    out = Path(args.out or f"evidence-{args.stack}-{period.label}")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        prepare_directory(out)  # refuses, naming the directory, before anything is read
    status = None
    if args.status:
        # Read as `backstop report --status` reads it: a file that is not a status is one line, exit 2.
        status = read_status(Path(args.status))
        if status.stack != args.stack:
            raise UsageError(
                f"{args.status}: stack: a `backstop status` of stack {status.stack!r}, not of {args.stack!r}"
            )
    cfg, _ = stack_configs(args)
    project = project_dir(args.project_dir)
    database = evidence_database(cfg)
    now = runtime.RUNTIME.clock()
    exports = {collection: export_lines(database[collection]) for collection in EXPORTED}
    checks = [check_store(collection, text) for collection, text in exports.items()]
    resources = program_resources(project, args.stack)
    targets = PolicyTargets.for_environment(cfg.environment).with_config(
        prod_inventory(project), "Pulumi.prod.yaml"
    )
    policy = evaluate(resources, targets, stack=args.stack)
    waivers = read_waivers(project, load_rules().ids())
    if waivers is not None:
        # The waivers in force on the period's last day (or today, for a period not over yet).
        as_of = min(period.end - timedelta(microseconds=1), now).date()
        policy = apply_waivers(policy, waivers, as_of)
    document = build_document(
        stack=args.stack,
        period=period,
        now=now,
        exports={collection: read_lines(text) for collection, text in exports.items()},
        checks=checks,
        files={collection: store_file(collection) for collection in EXPORTED},
        resources=resources,
        objectives=cfg.objectives,
        policy=policy,
        version=_version(),
        status=status,
        status_file=Path(args.status).name if args.status else None,
    )
    prepare_directory(out)
    archive = write_bundle(out, document, exports, render)
    verdict = document["verdict"]
    head = "PASSED" if verdict["passed"] else "FAILED"
    if args.format == "json":
        body = {
            "stack": args.stack,
            "period": period.label,
            "directory": str(out),
            "archive": str(archive),
            "checks": [check.line() for check in checks],
            "verdict": verdict,
        }
        print(json_document("evidence bundle", body))
        return EXIT_OK if verdict["passed"] else EXIT_VIOLATIONS
    print(f"{head}: evidence bundle of stack {args.stack}, {period.label}: {out}/index.html ({archive.name})")
    for check in checks:
        print(f"  {check.line()}")
    for problem in verdict["problems"]:
        print(f"  - {problem}")
    return EXIT_OK if verdict["passed"] else EXIT_VIOLATIONS


def _cmd_verify(args: argparse.Namespace) -> int:
    from backstop.report.bundle.files import verify_bundle

    directory = Path(args.directory)
    problems, checked = verify_bundle(directory)
    if args.format == "json":
        body = {"directory": str(directory), "passed": not problems, "problems": problems, "checked": checked}
        print(json_document("evidence verify", body))
        return EXIT_VIOLATIONS if problems else EXIT_OK
    if problems:
        print(f"FAILED: {directory}: {problems[0]}")
        for problem in problems[1:]:
            print(f"  - {problem}")
        return EXIT_VIOLATIONS
    print(f"PASSED: {directory}: " + "; ".join(checked))
    return EXIT_OK


def register(subparsers: Any) -> None:
    """Add `evidence bundle` and `evidence verify` to the `backstop` command."""
    evidence = subparsers.add_parser(
        "evidence", help="the auditor's evidence bundle of one period, and its check"
    )
    sub = evidence.add_subparsers(dest="evidence_command", required=True)
    bundle = sub.add_parser(
        "bundle",
        help="write index.html, evidence.json, CSVs and MANIFEST.sha256 for one quarter (and a .zip)",
    )
    bundle.add_argument("--stack", default="prod", help="stack whose evidence (any name)")
    bundle.add_argument("--period", required=True, help="calendar quarter, e.g. 2026Q4")
    bundle.add_argument("--out", help="new directory to write (default: evidence-<stack>-<period>)")
    bundle.add_argument(
        "--status",
        metavar="FILE",
        help="`backstop status --format json` file of the stack: its measured rows beside each objective",
    )
    bundle.add_argument("--project-dir", help=PROJECT_DIR_HELP)
    bundle.add_argument("--format", choices=["text", "json"], default="text")
    bundle.set_defaults(handler=one_line_mongo_errors(_cmd_bundle))
    verify = sub.add_parser(
        "verify", help="recompute MANIFEST.sha256 and re-verify the chains from the exported entries"
    )
    verify.add_argument("directory", help="the bundle directory")
    verify.add_argument("--format", choices=["text", "json"], default="text")
    verify.set_defaults(handler=_cmd_verify)
