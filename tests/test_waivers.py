"""Waivers, baselines and `--fail-on` (issue 23): accepted findings are reported as suppressed, never dropped,
and never fail the run; expired waivers stop applying; the exit code follows severity when asked to."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path
from xml.etree import ElementTree as ET

import jsonschema
import pytest
import yaml

from backstop.cli import main
from backstop.config.common import ConfigError
from backstop.config.waivers import generated_schema, parse_waivers, shipped_schema
from tests.conftest import ROOT
from tests.policy_support import mutate, to_export

MEDIA = "urn:pulumi:prod::backstop::backstop:aws:ReplicatedBucket$aws:s3/bucket:Bucket::media"
CLUSTER = (
    "urn:pulumi:prod::backstop::backstop:atlas:BackupPosture"
    "$mongodbatlas:index/advancedCluster:AdvancedCluster::atlas-cartie-prod"
)
# The prod stack's one standing finding: the registry's release-image lock cannot be declared (an advisory
# unknown until attested).
REGISTRY_LOCK = (
    "acr-release-tags-locked:urn:pulumi:prod::backstop::backstop:app:ImageRegistry"
    "$azure-native:containerregistry:Registry::images"
)
TODAY = dt.datetime.now(dt.UTC).date()


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _waiver(rule: str, urn: str, days: int, **extra: str) -> dict[str, object]:
    return {
        "rule": rule,
        "urn": urn,
        "owner": extra.get("owner", "platform-team"),
        "ticket": extra.get("ticket", "RISK-42"),
        "reason": extra.get("reason", "media bucket re-created under change CHG-7"),
        "expires": (TODAY + dt.timedelta(days=days)).isoformat(),
    }


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project directory like the repository's, without a waivers file yet."""
    for name in ("Pulumi.yaml", "Pulumi.prod.yaml", "Pulumi.staging.yaml"):
        shutil.copy(ROOT / name, tmp_path / name)
    return tmp_path


def _waivers(project: Path, *entries: dict[str, object]) -> None:
    (project / "backstop-waivers.yaml").write_text(
        yaml.safe_dump({"waivers": list(entries)}, sort_keys=False), encoding="utf-8"
    )


