"""`backstop recover` end to end: the fake Atlas over HTTP, mongomock clusters, recovery stacks under the
Pulumi SDK's mocks, one fake clock."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest

from backstop.cli import main
from backstop.config.stackfile import read_stack_file
from backstop.ground import tokens
from backstop.ground.documents import document_hash, utc_iso
from backstop.operations.recover.store import INCIDENT_REGISTRY, RECOVERY_LOG
from backstop.program.stack import application_database
from backstop.report.evidence import append_drill_result, verify_chain
from backstop.restore import runtime
from tests.conftest import ROOT
from tests.fakes.drill_world import NOW, PROD_PROJECT_ID, STAGING_PROJECT_ID, default_drill, write_project
from tests.fakes.recover_world import RecoverWorld
from tests.json_documents import assert_valid

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
        monkeypatch.setattr(runtime, "RUNTIME", world.runtime())
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
    return assert_valid(out, "recover plan")


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
    # The seed's RPO for a record is "0 min (oplog replay)": point in time to the second is that.
    assert "  data lost         1 s (RPO target 0 s: met, within point-in-time's 1-second granularity)" in out
    assert "  expected time     1 min, seed estimate" in out and "(RTO target 30 min: met)" in out
    assert f"  tenant notice due    {utc_iso(LOSS + timedelta(hours=1))} (in 30 min) (loss + 1 h)" in out
    assert f"  incident record due  {utc_iso(LOSS + timedelta(hours=24))} (in 23 h 30 min)" in out
    audited.clock.advance(hours=1)
    out = run(capsys, *audited.args("recover", "plan", *loss_args("record")))[1]
    assert "(**OVERDUE** by 30 min) (loss + 1 h)" in out


@pytest.mark.parametrize("loss", ["cluster", "region"])
def test_cluster_and_region_losses_restore_the_newest_snapshot_before_the_loss_in_the_copy_region(
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
    for result in [
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
            "finishedAt": "2026-05-10",
        },
        {
            "drillId": "bad",
            "mechanism": "oplog_replay",
            "timeToRestoreSeconds": None,
            "finishedAt": "2026-05-11",
        },
        {
            "drillId": "snap",
            "mechanism": "snapshot_restore",
            "timeToRestoreSeconds": 99,
            "finishedAt": "2026-05-16",
        },
    ]:
        append_drill_result(audited.evidence, result, now=NOW)
    expected = plan_json(audited, capsys, *loss_args("collection", collection="orders"))[
        "expectedTimeToRestore"
    ]
    assert expected == {
        "seconds": 2700.0,
        "basis": "measured by the last drill (q2, finished 2026-05-10)",
        "rtoSeconds": 7200.0,
        "rtoMet": True,
    }
    env = audited.env()
    del env["BACKSTOP_EVIDENCE_MONGODB_URI"]
    runtime.RUNTIME = audited.runtime(env=env)
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


# --- the whole runbook, loss by loss ---------------------------------------------------------------------


def _delete_one_order(client) -> None:
    client["tenant_acme"]["orders"].delete_one({"n": 5})


def _empty_orders(client) -> None:
    client["tenant_acme"]["orders"].delete_many({})


def _drop_tenant(client) -> None:
    client.drop_database("tenant_acme")


DAMAGE = {
    "record": (_delete_one_order, "orders", {"orders": 1}),
    "collection": (_empty_orders, "orders", {"orders": 40}),
    "tenant": (_drop_tenant, None, {"customers": 15, "orders": 40, "reviews": 25}),
    "cluster": (_drop_tenant, None, {"customers": 15, "orders": 40, "reviews": 25}),
    "region": (_drop_tenant, None, {"customers": 15, "orders": 40, "reviews": 25}),
}


def restore(world: RecoverWorld, capsys: pytest.CaptureFixture[str], *args: str) -> str:
    code, out, err = run(capsys, *world.args("recover", "restore", *args))
    assert code == 0, out + err
    [incident] = [line.split()[1] for line in out.splitlines() if line.startswith("incident ")]
    return incident


def steps(world: RecoverWorld, incident: str) -> list[str]:
    return [
        e["step"] for e in world.evidence[RECOVERY_LOG].find({"incidentId": incident}).sort("sequence", 1)
    ]


def incident_args(incident: str) -> list[str]:
    return ["--stack", "prod", "--incident", incident]


@pytest.mark.parametrize("loss", ["record", "collection", "tenant", "cluster", "region"])
def test_every_loss_goes_through_plan_restore_verify_cutover_and_record(
    audited: RecoverWorld, capsys: pytest.CaptureFixture[str], loss: str, tmp_path: Path
) -> None:
    damage, collection, missing = DAMAGE[loss]
    audited.lose(damage)
    before = {c: audited.backup["tenant_acme"][c].count_documents({}) for c in ("orders", "customers")}
    args = loss_args(loss, collection=collection)
    assert run(capsys, *audited.args("recover", "plan", *args))[0] == 0

    # Restore: a recovery cluster in staging, kept, restored to the planned point.
    incident = restore(audited, capsys, *args, "--quiet")
    name = f"recover-{incident}"
    assert audited.recovery_stacks.calls == [("up", name)]
    [cluster] = [
        r for r in audited.recovery_stacks.runs[name].resources if r.type == tokens.ATLAS_ADVANCED_CLUSTER
    ]
    props = cluster.props
    assert (props["projectId"], props["name"]) == (STAGING_PROJECT_ID, name)
    assert props["tags"]["purpose"] == "recovery" and props["tags"]["incident-id"] == incident
    assert props["tags"]["expires-at"] == (PLANNED + timedelta(hours=72)).isoformat()
    assert audited.recovery_stacks.tags[name] == {
        "backstop:expiresAt": utc_iso(PLANNED + timedelta(hours=72))
    }
    # A cluster that takes over production is backed up from the start; a scratch copy is not.
    assert props["backupEnabled"] is (loss in ("cluster", "region"))
    region = props["replicationSpecs"][0]["regionConfigs"][0]["regionName"]
    assert region == ("US_EAST_1" if loss in ("record", "collection") else "US_WEST_2")
    [post] = audited.atlas.calls("POST", "/restoreJobs")
    assert post.path == f"/api/atlas/v2/groups/{PROD_PROJECT_ID}/clusters/cartie-prod/backup/restoreJobs"
    target = {"targetClusterName": name, "targetGroupId": STAGING_PROJECT_ID}
    # A tenant loss 2.5 h after the newest snapshot, inside the point-in-time window: point in time.
    if loss in ("record", "collection", "tenant"):
        assert post.body == {
            "deliveryType": "pointInTime",
            "pointInTimeUTCSeconds": int(LOSS.timestamp()) - 1,
            **target,
        }
    else:
        assert post.body["deliveryType"] == "automated" and post.body.items() >= target.items()
    assert steps(audited, incident) == [
        "opened",
        "cluster-requested",
        "cluster-created",
        "restore-requested",
        "restore-finished",
    ]

    # Verify: what production lacks, by _id and hash, written to the incident record.
    code, out, err = run(capsys, *audited.args("recover", "verify", *incident_args(incident)))
    assert code == 0, err
    verified = audited.evidence[RECOVERY_LOG].find_one({"incidentId": incident, "step": "verified"})
    found = {c["collection"]: c["missingInProduction"] for c in verified["collections"]}
    assert {k: v for k, v in found.items() if v} == missing
    assert all(c["changedInProduction"] == 0 for c in verified["collections"])
    orders = next(c for c in verified["collections"] if c["collection"] == "orders")
    assert orders["counts"] == {"recovery": 40, "production": 40 - missing["orders"], "manifest": 40}

    # Cutover: a dry run first, then for real.
    code, out, _ = run(capsys, *audited.args("recover", "cutover", *incident_args(incident)))
    assert code == 0 and "DRY RUN (nothing written)" in out
    assert audited.atlas.calls("POST", "/backup/snapshots") == []
    code, out, err = run(
        capsys,
        *audited.args(
            "recover", "cutover", *incident_args(incident), "--execute", "--confirm", "tenant_acme"
        ),
    )
    assert code == 0, out + err
    if loss in ("cluster", "region"):
        assert out.rstrip().splitlines()[-1] == (
            "pulumi up -s prod --policy-pack policies --policy-pack-config policies/prod.json"
        )
        cfg = read_stack_file(audited.project_dir, "prod").stack_config()
        assert cfg.recover.connection_target is not None
        assert (cfg.recover.connection_target.project_id, cfg.recover.connection_target.cluster_name) == (
            STAGING_PROJECT_ID,
            name,
        )
        assert audited.atlas.calls("POST", "/backup/snapshots") == []  # production is not written to
    else:
        after = {c: audited.source["tenant_acme"][c].count_documents({}) for c in ("orders", "customers")}
        assert after == before
        assert len(audited.atlas.calls("POST", "/backup/snapshots")) == 1

    # Record: in time, with the notice inside the hour.
    postmortem = tmp_path / "incident.md"
    audited.clock.advance(hours=1)
    code, out, err = run(
        capsys,
        *audited.args(
            "recover",
            "record",
            *incident_args(incident),
            "--tenants-notified-at",
            utc_iso(LOSS + timedelta(minutes=45)),
            "--postmortem",
            str(postmortem),
        ),
    )
    [record] = list(audited.evidence[INCIDENT_REGISTRY].find({}, {"_id": 0}))
    assert (record["lost"], record["sequence"]) == (
        {"type": loss, "database": "tenant_acme", "collection": collection, "at": utc_iso(LOSS)},
        1,
    )
    assert record["deadlines"]["tenantNotice"]["status"] == "met"
    assert record["deadlines"]["incidentRecord"]["status"] == "met"
    assert record["restore"]["timeToRestoreSeconds"] == 2700.0  # the fake's 45-minute restore
    assert code == (0 if not record["missed"] else 1), out + err
    assert postmortem.read_text() == out.split(f"\n\n{INCIDENT_REGISTRY} head:")[0].rstrip() + "\n"
    assert verify_chain(audited.evidence[INCIDENT_REGISTRY], name=INCIDENT_REGISTRY).intact


def test_the_record_marks_late_notice_and_late_record_as_missed(
    audited: RecoverWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    audited.lose(_empty_orders)
    incident = restore(audited, capsys, *loss_args("collection", collection="orders"), "--quiet")
    audited.clock.advance(hours=24)  # recorded 24.5 h after the loss
    code, out, _ = run(
        capsys,
        *audited.args(
            "recover",
            "record",
            *incident_args(incident),
            "--tenants-notified-at",
            utc_iso(LOSS + timedelta(hours=2)),
        ),
    )
    assert code == 1
    [record] = list(audited.evidence[INCIDENT_REGISTRY].find({}, {"_id": 0}))
    assert record["missed"][:2] == [
        f"tenant notice due {utc_iso(LOSS + timedelta(hours=1))} (loss + 1 h): notified "
        f"{utc_iso(LOSS + timedelta(hours=2))}",
        f"incident record due {utc_iso(LOSS + timedelta(hours=24))} (loss + 24 h): recorded "
        f"{utc_iso(audited.clock.now())}",
    ]
    assert "## Missed" in out and "- [ ] Update the Risk Assessment if this is a new failure mode" in out
    # Recording again appends a record that supersedes the first; the chain stays intact.
    run(capsys, *audited.args("recover", "record", *incident_args(incident)))
    second = audited.evidence[INCIDENT_REGISTRY].find_one({"sequence": 2})
    assert (second["supersedes"], second["tenantsNotifiedAt"]) == (1, utc_iso(LOSS + timedelta(hours=2)))
    assert verify_chain(audited.evidence[INCIDENT_REGISTRY], name=INCIDENT_REGISTRY).intact
    audited.evidence[INCIDENT_REGISTRY].update_one({"sequence": 1}, {"$set": {"missed": []}})
    code, _, err = run(capsys, *audited.args("recover", "record", *incident_args(incident)))
    assert code == 2
    assert err.startswith(f"backstop: {INCIDENT_REGISTRY} record #1 ({incident}): its content does not match")


def test_no_notice_at_all_is_missed_once_the_hour_has_passed(
    audited: RecoverWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    audited.lose(_delete_one_order)
    incident = restore(audited, capsys, *loss_args("record", collection="orders"), "--quiet")
    run(capsys, *audited.args("recover", "record", *incident_args(incident)))
    [record] = list(audited.evidence[INCIDENT_REGISTRY].find({}, {"_id": 0}))
    assert record["deadlines"]["tenantNotice"]["status"] == "missed"
    assert record["missed"][0].endswith("(loss + 1 h): no notice recorded")


# --- guards ----------------------------------------------------------------------------------------------


def test_a_prod_recovery_project_is_refused_before_anything_is_created(
    audited: RecoverWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    write_project(audited.project_dir, default_drill(stagingProjectId=PROD_PROJECT_ID))
    code, out, err = run(capsys, *audited.args("recover", "restore", *loss_args("tenant")))
    assert (code, out) == (2, "")
    assert err.startswith(
        f"backstop: refusing to restore into project {PROD_PROJECT_ID}: it is the prod project"
    )
    assert_nothing_created(audited)
    assert audited.evidence[RECOVERY_LOG].count_documents({}) == 0


def test_the_cluster_atlas_reports_is_checked_again_right_before_the_restore_request(
    audited: RecoverWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    def moved_into_prod(stack_name: str) -> None:
        cluster = audited.atlas.clusters.pop((STAGING_PROJECT_ID, stack_name))
        cluster["groupId"] = PROD_PROJECT_ID
        audited.atlas.clusters[(STAGING_PROJECT_ID, stack_name)] = cluster

    audited.recovery_stacks.after_up = moved_into_prod
    code, _, err = run(capsys, *audited.args("recover", "restore", *loss_args("tenant"), "--quiet"))
    assert code == 2
    assert (
        "refusing to restore into recover-" in err
        and f"in project {PROD_PROJECT_ID}: prod declares it" in err
    )
    assert audited.atlas.calls("POST", "/restoreJobs") == []
    [incident] = audited.evidence[RECOVERY_LOG].distinct("incidentId")
    assert steps(audited, incident) == ["opened", "cluster-requested", "cluster-created", "refused"]
    assert err.rstrip().endswith(
        f"no restore was requested (remove what was created: backstop recover cleanup --stack prod "
        f"--incident {incident})"
    )


# --- cutover safety --------------------------------------------------------------------------------------


@pytest.fixture()
def verified(audited: RecoverWorld, capsys: pytest.CaptureFixture[str]) -> tuple[RecoverWorld, str]:
    audited.lose(_drop_tenant)
    production = audited.source["tenant_acme"]
    production["reviews"].insert_one({"_id": "written-after-the-loss", "n": -1})
    kept = audited.backup["tenant_acme"]["customers"].find_one({"n": 4})
    production["customers"].insert_one(dict(kept, n=999))  # changed since the restore point
    incident = restore(audited, capsys, *loss_args("tenant"), "--quiet")
    assert run(capsys, *audited.args("recover", "verify", *incident_args(incident)))[0] == 0
    return audited, incident


def test_a_dry_run_writes_nothing_anywhere(verified, capsys: pytest.CaptureFixture[str]) -> None:
    world, incident = verified
    production = world.source["tenant_acme"]
    before = {c: list(production[c].find()) for c in ("orders", "customers", "reviews")}
    trail = steps(world, incident)
    code, out, _ = run(
        capsys, *world.args("recover", "cutover", *incident_args(incident), "--replace-changed")
    )
    assert code == 0
    assert "| `orders` | 40 | 0 | 0 | 0 | 0 |" in out  # would be inserted
    assert "| `customers` | 14 | 1 | 0 | 0 | 0 |" in out  # 14 missing, 1 changed: would be replaced
    assert {c: list(production[c].find()) for c in before} == before
    assert world.atlas.calls("POST", "/backup/snapshots") == []
    assert steps(world, incident) == trail
    assert out.rstrip().endswith(
        f"backstop recover cutover --stack prod --incident {incident} --replace-changed --execute "
        "--confirm tenant_acme"
    )


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--execute"], "backstop: --execute needs --confirm tenant_acme (the incident's database)\n"),
        (
            ["--execute", "--confirm", "tenant_globex"],
            "backstop: --confirm tenant_globex: the incident's database is tenant_acme; "
            "nothing was written\n",
        ),
    ],
    ids=["no-confirm", "wrong-confirm"],
)
def test_execute_without_the_right_confirm_is_refused(
    verified, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    world, incident = verified
    trail = steps(world, incident)
    assert run(capsys, *world.args("recover", "cutover", *incident_args(incident), *extra)) == (
        2,
        "",
        message,
    )
    assert world.source["tenant_acme"]["orders"].count_documents({}) == 0
    assert world.atlas.calls("POST", "/backup/snapshots") == []
    assert steps(world, incident) == trail


def test_the_on_demand_snapshot_completes_before_any_write_and_only_listed_documents_are_written(
    verified, capsys: pytest.CaptureFixture[str]
) -> None:
    world, incident = verified
    production = world.source["tenant_acme"]
    seen_at_snapshot: list[int] = []
    world.atlas.on_snapshot = lambda snapshot: seen_at_snapshot.append(
        production["orders"].count_documents({})
    )
    code, out, err = run(
        capsys,
        *world.args("recover", "cutover", *incident_args(incident), "--execute", "--confirm", "tenant_acme"),
    )
    assert code == 0, out + err
    assert seen_at_snapshot == [0]  # the snapshot completed while production still lacked every order
    [post] = world.atlas.calls("POST", "/backup/snapshots")
    assert post.path == f"/api/atlas/v2/groups/{PROD_PROJECT_ID}/clusters/cartie-prod/backup/snapshots"
    assert post.body == {
        "description": f"backstop recover {incident}: before the cutover writes anything",
        "retentionInDays": 7,
    }
    trail = steps(world, incident)
    first_write = trail.index("cutover-write")
    assert trail.index("cutover-snapshot-completed") < trail.index("cutover-started") < first_write
    # Missing documents are back, equal to the recovery cluster's; the changed one and the one written after
    # the loss are untouched without --replace-changed.
    recovery = world.recovery_client(f"recover-{incident}")["tenant_acme"]
    for name in ("orders", "customers", "reviews"):
        for document in recovery[name].find():
            there = production[name].find_one({"_id": document["_id"]})
            assert there is not None
            if name == "customers" and document["n"] == 4:
                assert there["n"] == 999
            else:
                assert document_hash(there) == document_hash(document)
    assert production["reviews"].find_one({"_id": "written-after-the-loss"}) == {
        "_id": "written-after-the-loss",
        "n": -1,
    }
    writes = list(world.evidence[RECOVERY_LOG].find({"incidentId": incident, "step": "cutover-write"}))
    assert sorted((w["collection"], w["action"], w["count"]) for w in writes) == [
        ("customers", "insert", 14),
        ("orders", "insert", 40),
        ("reviews", "insert", 25),
    ]
    assert "| `customers` | 14 | 0 | 0 | 1 | 0 |" in out
    # With --replace-changed, the changed document is replaced, and nothing is inserted twice.
    code, out, _ = run(
        capsys,
        *world.args(
            "recover",
            "cutover",
            *incident_args(incident),
            "--replace-changed",
            "--execute",
            "--confirm",
            "tenant_acme",
        ),
    )
    assert code == 0
    assert "| `customers` | 0 | 1 | 14 | 0 | 0 |" in out
    assert production["customers"].find_one({"n": 4}) is not None
    assert production["customers"].count_documents({}) == 15
    # The first snapshot stays the undo point of the first write-back; the rerun, after production was
    # written, takes its own before replacing anything.
    assert len(world.atlas.calls("POST", "/backup/snapshots")) == 2


class _InterruptAfter:
    """A production client whose N+1-th batch insert is interrupted: before it is sent (Ctrl-C), or once
    the server applied it but before the answer (`applied`, as a SIGKILL right after the write)."""

    def __init__(self, inner, batches: int, *, applied: bool = False) -> None:
        self.inner, self.left, self.applied = inner, batches, applied

    def __getitem__(self, name: str):
        outer = self

        class Database:
            def __getattr__(self, attr: str):
                return getattr(outer.inner[name], attr)

            def __getitem__(self, collection: str):
                real = outer.inner[name][collection]

                class Collection:
                    def __getattr__(self, attr: str):
                        return getattr(real, attr)

                    def insert_many(self, documents, **options):
                        if outer.left == 0:
                            if outer.applied:
                                real.insert_many(documents, **options)
                            raise KeyboardInterrupt
                        outer.left -= 1
                        return real.insert_many(documents, **options)

                return Collection()

        return Database()


@pytest.mark.parametrize("applied", [False, True], ids=["before-the-batch", "after-the-batch"])
def test_an_interrupted_cutover_resumes_without_duplicates(
    verified, capsys: pytest.CaptureFixture[str], applied: bool
) -> None:
    world, incident = verified
    world.production_wrapper = lambda client: _InterruptAfter(client, 1, applied=applied)
    args = world.args("recover", "cutover", *incident_args(incident), "--execute", "--confirm", "tenant_acme")
    code, _, err = run(capsys, *args)
    assert code == 130
    assert "run the same command again to resume" in err
    log = world.evidence[RECOVERY_LOG]
    # Every batch is logged before it is sent: the interrupted one names its 40 orders, acknowledged or not.
    logged = [
        (w["step"], w["collection"], w["count"])
        for w in log.find(
            {"incidentId": incident, "step": {"$in": ["cutover-writing", "cutover-write"]}}
        ).sort("sequence", 1)
    ]
    assert logged == [
        ("cutover-writing", "customers", 14),
        ("cutover-write", "customers", 14),
        ("cutover-writing", "orders", 40),
    ]
    world.production_wrapper = None
    code, out, err = run(capsys, *args)
    assert code == 0, out + err
    # Production was written since the first snapshot: the rerun takes a fresh one before writing again.
    assert len(world.atlas.calls("POST", "/backup/snapshots")) == 2
    production = world.source["tenant_acme"]
    assert {c: production[c].count_documents({}) for c in ("orders", "customers", "reviews")} == {
        "orders": 40,
        "customers": 15,
        "reviews": 26,
    }
    ids = [
        (w["collection"], repr(i))
        for w in log.find({"incidentId": incident, "step": "cutover-write"})
        for i in w["ids"]
    ]
    assert len(ids) == len(set(ids)) == (39 if applied else 79)  # the applied batch is found in place
    completed = log.find_one({"incidentId": incident, "step": "cutover-completed"})
    assert sum(c["alreadyInPlace"] for c in completed["collections"]) == (54 if applied else 14)
    assert all(c["conflicts"] == [] for c in completed["collections"])


# --- cluster swap and cleanup ------------------------------------------------------------------------------


def test_the_swapped_connection_target_is_what_the_program_exports_and_cleanup_keeps_it(
    audited: RecoverWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    audited.lose(_drop_tenant)
    incident = restore(audited, capsys, *loss_args("region"), "--quiet")
    assert run(capsys, *audited.args("recover", "verify", *incident_args(incident)))[0] == 0
    original = (audited.project_dir / "Pulumi.prod.yaml").read_text()
    code, out, _ = run(capsys, *audited.args("recover", "cutover", *incident_args(incident)))
    assert code == 0 and (audited.project_dir / "Pulumi.prod.yaml").read_text() == original
    assert (
        f"pulumi config set --path -s prod 'backstop:recover.connectionTarget.clusterName' recover-{incident}"
        in out
    )
    run(
        capsys,
        *audited.args(
            "recover", "cutover", *incident_args(incident), "--execute", "--confirm", "tenant_acme"
        ),
    )
    text = (audited.project_dir / "Pulumi.prod.yaml").read_text()
    assert text.startswith(original.rstrip("\n"))  # every line and comment kept, the section appended
    cfg = read_stack_file(audited.project_dir, "prod").stack_config()
    recovered = audited.atlas.clusters[(STAGING_PROJECT_ID, f"recover-{incident}")]
    srv = recovered["connectionStrings"]["standardSrv"]
    assert srv.startswith("mongodb+srv://") and "@" not in srv
    assert f"'backstop:recover.connectionTarget.standardSrv' {srv}" in out
    assert application_database(cfg, PROD_PROJECT_ID, {}) == {
        "projectId": STAGING_PROJECT_ID,
        "clusterName": f"recover-{incident}",
        "incidentId": incident,
        "standardSrv": srv,
    }
    code, out, _ = run(capsys, *audited.args("recover", "cleanup", "--incident", incident))
    assert code == 1 and "it is the application's connection target" in out
    assert audited.recovery_stacks.destroyed() == []


def test_cleanup_removes_the_named_or_the_expired_recovery_clusters(
    audited: RecoverWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    audited.lose(_empty_orders)
    first = restore(audited, capsys, *loss_args("collection", collection="orders"), "--quiet")
    audited.clock.advance(hours=1)
    second = restore(audited, capsys, *loss_args("collection", collection="orders"), "--new", "--quiet")
    code, out, _ = run(capsys, *audited.args("recover", "cleanup", "--dry-run"))
    assert code == 0 and "would destroy 0 recovery stack(s)" in out
    code, out, _ = run(capsys, *audited.args("recover", "cleanup", "--dry-run", "--format", "json"))
    document = assert_valid(out, "recover cleanup")
    assert code == 0 and document["passed"] is True
    assert sorted((s["stack"].rsplit("/", 1)[-1], s["action"]) for s in document["stacks"]) == [
        (f"recover-{first}", "keep"),
        (f"recover-{second}", "keep"),
    ]
    audited.clock.advance(hours=71)  # the first expired 30 min ago, the second expires in 15 min
    code, out, _ = run(capsys, *audited.args("recover", "cleanup", "--quiet"))
    assert (code, audited.recovery_stacks.destroyed()) == (0, [f"recover-{first}"])
    assert (STAGING_PROJECT_ID, f"recover-{first}") not in audited.atlas.clusters
    code, out, _ = run(capsys, *audited.args("recover", "cleanup", "--incident", second, "--quiet"))
    assert code == 0 and audited.recovery_stacks.destroyed() == [f"recover-{first}", f"recover-{second}"]


def test_the_documented_runbook_commands_parse_and_follow_the_seed_s_three_steps() -> None:
    import shlex

    from backstop.cli import build_parser

    section = (ROOT / "docs" / "commands" / "recover.md").read_text(encoding="utf-8")
    assert [m for m in re.findall(r"\*\*(Step \d) — ", section)] == ["Step 1", "Step 2", "Step 3"]
    commands = re.findall(r"^\.venv/bin/backstop (recover .+)$", section, re.M)
    assert {shlex.split(c)[1] for c in commands} == {
        "plan",
        "restore",
        "verify",
        "cutover",
        "record",
        "cleanup",
        "status",
        "verify-registry",
    }
    parser = build_parser()
    for command in commands:
        parser.parse_args(shlex.split(command))  # exits (SystemExit) on anything argparse refuses


def test_the_runbook_calls_only_the_atlas_operations_listed_for_recover(
    audited: RecoverWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    from backstop.clients.atlas import OPERATIONS_BY_COMMAND
    from tests.contract.spec import find_operation

    audited.atlas.requests.clear()
    audited.lose(_drop_tenant)
    incident = restore(audited, capsys, *loss_args("tenant"), "--quiet")
    run(capsys, *audited.args("recover", "verify", *incident_args(incident)))
    run(
        capsys,
        *audited.args(
            "recover", "cutover", *incident_args(incident), "--execute", "--confirm", "tenant_acme"
        ),
    )
    called = {find_operation(r.method, r.path)[1]["operationId"] for r in audited.atlas.requests}
    assert called <= set(OPERATIONS_BY_COMMAND["recover"])
    assert {
        "getGroupClusterBackupSchedule",
        "takeGroupClusterBackupSnapshots",
        "getGroupClusterBackupSnapshot",
    } <= called


def test_a_restore_still_running_at_the_timeout_is_left_running_and_verify_picks_it_up(
    audited: RecoverWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    audited.lose(_empty_orders)
    audited.atlas.restore_duration = timedelta(hours=8)  # backstop:recover.restoreTimeout is 6 h
    code, out, err = run(
        capsys, *audited.args("recover", "restore", *loss_args("collection", collection="orders"), "--quiet")
    )
    assert code == 1
    [incident] = [line.split()[1] for line in out.splitlines() if line.startswith("incident ")]
    assert "still running after 6 h; Atlas cannot cancel it" in err
    assert audited.atlas.calls("DELETE") == []
    assert steps(audited, incident)[-1] == "restore-ended"
    assert run(capsys, *audited.args("recover", "verify", *incident_args(incident)))[0] == 1  # not yet
    audited.clock.advance(hours=3)
    code, out, _ = run(capsys, *audited.args("recover", "verify", *incident_args(incident)))
    assert code == 0 and "| `orders` | 40 | 0 | 40 | 40 | 0 | 0 |" in out
    finished = audited.evidence[RECOVERY_LOG].find_one({"incidentId": incident, "step": "restore-finished"})
    assert finished["timeToRestoreSeconds"] == 8 * 3600.0


def test_a_pre_cutover_snapshot_that_is_not_done_stops_the_cutover_before_any_write(
    verified, capsys: pytest.CaptureFixture[str]
) -> None:
    world, incident = verified
    world.atlas.snapshot_duration = timedelta(hours=3)  # backstop:recover.snapshotTimeout is 2 h
    args = world.args("recover", "cutover", *incident_args(incident), "--execute", "--confirm", "tenant_acme")
    code, _, err = run(capsys, *args, "--quiet")
    assert code == 2
    assert "is not complete after 2 h: nothing was written" in err
    assert world.source["tenant_acme"]["orders"].count_documents({}) == 0
    assert "cutover-write" not in steps(world, incident)
    code, out, _ = run(capsys, *args, "--quiet")  # waits on the same snapshot, then writes
    assert code == 0, out
    assert len(world.atlas.calls("POST", "/backup/snapshots")) == 1
    assert world.source["tenant_acme"]["orders"].count_documents({}) == 40


def test_a_prod_stack_of_another_name_plans_as_prod_does(
    world: RecoverWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    """`recover` takes any stack name, its environment from `backstop:environment` (issue 23), as drill
    does: the prod stack file renamed `Pulumi.production.yaml` plans the same restore from prod's cluster."""
    (world.project_dir / "Pulumi.prod.yaml").rename(world.project_dir / "Pulumi.production.yaml")
    assert read_stack_file(world.project_dir, "production").values["backstop:environment"] == "prod"
    assert run(capsys, *world.args("audit", "--stack", "production"))[0] == 0
    world.clock.advance(hours=2)
    args = ["--stack", "production", *loss_args("collection", collection="orders")[2:]]
    plan = plan_json(world, capsys, *args)
    assert plan["source"]["projectId"] == PROD_PROJECT_ID
    assert (plan["source"]["cluster"], plan["source"]["pitEnabled"]) == ("cartie-prod", True)
    assert plan["restorePoint"]["at"] == utc_iso(LOSS - timedelta(seconds=1))
    assert plan["recoveryCluster"]["projectId"] == STAGING_PROJECT_ID
    assert plan["next"] == (
        "backstop recover restore --stack production --loss collection --database tenant_acme "
        f"--collection orders --at {utc_iso(LOSS)}"
    )
    assert_nothing_created(world)
