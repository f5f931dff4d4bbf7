"""What `backstop recover` must never do (issue 26): destroy the cluster serving production, cut over a
restore that does not verify, write back more than was lost, or write to a cluster other than the source."""

from __future__ import annotations

import json

import pytest

from backstop.clients.mongo_manifest import format_id
from backstop.operations.recover.diffs import store_diffs, with_lists
from backstop.operations.recover.store import RECOVERY_LOG, IncidentLog
from backstop.operations.recover.verify import NO_MANIFEST
from backstop.restore import runtime
from tests.fakes.drill_world import PROD_PROJECT_ID, STAGING_PROJECT_ID
from tests.fakes.recover_world import RecoverWorld
from tests.recover_support import audited_world  # noqa: F401 (the `audited` fixture)
from tests.test_recover import (
    _delete_one_order,
    _drop_tenant,
    _empty_orders,
    incident_args,
    loss_args,
    restore,
    run,
    steps,
)

EXECUTE = ("--execute", "--confirm", "tenant_acme")


def _verify(world: RecoverWorld, capsys: pytest.CaptureFixture[str], incident: str) -> tuple[int, str, str]:
    return run(capsys, *world.args("recover", "verify", *incident_args(incident)))


def _writes(world: RecoverWorld) -> list:
    return [r for r in world.atlas.requests if r.method == "POST" and r.path.endswith("/backup/snapshots")]


# --- cleanup never destroys the cluster serving production ------------------------------------------------


def _swapped(world: RecoverWorld, capsys: pytest.CaptureFixture[str]) -> str:
    world.lose(_drop_tenant)
    incident = restore(world, capsys, *loss_args("cluster"), "--quiet")
    assert _verify(world, capsys, incident)[0] == 0
    code, out, err = run(
        capsys, *world.args("recover", "cutover", *incident_args(incident), *EXECUTE, "--quiet")
    )
    assert code == 0, out + err
    return incident


