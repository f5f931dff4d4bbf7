"""`backstop report`: the seed's application and infrastructure scenarios, each derived from the declared
resources through the rule that checks its mechanism; no mechanism is unbounded; a drill's measurement
replaces the estimate."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from backstop.config import ObjectivesConfig
from backstop.config.stackfile import read_stack_file
from backstop.ground.resources import Resource
from backstop.report.objectives import derive, human
from tests.conftest import ROOT
from tests.policy_support import mutate, without
from tests.test_objectives import APP_ROWS


@pytest.fixture(scope="module")
def objectives() -> ObjectivesConfig:
    return read_stack_file(ROOT, "prod").stack_config().objectives


def _app_rows(resources: list[Resource], objectives: ObjectivesConfig, **kw: Any) -> dict[str, Any]:
    report = derive(resources, objectives, stack="prod", **kw)
    return {
        s.key: (human(s.achieved_rpo), human(s.achieved_rto), s.met)
        for s in report.scenarios
        if s.key in APP_ROWS
    }


def test_prod_meets_every_application_objective(prod_run: Any, objectives: ObjectivesConfig) -> None:
    assert _app_rows(prod_run.resources, objectives) == APP_ROWS


def test_staging_has_no_zone_or_region_mechanism(staging_run: Any) -> None:
    cfg = read_stack_file(ROOT, "staging").stack_config()
    report = derive(staging_run.resources, cfg.objectives, stack="staging")
    missed = {s.key: s.mechanism for s in report.scenarios if not s.met and s.key in APP_ROWS}
    assert missed == {
        "zone_outage": "none declared (zone-redundant App Service plans missing)",
        "region_outage": (
            "none declared (standby app in a secondary region, images from the registry's geo-replica "
            "missing)"
        ),
    }


UNBOUNDED = ("unbounded", "unbounded", False)


@pytest.mark.parametrize(
    ("change", "row"),
    [
        (lambda r: mutate(r, "wiser-prod-app", {"siteConfig.healthCheckPath": ""}), "crashed_container"),
        (lambda r: without(r, "wiser-prod-app-staging"), "faulty_deployment"),
        (lambda r: mutate(r, "images", {"policies.retentionPolicy.days": 1.0}), "full_service_rebuild"),
        (lambda r: mutate(r, "asp-wiser-prod", {"zoneRedundant": False}), "zone_outage"),
        (lambda r: without(r, "images-centralus"), "region_outage"),
        (
            lambda r: without(r, "wiser-prod-app-secondary", "wiser-prod-app-secondary-staging"),
            "region_outage",
        ),
        (lambda r: without(r, "widget-edge-stale-if-error"), "widget_delivery"),
        (lambda r: without(r, "cache"), "cache_failure"),
    ],
)
def test_a_missing_mechanism_leaves_its_scenario_unbounded(
    prod_run: Any, objectives: ObjectivesConfig, change: Any, row: str
) -> None:
    after = _app_rows(change(prod_run.resources), objectives)
    assert {key: value for key, value in after.items() if value != APP_ROWS[key]} == {row: UNBOUNDED}


def test_an_app_without_the_registry_image_cannot_be_rebuilt(
    prod_run: Any, objectives: ObjectivesConfig
) -> None:
    elsewhere = mutate(
        prod_run.resources,
        "wiser-prod-app",
        {"siteConfig.linuxFxVersion": "DOCKER|docker.io/library/nginx:latest"},
        property_dependencies={},
    )
    assert _app_rows(elsewhere, objectives)["full_service_rebuild"] == UNBOUNDED


@pytest.mark.parametrize(
    ("seconds", "expected"), [(240, ("0 min", "4 min", True)), (1200, ("0 min", "20 min", False))]
)
def test_a_measured_slot_swap_replaces_the_estimate(
    prod_run: Any, objectives: ObjectivesConfig, seconds: int, expected: tuple[str, str, bool]
) -> None:
    rows = _app_rows(prod_run.resources, objectives, measured={"slot_swap": timedelta(seconds=seconds)})
    assert rows["faulty_deployment"] == expected
    report = derive(
        prod_run.resources, objectives, stack="prod", measured={"slot_swap": timedelta(seconds=seconds)}
    )
    row = next(s for s in report.scenarios if s.key == "faulty_deployment")
    assert row.rto_basis == "measured by drill"
