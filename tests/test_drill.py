"""`backstop drill` end to end: the fake Atlas over HTTP, mongomock clusters, the drill program under the
Pulumi SDK's mocks."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from backstop.cli import main
from backstop.clients.atlas import AtlasClient
from backstop.config.stackfile import read_stack_file
from backstop.ground import tokens
from backstop.ground.errors import UsageError
from backstop.operations.drill.run import DrillOptions, plan_drill
from backstop.report.evidence import AUDIT_COLLECTION, DRILL_RESULTS_COLLECTION
from backstop.report.objectives import measured_restore_times
from backstop.restore import runtime
from backstop.restore.common import RefusedTarget, refuse_prod_targets
from tests.fakes.drill_stacks import FakeDrillStacks
from tests.fakes.drill_world import (
    PROD_PROJECT_ID,
    SOURCE_URI,
    STAGING_PROJECT_ID,
    TENANTS,
    DrillWorld,
    default_drill,
    write_project,
)
from tests.fakes.mongo import SnapshotReplicaSet
from tests.json_documents import assert_valid
from tests.log_support import logged

DRILL_TIME = datetime(2026, 5, 18, 3, 0, tzinfo=UTC)
STACK_NAME = re.compile(r"^drill-20260518-030000-[0-9a-f]{6}$")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def audit(world: DrillWorld, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, *world.args("audit", "--stack", "prod"))[0] == 0
    world.clock.advance(days=1)


@pytest.fixture()
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    with DrillWorld(tmp_path) as world:
        monkeypatch.setattr(runtime, "RUNTIME", world.runtime())
        yield world


@pytest.fixture()
def audited(world: DrillWorld, capsys: pytest.CaptureFixture[str]) -> DrillWorld:
    audit(world, capsys)
    return world


def drill_stack(world: DrillWorld) -> str:
    names = {name for _, name in world.stacks.calls}
    assert len(names) == 1
    return names.pop()


def results(world: DrillWorld) -> list[dict]:
    return [
        {k: v for k, v in r.items() if k != "_id"} for r in world.evidence[DRILL_RESULTS_COLLECTION].find({})
    ]


def test_a_drill_restores_measures_verifies_records_and_tears_down(
    audited: DrillWorld, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    summary, result_json = tmp_path / "evidence" / "drill.md", tmp_path / "evidence" / "drill.json"
    code, out, err = run(
        capsys,
        *audited.args(
            "drill",
            "--stack",
            "prod",
            "--summary",
            str(summary),
            "--result-json",
            str(result_json),
            "--seed",
            "7",
        ),
    )
    assert code == 0, out + err
    name = drill_stack(audited)
    assert STACK_NAME.match(name)
    assert audited.stacks.calls == [("up", name), ("destroy", name)]

    # What the drill stack declared, recorded under the Pulumi SDK's mocks.
    resources = {r.type: r for r in audited.stacks.runs[name].resources}
    cluster = resources[tokens.ATLAS_ADVANCED_CLUSTER].props
    assert (cluster["projectId"], cluster["name"], cluster["mongoDbMajorVersion"]) == (
        STAGING_PROJECT_ID,
        name,
        "8.0",
    )
    assert (cluster["backupEnabled"], cluster["pitEnabled"], cluster["terminationProtectionEnabled"]) == (
        False,
        False,
        False,
    )
    assert cluster["deleteOnCreateTimeout"] is True
    assert cluster["tags"]["expires-at"] == "2026-05-18T09:00:00+00:00"  # now + ttlHours (6)
    assert (cluster["tags"]["purpose"], cluster["tags"]["source-cluster"]) == ("restore-drill", "cartie-prod")
    assert audited.stacks.tags[name] == {"backstop:expiresAt": "2026-05-18T09:00:00.000Z"}
    user = resources[tokens.ATLAS_DATABASE_USER].props
    assert user["roles"] == [{"roleName": "readAnyDatabase", "databaseName": "admin"}]
    assert user["scopes"] == [{"name": name, "type": "CLUSTER"}]

    # The restore: point in time to the manifest, from prod's cluster into the drill cluster.
    posts = audited.atlas.calls("POST", "/backup/restoreJobs")
    assert [p.path for p in posts] == [
        f"/api/atlas/v2/groups/{PROD_PROJECT_ID}/clusters/cartie-prod/backup/restoreJobs"
    ]
    assert posts[0].body == {
        "deliveryType": "pointInTime",
        "targetClusterName": name,
        "targetGroupId": STAGING_PROJECT_ID,
        "pointInTimeUTCSeconds": int(datetime(2026, 5, 17, 3, 0, tzinfo=UTC).timestamp()),
    }
    assert (name, STAGING_PROJECT_ID) not in {(k[1], k[0]) for k in audited.atlas.clusters}  # destroyed again

    # The verification connected to the restored cluster with the drill's own user.
    uri, credentials = audited.mongo.connections[-1]
    assert uri.startswith(f"mongodb+srv://{name}.")
    assert credentials["username"] == user["username"] and credentials["authSource"] == "admin"

    [document] = results(audited)
    assert json.loads(result_json.read_text()) == json.loads(json.dumps(document, default=str))
    assert (document["tenantDatabase"] in TENANTS, document["seed"], document["mechanism"]) == (
        True,
        7,
        "oplog_replay",
    )
    assert (
        document["timeToRestoreSeconds"],
        document["rtoSeconds"],
        document["rtoMet"],
        document["passed"],
    ) == (
        2700.0,
        7200.0,
        True,
        True,
    )
    assert document["restore"]["durationBasis"] == (
        "Atlas clock: restore request accepted (Date header of the 200 response) → restore job finishedAt "
        "(Atlas clock)"
    )
    assert document["restore"]["acceptedAt"] == "2026-05-18T03:00:00.000Z"
    assert "createdAt" not in document["restore"]
    assert document["verification"]["passed"] is True
    assert [d["outcome"] for d in document["verification"]["documents"]] == ["equal"] * 10
    assert document["teardown"] == {"destroyed": True, "error": None, "leftForSweep": None}
    assert measured_restore_times([json.loads(result_json.read_text())]) == {
        "oplog_replay": timedelta(minutes=45)
    }

    assert summary.read_text() == out.rstrip() + "\n"
    assert out.startswith(f"# Restore drill `{name}`: PASSED")
    assert (
        "| time to restore | 45 min (Atlas clock: restore request accepted (Date header of the 200 response) "
        "→ restore job finishedAt (Atlas clock)) against the RTO of 2 h: met |" in out
    )
    assert "| spot checks | 10 of 10 documents equal by SHA-256 |" in out
    progress = logged(err)
    assert any(re.fullmatch(r"restore job [0-9a-f]{24}: running, 10 min elapsed", line) for line in progress)
    assert any(re.fullmatch(r"restore job [0-9a-f]{24}: finished, 50 min elapsed", line) for line in progress)


def test_the_pick_is_seeded_and_never_an_excluded_database(
    world: DrillWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    # Audit everything (bigcorp too), then drill with bigcorp excluded as a production-customer database.
    write_project(world.project_dir, default_drill(excludedDatabases=[]))
    audit(world, capsys)
    write_project(world.project_dir, default_drill())
    cfg = read_stack_file(world.project_dir, "prod").stack_config()
    atlas = AtlasClient.from_env(world.env())

    def pick(seed: int) -> tuple[str, list]:
        plan = plan_drill(
            cfg,
            cfg,
            stack="prod",
            atlas=atlas,
            evidence=world.evidence,
            clock=world.clock.now,
            options=DrillOptions(seed=seed),
        )
        return plan.tenant, [(s.collection, repr(s.id)) for s in plan.spot_checks]

    picks = {seed: pick(seed) for seed in range(40)}
    assert {tenant for tenant, _ in picks.values()} == set(TENANTS)
    assert all(pick(seed) == picks[seed] for seed in (0, 1, 2))
    code, _, err = run(capsys, *world.args("drill", "--stack", "prod", "--database", "tenant_bigcorp"))
    assert (code, err) == (
        2,
        "backstop: --database tenant_bigcorp: "
        "excluded by backstop:drill.excludedDatabases in Pulumi.prod.yaml\n",
    )
    assert world.stacks.calls == [] and world.atlas.calls("POST") == []


def test_a_missed_rto_fails_the_drill_with_the_measured_time(
    audited: DrillWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    audited.atlas.restore_duration = timedelta(hours=3)
    code, out, _ = run(capsys, *audited.args("drill", "--stack", "prod", "--quiet"))
    assert code == 1
    [document] = results(audited)
    assert (document["timeToRestoreSeconds"], document["rtoMet"], document["passed"]) == (
        10800.0,
        False,
        False,
    )
    assert "against the RTO of 2 h: **missed** |" in out
    assert "- time to restore 3 h exceeds the RTO of 2 h" in out
    assert audited.stacks.destroyed() == [drill_stack(audited)]


def test_a_count_mismatch_names_the_collection(
    audited: DrillWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    audited.tamper = lambda target: target["tenant_initech"]["notes"].delete_one({"n": 2})
    code, out, _ = run(
        capsys, *audited.args("drill", "--stack", "prod", "--database", "tenant_initech", "--quiet")
    )
    assert code == 1
    assert "- `notes` has 3 documents, the manifest 4" in out
    [document] = results(audited)
    outcomes = {(d["collection"], d["outcome"]) for d in document["verification"]["documents"]}
    assert outcomes == {("orders", "equal"), ("notes", "equal"), ("notes", "missing")}
    assert document["timeToRestoreSeconds"] is None  # data that did not verify measures nothing
    assert document["restore"]["durationSeconds"] == 2700.0
    assert audited.stacks.destroyed() == [drill_stack(audited)]


def test_a_hash_mismatch_names_each_changed_document(
    audited: DrillWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    audited.tamper = lambda target: target["tenant_initech"]["orders"].update_many({}, {"$set": {"n": -1}})
    code, out, _ = run(
        capsys, *audited.args("drill", "--stack", "prod", "--database", "tenant_initech", "--quiet")
    )
    assert code == 1
    [document] = results(audited)
    checks = document["verification"]["documents"]
    assert len(checks) == 7  # the tenant has 7 documents: the manifest sampled, and the drill checked, all
    different = {(d["collection"], repr(d["id"])) for d in checks if d["outcome"] == "different"}
    orders = {("orders", repr(d["_id"])) for d in audited.source["tenant_initech"]["orders"].find()}
    assert different == orders
    for check in checks:
        if check["outcome"] == "different":
            assert f"- document `orders` {commands_id(check['id'])} is different" in out
    assert "| document counts | 2 of 2 collections match |" in out


def commands_id(value) -> str:
    from backstop.clients.mongo_manifest import format_id

    return format_id(value)


# --- teardown on every failure path --------------------------------------------------------------------


def _restore_fails(world: DrillWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    world.atlas.restore_fails = True


def _verification_fails(world: DrillWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    world.tamper = lambda target: target.drop_database("tenant_acme")


def _up_raises(world: DrillWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    world.stacks.fail_up = RuntimeError("provider mongodbatlas crashed")


def _restore_request_never_answered(world: DrillWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    world.atlas.inject("drop", on_call=1, times=100, method="POST", path_contains="/restoreJobs")


def _timeout_then_settles(world: DrillWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    world.atlas.restore_duration = timedelta(hours=4, minutes=20)  # the restore timeout is 4 h


@pytest.mark.parametrize(
    ("failure", "extra", "code", "error", "posted"),
    [
        (_restore_fails, [], 1, "restore job {job} failed", True),
        (_verification_fails, [], 1, None, True),
        (_up_raises, [], 1, "RuntimeError: provider mongodbatlas crashed", False),
        (
            _restore_request_never_answered,
            [],
            1,
            "restore job not created after 3 request(s), each with an unclear outcome and no job found "
            "afterwards: Atlas Admin API POST /api/atlas/v2/groups/6a0000000000000000000001/clusters/"
            "cartie-prod/backup/restoreJobs: cannot connect to {base}: ",
            True,
        ),
        (
            _timeout_then_settles,
            ["--settle-wait", "3600"],
            1,
            "RestoreTimeout: restore job {job} did not finish within 4 h",
            True,
        ),
    ],
    ids=[
        "restore-failed",
        "verification-failed",
        "up-raised",
        "no-answer-to-the-request",
        "timeout-then-restore-ends",
    ],
)
def test_the_stack_is_destroyed_exactly_once_on_every_failure_path_and_nothing_is_cancelled(
    audited: DrillWorld,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    failure,
    extra: list[str],
    code: int,
    error: str | None,
    posted: bool,
) -> None:
    failure(audited, monkeypatch)
    result, out, _ = run(
        capsys, *audited.args("drill", "--stack", "prod", "--database", "tenant_acme", "--quiet", *extra)
    )
    assert result == code
    name = drill_stack(audited)
    assert audited.stacks.destroyed() == [name]
    assert audited.stacks.calls[-1] == ("destroy", name)
    [document] = results(audited)
    job = document["restore"]["jobId"]
    expected = error.format(job=job, base=audited.atlas.base_url) if error else None
    if expected is not None and expected.endswith(": "):  # the transport's own wording follows
        assert document["error"].startswith(expected)
        assert audited.atlas.jobs == {} and len(audited.atlas.calls("POST", "/restoreJobs")) == 3
    else:
        assert document["error"] == expected
    assert document["passed"] is False
    assert document["teardown"] == {"destroyed": True, "error": None, "leftForSweep": None}
    assert bool(audited.atlas.calls("POST", "/restoreJobs")) is posted
    assert audited.atlas.calls("DELETE") == []
    assert "| teardown | stack destroyed |" in out


def _ctrl_c(world: DrillWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupt(seconds: float) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(runtime, "RUNTIME", world.runtime(sleep=interrupt))


def _timeout(world: DrillWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    world.atlas.restore_duration = timedelta(hours=5)  # the restore timeout is 4 h, the settle wait 30 min


def _polls_rate_limited(world: DrillWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    world.atlas.inject(
        "429", on_call=1, times=10_000, method="GET", path_contains="/restoreJobs/", retry_after="60"
    )


@pytest.mark.parametrize(
    ("failure", "code", "error", "reason"),
    [
        (
            _ctrl_c,
            130,
            "interrupted (Ctrl-C)",
            "restore job {job} (pointInTime) was still running when the drill was interrupted",
        ),
        (
            _timeout,
            1,
            "RestoreTimeout: restore job {job} did not finish within 4 h",
            "restore job {job} (pointInTime) still running after 30 min",
        ),
        (
            _polls_rate_limited,
            1,
            "Atlas Admin API GET /api/atlas/v2/groups/{prod}/clusters/cartie-prod/backup/restoreJobs/{job}: "
            "gave up after 8 attempt(s) and 420 s of waiting (limit 8 attempts, 600 s): last answer: "
            "HTTP 429: "
            "RATE_LIMITED: Too many requests: the rate limit was exceeded.",
            "restore job {job} (pointInTime) still running after 30 min (last poll: Atlas Admin API GET",
        ),
    ],
    ids=["ctrl-c", "timeout", "polls-rate-limited-past-the-budget"],
)
def test_a_restore_still_running_is_never_cancelled_and_its_stack_is_left_for_sweep(
    audited: DrillWorld,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    failure,
    code: int,
    error: str,
    reason: str,
) -> None:
    failure(audited, monkeypatch)
    result, out, err = run(capsys, *audited.args("drill", "--stack", "prod", "--database", "tenant_acme"))
    assert result == code
    name = drill_stack(audited)
    assert audited.stacks.calls == [("up", name)]  # not destroyed under a running restore
    assert (name, STAGING_PROJECT_ID) in {(k[1], k[0]) for k in audited.atlas.clusters}
    assert audited.atlas.calls("DELETE") == []
    [document] = results(audited)
    job = document["restore"]["jobId"]
    assert document["error"] == error.format(job=job, prod=PROD_PROJECT_ID)
    assert document["teardown"]["destroyed"] is False and document["passed"] is False
    assert document["teardown"]["leftForSweep"].startswith(reason.format(job=job))
    assert f"backstop: drill stack {name} LEFT FOR `backstop drill sweep`: {reason.format(job=job)}" in err
    assert "and Atlas cannot cancel it (it expires 2026-05-18T09:00:00+00:00)" in err
    assert f"**left for `backstop drill sweep`**: {reason.format(job=job)}" in out
    # The expired stack is what `drill sweep` removes.
    assert audited.stacks.stacks[name].expires_at == datetime(2026, 5, 18, 9, 0, tzinfo=UTC)


def test_a_drill_finishes_through_rate_limits_unavailability_and_dropped_connections(
    audited: DrillWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = audited.atlas
    fake.inject("429", on_call=1, times=3, method="GET", path_contains="/restoreJobs/", retry_after="30")
    fake.inject("503", on_call=1, method="GET", path_contains="/clusters/drill-", retry_after="5")
    fake.inject("drop", on_call=5, method="GET", path_contains="/restoreJobs/")
    fake.inject("drop-after", on_call=1, method="POST", path_contains="/restoreJobs")
    code, out, err = run(capsys, *audited.args("drill", "--stack", "prod", "--database", "tenant_acme"))
    assert code == 0, out + err
    assert len(fake.jobs) == 1 and len(fake.calls("POST", "/restoreJobs")) == 1
    assert [f.fired for f in fake.faults] == [3, 1, 1, 1]
    assert err.count("HTTP 429: RATE_LIMITED") == 3
    assert "waiting 30 s (Retry-After) before attempt 2 of 8" in err
    assert "HTTP 503: SERVICE_UNAVAILABLE" in err and "cannot connect" in err
    assert "looking for a job it created before posting again" in err
    [document] = results(audited)
    # The answer to the POST was lost: the clock that started is the local one, and the evidence says so.
    assert document["restore"]["acceptedClock"] == "local"
    assert document["restore"]["durationBasis"] == (
        "local clock: restore request sent (its answer was lost; the job was found afterwards) "
        "→ restore job finishedAt (Atlas clock)"
    )
    assert document["passed"] is True


def test_a_failed_teardown_is_loud_and_fails_a_passing_drill(
    audited: DrillWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    audited.stacks.fail_destroy = RuntimeError("the backend is unreachable")
    code, out, err = run(capsys, *audited.args("drill", "--stack", "prod", "--quiet"))
    assert code == 1
    name = drill_stack(audited)
    assert err == (
        f"backstop: TEARDOWN FAILED for drill stack {name}: the backend is unreachable; remove it with "
        "`backstop drill sweep` (it expires 2026-05-18T09:00:00+00:00)\n"
    )
    assert (
        "| teardown | **FAILED**: the backend is unreachable; "
        f"run `backstop drill sweep` to remove `{name}` |" in out
    )
    assert results(audited)[0]["teardown"] == {
        "destroyed": False,
        "error": "the backend is unreachable",
        "leftForSweep": None,
    }


# --- refusals and unusable input: exit 2, nothing created ----------------------------------------------


def assert_nothing_created(world: DrillWorld) -> None:
    assert world.stacks.calls == []
    assert [r for r in world.atlas.requests if r.method != "GET"] == []
    assert results(world) == []


def test_the_prod_project_as_drill_target_is_refused_before_anything_is_created(
    world: DrillWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    audit(world, capsys)
    write_project(world.project_dir, default_drill(stagingProjectId=PROD_PROJECT_ID))
    code, out, err = run(capsys, *world.args("drill", "--stack", "prod"))
    assert (code, out) == (2, "")
    assert err == (
        f"backstop: refusing to restore into project {PROD_PROJECT_ID}: it is the prod project cartie-prod "
        "declared in Pulumi.prod.yaml (backstop:drill.stagingProjectId must name a staging project)\n"
    )
    assert_nothing_created(world)


def test_a_target_project_carrying_the_prod_name_is_refused(
    audited: DrillWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    audited.atlas.projects[STAGING_PROJECT_ID]["name"] = "cartie-prod"
    code, _, err = run(capsys, *audited.args("drill", "--stack", "prod"))
    assert code == 2
    assert err.startswith(
        f"backstop: refusing to restore into project {STAGING_PROJECT_ID}: it is named cartie-prod"
    )
    assert_nothing_created(audited)


def test_a_prod_cluster_name_is_never_a_drill_target() -> None:
    cfg = read_stack_file(Path(__file__).resolve().parent.parent, "prod").stack_config()
    with pytest.raises(
        RefusedTarget, match=r"refusing to restore into cluster cartie-prod: Pulumi\.prod\.yaml declares it"
    ):
        refuse_prod_targets(
            STAGING_PROJECT_ID, {"name": "cartie-staging"}, "cartie-prod", cfg, PROD_PROJECT_ID
        )


@pytest.mark.parametrize(
    ("drop", "message"),
    [
        (
            "MONGODB_ATLAS_PRIVATE_KEY",
            "backstop: Atlas credentials are incomplete: set both MONGODB_ATLAS_PUBLIC_KEY and "
            "MONGODB_ATLAS_PRIVATE_KEY, or both MONGODB_ATLAS_CLIENT_ID and MONGODB_ATLAS_CLIENT_SECRET\n",
        ),
        (
            "BACKSTOP_EVIDENCE_MONGODB_URI",
            "backstop: BACKSTOP_EVIDENCE_MONGODB_URI is not set: "
            "the MongoDB connection string backstop needs here\n",
        ),
    ],
    ids=["atlas-key", "evidence-uri"],
)
def test_missing_credentials_are_one_line_exit_2(
    audited: DrillWorld,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    drop: str,
    message: str,
) -> None:
    env = audited.env()
    del env[drop]
    monkeypatch.setattr(runtime, "RUNTIME", audited.runtime(env=env))
    requests_before = len(audited.atlas.requests)
    assert run(capsys, *audited.args("drill", "--stack", "prod")) == (2, "", message)
    assert len(audited.atlas.requests) == requests_before
    assert_nothing_created(audited)


def test_no_manifest_means_no_drill(world: DrillWorld, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, *world.args("drill", "--stack", "prod"))
    assert (code, err) == (
        2,
        f"backstop: {AUDIT_COLLECTION}: no audited tenant database of cluster cartie-prod: "
        "run `backstop audit` first\n",
    )
    code, _, err = run(capsys, *world.args("drill", "--stack", "prod", "--database", "tenant_acme"))
    assert err == (
        f"backstop: {AUDIT_COLLECTION}: no manifest of tenant_acme on cluster cartie-prod: "
        "run `backstop audit` first\n"
    )
    assert_nothing_created(world)


def test_a_tampered_audit_log_is_not_drilled_against(
    audited: DrillWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    audited.evidence[AUDIT_COLLECTION].update_one({"sequence": 1}, {"$set": {"manifest.documents": 1}})
    code, _, err = run(capsys, *audited.args("drill", "--stack", "prod"))
    assert code == 2
    assert err.startswith(f"backstop: {AUDIT_COLLECTION} record #1 (tenant_acme): its content does not match")
    assert_nothing_created(audited)


def test_a_missing_staging_project_is_a_config_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    drill = default_drill()
    del drill["stagingProjectId"]
    with DrillWorld(tmp_path, drill) as world:
        monkeypatch.setattr(runtime, "RUNTIME", world.runtime())
        code, _, err = run(capsys, *world.args("drill", "--stack", "prod"))
        assert (code, err) == (
            2,
            "backstop: Pulumi.prod.yaml: backstop:drill.stagingProjectId: is required to run a drill "
            "(the Atlas project id the drill cluster is created in)\n",
        )
        assert_nothing_created(world)


# --- restore modes ---------------------------------------------------------------------------------------


def test_snapshot_mode_restores_the_snapshot_that_holds_the_manifest(
    audited: DrillWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, *audited.args("drill", "--stack", "prod", "--mode", "snapshot", "--quiet"))
    assert code == 0, out
    holder = audited.evidence[AUDIT_COLLECTION].find_one({"sequence": 1})["snapshot"]["id"]
    [post] = audited.atlas.calls("POST", "/restoreJobs")
    assert post.body == {
        "deliveryType": "automated",
        "snapshotId": holder,
        "targetClusterName": drill_stack(audited),
        "targetGroupId": STAGING_PROJECT_ID,
    }
    assert results(audited)[0]["mechanism"] == "snapshot_restore"


def test_auto_mode_uses_the_snapshot_outside_the_point_in_time_window(
    audited: DrillWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    audited.clock.advance(days=7)
    assert run(capsys, *audited.args("drill", "--stack", "prod", "--quiet"))[0] == 0
    assert audited.atlas.calls("POST", "/restoreJobs")[0].body["deliveryType"] == "automated"
    code, _, err = run(capsys, *audited.args("drill", "--stack", "prod", "--mode", "pointInTime"))
    assert code == 2
    assert "is outside the 7-day point-in-time window: use --mode snapshot" in err


def test_a_manifest_read_at_a_cluster_time_is_restored_to_that_exact_oplog_timestamp(
    world: DrillWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    world.source_override = SnapshotReplicaSet(
        world.mongo.client(SOURCE_URI), cluster_time=(1_778_986_700, 5)
    )
    audit(world, capsys)
    world.source_override = None
    assert run(capsys, *world.args("drill", "--stack", "prod", "--quiet"))[0] == 0
    body = world.atlas.calls("POST", "/restoreJobs")[0].body
    assert (body["deliveryType"], body["oplogTs"], body["oplogInc"], "pointInTimeUTCSeconds" in body) == (
        "pointInTime",
        1_778_986_700,
        5,
        False,
    )


def test_the_drill_answers_in_json_with_the_result_it_recorded(
    audited: DrillWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(
        capsys, *audited.args("drill", "--stack", "prod", "--seed", "7", "--quiet", "--format", "json")
    )
    assert code == 0, err
    printed = assert_valid(out, "drill")
    [document] = results(audited)
    assert (printed["drillId"], printed["tenantDatabase"], printed["seed"]) == (
        document["drillId"],
        document["tenantDatabase"],
        7,
    )


# --- sweep -----------------------------------------------------------------------------------------------


def test_sweep_destroys_exactly_the_expired_drill_stacks(
    world: DrillWorld, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from backstop.restore.stacks import DrillStackInfo

    now = world.clock.now()
    world.stacks = FakeDrillStacks(
        existing=[
            DrillStackInfo("drill-20260516-030000-aaaaaa", now - timedelta(minutes=1)),  # expired
            DrillStackInfo("drill-20260517-020000-bbbbbb", now + timedelta(hours=5)),  # still running
            DrillStackInfo("drill-20260516-210000-cccccc", None),  # no outputs: its name says +6 h = expired
            DrillStackInfo("drill-20260516-220000-dddddd", None),  # 22:00 + 6 h is 04:00 today: keep
            DrillStackInfo("drill-left-by-hand", None),  # no expiry anywhere: never guessed
            DrillStackInfo("org/backstop-drill/drill-20260510-000000-eeeeee", now - timedelta(days=6)),
        ]
    )
    monkeypatch.setattr(runtime, "RUNTIME", world.runtime())
    code, out, _ = run(capsys, *world.args("drill", "sweep", "--dry-run"))
    assert code == 0 and world.stacks.destroyed() == []
    assert "would destroy 3 expired drill stack(s)" in out
    code, out, _ = run(capsys, *world.args("drill", "sweep", "--dry-run", "--format", "json"))
    document = assert_valid(out, "drill sweep")
    assert code == 0 and world.stacks.destroyed() == [] and document["passed"] is True
    assert sorted(s["stack"] for s in document["stacks"] if s["action"] == "would-destroy") == [
        "drill-20260516-030000-aaaaaa",
        "drill-20260516-210000-cccccc",
        "org/backstop-drill/drill-20260510-000000-eeeeee",
    ]
    assert {"stack": "drill-left-by-hand", "action": "keep", "expiresAt": None} in document["stacks"]
    code, out, _ = run(capsys, *world.args("drill", "sweep", "--quiet"))
    assert code == 0
    assert sorted(world.stacks.destroyed()) == [
        "drill-20260516-030000-aaaaaa",
        "drill-20260516-210000-cccccc",
        "org/backstop-drill/drill-20260510-000000-eeeeee",
    ]
    assert "keep   drill-left-by-hand: no expiry recorded or in its name; not touched" in out
    assert out.rstrip().endswith("PASSED: destroyed 3 expired drill stack(s)")


def test_sweep_reports_a_stack_it_could_not_destroy(
    world: DrillWorld, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from backstop.restore.stacks import DrillStackInfo

    world.stacks = FakeDrillStacks(
        existing=[DrillStackInfo("drill-20260516-030000-aaaaaa", world.clock.now() - timedelta(hours=1))],
        fail_destroy=RuntimeError("stack is locked"),
    )
    monkeypatch.setattr(runtime, "RUNTIME", world.runtime())
    code, out, err = run(capsys, *world.args("drill", "sweep", "--quiet"))
    assert code == 1
    assert err == "backstop: could not destroy drill-20260516-030000-aaaaaa: stack is locked\n"
    assert out.rstrip().endswith("FAILED: destroyed 0 expired drill stack(s)")


@pytest.mark.parametrize(
    ("drill", "message"),
    [
        (
            {"restoreTimeout": "6h", "ttlHours": 6},
            "backstop:drill.restoreTimeout: must be shorter than ttlHours (6 h) "
            "or sweep could remove a running drill",
        ),
        (
            {"tenantDatabasePattern": "tenant_("},
            "backstop:drill.tenantDatabasePattern: not a regular expression",
        ),
        (
            {"stagingProjectId": "cartie-staging"},
            "backstop:drill.stagingProjectId: String should match pattern",
        ),
        ({"restoreMode": "download"}, "backstop:drill.restoreMode: Input should be 'auto', 'pointInTime' or"),
        (
            {"spotCheckDocuments": 5},
            "backstop:drill.spotCheckDocuments: Input should be greater than or equal to 10",
        ),
    ],
    ids=["timeout-vs-ttl", "pattern", "project-id", "mode", "spot-checks"],
)
def test_drill_settings_are_checked_with_one_line_naming_the_key(drill: dict, message: str) -> None:
    from backstop.config import ConfigError, load_stack_config

    sections = read_stack_file(Path(__file__).resolve().parent.parent, "prod").backstop_sections()
    sections["drill"] = {**sections["drill"], **drill}
    with pytest.raises(ConfigError) as error:
        load_stack_config(sections, "Pulumi.prod.yaml")
    assert str(error.value).startswith(f"Pulumi.prod.yaml: {message}")
    assert "\n" not in str(error.value)


# --- sharded clusters ----------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["pointInTime", "snapshot"])
def test_a_sharded_source_is_drilled_into_a_drill_cluster_with_as_many_shards(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], mode: str
) -> None:
    with DrillWorld(tmp_path, cluster_type="SHARDED", shards=3) as world:
        monkeypatch.setattr(runtime, "RUNTIME", world.runtime())
        audit(world, capsys)
        code, out, err = run(capsys, *world.args("drill", "--stack", "prod", "--mode", mode, "--quiet"))
        assert code == 0, out + err
        name = drill_stack(world)
        cluster = next(
            r.props for r in world.stacks.runs[name].resources if r.type == tokens.ATLAS_ADVANCED_CLUSTER
        )
        assert cluster["clusterType"] == "SHARDED"
        assert len(cluster["replicationSpecs"]) == 3
        [post] = world.atlas.calls("POST", "/restoreJobs")
        if mode == "snapshot":
            holder = world.evidence[AUDIT_COLLECTION].find_one({"sequence": 1})["snapshot"]
            assert post.body["snapshotId"] == holder["id"]
            assert holder["id"] in {s["id"] for s in world.atlas.snapshots[(PROD_PROJECT_ID, "cartie-prod")]}
            # both the audit and the drill read the sharded list, never the replica-set one
            assert len(world.atlas.calls("GET", "/backup/snapshots/shardedClusters")) == 2
        assert [r for r in world.atlas.calls("GET") if r.path.endswith("/backup/snapshots")] == []
        assert results(world)[0]["passed"] is True


def test_a_global_cluster_is_refused_in_one_line_before_anything_is_created(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with DrillWorld(tmp_path, cluster_type="GEOSHARDED", shards=2) as world:
        monkeypatch.setattr(runtime, "RUNTIME", world.runtime())
        audit(world, capsys)
        code, _, err = run(capsys, *world.args("drill", "--stack", "prod"))
        assert code == 2
        assert err == (
            "backstop: cluster cartie-prod is a global (GEOSHARDED) cluster: the drill builds replica sets "
            "and sharded clusters only, and a global cluster's snapshot restores only into a global cluster "
            "with the same zones\n"
        )
        assert_nothing_created(world)


def test_any_stack_name_is_accepted_and_prod_is_known_by_its_environment(
    world: DrillWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    # prod under another name: audit and drill take it, and the refusals still know prod's project.
    (world.project_dir / "Pulumi.prod.yaml").rename(world.project_dir / "Pulumi.production-eu.yaml")
    (world.project_dir / "Pulumi.staging.yaml").rename(world.project_dir / "Pulumi.qa.yaml")
    assert run(capsys, *world.args("audit", "--stack", "production-eu"))[0] == 0
    world.clock.advance(days=1)
    path = world.project_dir / "Pulumi.production-eu.yaml"
    document = yaml.safe_load(path.read_text())
    document["config"]["backstop:drill"] = default_drill(stagingProjectId=PROD_PROJECT_ID)
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    code, out, err = run(capsys, *world.args("drill", "--stack", "production-eu"))
    assert (code, out) == (2, "")
    assert err.startswith(
        f"backstop: refusing to restore into project {PROD_PROJECT_ID}: it is the prod project"
    )
    assert_nothing_created(world)


def test_prod_is_found_by_environment_for_a_staging_stack(world: DrillWorld, tmp_path: Path) -> None:
    import argparse

    (world.project_dir / "Pulumi.prod.yaml").rename(world.project_dir / "Pulumi.production-eu.yaml")
    (world.project_dir / "Pulumi.staging.yaml").rename(world.project_dir / "Pulumi.qa.yaml")
    cfg, prod = runtime.stack_configs(argparse.Namespace(stack="qa", project_dir=str(world.project_dir)))
    assert (cfg.environment, prod.environment) == ("staging", "prod")
    assert prod.atlas.project_name == "cartie-prod"
    (world.project_dir / "Pulumi.production-eu.yaml").unlink()
    with pytest.raises(
        UsageError,
        match=r"expected exactly one Pulumi.<stack>.yaml with backstop:environment: prod, found none",
    ):
        runtime.stack_configs(argparse.Namespace(stack="qa", project_dir=str(world.project_dir)))
