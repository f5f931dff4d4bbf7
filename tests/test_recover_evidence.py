"""Evidence that cannot be quietly rewritten (issue 26): `recover verify-registry` with `--head`, no drill
measurement from the future, and a tampered audit log that warns instead of blocking incident response."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from backstop.ground.documents import utc_iso
from backstop.operations.recover.store import INCIDENT_REGISTRY, RECOVERY_LOG
from backstop.report.evidence import (
    AUDIT_COLLECTION,
    DRILL_RESULTS_COLLECTION,
    EvidenceError,
    append_drill_result,
    append_record,
    verify_records,
)
from tests.fakes.drill_world import NOW
from tests.fakes.recover_world import RecoverWorld
from tests.json_documents import assert_valid
from tests.recover_support import audited_world  # noqa: F401 (the `audited` fixture)
from tests.test_recover import LOSS, _drop_tenant, _empty_orders, incident_args, loss_args, restore, run


def test_verify_registry_checks_the_chain_and_a_published_head(
    audited: RecoverWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    audited.lose(_empty_orders)
    incident = restore(audited, capsys, *loss_args("collection", collection="orders"), "--quiet")
    notified = ("--tenants-notified-at", utc_iso(LOSS + timedelta(minutes=30)))
    run(capsys, *audited.args("recover", "record", *incident_args(incident), *notified))
    first = audited.evidence[INCIDENT_REGISTRY].find_one({"sequence": 1})["recordHash"]
    run(capsys, *audited.args("recover", "record", *incident_args(incident)))
    head = audited.evidence[INCIDENT_REGISTRY].find_one({"sequence": 2})["recordHash"]
    args = audited.args("recover", "verify-registry", "--stack", "prod")
    assert run(capsys, *args, "--head", head) == (
        0,
        f"PASSED: {INCIDENT_REGISTRY} chain intact, 2 record(s), head #2 {head}\n",
        "",
    )
    # The last record removed: the chain alone is intact, the published head is not in it.
    audited.evidence[INCIDENT_REGISTRY].delete_one({"sequence": 2})
    assert run(capsys, *args)[0] == 0
    code, out, err = run(capsys, *args, "--head", head)
    assert (code, out) == (1, f"FAILED: {INCIDENT_REGISTRY} chain broken at record #2\n")
    code, out, _ = run(capsys, *args, "--head", head, "--format", "json")
    document = assert_valid(out, "recover verify-registry")
    assert (code, document["intact"], document["records"]) == (1, False, 1)
    assert document["broken"]["sequence"] == 2
    assert err.startswith(
        f"backstop: TAMPERED: {INCIDENT_REGISTRY} record #2: the published head {head[:12]}"
    )
    audited.evidence[INCIDENT_REGISTRY].update_one({"sequence": 1}, {"$set": {"missed": []}})
    code, out, _ = run(capsys, *args, "--head", first)
    assert (code, out) == (1, f"FAILED: {INCIDENT_REGISTRY} chain broken at record #1\n")


FORGED = {
    "drillId": "forged",
    "mechanism": "oplog_replay",
    "timeToRestoreSeconds": 3,
    "finishedAt": "2099-01-01T00:00:00Z",
}


def _plan(audited: RecoverWorld, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    out = run(
        capsys,
        *audited.args("recover", "plan", *loss_args("collection", collection="orders"), "--format", "json"),
    )[1]
    plan: dict[str, Any] = json.loads(out)
    return plan


def test_a_forged_drill_inserted_by_hand_is_not_the_last_drill(
    audited: RecoverWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 26: a 3-second drill dated 2099 inserted by hand was "measured by the last drill"."""
    q1 = {
        "drillId": "q1",
        "mechanism": "oplog_replay",
        "timeToRestoreSeconds": 2400,
        "finishedAt": "2026-05-10",
    }
    append_drill_result(audited.evidence, q1, now=NOW)
    audited.evidence[DRILL_RESULTS_COLLECTION].insert_one(dict(FORGED))
    plan = _plan(audited, capsys)
    assert plan["expectedTimeToRestore"]["seconds"] == 2400.0
    assert plan["expectedTimeToRestore"]["basis"] == "measured by the last drill (q1, finished 2026-05-10)"
    assert (
        f"{DRILL_RESULTS_COLLECTION}: 1 unchained (legacy) entry not used (forged): "
        "`backstop drill verify --accept-legacy` adds them to the chain"
    ) in plan["notes"]


