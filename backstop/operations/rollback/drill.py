"""`backstop drill rollback`: the seed's planned application rollback test, on the staging app.

It swaps the `staging` slot into production (as a faulty deployment's fix would be swapped in), measures the
time until production's health check path answers healthy, and swaps back, through Azure Resource Manager
with azure-mgmt-web's own request classes (`WebSiteManagementClient.web_apps`, `CsmSlotEntity`). Whatever
happens (a failed health check, a swap that errs half way, an interrupt), it ends by making sure production
runs the image it ran before: it compares production's `linuxFxVersion` with the one it read first and
swaps again until they match. Prod stacks are refused, as the database drill refuses them. When both slots
run the same image the drill fails without swapping: that swap would exchange identical configuration,
production's image would compare equal, and a rollback that was never tested would pass. "The same image"
is the same manifest digest (`images.py`): a reference by digest (`@sha256:...`) is its digest, a tag on an
Azure Container Registry is resolved to the digest it names now (`clients/registry.py`); when a tag cannot be
resolved (another registry, a denied or unknown tag, no answer) the drill cannot tell whether the slots
differ and fails in one line rather than swap on a guess.

Seed basis (WiserReview, Backup Testing): "Periodic scheduled recovery drills: database point-in-time
recovery test and application rollback test" and "Recovery tests documented with results"; Recovery
Capabilities: "Faulty deployment — deployment slot swap — 5-15 minutes". The result goes to
`backup_drill_results` with `mechanism: slot_swap`, which `backstop report --drill-results` reads.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from backstop.clients.azure_web import http_status, swap_slot_with_production, web_site_client
from backstop.clients.registry import acr_digests
from backstop.ground.documents import utc_iso
from backstop.ground.envelope import json_document
from backstop.ground.errors import EXIT_OK, EXIT_VIOLATIONS, UsageError
from backstop.ground.files import PROJECT_DIR_HELP, project_dir, write_output
from backstop.ground.logs import progress
from backstop.operations.rollback.images import STAGING_SLOT, compare_images, one_line

logger = logging.getLogger(__name__)
MECHANISM = "slot_swap"
ENV_SUBSCRIPTION = "AZURE_SUBSCRIPTION_ID"
# How often production's image is compared and swapped back before the drill gives up and says so.
MAX_SWAP_BACK_ATTEMPTS = 3


class RollbackRefused(UsageError):
    """The drill will not run against this stack (prod, or no staging slot to swap)."""


@dataclass(frozen=True)
class RollbackPlan:
    drill_id: str
    stack: str
    subscription_id: str
    resource_group: str
    app: str
    health_check_path: str
    rto: timedelta
    health_timeout: timedelta
    poll_interval: timedelta


@dataclass
class RollbackOutcome:
    started_at: datetime
    finished_at: datetime | None = None
    production_image_before: str | None = None
    staged_image: str | None = None
    production_image_after: str | None = None
    host: str | None = None
    swapped: bool = False
    healthy: bool = False
    time_to_healthy: timedelta | None = None
    probes: list[int | str] = field(default_factory=list)
    swapped_back: bool = False
    swap_backs: int = 0
    errors: list[str] = field(default_factory=list)
    # Set when both slots run the same image: a swap would exchange identical configuration and prove
    # nothing, so the drill fails without swapping.
    nothing_to_roll_back: str | None = None
    # Set when the drill could not tell whether the slots run different images (a tag it could not
    # resolve to a digest); it fails without swapping.
    images_not_compared: str | None = None
    production_digest: str | None = None
    staged_digest: str | None = None

    @property
    def passed(self) -> bool:
        return self.healthy and self.swapped_back and not self.errors

    @property
    def not_run(self) -> str | None:
        """Why the drill did not swap at all, or None."""
        return self.nothing_to_roll_back or self.images_not_compared


@dataclass
class RollbackIO:
    """The edges: an ARM client for the subscription, an HTTP probe, a clock and a sleep, and the digest a
    registry's tag names now (`digest_of(registry, repository, tag)`, raising when it cannot tell)."""

    client: Any
    probe: Callable[[str], int]
    clock: Callable[[], datetime]
    sleep: Callable[[float], None]
    digest_of: Callable[[str, str, str], str]
    progress: Callable[[str], None] = lambda _line: None


