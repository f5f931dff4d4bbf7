"""Writes the sample evidence bundle kept in the docs (docs/evidence/), from the fakes:

    .venv/bin/python -m tests.evidence_sample docs/evidence

Two quarters of 2026 lived through with the real commands (weekly `backstop audit`, a restore drill and a
rollback drill each quarter, one collection loss recovered with `backstop recover` and recorded in time),
a `backstop status --format json` of prod against the Atlas fake near the quarter's end, then
`backstop evidence bundle --period 2026Q2 --status status.json` and two screenshots of its page in
headless Chromium.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from backstop.cli import main
from backstop.ground.documents import utc_iso
from backstop.report.bundle.period import parse_period
from backstop.restore import runtime
from tests import browser
from tests.evidence_support import (
    AFTER_Q2,
    live_quarter,
    quiet,
    rollback_drill,
    status_file,
    use_cached_program,
)
from tests.fakes.recover_world import RecoverWorld

NAME = "evidence-prod-2026Q2"


def write_sample(target: Path) -> Path:
    work = Path(tempfile.mkdtemp(prefix="backstop-sample-"))
    try:
        with pytest.MonkeyPatch.context() as monkeypatch, RecoverWorld(work) as world:
            world.atlas.restore_duration = timedelta(minutes=20)
            monkeypatch.setattr(runtime, "RUNTIME", world.runtime())
            use_cached_program(monkeypatch)
            rollback_drill(world, datetime(2026, 3, 10, 9, 0, tzinfo=UTC), monkeypatch)
            live_quarter(world, parse_period("2026Q1"))
            rollback_drill(world, datetime(2026, 6, 2, 9, 0, tzinfo=UTC), monkeypatch)
            live_quarter(world, parse_period("2026Q2"))
            # A logic bug empties tenant_acme.orders half an hour after the last Sunday's audit.
            world.clock.advance(hours=1)
            loss = world.clock.now() - timedelta(minutes=30)
            world.lose(lambda client: client["tenant_acme"]["orders"].delete_many({}))
            loss_args = ["--loss", "collection", "--database", "tenant_acme", "--collection", "orders"]
            assert (
                quiet(*world.args("recover", "restore", "--stack", "prod", *loss_args, "--at", utc_iso(loss)))
                == 0
            )
            [incident] = world.evidence["recovery_log"].distinct("incidentId")
            at = ["--stack", "prod", "--incident", incident]
            assert quiet(*world.args("recover", "verify", *at)) == 0
            assert quiet(*world.args("recover", "cutover", *at, "--execute", "--confirm", "tenant_acme")) == 0
            world.clock.advance(hours=2)
            notified = utc_iso(loss + timedelta(minutes=40))
            ids = ["--stack", "prod", "--incident", incident, "--tenants-notified-at", notified]
            assert quiet(*world.args("recover", "record", *ids)) == 0
            # `backstop status` of prod two days before the quarter's end, beside each objective.
            status = status_file(work / "status", datetime(2026, 6, 29, 12, 0, tzinfo=UTC), monkeypatch)
            world.clock.current = AFTER_Q2
            out = work / NAME
            bundle = ["evidence", "bundle", "--period", "2026Q2", "--out", str(out), "--status", str(status)]
            assert main(world.args(*bundle)) == 0
        if target.exists():
            shutil.rmtree(target)
        target.mkdir(parents=True)
        shutil.copytree(out, target / NAME)
        shutil.copy(work / f"{NAME}.zip", target / f"{NAME}.zip")
        page = target / NAME / "index.html"
        (target / "first-screen.png").write_bytes(browser.look(page, "1").screenshot)
        (target / "full-page.png").write_bytes(browser.look(page, "1", full_page=True).screenshot)
        return target
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    print(write_sample(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/evidence")))
