"""app-web-app-always-on: every web app (native or classic) keeps Always On, so App Service never unloads
it when idle (the seed's 1-3 minute automatic restart and 5-15 minute slot-swap rollback)."""

from __future__ import annotations

from typing import Any

import pytest

from backstop.ground import tokens
from backstop.ground.resources import UNKNOWN
from backstop.policy.targets import PolicyTargets
from backstop.policy.values import MISSING
from backstop.program.mocks import ProgramRun
from tests.policy_support import SHAPES, failing, findings, levels, mutate, res, shape_of, undecided

RULE = "app-web-app-always-on"
PROD = PolicyTargets.for_environment("prod")
STAGING = PolicyTargets.for_environment("staging")
APP, SECONDARY = "wiser-prod-app", "wiser-prod-app-secondary"


def test_shipped_stacks_pass(prod_run: ProgramRun, staging_run: ProgramRun) -> None:
    assert failing(RULE, prod_run.resources) == set() == undecided(RULE, prod_run.resources)
    assert failing(RULE, staging_run.resources, STAGING) == set() == undecided(RULE, staging_run.resources)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(
    ("value", "expected"),
    [(MISSING, {APP}), (False, {APP}), ("false", {APP}), (True, set()), ("true", set())],
)
def test_always_on_variants(prod_run: ProgramRun, shape: str, value: Any, expected: set[str]) -> None:
    loaded = shape_of(mutate(prod_run.resources, APP, {"siteConfig.alwaysOn": value}), shape)
    assert failing(RULE, loaded) == expected
    assert undecided(RULE, loaded) == set()
    for finding in findings(RULE, loaded):
        assert "App Service unloads the app when it is idle" in finding.message


@pytest.mark.parametrize("shape", SHAPES)
def test_unknown_is_undecided_never_a_pass(prod_run: ProgramRun, shape: str) -> None:
    loaded = shape_of(mutate(prod_run.resources, SECONDARY, {"siteConfig.alwaysOn": UNKNOWN}), shape)
    assert undecided(RULE, loaded) == {SECONDARY} and failing(RULE, loaded) == set()
    assert levels(RULE, loaded, PROD) == {(SECONDARY, "advisory")}


@pytest.mark.parametrize("token", [tokens.AZC_LINUX_WEB_APP, tokens.AZC_WINDOWS_WEB_APP])
def test_classic_web_apps_default_always_on(token: str) -> None:
    """pulumi-azure's LinuxWebApp/WindowsWebApp document `always_on` 'Defaults to `true`'."""
    unset = res(token, "unset", {"siteConfig": {"healthCheckPath": "/healthz"}})
    off = res(token, "off", {"siteConfig": {"alwaysOn": False}})
    on = res(token, "on", {"siteConfig": {"alwaysOn": True}})
    assert failing(RULE, [unset, off, on]) == {"off"}


def test_staging_targets_make_violations_advisory(staging_run: ProgramRun) -> None:
    off = mutate(staging_run.resources, "wiser-staging-app", {"siteConfig.alwaysOn": False})
    assert levels(RULE, off, STAGING) == {("wiser-staging-app", "advisory")}
    assert levels(RULE, off, PROD) == {("wiser-staging-app", "mandatory")}


def test_the_read_settings_are_sdk_wire_names() -> None:
    import pulumi._types as pulumi_types
    import pulumi_azure
    import pulumi_azure_native

    def wire(cls: type) -> set[str]:
        return set(pulumi_types.input_type_py_to_pulumi_names(cls).values())

    assert "alwaysOn" in wire(pulumi_azure_native.web.SiteConfigArgs)
    assert "alwaysOn" in wire(pulumi_azure.appservice.LinuxWebAppSiteConfigArgs)
    assert "alwaysOn" in wire(pulumi_azure.appservice.WindowsWebAppSiteConfigArgs)
