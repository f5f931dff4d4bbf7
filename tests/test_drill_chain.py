"""`backup_drill_results` as a hash chain (issue 26): `drill verify`, concurrent appends, legacy entries."""

from __future__ import annotations

from typing import Any

import pytest

from backstop.report.evidence import DRILL_RESULTS_COLLECTION, append_drill_result, read_drill_results
from backstop.restore import runtime
from tests.fakes.drill_world import NOW, DrillWorld
from tests.json_documents import assert_valid
from tests.test_drill import run


def _drill(number: int) -> dict[str, Any]:
    return {
        "drillId": f"q{number}",
        "mechanism": "oplog_replay",
        "timeToRestoreSeconds": 1000 + number,
        "finishedAt": f"2026-0{number}-10T00:00:00Z",
    }


@pytest.fixture
def chained(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    with DrillWorld(tmp_path) as world:
        monkeypatch.setattr(runtime, "RUNTIME", world.runtime())
        for number in (1, 2, 3):
            append_drill_result(world.evidence, _drill(number), now=NOW)
        yield world


def test_drill_verify_passes_an_intact_chain_and_refuses_a_wrong_head(
    chained: DrillWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    head = chained.evidence[DRILL_RESULTS_COLLECTION].find_one({"sequence": 3})["recordHash"]
    code, out, _ = run(capsys, *chained.args("drill", "verify", "--stack", "prod", "--head", head))
    assert (code, out) == (
        0,
        f"PASSED: {DRILL_RESULTS_COLLECTION} chain intact, 3 record(s), head #3 {head}\n",
    )
    code, out, err = run(capsys, *chained.args("drill", "verify", "--stack", "prod", "--head", "f" * 64))
    assert (code, out) == (1, f"FAILED: {DRILL_RESULTS_COLLECTION} chain broken at record #4\n")
    assert err.startswith(
        f"backstop: TAMPERED: {DRILL_RESULTS_COLLECTION} record #4: the published head ffff"
    )


@pytest.mark.parametrize(
    ("tamper", "problem"),
    [
        (
            lambda c: c.update_one({"sequence": 2}, {"$set": {"timeToRestoreSeconds": 3}}),
            "record #2 (q2): its content does not match its recordHash (changed after writing)",
        ),
        (lambda c: c.delete_one({"sequence": 2}), "record #2: missing (the next stored record is #3)"),
    ],
)
def test_an_edited_or_removed_middle_entry_breaks_drill_verify_naming_it(
    chained: DrillWorld, capsys: pytest.CaptureFixture[str], tamper: Any, problem: str
) -> None:
    tamper(chained.evidence[DRILL_RESULTS_COLLECTION])
    code, out, err = run(capsys, *chained.args("drill", "verify", "--stack", "prod"))
    assert (code, out) == (1, f"FAILED: {DRILL_RESULTS_COLLECTION} chain broken at record #2\n")
    assert err == f"backstop: TAMPERED: {DRILL_RESULTS_COLLECTION} {problem}\n"
    assert read_drill_results(chained.evidence, NOW).trusted == []


class _Racing:
    """A collection whose first insert lets another drill append first (both read the same head)."""

    def __init__(self, database: Any, inner: Any) -> None:
        self.database, self.inner, self.raced = database, inner, False

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def insert_one(self, document: dict[str, Any]) -> Any:
        if not self.raced:
            self.raced = True
            append_drill_result(self.database, _drill(5), now=NOW)
        return self.inner.insert_one(document)


class _Database:
    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.collection = _Racing(inner, inner[DRILL_RESULTS_COLLECTION])

    def __getitem__(self, name: str) -> Any:
        return self.collection if name == DRILL_RESULTS_COLLECTION else self.inner[name]


def test_two_concurrent_appends_do_not_fork_the_chain(chained: DrillWorld) -> None:
    appended = append_drill_result(_Database(chained.evidence), _drill(4), now=NOW)
    assert appended["sequence"] == 5  # its first try (#4) lost to the other drill, it retried on #4
    stored = read_drill_results(chained.evidence, NOW)
    assert stored.status.broken is None
    assert [(e["sequence"], e["drillId"]) for e in stored.trusted] == [
        (1, "q1"),
        (2, "q2"),
        (3, "q3"),
        (4, "q5"),
        (5, "q4"),
    ]


def test_accept_legacy_chains_unchained_entries_without_deleting_them(
    chained: DrillWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    chained.evidence[DRILL_RESULTS_COLLECTION].insert_one(
        _drill(1) | {"drillId": "legacy", "finishedAt": "2025-12-10T00:00:00Z"}
    )
    assert [e["drillId"] for e in read_drill_results(chained.evidence, NOW).unchained] == ["legacy"]
    code, out, err = run(capsys, *chained.args("drill", "verify", "--stack", "prod", "--accept-legacy"))
    assert code == 0, out + err
    assert out.startswith("adopted legacy: legacy entry chained as record #4\n")
    stored = read_drill_results(chained.evidence, NOW)
    assert (stored.unchained, stored.trusted[-1]["drillId"]) == ([], "legacy")


def test_drill_verify_json_is_the_chain_verdict_with_what_was_adopted(
    chained: DrillWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    chained.evidence[DRILL_RESULTS_COLLECTION].insert_one(
        _drill(1) | {"drillId": "legacy", "finishedAt": "2025-12-10T00:00:00Z"}
    )
    args = chained.args("drill", "verify", "--stack", "prod", "--accept-legacy", "--format", "json")
    code, out, err = run(capsys, *args)
    assert code == 0, err
    document = assert_valid(out, "drill verify")
    head = chained.evidence[DRILL_RESULTS_COLLECTION].find_one({"sequence": 4})["recordHash"]
    assert (code, document["intact"], document["records"], document["headHash"]) == (0, True, 4, head)
    assert document["adopted"] == [{"drillId": "legacy", "sequence": 4}]
    chained.evidence[DRILL_RESULTS_COLLECTION].delete_one({"sequence": 2})
    code, out, _ = run(capsys, *chained.args("drill", "verify", "--stack", "prod", "--format", "json"))
    document = assert_valid(out, "drill verify")
    assert (code, document["intact"], document["broken"]["sequence"]) == (1, False, 2)


def test_sweep_force_destroys_a_killed_drill_s_stack_before_its_expiry_and_refuses_anything_else(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from datetime import timedelta

    from backstop.restore.stacks import DrillStackInfo

    killed = "drill-20260518-060000-1a2b3c"
    with DrillWorld(tmp_path) as world:
        world.stacks.stacks[killed] = DrillStackInfo(killed, NOW + timedelta(hours=5))
        monkeypatch.setattr(runtime, "RUNTIME", world.runtime())
        for name, why in (
            ("prod", "not a drill stack name (drill-YYYYMMDD-HHMMSS-<id>)"),
            (
                "drill-20260518-060000-ffffff",
                "not a drill stack of this project (see `drill sweep --dry-run`)",
            ),
        ):
            code, out, err = run(capsys, *world.args("drill", "sweep", "--stack", "prod", "--force", name))
            assert (code, out) == (2, "")
            assert (
                err
                == f"backstop: refused {name}: {why}\nbackstop: refused 1 stack name(s); nothing destroyed\n"
            )
        assert killed in world.stacks.stacks
        code, out, _ = run(capsys, *world.args("drill", "sweep", "--stack", "prod"))
        assert (
            f"keep   {killed}" in out and killed in world.stacks.stacks
        )  # not expired: plain sweep keeps it
        dry = world.args(
            "drill", "sweep", "--stack", "prod", "--force", killed, "--dry-run", "--format", "json"
        )
        code, out, _ = run(capsys, *dry)
        document = assert_valid(out, "drill sweep")
        assert (code, document["dryRun"], document["stacks"]) == (
            0,
            True,
            [{"stack": killed, "action": "would-force", "expiresAt": (NOW + timedelta(hours=5)).isoformat()}],
        )
        assert killed in world.stacks.stacks
        code, out, _ = run(capsys, *world.args("drill", "sweep", "--stack", "prod", "--force", killed))
        assert (code, out) == (
            0,
            f"destroyed {killed}: forced before its expiry\nPASSED: destroyed 1 drill stack(s) by --force\n",
        )
        assert ("destroy", killed) in world.stacks.calls
