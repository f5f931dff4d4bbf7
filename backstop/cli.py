# PYTHON_ARGCOMPLETE_OK (argcomplete completes the console script only when this marker is near its top)
"""The `backstop` command: plan, check, report, drill, audit, recover, dead-letter operations and alert tests.

Exit codes are the same for every subcommand: 0 all good, 1 a mandatory target missed, 2 unusable input
(one line on stderr naming the file and key, never a traceback).
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from backstop.config import Environment
from backstop.ground import tokens
from backstop.ground.errors import EXIT_BAD_INPUT, EXIT_OK, BackstopError, UsageError
from backstop.ground.files import PROJECT_DIR_HELP, find_project_dir, project_dir
from backstop.ground.logs import LOG_FORMATS, configure, level_for
from backstop.ground.memory import gc_paused
from backstop.operations.alerts import commands as alerts_commands
from backstop.operations.audit import commands as audit_commands
from backstop.operations.completion import commands as completion_commands
from backstop.operations.dlq import commands as dlq_commands
from backstop.operations.drill import commands as drill_commands
from backstop.operations.evidence import commands as evidence_commands
from backstop.operations.recover import commands as recover_commands
from backstop.operations.rollback import drill as rollback_drill
from backstop.operations.rules import commands as rules_commands
from backstop.operations.status import commands as status_commands
from backstop.operations.waivers import commands as waivers_commands
from backstop.policy.targets import PolicyTargets

if TYPE_CHECKING:
    from backstop.ground.resources import Resource
    from backstop.policy.core import Report


def _targets(args: argparse.Namespace, environment: Environment) -> PolicyTargets:
    """The targets for this run: the environment's defaults, prod inventory, then a policy-config file."""
    from backstop.policy.core import load_rules
    from backstop.policy.packconfig import apply_policy_config
    from backstop.policy.sources import SourceError, read_json
    from backstop.policy.targets import prod_inventory

    targets = PolicyTargets.for_environment(environment).with_config(
        prod_inventory(Path(args.project_dir)), "Pulumi.prod.yaml"
    )
    if args.policy_config:
        path = Path(args.policy_config)
        try:
            overrides = read_json(path)
        except SourceError as error:
            raise UsageError(str(error)) from None
        if not isinstance(overrides, dict):
            raise UsageError(f"{path}: expected a JSON object of policy settings or a pack config")
        targets = apply_policy_config(targets, overrides, str(path), load_rules())
    if args.unknown_is_violation:
        targets = targets.model_copy(update={"unknown_is_violation": True})
    return targets


def _stack_environment(project_dir: Path, stack: str) -> Environment:
    """The targets of a stack: its `Pulumi.<stack>.yaml`'s `backstop:environment` (prod or staging)."""
    from backstop.config import ConfigError, stack_file_name
    from backstop.config.stackfile import read_stack_file

    try:
        values = read_stack_file(project_dir, stack).values
    except ConfigError:
        if stack in ("prod", "staging") and not (project_dir / stack_file_name(stack)).is_file():
            return cast(Environment, stack)
        raise
    environment = values.get("backstop:environment")
    if environment not in ("prod", "staging"):
        raise UsageError(
            f"{stack_file_name(stack)}: backstop:environment: must be prod or staging "
            f"(got {'nothing' if environment is None else repr(environment)})"
        )
    return cast(Environment, environment)


def _settle(report: Report, args: argparse.Namespace, project: Path) -> Report:
    """Waivers, baseline and `--fail-on`, after evaluation (`backstop.policy.suppressions`)."""
    import datetime as dt

    from backstop.config.waivers import read_waivers
    from backstop.policy.core import Severity, load_rules
    from backstop.policy.suppressions import settle

    rule_ids = load_rules().ids()
    report = settle(
        report,
        waivers=None if args.no_waivers else read_waivers(project, rule_ids),
        today=dt.datetime.now(dt.UTC).date(),
        rule_ids=rule_ids,
        baseline=Path(args.baseline) if args.baseline else None,
        create_baseline=Path(args.create_baseline) if args.create_baseline else None,
    )
    return replace(report, fail_on=Severity(args.fail_on)) if args.fail_on else report


def _emit(report: Report, args: argparse.Namespace, source: str) -> int:
    from backstop.policy.formats import render

    for _, text in report.waiver_notes:
        if args.format != "text" or args.output:
            print(f"backstop: {text}", file=sys.stderr)

    text = render(report, args.format, source, args.command)
    if args.output:
        Path(args.output).write_text(text + "\n", encoding="utf-8")
        print(render(report, "text", source).splitlines()[-1])
    else:
        print(text)
    return report.exit_code