def test_a_forged_drill_with_a_recomputed_chain_from_the_future_is_flagged_and_not_used(
    audited: RecoverWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    q1 = {
        "drillId": "q1",
        "mechanism": "oplog_replay",
        "timeToRestoreSeconds": 2400,
        "finishedAt": "2026-05-10",
    }
    append_drill_result(audited.evidence, q1, now=NOW)
    with pytest.raises(EvidenceError, match=r"drill forged finished 2099-01-01T00:00:00Z, after now"):
        append_drill_result(audited.evidence, FORGED, now=NOW)
    collection = audited.evidence[DRILL_RESULTS_COLLECTION]
    # Whoever can write to the store can recompute a link: the date still gives it away.
    append_record(collection, FORGED, previous=verify_records(list(collection.find().sort("sequence", 1))))
    plan = _plan(audited, capsys)
    assert plan["expectedTimeToRestore"]["basis"] == "measured by the last drill (q1, finished 2026-05-10)"
    assert (
        f"{DRILL_RESULTS_COLLECTION} record #2 (forged) finished 2099-01-01T00:00:00Z, in the future: "
        "not a measurement"
    ) in plan["notes"]


def test_a_drill_results_chain_broken_in_the_middle_is_not_used_and_names_its_first_broken_link(
    audited: RecoverWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    for number, seconds in ((1, 2400), (2, 1800), (3, 1500)):
        drill = {
            "drillId": f"q{number}",
            "mechanism": "oplog_replay",
            "timeToRestoreSeconds": seconds,
            "finishedAt": f"2026-0{number + 2}-10",
        }
        append_drill_result(audited.evidence, drill, now=NOW)
    audited.evidence[DRILL_RESULTS_COLLECTION].update_one(
        {"sequence": 2}, {"$set": {"timeToRestoreSeconds": 3}}
    )
    plan = _plan(audited, capsys)
    assert plan["expectedTimeToRestore"]["basis"].startswith("seed estimate")
    assert (
        f"{DRILL_RESULTS_COLLECTION} record #2 (q2): its content does not match its recordHash (changed "
        "after writing): no drill result is used until the chain is repaired (`backstop drill verify`)"
    ) in plan["notes"]


def test_a_tampered_audit_log_blocks_verify_unless_ignored_and_recorded(
    audited: RecoverWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    audited.lose(_drop_tenant)
    incident = restore(audited, capsys, *loss_args("tenant"), "--quiet")
    audited.evidence[AUDIT_COLLECTION].update_one({"sequence": 1}, {"$set": {"tenantDatabase": "x"}})
    code, out, err = run(capsys, *audited.args("recover", "verify", *incident_args(incident)))
    assert (code, out) == (2, "")
    assert err.endswith(
        "--ignore-audit-chain verifies against production only and records that in the incident)\n"
    )
    code, out, err = run(
        capsys, *audited.args("recover", "verify", *incident_args(incident), "--ignore-audit-chain")
    )
    # Nothing attested to verify against: usable, but not a pass; the one-line warning says what it takes.
    assert code == 1, out + err
    assert err.startswith(f"backstop: WARNING: {AUDIT_COLLECTION} record #1")
    assert err.endswith(
        "(--ignore-audit-chain, recorded in the incident): the verdict cannot pass without one, a cutover "
        "also needs --accept-mismatch REASON\n"
    )
    assert err.count("\n") == 1
    assert "against production now and no manifest (the audit chain is broken, ignored)" in out
    assert "Verdict: FAILED (nothing attested to verify the recovery copy against):" in out
    verified = audited.evidence[RECOVERY_LOG].find_one({"incidentId": incident, "step": "verified"})
    assert verified["auditChain"]["ignored"] is True
    assert verified["auditChain"]["broken"].startswith(f"{AUDIT_COLLECTION} record #1")
    assert verified["manifest"] is None
    assert verified["verdict"]["passed"] is False
    code, out, err = run(
        capsys,
        *audited.args(
            "recover",
            "verify",
            *incident_args(incident),
            "--ignore-audit-chain",
            "--accept-mismatch",
            "audit log under investigation; counts checked by hand",
        ),
    )
    assert code == 0, out + err
    assert "Verdict: MISMATCH ACCEPTED" in out
