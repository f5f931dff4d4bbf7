"""`backstop recover` end to end: the fake Atlas over HTTP, mongomock clusters, recovery stacks under the
Pulumi SDK's mocks, one fake clock."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from backstop.cli import main
from backstop.drill import commands
from backstop.evidence import DRILL_RESULTS_COLLECTION, utc_iso
from tests.fakes.drill_world import NOW, PROD_PROJECT_ID, STAGING_PROJECT_ID, default_drill, write_project
from tests.fakes.recover_world import RecoverWorld

# The audit runs at NOW (snapshots were taken at NOW-1h, NOW-7h, ...); the loss happens 90 minutes later
# and is planned for half an hour after that.
LOSS = NOW + timedelta(minutes=90)
PLANNED = NOW + timedelta(hours=2)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture()
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    with RecoverWorld(tmp_path) as world:
        monkeypatch.setattr(commands, "RUNTIME", world.runtime())
        yield world


@pytest.fixture()
def audited(world: RecoverWorld, capsys: pytest.CaptureFixture[str]) -> RecoverWorld:
    assert run(capsys, *world.args("audit", "--stack", "prod"))[0] == 0
    world.clock.advance(hours=2)
    return world


def loss_args(loss: str, database: str = "tenant_acme", collection: str | None = None) -> list[str]:
    args = ["--stack", "prod", "--loss", loss, "--database", database, "--at", utc_iso(LOSS)]
    return args + (["--collection", collection] if collection else [])


def plan_json(world: RecoverWorld, capsys: pytest.CaptureFixture[str], *args: str) -> dict:
    code, out, err = run(capsys, *world.args("recover", "plan", *args, "--format", "json"))
    assert code == 0, err
    return json.loads(out)


def assert_nothing_created(world: RecoverWorld) -> None:
    assert world.recovery_stacks.calls == []
    assert [r for r in world.atlas.requests if r.method != "GET"] == []


# --- plan ------------------------------------------------------------------------------------------------


def test_a_collection_loss_plans_a_point_in_time_restore_to_the_second_before_it(
    audited: RecoverWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = plan_json(audited, capsys, *loss_args("collection", collection="orders"))
    assert plan["mechanism"]["runbook"] == "Was a collection emptied? → use point-in-time recovery (1 hour)"
    assert (plan["mechanism"]["restoreMode"], plan["mechanism"]["key"], plan["mechanism"]["fallback"]) == (
        "pointInTime",
        "oplog_replay",
        None,
    )
    assert plan["source"] == {
        "projectId": PROD_PROJECT_ID,
        "projectName": "cartie-prod",
        "cluster": "cartie-prod",
        "pitEnabled": True,
        "restoreWindowDays": 7,
        "windowStart": utc_iso(PLANNED - timedelta(days=7)),
    }
    assert plan["restorePoint"] == {
        "at": utc_iso(LOSS - timedelta(seconds=1)),
        "snapshot": None,
        "dataLostSeconds": 1.0,
        "rpoSeconds": 6 * 3600.0,
        "rpoMet": True,
    }
    # No drill measured an oplog replay yet: the seed's estimate for the mechanism (1 h), RTO 2 h.
    assert plan["expectedTimeToRestore"] == {
        "seconds": 3600.0,
        "basis": "seed estimate (no drill has measured an oplog replay yet)",
        "rtoSeconds": 7200.0,
        "rtoMet": True,
    }
    assert plan["recoveryCluster"] == {
        "projectId": STAGING_PROJECT_ID,
        "projectName": "cartie-staging",
        "region": "US_EAST_1",
        "instanceSize": "M40",
        "keptForHours": 72.0,
    }
    assert plan["deadlines"] == {
        "tenantNotice": utc_iso(LOSS + timedelta(hours=1)),
        "incidentRecord": utc_iso(LOSS + timedelta(hours=24)),
    }
    assert plan["next"] == (
        "backstop recover restore --stack prod --loss collection --database tenant_acme "
        f"--collection orders --at {utc_iso(LOSS)}"
    )
    assert_nothing_created(audited)


def test_the_text_plan_names_the_runbook_steps_and_the_deadlines(
    audited: RecoverWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, *audited.args("recover", "plan", *loss_args("record", collection="orders")))
    assert code == 0
    assert out.splitlines()[0] == (
        f"backstop recover plan: record loss in tenant_acme.orders at {utc_iso(LOSS)} (stack prod)"
    )
    assert "  runbook           Was a single record deleted? → use oplog replay (1 min)" in out
    assert "  data lost         1 s (RPO target 0 s: MISSED)" in out  # the seed's RPO for a record is 0
    assert "  expected time     1 min, seed estimate" in out and "(RTO target 30 min: met)" in out
    assert f"  tenant notice due    {utc_iso(LOSS + timedelta(hours=1))} (in 30 min) (loss + 1 h)" in out
    assert f"  incident record due  {utc_iso(LOSS + timedelta(hours=24))} (in 23 h 30 min)" in out
    audited.clock.advance(hours=1)
    out = run(capsys, *audited.args("recover", "plan", *loss_args("record")))[1]
    assert "(**OVERDUE** by 30 min) (loss + 1 h)" in out


@pytest.mark.parametrize("loss", ["tenant", "cluster", "region"])
def test_tenant_cluster_and_region_losses_restore_the_newest_snapshot_before_the_loss_in_the_copy_region(
    audited: RecoverWorld, capsys: pytest.CaptureFixture[str], loss: str
) -> None:
    plan = plan_json(audited, capsys, *loss_args(loss))
    newest = utc_iso(NOW - timedelta(hours=1)).replace(".000", "")
    assert plan["mechanism"]["restoreMode"] == "snapshot"
    assert plan["mechanism"]["runbook"].endswith("(2 hour)")
    assert plan["restorePoint"]["snapshot"]["createdAt"] == newest
    assert plan["restorePoint"]["dataLostSeconds"] == 2.5 * 3600  # NOW-1h to NOW+90min
    assert (plan["restorePoint"]["rpoSeconds"], plan["restorePoint"]["rpoMet"]) == (6 * 3600.0, True)
    assert plan["expectedTimeToRestore"]["seconds"] == 2 * 3600.0  # cross-region estimate
    assert plan["expectedTimeToRestore"]["rtoSeconds"] == 4 * 3600.0
    assert plan["recoveryCluster"]["region"] == "US_WEST_2"


def test_a_region_loss_only_uses_a_snapshot_copied_to_the_copy_region(
    audited: RecoverWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    snapshots = audited.atlas.snapshots[(PROD_PROJECT_ID, "cartie-prod")]
    newest = max(snapshots, key=lambda s: s["createdAt"])
    newest["copyRegions"] = []
    region = plan_json(audited, capsys, *loss_args("region"))
    assert region["restorePoint"]["at"] == utc_iso(NOW - timedelta(hours=7))
    cluster = plan_json(audited, capsys, *loss_args("cluster"))
    assert cluster["restorePoint"]["at"] == utc_iso(NOW - timedelta(hours=1))
    assert f"snapshot {newest['id']} has no copy in US_WEST_2: restored from the source" in cluster["notes"]


def test_outside_the_point_in_time_window_the_plan_falls_back_to_a_snapshot_and_says_so(
    audited: RecoverWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    audited.atlas.set_schedule(PROD_PROJECT_ID, "cartie-prod", restore_window_days=1)
    audited.clock.advance(hours=23)  # the loss is now 23.5 h old: within 1 h of the 1-day window's edge
    plan = plan_json(audited, capsys, *loss_args("collection", collection="orders"))
    assert plan["mechanism"]["restoreMode"] == "snapshot"
    assert plan["mechanism"]["fallback"].startswith(
        f"point-in-time restore not possible: {utc_iso(LOSS - timedelta(seconds=1))} is outside (or within "
        "1 h of the edge of) the 1-day point-in-time window"
    )
    assert plan["restorePoint"]["dataLostSeconds"] == 2.5 * 3600
    assert plan["restorePoint"]["rpoMet"] is True


def test_without_continuous_backup_a_record_loss_falls_back_to_a_snapshot_and_misses_its_rpo(
    audited: RecoverWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    audited.atlas.clusters[(PROD_PROJECT_ID, "cartie-prod")]["pitEnabled"] = False
    plan = plan_json(audited, capsys, *loss_args("record"))
    assert plan["mechanism"]["fallback"].startswith(
        "point-in-time restore not possible: cluster cartie-prod has no continuous cloud backup"
    )
    assert (plan["restorePoint"]["rpoSeconds"], plan["restorePoint"]["rpoMet"]) == (0.0, False)
    assert plan["source"]["restoreWindowDays"] is None


def test_the_expected_time_is_the_last_drill_measurement_of_that_mechanism(
    audited: RecoverWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    results = audited.evidence[DRILL_RESULTS_COLLECTION]
    results.insert_many(
        [
            {
                "drillId": "old",
                "mechanism": "oplog_replay",
                "timeToRestoreSeconds": 600,
                "finishedAt": "2026-02-18",
            },
            {
                "drillId": "q2",
                "mechanism": "oplog_replay",
                "timeToRestoreSeconds": 2700,
                "finishedAt": "2026-05-18",
            },
            {
                "drillId": "bad",
                "mechanism": "oplog_replay",
                "timeToRestoreSeconds": None,
                "finishedAt": "2026-05-19",
            },
            {
                "drillId": "snap",
                "mechanism": "snapshot_restore",
                "timeToRestoreSeconds": 99,
                "finishedAt": "2026-05-18",
            },
        ]
    )
    expected = plan_json(audited, capsys, *loss_args("collection", collection="orders"))[
        "expectedTimeToRestore"
    ]
    assert expected == {
        "seconds": 2700.0,
        "basis": "measured by the last drill (q2, finished 2026-05-18)",
        "rtoSeconds": 7200.0,
        "rtoMet": True,
    }
    env = audited.env()
    del env["BACKSTOP_EVIDENCE_MONGODB_URI"]
    commands.RUNTIME = audited.runtime(env=env)
    expected = plan_json(audited, capsys, *loss_args("collection", collection="orders"))[
        "expectedTimeToRestore"
    ]
    assert expected["basis"] == "seed estimate (no evidence store to read drill measurements from)"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            loss_args("collection"),
            "backstop: --loss collection needs --collection (the collection that was emptied)\n",
        ),
        (
            ["--stack", "prod", "--loss", "record", "--database", "admin", "--at", utc_iso(LOSS)],
            "backstop: --database admin: a system database is not recovered by backstop\n",
        ),
        (
            ["--stack", "prod", "--loss", "tenant", "--database", "tenant_acme", "--at", "yesterday"],
            "backstop: --at yesterday: not an ISO 8601 time (like 2026-05-18T02:13:00Z)\n",
        ),
        (
            [
                "--stack",
                "prod",
                "--loss",
                "tenant",
                "--database",
                "tenant_acme",
                "--at",
                "2026-05-20T00:00:00Z",
            ],
            "backstop: --at 2026-05-20T00:00:00.000Z: the loss cannot be in the future "
            f"(now {utc_iso(PLANNED)})\n",
        ),
        (
            [
                "--stack",
                "prod",
                "--loss",
                "tenant",
                "--database",
                "tenant_acme",
                "--at",
                utc_iso(NOW - timedelta(days=3)),
            ],
            "backstop: no completed, unexpired snapshot of cartie-prod was taken before "
            f"{utc_iso(NOW - timedelta(days=3))}: there is nothing to restore from\n",
        ),
    ],
    ids=["no-collection", "system-db", "bad-time", "future", "no-snapshot"],
)
def test_unusable_plans_are_one_line_exit_2(
    audited: RecoverWorld, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    assert run(capsys, *audited.args("recover", "plan", *args)) == (2, "", message)
    assert_nothing_created(audited)


def test_a_prod_recovery_project_is_refused_at_plan_time(
    audited: RecoverWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    write_project(audited.project_dir, default_drill(stagingProjectId=PROD_PROJECT_ID))
    code, out, err = run(capsys, *audited.args("recover", "plan", *loss_args("tenant")))
    assert (code, out) == (2, "")
    assert err == (
        f"backstop: refusing to restore into project {PROD_PROJECT_ID}: it is the prod project cartie-prod "
        "declared in Pulumi.prod.yaml (backstop:recover.projectId must name a staging project)\n"
    )
    assert_nothing_created(audited)
