"""A tenant loss uses point-in-time recovery when it loses less data than the newest snapshot (issue 26):
inside Atlas's restorable window and later than the newest snapshot; else the newest snapshot. The plan
says which it chose and what each would lose."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from backstop.ground.documents import utc_iso
from tests.fakes.drill_world import NOW, PROD_PROJECT_ID
from tests.fakes.recover_world import RecoverWorld
from tests.recover_support import audited_world  # noqa: F401 (the `audited` fixture)
from tests.test_recover import assert_nothing_created, run

AT = NOW + timedelta(hours=1)  # 2 h after the newest snapshot (NOW - 1 h)
NEWEST = utc_iso(NOW - timedelta(hours=1))


def _tenant_plan(world: RecoverWorld, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str]:
    args = ("--stack", "prod", "--loss", "tenant", "--database", "tenant_acme", "--at", utc_iso(AT), *extra)
    code, out, err = run(capsys, *world.args("recover", "plan", *args))
    assert code == 0, out + err
    return code, out


def _newest_id(world: RecoverWorld) -> str:
    snapshots = world.atlas.snapshots[(PROD_PROJECT_ID, "cartie-prod")]
    return str(max(snapshots, key=lambda s: s["createdAt"])["id"])


def test_a_tenant_loss_two_hours_after_the_newest_snapshot_inside_the_window_restores_to_a_point_in_time(
    audited: RecoverWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = json.loads(_tenant_plan(audited, capsys, "--format", "json")[1])
    newest = _newest_id(audited)
    point = utc_iso(AT - timedelta(seconds=1))
    assert (plan["mechanism"]["restoreMode"], plan["mechanism"]["key"]) == ("pointInTime", "oplog_replay")
    assert plan["mechanism"]["choice"] == {
        "chosen": "pointInTime",
        "pointInTimeDataLostSeconds": 1.0,
        "snapshotDataLostSeconds": 7200.0,
        "pointInTimeNotPossible": None,
        "text": f"point-in-time restore to {point} (loses 1 s) rather than the newest snapshot {newest} of "
        f"{NEWEST} (would lose 2 h)",
    }
    assert plan["restorePoint"]["at"] == point and plan["restorePoint"]["snapshot"] is None
    assert plan["restorePoint"]["dataLostSeconds"] == 1.0
    assert plan["recoveryCluster"]["region"] == "US_WEST_2"
    assert (
        f"Atlas replays the oplog from snapshot {newest} taken {NEWEST.replace('.000', '')}" in plan["notes"]
    )
    out = _tenant_plan(audited, capsys)[1]
    assert f"  chosen            point-in-time restore to {point} (loses 1 s) rather than the newest" in out
    assert "  mechanism         point-in-time recovery to the second before the loss" in out
    assert_nothing_created(audited)


def test_a_tenant_loss_outside_the_window_restores_the_newest_snapshot_and_says_why(
    audited: RecoverWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    audited.atlas.set_schedule(PROD_PROJECT_ID, "cartie-prod", restore_window_days=1)
    audited.clock.advance(hours=23)  # the loss is now 24 h old: past the 1-day window
    plan = json.loads(_tenant_plan(audited, capsys, "--format", "json")[1])
    newest = _newest_id(audited)
    point = utc_iso(AT - timedelta(seconds=1))
    assert plan["mechanism"]["restoreMode"] == "snapshot"
    choice = plan["mechanism"]["choice"]
    assert (choice["chosen"], choice["pointInTimeDataLostSeconds"], choice["snapshotDataLostSeconds"]) == (
        "snapshot",
        None,
        7200.0,
    )
    assert choice["pointInTimeNotPossible"].startswith(
        f"{point} is outside (or within 1 h of the edge of) the 1-day point-in-time window"
    )
    assert choice["text"].startswith(
        f"the newest snapshot {newest} of {NEWEST} (loses 2 h): no point-in-time restore ({point} is outside"
    )
    assert plan["restorePoint"]["snapshot"]["id"] == newest
    assert plan["restorePoint"]["dataLostSeconds"] == 7200.0


def test_a_tenant_loss_without_continuous_backup_restores_the_newest_snapshot(
    audited: RecoverWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    audited.atlas.clusters[(PROD_PROJECT_ID, "cartie-prod")]["pitEnabled"] = False
    plan = json.loads(_tenant_plan(audited, capsys, "--format", "json")[1])
    assert plan["mechanism"]["restoreMode"] == "snapshot"
    assert plan["mechanism"]["choice"]["pointInTimeNotPossible"] == (
        "cluster cartie-prod has no continuous cloud backup (pitEnabled false)"
    )
