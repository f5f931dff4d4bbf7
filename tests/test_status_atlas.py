"""`backstop status` against the spec-validated Atlas fake, and the command's own contract: rows, exit
codes, the three formats, the published JSON schema, unknowns that are never ok, and no writes."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from backstop.ground.documents import utc_iso
from backstop.operations.status.rows import schema
from tests.fakes.atlas_server import FakeAtlas, iso
from tests.status_support import CLUSTER, GROUP, NOW, atlas_cluster, evidence_store, run_status, write_export

RESOURCE = f"atlas:{CLUSTER}"
COPY = f"atlas:{CLUSTER} → US_WEST_2"


def healthy(fake: FakeAtlas, *, pit: bool = True) -> None:
    """A cluster meeting every Atlas objective: snapshots every 6 h for 8 days, each copied to us-west-2,
    PIT on with a 7-day window, and one finished restore job (the last drill)."""
    fake.add_project(CLUSTER, project_id=GROUP)
    fake.add_cluster(GROUP, CLUSTER, pit_enabled=pit)
    fake.set_schedule(GROUP, CLUSTER, restore_window_days=7, copy_regions=("US_WEST_2",))
    for hours in range(2, 8 * 24, 6):
        fake.add_snapshot(GROUP, CLUSTER, NOW - timedelta(hours=hours), expires_at=NOW + timedelta(days=3))


def status(monkeypatch: Any, tmp_path: Path, fake: FakeAtlas, **options: Any) -> Any:
    return run_status(monkeypatch, write_export(tmp_path, [atlas_cluster()]), fake.env(), **options)


def verdicts(outcome: Any) -> dict[tuple[str, str], str]:
    return {key: row["status"] for key, row in outcome.rows().items()}


def test_clean_estate_every_objective_ok_exit_0_and_the_json_matches_the_published_schema(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with FakeAtlas(clock=lambda: NOW) as fake:
        healthy(fake)
        outcome = status(monkeypatch, tmp_path, fake)
    assert outcome.code == 0, outcome.stdout + outcome.stderr
    document = outcome.json()
    jsonschema.validate(document, schema(), format_checker=jsonschema.FormatChecker())
    assert verdicts(outcome) == {
        ("atlas-snapshot-age", RESOURCE): "ok",
        ("atlas-pit-window", RESOURCE): "ok",
        ("atlas-copy-age", COPY): "ok",
        ("atlas-failed-snapshots", RESOURCE): "ok",
        ("atlas-last-restore-job", RESOURCE): "ok",
        ("atlas-last-on-demand", RESOURCE): "ok",
        ("audit-log-age", "evidence:backup_audit_log"): "ok",
        ("drill-age", "evidence:backup_drill_results"): "ok",
    }
    snapshot = outcome.rows()[("atlas-snapshot-age", RESOURCE)]
    assert snapshot["seconds"] == 2 * 3600.0
    assert snapshot["target"] == "≤ 6 h"
    assert snapshot["evidence"] == {
        "call": f"GET /api/atlas/v2/groups/{GROUP}/clusters/{CLUSTER}/backup/snapshots",
        "timestamp": utc_iso(NOW - timedelta(hours=2)),
        "askedAt": utc_iso(NOW),
    }
    assert outcome.rows()[("atlas-pit-window", RESOURCE)]["seconds"] == 7 * 86400.0
    assert document["summary"] == {"ok": 8, "breach": 0, "unknown": 0}
    assert "asked" in outcome.stderr  # progress on stderr, never on stdout


def test_only_reads(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    with FakeAtlas(clock=lambda: NOW) as fake:
        healthy(fake)
        status(monkeypatch, tmp_path, fake)
        methods = {call.method for call in fake.calls()}
    assert methods == {"GET"}


def test_newest_snapshot_older_than_6_hours_is_a_breach_naming_its_age(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with FakeAtlas(clock=lambda: NOW) as fake:
        fake.add_project(CLUSTER, project_id=GROUP)
        fake.add_cluster(GROUP, CLUSTER)
        fake.set_schedule(GROUP, CLUSTER, copy_regions=("US_WEST_2",))
        for hours in range(9, 8 * 24, 6):
            fake.add_snapshot(GROUP, CLUSTER, NOW - timedelta(hours=hours))
        outcome = status(monkeypatch, tmp_path, fake)
    assert outcome.code == 1
    row = outcome.rows()[("atlas-snapshot-age", RESOURCE)]
    assert (row["status"], row["measured"], row["seconds"]) == ("breach", "9 h", 9 * 3600.0)
    # The copies of the same snapshots are 9 h old too: the 6 h region-loss RPO is missed.
    assert outcome.rows()[("atlas-copy-age", COPY)]["status"] == "breach"


def test_a_failed_copy_leaves_the_copy_region_behind_while_local_snapshots_are_fresh(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with FakeAtlas(clock=lambda: NOW) as fake:
        healthy(fake)
        # The two newest snapshots were taken but their copy to us-west-2 failed.
        fake.add_snapshot(GROUP, CLUSTER, NOW - timedelta(hours=1), copy_regions=())
        outcome = status(monkeypatch, tmp_path, fake)
    assert verdicts(outcome)[("atlas-snapshot-age", RESOURCE)] == "ok"
    copy = outcome.rows()[("atlas-copy-age", COPY)]
    assert (copy["status"], copy["seconds"]) == ("ok", 2 * 3600.0)  # the older copy is still within 6 h

    with FakeAtlas(clock=lambda: NOW) as fake:
        fake.add_project(CLUSTER, project_id=GROUP)
        fake.add_cluster(GROUP, CLUSTER)
        fake.set_schedule(GROUP, CLUSTER, copy_regions=("US_WEST_2",))
        for hours in range(1, 8 * 24, 6):
            fake.add_snapshot(
                GROUP,
                CLUSTER,
                NOW - timedelta(hours=hours),
                copy_regions=() if hours < 12 else ("US_WEST_2",),
            )
        outcome = status(monkeypatch, tmp_path, fake)
    copy = outcome.rows()[("atlas-copy-age", COPY)]
    assert (copy["status"], copy["measured"]) == ("breach", "13 h")
    assert outcome.code == 1


def test_no_copy_region_in_the_schedule_is_a_breach(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    with FakeAtlas(clock=lambda: NOW) as fake:
        fake.add_project(CLUSTER, project_id=GROUP)
        fake.add_cluster(GROUP, CLUSTER)
        fake.set_schedule(GROUP, CLUSTER)
        fake.add_snapshot(GROUP, CLUSTER, NOW - timedelta(hours=1))
        outcome = status(monkeypatch, tmp_path, fake)
    copy = outcome.rows()[("atlas-copy-age", COPY)]
    assert (copy["status"], copy["measured"]) == ("breach", "not copied")
    assert "copies to no region, not US_WEST_2" in copy["reason"]


def test_pit_disabled_is_a_breach(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    with FakeAtlas(clock=lambda: NOW) as fake:
        healthy(fake, pit=False)
        outcome = status(monkeypatch, tmp_path, fake)
    row = outcome.rows()[("atlas-pit-window", RESOURCE)]
    assert (row["status"], row["measured"], row["seconds"]) == ("breach", "continuous backup off", 0.0)
    assert outcome.code == 1


def test_a_restore_window_shorter_than_7_days_is_a_breach(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with FakeAtlas(clock=lambda: NOW) as fake:
        healthy(fake)
        fake.set_schedule(GROUP, CLUSTER, restore_window_days=3, copy_regions=("US_WEST_2",))
        outcome = status(monkeypatch, tmp_path, fake)
    row = outcome.rows()[("atlas-pit-window", RESOURCE)]
    assert (row["status"], row["seconds"]) == ("breach", 3 * 86400.0)
    assert "restoreWindowDays is 3" in row["reason"]


def test_failed_snapshots_in_the_last_day_are_a_breach_and_older_ones_are_not(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with FakeAtlas(clock=lambda: NOW) as fake:
        healthy(fake)
        recent = fake.add_snapshot(GROUP, CLUSTER, NOW - timedelta(hours=5), status="failed")
        fake.add_snapshot(GROUP, CLUSTER, NOW - timedelta(hours=30), status="failed")
        outcome = status(monkeypatch, tmp_path, fake)
    row = outcome.rows()[("atlas-failed-snapshots", RESOURCE)]
    assert (row["status"], row["value"]) == ("breach", 1.0)
    assert recent in row["reason"]
    assert row["evidence"]["timestamp"] == utc_iso(NOW - timedelta(hours=5))


def test_a_failed_last_restore_job_is_a_breach(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from tests.fakes.atlas_server import RestoreJobState

    with FakeAtlas(clock=lambda: NOW) as fake:
        healthy(fake)
        doc = {
            "id": "6f0a1b2c3d4e5f6a7b8c9d0e",
            "deliveryType": "automated",
            "targetClusterName": "drill-1",
            "targetGroupId": "5f0a1b2c3d4e5f6a7b8c9d01",
            "cancelled": False,
            "expired": False,
            "failed": True,
            "timestamp": iso(NOW - timedelta(hours=3)),
            "links": [],
        }
        fake.jobs[doc["id"]] = RestoreJobState(doc, GROUP, CLUSTER, NOW - timedelta(hours=3))
        outcome = status(monkeypatch, tmp_path, fake)
    row = outcome.rows()[("atlas-last-restore-job", RESOURCE)]
    assert row["status"] == "breach"
    assert row["measured"] == "failed (automated into drill-1)"


def test_403_is_unknown_with_the_reason_never_ok(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    with FakeAtlas(clock=lambda: NOW) as fake:
        healthy(fake)
        fake.inject("403", on_call=1, times=100, path_contains="/backup/snapshots")
        outcome = status(monkeypatch, tmp_path, fake)
    assert outcome.code == 1
    atlas_rows = {key: row for key, row in outcome.rows().items() if key[1].startswith("atlas:")}
    assert {key: row["status"] for key, row in atlas_rows.items()} == {
        ("atlas-snapshot-age", RESOURCE): "unknown",
        ("atlas-pit-window", RESOURCE): "unknown",
        ("atlas-copy-age", COPY): "unknown",
        ("atlas-failed-snapshots", RESOURCE): "unknown",
        ("atlas-last-restore-job", RESOURCE): "ok",  # its own call, answered
        ("atlas-last-on-demand", RESOURCE): "unknown",
    }
    reason = atlas_rows[("atlas-snapshot-age", RESOURCE)]["reason"]
    assert reason.startswith("denied: ") and "HTTP 403" in reason and "USER_UNAUTHORIZED" in reason


def test_restore_jobs_refused_leave_only_the_restore_job_row_unknown(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Without Project Backup Manager, listGroupClusterBackupRestoreJobs answers 403: as the status page
    says, only `atlas-last-restore-job` is unknown; the snapshots, schedule and copies are measured."""
    with FakeAtlas(clock=lambda: NOW) as fake:
        healthy(fake)
        fake.inject("403", on_call=1, times=100, method="GET", path_contains="/backup/restoreJobs")
        outcome = status(monkeypatch, tmp_path, fake)
    assert outcome.code == 1
    assert {key: verdict for key, verdict in verdicts(outcome).items() if key[1].startswith("atlas:")} == {
        ("atlas-snapshot-age", RESOURCE): "ok",
        ("atlas-pit-window", RESOURCE): "ok",
        ("atlas-copy-age", COPY): "ok",
        ("atlas-failed-snapshots", RESOURCE): "ok",
        ("atlas-last-restore-job", RESOURCE): "unknown",
        ("atlas-last-on-demand", RESOURCE): "ok",
    }
    reason = outcome.rows()[("atlas-last-restore-job", RESOURCE)]["reason"]
    assert reason.startswith("denied: ") and "HTTP 403" in reason and "USER_UNAUTHORIZED" in reason


