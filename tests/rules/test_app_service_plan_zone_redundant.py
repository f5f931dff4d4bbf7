"""app-service-plan-zone-redundant: prod plans are zone redundant with at least two instances."""

from __future__ import annotations

from typing import Any

import pytest

from backstop.ground import tokens
from backstop.ground.resources import UNKNOWN
from backstop.policy.targets import PolicyTargets
from backstop.policy.values import MISSING
from backstop.program.mocks import ProgramRun
from tests.policy_support import SHAPES, failing, levels, mutate, res, shape_of, undecided

RULE = "app-service-plan-zone-redundant"
PROD = PolicyTargets.for_environment("prod")
STAGING = PolicyTargets.for_environment("staging")
PLAN = "asp-wiser-prod"


def test_shipped_stacks_pass(prod_run: ProgramRun, staging_run: ProgramRun) -> None:
    assert failing(RULE, prod_run.resources) == set() == undecided(RULE, prod_run.resources)
    # Staging's single S1 instance is not zone redundant: off in staging, flagged under prod targets.
    assert failing(RULE, staging_run.resources, STAGING) == set()
    assert failing(RULE, staging_run.resources, PROD) == {"asp-wiser-staging"}


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"zoneRedundant": False}, {PLAN}),
        ({"zoneRedundant": MISSING}, {PLAN}),
        ({"sku.capacity": 1.0}, {PLAN}),
        ({"sku.capacity": 2.0}, set()),
        ({"sku.capacity": MISSING}, set()),  # Azure raises a zone-redundant plan to its minimum itself
    ],
)
def test_variants(prod_run: ProgramRun, shape: str, changes: dict[str, Any], expected: set[str]) -> None:
    loaded = shape_of(mutate(prod_run.resources, PLAN, changes), shape)
    assert failing(RULE, loaded) == expected
    assert undecided(RULE, loaded) == set()


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("path", ["zoneRedundant", "sku.capacity"])
def test_unknown_is_undecided_never_a_pass(prod_run: ProgramRun, shape: str, path: str) -> None:
    loaded = shape_of(mutate(prod_run.resources, PLAN, {path: UNKNOWN}), shape)
    assert undecided(RULE, loaded) == {PLAN} and failing(RULE, loaded) == set()


def test_classic_service_plan() -> None:
    balanced = res(tokens.AZC_SERVICE_PLAN, "balanced", {"zoneBalancingEnabled": True, "workerCount": 3})
    single = res(tokens.AZC_SERVICE_PLAN, "single", {"zoneBalancingEnabled": True, "workerCount": 1})
    flat = res(tokens.AZC_SERVICE_PLAN, "flat", {"skuName": "P1v3", "workerCount": 3})
    assert failing(RULE, [balanced, single, flat]) == {"single", "flat"}


def test_staging_levels(staging_run: ProgramRun) -> None:
    required = PolicyTargets.for_environment("staging", require_zone_redundant_plans=True)
    assert levels(RULE, staging_run.resources, required) == {("asp-wiser-staging", "advisory")}
