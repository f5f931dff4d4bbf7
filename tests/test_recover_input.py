"""`backstop recover` input and wording (issue 26): times with a zone and not in the future, the seed's
objectives per loss type, a never-cut-over incident recorded as such, control characters escaped."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from backstop.ground.documents import utc_iso
from backstop.operations.recover.store import INCIDENT_REGISTRY
from backstop.operations.recover.text import shown, terminal_safe
from tests.fakes.recover_world import RecoverWorld
from tests.recover_support import audited_world  # noqa: F401 (the `audited` fixture)
from tests.test_recover import LOSS, _delete_one_order, _drop_tenant, incident_args, loss_args, restore, run


def _naive(value: str) -> str:
    return value.replace(".000Z", "")


def test_a_loss_time_without_a_time_zone_is_refused(
    audited: RecoverWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    at = _naive(utc_iso(LOSS))
    args = ["--stack", "prod", "--loss", "tenant", "--database", "tenant_acme", "--at", at]
    assert run(capsys, *audited.args("recover", "plan", *args)) == (
        2,
        "",
        f"backstop: --at {at}: no time zone: add Z for UTC or an offset (like {at}Z or {at}+02:00)\n",
    )
    # With an offset it is the same instant as in UTC.
    local = (LOSS + timedelta(hours=2)).replace(tzinfo=None).isoformat() + "+02:00"
    args[-1] = local
    out = run(capsys, *audited.args("recover", "plan", *args, "--format", "json"))[1]
    assert json.loads(out)["next"].endswith(f"--at {utc_iso(LOSS)}")


def test_future_detection_and_notice_times_are_refused(
    audited: RecoverWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    now = audited.clock.now()
    future = utc_iso(now + timedelta(hours=1))
    code, out, err = run(
        capsys, *audited.args("recover", "plan", *loss_args("tenant"), "--detected-at", future)
    )
    assert (code, out, err) == (
        2,
        "",
        f"backstop: --detected-at {future}: in the future (now {utc_iso(now)})\n",
    )
    audited.lose(_drop_tenant)
    incident = restore(audited, capsys, *loss_args("tenant"), "--quiet")
    now = audited.clock.now()
    future = utc_iso(now + timedelta(minutes=5))
    code, out, err = run(
        capsys,
        *audited.args("recover", "record", *incident_args(incident), "--tenants-notified-at", future),
    )
    assert (code, out) == (2, "")
    assert err == f"backstop: --tenants-notified-at {future}: in the future (now {utc_iso(now)})\n"
    assert audited.evidence[INCIDENT_REGISTRY].count_documents({}) == 0


def test_a_record_loss_within_the_point_in_time_window_meets_its_zero_rpo(
    audited: RecoverWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    out = run(capsys, *audited.args("recover", "plan", *loss_args("record"), "--format", "json"))[1]
    point = json.loads(out)["restorePoint"]
    assert (point["dataLostSeconds"], point["rpoSeconds"], point["rpoMet"]) == (1.0, 0.0, True)
    audited.lose(_delete_one_order)
    incident = restore(audited, capsys, *loss_args("record", collection="orders"), "--quiet")
    run(capsys, *audited.args("recover", "record", *incident_args(incident)))
    [record] = list(audited.evidence[INCIDENT_REGISTRY].find({}, {"_id": 0}))
    assert record["rpo"] == {"achievedSeconds": 1.0, "targetSeconds": 0.0, "met": True}
    assert not [m for m in record["missed"] if m.startswith("RPO")]


def test_an_incident_never_cut_over_is_recorded_as_such_and_exits_1(
    audited: RecoverWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    audited.lose(_drop_tenant)
    incident = restore(audited, capsys, *loss_args("tenant"), "--quiet")
    code, out, _ = run(
        capsys,
        *audited.args(
            "recover",
            "record",
            *incident_args(incident),
            "--tenants-notified-at",
            utc_iso(LOSS + timedelta(minutes=10)),
        ),
    )
    assert code == 1
    [record] = list(audited.evidence[INCIDENT_REGISTRY].find({}, {"_id": 0}))
    assert record["outcome"] == "not cut over"
    assert record["missed"] == [
        "not recovered: no cutover was executed (the recovery cluster was never written back or swapped in); "
        "record again once it is"
    ]
    assert "| outcome | not cut over |" in out


def test_control_characters_in_names_are_escaped_on_output(
    audited: RecoverWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    evil = "tenant_\x1b[2J\rx"
    code, out, err = run(
        capsys,
        *audited.args(
            "recover",
            "plan",
            "--stack",
            "prod",
            "--loss",
            "tenant",
            "--database",
            evil,
            "--at",
            utc_iso(LOSS),
        ),
    )
    assert (code, out) == (2, "")
    assert err.startswith("backstop: --database tenant_\\x1b[2J\\x0dx: not in snapshot ")
    assert "\x1b" not in err and "\r" not in err
    # A collection name read from the recovered database.
    audited.source["tenant_acme"]["bad\x1b]0;owned\x07\nname"].insert_one({"_id": 1})
    audited.lose(_drop_tenant)
    incident = restore(audited, capsys, *loss_args("tenant"), "--quiet")
    code, out, _ = run(capsys, *audited.args("recover", "verify", *incident_args(incident)))
    assert "| `bad\\x1b]0;owned\\x07\\x0aname` | 1 |" in out
    assert "\x1b" not in out and "\x07" not in out


def test_terminal_safe_keeps_layout_and_escapes_the_rest() -> None:
    assert terminal_safe("a\tb\nc\x1b[0m\x9b") == "a\tb\nc\\x1b[0m\\x9b"
    assert shown("a\nb\x7f") == "a\\x0ab\\x7f"