@pytest.fixture(scope="module")
def broken_export(prod_run, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The prod stack with the media bucket's versioning suspended (s3-versioning-enabled, high) and the
    cluster's point-in-time recovery off (atlas-cloud-backup-enabled, critical)."""
    broken = mutate(prod_run.resources, "media-versioning", {"versioningConfiguration.status": "Suspended"})
    broken = mutate(broken, "atlas-cartie-prod", {"pitEnabled": False})
    path = tmp_path_factory.mktemp("export") / "export.json"
    path.write_text(json.dumps(to_export(broken)), encoding="utf-8")
    return path


def _failing(document: dict) -> set[tuple[str, str]]:
    return {
        (v["policy"], v["urn"].split("::")[-1]) for v in document["violations"] if v["level"] == "mandatory"
    }


# --- the file -------------------------------------------------------------------------------------------


def test_a_waivers_file_with_three_problems_is_three_lines_naming_file_and_key() -> None:
    text = yaml.safe_dump(
        {
            "waivers": [
                {k: v for k, v in _waiver("s3-versioning-enabled", MEDIA, 10).items() if k != "owner"},
                {**_waiver("kms-key-rotation", "*", 10), "expires": "next year"},
                {**_waiver("kms-key-rotation", "*", 10), "approvedBy": "me"},
            ]
        }
    )
    with pytest.raises(ConfigError) as error:
        parse_waivers(text, "backstop-waivers.yaml")
    lines = str(error.value).splitlines()
    assert [line.split(": ")[1] for line in lines] == [
        "waivers[0].owner",
        "waivers[1].expires",
        "waivers[2].approvedBy",
    ]
    assert all(line.startswith("backstop-waivers.yaml: ") for line in lines)
    assert lines[0].endswith("is required")


def test_the_shipped_json_schema_is_the_models_and_rejects_what_the_model_rejects() -> None:
    assert shipped_schema() == generated_schema()
    good = {"waivers": [_waiver("s3-versioning-enabled", MEDIA, 10)]}
    jsonschema.validate(good, shipped_schema())
    assert parse_waivers(yaml.safe_dump(good), "w.yaml").waivers[0].owner == "platform-team"
    missing_ticket = {"waivers": [{k: v for k, v in good["waivers"][0].items() if k != "ticket"}]}
    with pytest.raises(jsonschema.ValidationError, match="'ticket' is a required property"):
        jsonschema.validate(missing_ticket, shipped_schema())


def test_a_waiver_naming_no_rule_is_refused_with_its_key(
    capsys: pytest.CaptureFixture[str], project: Path, broken_export: Path
) -> None:
    _waivers(project, _waiver("s3-versoning-enabled", MEDIA, 30))
    code, out, err = _run(capsys, "check", str(broken_export), "--project-dir", str(project))
    assert code == 2
    assert out == ""
    assert err.strip() == (
        "backstop: backstop-waivers.yaml: waivers[0].rule: no rule 's3-versoning-enabled' "
        "(`backstop rules` lists them)"
    )


# --- applying waivers -----------------------------------------------------------------------------------


def test_a_live_waiver_suppresses_its_finding_and_no_waivers_shows_it_again(
    capsys: pytest.CaptureFixture[str], project: Path, broken_export: Path
) -> None:
    _waivers(project, _waiver("s3-versioning-enabled", "urn:pulumi:prod::backstop::*::media", 30))
    code, out, _ = _run(
        capsys, "check", str(broken_export), "--format", "json", "--project-dir", str(project)
    )
    document = json.loads(out)
    assert code == 1  # the critical PITR finding is not waived
    assert _failing(document) == {("atlas-cloud-backup-enabled", "atlas-cartie-prod")}
    [waived] = document["waived"]
    assert (waived["policy"], waived["urn"], waived["level"]) == ("s3-versioning-enabled", MEDIA, "mandatory")
    assert waived["waiver"]["owner"] == "platform-team"
    assert waived["waiver"]["ticket"] == "RISK-42"
    assert document["summary"]["waived"] == 1
    assert document["waivers"] == {"expired": [], "expiring": [], "unmatched": []}

    code, out, _ = _run(
        capsys, "check", str(broken_export), "--format", "json", "--no-waivers", "--project-dir", str(project)
    )
    document = json.loads(out)
    assert _failing(document) == {
        ("atlas-cloud-backup-enabled", "atlas-cartie-prod"),
        ("s3-versioning-enabled", "media"),
    }
    assert document["waived"] == []


def test_waiving_every_finding_passes_and_the_text_report_names_each_waiver(
    capsys: pytest.CaptureFixture[str], project: Path, broken_export: Path
) -> None:
    _waivers(
        project,
        _waiver("s3-versioning-enabled", MEDIA, 30),
        _waiver(
            "atlas-cloud-backup-enabled", CLUSTER, 60, ticket="RISK-43", reason="PITR paused for a resync"
        ),
    )
    code, out, _ = _run(capsys, "check", str(broken_export), "--project-dir", str(project))
    assert code == 0
    waived = [line.strip() for line in out.splitlines() if line.strip().startswith("[WAIVED]")]
    until = (TODAY + dt.timedelta(days=60)).isoformat()
    assert waived == [
        "[WAIVED] atlas-cloud-backup-enabled (critical) AdvancedCluster atlas-cartie-prod: PITR paused for a "
        f"resync (owner platform-team, RISK-43, until {until})",
        "[WAIVED] s3-versioning-enabled (high) Bucket media: media bucket re-created under change CHG-7 "
        f"(owner platform-team, RISK-42, until {(TODAY + dt.timedelta(days=30)).isoformat()})",
    ]
    # The registry's undeclarable release-tag lock stays an advisory unknown.
    assert out.rstrip().splitlines()[-1].startswith("PASSED: 0 mandatory, 1 advisory (1 unknown")
    assert "2 waived, 0 in the baseline" in out.splitlines()[-1]


def test_an_expired_waiver_no_longer_applies_and_says_so(
    capsys: pytest.CaptureFixture[str], project: Path, broken_export: Path
) -> None:
    _waivers(
        project,
        _waiver("s3-versioning-enabled", MEDIA, -1),  # its last day was yesterday
        _waiver("atlas-cloud-backup-enabled", CLUSTER, 0),  # today is its last day: still applies
    )
    code, out, _ = _run(
        capsys, "check", str(broken_export), "--format", "json", "--project-dir", str(project)
    )
    document = json.loads(out)
    assert code == 1
    assert _failing(document) == {("s3-versioning-enabled", "media")}
    assert [w["policy"] for w in document["waived"]] == ["atlas-cloud-backup-enabled"]
    [expired] = document["waivers"]["expired"]
    assert expired.startswith("backstop-waivers.yaml: waivers[0] (s3-versioning-enabled")
    assert "no longer applies" in expired
    [expiring] = document["waivers"]["expiring"]
    assert expiring.startswith("backstop-waivers.yaml: waivers[1] (atlas-cloud-backup-enabled")
    assert "(in 0 days)" in expiring


def test_a_waiver_within_14_days_warns_and_one_matching_nothing_is_reported(
    capsys: pytest.CaptureFixture[str], project: Path, broken_export: Path
) -> None:
    _waivers(
        project,
        _waiver("s3-versioning-enabled", MEDIA, 14),  # 14 days left: within 14 days, it warns
        _waiver("atlas-cloud-backup-enabled", CLUSTER, 15),  # 15 days left: no warning yet
        _waiver(
            "kms-key-rotation", "urn:pulumi:prod::backstop::*", 90
        ),  # every key rotates: nothing to waive
    )
    code, out, err = _run(
        capsys, "check", str(broken_export), "--format", "json", "--project-dir", str(project)
    )
    document = json.loads(out)
    assert code == 0
    assert [line.split(" (")[0] for line in document["waivers"]["expiring"]] == [
        "backstop-waivers.yaml: waivers[0]"
    ]
    assert "(in 14 days)" in document["waivers"]["expiring"][0]
    assert [line.split(" (")[0] for line in document["waivers"]["unmatched"]] == [
        "backstop-waivers.yaml: waivers[2]"
    ]
    assert document["waivers"]["expired"] == []
    # Machine formats keep stdout parseable; the warnings also go to stderr for the person running it.
    assert [line.split(" (")[0] for line in err.splitlines()] == [
        "backstop: backstop-waivers.yaml: waivers[0]",
        "backstop: backstop-waivers.yaml: waivers[2]",
    ]


def test_plan_reads_the_waivers_beside_pulumi_yaml(capsys: pytest.CaptureFixture[str], project: Path) -> None:
    """The prod plan's one finding is the registry's release-tag lock, which no SDK can declare (an advisory
    unknown): a reviewed waiver turns it into a waived finding."""
    code, out, _ = _run(capsys, "plan", "--stack", "prod", "--format", "json", "--project-dir", str(project))
    assert [(v["policy"], v["urn"].split("::")[-1]) for v in json.loads(out)["violations"]] == [
        ("acr-release-tags-locked", "images")
    ]
    _waivers(project, _waiver("acr-release-tags-locked", "urn:pulumi:prod::backstop::*::images", 30))
    code, out, _ = _run(capsys, "plan", "--stack", "prod", "--format", "json", "--project-dir", str(project))
    document = json.loads(out)
    assert code == 0
    assert document["violations"] == []
    assert [(w["policy"], w["urn"].split("::")[-1], w["level"]) for w in document["waived"]] == [
        ("acr-release-tags-locked", "images", "advisory")
    ]


# --- baselines ------------------------------------------------------------------------------------------


def test_create_baseline_accepts_todays_findings_and_only_new_ones_fail(
    capsys: pytest.CaptureFixture[str], project: Path, prod_run, tmp_path: Path
) -> None:
    first = mutate(prod_run.resources, "media-versioning", {"versioningConfiguration.status": "Suspended"})
    before = tmp_path / "before.json"
    before.write_text(json.dumps(to_export(first)), encoding="utf-8")
    baseline = tmp_path / "baseline.json"
    code, out, _ = _run(
        capsys, "check", str(before), "--create-baseline", str(baseline), "--project-dir", str(project)
    )
    assert code == 0
    written = json.loads(baseline.read_text(encoding="utf-8"))
    assert {f["fingerprint"] for f in written["findings"]} == {
        f"s3-versioning-enabled:{MEDIA}",
        REGISTRY_LOCK,
    }

    later = mutate(first, "atlas-cartie-prod", {"pitEnabled": False})
    after = tmp_path / "after.json"
    after.write_text(json.dumps(to_export(later)), encoding="utf-8")
    code, out, _ = _run(
        capsys,
        "check",
        str(after),
        "--baseline",
        str(baseline),
        "--format",
        "json",
        "--project-dir",
        str(project),
    )
    document = json.loads(out)
    assert code == 1
    assert _failing(document) == {("atlas-cloud-backup-enabled", "atlas-cartie-prod")}
    assert {(b["policy"], b["urn"]) for b in document["baselined"]} == {
        ("s3-versioning-enabled", MEDIA),
        tuple(REGISTRY_LOCK.split(":", 1)),
    }


def test_a_sarif_log_is_a_baseline_and_a_fixed_finding_is_noted(
    capsys: pytest.CaptureFixture[str], project: Path, prod_run, broken_export: Path, tmp_path: Path
) -> None:
    sarif = tmp_path / "last.sarif"
    code, _, _ = _run(
        capsys,
        "check",
        str(broken_export),
        "--format",
        "sarif",
        "--output",
        str(sarif),
        "--project-dir",
        str(project),
    )
    assert code == 1
    fixed = mutate(prod_run.resources, "media-versioning", {"versioningConfiguration.status": "Suspended"})
    path = tmp_path / "fixed.json"
    path.write_text(json.dumps(to_export(fixed)), encoding="utf-8")
    code, out, _ = _run(
        capsys,
        "check",
        str(path),
        "--baseline",
        str(sarif),
        "--format",
        "json",
        "--project-dir",
        str(project),
    )
    document = json.loads(out)
    assert code == 0
    assert {b["policy"] for b in document["baselined"]} == {
        "s3-versioning-enabled",
        "acr-release-tags-locked",
    }
    assert (
        f"1 finding of the baseline {sarif} is no longer found: fixed, or the resource is gone"
        in (document["summary"]["notes"])
    )


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("[]", "expected a JSON object"),
        ('{"schemaVersion": 9, "findings": []}', "schemaVersion: expected 1"),
        ('{"schemaVersion": 1, "findings": [{"fingerprint": 3}]}', "findings[0].fingerprint"),
    ],
)
def test_an_unusable_baseline_is_one_line_naming_file_and_key(
    capsys: pytest.CaptureFixture[str],
    project: Path,
    broken_export: Path,
    tmp_path: Path,
    content: str,
    expected: str,
) -> None:
    baseline = tmp_path / "baseline.json"
    baseline.write_text(content, encoding="utf-8")
    code, out, err = _run(
        capsys, "check", str(broken_export), "--baseline", str(baseline), "--project-dir", str(project)
    )
    assert code == 2
    assert out == ""
    assert err.startswith(f"backstop: {baseline}: ")
    assert expected in err
    assert len(err.strip().splitlines()) == 1


