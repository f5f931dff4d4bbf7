"""Evidence worlds for `backstop evidence`: the drill world's fakes (fake Atlas, mongomock, the drill
program under the SDK mocks) driven through a quarter, with the real `backstop audit` every Sunday and the
real `backstop drill` once, so every bundle is built from records the commands themselves wrote."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
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


def rollback_drill(world: DrillWorld, at: datetime, monkeypatch: Any) -> int:
    """The real `backstop drill rollback` of the staging app against the fake ARM, recording into the
    world's evidence store at `at` (tests/test_rollback_drill.py drives the same fake)."""
    import requests
    from azure.core.credentials import AccessToken, AccessTokenInfo
    from azure.mgmt.web import WebSiteManagementClient

    from backstop.operations.rollback import drill as rollback
    from tests.fakes.arm_server import FakeArm, FakeWebApp
    from tests.fakes.drill_world import EVIDENCE_URI

    subscription = "00000000-0000-0000-0000-0000000000aa"
    app = FakeWebApp(
        subscription,
        "rg-wiser-staging-app",
        "wiser-staging-app",
        # Deployed by digest, as the release pipeline does: two digests are compared without the registry.
        "DOCKER|wiserstagingacr.azurecr.io/wiserreview/app@sha256:" + "41" * 32,
        "DOCKER|wiserstagingacr.azurecr.io/wiserreview/app@sha256:" + "42" * 32,
    )

    class Credential:
        def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
            return AccessToken("drill-token", 4102444800)

        def get_token_info(self, *scopes: str, options: Any = None) -> AccessTokenInfo:
            return AccessTokenInfo("drill-token", 4102444800)

    world.clock.current = at
    with FakeArm(app) as fake:

        def probe(url: str) -> int:
            world.clock.sleep(20)
            return requests.get(fake.app_url(url), verify=str(fake.cert), timeout=10).status_code

        monkeypatch.setattr(
            rollback,
            "RUNTIME",
            rollback.RollbackRuntime(
                client=lambda sub: WebSiteManagementClient(
                    Credential(),
                    sub,
                    base_url=fake.base_url,
                    connection_verify=str(fake.cert),
                    polling_interval=0,
                ),
                probe=probe,
                connect=lambda uri: world.mongo.client(EVIDENCE_URI),
                clock=world.clock.now,
                sleep=world.clock.sleep,
                env={"AZURE_SUBSCRIPTION_ID": subscription, "BACKSTOP_EVIDENCE_MONGODB_URI": EVIDENCE_URI},
            ),
        )
        return quiet("drill", "rollback", "--stack", "staging", "--project-dir", str(ROOT), "--quiet")


def status_file(directory: Path, at: datetime, monkeypatch: Any, *, pit: bool = True) -> Path:
    """The real `backstop status --format json` of prod at `at`, against the spec-validated Atlas fake as
    tests/test_status_atlas.py drives it: snapshots every 6 h (the newest 2 h old), each copied to
    us-west-2, point-in-time recovery on unless `pit` is False; written to `directory`/status.json."""
    from tests.fakes.atlas_server import FakeAtlas
    from tests.status_support import CLUSTER, GROUP, atlas_cluster, evidence_store, run_status, write_export

    directory.mkdir(parents=True, exist_ok=True)
    with FakeAtlas(clock=lambda: at) as fake:
        fake.add_project(CLUSTER, project_id=GROUP)
        fake.add_cluster(GROUP, CLUSTER, pit_enabled=pit)
        fake.set_schedule(GROUP, CLUSTER, restore_window_days=7, copy_regions=("US_WEST_2",))
        for hours in range(2, 8 * 24, 6):
            fake.add_snapshot(GROUP, CLUSTER, at - timedelta(hours=hours), expires_at=at + timedelta(days=3))
        export = write_export(directory, [atlas_cluster()])
        outcome = run_status(monkeypatch, export, fake.env(), now=at, evidence=evidence_store(now=at))
    assert outcome.code in (0, 1), outcome.stderr
    path = directory / "status.json"
    path.write_text(outcome.stdout, encoding="utf-8")
    return path