def plan_rollback(cfg: Any, *, stack: str, env: Mapping[str, str], app: str | None = None) -> RollbackPlan:
    """Check everything before touching Azure: a staging stack, an app with a slot, a subscription."""
    if stack == "prod" or cfg.is_prod:
        raise RollbackRefused(
            f"refusing to drill stack {stack}: the rollback drill swaps slots of a staging app only "
            "(backstop:environment must be staging)"
        )
    if cfg.app is None:
        raise RollbackRefused(f"Pulumi.{stack}.yaml: backstop:app: is required for the rollback drill")
    # The app as Azure knows it: with `nameSuffix` applied, as the program created it. `--app` takes the
    # name as written in the stack file or as created.
    created = cfg.with_global_names().app.apps
    index = next(
        (i for i, (a, c) in enumerate(zip(cfg.app.apps, created, strict=True)) if app in (a.name, c.name)),
        None if app else 0,
    )
    if index is None:
        raise RollbackRefused(f"Pulumi.{stack}.yaml: backstop:app.apps: no app named {app}")
    chosen = created[index]
    if not chosen.staging_slot:
        raise RollbackRefused(
            f"Pulumi.{stack}.yaml: backstop:app.apps: {cfg.app.apps[index].name} has no staging slot"
        )
    subscription = env.get(ENV_SUBSCRIPTION, "")
    if not subscription:
        raise UsageError(f"{ENV_SUBSCRIPTION} is not set: the Azure subscription of the staging app")
    return RollbackPlan(
        drill_id=uuid.uuid4().hex[:12],
        stack=stack,
        subscription_id=subscription,
        resource_group=cfg.app.resource_group_name,
        app=chosen.name,
        health_check_path=chosen.health_check_path,
        rto=cfg.objectives.app.faulty_deployment.rto,
        health_timeout=cfg.app.rollback_drill.health_timeout,
        poll_interval=cfg.app.rollback_drill.poll_interval,
    )


def _swap(plan: RollbackPlan, io: RollbackIO) -> None:
    """One swap of the `staging` slot with production (the same call swaps them back)."""
    swap_slot_with_production(io.client, plan.resource_group, plan.app, STAGING_SLOT)


def _production_image(plan: RollbackPlan, io: RollbackIO) -> str | None:
    config = io.client.web_apps.get_configuration(plan.resource_group, plan.app)
    return config.linux_fx_version


def _wait_healthy(plan: RollbackPlan, io: RollbackIO, outcome: RollbackOutcome, swapped_at: datetime) -> None:
    url = f"https://{outcome.host}{plan.health_check_path}"
    deadline = swapped_at + plan.health_timeout
    while True:
        try:
            status: int | str = io.probe(url)
        except Exception as exc:  # an unreachable app is an unhealthy answer, not a crash
            status = one_line(exc)
        outcome.probes.append(status)
        now = io.clock()
        if isinstance(status, int) and 200 <= status < 300:
            outcome.healthy = True
            outcome.time_to_healthy = now - swapped_at
            io.progress(f"healthy after {outcome.time_to_healthy.total_seconds():.0f} s ({url} -> {status})")
            return
        if now >= deadline:
            outcome.errors.append(
                f"health check {url} not healthy within {plan.health_timeout.total_seconds():.0f} s "
                f"(last answer {status})"
            )
            return
        io.sleep(plan.poll_interval.total_seconds())


def _ensure_swapped_back(plan: RollbackPlan, io: RollbackIO, outcome: RollbackOutcome) -> None:
    """Swap until production runs the image it ran before the drill; record whether it does."""
    for _ in range(MAX_SWAP_BACK_ATTEMPTS + 1):
        try:
            current = _production_image(plan, io)
        except Exception as exc:
            outcome.errors.append(f"reading production's image: {one_line(exc)}")
            current = None
        if current is not None and current == outcome.production_image_before:
            outcome.production_image_after = current
            outcome.swapped_back = True
            return
        if outcome.swap_backs >= MAX_SWAP_BACK_ATTEMPTS:
            break
        outcome.swap_backs += 1
        io.progress(f"swapping back (production runs {current}, expected {outcome.production_image_before})")
        try:
            _swap(plan, io)
        except Exception as exc:
            outcome.errors.append(f"swap back #{outcome.swap_backs}: {one_line(exc)}")
    outcome.production_image_after = current
    outcome.swapped_back = False