# --- severity -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("fail_on", "code"), [("critical", 0), ("high", 1), ("medium", 1), ("low", 1)])
def test_fail_on_follows_severity(
    capsys: pytest.CaptureFixture[str], project: Path, prod_run, tmp_path: Path, fail_on: str, code: int
) -> None:
    """Suspended versioning is a high finding: it fails the run at --fail-on high or lower, not critical."""
    broken = mutate(prod_run.resources, "media-versioning", {"versioningConfiguration.status": "Suspended"})
    path = tmp_path / "export.json"
    path.write_text(json.dumps(to_export(broken)), encoding="utf-8")
    got, out, _ = _run(
        capsys, "check", str(path), "--fail-on", fail_on, "--format", "json", "--project-dir", str(project)
    )
    document = json.loads(out)
    assert got == code
    assert document["summary"]["exitCode"] == code
    assert document["summary"]["failOn"] == fail_on
    assert _failing(document) == {("s3-versioning-enabled", "media")}  # still reported as mandatory


# --- formats --------------------------------------------------------------------------------------------


def test_sarif_marks_waived_findings_as_external_suppressions(
    capsys: pytest.CaptureFixture[str], project: Path, broken_export: Path
) -> None:
    _waivers(project, _waiver("s3-versioning-enabled", MEDIA, 30))
    code, out, _ = _run(
        capsys, "check", str(broken_export), "--format", "sarif", "--project-dir", str(project)
    )
    results = json.loads(out)["runs"][0]["results"]
    suppressed = {r["ruleId"]: r["suppressions"] for r in results if "suppressions" in r}
    assert code == 1
    assert list(suppressed) == ["s3-versioning-enabled"]
    [suppression] = suppressed["s3-versioning-enabled"]
    assert suppression["kind"] == "external"
    assert suppression["status"] == "accepted"
    assert suppression["justification"].startswith(
        "media bucket re-created under change CHG-7 (owner platform-team"
    )
    assert {r["ruleId"] for r in results if "suppressions" not in r} == {
        "atlas-cloud-backup-enabled",
        "acr-release-tags-locked",
    }


