"""Evidence worlds for `backstop evidence`: the drill world's fakes (fake Atlas, mongomock, the drill
program under the SDK mocks) driven through a quarter, with the real `backstop audit` every Sunday and the
real `backstop drill` once, so every bundle is built from records the commands themselves wrote."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from backstop.cli import main
from backstop.operations.evidence import commands as evidence_commands
from backstop.program.mocks import run_stack
from backstop.report.bundle.period import Period, weeks
from tests.conftest import ROOT
from tests.fakes.drill_world import DrillWorld
from tests.fakes.mongo import copy_databases


@functools.cache
def prod_resources() -> tuple[Any, ...]:
    """The prod program's resources, run once per process (the bundle's policy and objectives input)."""
    return tuple(run_stack(ROOT, "prod", assume_deploy_secrets=True).resources)


def use_cached_program(monkeypatch: Any) -> None:
    monkeypatch.setattr(evidence_commands, "program_resources", lambda project, stack: prod_resources())


def quiet(*argv: str) -> int:
    """Run one backstop command, its output discarded (the evidence it writes is what matters)."""
    import contextlib
    import io

    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        return main(list(argv))


def live_quarter(
    world: DrillWorld,
    period: Period,
    *,
    skip_weeks: Iterable[str] = (),
    absent: tuple[str, str] | None = None,
    drill_on: datetime | None = None,
) -> int | None:
    """Every Sunday of `period` at 03:00 UTC a snapshot an hour old and `backstop audit`; the restore
    drill the Monday after the sixth Sunday (`drill_on` to move it, a date outside the period to skip it).
    `skip_weeks`: ISO weeks with no audit run at all; `absent` (tenant, week): that week the source cluster
    does not hold the tenant's database, so the run attests the others only. Returns the drill's exit code."""
    skipped = set(skip_weeks)
    sundays = [w.end - timedelta(days=1) + timedelta(hours=3) for w in weeks(period)]
    drill_at = drill_on or sundays[5] + timedelta(days=1)
    drill_code = None
    for week, sunday in zip(weeks(period), sundays, strict=True):
        if drill_code is None and drill_at < sunday and period.holds(drill_at):
            drill_code = _drill(world, drill_at)
        if week.label in skipped:
            continue
        world.clock.current = sunday - timedelta(hours=1)
        world.add_snapshot(world.clock.current)
        world.clock.current = sunday
        if absent is not None and absent[1] == week.label:
            world.source_override = _without(world, absent[0])
        assert quiet(*world.args("audit", "--stack", "prod")) == 0
        world.source_override = None
    if drill_code is None and period.holds(drill_at):
        drill_code = _drill(world, drill_at)
    return drill_code


def _drill(world: DrillWorld, at: datetime) -> int:
    world.clock.current = at
    return quiet(*world.args("drill", "--stack", "prod", "--quiet", "--seed", "7"))


def _without(world: DrillWorld, tenant: str) -> Any:
    """The source cluster as it would be with `tenant`'s database gone."""
    import mongomock

    client = mongomock.MongoClient()
    names = [name for name in world.source.list_database_names() if name != tenant]
    copy_databases(world.source, client, names)
    return client


AFTER_Q2 = datetime(2026, 7, 1, 9, 0, tzinfo=UTC)