def execute_rollback(plan: RollbackPlan, io: RollbackIO) -> RollbackOutcome:
    outcome = RollbackOutcome(started_at=io.clock())
    web_apps = io.client.web_apps
    outcome.production_image_before = _production_image(plan, io)
    outcome.staged_image = web_apps.get_configuration_slot(
        plan.resource_group, plan.app, STAGING_SLOT
    ).linux_fx_version
    outcome.host = web_apps.get(plan.resource_group, plan.app).default_host_name
    comparison = compare_images(outcome.production_image_before, outcome.staged_image, io.digest_of)
    outcome.nothing_to_roll_back = comparison.nothing_to_roll_back
    outcome.images_not_compared = comparison.not_compared
    outcome.production_digest = comparison.production_digest
    outcome.staged_digest = comparison.staged_digest
    try:
        if outcome.not_run is not None:
            outcome.errors.append(outcome.not_run)
            return outcome
        io.progress(f"swapping {plan.app}/{STAGING_SLOT} ({outcome.staged_image}) into production")
        swapped_at = io.clock()
        try:
            _swap(plan, io)
            outcome.swapped = True
        except Exception as exc:
            outcome.errors.append(f"swap into production: {one_line(exc)}")
        if outcome.swapped:
            _wait_healthy(plan, io, outcome, swapped_at)
    finally:
        # Interrupted or not, production ends on the image it had: a half-done swap is swapped back too.
        _ensure_swapped_back(plan, io, outcome)
        outcome.finished_at = io.clock()
    return outcome


def result_document(plan: RollbackPlan, outcome: RollbackOutcome) -> dict[str, Any]:
    """What `backup_drill_results` keeps; `timeToRestoreSeconds` only when the swapped-in app was healthy
    and production was swapped back, so `backstop report` never counts a failed drill as a measurement."""
    seconds = (
        outcome.time_to_healthy.total_seconds()
        if outcome.time_to_healthy is not None and outcome.passed
        else None
    )
    return {
        "drillId": plan.drill_id,
        "kind": "application-rollback",
        "mechanism": MECHANISM,
        "sourceStack": plan.stack,
        "startedAt": utc_iso(outcome.started_at),
        "finishedAt": utc_iso(outcome.finished_at or outcome.started_at),
        "app": {
            "subscriptionId": plan.subscription_id,
            "resourceGroup": plan.resource_group,
            "name": plan.app,
            "slot": STAGING_SLOT,
            "host": outcome.host,
            "healthCheckPath": plan.health_check_path,
        },
        "images": {
            "productionBefore": outcome.production_image_before,
            "staged": outcome.staged_image,
            "productionAfter": outcome.production_image_after,
        },
        "swapped": outcome.swapped,
        "healthy": outcome.healthy,
        "probes": outcome.probes,
        "swappedBack": outcome.swapped_back,
        "swapBacks": outcome.swap_backs,
        "imageDigests": {"productionBefore": outcome.production_digest, "staged": outcome.staged_digest},
        "nothingToRollBack": outcome.nothing_to_roll_back,
        "imagesNotCompared": outcome.images_not_compared,
        "timeToRestoreSeconds": seconds,
        "rtoSeconds": plan.rto.total_seconds(),
        "rtoMet": seconds is not None and seconds <= plan.rto.total_seconds(),
        "passed": outcome.passed and seconds is not None and seconds <= plan.rto.total_seconds(),
        "errors": outcome.errors,
    }


def summary_markdown(plan: RollbackPlan, outcome: RollbackOutcome) -> str:
    document = result_document(plan, outcome)
    seconds = document["timeToRestoreSeconds"]
    measured = f"{seconds:.0f} s" if seconds is not None else "not measured"
    verdict = "PASSED" if document["passed"] else "FAILED"
    lines = [
        f"### Application rollback drill `{plan.drill_id}`: stack `{plan.stack}`",
        "",
        "| | |",
        "|---|---|",
        f"| app | `{plan.app}` (resource group `{plan.resource_group}`), slot `{STAGING_SLOT}` |",
        f"| production image before | `{outcome.production_image_before}` |",
        f"| staged image swapped in | `{outcome.staged_image}` |",
        f"| health check | `https://{outcome.host}{plan.health_check_path}`: "
        f"{'healthy' if outcome.healthy else 'NOT healthy'} ({len(outcome.probes)} probe(s)) |",
        f"| time to healthy (RTO {plan.rto.total_seconds() / 60:.0f} min) | {measured} |",
        f"| swapped back | {'yes' if outcome.swapped_back else 'NO'} "
        f"(production runs `{outcome.production_image_after}`) |",
        f"| started / finished | {document['startedAt']} / {document['finishedAt']} |",
    ]
    for error in outcome.errors:
        lines.append(f"| error | {error} |")
    if outcome.not_run is not None:
        lines += ["", f"{verdict}: application rollback (slot swap) not run: {outcome.not_run}"]
        return "\n".join(lines) + "\n"
    lines += [
        "",
        f"{verdict}: application rollback (slot swap) {measured} against an RTO of "
        f"{plan.rto.total_seconds() / 60:.0f} min, production "
        + ("restored" if outcome.swapped_back else "NOT restored"),
    ]
    return "\n".join(lines) + "\n"


