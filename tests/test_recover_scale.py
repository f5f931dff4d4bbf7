"""`backstop recover` at scale (issue 26): verify's per-document lists outside any single document, a fresh
pre-cutover snapshot when the last one no longer describes production, Atlas waits reported."""

from __future__ import annotations

from typing import Any

import bson
import mongomock
import pytest

from backstop.operations.recover import diffs
from backstop.operations.recover.diffs import RECOVERY_DIFFS
from backstop.operations.recover.store import RECOVERY_LOG
from tests.fakes.recover_world import RecoverWorld
from tests.log_support import logged
from tests.recover_support import audited_world  # noqa: F401 (the `audited` fixture)
from tests.test_recover import _drop_tenant, _empty_orders, incident_args, loss_args, restore, run, steps

EXECUTE = ("--execute", "--confirm", "tenant_acme")


def _snapshot_requests(world: RecoverWorld) -> list[Any]:
    return [r for r in world.atlas.requests if r.method == "POST" and r.path.endswith("/backup/snapshots")]


# --- verify's lists live in recovery_diffs, in bounded, chained chunks ----------------------------------

DOCUMENT_LIMIT = 3000  # bytes: a MongoDB document limit small enough for 40 listed documents to break it


@pytest.fixture()
def small_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    """The evidence store refuses a document over `DOCUMENT_LIMIT` bytes, as MongoDB does over 16 MiB, and
    verify's chunks are sized for it."""
    insert_one = mongomock.collection.Collection.insert_one

    def limited(self: Any, document: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        size = len(bson.encode(document))
        if self.name in (RECOVERY_LOG, RECOVERY_DIFFS) and size > DOCUMENT_LIMIT:
            raise mongomock.OperationFailure(f"BSONObj size: {size} is invalid (limit {DOCUMENT_LIMIT})")
        return insert_one(self, document, *args, **kwargs)

    monkeypatch.setattr(mongomock.collection.Collection, "insert_one", limited)
    monkeypatch.setattr(diffs, "CHUNK_BYTES", 2000)


def test_a_verify_listing_more_than_one_document_can_hold_still_verifies_and_cuts_over(
    audited: RecoverWorld, capsys: pytest.CaptureFixture[str], small_limit: None
) -> None:
    audited.lose(_empty_orders)
    incident = restore(audited, capsys, *loss_args("collection", collection="orders"), "--quiet")
    code, out, err = run(capsys, *audited.args("recover", "verify", *incident_args(incident)))
    assert code == 0, out + err
    verified = audited.evidence[RECOVERY_LOG].find_one({"incidentId": incident, "step": "verified"})
    assert [(c["collection"], c["missingInProduction"]) for c in verified["collections"]] == [("orders", 40)]
    chunks = list(audited.evidence[RECOVERY_DIFFS].find({"incidentId": incident}).sort("index", 1))
    assert len(chunks) > 1 and {c["kind"] for c in chunks} == {"missing"}
    assert sum(len(c["items"]) for c in chunks) == 40
    assert max(len(bson.encode(c)) for c in chunks) <= DOCUMENT_LIMIT
    assert verified["diffs"]["chunks"] == len(chunks) and verified["diffs"]["documents"] == 40
    code, out, err = run(
        capsys, *audited.args("recover", "cutover", *incident_args(incident), *EXECUTE, "--quiet")
    )
    assert code == 0, out + err
    assert "| `orders` | 40 | 0 | 0 | 0 | 0 |" in out
    assert audited.source["tenant_acme"]["orders"].count_documents({}) == 40


@pytest.mark.parametrize("edit", ["item", "removed"])
def test_an_edited_or_removed_diff_chunk_is_refused_by_cutover(
    audited: RecoverWorld, capsys: pytest.CaptureFixture[str], small_limit: None, edit: str
) -> None:
    audited.lose(_empty_orders)
    incident = restore(audited, capsys, *loss_args("collection", collection="orders"), "--quiet")
    assert run(capsys, *audited.args("recover", "verify", *incident_args(incident)))[0] == 0
    store = audited.evidence[RECOVERY_DIFFS]
    run_id = store.find_one({"incidentId": incident, "index": 1})["run"]
    if edit == "item":
        store.update_one({"incidentId": incident, "index": 1}, {"$set": {"items.0.sha256": "0" * 64}})
        expected = (
            f"backstop: {RECOVERY_DIFFS} run {run_id} of incident {incident}, chunk #1: its content does not "
            "match its recordHash (changed after writing); nothing was written\n"
        )
    else:
        last = store.count_documents({"incidentId": incident}) - 1
        store.delete_one({"incidentId": incident, "index": last})
        expected = (
            f"backstop: {RECOVERY_DIFFS} run {run_id} of incident {incident}: {last} chunk(s) ending in "
        )
    code, out, err = run(capsys, *audited.args("recover", "cutover", *incident_args(incident), *EXECUTE))
    assert (code, out) == (2, "")
    assert err.startswith(expected) and err.count("\n") == 1
    assert _snapshot_requests(audited) == []
    assert audited.source["tenant_acme"]["orders"].count_documents({}) == 0
    assert "cutover-started" not in steps(audited, incident)


# --- a rerun takes a fresh pre-cutover snapshot once the last one no longer describes production ----------


class _Interrupting:
    """A production client that is interrupted (Ctrl-C) at its first `find` (before any write is even
    announced), or at its second `insert_many` (after the first batch was written)."""

    def __init__(self, inner: Any, at: str) -> None:
        self.inner, self.at, self.inserts = inner, at, 0

    def __getitem__(self, name: str) -> Any:
        outer = self

        class Database:
            def __getattr__(self, attr: str) -> Any:
                return getattr(outer.inner[name], attr)

            def __getitem__(self, collection: str) -> Any:
                real = outer.inner[name][collection]

                class Collection:
                    def __getattr__(self, attr: str) -> Any:
                        return getattr(real, attr)

                    def find(self, *args: Any, **kwargs: Any) -> Any:
                        if outer.at == "find":
                            raise KeyboardInterrupt
                        return real.find(*args, **kwargs)

                    def insert_many(self, documents: Any, **options: Any) -> Any:
                        outer.inserts += 1
                        if outer.at == "insert" and outer.inserts == 2:
                            raise KeyboardInterrupt
                        return real.insert_many(documents, **options)

                return Collection()

        return Database()


def _verified_tenant_loss(world: RecoverWorld, capsys: pytest.CaptureFixture[str]) -> str:
    world.lose(_drop_tenant)
    incident = restore(world, capsys, *loss_args("tenant"), "--quiet")
    assert run(capsys, *world.args("recover", "verify", *incident_args(incident)))[0] == 0
    return incident


def _snapshot_ids(world: RecoverWorld, incident: str) -> list[str]:
    return [
        e["snapshotId"]
        for e in world.evidence[RECOVERY_LOG].find(
            {"incidentId": incident, "step": "cutover-snapshot-completed"}
        )
    ]


@pytest.mark.parametrize(
    ("interrupted_at", "minutes_later", "fresh"),
    [("find", 5, False), ("find", 60, True), ("insert", 5, True)],
    ids=["nothing-written-5-min-later", "nothing-written-an-hour-later", "a-batch-written"],
)
def test_a_rerun_takes_a_fresh_pre_cutover_snapshot_once_production_was_written_or_time_passed(
    audited: RecoverWorld,
    capsys: pytest.CaptureFixture[str],
    interrupted_at: str,
    minutes_later: int,
    fresh: bool,
) -> None:
    incident = _verified_tenant_loss(audited, capsys)
    args = audited.args("recover", "cutover", *incident_args(incident), *EXECUTE)
    audited.production_wrapper = lambda client: _Interrupting(client, interrupted_at)
    assert run(capsys, *args, "--quiet")[0] == 130
    [first] = _snapshot_ids(audited, incident)
    audited.production_wrapper = None
    audited.clock.advance(minutes=minutes_later)
    code, out, err = run(capsys, *args)
    assert code == 0, out + err
    production = audited.source["tenant_acme"]
    assert {c: production[c].count_documents({}) for c in ("orders", "customers")} == {
        "orders": 40,
        "customers": 15,
    }
    snapshots = _snapshot_ids(audited, incident)
    assert len(_snapshot_requests(audited)) == len(snapshots) == (2 if fresh else 1)
    started = [
        e["snapshotId"]
        for e in audited.evidence[RECOVERY_LOG].find({"incidentId": incident, "step": "cutover-started"})
    ]
    assert started[-1] == snapshots[-1]
    assert f"Production snapshot before any write: `{snapshots[-1]}`" in out
    if not fresh:
        assert f"pre-cutover snapshot {first} already completed: resuming the cutover" in err
    elif interrupted_at == "insert":
        assert f"production was written since snapshot {first}: taking a fresh pre-cutover snapshot" in err
    else:
        assert f"snapshot {first} is older than 15 min (production may have changed since)" in err


# --- Atlas 429/503 waits are reported, and a budget spent says what goes on in Atlas ------------------------


def test_each_atlas_429_wait_during_the_pre_cutover_snapshot_is_one_progress_line(
    audited: RecoverWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    incident = _verified_tenant_loss(audited, capsys)
    audited.atlas.inject("429", times=2, method="GET", path_contains="/backup/snapshots/", retry_after="7")
    code, out, err = run(capsys, *audited.args("recover", "cutover", *incident_args(incident), *EXECUTE))
    assert code == 0, out + err
    waits = [line for line in logged(err) if "Retry-After" in line]
    assert len(waits) == 2
    for attempt, line in enumerate(waits, start=2):
        assert line.startswith("Atlas GET /api/atlas/v2/groups/")
        assert "/clusters/cartie-prod/backup/snapshots/" in line and "HTTP 429" in line
        assert line.endswith(f"; waiting 7 s (Retry-After) before attempt {attempt} of 8")
    assert audited.source["tenant_acme"]["orders"].count_documents({}) == 40


def test_503s_past_the_budget_while_the_snapshot_is_taken_say_it_goes_on_and_the_command_to_pick_it_up(
    audited: RecoverWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    incident = _verified_tenant_loss(audited, capsys)
    audited.atlas.inject("503", times=100, method="GET", path_contains="/backup/snapshots/")
    args = audited.args("recover", "cutover", *incident_args(incident), *EXECUTE, "--quiet")
    code, out, err = run(capsys, *args)
    [requested] = [
        e["snapshotId"]
        for e in audited.evidence[RECOVERY_LOG].find(
            {"incidentId": incident, "step": "cutover-snapshot-requested"}
        )
    ]
    assert (code, out) == (2, "") and err.count("\n") == 1
    assert err.startswith("backstop: Atlas Admin API GET ")
    assert err.endswith(
        f"; the on-demand snapshot {requested} of cartie-prod goes on in Atlas, nothing was written: pick it "
        f"up with `backstop recover cutover --stack prod --incident {incident} --execute --confirm "
        "tenant_acme`\n"
    )
    assert audited.source["tenant_acme"]["orders"].count_documents({}) == 0
    audited.atlas.faults.clear()
    assert run(capsys, *args)[0] == 0
    assert len(_snapshot_requests(audited)) == 1  # the same snapshot, picked up
    assert audited.source["tenant_acme"]["orders"].count_documents({}) == 40


def test_503s_past_the_budget_when_verify_looks_at_the_restore_job_say_it_keeps_running(
    audited: RecoverWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    audited.lose(_empty_orders)
    audited.atlas.inject("503", times=1000, method="GET", path_contains="/restoreJobs/")
    args = loss_args("collection", collection="orders")
    assert run(capsys, *audited.args("recover", "restore", *args, "--quiet"))[0] == 1
    [incident] = audited.evidence[RECOVERY_LOG].distinct("incidentId")
    [job] = [
        e["jobId"]
        for e in audited.evidence[RECOVERY_LOG].find({"incidentId": incident, "step": "restore-requested"})
    ]
    code, out, err = run(capsys, *audited.args("recover", "verify", *incident_args(incident)))
    assert (code, out) == (2, "")
    [line] = [line for line in err.splitlines() if line.startswith("backstop:")]
    assert line.endswith(
        f"; restore job {job} keeps running in Atlas: pick it up with `backstop recover verify --stack prod "
        f"--incident {incident}`"
    )
    waits = [line for line in logged(err) if line.startswith("Atlas GET ")]
    assert len(waits) == 7 and all("HTTP 503" in w and "(backoff)" in w for w in waits)
