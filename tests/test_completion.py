"""Shell completion through argcomplete's protocol: commands, options and the project's stack names."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import argcomplete
import argcomplete.io
import pytest

import backstop.cli
from backstop.cli import build_parser, main
from backstop.operations.completion.commands import complete

ROOT = Path(__file__).resolve().parent.parent


class _Finder(argcomplete.CompletionFinder):
    """argcomplete's finder with its debug stream on stderr: by default it opens fd 9, which in a pytest
    worker is the worker's own channel, and closing it kills the worker (argcomplete documents the
    override for exactly this)."""

    def _init_debug_stream(self) -> None:
        argcomplete.io.debug_stream = sys.stderr


def candidates(monkeypatch: pytest.MonkeyPatch, line: str) -> list[str]:
    """What the shell would be offered for `line`, the cursor at its end (argcomplete called in-process)."""
    monkeypatch.setattr(argcomplete, "autocomplete", _Finder())
    build_parser.cache_clear()  # a parser of its own: argcomplete rewires the actions of the one it completes
    monkeypatch.setenv("_ARGCOMPLETE", "1")
    monkeypatch.setenv("COMP_LINE", line)
    monkeypatch.setenv("COMP_POINT", str(len(line)))
    monkeypatch.setenv("_ARGCOMPLETE_IFS", "\n")
    out = io.StringIO()
    try:
        with pytest.raises(SystemExit):
            complete(build_parser(), output_stream=out, exit_method=sys.exit)
    finally:
        build_parser.cache_clear()  # the next `main` in this process parses with an untouched parser
    return sorted(c.strip() for c in out.getvalue().split("\n") if c.strip())


def test_a_command_completes_from_its_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    assert candidates(monkeypatch, "backstop dr") == ["drill"]
    assert candidates(monkeypatch, "backstop re") == ["recover", "report"]


def test_an_option_completes_after_the_command(monkeypatch: pytest.MonkeyPatch) -> None:
    assert candidates(monkeypatch, "backstop drill --st") == ["--stack"]
    assert candidates(monkeypatch, "backstop drill --log-f") == ["--log-format"]


def test_stack_names_come_from_the_projects_stack_files(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "Pulumi.yaml").write_text("name: shop\nruntime: python\n", encoding="utf-8")
    for stack in ("prod", "staging", "prod-eu"):
        (tmp_path / f"Pulumi.{stack}.yaml").write_text("config: {}\n", encoding="utf-8")
    (tmp_path / "infra").mkdir()
    monkeypatch.chdir(tmp_path / "infra")  # the project is found upward, as the commands find it
    assert candidates(monkeypatch, "backstop plan --stack ") == ["prod", "prod-eu", "staging"]
    assert candidates(monkeypatch, "backstop recover restore --stack prod") == ["prod", "prod-eu"]
    monkeypatch.chdir(ROOT)
    assert candidates(monkeypatch, f"backstop drill --project-dir {tmp_path} --stack prod-") == ["prod-eu"]


def test_no_project_completes_no_stack_and_does_not_fail(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    assert candidates(monkeypatch, "backstop plan --stack ") == []


def test_the_console_script_answers_on_fd_8(tmp_path: Path) -> None:
    """The real protocol: the shell runs `backstop` with `_ARGCOMPLETE` set and reads fd 8."""
    read, write = os.pipe()
    line = "backstop drill --st"
    env = {**os.environ, "_ARGCOMPLETE": "1", "COMP_LINE": line, "COMP_POINT": str(len(line))}
    script = "import os, sys; os.dup2(int(sys.argv[1]), 8); from backstop.cli import main; main()"
    with subprocess.Popen(
        [sys.executable, "-c", script, str(write)], env=env, pass_fds=(write,), cwd=ROOT
    ) as process:
        os.close(write)
        with os.fdopen(read) as answer:
            offered = answer.read()
        assert process.wait(timeout=120) == 0
    assert offered.split() == ["--stack"]


def test_the_activation_snippet_registers_backstop(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["completion", "bash"]) == 0
    bash = capsys.readouterr().out
    assert "complete -o nospace -o default -o bashdefault -F _python_argcomplete backstop" in bash
    assert main(["completion", "zsh"]) == 0
    assert capsys.readouterr().out.startswith("#compdef backstop")
    assert main(["completion", "fish"]) == 0
    assert "complete --command backstop" in capsys.readouterr().out


def test_the_entry_module_carries_the_marker_argcomplete_looks_for() -> None:
    # argcomplete's global completion reads the first 1024 bytes of the console script's module.
    assert b"PYTHON_ARGCOMPLETE_OK" in Path(backstop.cli.__file__).read_bytes()[:1024]
