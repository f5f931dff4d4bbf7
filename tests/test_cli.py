"""The `backstop` command: plan and check, their formats and exit codes (0 ok, 1 mandatory, 2 bad input)."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from backstop.cli import main
from backstop.policy.core import load_rules
from tests.conftest import ROOT
from tests.policy_support import mutate, to_export, to_preview


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _write(tmp_path: Path, name: str, document: dict) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def test_plan_prod_prints_the_tree_and_passes(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "plan", "--stack", "prod", "--project-dir", str(ROOT))
    assert code == 0
    assert "CloudBackupSchedule atlas-cartie-prod-backup-schedule [protected]" in out
    assert "BackupPosture atlas" in out
    assert out.rstrip().splitlines()[-1].startswith("PASSED: 0 mandatory")


def test_plan_json_summary_counts_every_registered_rule(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "plan", "--stack", "staging", "--format", "json", "--project-dir", str(ROOT))
    document = json.loads(out)
    assert code == 0
    assert document["violations"] == []
    assert document["summary"]["rules"] == len(load_rules())
    assert document["summary"]["environment"] == "staging"
    assert document["summary"]["source"] == "Pulumi.staging.yaml"


def test_check_preview_document_of_the_prod_program_passes(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, prod_run
) -> None:
    path = _write(tmp_path, "preview.json", to_preview(prod_run.resources))
    code, out, _ = _run(capsys, "check", str(path), "--format", "json")
    assert code == 0, out
    assert json.loads(out)["summary"]["mandatory"] == 0


def test_check_export_with_suspended_versioning_fails_with_the_bucket_urn(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, prod_run
) -> None:
    broken = mutate(prod_run.resources, "media-versioning", {"versioningConfiguration.status": "Suspended"})
    path = _write(tmp_path, "export.json", to_export(broken))
    code, out, _ = _run(capsys, "check", str(path), "--format", "json")
    document = json.loads(out)
    assert code == 1
    failing = {(v["policy"], v["urn"]) for v in document["violations"] if v["level"] == "mandatory"}
    assert failing == {
        (
            "s3-versioning-enabled",
            "urn:pulumi:prod::backstop::backstop:aws:ReplicatedBucket$aws:s3/bucket:Bucket::media",
        )
    }
    violation = document["violations"][0]
    assert set(violation) == {"policy", "level", "severity", "urn", "message"}
    assert violation["severity"] == "high"
    assert "Suspended" in violation["message"]


def test_staging_targets_turn_the_same_violation_advisory(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, staging_run
) -> None:
    broken = mutate(
        staging_run.resources, "media-versioning", {"versioningConfiguration.status": "Suspended"}
    )
    path = _write(tmp_path, "export.json", to_export(broken))
    code, out, _ = _run(capsys, "check", str(path), "--stack", "staging", "--format", "json")
    document = json.loads(out)
    assert code == 0
    assert [(v["policy"], v["level"], v["urn"].split("::")[-1]) for v in document["violations"]] == [
        ("s3-versioning-enabled", "advisory", "media")
    ]
    code, out, _ = _run(capsys, "check", str(path), "--stack", "prod", "--format", "json")
    held_to_prod = {
        (v["policy"], v["level"], v["urn"].split("::")[-1]) for v in json.loads(out)["violations"]
    }
    assert code == 1
    # Held to prod, staging's cheaper choices are violations too: no compliance floor, LRS, nothing protected,
    # exports kept a month (30-day noncurrent expiry, 7-day lock) instead of the 13-month window, one App
    # Service instance without zones, a registry without a replica.
    assert held_to_prod == {
        ("app-service-plan-zone-redundant", "mandatory", "asp-wiser-staging"),
        ("acr-geo-replicated", "mandatory", "images"),
        ("s3-versioning-enabled", "mandatory", "media"),
        ("s3-lifecycle-retention", "mandatory", "atlas-exports"),
        ("s3-lifecycle-retention", "mandatory", "atlas-exports-replica"),
        ("atlas-compliance-policy", "mandatory", "atlas-project"),
        ("azure-storage-geo-redundant", "mandatory", "media-blobs"),
        *(
            ("backup-resources-protected", "mandatory", name)
            for name in (
                "atlas-cartie-staging-backup-schedule",
                "atlas-exports",
                "atlas-exports-replica",
                "backup-key-key",
                "backup-key-replica",
            )
        ),
    }


def test_prod_posture_held_to_staging_targets_flags_its_compliance_policy(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, prod_run
) -> None:
    """A Backup Compliance Policy in a staging or drill project would block its teardown."""
    path = _write(tmp_path, "export.json", to_export(prod_run.resources))
    code, out, _ = _run(capsys, "check", str(path), "--stack", "staging", "--format", "json")
    assert code == 0
    assert [(v["policy"], v["level"], v["urn"].split("::")[-1]) for v in json.loads(out)["violations"]] == [
        ("acr-release-tags-locked", "advisory", "images"),  # the undeclarable release-image lock: unknown
        ("atlas-compliance-policy", "advisory", "atlas-backup-compliance-policy"),
    ]


def test_sarif_has_real_levels_rules_and_logical_locations(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, prod_run
) -> None:
    broken = mutate(prod_run.resources, "atlas-cartie-prod", {"pitEnabled": False})
    path = _write(tmp_path, "preview.json", to_preview(broken))
    code, out, _ = _run(capsys, "check", str(path), "--format", "sarif")
    sarif = json.loads(out)
    run = sarif["runs"][0]
    assert code == 1
    assert sarif["version"] == "2.1.0"
    assert {r["id"] for r in run["tool"]["driver"]["rules"]} == set(load_rules().ids())
    [result] = [r for r in run["results"] if r["ruleId"] == "atlas-cloud-backup-enabled"]
    assert result["level"] == "error"
    assert run["tool"]["driver"]["rules"][result["ruleIndex"]]["id"] == "atlas-cloud-backup-enabled"
    location = result["locations"][0]
    assert location["physicalLocation"]["artifactLocation"]["uri"] == str(path)
    assert location["logicalLocations"][0]["fullyQualifiedName"].endswith(
        "AdvancedCluster::atlas-cartie-prod"
    )


def test_unknowns_are_notes_unless_counted_as_violations(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, prod_run
) -> None:
    from backstop.ground.resources import UNKNOWN

    unknown = mutate(prod_run.resources, "atlas-cartie-prod", {"pitEnabled": UNKNOWN})
    path = _write(tmp_path, "preview.json", to_preview(unknown))
    code, out, _ = _run(capsys, "check", str(path), "--format", "sarif")
    results = [
        r for r in json.loads(out)["runs"][0]["results"] if r["ruleId"] == "atlas-cloud-backup-enabled"
    ]
    assert code == 0
    assert [r["level"] for r in results] == ["note"]
    code, out, _ = _run(capsys, "check", str(path), "--format", "json", "--unknown-is-violation")
    assert code == 1
    assert [
        v["level"] for v in json.loads(out)["violations"] if v["policy"] == "atlas-cloud-backup-enabled"
    ] == ["mandatory"]


def test_junit_has_one_testcase_per_rule_and_a_failure_per_failing_rule(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, prod_run
) -> None:
    broken = mutate(prod_run.resources, "atlas-cartie-prod", {"backupEnabled": False})
    path = _write(tmp_path, "export.json", to_export(broken))
    code, out, _ = _run(capsys, "check", str(path), "--format", "junit")
    suite = ET.fromstring(out).find("testsuite")
    assert code == 1
    assert suite is not None
    cases = suite.findall("testcase")
    assert {c.get("name") for c in cases} == set(load_rules().ids())
    failed = {c.get("name") for c in cases if c.find("failure") is not None}
    assert "atlas-cloud-backup-enabled" in failed
    assert suite.get("failures") == str(len(failed))


def test_markdown_is_a_job_summary_table(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, prod_run
) -> None:
    broken = mutate(prod_run.resources, "atlas-cartie-prod", {"pitEnabled": False})
    path = _write(tmp_path, "export.json", to_export(broken))
    code, out, _ = _run(capsys, "check", str(path), "--format", "markdown")
    assert code == 1
    assert out.startswith("### backstop: stack `prod` — ❌ mandatory violations")
    assert (
        "| mandatory | `atlas-cloud-backup-enabled` | critical | `AdvancedCluster atlas-cartie-prod` |" in out
    )


def test_output_file_gets_the_report_and_stdout_the_verdict(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    target = tmp_path / "plan.sarif"
    code, out, _ = _run(
        capsys,
        "plan",
        "--stack",
        "prod",
        "--format",
        "sarif",
        "--output",
        str(target),
        "--project-dir",
        str(ROOT),
    )
    assert code == 0
    assert json.loads(target.read_text())["version"] == "2.1.0"
    assert out.strip().startswith("PASSED")


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("not json", "not JSON"),
        ('{"steps": {}}', "steps: expected a list"),
        ('{"steps": [{"op": "create", "newState": {"type": "x"}}]}', "steps[0].newState.urn"),
        (
            '{"version": 5, "deployment": {"resources": []}}',
            "version: expected a deployment schema version 1 to 4",
        ),
        ('{"version": 3, "deployment": {"resources": [{"urn": "u"}]}}', "deployment.resources[0].type"),
        ("[]", "expected a JSON object"),
    ],
)
def test_unusable_input_is_one_line_naming_file_and_key(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, content: str, expected: str
) -> None:
    path = tmp_path / "input.json"
    path.write_text(content, encoding="utf-8")
    code, out, err = _run(capsys, "check", str(path))
    assert code == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1
    assert str(path) in err and expected in err


def test_bad_policy_config_is_exit_2(capsys: pytest.CaptureFixture[str], tmp_path: Path, prod_run) -> None:
    doc = _write(tmp_path, "export.json", to_export(prod_run.resources))
    config = tmp_path / "policy.json"
    config.write_text(json.dumps({"minDailyRetentionDays": "lots"}), encoding="utf-8")
    code, _, err = _run(capsys, "check", str(doc), "--policy-config", str(config))
    assert code == 2
    assert err.strip().startswith(f"backstop: {config}: minDailyRetentionDays:")


def test_bad_stack_config_exits_2_without_traceback(tmp_path: Path) -> None:
    for name in ("Pulumi.yaml", "Pulumi.staging.yaml"):
        (tmp_path / name).write_text((ROOT / name).read_text())
    prod = (ROOT / "Pulumi.prod.yaml").read_text().replace("hourlyIntervalHours: 6", "hourlyIntervalHours: 5")
    (tmp_path / "Pulumi.prod.yaml").write_text(prod)
    result = subprocess.run(
        [sys.executable, "-m", "backstop", "plan", "--stack", "prod", "--project-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.strip() == (
        "backstop: Pulumi.prod.yaml: backstop:atlas.backup.hourlyIntervalHours: "
        "must be one of 1, 2, 4, 6, 8, 12 (got 5)"
    )


def test_version_prints_the_installed_package_version_and_exits_0(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`backstop --version` answers from package metadata, which pyproject.toml's version sets."""
    import tomllib

    declared = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    out, err = capsys.readouterr()
    assert (exit_info.value.code, out, err) == (0, f"backstop {declared}\n", "")


