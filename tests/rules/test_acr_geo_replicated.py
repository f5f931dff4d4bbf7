"""acr-geo-replicated: prod registries keep a replica in another region (native Replication or classic
georeplications)."""

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

RULE = "acr-geo-replicated"
PROD = PolicyTargets.for_environment("prod")
STAGING = PolicyTargets.for_environment("staging")
REGISTRY, REPLICA = "images", "images-centralus"


def test_shipped_stacks_pass(prod_run: ProgramRun, staging_run: ProgramRun) -> None:
    assert failing(RULE, prod_run.resources) == set() == undecided(RULE, prod_run.resources)
    assert failing(RULE, staging_run.resources, STAGING) == set()
    assert failing(RULE, staging_run.resources, PROD) == {REGISTRY}


@pytest.mark.parametrize("shape", SHAPES)
def test_registry_without_replica_fails(prod_run: ProgramRun, shape: str) -> None:
    loaded = shape_of(without(prod_run.resources, REPLICA), shape)
    assert failing(RULE, loaded) == {REGISTRY}


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(
    ("location", "expected"), [("eastus", {REGISTRY}), ("East US", {REGISTRY}), ("westus3", set())]
)
def test_replica_location_variants(
    prod_run: ProgramRun, shape: str, location: str, expected: set[str]
) -> None:
    loaded = shape_of(mutate(prod_run.resources, REPLICA, {"location": location}), shape)
    assert failing(RULE, loaded) == expected


def test_replica_of_another_registry_does_not_count(prod_run: ProgramRun) -> None:
    resources = without_dependencies(mutate(prod_run.resources, REPLICA, {"registryName": "otheracr"}))
    assert failing(RULE, resources) == {REGISTRY}


def test_unknown_replica_target_is_undecided(prod_run: ProgramRun) -> None:
    resources = without_dependencies(mutate(prod_run.resources, REPLICA, {"registryName": UNKNOWN}))
    assert undecided(RULE, resources) == {REGISTRY} and failing(RULE, resources) == set()
    assert levels(RULE, resources, PROD) == {(REGISTRY, "advisory")}


def test_classic_georeplications() -> None:
    replicated = res(
        tokens.AZC_REGISTRY,
        "good",
        {"location": "eastus", "sku": "Premium", "georeplications": [{"location": "westus"}]},
    )
    home_only = res(
        tokens.AZC_REGISTRY, "home", {"location": "eastus", "georeplications": [{"location": "eastus"}]}
    )
    none = res(tokens.AZC_REGISTRY, "none", {"location": "eastus", "sku": "Standard"})
    assert failing(RULE, [replicated, home_only, none]) == {"home", "none"}
    unknown_block = res(tokens.AZC_REGISTRY, "later", {"location": "eastus", "georeplications": UNKNOWN})
    assert undecided(RULE, [unknown_block]) == {"later"}
