"""Findings where the user can act (issue 23): the program line Pulumi recorded (`sourcePosition`), the key
of `Pulumi.<stack>.yaml` a plan's finding comes from, GitHub annotations on them, and SARIF and JUnit that
validate against their published schemas (vendored under tests/data/schemas, sources in SOURCES.md)."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import jsonschema
import pytest
import xmlschema
import yaml

from backstop.cli import main
from backstop.policy.core import load_rules
from backstop.policy.locations import RULE_KEYS, key_position, parse_source_position
from tests.conftest import ROOT
from tests.policy_support import mutate, to_export

PUBLISHED = ROOT / "tests" / "data" / "published"
SCHEMAS = ROOT / "tests" / "data" / "schemas"


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def project(tmp_path: Path) -> Path:
    for name in ("Pulumi.yaml", "Pulumi.prod.yaml", "Pulumi.staging.yaml"):
        shutil.copy(ROOT / name, tmp_path / name)
    return tmp_path


def _line_of(path: Path, text: str) -> int:
    [line] = [i for i, row in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if text in row]
    return line


# --- source positions -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("project:///index.ts#5,20", ("index.ts", 5, 20)),
        (
            "project:///node_modules/@pulumi/s3/s3Mixins.ts#203,19",
            ("node_modules/@pulumi/s3/s3Mixins.ts", 203, 19),
        ),
        ("file:///home/ci/infra/__main__.py#12", ("file:///home/ci/infra/__main__.py", 12, None)),
        ("project:///index.ts", None),
        ("project:///index.ts#0,1", None),
        ("https://example.com/x.ts#1,1", None),
        (42, None),
    ],
)
def test_a_source_position_is_a_file_and_a_line(text: object, expected: tuple | None) -> None:
    location = parse_source_position(text)
    assert (None if location is None else (location.uri, location.line, location.column)) == expected


def test_check_points_findings_at_the_program_line_pulumi_recorded(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A published preview of a TypeScript program: its bucket `docs` is declared at index.ts line 5."""
    path = PUBLISHED / "stratify-sample-preview-update.json"
    code, out, _ = _run(capsys, "check", str(path), "--format", "sarif")
    assert code == 1
    results = json.loads(out)["runs"][0]["results"]
    physical = [(r["ruleId"], r["locations"][0]["physicalLocation"]) for r in results]
    where = {(rule, p["artifactLocation"]["uri"], *p["region"].values()) for rule, p in physical}
    assert where == {
        (rule, "index.ts", 5, 20)
        for rule in (
            "s3-cross-region-replication",
            "s3-encryption-kms",
            "s3-public-access-block",
            "s3-versioning-enabled",
        )
    }
    assert {r["properties"]["security-severity"] for r in results} == {"8.0"}


def test_github_annotations_name_the_file_line_and_column(capsys: pytest.CaptureFixture[str]) -> None:
    path = PUBLISHED / "stratify-sample-preview-update.json"
    code, out, _ = _run(capsys, "check", str(path), "--format", "github", "--project-dir", "infra")
    assert code == 1
    lines = out.splitlines()
    assert lines[0] == (
        "::error file=infra/index.ts,line=5,col=20,title=backstop s3-cross-region-replication (high)::"
        "Bucket docs: no BucketReplicationConfig copies this bucket to another region%0Afix: Add a versioned "
        "replica bucket with region='us-west-2' and aws.s3.BucketReplicationConfig(bucket=<bucket>.id, "
        "role=<role>.arn, rules=[{'status': 'Enabled', 'destination': {'bucket': <replica>.arn}}])."
    )
    assert [line.split(" ")[0] for line in lines[:-1]] == ["::error"] * 4
    assert lines[-1].startswith("FAILED: 4 mandatory")