def test_a_cluster_swap_turns_termination_protection_on_before_the_switch(
    audited: RecoverWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    incident = _swapped(audited, capsys)
    name = f"recover-{incident}"
    assert audited.atlas.clusters[(STAGING_PROJECT_ID, name)]["terminationProtectionEnabled"] is True
    [cluster] = [r for r in audited.recovery_stacks.runs[name].resources if r.props.get("name") == name]
    assert cluster.props["terminationProtectionEnabled"] is True
    trail = steps(audited, incident)
    assert trail.index("termination-protection-enabled") < trail.index("cutover-switch")
    # The reader keeps its password (verify still reads the recovery cluster after the update).
    assert audited.recovery_stacks.calls == [("up", name), ("up", name)]
    assert _verify(audited, capsys, incident)[0] == 0


def test_cleanup_keeps_a_cluster_an_incident_switched_production_to_whatever_the_stack_file_says(
    audited: RecoverWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    original = (audited.project_dir / "Pulumi.prod.yaml").read_text()
    incident = _swapped(audited, capsys)
    # Another checkout: the stack file without the switch (the guard used to read only this file).
    (audited.project_dir / "Pulumi.prod.yaml").write_text(original)
    code, out, _ = run(capsys, *audited.args("recover", "cleanup", "--incident", incident, "--quiet"))
    assert code == 1
    assert (
        f"keep   recover-{incident}: may serve production: incident {incident} switched the application's "
        "connection target to it" in out
    )
    assert audited.recovery_stacks.destroyed() == []
    audited.clock.advance(hours=80)  # expired: the sweep keeps it too
    code, out, _ = run(capsys, *audited.args("recover", "cleanup", "--quiet"))
    assert code == 1 and audited.recovery_stacks.destroyed() == []


def test_cleanup_keeps_the_cluster_the_deployed_stack_exports_as_application_database(
    audited: RecoverWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    audited.lose(_empty_orders)
    incident = restore(audited, capsys, *loss_args("collection", collection="orders"), "--quiet")
    audited.deployed = {
        "applicationDatabase": {"projectId": STAGING_PROJECT_ID, "clusterName": f"recover-{incident}"}
    }
    code, out, _ = run(capsys, *audited.args("recover", "cleanup", "--incident", incident, "--quiet"))
    assert code == 1
    assert "the deployed stack prod exports it as applicationDatabase" in out
    audited.deployed = RuntimeError("no stack named 'prod' found")  # type: ignore[assignment]
    code, out, _ = run(capsys, *audited.args("recover", "cleanup", "--incident", incident, "--quiet"))
    assert code == 1 and "outputs could not be read (no stack named 'prod' found)" in out
    assert audited.recovery_stacks.destroyed() == []
    audited.deployed = {"applicationDatabase": {"projectId": PROD_PROJECT_ID, "clusterName": "cartie-prod"}}
    code, _, _ = run(capsys, *audited.args("recover", "cleanup", "--incident", incident, "--quiet"))
    assert code == 0 and audited.recovery_stacks.destroyed() == [f"recover-{incident}"]


# --- a restore that does not verify is never cut over ----------------------------------------------------


def test_verify_fails_a_recovery_copy_that_lost_documents_and_cutover_refuses_it(
    audited: RecoverWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    audited.lose(_drop_tenant)
    incident = restore(audited, capsys, *loss_args("tenant"), "--quiet")
    copy = audited.recovery_client(f"recover-{incident}")["tenant_acme"]
    copy["orders"].delete_many({"n": {"$lt": 16}})
    code, out, _ = _verify(audited, capsys, incident)
    assert code == 1
    assert "Verdict: FAILED" in out
    verified = audited.evidence[RECOVERY_LOG].find_one({"incidentId": incident, "step": "verified"})
    problems = verified["verdict"]["problems"]
    assert verified["verdict"]["passed"] is False
    assert problems[0] == "`orders`: 24 document(s) restored, the attested manifest counts 40"
    assert all(p.startswith("`orders`") for p in problems)
    code, out, err = run(capsys, *audited.args("recover", "cutover", *incident_args(incident), *EXECUTE))
    assert (code, out) == (2, "")
    assert err.startswith(
        f"backstop: incident {incident}: the last verify did not pass (`orders`: 24 document"
    )
    assert audited.source["tenant_acme"]["orders"].count_documents({}) == 0
    assert _writes(audited) == []
    # An explained mismatch is recorded and lets the cutover go on.
    code, out, _ = run(
        capsys,
        *audited.args(
            "recover", "verify", *incident_args(incident), "--accept-mismatch", "16 orders deleted on purpose"
        ),
    )
    assert code == 0 and "Verdict: MISMATCH ACCEPTED" in out
    code, _, _ = run(capsys, *audited.args("recover", "cutover", *incident_args(incident), *EXECUTE))
    assert code == 0
    assert audited.source["tenant_acme"]["orders"].count_documents({}) == 24


@pytest.fixture(name="unaudited")
def unaudited_world(tmp_path, monkeypatch: pytest.MonkeyPatch):
    """A recover world no audit ever ran in: `backup_audit_log` holds no manifest to verify against."""
    with RecoverWorld(tmp_path) as world:
        monkeypatch.setattr(runtime, "RUNTIME", world.runtime())
        world.clock.advance(hours=2)
        yield world


def test_without_an_attested_manifest_verify_fails_and_cutover_needs_an_accepted_reason(
    unaudited: RecoverWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    unaudited.lose(_drop_tenant)
    incident = restore(unaudited, capsys, *loss_args("tenant"), "--quiet")
    copy = unaudited.recovery_client(f"recover-{incident}")["tenant_acme"]
    copy["orders"].delete_many({"n": {"$lt": 30}})  # a broken restore: 10 of 40 orders
    code, out, _ = _verify(unaudited, capsys, incident)
    assert code == 1
    assert "Verdict: PASSED" not in out
    assert (
        "Verdict: FAILED (nothing attested to verify the recovery copy against):\n"
        "- no attested manifest: counts and sample could not be checked against what was attested\n"
    ) in out
    code, out, err = run(capsys, *unaudited.args("recover", "cutover", *incident_args(incident), *EXECUTE))
    assert (code, out) == (2, "")
    assert err == (
        f"backstop: incident {incident}: the last verify did not pass (no attested manifest: counts and "
        "sample could not be checked against what was attested): nothing was written; run `backstop recover "
        f"verify --stack prod --incident {incident}` again once the recovery copy is right\n"
    )
    assert unaudited.source["tenant_acme"]["orders"].count_documents({}) == 0
    assert _writes(unaudited) == []
    reason = "no audit ran for tenant_acme yet; 10 orders checked with the tenant"
    code, out, _ = run(
        capsys,
        *unaudited.args("recover", "verify", *incident_args(incident), "--accept-mismatch", reason),
    )
    assert code == 0 and "Verdict: MISMATCH ACCEPTED" in out and f"Accepted by the operator: {reason}" in out
    code, out, err = run(
        capsys, *unaudited.args("recover", "cutover", *incident_args(incident), *EXECUTE, "--quiet")
    )
    assert code == 0, out + err
    assert unaudited.source["tenant_acme"]["orders"].count_documents({}) == 10
    log = IncidentLog(unaudited.evidence, incident, unaudited.clock.now)
    assert [v["verdict"] for v in log.steps("verified")] == [
        {"passed": False, "problems": [NO_MANIFEST], "accepted": None},
        {"passed": True, "problems": [NO_MANIFEST], "accepted": reason},
    ]


def test_verify_fails_a_copy_with_the_attested_counts_but_different_sampled_content(
    audited: RecoverWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    audited.lose(_drop_tenant)
    incident = restore(audited, capsys, *loss_args("tenant"), "--quiet")
    copy = audited.recovery_client(f"recover-{incident}")["tenant_acme"]
    for name in ("customers", "orders", "reviews"):
        copy[name].update_many({}, {"$set": {"nested.score": -1}})  # same documents, other content
    code, out, _ = _verify(audited, capsys, incident)
    assert code == 1
    assert "Verdict: FAILED (the recovery copy does not match what was attested):" in out
    verified = audited.evidence[RECOVERY_LOG].find_one({"incidentId": incident, "step": "verified"})
    counts = {c["collection"]: c["counts"] for c in verified["collections"]}
    assert {name: (c["recovery"], c["manifest"]) for name, c in counts.items()} == {
        "customers": (15, 15),
        "orders": (40, 40),
        "reviews": (25, 25),
    }
    samples = {c["collection"]: c["manifestSample"] for c in verified["collections"]}
    assert sum(s["different"] for s in samples.values()) > 0
    assert verified["verdict"]["problems"] == [
        f"`{name}`: of {s['different']} manifest-sampled document(s), 0 equal, {s['different']} different, "
        "0 absent in the recovery copy"
        for name, s in sorted(samples.items())
        if s["different"]
    ]
    assert all(s["equal"] == s["absent"] == 0 for s in samples.values())
    code, _, err = run(capsys, *audited.args("recover", "cutover", *incident_args(incident), *EXECUTE))
    assert code == 2 and "the last verify did not pass (`" in err
    assert audited.source["tenant_acme"]["orders"].count_documents({}) == 0


def test_a_cluster_swap_without_a_passing_verify_is_refused(
    audited: RecoverWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    audited.lose(_drop_tenant)
    incident = restore(audited, capsys, *loss_args("cluster"), "--quiet")
    original = (audited.project_dir / "Pulumi.prod.yaml").read_text()
    code, out, err = run(capsys, *audited.args("recover", "cutover", *incident_args(incident), *EXECUTE))
    assert (code, out) == (2, "")
    assert err == (
        f"backstop: incident {incident}: nothing verified yet: run `backstop recover verify --stack prod "
        f"--incident {incident}` first (the cutover writes only what it lists); nothing was written\n"
    )
    assert (audited.project_dir / "Pulumi.prod.yaml").read_text() == original
    assert audited.recovery_stacks.calls == [("up", f"recover-{incident}")]


def test_a_tenant_database_the_snapshot_does_not_hold_is_refused_at_plan_time(
    audited: RecoverWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, *audited.args("recover", "plan", *loss_args("tenant", "tenant_nobody")))
    assert (code, out) == (2, "")
    assert err.startswith("backstop: --database tenant_nobody: not in snapshot ")
    assert err.endswith(
        "(Atlas lists analytics, tenant_acme, tenant_bigcorp, tenant_globex, tenant_initech)\n"
    )
    code, _, _ = run(capsys, *audited.args("recover", "restore", *loss_args("tenant", "tenant_nobody")))
    assert code == 2 and audited.recovery_stacks.calls == []


def test_verify_fails_an_empty_recovery_copy(
    audited: RecoverWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    audited.lose(_drop_tenant)
    incident = restore(audited, capsys, *loss_args("tenant"), "--quiet")
    audited.recovery_client(f"recover-{incident}").drop_database("tenant_acme")
    code, out, _ = _verify(audited, capsys, incident)
    assert code == 1
    assert "- the recovery copy holds no documents of `tenant_acme`: nothing to recover" in out


# --- write back only what was lost ------------------------------------------------------------------------


def _record_loss_then_a_legitimate_delete(world: RecoverWorld, capsys: pytest.CaptureFixture[str]) -> str:
    world.lose(_delete_one_order)  # the loss: order 5
    world.source["tenant_acme"]["orders"].delete_one({"n": 7})  # the application, after the loss
    incident = restore(world, capsys, *loss_args("record", collection="orders"), "--quiet")
    assert _verify(world, capsys, incident)[0] == 0
    return incident


def test_a_record_loss_writes_back_only_the_named_record(
    audited: RecoverWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    incident = _record_loss_then_a_legitimate_delete(audited, capsys)
    orders = audited.source["tenant_acme"]["orders"]
    code, out, err = run(capsys, *audited.args("recover", "cutover", *incident_args(incident), *EXECUTE))
    assert (code, out) == (2, "")
    assert "verify lists 2 documents missing for a single-record loss: name the lost one(s) with --id" in err
    assert _writes(audited) == [] and orders.count_documents({}) == 38
    lost = audited.backup["tenant_acme"]["orders"].find_one({"n": 5})
    code, out, err = run(
        capsys,
        *audited.args(
            "recover",
            "cutover",
            *incident_args(incident),
            "--id",
            format_id(lost["_id"]),
            *EXECUTE,
            "--quiet",
        ),
    )
    assert code == 0, out + err
    assert "1 listed document(s) not selected by --id/--filter: left alone." in out
    assert orders.find_one({"n": 5}) == lost
    assert orders.find_one({"n": 7}) is None  # deleted by the application: stays deleted
    writes = list(audited.evidence[RECOVERY_LOG].find({"incidentId": incident, "step": "cutover-write"}))
    assert [(w["collection"], w["action"], w["ids"]) for w in writes] == [("orders", "insert", [lost["_id"]])]


def test_a_filter_selects_the_lost_documents_in_the_recovery_copy(
    audited: RecoverWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    incident = _record_loss_then_a_legitimate_delete(audited, capsys)
    code, out, _ = run(
        capsys,
        *audited.args("recover", "cutover", *incident_args(incident), "--filter", json.dumps({"n": 5})),
    )
    assert code == 0 and "| `orders` | 1 | 0 | 0 | 0 | 0 |" in out  # dry run: would insert order 5 only
    assert f"--filter '{json.dumps({'n': 5})}' --execute --confirm tenant_acme" in out
    code, _, err = run(
        capsys, *audited.args("recover", "cutover", *incident_args(incident), "--filter", "[1]")
    )
    assert (code, err) == (2, "backstop: --filter [1]: not a query document (a JSON object)\n")


def test_an_edited_recovery_log_is_refused(audited: RecoverWorld, capsys: pytest.CaptureFixture[str]) -> None:
    audited.lose(_empty_orders)
    incident = restore(audited, capsys, *loss_args("collection", collection="orders"), "--quiet")
    assert _verify(audited, capsys, incident)[0] == 0
    log = audited.evidence[RECOVERY_LOG]
    log.update_one(
        {"incidentId": incident, "step": "verified"}, {"$set": {"collections.0.collection": "customers"}}
    )
    code, out, err = run(capsys, *audited.args("recover", "cutover", *incident_args(incident), *EXECUTE))
    assert (code, out) == (2, "")
    assert err == (
        f"backstop: {RECOVERY_LOG} step #6 of incident {incident}: its content does not match its "
        "recordHash (changed after writing)\n"
    )
    assert _writes(audited) == []


def test_writes_stay_in_the_incident_s_collection_even_when_a_rewritten_trail_lists_another(
    audited: RecoverWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    audited.lose(_empty_orders)
    production = audited.source["tenant_acme"]
    production["customers"].update_one({"n": 3}, {"$set": {"n": 333}})  # a legitimate later change
    incident = restore(audited, capsys, *loss_args("collection", collection="orders"), "--quiet")
    assert _verify(audited, capsys, incident)[0] == 0
    [verified] = [e for e in IncidentLog(audited.evidence, incident, audited.clock.now).steps("verified")]
    kept = audited.backup["tenant_acme"]["customers"].find_one({"n": 3})
    forged = dict(
        verified["collections"][0], collection="customers", missingInProduction=0, changedInProduction=1
    )
    lists = with_lists(audited.evidence, incident, verified)
    # Someone with write access appends a well-chained verify run and `verified` step naming another
    # collection.
    pointer = store_diffs(
        audited.evidence,
        incident,
        [
            *[(c["collection"], {"missing": c["missingInProduction"], "changed": []}) for c in lists],
            ("customers", {"changed": [{"id": kept["_id"], "sha256": "x", "productionSha256": "y"}]}),
        ],
    )
    IncidentLog(audited.evidence, incident, audited.clock.now).append(
        "verified",
        collections=[*verified["collections"], forged],
        diffs=pointer,
        verdict={"passed": True, "problems": [], "accepted": None},
    )
    code, out, err = run(
        capsys,
        *audited.args(
            "recover", "cutover", *incident_args(incident), "--replace-changed", *EXECUTE, "--quiet"
        ),
    )
    assert code == 0, out + err
    assert "customers" not in out
    assert production["customers"].find_one({"n": 333}) is not None
    assert production["orders"].count_documents({}) == 40


# --- cutover writes only to the source cluster ------------------------------------------------------------


@pytest.mark.parametrize(
    "uri",
    [
        "mongodb+srv://writer@other-cluster.6a000.mongodb.net",
        "mongodb://writer:pw@cartie-prod-shard-00-00.6a000.mongodb.net:27017,evil.example.com:27017/?ssl=true",
    ],
    ids=["another-srv", "one-foreign-host"],
)
def test_a_cutover_uri_naming_another_cluster_is_refused_before_the_snapshot(
    audited: RecoverWorld, capsys: pytest.CaptureFixture[str], uri: str
) -> None:
    audited.lose(_empty_orders)
    incident = restore(audited, capsys, *loss_args("collection", collection="orders"), "--quiet")
    assert _verify(audited, capsys, incident)[0] == 0
    runtime.RUNTIME = audited.runtime(env=dict(audited.env(), BACKSTOP_CUTOVER_MONGODB_URI=uri))
    code, out, err = run(capsys, *audited.args("recover", "cutover", *incident_args(incident), *EXECUTE))
    assert (code, out) == (2, "")
    assert err.startswith("backstop: BACKSTOP_CUTOVER_MONGODB_URI names ")
    assert "not a host of the source cluster cartie-prod (Atlas lists " in err
    assert err.endswith("; nothing was written\n") and err.count("\n") == 1
    assert _writes(audited) == []
    assert "cutover-started" not in steps(audited, incident)


def test_a_dropped_tenant_database_gets_its_indexes_back(
    audited: RecoverWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    audited.lose(_drop_tenant)
    incident = restore(audited, capsys, *loss_args("tenant"), "--quiet")
    copy = audited.recovery_client(f"recover-{incident}")["tenant_acme"]
    # What Atlas restores along with the documents (the fake's restore copies documents only).
    copy["orders"].create_index([("n", 1)], unique=True, name="n_unique")
    copy["reviews"].create_index([("at", -1), ("n", 1)], name="recent")
    assert _verify(audited, capsys, incident)[0] == 0
    code, out, _ = run(capsys, *audited.args("recover", "cutover", *incident_args(incident)))
    assert code == 0
    assert (
        "Indexes production lacks, to create:\n- `orders` index `n_unique` {'n': 1} {'unique': True}\n" in out
    )
    production = audited.source["tenant_acme"]
    assert "n_unique" not in production["orders"].index_information()
    code, out, err = run(capsys, *audited.args("recover", "cutover", *incident_args(incident), *EXECUTE))
    assert code == 0, out + err
    assert production["orders"].index_information()["n_unique"]["unique"] is True
    assert production["reviews"].index_information()["recent"]["key"] == [("at", -1), ("n", 1)]
    logged = audited.evidence[RECOVERY_LOG].find({"incidentId": incident, "step": "cutover-index"})
    assert sorted((e["collection"], e["index"]) for e in logged) == [
        ("orders", "n_unique"),
        ("reviews", "recent"),
    ]
    # Once there, a rerun creates nothing.
    code, out, _ = run(capsys, *audited.args("recover", "cutover", *incident_args(incident), *EXECUTE))
    assert code == 0 and "Indexes production lacks" not in out
