"""The `backstop` command: plan, check, report, drill, audit and dead-letter operations.

Exit codes are the same for every subcommand: 0 all good, 1 a mandatory target missed, 2 unusable input
(one line on stderr naming the file and key, never a traceback).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from backstop.config import ConfigError

EXIT_OK = 0
EXIT_VIOLATIONS = 1
EXIT_BAD_INPUT = 2


class UsageError(Exception):
    """Input backstop cannot use; printed as one line, exit 2."""


def _project_dir(value: str) -> Path:
    path = Path(value)
    if not (path / "Pulumi.yaml").is_file():
        raise UsageError(f"{path / 'Pulumi.yaml'}: not a Pulumi project directory")
    return path


def _cmd_plan(args: argparse.Namespace) -> int:
    from backstop.mocks import run_stack
    from backstop.stackfile import read_stack_file

    project = _project_dir(args.project_dir)
    read_stack_file(project, args.stack).stack_config()
    run = run_stack(project, args.stack)
    print(f"backstop plan: stack {args.stack}, {len(run.resources)} resources declared")
    for resource in run.resources:
        marker = "protected " if resource.protect else ""
        print(f"  {marker}{resource.type}  {resource.name}")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="backstop", description=__doc__.splitlines()[0] if __doc__ else None)
    sub = parser.add_subparsers(dest="command", required=True)
    plan = sub.add_parser("plan", help="run the Pulumi program engine-free and check it against every rule")
    plan.add_argument("--stack", choices=["prod", "staging"], default="prod")
    plan.add_argument("--project-dir", default=".", help="directory holding Pulumi.yaml (default: .)")
    plan.set_defaults(handler=_cmd_plan)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        result: int = args.handler(args)
        return result
    except (ConfigError, UsageError) as error:
        print(f"backstop: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
