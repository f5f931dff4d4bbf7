"""The README opens with the two commands of a fresh machine, CI runs the same test command, and the rest of
the README is a tour that links every page of the manual (docs/, built by MkDocs: tests/test_docs.py)."""

from __future__ import annotations

import re

from tests.conftest import ROOT


def _readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```sh\n(.*?)```", text, re.S)
    assert block is not None, "README must open with a sh code block"
    assert text.index(block.group(0)) < text.index("\n\n", text.index("# backstop") + 12) + 2
    return [line for line in block.group(1).splitlines() if line.strip()]


def test_readme_opens_with_exactly_the_main_job_and_the_tests() -> None:
    commands = _readme_commands()
    assert len(commands) == 2
    assert commands[0].endswith("backstop plan --stack prod")
    assert commands[1].endswith("python -m pytest -q")


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    ci_lines = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert _readme_commands()[1] in ci_lines


def test_the_readme_is_a_front_page_linking_every_page_of_the_manual() -> None:
    import yaml

    def pages(nav: object) -> list[str]:
        if isinstance(nav, str):
            return [nav]
        if isinstance(nav, dict):
            return [p for value in nav.values() for p in pages(value)]
        assert isinstance(nav, list)
        return [p for item in nav for p in pages(item)]

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    nav = pages(yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))["nav"])
    linked = set(re.findall(r"\]\(docs/([^)#]+\.md)(?:#[^)]*)?\)", text))
    assert sorted(set(nav) - {"index.md"} - linked) == []
    assert len(text.splitlines()) < 150  # the manual lives in docs/, not here