def test_a_refused_backup_schedule_leaves_only_the_window_and_the_copy_unknown(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with FakeAtlas(clock=lambda: NOW) as fake:
        healthy(fake)
        fake.inject("403", on_call=1, times=100, method="GET", path_contains="/backup/schedule")
        outcome = status(monkeypatch, tmp_path, fake)
    assert outcome.code == 1
    assert {key: verdict for key, verdict in verdicts(outcome).items() if key[1].startswith("atlas:")} == {
        ("atlas-snapshot-age", RESOURCE): "ok",
        ("atlas-pit-window", RESOURCE): "unknown",
        ("atlas-copy-age", COPY): "unknown",
        ("atlas-failed-snapshots", RESOURCE): "ok",
        ("atlas-last-restore-job", RESOURCE): "ok",
        ("atlas-last-on-demand", RESOURCE): "ok",
    }
    assert outcome.rows()[("atlas-copy-age", COPY)]["reason"].startswith("denied: ")


def test_throttled_past_the_budget_is_unknown(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    sleeps: list[float] = []
    with FakeAtlas(clock=lambda: NOW) as fake:
        healthy(fake)
        fake.inject("429", on_call=1, times=100, path_contains="/backup/snapshots", retry_after="20")
        outcome = status(monkeypatch, tmp_path, fake, sleeps=sleeps)
    row = outcome.rows()[("atlas-snapshot-age", RESOURCE)]
    assert row["status"] == "unknown"
    assert row["reason"].startswith("throttled: ") and "gave up after" in row["reason"]
    assert sum(sleeps) <= 60  # the status command's budget, not the drill's ten minutes
    assert outcome.code == 1


def test_no_atlas_credentials_is_unknown(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    outcome = run_status(monkeypatch, write_export(tmp_path, [atlas_cluster()]), {})
    row = outcome.rows()[("atlas-snapshot-age", RESOURCE)]
    assert row["status"] == "unknown" and "no Atlas credentials" in row["reason"]
    assert outcome.code == 1


def test_stale_audit_and_drill_evidence_are_breaches(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    with FakeAtlas(clock=lambda: NOW) as fake:
        healthy(fake)
        store = evidence_store(audit_age=timedelta(days=9), drill_age=None)
        outcome = status(monkeypatch, tmp_path, fake, evidence=store)
    audit = outcome.rows()[("audit-log-age", "evidence:backup_audit_log")]
    drill = outcome.rows()[("drill-age", "evidence:backup_drill_results")]
    assert (audit["status"], audit["measured"], audit["target"]) == ("breach", "9 d", "≤ 7 d")
    assert (drill["status"], drill["measured"]) == ("breach", "none")
    assert outcome.code == 1


def test_a_forged_drill_from_2099_inserted_by_hand_is_not_the_last_drill(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Issue 26: the newest `finishedAt` was read whatever wrote it; a drill dated 2099 kept drill-age ok."""
    with FakeAtlas(clock=lambda: NOW) as fake:
        healthy(fake)
        store = evidence_store(drill_age=timedelta(days=200))
        store["backstop"]["backup_drill_results"].insert_one(
            {"drillId": "forged", "finishedAt": "2099-01-01T00:00:00Z", "timeToRestoreSeconds": 3}
        )
        outcome = status(monkeypatch, tmp_path, fake, evidence=store)
    drill = outcome.rows()[("drill-age", "evidence:backup_drill_results")]
    assert (drill["status"], drill["measured"]) == ("breach", "200 d")
    assert drill["reason"].endswith(
        "backup_drill_results: 1 unchained (legacy) entry not used (forged): "
        "`backstop drill verify --accept-legacy` adds them to the chain"
    )


def test_an_open_incident_past_its_deadlines_is_a_breach(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    store = evidence_store()
    log = store["backstop"]["recovery_log"]
    for incident, loss_hours in (("inc-late", 30), ("inc-fresh", 0.5), ("inc-recorded", 40)):
        loss = NOW - timedelta(hours=loss_hours)
        log.insert_one(
            {
                "incidentId": incident,
                "sequence": 1,
                "step": "opened",
                "at": iso(loss),
                "plan": {
                    "deadlines": {
                        "tenantNotice": iso(loss + timedelta(hours=1)),
                        "incidentRecord": iso(loss + timedelta(hours=24)),
                    }
                },
            }
        )
    store["backstop"]["incident_registry"].insert_one({"incidentId": "inc-recorded", "sequence": 1})
    with FakeAtlas(clock=lambda: NOW) as fake:
        healthy(fake)
        outcome = status(monkeypatch, tmp_path, fake, evidence=store)
    incidents = {key: row["status"] for key, row in outcome.rows().items() if key[1].startswith("incident:")}
    assert incidents == {
        ("incident-tenant-notice", "incident:inc-late"): "breach",
        ("incident-record", "incident:inc-late"): "breach",
        ("incident-tenant-notice", "incident:inc-fresh"): "ok",
        ("incident-record", "incident:inc-fresh"): "ok",
    }


def test_unreachable_evidence_store_is_unknown(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    with FakeAtlas(clock=lambda: NOW) as fake:
        healthy(fake)
        export = write_export(tmp_path, [atlas_cluster()])
        env = {k: v for k, v in fake.env().items()}
        outcome = run_status(monkeypatch, export, env, evidence=_Unreachable())
    row = outcome.rows()[("audit-log-age", "evidence:backup_audit_log")]
    assert row["status"] == "unknown" and "server selection timed out" in row["reason"]


class _Unreachable:
    def __getitem__(self, name: str) -> Any:
        raise TimeoutError("server selection timed out after 5000 ms")


def test_prometheus_output_is_openmetrics_with_ok_and_seconds(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with FakeAtlas(clock=lambda: NOW) as fake:
        healthy(fake)
        fake.add_snapshot(GROUP, CLUSTER, NOW - timedelta(hours=1), copy_regions=())
        outcome = status(monkeypatch, tmp_path, fake, fmt="prometheus")
    lines = outcome.stdout.strip().splitlines()
    assert lines[-1] == "# EOF"
    assert (
        f'backstop_objective_seconds{{objective="atlas-snapshot-age",resource="{RESOURCE}"}} 3600.0' in lines
    )
    assert f'backstop_objective_ok{{objective="atlas-snapshot-age",resource="{RESOURCE}"}} 1' in lines
    assert f'backstop_objective_unknown{{objective="atlas-snapshot-age",resource="{RESOURCE}"}} 0' in lines
    # OpenMetrics: every family declared before its samples, each sample `name{labels} value`.
    declared: list[str] = []
    sample = re.compile(r'^(backstop_objective_[a-z]+)\{objective="[a-z0-9-]+",resource="[^"]+"\} [0-9.]+$')
    for line in lines[:-1]:
        if line.startswith("# TYPE "):
            declared.append(line.split()[2])
        elif not line.startswith("# "):
            match = sample.match(line)
            assert match is not None and match[1] == declared[-1], line
    assert declared == ["backstop_objective_seconds", "backstop_objective_ok", "backstop_objective_unknown"]


def test_the_status_page_s_prometheus_sample_is_the_command_s_real_output(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """docs/commands/status.md shows the OpenMetrics output of this run, line for line: its `# TYPE`,
    `# UNIT` and `# HELP` lines, every sample and `# EOF`."""
    page = Path(__file__).resolve().parents[1] / "docs" / "commands" / "status.md"
    (sample,) = re.findall(r"```text\n(# TYPE backstop_objective_seconds .*?)```", page.read_text(), re.S)
    with FakeAtlas(clock=lambda: NOW) as fake:
        healthy(fake, pit=False)
        fake.inject("403", on_call=1, times=100, method="GET", path_contains="/backup/restoreJobs")
        outcome = status(monkeypatch, tmp_path, fake, fmt="prometheus")
    assert outcome.code == 1
    assert sample == outcome.stdout


def test_text_output_names_breaches_first_with_their_reason(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with FakeAtlas(clock=lambda: NOW) as fake:
        healthy(fake, pit=False)
        outcome = status(monkeypatch, tmp_path, fake, fmt="text")
    lines = outcome.stdout.splitlines()
    assert lines[0] == "backstop status: stack prod at 2026-11-23T12:00:00.000Z: 7 ok, 1 breach, 0 unknown"
    assert lines[2].startswith("atlas-pit-window") and "BREACH" in lines[2]
    assert "BREACH atlas-pit-window atlas:cartie-prod: pitEnabled is false" in outcome.stdout


def test_unusable_input_exits_2_with_one_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    missing = tmp_path / "nope.json"
    outcome = run_status(monkeypatch, missing, {})
    assert outcome.code == 2
    assert outcome.stderr.count("\n") == 1 and "nope.json" in outcome.stderr
    empty = write_export(tmp_path, [])
    outcome = run_status(monkeypatch, empty, {})
    assert outcome.code == 2 and "nothing to measure" in outcome.stderr


def test_report_shows_the_measured_rows_beside_the_declared_objectives(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    prod_run: Any,
    project_dir: Path,
) -> None:
    import json

    import backstop.program.mocks
    from backstop.cli import main

    with FakeAtlas(clock=lambda: NOW) as fake:
        healthy(fake, pit=False)
        outcome = status(monkeypatch, tmp_path, fake)
    status_file = tmp_path / "status.json"
    status_file.write_text(outcome.stdout, encoding="utf-8")
    monkeypatch.setattr(backstop.program.mocks, "run_stack", lambda project, stack, **_: prod_run)
    code = main(
        ["report", "--stack", "prod", "--project-dir", str(project_dir), "--status", str(status_file)]
    )
    out = capsys.readouterr().out
    assert code == 0  # the declared objectives are met; the measured rows are shown, not re-judged
    assert "#### Measured now: `backstop status` of stack `prod` at 2026-11-23T12:00:00.000Z" in out
    assert (
        "| single_document | atlas-pit-window | atlas:cartie-prod | continuous backup off | ≥ 7 d "
        "| ❌ breach |" in out
    )
    assert "| single_collection | atlas-snapshot-age | atlas:cartie-prod | 2 h | ≤ 6 h | ✅ ok |" in out
    assert out.rstrip().splitlines()[-1].endswith("objectives met.")

    code = main(
        [
            "report",
            "--stack",
            "prod",
            "--project-dir",
            str(project_dir),
            "--status",
            str(status_file),
            "--format",
            "json",
        ]
    )
    document = json.loads(capsys.readouterr().out)
    by_key = {s["scenario"]: s["measuredNow"] for s in document["scenarios"]}
    assert [(r["objective"], r["status"]) for r in by_key["whole_cluster"]] == [("atlas-copy-age", "ok")]
    assert document["status"]["generatedAt"] == "2026-11-23T12:00:00.000Z"


def test_report_refuses_a_file_that_is_not_a_status_in_one_line(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    prod_run: Any,
    project_dir: Path,
) -> None:
    import backstop.program.mocks
    from backstop.cli import main

    monkeypatch.setattr(backstop.program.mocks, "run_stack", lambda project, stack, **_: prod_run)
    bad = tmp_path / "status.json"
    bad.write_text('{"schemaVersion": 1, "rows": [{"objective": "x"}]}', encoding="utf-8")
    code = main(["report", "--stack", "prod", "--project-dir", str(project_dir), "--status", str(bad)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.strip() == f"backstop: {bad}: rows[0]: needs string objective, resource and status"


def test_post_to_slack_sends_one_message_naming_each_breach_and_nothing_when_all_is_ok(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from tests.fakes.alert_endpoints import GOOD_WEBHOOK_PATH, AlertEndpointsServer

    with AlertEndpointsServer() as slack, FakeAtlas(clock=lambda: NOW) as fake:
        healthy(fake)
        env = {**fake.env(), "BACKSTOP_SLACK_WEBHOOK_URL": slack.url + GOOD_WEBHOOK_PATH}
        export = write_export(tmp_path, [atlas_cluster()])
        assert run_status(monkeypatch, export, env, extra=["--post-to-slack"]).code == 0
        assert slack.state.slack_messages == []
        fake.clusters[(GROUP, CLUSTER)]["pitEnabled"] = False
        outcome = run_status(monkeypatch, export, env, extra=["--post-to-slack"])
        messages = slack.state.slack_messages
    assert outcome.code == 1
    assert len(messages) == 1
    assert messages[0]["text"].splitlines() == [
        "[backstop status] stack prod: 1 breach, 0 unknown, 7 ok",
        "• BREACH atlas-pit-window atlas:cartie-prod: continuous backup off (target ≥ 7 d): "
        "pitEnabled is false: no point-in-time restore is possible",
    ]


def test_the_hourly_workflow_s_command_in_a_clean_clone_writes_its_json_and_posts_to_slack(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The command `status-hourly.yml` runs, read from the workflow, in a checkout with no `evidence/`
    folder (as actions/checkout leaves it): the file is written, and the breach reaches Slack."""
    import json
    import shlex
    import shutil

    import yaml

    from backstop.cli import main
    from backstop.operations.status import commands
    from tests.fakes.alert_endpoints import GOOD_WEBHOOK_PATH, AlertEndpointsServer
    from tests.policy_support import to_export
    from tests.status_support import EVIDENCE_URI

    root = Path(__file__).resolve().parents[1]
    workflow = yaml.safe_load(
        (root / ".github" / "workflows" / "status-hourly.yml").read_text(encoding="utf-8")
    )
    (command,) = [
        str(step["run"]).strip()
        for job in workflow["jobs"].values()
        for step in job["steps"]
        if str(step.get("run", "")).startswith(".venv/bin/backstop status")
    ]
    program, *argv = shlex.split(command)
    assert program == ".venv/bin/backstop" and "--output" in argv and "--post-to-slack" in argv
    clone = tmp_path / "clone"
    clone.mkdir()
    for name in ("Pulumi.yaml", "Pulumi.prod.yaml"):
        shutil.copy(root / name, clone / name)
    monkeypatch.chdir(clone)
    output = clone / argv[argv.index("--output") + 1]
    assert not output.parent.exists()
    with AlertEndpointsServer() as slack, FakeAtlas(clock=lambda: NOW) as fake:
        healthy(fake, pit=False)
        export = json.dumps(to_export([atlas_cluster()]))
        store = evidence_store()
        environ = {
            **fake.env(),
            "BACKSTOP_EVIDENCE_MONGODB_URI": EVIDENCE_URI,
            "BACKSTOP_SLACK_WEBHOOK_URL": slack.url + GOOD_WEBHOOK_PATH,
        }
        runtime = commands.Runtime(
            environ=environ,
            clock=lambda: NOW,
            sleep=lambda seconds: None,
            connect_evidence=lambda uri: store,
            export=lambda stack: export,  # `pulumi stack export --stack prod`, as the workflow's runs it
        )
        monkeypatch.setattr(commands, "RUNTIME", runtime)
        code = main(argv)
        messages = slack.state.slack_messages
    out, err = capsys.readouterr()
    assert code == 1, err
    written = json.loads(output.read_text(encoding="utf-8"))
    assert written["summary"] == {"ok": 7, "breach": 1, "unknown": 0}
    assert out.splitlines() == [
        "backstop status: stack prod at 2026-11-23T12:00:00.000Z: 7 ok, 1 breach, 0 unknown"
    ]
    assert [m["text"].splitlines()[0] for m in messages] == [
        "[backstop status] stack prod: 1 breach, 0 unknown, 7 ok"
    ]


def test_an_output_path_that_cannot_be_written_is_one_line_exit_2_after_posting(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from tests.fakes.alert_endpoints import GOOD_WEBHOOK_PATH, AlertEndpointsServer

    blocker = tmp_path / "evidence"
    blocker.write_text("a file where the folder should be", encoding="utf-8")
    target = blocker / "status.json"
    with AlertEndpointsServer() as slack, FakeAtlas(clock=lambda: NOW) as fake:
        healthy(fake, pit=False)
        env = {**fake.env(), "BACKSTOP_SLACK_WEBHOOK_URL": slack.url + GOOD_WEBHOOK_PATH}
        export = write_export(tmp_path, [atlas_cluster()])
        outcome = run_status(monkeypatch, export, env, extra=["--output", str(target), "--post-to-slack"])
        messages = slack.state.slack_messages
    assert outcome.code == 2
    assert outcome.stderr.strip().splitlines()[-1] == (
        f"backstop: --output {target}: cannot write: File exists"
    )
    assert "Traceback" not in outcome.stderr
    assert len(messages) == 1  # the breach still reached Slack
    assert not target.exists()


def test_post_to_slack_without_a_webhook_is_exit_2_after_printing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with FakeAtlas(clock=lambda: NOW) as fake:
        healthy(fake, pit=False)
        outcome = status(monkeypatch, tmp_path, fake, extra=["--post-to-slack"])
    assert outcome.code == 2
    assert outcome.json()["summary"]["breach"] == 1
    assert outcome.stderr.strip().splitlines()[-1] == (
        "backstop: --post-to-slack: BACKSTOP_SLACK_WEBHOOK_URL is not set"
    )


def test_status_calls_only_the_operations_listed_for_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from backstop.clients.atlas import OPERATIONS_BY_COMMAND
    from tests.contract.spec import find_operation

    with FakeAtlas(clock=lambda: NOW) as fake:
        healthy(fake)
        status(monkeypatch, tmp_path, fake)
        called = {find_operation(r.method, r.path)[1]["operationId"] for r in fake.calls()}
    assert called == set(OPERATIONS_BY_COMMAND["status"]) - {"listGroupClusterBackupSnapshotShardedClusters"}


def test_other_commands_do_not_load_the_status_command_s_cloud_clients() -> None:
    import subprocess
    import sys

    names = "('requests', 'boto3', 'backstop.clients.atlas')"
    code = f"import sys, backstop.cli; print(sorted(m for m in {names} if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_without_state_it_reads_pulumi_stack_export(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import io
    import json
    from contextlib import redirect_stderr, redirect_stdout

    from backstop.cli import main
    from backstop.operations.status import commands
    from tests.policy_support import to_export

    asked: list[str] = []

    def export(stack: str) -> str:
        asked.append(stack)
        return json.dumps(to_export([atlas_cluster()]))

    with FakeAtlas(clock=lambda: NOW) as fake:
        healthy(fake)
        store = evidence_store()
        runtime = commands.Runtime(
            environ={**fake.env(), "BACKSTOP_EVIDENCE_MONGODB_URI": "mongodb://e"},
            clock=lambda: NOW,
            connect_evidence=lambda uri: store,
            export=export,
        )
        monkeypatch.setattr(commands, "RUNTIME", runtime)
        out = io.StringIO()
        with redirect_stdout(out), redirect_stderr(io.StringIO()):
            code = main(["status", "--stack", "prod", "--format", "json", "--project-dir", str(tmp_path)])
    assert (code, asked) == (0, ["prod"])
    assert json.loads(out.getvalue())["summary"]["ok"] == 8


def test_a_preview_is_not_a_deployed_stack(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import json

    from tests.policy_support import to_preview

    preview = tmp_path / "preview.json"
    preview.write_text(json.dumps(to_preview([atlas_cluster()])), encoding="utf-8")
    outcome = run_status(monkeypatch, preview, {})
    assert outcome.code == 2
    assert outcome.stderr.strip() == (
        f"backstop: {preview}: a preview, not a stack export: status measures what is deployed"
    )


def test_a_failed_last_on_demand_snapshot_is_a_breach(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with FakeAtlas(clock=lambda: NOW) as fake:
        healthy(fake)
        fake.add_snapshot(GROUP, CLUSTER, NOW - timedelta(days=2), snapshot_type="onDemand")
        failed = fake.add_snapshot(
            GROUP, CLUSTER, NOW - timedelta(hours=30), snapshot_type="onDemand", status="failed"
        )
        outcome = status(monkeypatch, tmp_path, fake)
    row = outcome.rows()[("atlas-last-on-demand", RESOURCE)]
    assert (row["status"], row["measured"]) == ("breach", "failed, 30 h ago")
    assert row["reason"] == f"on-demand snapshot {failed} failed"