def exit_code(plan: RollbackPlan, outcome: RollbackOutcome) -> int:
    return EXIT_OK if result_document(plan, outcome)["passed"] else EXIT_VIOLATIONS


# --- the command ----------------------------------------------------------------------------------------


def _connect(uri: str) -> Any:
    from backstop.report.evidence import connect

    return connect(uri)


@dataclass
class RollbackRuntime:
    """The edges `backstop drill rollback` reaches; tests swap in the fake ARM and mongomock."""

    client: Callable[[str], Any] = web_site_client
    probe: Callable[[str], int] = http_status
    connect: Callable[[str], Any] = _connect
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    sleep: Callable[[float], None] = time.sleep
    env: Mapping[str, str] = field(default_factory=lambda: os.environ)
    # What resolves a registry's tag to its digest (`manifest_digest(registry, repository, tag)`).
    registry: Callable[[], Any] = acr_digests


RUNTIME = RollbackRuntime()


def cmd_rollback(args: argparse.Namespace) -> int:
    from backstop.config.stackfile import read_stack_file
    from backstop.report.evidence import (
        DRILL_RESULTS_COLLECTION,
        ENV_EVIDENCE_URI,
        append_drill_result,
        env_uri,
    )

    project = project_dir(args.project_dir)
    cfg = read_stack_file(project, args.stack).stack_config()
    plan = plan_rollback(cfg, stack=args.stack, env=RUNTIME.env, app=args.app)
    evidence_uri = env_uri(ENV_EVIDENCE_URI, RUNTIME.env)  # before anything is swapped

    say = progress(logger, step="drill-rollback", stack=args.stack, app=plan.app)
    io = RollbackIO(
        client=RUNTIME.client(plan.subscription_id),
        probe=RUNTIME.probe,
        clock=RUNTIME.clock,
        sleep=RUNTIME.sleep,
        digest_of=RUNTIME.registry().manifest_digest,
        progress=say,
    )
    outcome = execute_rollback(plan, io)
    document = result_document(plan, outcome)
    recorded = True
    try:
        database = RUNTIME.connect(evidence_uri)[cfg.drill.evidence_database]
        document = append_drill_result(database, document, now=RUNTIME.clock())
    except Exception as exc:
        recorded = False
        print(
            f"backstop: drill result NOT recorded in {DRILL_RESULTS_COLLECTION}: {one_line(exc)}",
            file=sys.stderr,
        )
    text = summary_markdown(plan, outcome)
    write_output(args.summary, text)
    if args.result_json:
        write_output(args.result_json, json.dumps(document, indent=2, default=str) + "\n")
    print(json_document("drill rollback", document) if args.format == "json" else text.rstrip())
    if outcome.not_run is not None:
        print(f"backstop: drill rollback FAILED on {plan.app}: {outcome.not_run}", file=sys.stderr)
    if not outcome.swapped_back:
        print(
            f"backstop: PRODUCTION NOT SWAPPED BACK on {plan.app}: it runs {outcome.production_image_after}, "
            f"it ran {outcome.production_image_before}; swap the {STAGING_SLOT} slot back by hand",
            file=sys.stderr,
        )
    code = exit_code(plan, outcome)
    return code if recorded or code != EXIT_OK else EXIT_VIOLATIONS


def register(drill_commands: Any) -> None:
    """Add `rollback` to `backstop drill`'s subcommands."""
    rollback = drill_commands.add_parser(
        "rollback",
        help="swap the staging app's `staging` slot into production, time its health check, swap back",
    )
    rollback.add_argument("--stack", default="staging", help="a staging stack (prod is refused)")
    rollback.add_argument("--project-dir", help=PROJECT_DIR_HELP)
    rollback.add_argument("--app", help="the app to drill (default: the first of backstop:app.apps)")
    rollback.add_argument("--summary", help="also write the Markdown summary to this file")
    rollback.add_argument(
        "--result-json", help="also write the result document (for `backstop report --drill-results`)"
    )
    rollback.add_argument(
        "--format", choices=["text", "json"], default="text", help="json: the --result-json document"
    )
    rollback.add_argument("--quiet", action="store_true", help="no progress on stderr")
    rollback.set_defaults(handler=cmd_rollback)
