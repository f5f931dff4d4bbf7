"""app-web-app-deployment-slot: each prod web app has a slot to swap back to."""

from __future__ import annotations

import pytest

from backstop.ground import tokens
from backstop.ground.resources import UNKNOWN
from backstop.policy.targets import PolicyTargets
from backstop.program.mocks import ProgramRun
from tests.policy_support import (
    SHAPES,
    failing,
    levels,
    mutate,
    res,
    shape_of,
    undecided,
    without,
    without_dependencies,
)

RULE = "app-web-app-deployment-slot"
PROD = PolicyTargets.for_environment("prod")
STAGING = PolicyTargets.for_environment("staging")
APP, SLOT = "wiser-prod-app", "wiser-prod-app-staging"


def test_shipped_stacks_pass(prod_run: ProgramRun, staging_run: ProgramRun) -> None:
    assert failing(RULE, prod_run.resources) == set() == undecided(RULE, prod_run.resources)
    assert failing(RULE, staging_run.resources, PROD) == set()


@pytest.mark.parametrize("shape", SHAPES)
def test_app_without_its_slot_fails(prod_run: ProgramRun, shape: str) -> None:
    loaded = shape_of(without(prod_run.resources, SLOT), shape)
    assert failing(RULE, loaded) == {APP}
    # The standby's own slot does not count for the primary app.
    assert "wiser-prod-app-secondary-staging" in {r.name for r in loaded}


def test_joins_by_value_without_dependencies(prod_run: ProgramRun) -> None:
    resources = without_dependencies(prod_run.resources)
    assert failing(RULE, resources) == set()
    renamed = mutate(resources, SLOT, {"name": "another-app"})
    assert failing(RULE, renamed) == {APP}
    # A slot of a same-named site in another resource group is not this app's.
    elsewhere = mutate(resources, SLOT, {"resourceGroupName": "rg-other"})
    assert failing(RULE, elsewhere) == {APP}


def test_unknown_slot_target_is_undecided(prod_run: ProgramRun) -> None:
    stripped = without_dependencies(mutate(prod_run.resources, SLOT, {"name": UNKNOWN}))
    assert undecided(RULE, stripped) == {APP} and failing(RULE, stripped) == set()
    assert levels(RULE, stripped, PROD) == {(APP, "advisory")}


def test_classic_slots_by_app_service_id() -> None:
    app_id = "/subscriptions/0/resourceGroups/rg/providers/Microsoft.Web/sites/site"
    app = res(tokens.AZC_LINUX_WEB_APP, "site", {"name": "site"}, id=app_id)
    lonely = res(tokens.AZC_LINUX_WEB_APP, "lonely", {"name": "lonely"}, id=app_id + "2")
    slot = res(tokens.AZC_LINUX_WEB_APP_SLOT, "site-staging", {"appServiceId": app_id, "name": "staging"})
    assert failing(RULE, [app, lonely, slot]) == {"lonely"}


def test_off_in_staging(prod_run: ProgramRun) -> None:
    loaded = without(prod_run.resources, SLOT)
    assert failing(RULE, loaded, STAGING) == set()
    assert levels(RULE, loaded, PROD) == {(APP, "mandatory")}