def test_junit_reports_a_waived_finding_as_a_skipped_case(
    capsys: pytest.CaptureFixture[str], project: Path, broken_export: Path
) -> None:
    _waivers(project, _waiver("s3-versioning-enabled", MEDIA, 30))
    code, out, _ = _run(
        capsys, "check", str(broken_export), "--format", "junit", "--project-dir", str(project)
    )
    assert code == 1
    suite = ET.fromstring(out).find("testsuite")
    assert suite is not None
    skipped = [c for c in suite.findall("testcase") if c.find("skipped") is not None]
    assert [c.get("name") for c in skipped] == ["s3-versioning-enabled Bucket media"]
    assert suite.get("skipped") == "1"
    failed = {c.get("name") for c in suite.findall("testcase") if c.find("failure") is not None}
    assert failed == {"atlas-cloud-backup-enabled"}


def test_markdown_lists_waived_findings(
    capsys: pytest.CaptureFixture[str], project: Path, broken_export: Path
) -> None:
    _waivers(project, _waiver("s3-versioning-enabled", MEDIA, 30))
    _, out, _ = _run(
        capsys, "check", str(broken_export), "--format", "markdown", "--project-dir", str(project)
    )
    [row] = [line for line in out.splitlines() if line.startswith("| waived |")]
    assert row.startswith(
        "| waived | `s3-versioning-enabled` | high | `Bucket media` | media bucket re-created"
    )


