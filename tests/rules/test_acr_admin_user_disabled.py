"""acr-admin-user-disabled: no registry (native or classic) enables its shared admin credential, which can
delete or overwrite the release images the seed says stay redeployable."""

from __future__ import annotations

from typing import Any

import pytest

from backstop.ground import tokens
from backstop.ground.resources import UNKNOWN
from backstop.policy.targets import PolicyTargets
from backstop.policy.values import MISSING
from backstop.program.mocks import ProgramRun
from tests.policy_support import SHAPES, failing, findings, levels, mutate, res, shape_of, undecided

RULE = "acr-admin-user-disabled"
PROD = PolicyTargets.for_environment("prod")
STAGING = PolicyTargets.for_environment("staging")
REGISTRY = "images"


def test_shipped_stacks_pass(prod_run: ProgramRun, staging_run: ProgramRun) -> None:
    assert failing(RULE, prod_run.resources) == set() == undecided(RULE, prod_run.resources)
    assert failing(RULE, staging_run.resources, STAGING) == set() == undecided(RULE, staging_run.resources)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(
    ("value", "expected"), [(True, {REGISTRY}), ("true", {REGISTRY}), (False, set()), (MISSING, set())]
)
def test_admin_user_variants(prod_run: ProgramRun, shape: str, value: Any, expected: set[str]) -> None:
    loaded = shape_of(mutate(prod_run.resources, REGISTRY, {"adminUserEnabled": value}), shape)
    assert failing(RULE, loaded) == expected
    assert undecided(RULE, loaded) == set()
    for finding in findings(RULE, loaded):
        assert "adminUserEnabled is true" in finding.message


@pytest.mark.parametrize("shape", SHAPES)
def test_unknown_is_undecided_never_a_pass(prod_run: ProgramRun, shape: str) -> None:
    loaded = shape_of(mutate(prod_run.resources, REGISTRY, {"adminUserEnabled": UNKNOWN}), shape)
    assert undecided(RULE, loaded) == {REGISTRY} and failing(RULE, loaded) == set()
    assert levels(RULE, loaded, PROD) == {(REGISTRY, "advisory")}


def test_classic_registry_spells_it_admin_enabled() -> None:
    on = res(tokens.AZC_REGISTRY, "on", {"adminEnabled": True})
    off = res(tokens.AZC_REGISTRY, "off", {"adminEnabled": False})
    unset = res(tokens.AZC_REGISTRY, "unset", {"sku": "Premium"})
    assert failing(RULE, [on, off, unset]) == {"on"}


def test_staging_targets_make_violations_advisory(staging_run: ProgramRun) -> None:
    on = mutate(staging_run.resources, REGISTRY, {"adminUserEnabled": True})
    assert levels(RULE, on, STAGING) == {(REGISTRY, "advisory")}
    assert levels(RULE, on, PROD) == {(REGISTRY, "mandatory")}


def test_the_read_settings_are_sdk_wire_names() -> None:
    import pulumi_azure
    import pulumi_azure_native

    assert (
        "admin_user_enabled"
        in pulumi_azure_native.containerregistry.RegistryArgs.__init__.__code__.co_varnames
    )
    assert "admin_enabled" in pulumi_azure.containerservice.RegistryArgs.__init__.__code__.co_varnames
