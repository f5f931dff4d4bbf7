"""`backstop completion SHELL` prints the activation snippet; `complete` answers the shell's request."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from backstop.ground.errors import EXIT_OK, UsageError
from backstop.ground.files import find_project_dir

SHELLS = ("bash", "zsh", "fish")
PROGRAM = "backstop"


def stacks(prefix: str, parsed_args: argparse.Namespace | None = None, **_: Any) -> list[str]:
    """The stacks of the project (`--project-dir` if already typed, else the nearest `Pulumi.yaml` upward):
    every `Pulumi.<stack>.yaml` beside it, sorted. Nothing when there is no project: a completer never
    fails the shell."""
    given = getattr(parsed_args, "project_dir", None)
    try:
        project = Path(given) if given else find_project_dir(Path.cwd())
    except UsageError:
        return []
    names = sorted(
        path.name[len("Pulumi.") : -len(".yaml")] for path in project.glob("Pulumi.*.yaml") if path.is_file()
    )
    return [name for name in names if name.startswith(prefix)]


def _attach_completers(parser: argparse.ArgumentParser) -> None:
    for action in parser._actions:
        if "--stack" in action.option_strings:
            action.completer = stacks  # type: ignore[attr-defined]  # argcomplete reads this attribute
        if isinstance(action, argparse._SubParsersAction):
            for sub in {id(p): p for p in action.choices.values()}.values():
                _attach_completers(sub)


def complete(parser: argparse.ArgumentParser, **options: Any) -> None:
    """Answer the shell and exit when it asked for completions (`_ARGCOMPLETE` set); otherwise return at
    once, without importing argcomplete, so an ordinary run pays nothing for it."""
    if "_ARGCOMPLETE" not in os.environ:
        return
    import argcomplete

    _attach_completers(parser)
    argcomplete.autocomplete(parser, **options)


def _cmd_completion(args: argparse.Namespace) -> int:
    import argcomplete

    print(argcomplete.shellcode([PROGRAM], shell=args.shell).rstrip())
    return EXIT_OK


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    completion = sub.add_parser(
        "completion",
        help="print the shell code that completes backstop's commands, options and stack names",
        description='Activate in the current shell: eval "$(backstop completion bash)" (bash or zsh; '
        "fish: backstop completion fish | source).",
    )
    completion.add_argument("shell", choices=SHELLS)
    completion.set_defaults(handler=_cmd_completion)