# --- backstop waivers list ------------------------------------------------------------------------------


def test_waivers_list_expiring_shows_the_expired_and_the_soon_to_lapse(
    capsys: pytest.CaptureFixture[str], project: Path
) -> None:
    _waivers(
        project,
        _waiver("s3-versioning-enabled", MEDIA, 40),
        _waiver("atlas-cloud-backup-enabled", CLUSTER, 5),
        _waiver("kms-key-rotation", "*", -2),
    )
    code, out, _ = _run(
        capsys, "waivers", "list", "--expiring", "14", "--format", "json", "--project-dir", str(project)
    )
    document = json.loads(out)
    assert code == 1
    assert [(w["index"], w["rule"], w["daysLeft"], w["expired"]) for w in document["waivers"]] == [
        (2, "kms-key-rotation", -2, True),
        (1, "atlas-cloud-backup-enabled", 5, False),
    ]
    code, out, _ = _run(capsys, "waivers", "list", "--expiring", "1", "--project-dir", str(project))
    assert code == 1
    assert "1 of 3 waivers expiring within 1 days" in out
    assert "expired 2 days ago" in out


def test_waivers_list_without_a_file_or_with_only_live_waivers_exits_0(
    capsys: pytest.CaptureFixture[str], project: Path
) -> None:
    code, out, _ = _run(capsys, "waivers", "list", "--project-dir", str(project))
    assert code == 0
    assert "nothing is waived" in out
    _waivers(project, _waiver("s3-versioning-enabled", MEDIA, 40))
    code, out, _ = _run(capsys, "waivers", "list", "--project-dir", str(project))
    assert code == 0
    assert "1 of 1 waivers" in out


# --- the CrossGuard pack --------------------------------------------------------------------------------