def test_a_partial_preview_takes_the_hidden_resources_positions_from_the_state(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Without --show-sames the bucket is only in the export given as --state: its line comes from there."""
    preview = json.loads((PUBLISHED / "stratify-sample-preview-update.json").read_text(encoding="utf-8"))
    preview["steps"] = [
        s for s in preview["steps"] if s["op"] != "same" or s["urn"].endswith("::pulumi:pulumi:Stack")
    ]
    assert not any(s["urn"].endswith("::docs") for s in preview["steps"])
    path = tmp_path / "preview.json"
    path.write_text(json.dumps(preview), encoding="utf-8")
    state = PUBLISHED / "stratify-sample-export.json"
    code, out, _ = _run(capsys, "check", str(path), "--state", str(state), "--format", "json")
    assert code == 1
    assert {
        (v["urn"].split("::")[-1], v["location"]["uri"], v["location"]["line"])
        for v in json.loads(out)["violations"]
    } == {("docs", "index.ts", 5)}


def test_an_export_without_source_positions_points_at_the_document(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, prod_run
) -> None:
    broken = mutate(prod_run.resources, "media-versioning", {"versioningConfiguration.status": "Suspended"})
    path = tmp_path / "export.json"
    path.write_text(json.dumps(to_export(broken)), encoding="utf-8")
    _, out, _ = _run(capsys, "check", str(path), "--format", "github")
    [error] = [line for line in out.splitlines() if line.startswith("::error")]
    assert error.startswith(
        f"::error file={str(path).replace(':', '%3A')},line=1,title=backstop s3-versioning"
    )


# --- stack config keys ----------------------------------------------------------------------------------


def test_a_plan_finding_points_at_the_stack_file_key_that_decides_it(
    capsys: pytest.CaptureFixture[str], project: Path
) -> None:
    stack_file = project / "Pulumi.prod.yaml"
    stack_file.write_text(
        stack_file.read_text(encoding="utf-8").replace("restoreWindowDays: 7", "restoreWindowDays: 3"),
        encoding="utf-8",
    )
    code, out, _ = _run(capsys, "plan", "--format", "json", "--project-dir", str(project))
    assert code == 1
    located = {
        (v["policy"], v["urn"].split("::")[-1], v["location"]["key"], v["location"]["line"])
        for v in json.loads(out)["violations"]
    }
    window = _line_of(stack_file, "restoreWindowDays: 3")
    assert located == {
        (
            "atlas-pitr-window",
            "atlas-backup-compliance-policy",
            "backstop:atlas.backup.restoreWindowDays",
            window,
        ),
        (
            "atlas-pitr-window",
            "atlas-cartie-prod-backup-schedule",
            "backstop:atlas.backup.restoreWindowDays",
            window,
        ),
        ("acr-release-tags-locked", "images", "backstop:app.registry", _line_of(stack_file, "  registry:")),
    }
    _, out, _ = _run(capsys, "plan", "--format", "sarif", "--project-dir", str(project))
    [result, *_] = json.loads(out)["runs"][0]["results"]
    assert result["locations"][0]["physicalLocation"] == {
        "artifactLocation": {"uri": f"{project.as_posix()}/Pulumi.prod.yaml"},
        "region": {"startLine": window},
    }
    assert result["properties"]["configKey"] == "backstop:atlas.backup.restoreWindowDays"


def test_a_key_left_to_its_default_points_at_its_section() -> None:
    config = yaml.compose("config:\n  backstop:atlas:\n    backup:\n      copyRegion: US_WEST_2\n").value[0][
        1
    ]
    assert key_position(config, "backstop:atlas.backup.restoreWindowDays", "x") == (
        "backstop:atlas.backup",
        3,
    )
    assert key_position(config, "backstop:aws.kmsDeletionWindowDays", "x") is None


# Resource names whose list item each `[]` key picks in the prod stack file.
ITEMS = {"clusters": "atlas-cartie-prod", "apps": "wiser-prod-app", "queues": "email-campaigns"}


@pytest.mark.parametrize("rule_id", sorted(RULE_KEYS))
def test_every_rule_key_is_a_rule_and_a_key_of_the_prod_stack_file(rule_id: str) -> None:
    """The table cannot rot: each key names a registered rule and is written, to its last part, in prod."""
    assert rule_id in load_rules().ids()
    path = RULE_KEYS[rule_id]
    root = yaml.compose((ROOT / "Pulumi.prod.yaml").read_text(encoding="utf-8"))
    config = next(value for key, value in root.value if key.value == "config")
    resource = next((name for part, name in ITEMS.items() if f"{part}[]" in path), "")
    found = key_position(config, path, resource)
    assert found is not None
    written, line = found
    assert written.replace("[0]", "").replace("[1]", "") == path.replace("[]", "")
    assert line > 1


# --- schemas --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def rich_report(prod_run, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """An export with a mandatory, an advisory unknown, a waived and (as the project's waivers) an expired
    waiver's finding: every kind of result the formats write."""
    project = tmp_path_factory.mktemp("project")
    for name in ("Pulumi.yaml", "Pulumi.prod.yaml"):
        shutil.copy(ROOT / name, project / name)
    today = dt.datetime.now(dt.UTC).date()
    waiver = {
        "rule": "s3-versioning-enabled",
        "urn": "*::media",
        "owner": "platform-team",
        "ticket": "RISK-42",
        "reason": "bucket re-created",
    }
    (project / "backstop-waivers.yaml").write_text(
        yaml.safe_dump(
            {
                "waivers": [
                    {**waiver, "expires": (today + dt.timedelta(days=5)).isoformat()},
                    {
                        **waiver,
                        "rule": "kms-key-rotation",
                        "expires": (today - dt.timedelta(days=1)).isoformat(),
                    },
                ]
            }
        ),
        encoding="utf-8",
    )
    broken = mutate(prod_run.resources, "media-versioning", {"versioningConfiguration.status": "Suspended"})
    broken = mutate(broken, "atlas-cartie-prod", {"pitEnabled": False})
    path = project / "export.json"
    path.write_text(json.dumps(to_export(broken)), encoding="utf-8")
    return project, path


def test_sarif_validates_against_the_sarif_2_1_0_schema(
    capsys: pytest.CaptureFixture[str], rich_report: tuple[Path, Path], tmp_path: Path
) -> None:
    project, path = rich_report
    schema = json.loads((SCHEMAS / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
    validator = jsonschema.Draft4Validator(schema)
    code, out, _ = _run(capsys, "check", str(path), "--format", "sarif", "--project-dir", str(project))
    sarif = json.loads(out)
    assert code == 1
    assert sorted(e.message for e in validator.iter_errors(sarif)) == []
    results = sarif["runs"][0]["results"]
    assert {"suppressions" in r for r in results} == {True, False}
    # A baselined run adds baselineState to every result, which the schema enumerates.
    baseline = tmp_path / "baseline.json"
    _run(capsys, "check", str(path), "--create-baseline", str(baseline), "--project-dir", str(project))
    _, out, _ = _run(
        capsys,
        "check",
        str(path),
        "--format",
        "sarif",
        "--baseline",
        str(baseline),
        "--project-dir",
        str(project),
    )
    sarif = json.loads(out)
    assert sorted(e.message for e in validator.iter_errors(sarif)) == []
    assert {r.get("baselineState") for r in sarif["runs"][0]["results"]} == {"unchanged", None}
    # The schema does catch a malformed log: a level SARIF does not define.
    sarif["runs"][0]["results"][0]["level"] = "fatal"
    assert [e.message for e in validator.iter_errors(sarif)] == [
        "'fatal' is not one of ['none', 'note', 'warning', 'error']"
    ]


def test_junit_validates_against_the_junit_schema(
    capsys: pytest.CaptureFixture[str], rich_report: tuple[Path, Path]
) -> None:
    project, path = rich_report
    schema = xmlschema.XMLSchema(SCHEMAS / "junit-10.xsd")
    code, out, _ = _run(capsys, "check", str(path), "--format", "junit", "--project-dir", str(project))
    assert code == 1
    schema.validate(out)
    assert schema.is_valid(out)
    assert not schema.is_valid(out.replace("<skipped ", "<ignored ").replace("</skipped>", "</ignored>"))


def test_source_positions_take_each_urn_s_last_recorded_position() -> None:
    """A preview step's new state wins over its old one; states that are not objects, or whose position or
    URN is not a string, record nothing."""
    from backstop.policy.sources import source_positions

    bucket, key = "urn:pulumi:prod::p::aws:s3/bucketV2:BucketV2::b", "urn:pulumi:prod::p::aws:kms/key:Key::k"
    preview = {
        "steps": [
            {
                "op": "update",
                "urn": bucket,
                "oldState": {"urn": bucket, "sourcePosition": "project:///index.ts#3,1"},
                "newState": {"urn": bucket, "sourcePosition": "project:///index.ts#5,20"},
            },
            {"op": "create", "urn": key, "newState": {"urn": key, "sourcePosition": 7}},
            {"op": "same", "urn": key, "oldState": {"urn": 8, "sourcePosition": "project:///a.ts#1,1"}},
            "not a step",
        ]
    }
    assert source_positions(preview) == {bucket: "project:///index.ts#5,20"}
    export = {"deployment": {"resources": [{"urn": key, "sourcePosition": "project:///k.ts#2,4"}, None]}}
    assert source_positions(export) == {key: "project:///k.ts#2,4"}
