"""Evidence that cannot be quietly rewritten (issue 26): `recover verify-registry` with `--head`, no drill
measurement from the future, and a tampered audit log that warns instead of blocking incident response."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from backstop.ground.documents import utc_iso
from backstop.operations.recover.store import INCIDENT_REGISTRY, RECOVERY_LOG
from backstop.report.evidence import AUDIT_COLLECTION, DRILL_RESULTS_COLLECTION
from backstop.restore import runtime
from tests.fakes.recover_world import RecoverWorld
from tests.json_documents import assert_valid
from tests.test_recover import LOSS, _drop_tenant, _empty_orders, incident_args, loss_args, restore, run


@pytest.fixture()
def audited(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Iterator[RecoverWorld]:
    with RecoverWorld(tmp_path) as world:
        monkeypatch.setattr(runtime, "RUNTIME", world.runtime())
        assert run(capsys, *world.args("audit", "--stack", "prod"))[0] == 0
        world.clock.advance(hours=2)
        yield world


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


def test_a_drill_result_from_the_future_is_not_a_measurement(
    audited: RecoverWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    audited.evidence[DRILL_RESULTS_COLLECTION].insert_many(
        [
            {
                "drillId": "q1",
                "mechanism": "oplog_replay",
                "timeToRestoreSeconds": 2400,
                "finishedAt": "2026-05-10",
            },
            {
                "drillId": "forged",
                "mechanism": "oplog_replay",
                "timeToRestoreSeconds": 3,
                "finishedAt": "2099-01-01T00:00:00Z",
            },
        ]
    )
    out = run(
        capsys,
        *audited.args("recover", "plan", *loss_args("collection", collection="orders"), "--format", "json"),
    )[1]
    plan = json.loads(out)
    assert plan["expectedTimeToRestore"]["seconds"] == 2400.0
    assert plan["expectedTimeToRestore"]["basis"] == "measured by the last drill (q1, finished 2026-05-10)"
    assert "drill result forged finished 2099-01-01T00:00:00Z is not used: in the future" in plan["notes"]


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
    assert code == 0, out + err
    assert err.startswith(f"backstop: WARNING: {AUDIT_COLLECTION} record #1")
    assert "against production now and no manifest (none attested)" in out
    verified = audited.evidence[RECOVERY_LOG].find_one({"incidentId": incident, "step": "verified"})
    assert verified["auditChain"]["ignored"] is True
    assert verified["auditChain"]["broken"].startswith(f"{AUDIT_COLLECTION} record #1")
    assert verified["manifest"] is None