def test_the_pack_reports_a_waived_finding_as_advisory_and_an_expired_waiver_as_lapsed(project: Path) -> None:
    from pulumi_policy.proxy import UnknownValueError

    from backstop.config.waivers import read_waivers
    from backstop.policy.core import Finding, load_rules
    from backstop.policy.crossguard import report
    from backstop.policy.suppressions import pack_waivers
    from backstop.policy.targets import PolicyTargets

    _waivers(
        project,
        _waiver("s3-versioning-enabled", "urn:pulumi:prod::backstop::*::media", 30),
        _waiver("s3-versioning-enabled", "urn:pulumi:prod::backstop::*::atlas-exports", -3, ticket="RISK-9"),
    )
    waivers = pack_waivers(project, load_rules().ids())
    assert waivers == tuple(read_waivers(project).waivers)  # type: ignore[union-attr]
    exports = MEDIA.replace("::media", "::atlas-exports")
    findings = [Finding(MEDIA, "versioning is Suspended"), Finding(exports, "versioning is Suspended")]
    reported: list[tuple[str, str]] = []
    with pytest.raises(UnknownValueError) as advisory:
        report(
            load_rules().get("s3-versioning-enabled"),
            findings,
            PolicyTargets.for_environment("prod"),
            lambda message, urn: reported.append((urn, message)),
            waivers,
        )
    assert [urn for urn, _ in reported] == [exports]  # the expired waiver covers nothing: it fails
    assert f"(the waiver RISK-9 expired on {(TODAY - dt.timedelta(days=3)).isoformat()}" in reported[0][1]
    assert advisory.value.message.startswith("waived, not failing: media: versioning is Suspended (waiver: ")
    assert advisory.value.message.endswith(f"[{MEDIA}]")


def test_the_pack_refuses_a_waiver_naming_no_rule(project: Path) -> None:
    from backstop.policy.core import load_rules
    from backstop.policy.suppressions import pack_waivers

    assert pack_waivers(project, load_rules().ids()) == ()
    _waivers(project, _waiver("no-such-rule", "*", 30))
    with pytest.raises(
        ConfigError, match=r"^backstop-waivers.yaml: waivers\[0\].rule: no rule 'no-such-rule'"
    ):
        pack_waivers(project, load_rules().ids())


def test_the_packs_policies_carry_the_waivers_to_each_resource_they_judge(prod_run) -> None:
    """The path `serve` builds: a resource policy of `build_policies(waivers=...)` waives its finding."""
    from types import SimpleNamespace

    from pulumi_policy import ResourceValidationArgs
    from pulumi_policy.proxy import UnknownValueError

    from backstop.config.waivers import Waiver
    from backstop.policy.crossguard import build_policies

    cluster = mutate(prod_run.resources, "atlas-cartie-prod", {"pitEnabled": False})
    [resource] = [r for r in cluster if r.urn == CLUSTER]
    args = ResourceValidationArgs(
        resource.type,
        dict(resource.props),  # plain JSON values: no unknown in this one
        resource.urn,
        resource.name,
        SimpleNamespace(protect=False, parent=None),  # type: ignore[arg-type]
        None,
    )

    def judged(waivers: tuple[Waiver, ...]) -> list[str]:
        [policy] = [
            p for p in build_policies(stack="prod", waivers=waivers) if p.name == "atlas-cloud-backup-enabled"
        ]
        reported: list[str] = []
        try:
            policy.validate(args, lambda message, urn: reported.append(f"violation {urn}"))
        except UnknownValueError as error:
            reported.append(f"advisory {error.message}")
        return reported

    assert judged(()) == [f"violation {CLUSTER}"]
    waiver = Waiver.model_validate(_waiver("atlas-cloud-backup-enabled", "*::atlas-cartie-prod", 30))
    [advisory] = judged((waiver,))
    assert advisory.startswith("advisory waived, not failing: atlas-cartie-prod: ")


def test_every_problem_of_the_waivers_file_is_its_own_prefixed_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], project: Path, broken_export: Path
) -> None:
    _waivers(
        project,
        {**_waiver("s3-versioning-enabled", MEDIA, 30), "expires": "next year"},
        {k: v for k, v in _waiver("s3-versioning-enabled", MEDIA, 30).items() if k != "reason"},
    )
    code, out, err = _run(capsys, "check", str(broken_export), "--project-dir", str(project))
    assert code == 2
    assert out == ""
    assert err.splitlines() == [
        "backstop: backstop-waivers.yaml: waivers[0].expires: expected a date, YYYY-MM-DD (got 'next year')",
        "backstop: backstop-waivers.yaml: waivers[1].reason: is required",
    ]


# --- impossible dates, and every problem in one pass ----------------------------------------------------


def _command(name: str, export: Path, project: Path) -> list[str]:
    return {
        "plan": ["plan", "--stack", "prod"],
        "check": ["check", str(export)],
        "waivers list": ["waivers", "list"],
    }[name] + ["--project-dir", str(project)]