def _resource_tree(resources: Sequence[Resource]) -> list[str]:
    known = {r.urn for r in resources}
    children: dict[str | None, list[Resource]] = {}
    for resource in resources:
        parent = resource.parent if resource.parent in known else None
        children.setdefault(parent, []).append(resource)
    lines: list[str] = []

    def walk(parent: str | None, depth: int) -> None:
        for child in sorted(children.get(parent, []), key=lambda r: (r.custom, r.type, r.name)):
            marks = " [protected]" if child.protect else ""
            lines.append(f"{'  ' * depth}{tokens.short_name(child.type)} {child.name}{marks}  ({child.type})")
            walk(child.urn, depth + 1)

    walk(None, 1)
    return lines


@gc_paused()  # one short run that builds a lot and frees little: no collections
def _cmd_plan(args: argparse.Namespace) -> int:
    from backstop.config.stackfile import read_stack_file
    from backstop.policy.core import evaluate
    from backstop.policy.locations import locate_in_stack_file
    from backstop.program.mocks import deploy_time_secrets, run_stack

    project = project_dir(args.project_dir)
    stack_file = read_stack_file(project, args.stack)
    cfg = stack_file.stack_config()
    targets = _targets(args, cfg.environment)
    run = run_stack(project, args.stack, preview=args.preview, assume_deploy_secrets=True)
    report = evaluate(run.resources, targets, stack=args.stack)
    located = locate_in_stack_file(
        report, stack_file.path, (Path(args.project_dir) / stack_file.path.name).as_posix()
    )
    report = _settle(located, args, project)
    if args.format == "text" and not args.output:
        mode = "first-deploy preview, computed values unknown" if args.preview else "mocked deployment"
        print(f"backstop plan: stack {args.stack} ({mode}), {len(run.resources)} resources declared")
        assumed = deploy_time_secrets(stack_file)
        if assumed:
            print(f"  secrets set at deploy time, read as [secret]: {', '.join(assumed)}")
        print("\n".join(_resource_tree(run.resources)))
        print()
    return _emit(report, args, stack_file.path.name)


@gc_paused()
def _cmd_check(args: argparse.Namespace) -> int:
    from backstop.config import stack_file_name
    from backstop.policy.core import evaluate
    from backstop.policy.locations import locate_in_program
    from backstop.policy.sources import read_document
    from backstop.policy.targets import environment_of_stack

    document = read_document(Path(args.path), Path(args.state) if args.state else None)
    stack = document.stack
    project = Path(args.project_dir)
    environment: Environment = "prod"
    if args.stack is not None:
        environment = _stack_environment(project, args.stack)
    elif stack and args.infer_stack:
        if (project / stack_file_name(stack)).is_file():
            environment = _stack_environment(project, stack)
        else:
            environment = environment_of_stack(stack)
    report = evaluate(
        document.resources,
        _targets(args, environment),
        stack=stack or args.stack or environment,
        declared=document.declared,
    )
    report = replace(report, notes=[*document.notes, *report.notes])
    report = locate_in_program(report, document.positions, args.project_dir)
    return _emit(_settle(report, args, project), args, args.path)


def _cmd_report(args: argparse.Namespace) -> int:
    from backstop.config.stackfile import read_stack_file
    from backstop.policy.sources import read_document
    from backstop.program.mocks import run_stack
    from backstop.report.objectives import derive, measured_restore_times

    project = project_dir(args.project_dir)
    cfg = read_stack_file(project, args.stack).stack_config()
    audit_results = None
    if args.audit_results:
        from backstop.report.attestations import read_audit_results

        audit_results = read_audit_results(Path(args.audit_results))
    if args.state and not args.source:
        raise UsageError("--state: applies to a partial preview given with --from")
    if args.source:
        resources = read_document(Path(args.source), Path(args.state) if args.state else None).resources
    else:
        resources = run_stack(project, args.stack, assume_deploy_secrets=True).resources
    results: list[dict[str, object]] = []
    for path in args.drill_results or []:
        try:
            loaded = json.loads(Path(path).read_text(encoding="utf-8"))
        except OSError as exc:
            raise UsageError(f"{path}: cannot read: {exc.strerror or exc}") from None
        except json.JSONDecodeError as exc:
            raise UsageError(f"{path}: not JSON (line {exc.lineno}: {exc.msg})") from None
        results.extend(_not_from_the_future(path, loaded if isinstance(loaded, list) else [loaded]))
    report = derive(resources, cfg.objectives, stack=args.stack, measured=measured_restore_times(results))
    text = report.as_json() if args.format == "json" else report.as_markdown()
    if audit_results is not None:
        text = audit_results.add_to(text, args.format)
    if args.status:
        from backstop.report.measured import read_status

        text = read_status(Path(args.status)).add_to(text, args.format)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        print(text.rstrip().splitlines()[-1] if args.format == "markdown" else f"written to {args.output}")
    else:
        print(text.rstrip())
    return report.exit_code


