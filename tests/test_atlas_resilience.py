"""What the real Atlas API does that a happy-path fake never does: rate limits, 5xx, dropped connections,
estimated `totalCount`, pages without links, a `POST` whose answer is lost. Sleeps are recorded, never
waited."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from backstop.clients.atlas import (
    AtlasApiError,
    AtlasClient,
    RetryPolicy,
    ServiceAccountAuth,
    cluster_topology,
    parse_http_date,
    retry_after_seconds,
)
from tests.fakes.atlas_server import FakeAtlas, FakeClock

NOW = datetime(2026, 5, 18, 6, 0, tzinfo=UTC)


class Recorder:
    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.waits: list[float] = []
        self.lines: list[str] = []

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.clock.sleep(seconds)


@pytest.fixture()
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture()
def atlas(clock: FakeClock):
    with FakeAtlas(clock=clock.now, finish_after_polls=1, restore_duration=timedelta(minutes=30)) as fake:
        fake.prod = fake.add_project("cartie-prod")
        fake.staging = fake.add_project("cartie-staging")
        fake.add_cluster(fake.prod, "cartie-prod", pit_enabled=True)
        fake.add_cluster(fake.staging, "drill-target", pit_enabled=False, termination_protection=False)
        yield fake


@pytest.fixture()
def recorder(clock: FakeClock) -> Recorder:
    return Recorder(clock)


def client_for(fake: FakeAtlas, recorder: Recorder, **options: Any) -> AtlasClient:
    return AtlasClient.from_env(
        fake.env(),
        sleep=recorder.sleep,
        jitter=lambda: 0.5,
        progress=recorder.lines.append,
        clock=recorder.clock.now,
        **options,
    )


def pit_request(fake: FakeAtlas) -> dict[str, Any]:
    return {
        "deliveryType": "pointInTime",
        "pointInTimeUTCSeconds": 1779080000,
        "targetClusterName": "drill-target",
        "targetGroupId": fake.staging,
    }


# --- rate limits and server errors ----------------------------------------------------------------------


def test_a_429_waits_exactly_retry_after_and_says_so(atlas: FakeAtlas, recorder: Recorder) -> None:
    atlas.inject("429", on_call=1, times=2, method="GET", path_contains="/clusters/", retry_after="7")
    cluster = client_for(atlas, recorder).cluster(atlas.prod, "cartie-prod")
    assert cluster["name"] == "cartie-prod"
    assert recorder.waits == [7.0, 7.0]
    assert len(atlas.calls("GET", "/clusters/cartie-prod")) == 3
    assert recorder.lines[0] == (
        f"Atlas GET /api/atlas/v2/groups/{atlas.prod}/clusters/cartie-prod: HTTP 429: RATE_LIMITED: "
        "Too many requests: the rate limit was exceeded.; waiting 7 s (Retry-After) before attempt 2 of 8"
    )


def test_a_503_on_a_read_honours_retry_after(atlas: FakeAtlas, recorder: Recorder) -> None:
    atlas.inject("503", on_call=1, method="GET", path_contains="/groups/byName/", retry_after="12")
    assert client_for(atlas, recorder).project_by_name("cartie-prod")["id"] == atlas.prod
    assert recorder.waits == [12.0]
    assert "HTTP 503: SERVICE_UNAVAILABLE" in recorder.lines[0]


@pytest.mark.parametrize("status", ["500", "502", "504"])
def test_server_errors_on_reads_back_off_exponentially_with_jitter(
    atlas: FakeAtlas, recorder: Recorder, status: str
) -> None:
    atlas.inject(status, on_call=1, times=3, method="GET", path_contains="/clusters/")
    client = client_for(atlas, recorder)
    assert client.cluster(atlas.prod, "cartie-prod")["name"] == "cartie-prod"
    # ceiling 1, 2, 4 s; half fixed, half jitter (0.5 here)
    assert recorder.waits == [0.75, 1.5, 3.0]
    assert all("(backoff)" in line for line in recorder.lines)


def test_backoff_is_bounded_by_its_cap() -> None:
    policy = RetryPolicy(backoff_base=1.0, backoff_cap=60.0)
    assert [policy.backoff(n, 1.0) for n in (0, 5, 6, 20)] == [1.0, 32.0, 60.0, 60.0]
    assert [policy.backoff(n, 0.0) for n in (0, 6)] == [0.5, 30.0]


def test_a_dropped_connection_on_a_read_is_retried(atlas: FakeAtlas, recorder: Recorder) -> None:
    atlas.inject("drop", on_call=1, method="GET", path_contains="/clusters/")
    assert client_for(atlas, recorder).cluster(atlas.prod, "cartie-prod")["name"] == "cartie-prod"
    assert len(recorder.waits) == 1
    assert "cannot connect" in recorder.lines[0]


def test_it_gives_up_after_its_attempts_with_one_clear_line(atlas: FakeAtlas, recorder: Recorder) -> None:
    atlas.inject("429", on_call=1, times=100, method="GET", retry_after="5")
    client = client_for(atlas, recorder, retry=RetryPolicy(max_attempts=4))
    with pytest.raises(AtlasApiError) as error:
        client.project(atlas.prod)
    assert str(error.value) == (
        f"Atlas Admin API GET /api/atlas/v2/groups/{atlas.prod}: gave up after 4 attempt(s) and 15 s of "
        "waiting (limit 4 attempts, 600 s): last answer: HTTP 429: RATE_LIMITED: "
        "Too many requests: the rate limit was exceeded."
    )
    assert error.value.status == 429
    assert recorder.waits == [5.0, 5.0, 5.0]


def test_it_gives_up_when_retry_after_would_overrun_the_wait_budget(
    atlas: FakeAtlas, recorder: Recorder
) -> None:
    atlas.inject("429", on_call=1, times=100, method="GET", retry_after="400")
    with pytest.raises(AtlasApiError, match=r"gave up after 2 attempt\(s\) and 400 s of waiting"):
        client_for(atlas, recorder).project(atlas.prod)
    assert recorder.waits == [400.0]


def test_retry_after_as_an_http_date_is_measured_against_the_date_header() -> None:
    response = requests.Response()
    response.headers["Date"] = "Mon, 18 May 2026 06:00:00 GMT"
    response.headers["Retry-After"] = "Mon, 18 May 2026 06:01:30 GMT"
    assert retry_after_seconds(response) == 90.0
    response.headers["Retry-After"] = "17"
    assert retry_after_seconds(response) == 17.0
    response.headers["Retry-After"] = "soon"
    assert retry_after_seconds(response) is None


def test_every_call_has_a_connect_and_read_timeout(atlas: FakeAtlas, recorder: Recorder) -> None:
    seen: list[Any] = []

    class Spy(requests.Session):
        def request(self, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
            seen.append(kwargs.get("timeout"))
            return super().request(*args, **kwargs)

    client = client_for(atlas, recorder, session=Spy())
    client.project_by_name("cartie-prod")
    client.snapshots(atlas.prod, "cartie-prod")
    client.create_restore_job(atlas.prod, "cartie-prod", pit_request(atlas))
    assert seen and set(seen) == {(10.0, 60.0)}
    assert ServiceAccountAuth("https://x", "id", "secret").timeout == (10.0, 60.0)


# --- creating a restore job exactly once ----------------------------------------------------------------


def test_a_restore_request_rate_limited_is_posted_again_once(atlas: FakeAtlas, recorder: Recorder) -> None:
    atlas.inject("429", on_call=1, method="POST", retry_after="3")
    submission = client_for(atlas, recorder).submit_restore_job(atlas.prod, "cartie-prod", pit_request(atlas))
    assert len(atlas.jobs) == 1 and submission.job["id"] in atlas.jobs
    assert len(atlas.calls("POST", "/restoreJobs")) == 2
    assert recorder.waits == [3.0]


def test_a_lost_answer_to_a_restore_request_adopts_the_job_it_created(
    atlas: FakeAtlas, recorder: Recorder
) -> None:
    atlas.inject("drop-after", on_call=1, method="POST", path_contains="/restoreJobs")
    submission = client_for(atlas, recorder).submit_restore_job(atlas.prod, "cartie-prod", pit_request(atlas))
    assert list(atlas.jobs) == [submission.job["id"]]
    assert len(atlas.calls("POST", "/restoreJobs")) == 1
    assert (submission.adopted, submission.clock) == (True, "local")
    assert submission.basis.startswith("local clock: restore request sent (its answer was lost")
    assert any("looking for a job it created before posting again" in line for line in recorder.lines)


def test_an_older_job_of_the_same_request_is_not_mistaken_for_the_lost_one(
    atlas: FakeAtlas, recorder: Recorder
) -> None:
    client = client_for(atlas, recorder)
    older = client.create_restore_job(atlas.prod, "cartie-prod", pit_request(atlas))
    atlas.inject("drop", on_call=1, method="POST", path_contains="/restoreJobs")
    submission = client.submit_restore_job(atlas.prod, "cartie-prod", pit_request(atlas))
    assert submission.job["id"] != older["id"] and not submission.adopted
    assert len(atlas.jobs) == 2
    assert len(atlas.calls("POST", "/restoreJobs")) == 3


@pytest.mark.parametrize("kind", ["drop", "500", "503"])
def test_a_restore_request_that_did_nothing_is_posted_again_after_looking(
    atlas: FakeAtlas, recorder: Recorder, kind: str
) -> None:
    atlas.inject(kind, on_call=1, method="POST", retry_after="4" if kind == "503" else None)
    submission = client_for(atlas, recorder).submit_restore_job(atlas.prod, "cartie-prod", pit_request(atlas))
    assert list(atlas.jobs) == [submission.job["id"]]
    assert len(atlas.calls("POST", "/restoreJobs")) == 2
    # listed once before the first POST, once after the unclear one
    assert len(atlas.calls("GET", "/backup/restoreJobs")) == 2
    assert recorder.waits == ([4.0] if kind == "503" else [])


def test_a_restore_request_that_never_gets_through_fails_in_one_line_having_created_nothing(
    atlas: FakeAtlas, recorder: Recorder
) -> None:
    atlas.inject("drop", on_call=1, times=10, method="POST")
    with pytest.raises(AtlasApiError) as error:
        client_for(atlas, recorder).submit_restore_job(atlas.prod, "cartie-prod", pit_request(atlas))
    assert str(error.value).startswith(
        "restore job not created after 3 request(s), each with an unclear outcome and no job found "
        "afterwards: "
        f"Atlas Admin API POST /api/atlas/v2/groups/{atlas.prod}/clusters/cartie-prod/backup/restoreJobs: "
        "cannot connect to"
    )
    assert atlas.jobs == {}


def test_a_refused_restore_request_is_not_repeated(atlas: FakeAtlas, recorder: Recorder) -> None:
    body = dict(pit_request(atlas), targetClusterName="no-such-cluster")
    with pytest.raises(AtlasApiError) as error:
        client_for(atlas, recorder).submit_restore_job(atlas.prod, "cartie-prod", body)
    assert (error.value.status, error.value.unclear) == (404, False)
    assert len(atlas.calls("POST", "/restoreJobs")) == 1


def test_acceptance_is_timed_on_atlas_clock_from_the_date_header(
    atlas: FakeAtlas, recorder: Recorder, clock: FakeClock
) -> None:
    clock.advance(minutes=3, seconds=7)
    submission = client_for(atlas, recorder).submit_restore_job(atlas.prod, "cartie-prod", pit_request(atlas))
    assert submission.accepted_at == NOW + timedelta(minutes=3, seconds=7)
    assert submission.clock == "atlas"
    assert submission.basis == "Atlas clock: restore request accepted (Date header of the 200 response)"
    assert parse_http_date("Mon, 18 May 2026 06:03:07 GMT") == submission.accepted_at


# --- paging ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("skew", [-4, 7], ids=["totalCount-too-low", "totalCount-too-high"])
def test_pages_follow_next_links_whatever_total_count_says(
    atlas: FakeAtlas, recorder: Recorder, skew: int
) -> None:
    ids = [atlas.add_snapshot(atlas.prod, "cartie-prod", NOW - timedelta(hours=6 * i)) for i in range(7)]
    atlas.page_size_cap, atlas.total_count_skew = 3, skew
    snapshots = client_for(atlas, recorder).snapshots(atlas.prod, "cartie-prod")
    assert [s["id"] for s in snapshots] == ids
    assert [r.query["pageNum"] for r in atlas.calls("GET", "/backup/snapshots")] == [["1"], ["2"], ["3"]]


def test_pages_without_links_are_read_until_an_empty_page(atlas: FakeAtlas, recorder: Recorder) -> None:
    ids = [atlas.add_snapshot(atlas.prod, "cartie-prod", NOW - timedelta(hours=6 * i)) for i in range(4)]
    atlas.page_size_cap, atlas.page_links, atlas.total_count_skew = 2, False, -3
    snapshots = client_for(atlas, recorder).snapshots(atlas.prod, "cartie-prod")
    assert [s["id"] for s in snapshots] == ids
    assert [r.query["pageNum"] for r in atlas.calls("GET", "/backup/snapshots")] == [["1"], ["2"], ["3"]]


# --- sharded clusters, snapshot contents ----------------------------------------------------------------


def test_a_sharded_cluster_s_snapshots_come_from_the_sharded_list(
    atlas: FakeAtlas, recorder: Recorder
) -> None:
    atlas.add_cluster(atlas.prod, "cartie-sharded", cluster_type="SHARDED", shards=3)
    snapshot = atlas.add_snapshot(atlas.prod, "cartie-sharded", NOW - timedelta(hours=1))
    client = client_for(atlas, recorder)
    cluster = client.cluster(atlas.prod, "cartie-sharded")
    topology = cluster_topology(cluster)
    assert (topology.cluster_type, topology.shards, topology.sharded) == ("SHARDED", 3, True)
    assert topology.describe() == "a sharded cluster of 3 shard(s)"
    listed = client.cluster_snapshots(atlas.prod, cluster)
    assert [(s["id"], s["type"], len(s["members"])) for s in listed] == [(snapshot, "shardedCluster", 4)]
    assert client.snapshots(atlas.prod, "cartie-sharded") == []
    sharded_calls = atlas.calls("GET", "/backup/snapshots/shardedClusters")
    assert len(sharded_calls) == 1 and sharded_calls[0].query == {}
    assert cluster_topology(client.cluster(atlas.prod, "cartie-prod")).describe() == "a replica set"


def test_snapshot_contents_are_read_with_version_2025_03_12(atlas: FakeAtlas, recorder: Recorder) -> None:
    snapshot = atlas.add_snapshot(
        atlas.prod,
        "cartie-prod",
        NOW - timedelta(hours=1),
        databases={"tenant_acme": ["orders", "customers"], "admin": ["system.users"]},
    )
    client = client_for(atlas, recorder)
    assert client.snapshot_databases(atlas.prod, "cartie-prod", snapshot) == ["admin", "tenant_acme"]
    assert client.snapshot_collections(atlas.prod, "cartie-prod", snapshot, "tenant_acme") == [
        "customers",
        "orders",
    ]
    accepts = {r.headers["Accept"] for r in atlas.calls("GET", f"/snapshots/{snapshot}/databases")}
    assert accepts == {"application/vnd.atlas.2025-03-12+json"}


def test_a_service_account_is_preferred_over_an_api_key_when_both_are_set(clock: FakeClock) -> None:
    with FakeAtlas(clock=clock.now, client_id="mdb_sa_id_1", client_secret="mdb_sa_sk_1") as fake:
        fake.add_project("cartie-prod")
        env = dict(
            fake.env(), MONGODB_ATLAS_CLIENT_ID="mdb_sa_id_1", MONGODB_ATLAS_CLIENT_SECRET="mdb_sa_sk_1"
        )
        client = AtlasClient.from_env(env)
        assert isinstance(client.auth, ServiceAccountAuth)
        client.project_by_name("cartie-prod")
        api = [r for r in fake.requests if r.path.startswith("/api/atlas/v2")]
        assert [r.headers["Authorization"].split()[0] for r in api] == ["Bearer"]


def test_a_service_account_token_request_rate_limited_is_retried_after_retry_after(clock: FakeClock) -> None:
    recorder = Recorder(clock)
    with FakeAtlas(clock=clock.now, client_id="mdb_sa_id_1", client_secret="mdb_sa_sk_1") as fake:
        group = fake.add_project("cartie-prod")
        fake.inject("429", on_call=1, method="POST", path_contains="/api/oauth/token", retry_after="9")
        fake.inject("drop", on_call=2, method="POST", path_contains="/api/oauth/token")
        env = {
            "MONGODB_ATLAS_BASE_URL": fake.base_url,
            "MONGODB_ATLAS_CLIENT_ID": "mdb_sa_id_1",
            "MONGODB_ATLAS_CLIENT_SECRET": "mdb_sa_sk_1",
        }
        client = AtlasClient.from_env(
            env, sleep=recorder.sleep, jitter=lambda: 0.0, progress=recorder.lines.append
        )
        assert client.project(group)["id"] == group
        assert len([r for r in fake.requests if r.path == "/api/oauth/token"]) == 1  # the third, answered
    assert recorder.waits == [9.0, 1.0]  # Retry-After, then backoff (second retry: 2 s ceiling, no jitter)
    assert recorder.lines[0] == "Atlas service account token: HTTP 429; waiting 9 s before attempt 2 of 8"
    assert recorder.lines[1].startswith("Atlas service account token: cannot connect: ")
