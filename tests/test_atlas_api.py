"""The Atlas Administration API client against the local fake, over real HTTP with Digest auth."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta

import pytest

from backstop.clients.atlas import (
    AtlasApiError,
    AtlasClient,
    MissingCredentials,
    newest_completed_snapshot,
    restore_job_state,
)
from tests.fakes.atlas_server import FakeAtlas, FakeClock

NOW = datetime(2026, 5, 18, 6, 0, tzinfo=UTC)


@pytest.fixture()
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture()
def atlas(clock: FakeClock):
    with FakeAtlas(clock=clock.now, finish_after_polls=2, restore_duration=timedelta(minutes=40)) as fake:
        fake.prod = fake.add_project("cartie-prod")
        fake.staging = fake.add_project("cartie-staging")
        fake.add_cluster(fake.prod, "cartie-prod", pit_enabled=True)
        fake.add_cluster(fake.staging, "drill-target", pit_enabled=False, termination_protection=False)
        yield fake


def client_for(fake: FakeAtlas) -> AtlasClient:
    return AtlasClient.from_env(fake.env())


def test_digest_auth_is_challenged_once_then_sent_with_every_request(atlas: FakeAtlas) -> None:
    client = client_for(atlas)
    assert client.project_by_name("cartie-prod")["id"] == atlas.prod
    assert client.project(atlas.staging)["name"] == "cartie-staging"
    assert [(r.method, r.path, r.authenticated) for r in atlas.requests] == [
        ("GET", "/api/atlas/v2/groups/byName/cartie-prod", False),
        ("GET", "/api/atlas/v2/groups/byName/cartie-prod", True),
        ("GET", f"/api/atlas/v2/groups/{atlas.staging}", True),
    ]
    assert atlas.requests[1].headers["Authorization"].startswith('Digest username="fake-public-key"')


def test_a_wrong_private_key_is_one_line_naming_the_call_and_the_variables(atlas: FakeAtlas) -> None:
    env = dict(atlas.env(), MONGODB_ATLAS_PRIVATE_KEY="not-the-key")
    with pytest.raises(AtlasApiError) as error:
        AtlasClient.from_env(env).project_by_name("cartie-prod")
    assert str(error.value) == (
        "Atlas Admin API GET /api/atlas/v2/groups/byName/cartie-prod: HTTP 401: UNAUTHORIZED: "
        "You are not authorized for this resource. "
        "(check MONGODB_ATLAS_PUBLIC_KEY/MONGODB_ATLAS_PRIVATE_KEY or "
        "MONGODB_ATLAS_CLIENT_ID/MONGODB_ATLAS_CLIENT_SECRET)"
    )
    assert error.value.status == 401


def test_each_resource_is_requested_with_its_documented_version(atlas: FakeAtlas) -> None:
    client = client_for(atlas)
    client.project_by_name("cartie-prod")
    cluster = client.cluster(atlas.prod, "cartie-prod")
    client.snapshots(atlas.prod, "cartie-prod")
    by_path = {r.path: r.headers["Accept"] for r in atlas.calls("GET")}
    assert by_path["/api/atlas/v2/groups/byName/cartie-prod"] == "application/vnd.atlas.2023-01-01+json"
    assert by_path[f"/api/atlas/v2/groups/{atlas.prod}/clusters/cartie-prod"] == (
        "application/vnd.atlas.2024-08-05+json"
    )
    assert by_path[f"/api/atlas/v2/groups/{atlas.prod}/clusters/cartie-prod/backup/snapshots"] == (
        "application/vnd.atlas.2023-01-01+json"
    )
    assert (cluster["name"], cluster["groupId"], cluster["pitEnabled"], cluster["mongoDBMajorVersion"]) == (
        "cartie-prod",
        atlas.prod,
        True,
        "8.0",
    )
    assert cluster["connectionStrings"]["standardSrv"].startswith("mongodb+srv://cartie-prod.")


def test_snapshots_are_read_across_every_page_newest_first(atlas: FakeAtlas) -> None:
    created = [NOW - timedelta(hours=6 * i) for i in range(5)]
    ids = [atlas.add_snapshot(atlas.prod, "cartie-prod", when) for when in reversed(created)]
    atlas.page_size_cap = 2
    snapshots = client_for(atlas).snapshots(atlas.prod, "cartie-prod")
    assert [s["id"] for s in snapshots] == list(reversed(ids))
    pages = [r.query["pageNum"] for r in atlas.calls("GET", "/backup/snapshots")]
    assert pages == [["1"], ["2"], ["3"]]
    # The first page is asked for 100; the following ones exactly as the `next` links say.
    assert [r.query["itemsPerPage"] for r in atlas.calls("GET", "/backup/snapshots")] == [
        ["100"],
        ["2"],
        ["2"],
    ]


def test_a_point_in_time_restore_job_runs_to_finished_with_documented_fields(
    atlas: FakeAtlas, clock: FakeClock
) -> None:
    client = client_for(atlas)
    body = {
        "deliveryType": "pointInTime",
        "oplogTs": 1779080000,
        "oplogInc": 3,
        "targetClusterName": "drill-target",
        "targetGroupId": atlas.staging,
    }
    job = client.create_restore_job(atlas.prod, "cartie-prod", body)
    post = atlas.calls("POST", "/backup/restoreJobs")[0]
    assert post.body == body
    assert post.headers["Content-Type"] == "application/vnd.atlas.2023-01-01+json"
    assert (job["deliveryType"], job["oplogTs"], job["oplogInc"], job["failed"], "finishedAt" in job) == (
        "pointInTime",
        1779080000,
        3,
        False,
        False,
    )
    assert restore_job_state(job) == "running"
    assert restore_job_state(client.restore_job(atlas.prod, "cartie-prod", job["id"])) == "running"
    clock.advance(minutes=40)
    finished = client.restore_job(atlas.prod, "cartie-prod", job["id"])
    assert restore_job_state(finished) == "finished"
    assert finished["finishedAt"] == "2026-05-18T06:40:00Z"


def test_an_automated_restore_needs_a_completed_snapshot(atlas: FakeAtlas) -> None:
    client = client_for(atlas)
    pending = atlas.add_snapshot(atlas.prod, "cartie-prod", NOW - timedelta(minutes=5), status="inProgress")
    done = atlas.add_snapshot(atlas.prod, "cartie-prod", NOW - timedelta(hours=6))
    target = {"targetClusterName": "drill-target", "targetGroupId": atlas.staging}
    with pytest.raises(AtlasApiError) as error:
        client.create_restore_job(
            atlas.prod, "cartie-prod", {"deliveryType": "automated", "snapshotId": pending, **target}
        )
    assert error.value.status == 404 and error.value.error_code == "SNAPSHOT_NOT_FOUND"
    job = client.create_restore_job(
        atlas.prod, "cartie-prod", {"deliveryType": "automated", "snapshotId": done, **target}
    )
    assert (job["snapshotId"], job["timestamp"]) == (done, "2026-05-18T00:00:00Z")


def test_atlas_refuses_to_cancel_a_point_in_time_restore_with_405(atlas: FakeAtlas) -> None:
    client = client_for(atlas)
    job = client.create_restore_job(
        atlas.prod,
        "cartie-prod",
        {
            "deliveryType": "pointInTime",
            "pointInTimeUTCSeconds": 1779080000,
            "targetClusterName": "drill-target",
            "targetGroupId": atlas.staging,
        },
    )
    with pytest.raises(AtlasApiError) as error:
        client.cancel_restore_job(atlas.prod, "cartie-prod", job["id"])
    assert (error.value.status, error.value.error_code) == (405, "CANNOT_CANCEL_RESTORE_JOB")
    assert restore_job_state(client.restore_job(atlas.prod, "cartie-prod", job["id"])) == "running"


def test_a_failed_restore_reports_failed(atlas: FakeAtlas, clock: FakeClock) -> None:
    atlas.restore_fails = True
    client = client_for(atlas)
    job = client.create_restore_job(
        atlas.prod,
        "cartie-prod",
        {
            "deliveryType": "pointInTime",
            "pointInTimeUTCSeconds": 1779080000,
            "targetClusterName": "drill-target",
            "targetGroupId": atlas.staging,
        },
    )
    clock.advance(hours=1)
    client.restore_job(atlas.prod, "cartie-prod", job["id"])
    assert restore_job_state(client.restore_job(atlas.prod, "cartie-prod", job["id"])) == "failed"


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        (
            lambda c, a: c.project_by_name("nope"),
            "Atlas Admin API GET /api/atlas/v2/groups/byName/nope: HTTP 404: GROUP_NAME_NOT_FOUND: "
            'No group with name "nope" exists.',
        ),
        (
            lambda c, a: c.cluster(a.prod, "missing"),
            "Atlas Admin API GET /api/atlas/v2/groups/{prod}/clusters/missing: HTTP 404: CLUSTER_NOT_FOUND: "
            "No cluster named missing exists in group {prod}.",
        ),
        (
            lambda c, a: c.create_restore_job(a.prod, "cartie-prod", {"deliveryType": "pointInTime"}),
            "Atlas Admin API POST /api/atlas/v2/groups/{prod}/clusters/cartie-prod/backup/restoreJobs: "
            "HTTP 400: MISSING_ATTRIBUTE: targetGroupId and targetClusterName are required.",
        ),
    ],
    ids=["project-by-name", "cluster", "restore-body"],
)
def test_api_errors_are_one_line_with_status_code_and_detail(atlas: FakeAtlas, call, expected: str) -> None:
    with pytest.raises(AtlasApiError) as error:
        call(client_for(atlas), atlas)
    assert str(error.value) == expected.format(prod=atlas.prod)
    assert "\n" not in str(error.value)


def test_an_unreachable_endpoint_is_retried_then_one_line() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {
        "MONGODB_ATLAS_BASE_URL": f"http://127.0.0.1:{port}",
        "MONGODB_ATLAS_PUBLIC_KEY": "k",
        "MONGODB_ATLAS_PRIVATE_KEY": "s",
    }
    waits: list[float] = []
    client = AtlasClient.from_env(env, sleep=waits.append, jitter=lambda: 0.0)
    with pytest.raises(AtlasApiError) as error:
        client.project_by_name("cartie-prod")
    message = str(error.value)
    assert message.startswith(
        "Atlas Admin API GET /api/atlas/v2/groups/byName/cartie-prod: gave up after 8 attempt(s) and 61.5 s "
        "of waiting (limit 8 attempts, 600 s): last answer: "
        f"cannot connect to http://127.0.0.1:{port}: "
    )
    assert waits == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0]  # capped at 60 s, half of it fixed
    assert "\n" not in message


def test_a_service_account_gets_a_token_once_and_sends_it_as_bearer(clock: FakeClock) -> None:
    with FakeAtlas(clock=clock.now, client_id="mdb_sa_id_1", client_secret="mdb_sa_sk_1") as fake:
        prod = fake.add_project("cartie-prod")
        env = {
            "MONGODB_ATLAS_BASE_URL": fake.base_url,
            "MONGODB_ATLAS_CLIENT_ID": "mdb_sa_id_1",
            "MONGODB_ATLAS_CLIENT_SECRET": "mdb_sa_sk_1",
        }
        client = AtlasClient.from_env(env)
        assert client.project_by_name("cartie-prod")["id"] == prod
        assert client.project(prod)["id"] == prod
        token_calls = [r for r in fake.requests if r.path == "/api/oauth/token"]
        assert len(token_calls) == 1 and "grant_type=client_credentials" in token_calls[0].body
        api_calls = [r for r in fake.requests if r.path.startswith("/api/atlas/v2")]
        assert all(r.authenticated and r.headers["Authorization"].startswith("Bearer ") for r in api_calls)
        assert len(api_calls) == 2


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {},
            "no Atlas credentials: set MONGODB_ATLAS_PUBLIC_KEY and MONGODB_ATLAS_PRIVATE_KEY (or a service "
            "account's MONGODB_ATLAS_CLIENT_ID and MONGODB_ATLAS_CLIENT_SECRET)",
        ),
        (
            {"MONGODB_ATLAS_PUBLIC_KEY": "k"},
            "Atlas credentials are incomplete: set both MONGODB_ATLAS_PUBLIC_KEY and "
            "MONGODB_ATLAS_PRIVATE_KEY, or both MONGODB_ATLAS_CLIENT_ID and MONGODB_ATLAS_CLIENT_SECRET",
        ),
    ],
    ids=["none", "half-a-key"],
)
def test_missing_credentials_are_one_line(env: dict[str, str], message: str) -> None:
    with pytest.raises(MissingCredentials) as error:
        AtlasClient.from_env(env)
    assert str(error.value) == message


def test_the_holding_snapshot_is_the_newest_completed_unexpired_one_not_after_the_manifest() -> None:
    def snap(sid: str, hours_ago: float, status: str = "completed", expires_in: float = 48) -> dict:
        return {
            "id": sid,
            "status": status,
            "createdAt": (NOW - timedelta(hours=hours_ago)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "expiresAt": (NOW + timedelta(hours=expires_in)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }

    snapshots = [
        snap("after-manifest", -1),
        snap("in-progress", 1, status="inProgress"),
        snap("expired", 2, expires_in=-1),
        snap("holder", 3),
        snap("older", 9),
    ]
    assert newest_completed_snapshot(snapshots, NOW, now=NOW)["id"] == "holder"
    assert newest_completed_snapshot(snapshots, NOW - timedelta(hours=10), now=NOW) is None


def test_schedule_and_on_demand_snapshot_use_their_documented_paths_and_versions(
    atlas: FakeAtlas, clock: FakeClock
) -> None:
    # Spec: getGroupClusterBackupSchedule serves 2023-01-01 and 2024-08-05 (restoreWindowDays in both);
    # takeGroupClusterBackupSnapshots takes a DiskBackupOnDemandSnapshotRequest and answers 200 with a
    # DiskBackupSnapshot; getGroupClusterBackupSnapshot answers DiskBackupReplicaSet, both 2023-01-01.
    client = client_for(atlas)
    atlas.set_schedule(atlas.prod, "cartie-prod", restore_window_days=5)
    assert client.backup_schedule(atlas.prod, "cartie-prod")["restoreWindowDays"] == 5
    taken = client.take_snapshot(atlas.prod, "cartie-prod", description="before cutover", retention_days=7)
    assert (taken["status"], taken["snapshotType"], taken["description"]) == (
        "queued",
        "onDemand",
        "before cutover",
    )
    [post] = atlas.calls("POST", "/backup/snapshots")
    assert post.path == f"/api/atlas/v2/groups/{atlas.prod}/clusters/cartie-prod/backup/snapshots"
    assert post.body == {"description": "before cutover", "retentionInDays": 7}
    assert post.headers["Content-Type"] == "application/vnd.atlas.2023-01-01+json"
    assert client.snapshot(atlas.prod, "cartie-prod", taken["id"])["status"] == "inProgress"
    clock.advance(minutes=10)
    assert client.snapshot(atlas.prod, "cartie-prod", taken["id"])["status"] == "completed"
    versions = {r.path.rsplit("/", 1)[-1]: r.headers["Accept"] for r in atlas.calls("GET", "/backup/")}
    assert versions == {
        "schedule": "application/vnd.atlas.2024-08-05+json",
        taken["id"]: "application/vnd.atlas.2023-01-01+json",
    }
    with pytest.raises(AtlasApiError, match="HTTP 404: SNAPSHOT_NOT_FOUND"):
        client.snapshot(atlas.prod, "cartie-prod", "0" * 24)
