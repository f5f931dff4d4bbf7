"""`--stack NAME` for any stack with a `Pulumi.NAME.yaml`; `--policy-config` reads the pack's own files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from backstop.cli import main
from backstop.ground import tokens
from tests.conftest import ROOT
from tests.policy_support import mutate, to_export

QUEUE_URN = (
    "urn:pulumi:prod::backstop::backstop:azure:ServiceBus$azure-native:servicebus:Queue::"
    "messaging-email-campaigns"
)


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    """The project with three more stacks: dev and dr (staging and prod targets), eu-prod without a target."""
    for name in ("Pulumi.yaml", "Pulumi.prod.yaml", "Pulumi.staging.yaml"):
        shutil.copy(ROOT / name, tmp_path / name)
    # The copies share their originals' Cloudflare zones, whose entry-point rulesets the originals own.
    leave_rulesets = (
        "  backstop:cloudflare:\n",
        "  backstop:cloudflare:\n    ownsEntryPointRulesets: false\n",
    )
    staging = (ROOT / "Pulumi.staging.yaml").read_text().replace(*leave_rulesets)
    (tmp_path / "Pulumi.dev.yaml").write_text(staging)
    prod = (ROOT / "Pulumi.prod.yaml").read_text().replace(*leave_rulesets)
    (tmp_path / "Pulumi.dr.yaml").write_text(prod)
    (tmp_path / "Pulumi.eu-prod.yaml").write_text(prod.replace("  backstop:environment: prod\n", ""))
    return tmp_path


@pytest.fixture()
def broken_export(tmp_path: Path, prod_run) -> Path:
    broken = mutate(
        prod_run.resources, "messaging-email-campaigns", {"deadLetteringOnMessageExpiration": False}
    )
    path = tmp_path / "export.json"
    path.write_text(json.dumps(to_export(broken)), encoding="utf-8")
    return path


def _levels(out: str) -> dict[str, str]:
    return {
        v["urn"]: v["level"]
        for v in json.loads(out)["violations"]
        if v["policy"] == "servicebus-queue-dead-lettering"
    }


@pytest.mark.parametrize(("stack", "level", "code"), [("dev", "advisory", 0), ("dr", "mandatory", 1)])
def test_check_takes_any_stack_with_a_stack_file(capsys, project, broken_export, stack, level, code) -> None:
    result, out, _ = _run(
        capsys,
        "check",
        str(broken_export),
        "--stack",
        stack,
        "--project-dir",
        str(project),
        "--format",
        "json",
    )
    assert result == code
    assert _levels(out) == {QUEUE_URN: level}
    assert json.loads(out)["summary"]["environment"] == ("staging" if stack == "dev" else "prod")


def test_plan_runs_a_stack_named_dev(capsys, project) -> None:
    code, out, _ = _run(capsys, "plan", "--stack", "dev", "--project-dir", str(project), "--format", "json")
    summary = json.loads(out)["summary"]
    assert code == 0
    assert (summary["stack"], summary["environment"], summary["source"]) == (
        "dev",
        "staging",
        "Pulumi.dev.yaml",
    )


def test_a_stack_without_an_environment_is_refused(capsys, project, broken_export) -> None:
    code, out, err = _run(
        capsys, "check", str(broken_export), "--stack", "eu-prod", "--project-dir", str(project)
    )
    assert (code, out) == (2, "")
    assert (
        err.strip()
        == "backstop: Pulumi.eu-prod.yaml: backstop:environment: must be prod or staging (got nothing)"
    )


def test_a_stack_without_a_file_is_refused(capsys, project, broken_export) -> None:
    code, _, err = _run(capsys, "check", str(broken_export), "--stack", "qa", "--project-dir", str(project))
    assert code == 2
    assert err.startswith("backstop: Pulumi.qa.yaml: no such stack file in ")


def test_infer_stack_reads_the_stack_file_of_the_urns(capsys, project, broken_export) -> None:
    # The URNs say prod; Pulumi.prod.yaml says prod.
    code, out, _ = _run(
        capsys,
        "check",
        str(broken_export),
        "--infer-stack",
        "--project-dir",
        str(project),
        "--format",
        "json",
    )
    assert code == 1
    assert _levels(out) == {QUEUE_URN: "mandatory"}


def test_the_packs_own_config_file_configures_the_plan(capsys) -> None:
    code, out, err = _run(
        capsys,
        "plan",
        "--stack",
        "prod",
        "--policy-config",
        str(ROOT / "policies" / "prod.json"),
        "--format",
        "json",
    )
    assert (code, err) == (0, "")
    assert json.loads(out)["summary"]["mandatory"] == 0


def test_the_staging_pack_config_makes_violations_advisory(capsys, tmp_path, staging_run) -> None:
    broken = mutate(
        staging_run.resources, "messaging-email-campaigns", {"deadLetteringOnMessageExpiration": False}
    )
    export = tmp_path / "export.json"
    export.write_text(json.dumps(to_export(broken)))
    config = str(ROOT / "policies" / "staging.json")
    code, out, err = _run(
        capsys, "check", str(export), "--stack", "staging", "--policy-config", config, "--format", "json"
    )
    assert (code, err) == (0, "")
    assert _levels(out) == {QUEUE_URN.replace("prod", "staging", 1): "advisory"}


def test_all_mandatory_makes_staging_violations_mandatory(capsys, tmp_path, broken_export) -> None:
    code, out, _ = _run(
        capsys,
        "check",
        str(broken_export),
        "--stack",
        "staging",
        "--policy-config",
        str(ROOT / "policies" / "prod.json"),
        "--format",
        "json",
    )
    assert code == 1
    assert _levels(out) == {QUEUE_URN: "mandatory"}


@pytest.mark.parametrize(
    ("config", "code", "level"),
    [
        ({"all": "advisory"}, 0, "advisory"),
        ({"all": "mandatory", "servicebus-queue-dead-lettering": "advisory"}, 0, "advisory"),
        ({"servicebus-queue-dead-lettering": {"enforcementLevel": "advisory"}}, 0, "advisory"),
        (
            {"all": {"enforcementLevel": "advisory"}, "servicebus-queue-dead-lettering": "remediate"},
            1,
            "mandatory",
        ),
        ({"servicebus-queue-dead-lettering": "disabled"}, 0, None),
    ],
)
def test_pack_levels(capsys, tmp_path, broken_export, config, code, level) -> None:
    path = tmp_path / "pack.json"
    path.write_text(json.dumps(config))
    result, out, _ = _run(
        capsys, "check", str(broken_export), "--policy-config", str(path), "--format", "json"
    )
    assert result == code
    assert _levels(out) == ({QUEUE_URN: level} if level else {})


def test_per_policy_settings_apply_to_that_policy_only(capsys, tmp_path, prod_run) -> None:
    path = tmp_path / "pack.json"
    path.write_text(
        json.dumps({"all": "mandatory", "servicebus-queue-dead-lettering": {"minMaxDeliveryCount": 11}})
    )
    export = tmp_path / "export.json"
    export.write_text(json.dumps(to_export(prod_run.resources)))
    code, out, _ = _run(capsys, "check", str(export), "--policy-config", str(path), "--format", "json")
    violations = json.loads(out)["violations"]
    assert code == 1
    # Both queues leave the delivery count at the default 10; subscriptions keep the global floor of 3.
    assert {(v["policy"], v["urn"].rsplit("::", 1)[-1]) for v in violations} == {
        ("servicebus-queue-dead-lettering", "messaging-email-campaigns"),
        ("servicebus-queue-dead-lettering", "messaging-review-events"),
        ("acr-release-tags-locked", "images"),  # advisory unknown: release-image locks are not declarable
    }


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({"all": "strict"}, "all: must be one of mandatory, advisory, disabled, remediate (got 'strict')"),
        (
            {"all": {"enforcementLevel": "advisory", "minDailyRetentionDays": 3}},
            "all.minDailyRetentionDays: `all` can only set a level",
        ),
        ({"s3-versionin": "advisory"}, "s3-versionin: is not a backstop policy"),
        (
            {"atlas-pitr-window": {"minDailyRetentionDays": 3}},
            "atlas-pitr-window.minDailyRetentionDays: is not a setting of this policy",
        ),
        (
            {"atlas-pitr-window": {"minRestoreWindowDays": "a week"}},
            "policy config of atlas-pitr-window: minRestoreWindowDays:",
        ),
        (
            {"atlas-pitr-window": {"environment": "dev"}},
            "atlas-pitr-window.environment: must be 'prod' or 'staging'",
        ),
        (
            {"all": "advisory", "minDailyRetentionDays": 3},
            "minDailyRetentionDays: a pack config file names policies",
        ),
        ({"atlas-pitr-window": 7}, "atlas-pitr-window: expected a level or an object of settings"),
    ],
)
def test_bad_pack_config_is_one_line(capsys, tmp_path, broken_export, config, expected) -> None:
    path = tmp_path / "pack.json"
    path.write_text(json.dumps(config))
    code, out, err = _run(capsys, "check", str(broken_export), "--policy-config", str(path))
    assert (code, out) == (2, "")
    assert len(err.strip().splitlines()) == 1
    assert err.startswith(f"backstop: {path}: ") or expected.startswith("policy config")
    assert expected in err


def test_a_per_policy_environment_takes_that_environments_defaults(capsys, tmp_path, prod_run) -> None:
    account = next(r for r in prod_run.resources if r.type == tokens.AZ_STORAGE_ACCOUNT)
    lrs = mutate(prod_run.resources, account.name, {"sku.name": "Standard_LRS"})
    export = tmp_path / "export.json"
    export.write_text(json.dumps(to_export(lrs)))
    path = tmp_path / "pack.json"
    path.write_text(json.dumps({"azure-storage-geo-redundant": {"environment": "staging"}}))
    code, out, _ = _run(capsys, "check", str(export), "--format", "json")
    assert code == 1 and {v["policy"] for v in json.loads(out)["violations"]} == {
        "azure-storage-geo-redundant",
        "acr-release-tags-locked",  # advisory unknown: release-image locks are not declarable
    }
    code, out, _ = _run(capsys, "check", str(export), "--policy-config", str(path), "--format", "json")
    assert code == 0
    assert [v["policy"] for v in json.loads(out)["violations"]] == ["acr-release-tags-locked"]