@pytest.mark.parametrize("day", ["2027-02-30", "2026-13-01"])
@pytest.mark.parametrize("command", ["plan", "check", "waivers list"])
def test_an_unquoted_impossible_date_is_one_line_naming_entry_and_key(
    capsys: pytest.CaptureFixture[str], project: Path, broken_export: Path, day: str, command: str
) -> None:
    """PyYAML builds an unquoted date while loading and raises ValueError (not YAMLError) on one no calendar
    has: it was a traceback."""
    entry = (
        "- {{rule: s3-versioning-enabled, urn: '*::media', owner: o, ticket: T-1, reason: r, expires: {}}}\n"
    )
    good = (TODAY + dt.timedelta(days=30)).isoformat()
    (project / "backstop-waivers.yaml").write_text("waivers:\n" + entry.format(good) + entry.format(day))
    code, out, err = _run(capsys, *_command(command, broken_export, project))
    assert (code, out) == (2, "")
    assert err.splitlines() == [
        f"backstop: backstop-waivers.yaml: waivers[1].expires: '{day}' is not a day of the calendar "
        "(YYYY-MM-DD)"
    ]


@pytest.mark.parametrize("day", ["2027-02-30", "2026-13-01"])
def test_the_pack_refuses_an_impossible_date_as_it_refuses_other_bad_files(project: Path, day: str) -> None:
    from backstop.policy.core import load_rules
    from backstop.policy.suppressions import pack_waivers

    (project / "backstop-waivers.yaml").write_text(
        f"waivers:\n- rule: s3-versioning-enabled\n  urn: '*'\n  owner: me\n  ticket: T-1\n  reason: r\n"
        f"  expires: {day}\n"
    )
    with pytest.raises(ConfigError) as refused:
        pack_waivers(project, load_rules().ids())
    assert str(refused.value) == (
        f"backstop-waivers.yaml: waivers[0].expires: '{day}' is not a day of the calendar (YYYY-MM-DD)"
    )


def test_an_unquoted_real_date_still_reads_as_that_day() -> None:
    text = "waivers:\n- {rule: r, urn: '*', owner: o, ticket: t, reason: why, expires: 2028-02-29}\n"
    assert parse_waivers(text, "w.yaml").waivers[0].expires == dt.date(2028, 2, 29)
    for timestamp in ("2028-02-29 10:00:00", "2028-02-29T10:00:00Z"):
        with pytest.raises(ConfigError, match=r"waivers\[0\].expires: expected a date, YYYY-MM-DD"):
            parse_waivers(text.replace("2028-02-29", timestamp), "w.yaml")


@pytest.mark.parametrize("command", ["plan", "check", "waivers list"])
def test_unknown_rules_and_schema_errors_are_reported_together_in_entry_order(
    capsys: pytest.CaptureFixture[str], project: Path, broken_export: Path, command: str
) -> None:
    """Before, a misspelt rule was only reported once every schema error was fixed, and `waivers list`
    never checked rule ids."""
    _waivers(
        project,
        {k: v for k, v in _waiver("s3-versoning-enabled", MEDIA, 30).items() if k != "owner"},
        _waiver("s3-versioning-enabled", MEDIA, 30),
        {**_waiver("no-such-rule", "*", 30), "expires": "soon"},
    )
    code, out, err = _run(capsys, *_command(command, broken_export, project))
    assert (code, out) == (2, "")
    assert err.splitlines() == [
        "backstop: backstop-waivers.yaml: waivers[0].rule: no rule 's3-versoning-enabled' "
        "(`backstop rules` lists them)",
        "backstop: backstop-waivers.yaml: waivers[0].owner: is required",
        "backstop: backstop-waivers.yaml: waivers[2].rule: no rule 'no-such-rule' "
        "(`backstop rules` lists them)",
        "backstop: backstop-waivers.yaml: waivers[2].expires: expected a date, YYYY-MM-DD (got 'soon')",
    ]


def test_waivers_list_refuses_a_waiver_naming_no_rule(
    capsys: pytest.CaptureFixture[str], project: Path
) -> None:
    _waivers(project, _waiver("s3-versioning-enabled", MEDIA, 30), _waiver("kms-key-rotaton", "*", 30))
    code, out, err = _run(capsys, "waivers", "list", "--format", "json", "--project-dir", str(project))
    assert (code, out) == (2, "")
    assert err.splitlines() == [
        "backstop: backstop-waivers.yaml: waivers[1].rule: no rule 'kms-key-rotaton' "
        "(`backstop rules` lists them)"
    ]