def _not_from_the_future(path: str, results: list[Any]) -> list[Any]:
    """A drill result file is not chained: one dated after now (a forged 3-second drill in 2099) is refused
    in one line, never reported as "measured by drill"."""
    from datetime import UTC, datetime

    from backstop.report.evidence import DRILL_CLOCK_SKEW, from_the_future

    now = datetime.now(UTC)
    for index, result in enumerate(results):
        if isinstance(result, dict) and from_the_future(result, now):
            raise UsageError(
                f"{path}: [{index}].finishedAt: {result.get('finishedAt')} is after now plus "
                f"{int(DRILL_CLOCK_SKEW.total_seconds())} s of clock skew: a drill result from the future"
            )
    return results


def _add_report_options(parser: argparse.ArgumentParser) -> None:
    from backstop.policy.formats import FORMATS

    parser.add_argument("--format", choices=FORMATS, default="text")
    parser.add_argument(
        "--output", help="write the report to this file (a one-line verdict still goes to stdout)"
    )
    parser.add_argument("--policy-config", help="JSON file of policy settings (camelCase), as for CrossGuard")
    parser.add_argument(
        "--unknown-is-violation",
        action="store_true",
        help="count values unknown at preview as violations of mandatory rules",
    )
    parser.add_argument("--project-dir", help=PROJECT_DIR_HELP)
    parser.add_argument(
        "--no-waivers",
        action="store_true",
        help="ignore backstop-waivers.yaml: the estate as an auditor sees it, every finding counted",
    )
    baseline = parser.add_mutually_exclusive_group()
    baseline.add_argument(
        "--baseline",
        metavar="FILE",
        help="only findings not in this baseline (a --create-baseline file or a backstop SARIF log) fail",
    )
    baseline.add_argument(
        "--create-baseline",
        metavar="FILE",
        help="write every current finding to FILE as the baseline, and apply it",
    )
    parser.add_argument(
        "--fail-on",
        choices=["critical", "high", "medium", "low"],
        help="exit 1 only for mandatory findings of this severity or higher (default: any mandatory finding)",
    )