def test_the_project_is_found_upward_from_a_subdirectory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from backstop.ground.files import find_project_dir

    project = tmp_path / "project"
    deep = project / "src" / "deep"
    deep.mkdir(parents=True)
    (project / "Pulumi.yaml").write_text((ROOT / "Pulumi.yaml").read_text())
    assert find_project_dir(deep) == project.resolve()
    monkeypatch.chdir(project)
    assert main(["waivers", "list"]) == 0  # in the project itself: `.`
    assert "nothing is waived" in capsys.readouterr().out
    # `waivers list` run from the subdirectory reads the project's waivers file.
    expires = (dt.date.today() + dt.timedelta(days=60)).isoformat()
    (project / "backstop-waivers.yaml").write_text(
        "waivers:\n  - rule: s3-versioning-enabled\n    urn: '*::media'\n    owner: platform-team\n"
        f"    ticket: RISK-77\n    reason: bucket re-created\n    expires: '{expires}'\n"
    )
    monkeypatch.chdir(deep)
    assert main(["waivers", "list"]) == 0
    out = capsys.readouterr().out
    assert "RISK-77" in out and "1 of 1 waivers" in out


def test_every_command_with_a_project_finds_it_upward() -> None:
    """No subcommand keeps a `--project-dir` default of its own: each one searches upward for Pulumi.yaml."""
    from backstop.cli import build_parser
    from backstop.ground.files import PROJECT_DIR_HELP

    def walk(parser: argparse.ArgumentParser, path: str) -> Iterator[tuple[str, argparse.Action]]:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, child in action.choices.items():
                    yield from walk(child, f"{path} {name}")
            elif "--project-dir" in action.option_strings:
                yield path, action

    found = dict(walk(build_parser(), "backstop"))
    assert {"backstop plan", "backstop status", "backstop recover plan", "backstop evidence bundle"} <= set(
        found
    )
    assert {path for path, action in found.items() if action.default is not None} == set()
    assert {path for path, action in found.items() if action.help != PROJECT_DIR_HELP} == set()


def test_no_project_upward_is_one_line_naming_the_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    start = tmp_path / "nowhere"
    start.mkdir()
    monkeypatch.chdir(start)
    assert main(["waivers", "list"]) == 2
    out, err = capsys.readouterr()
    assert (out, err) == (
        "",
        f"backstop: {start.resolve()}: no Pulumi.yaml here or in any parent directory (pass --project-dir)\n",
    )
