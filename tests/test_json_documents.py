"""One contract for every command (issue 23): `--format json` everywhere a command reports, each document
under the envelope (`schemaVersion`, `toolVersion`, `command`) and valid against the schema shipped for it.

The commands that need clouds validate their real output in their own tests (dlq, alerts, recover,
waivers) through `tests.json_documents.assert_valid`; the ones that run offline are run here.
"""

from __future__ import annotations

import argparse
import json
from importlib import resources
from pathlib import Path

import jsonschema
import pytest

from backstop.cli import build_parser, main
from backstop.ground.envelope import envelope, schema_name, tool_version
from backstop.policy.core import load_rules
from backstop.policy.targets import PolicyTargets
from tests.json_documents import assert_valid, schema_for

ROOT = Path(__file__).resolve().parent.parent
# Commands that report but print one line per stack destroyed or kept, still without a JSON document.
# Each entry is a debt: remove it when the command gets `--format json`.
NOT_YET_JSON: set[str] = set()
# Commands that report nothing: `completion` prints a shell's activation script, which the shell sources.
NOT_REPORTING = {"completion"}


def _commands(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> list[tuple[str, argparse.ArgumentParser]]:
    """Every parser that runs a command (has a handler), `audit` and `audit verify` alike."""
    found = [(" ".join(path), parser)] if parser.get_default("handler") is not None else []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                found += _commands(child, (*path, name))
    return found


def test_every_reporting_command_accepts_format_json() -> None:
    commands = {n: p for n, p in _commands(build_parser()) if n not in NOT_REPORTING}
    assert {"plan", "check", "report", "status", "audit", "audit verify", "rules list"} <= set(commands)
    without = set()
    for name, parser in commands.items():
        formats = [a for a in parser._actions if "--format" in a.option_strings]
        if not formats or "json" not in (formats[0].choices or ()):
            without.add(name)
    assert without == NOT_YET_JSON


def test_every_command_has_one_valid_schema_and_no_schema_is_left_over() -> None:
    commands = sorted(n for n, _ in _commands(build_parser()) if n not in NOT_REPORTING)
    shipped = {p.name for p in resources.files("backstop.ground").joinpath("schemas").iterdir()}
    assert shipped == {schema_name(c) for c in commands if c != "status"}  # status's ships beside it
    for command in commands:
        schema = schema_for(command)
        jsonschema.Draft202012Validator.check_schema(schema)
        assert schema["properties"]["command"] == {"const": command}
        assert {"schemaVersion", "toolVersion", "command"} <= set(schema["required"])


def test_the_envelope_never_lets_a_body_overwrite_it() -> None:
    assert envelope("recover record", {"kind": "incident"})["command"] == "recover record"
    with pytest.raises(ValueError, match="recover record: its document already has command"):
        envelope("recover record", {"command": "x"})


def test_tool_version_is_the_installed_distribution() -> None:
    from importlib.metadata import version

    assert tool_version() == version("backstop")
    assert f"backstop {version('backstop')}" in _help_version()


def _help_version() -> str:
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit):
        main(["--version"])
    return out.getvalue()


OFFLINE = {
    "plan": ["plan", "--stack", "staging", "--format", "json", "--project-dir", str(ROOT)],
    "check": [
        "check",
        str(ROOT / "tests/data/published/pulumi-checkpoint-v4.json"),
        "--format",
        "json",
        "--project-dir",
        str(ROOT),
    ],
    "report": ["report", "--stack", "prod", "--format", "json", "--project-dir", str(ROOT)],
    "rules list": ["rules", "list", "--format", "json"],
    "waivers list": ["waivers", "list", "--format", "json", "--project-dir", str(ROOT)],
    "evidence verify": [
        "evidence",
        "verify",
        str(ROOT / "docs/evidence/evidence-prod-2026Q2"),
        "--format",
        "json",
    ],
}


@pytest.mark.parametrize("command", sorted(OFFLINE))
def test_offline_command_documents_follow_their_schema(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    main(OFFLINE[command])
    document = assert_valid(capsys.readouterr().out, command)
    assert list(document)[:3] == ["schemaVersion", "toolVersion", "command"]


def test_a_document_missing_a_required_key_fails_its_schema(capsys: pytest.CaptureFixture[str]) -> None:
    main(OFFLINE["rules list"])
    document = json.loads(capsys.readouterr().out)
    del document["rules"][0]["seed"]
    with pytest.raises(jsonschema.ValidationError, match="'seed' is a required property"):
        assert_valid(document, "rules list")


# --- rules list -------------------------------------------------------------------------------------------


def _rules_json(capsys: pytest.CaptureFixture[str]) -> dict[str, dict[str, object]]:
    assert main(["rules", "list", "--format", "json"]) == 0
    document = assert_valid(capsys.readouterr().out, "rules list")
    return {rule["id"]: rule for rule in document["rules"]}


def test_rules_list_names_exactly_the_registry(capsys: pytest.CaptureFixture[str]) -> None:
    rules = _rules_json(capsys)
    assert set(rules) == set(load_rules().ids())
    assert len(rules) == len(load_rules())


def test_rules_list_shows_a_tuned_setting_with_its_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    rule = _rules_json(capsys)["atlas-pitr-window"]
    assert rule["settings"] == [
        {
            "name": "minRestoreWindowDays",
            "prod": PolicyTargets.for_environment("prod").min_restore_window_days,
            "staging": PolicyTargets.for_environment("staging").min_restore_window_days,
            "description": PolicyTargets.model_fields["min_restore_window_days"].description,
        }
    ]
    assert rule["settings"][0]["prod"] == 7  # type: ignore[index]
    assert rule["levels"] == {"prod": "mandatory", "staging": "advisory"}
    assert rule["severity"] == "high"
    assert rule["seed"] == (
        "CARTIE backup strategy, Tier 1: 'Point-in-time recovery: down to 1-second granularity within "
        "last 7 days'."
    )


def test_rules_list_text_and_markdown(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "list"]) == 0
    text = capsys.readouterr().out
    assert text.startswith(f"{len(load_rules())} rules")
    assert "atlas-pitr-window  high  mandatory/advisory\n" in text
    assert "    settings: minRestoreWindowDays=7\n" in text
    assert main(["rules", "list", "--format", "markdown"]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| `")]
    assert len(rows) == len(load_rules())
    assert rows[0].startswith("| `acr-admin-user-disabled` | high | mandatory | advisory |")