def _version() -> str:
    """The installed distribution's version (pyproject.toml's, through package metadata), so the
    answer is what pip installed, not a second copy of the number kept in the code."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("backstop")
    except PackageNotFoundError:
        return "(version unknown: the backstop distribution is not installed)"


@functools.cache
def build_parser() -> argparse.ArgumentParser:
    """Every command's parser, built once per process: argparse keeps no state between `parse_args`
    calls, and building some twenty subparsers cost more than most commands' own work when `main` runs
    in-process (tests, scripts). Handlers are bound here, so a test that replaces one calls
    `build_parser.cache_clear()`."""
    parser = argparse.ArgumentParser(
        prog="backstop", description=__doc__.splitlines()[0] if __doc__ else None
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", required=True)

    plan = sub.add_parser("plan", help="run the Pulumi program engine-free and check it against every rule")
    plan.add_argument(
        "--stack", default="prod", help="any stack with a Pulumi.<stack>.yaml in the project (default: prod)"
    )
    plan.add_argument(
        "--preview", action="store_true", help="model a first deployment: computed values unknown"
    )
    _add_report_options(plan)
    plan.set_defaults(handler=_cmd_plan)

    check = sub.add_parser(
        "check", help="check `pulumi preview --json` output or a `pulumi stack export` file"
    )
    check.add_argument("path", help="the JSON document")
    check.add_argument(
        "--stack",
        default=None,
        help="hold it to the targets of this stack: the `backstop:environment` of its Pulumi.<stack>.yaml "
        "(prod or staging; default: prod)",
    )
    check.add_argument(
        "--state",
        help="the stack's `pulumi stack export`: a preview's steps are applied over it, so a preview "
        "without --show-sames is complete",
    )
    check.add_argument(
        "--infer-stack",
        action="store_true",
        help="pick targets from the stack name in the URNs instead of defaulting to prod",
    )
    _add_report_options(check)
    check.set_defaults(handler=_cmd_check, project_dir_optional=True)

    report = sub.add_parser("report", help="RTO/RPO achieved by the declared resources against the targets")
    report.add_argument(
        "--stack", default="prod", help="any stack with a Pulumi.<stack>.yaml in the project (default: prod)"
    )
    report.add_argument("--format", choices=["markdown", "json"], default="markdown")
    report.add_argument(
        "--from", dest="source", help="derive from a preview/export document instead of the program"
    )
    report.add_argument(
        "--state",
        help="the `pulumi stack export` that a partial `--from` preview (no --show-sames) applies to",
    )
    report.add_argument("--drill-results", nargs="*", help="drill result JSON files: measured restore times")
    report.add_argument(
        "--audit-results",
        help="`backstop audit --result-json` file: tenants attested from snapshots vs inferred",
    )
    report.add_argument(
        "--status", help="`backstop status --format json` file: what the live estate measured, beside this"
    )
    report.add_argument("--output", help="write the report to this file")
    report.add_argument("--project-dir", help=PROJECT_DIR_HELP)
    report.set_defaults(handler=_cmd_report)
    dlq_commands.register(sub)
    audit_commands.register(sub)
    rollback_drill.register(drill_commands.register(sub))
    recover_commands.register(sub)
    alerts_commands.register(sub)
    evidence_commands.register(sub)
    waivers_commands.register(sub)
    status_commands.register(sub)
    rules_commands.register(sub)
    completion_commands.register(sub)
    _share_log_options(parser)
    return parser


def _add_log_options(parser: argparse.ArgumentParser) -> None:
    """`-v`, `-q` and `--log-format`, before the subcommand or after it: every parser gets them, with
    no default (`SUPPRESS`), so a subcommand's parser never overwrites what was given before it. A
    subcommand that has its own `--quiet` keeps it (same meaning) and gains only `-q`."""
    taken = parser._option_string_actions
    options: list[tuple[tuple[str, ...], dict[str, object]]] = [
        (
            ("-v", "--verbose"),
            {"action": "count", "dest": "log_verbose", "help": "debug detail (each API call)"},
        ),
        (
            ("-q", "--quiet"),
            {"action": "store_true", "dest": "log_quiet", "help": "warnings and errors only"},
        ),
        (
            ("--log-format",),
            {"choices": LOG_FORMATS, "dest": "log_format", "help": "stderr as text lines or JSON lines"},
        ),
    ]
    for flags, settings in options:
        free = [flag for flag in flags if flag not in taken]
        if free:
            parser.add_argument(*free, default=argparse.SUPPRESS, **settings)  # type: ignore[arg-type]


def _share_log_options(parser: argparse.ArgumentParser) -> None:
    _add_log_options(parser)
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in {id(p): p for p in action.choices.values()}.values():
                _share_log_options(sub)


def _configure_logging(args: argparse.Namespace) -> None:
    """The `backstop` logger for this run: a subcommand's own `--quiet` is `-q` too."""
    quiet = bool(getattr(args, "log_quiet", False) or getattr(args, "quiet", False))
    configure(level_for(getattr(args, "log_verbose", 0) or 0, quiet), getattr(args, "log_format", "text"))


def _resolve_project_dir(args: argparse.Namespace) -> None:
    """`--project-dir` not given: the nearest `Pulumi.yaml` upward. `check` reads a document that may live
    outside any project, so it falls back to the current directory instead of failing."""
    if getattr(args, "project_dir", ".") is not None:
        return
    try:
        # Relative to the working directory (`.` in the project itself), as `--project-dir .` was.
        args.project_dir = os.path.relpath(find_project_dir(Path.cwd()))
    except UsageError:
        if not getattr(args, "project_dir_optional", False):
            raise
        args.project_dir = "."


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    completion_commands.complete(parser)
    args = parser.parse_args(argv)
    _configure_logging(args)
    try:
        _resolve_project_dir(args)
        result: int = args.handler(args)
        return result
    except BackstopError as error:
        for line in str(error).splitlines() or [""]:  # one line per problem, each prefixed
            print(f"backstop: {line}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except BrokenPipeError:
        return EXIT_OK
