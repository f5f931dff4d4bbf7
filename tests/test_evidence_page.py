"""The bundle's `index.html` as a person sees it, in headless Chromium over the DevTools protocol
(tests/browser.py): no console error, no request beyond the page itself, every chart drawn with each drill
as a data point against its target, and the verdict on the first screen (1280 x 900), passed or failed."""

from __future__ import annotations

import json
import struct
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from backstop.report.bundle.period import parse_period
from backstop.report.evidence import AUDIT_COLLECTION
from backstop.restore import runtime
from tests import browser
from tests.evidence_support import AFTER_Q2, live_quarter, rollback_drill, use_cached_program
from tests.fakes.drill_world import DrillWorld

pytestmark = pytest.mark.skipif(
    browser.chromium() is None and not browser.required(),
    reason="chromium is not installed (CI installs it: .ci/run)",
)

CHARTS = ("chart-restore-rto", "chart-restore-rpo", "chart-rollback-rto")
MEASURE = """JSON.stringify({
  charts: Object.fromEntries(CHARTS.map(id => [id, {
    svg: !!document.querySelector('svg#' + id),
    points: document.querySelectorAll('#' + id + '-points use').length,
    missed: document.querySelectorAll('#' + id + '-missed use').length,
    targets: document.querySelectorAll('#' + id + '-target path').length,
  }])),
  verdict: (() => { const v = document.getElementById('verdict').getBoundingClientRect();
    return {text: document.getElementById('verdict').innerText, top: v.top, bottom: v.bottom}; })(),
  rendered: document.body.dataset.rendered || null,
  errors: document.body.dataset.errors || null,
  attested: document.querySelectorAll('#attestation-grid td.attested').length,
})""".replace("CHARTS", json.dumps(list(CHARTS)))


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


@pytest.fixture()
def two_quarters(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Q1 and Q2 of 2026 lived through: weekly audits, a restore drill and a rollback drill each quarter."""
    with DrillWorld(tmp_path) as world:
        world.atlas.restore_duration = timedelta(minutes=20)
        monkeypatch.setattr(runtime, "RUNTIME", world.runtime())
        use_cached_program(monkeypatch)
        assert rollback_drill(world, datetime(2026, 3, 10, 9, 0, tzinfo=UTC), monkeypatch) == 0
        live_quarter(world, parse_period("2026Q1"))
        assert rollback_drill(world, datetime(2026, 6, 2, 9, 0, tzinfo=UTC), monkeypatch) == 0
        live_quarter(world, parse_period("2026Q2"))
        world.clock.current = AFTER_Q2
        yield world


def _bundle(world: DrillWorld, out: Path) -> int:
    from backstop.cli import main

    return main(world.args("evidence", "bundle", "--stack", "prod", "--period", "2026Q2", "--out", str(out)))


def _look(out: Path, tmp_path: Path) -> tuple[browser.PageView, dict[str, Any]]:
    view = browser.look(out / "index.html", MEASURE)
    (tmp_path / "first-screen.png").write_bytes(view.screenshot)  # to look at when this fails
    return view, json.loads(view.measured)


def test_the_page_renders_every_chart_with_its_drills_and_the_verdict_first(
    two_quarters: DrillWorld, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "q2"
    assert _bundle(two_quarters, out) == 0, capsys.readouterr().out
    view, measured = _look(out, tmp_path)
    assert view.console_errors == []
    assert view.requests == [(out / "index.html").resolve().as_uri()]  # nothing fetched at view time
    assert (measured["rendered"], measured["errors"]) == ("yes", None)
    # Two restore drills (Q1, Q2) and two rollback drills, each a point with its target bar.
    assert measured["charts"] == {
        chart: {"svg": True, "points": 2, "missed": 0, "targets": 2} for chart in CHARTS
    }
    assert measured["attested"] == 39
    verdict = measured["verdict"]
    assert verdict["text"].startswith("PASSED")
    assert 0 <= verdict["top"] < verdict["bottom"] <= browser.HEIGHT
    assert _png_size(view.screenshot) == (browser.WIDTH, browser.HEIGHT)
    assert '<svg id="chart-restore-rto" role="img"' in view.dom


def test_a_broken_chain_is_said_on_the_first_screen(
    two_quarters: DrillWorld, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    two_quarters.evidence[AUDIT_COLLECTION].update_one({"sequence": 5}, {"$set": {"tenantDatabase": "x"}})
    out = tmp_path / "q2"
    assert _bundle(two_quarters, out) == 1
    view, measured = _look(out, tmp_path)
    assert view.console_errors == []
    verdict = measured["verdict"]
    assert verdict["text"].startswith("FAILED")
    assert (
        "evidence tampered: backup_audit_log record #5 (x): its content does not match its recordHash"
        in (verdict["text"])
    )
    assert verdict["bottom"] <= browser.HEIGHT
