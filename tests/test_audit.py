"""`backstop audit` and `audit verify`: tenant attestations, manifests and the append-only hash chain."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from backstop.cli import main
from backstop.clients.mongo_manifest import READ_LATEST, READ_SNAPSHOT, take_manifest
from backstop.config import DrillConfig, tenant_databases
from backstop.ground.documents import document_hash
from backstop.report.evidence import AUDIT_COLLECTION, GENESIS_HASH, record_hash
from backstop.restore import runtime
from tests.fakes.drill_world import (
    NOW,
    PROD_PROJECT_ID,
    TENANT_COLLECTIONS,
    TENANTS,
    DrillWorld,
    default_drill,
)
from tests.fakes.mongo import SnapshotReplicaSet
from tests.json_documents import assert_valid
from tests.log_support import logged


@pytest.fixture()
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    with DrillWorld(tmp_path) as world:
        monkeypatch.setattr(runtime, "RUNTIME", world.runtime())
        yield world


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def records(world: DrillWorld) -> list[dict]:
    return list(world.evidence[AUDIT_COLLECTION].find({}).sort("sequence", 1))


def test_audit_attests_exactly_the_tenant_databases_with_their_holding_snapshot(
    world: DrillWorld, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    summary = tmp_path / "evidence" / "audit.md"
    code, out, _ = run(capsys, *world.args("audit", "--stack", "prod", "--summary", str(summary)))
    assert code == 0, out
    stored = records(world)
    assert [r["tenantDatabase"] for r in stored] == TENANTS  # not tenant_bigcorp (excluded), analytics, admin
    newest = world.atlas.snapshots[(PROD_PROJECT_ID, "cartie-prod")][0]
    assert newest["createdAt"] == "2026-05-17T02:00:00Z"
    for record in stored:
        assert (record["projectId"], record["cluster"], record["pitEnabled"]) == (
            PROD_PROJECT_ID,
            "cartie-prod",
            True,
        )
        assert record["snapshot"]["id"] == newest["id"]
        assert record["snapshotLagSeconds"] == 3600
        manifest = record["manifest"]
        expected = TENANT_COLLECTIONS[record["tenantDatabase"]]
        assert {c["name"]: c["count"] for c in manifest["collections"]} == expected
        assert len(manifest["sample"]) == min(20, sum(expected.values()))
        source = world.source[record["tenantDatabase"]]
        for sampled in manifest["sample"]:
            document = source[sampled["collection"]].find_one({"_id": sampled["id"]})
            assert sampled["sha256"] == document_hash(document)
    assert summary.read_text() == out.rstrip() + "\n"
    assert f"Chain head: #3 `{stored[-1]['recordHash']}`" in out
    assert out.rstrip().endswith("PASSED: 3 tenant database(s) attested, each held by a completed snapshot")


def test_the_stand_in_falls_back_to_latest_reads_and_the_manifest_says_so(world: DrillWorld) -> None:
    manifest = take_manifest(world.source, "tenant_globex", sample_size=10, clock=world.clock.now)
    assert manifest.read_mode == READ_LATEST
    assert manifest.cluster_time is None
    assert manifest.read_mode_reason == "snapshot sessions are not supported by this client (TypeError)"
    assert manifest.restore_point == NOW
    document = manifest.as_document()
    assert (document["readMode"], document["clusterTime"], document["capturedAt"]) == (
        "latest",
        None,
        "2026-05-17T03:00:00.000Z",
    )


def test_a_replica_set_manifest_is_read_in_one_snapshot_session_at_a_recorded_cluster_time(
    world: DrillWorld,
) -> None:
    replica_set = SnapshotReplicaSet(world.source, cluster_time=(1_778_986_800, 12))
    manifest = take_manifest(replica_set, "tenant_acme", sample_size=12, clock=world.clock.now)
    assert (manifest.read_mode, manifest.cluster_time, manifest.read_mode_reason) == (
        READ_SNAPSHOT,
        (1_778_986_800, 12),
        None,
    )
    assert manifest.restore_point == datetime.fromtimestamp(1_778_986_800, UTC)
    assert manifest.counts == TENANT_COLLECTIONS["tenant_acme"]
    assert len(manifest.sample) == 12
    reads = replica_set.session_reads
    assert reads[0] == ("aggregate", "customers")  # the probe that pins atClusterTime comes first
    assert sorted(r for r in reads if r[0] == "count") == [
        ("count", c) for c in sorted(TENANT_COLLECTIONS["tenant_acme"])
    ]
    assert len(replica_set.sessions) == 1 and replica_set.sessions[0].ended


def test_every_later_run_appends_and_leaves_earlier_records_untouched(
    world: DrillWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, *world.args("audit", "--stack", "prod"))[0] == 0
    first = records(world)
    world.clock.advance(days=7)
    world.add_snapshot(world.clock.now() - timedelta(minutes=30))
    assert run(capsys, *world.args("audit", "--stack", "prod"))[0] == 0
    both = records(world)
    assert both[:3] == first
    assert [r["sequence"] for r in both] == [1, 2, 3, 4, 5, 6]
    assert both[0]["previousHash"] == GENESIS_HASH
    assert all(later["previousHash"] == earlier["recordHash"] for earlier, later in itertools.pairwise(both))
    assert all(record_hash(r) == r["recordHash"] for r in both)
    assert {r["snapshotLagSeconds"] for r in both[3:]} == {1800}


def test_a_tenant_no_completed_snapshot_holds_is_recorded_and_fails_the_audit(
    world: DrillWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    world.atlas.snapshots[(PROD_PROJECT_ID, "cartie-prod")] = []
    world.add_snapshot(NOW + timedelta(hours=1))  # after the manifest
    code, out, _ = run(capsys, *world.args("audit", "--stack", "prod"))
    assert code == 1
    assert [r["snapshot"] for r in records(world)] == [None, None, None]
    assert out.rstrip().endswith(
        "FAILED: 3 tenant database(s) in no completed snapshot: tenant_acme, tenant_globex, tenant_initech"
    )


def test_the_sample_size_is_configurable_but_never_below_the_ten_spot_checks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with DrillWorld(tmp_path, default_drill(manifestSampleSize=12)) as world:
        monkeypatch.setattr(runtime, "RUNTIME", world.runtime())
        assert run(capsys, *world.args("audit", "--stack", "prod"))[0] == 0
        assert [len(r["manifest"]["sample"]) for r in records(world)] == [12, 12, 7]
    with DrillWorld(tmp_path / "small", default_drill(manifestSampleSize=5)) as world:
        monkeypatch.setattr(runtime, "RUNTIME", world.runtime())
        code, _, err = run(capsys, *world.args("audit", "--stack", "prod"))
        assert code == 2
        assert err == (
            "backstop: Pulumi.prod.yaml: backstop:drill.manifestSampleSize: Input should be greater than or "
            "equal to 10 (got 5)\n"
        )
        assert records(world) == []


def test_tenant_selection_never_includes_system_or_excluded_databases() -> None:
    drill = DrillConfig(excluded_databases=["tenant_bigcorp"], tenant_database_pattern=".*")
    names = ["admin", "local", "config", "tenant_bigcorp", "tenant_a", "analytics"]
    assert tenant_databases(names, drill) == ["analytics", "tenant_a"]


def test_missing_source_uri_is_one_line_and_writes_nothing(
    world: DrillWorld, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    env = world.env()
    del env["BACKSTOP_SOURCE_MONGODB_URI"]
    monkeypatch.setattr(runtime, "RUNTIME", world.runtime(env=env))
    code, _, err = run(capsys, *world.args("audit", "--stack", "prod"))
    assert (code, err) == (
        2,
        "backstop: BACKSTOP_SOURCE_MONGODB_URI is not set: "
        "the MongoDB connection string backstop needs here\n",
    )
    assert records(world) == []


# --- verify and tampering ------------------------------------------------------------------------------


@pytest.fixture()
def audited(world: DrillWorld, capsys: pytest.CaptureFixture[str]) -> DrillWorld:
    assert run(capsys, *world.args("audit", "--stack", "prod"))[0] == 0
    return world


def test_an_intact_chain_verifies(audited: DrillWorld, capsys: pytest.CaptureFixture[str]) -> None:
    head = records(audited)[-1]["recordHash"]
    code, out, err = run(capsys, *audited.args("audit", "verify", "--stack", "prod", "--head", head))
    assert (code, err) == (0, "")
    assert out == f"PASSED: {AUDIT_COLLECTION} chain intact, 3 record(s), head #3 {head}\n"


def _change_count(log) -> None:
    log.update_one({"sequence": 2}, {"$set": {"manifest.collections.0.count": 31}})


def _change_hash(log) -> None:
    log.update_one({"sequence": 2}, {"$set": {"recordHash": "f" * 64}})


def _delete(log) -> None:
    log.delete_one({"sequence": 2})


def _reorder(log) -> None:
    log.update_one({"sequence": 1}, {"$set": {"sequence": 99}})
    log.update_one({"sequence": 2}, {"$set": {"sequence": 1}})
    log.update_one({"sequence": 99}, {"$set": {"sequence": 2}})


def _rewrite_and_rehash(log) -> None:
    record = log.find_one({"sequence": 2})
    record["manifest"]["collections"][0]["count"] = 31
    record["recordHash"] = record_hash(record)
    log.replace_one({"sequence": 2}, record)


@pytest.mark.parametrize(
    ("tamper", "line"),
    [
        (
            _change_count,
            "record #2 (tenant_globex): its content does not match its recordHash (changed after writing)",
        ),
        (
            _change_hash,
            "record #2 (tenant_globex): its content does not match its recordHash (changed after writing)",
        ),
        (_delete, "record #2: missing (the next stored record is #3)"),
        (
            _reorder,
            "record #1 (tenant_globex): its content does not match its recordHash (changed after writing)",
        ),
        (_rewrite_and_rehash, "record #3 (tenant_initech): previousHash"),
    ],
    ids=["count", "hash", "deleted", "reordered", "rehashed"],
)
def test_tampering_is_detected_at_the_first_record_touched(
    audited: DrillWorld, capsys: pytest.CaptureFixture[str], tamper, line: str
) -> None:
    tamper(audited.evidence[AUDIT_COLLECTION])
    code, out, err = run(capsys, *audited.args("audit", "verify", "--stack", "prod"))
    assert code == 1
    assert err.startswith(f"backstop: TAMPERED: {AUDIT_COLLECTION} {line}")
    assert len(err.splitlines()) == 1
    assert out.startswith(f"FAILED: {AUDIT_COLLECTION} chain broken at record #")


def test_removing_records_from_the_end_is_caught_by_the_published_head(
    audited: DrillWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    head = records(audited)[-1]["recordHash"]
    audited.evidence[AUDIT_COLLECTION].delete_one({"sequence": 3})
    assert (
        run(capsys, *audited.args("audit", "verify", "--stack", "prod"))[0] == 0
    )  # the chain alone cannot tell
    code, _, err = run(capsys, *audited.args("audit", "verify", "--stack", "prod", "--head", head))
    assert code == 1
    assert f"the published head {head[:12]}… is not in the chain" in err
    code, out, _ = run(
        capsys, *audited.args("audit", "verify", "--stack", "prod", "--head", head, "--format", "json")
    )
    document = assert_valid(out, "audit verify")
    assert code == 1 and document["intact"] is False
    assert document["broken"]["problem"].startswith(f"the published head {head[:12]}… is not in the chain")


def test_the_audit_refuses_to_append_to_a_broken_chain(
    audited: DrillWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    _change_count(audited.evidence[AUDIT_COLLECTION])
    code, _, err = run(capsys, *audited.args("audit", "--stack", "prod"))
    assert code == 2
    assert err.startswith(
        f"backstop: {AUDIT_COLLECTION} record #2 (tenant_globex): its content does not match"
    )
    assert len(records(audited)) == 3


def test_an_unreachable_evidence_store_is_one_line(
    world: DrillWorld, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from pymongo.errors import ServerSelectionTimeoutError

    def unreachable(uri: str, **kwargs):
        raise ServerSelectionTimeoutError(
            "evidence.fake.mongodb.net:27017: timed out\nTopology Description: …"
        )

    monkeypatch.setattr(runtime, "RUNTIME", world.runtime(connect=unreachable))
    code, out, err = run(capsys, *world.args("audit", "verify", "--stack", "prod"))
    assert (code, out) == (2, "")
    assert err == "backstop: MongoDB: evidence.fake.mongodb.net:27017: timed out Topology Description: …\n"


# --- Tier 2 attestation read from the snapshot itself -------------------------------------------------------


def test_atlas_is_asked_whether_each_tenant_and_its_collections_are_in_the_snapshot(
    world: DrillWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, *world.args("audit", "--stack", "prod"))
    assert code == 0, out
    newest = world.atlas.snapshots[(PROD_PROJECT_ID, "cartie-prod")][0]["id"]
    for record in records(world):
        expected = sorted(TENANT_COLLECTIONS[record["tenantDatabase"]])
        assert record["attestation"] == {
            "method": "snapshot-contents",
            "snapshotId": newest,
            "apiVersion": "2025-03-12",
            "databaseListed": True,
            "collections": {"listed": expected, "missingFromSnapshot": []},
            "reason": None,
        }
    # the database list once per snapshot, the collections once per tenant, in the only documented version
    databases = world.atlas.calls("GET", f"/snapshots/{newest}/databases")
    assert [r.path.rsplit("/", 2)[-2] for r in databases if r.path.endswith("/collections")] == TENANTS
    assert len([r for r in databases if r.path.endswith("/databases")]) == 1
    assert {r.headers["Accept"] for r in databases} == {"application/vnd.atlas.2025-03-12+json"}
    assert (
        "Tier 2 attestation: 3 tenant database(s) attested from the snapshot's contents (Atlas lists them), "
        "0 inferred from snapshot times." in out
    )
    assert "| listed by Atlas, 3 collection(s) |" in out


def test_a_tenant_atlas_does_not_list_in_its_snapshot_fails_the_audit(
    world: DrillWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    world.add_snapshot(
        NOW - timedelta(minutes=10),
        databases={"tenant_acme": ["orders"], "tenant_initech": ["orders", "notes"]},
    )
    code, out, _ = run(capsys, *world.args("audit", "--stack", "prod"))
    assert code == 1
    by_tenant = {r["tenantDatabase"]: r["attestation"] for r in records(world)}
    assert by_tenant["tenant_globex"]["databaseListed"] is False
    assert by_tenant["tenant_acme"]["collections"] == {
        "listed": ["orders"],
        "missingFromSnapshot": ["customers", "reviews"],
    }
    snapshot = by_tenant["tenant_globex"]["snapshotId"]
    assert out.rstrip().endswith(
        "FAILED: 1 tenant database(s) Atlas does not list in their snapshot: "
        f"tenant_globex (snapshot {snapshot})"
    )
    assert "| **not listed in the snapshot** |" in out
    assert "| listed by Atlas, 1 collection(s); not in the snapshot: customers, reviews |" in out


def test_without_the_snapshot_contents_endpoint_the_record_says_inferred_and_why(
    world: DrillWorld, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    world.atlas.snapshot_contents = False
    result = tmp_path / "audit.json"
    code, out, _ = run(capsys, *world.args("audit", "--stack", "prod", "--result-json", str(result)))
    assert code == 0, out
    newest = world.atlas.snapshots[(PROD_PROJECT_ID, "cartie-prod")][0]["id"]
    reason = (
        f"snapshot contents unavailable: Atlas Admin API GET /api/atlas/v2/groups/{PROD_PROJECT_ID}/"
        f"clusters/cartie-prod/backup/snapshots/{newest}/databases: HTTP 404: RESOURCE_NOT_FOUND: "
        "Cannot find resource "
        f"/api/atlas/v2/groups/{PROD_PROJECT_ID}/clusters/cartie-prod/backup/snapshots/{newest}/databases."
    )
    assert {r["attestation"]["method"] for r in records(world)} == {"inferred"}
    assert {r["attestation"]["reason"] for r in records(world)} == {reason}
    assert len(world.atlas.calls("GET", "/databases")) == 1  # asked once, not per tenant
    assert "0 tenant database(s) attested from the snapshot's contents (Atlas lists them), 3 inferred" in out
    assert f"Inferred, not read from the snapshot, because: {reason}" in out
    document = json.loads(result.read_text())
    code, out, _ = run(capsys, *world.args("audit", "--stack", "prod", "--format", "json"))
    printed = assert_valid(out, "audit")
    assert code == 0 and printed["attestation"] == document["attestation"]
    assert printed["kind"] == "backstop-audit"  # the record's own kind, kept under the envelope
    assert document["attestation"] == {
        "attested": 0,
        "inferred": 3,
        "noSnapshot": 0,
        "missingFromSnapshot": 0,
    }
    assert [(t["tenantDatabase"], t["method"]) for t in document["tenants"]] == [
        (tenant, "inferred") for tenant in TENANTS
    ]


def test_a_sharded_cluster_is_attested_from_its_sharded_snapshots_by_inference(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with DrillWorld(tmp_path, cluster_type="SHARDED", shards=2) as world:
        monkeypatch.setattr(runtime, "RUNTIME", world.runtime())
        code, out, err = run(capsys, *world.args("audit", "--stack", "prod"))
        assert code == 0, out + err
        newest = world.atlas.snapshots[(PROD_PROJECT_ID, "cartie-prod")][0]
        assert newest["type"] == "shardedCluster"
        stored = records(world)
        assert {r["snapshot"]["id"] for r in stored} == {newest["id"]}
        assert {r["attestation"]["method"] for r in stored} == {"inferred"}
        assert world.atlas.calls("GET", "/databases") == []
        assert len(world.atlas.calls("GET", "/backup/snapshots/shardedClusters")) == 1
    assert logged(err)[0] == (
        "cluster cartie-prod is a sharded cluster of 2 shard(s): its snapshots come from "
        "/backup/snapshots/shardedClusters, and tenants are attested by inference (the cluster is sharded, "
        "and Atlas documents snapshot contents (GET .../backup/snapshots/{snapshotId}/databases) for "
        "replica-set snapshots only)"
    )


def test_the_report_shows_attested_and_inferred_counts(
    world: DrillWorld,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    prod_run,
) -> None:
    import backstop.program.mocks

    # The program's mock run is the session's; the report itself runs as the CLI runs it.
    monkeypatch.setattr(backstop.program.mocks, "run_stack", lambda project, stack, **_: prod_run)
    result = tmp_path / "audit.json"
    world.atlas.snapshot_contents = True
    assert run(capsys, *world.args("audit", "--stack", "prod", "--result-json", str(result)))[0] == 0
    run_id = json.loads(result.read_text())["runId"]
    code, out, _ = run(
        capsys,
        "report",
        "--stack",
        "prod",
        "--project-dir",
        str(world.project_dir),
        "--audit-results",
        str(result),
    )
    lines = out.rstrip().splitlines()
    assert lines[-3] == (
        f"Tier 2 attestation (audit run `{run_id}`, 2026-05-17T03:00:00.000Z): 3 tenant database(s) attested "
        "from the snapshot's contents, 0 inferred."
    )
    assert (code, lines[-1].endswith("objectives met.")) == (0, True)
    _, out, _ = run(
        capsys,
        "report",
        "--stack",
        "prod",
        "--project-dir",
        str(world.project_dir),
        "--format",
        "json",
        "--audit-results",
        str(result),
    )
    assert json.loads(out)["tier2Attestation"] == {
        "attested": 3,
        "inferred": 0,
        "noSnapshot": 0,
        "missingFromSnapshot": 0,
        "auditRunId": run_id,
        "startedAt": "2026-05-17T03:00:00.000Z",
    }


def test_an_unusable_audit_results_file_is_one_line(
    world: DrillWorld, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bad = tmp_path / "audit.json"
    bad.write_text(json.dumps({"kind": "backstop-audit", "attestation": {"attested": "3"}}))
    code, _, err = run(
        capsys,
        "report",
        "--stack",
        "prod",
        "--project-dir",
        str(world.project_dir),
        "--audit-results",
        str(bad),
    )
    assert code == 2
    assert (
        err.strip()
        .splitlines()[-1]
        .endswith(f"{bad}: attestation: needs integer attested, inferred, noSnapshot, missingFromSnapshot")
    )


def test_an_audit_through_a_burst_of_429s_keeps_going_and_says_so(
    world: DrillWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    world.atlas.inject(
        "429", on_call=1, times=4, method="GET", path_contains="/collections", retry_after="20"
    )
    code, out, err = run(capsys, *world.args("audit", "--stack", "prod"))
    assert code == 0, out + err
    assert {r["attestation"]["method"] for r in records(world)} == {"snapshot-contents"}
    waits = [line for line in err.splitlines() if "HTTP 429: RATE_LIMITED" in line]
    assert len(waits) == 4 and all("waiting 20 s (Retry-After)" in line for line in waits)
    assert world.clock.sleeps == [20.0] * 4
