"""app-web-app-always-on: every web app and deployment slot (native or classic) keeps Always On, so App
Service never unloads it when idle (the seed's 1-3 minute automatic restart and 5-15 minute slot-swap
rollback)."""

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
SLOT, SECONDARY_SLOT = "wiser-prod-app-staging", "wiser-prod-app-secondary-staging"


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


def test_the_shipped_slots_are_judged(prod_run: ProgramRun, prod_preview_run: ProgramRun) -> None:
    slots = {r.name for r in prod_run.resources if r.type == tokens.AZ_WEB_APP_SLOT}
    assert slots == {SLOT, SECONDARY_SLOT}
    judged = {r.name for r in prod_run.resources if r.type in tokens.AZ_WEB_APPS | tokens.AZ_WEB_APP_SLOTS}
    assert judged == {APP, SECONDARY, SLOT, SECONDARY_SLOT}
    assert failing(RULE, prod_preview_run.resources) == set() == undecided(RULE, prod_preview_run.resources)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({SLOT: MISSING}, {SLOT}),  # azure-native leaves a slot's Always On off when unset
        ({SLOT: False}, {SLOT}),
        ({SLOT: "false"}, {SLOT}),
        ({SLOT: False, SECONDARY_SLOT: False}, {SLOT, SECONDARY_SLOT}),
        ({SLOT: False, APP: False}, {SLOT, APP}),
        ({SLOT: True, SECONDARY_SLOT: "true"}, set()),
    ],
)
def test_a_slot_without_always_on_fails_like_its_site(
    prod_run: ProgramRun, shape: str, changes: dict[str, Any], expected: set[str]
) -> None:
    """Always On stays with a slot through a swap: a `staging` slot without it sleeps while it holds the
    release a rollback swaps back (and, under the legacy swap, hands "off" to production)."""
    loaded = prod_run.resources
    for name, value in changes.items():
        loaded = mutate(loaded, name, {"siteConfig.alwaysOn": value})
    loaded = shape_of(loaded, shape)
    assert failing(RULE, loaded) == expected
    assert undecided(RULE, loaded) == set()
    messages = {f.urn.split("::")[-1]: f.message for f in findings(RULE, loaded)}
    said = "App Service unloads the slot (the rollback target between swaps) when it is idle"
    for name in expected - {APP}:
        assert said in messages[name]


@pytest.mark.parametrize("shape", SHAPES)
def test_an_unknown_slot_setting_is_undecided_never_a_pass(prod_run: ProgramRun, shape: str) -> None:
    whole = shape_of(mutate(prod_run.resources, SLOT, {"siteConfig": UNKNOWN}), shape)
    assert undecided(RULE, whole) == {SLOT} and failing(RULE, whole) == set()
    value = shape_of(mutate(prod_run.resources, SECONDARY_SLOT, {"siteConfig.alwaysOn": UNKNOWN}), shape)
    assert undecided(RULE, value) == {SECONDARY_SLOT} and failing(RULE, value) == set()
    assert levels(RULE, value, PROD) == {(SECONDARY_SLOT, "advisory")}


@pytest.mark.parametrize("token", [tokens.AZC_LINUX_WEB_APP_SLOT, tokens.AZC_WINDOWS_WEB_APP_SLOT])
def test_classic_slots_default_always_on(token: str) -> None:
    """pulumi-azure's LinuxWebAppSlot/WindowsWebAppSlot document `always_on` 'Defaults to `true`'."""
    unset = res(token, "unset", {"siteConfig": {"healthCheckPath": "/healthz"}})
    off = res(token, "off", {"siteConfig": {"alwaysOn": False}})
    on = res(token, "on", {"siteConfig": {"alwaysOn": True}})
    unknown_value = res(token, "pending", {"siteConfig": {"alwaysOn": UNKNOWN}})
    assert failing(RULE, [unset, off, on, unknown_value]) == {"off"}
    assert undecided(RULE, [unset, off, on, unknown_value]) == {"pending"}


def test_a_native_slot_of_a_classic_app_is_still_judged_natively() -> None:
    """The default follows the resource's own provider: an azure-native slot leaves Always On off."""
    app = res(tokens.AZC_LINUX_WEB_APP, "app", {"siteConfig": {}})
    slot = res(tokens.AZ_WEB_APP_SLOT, "app-staging", {"name": "app", "slot": "staging", "siteConfig": {}})
    assert failing(RULE, [app, slot]) == {"app-staging"}


def test_no_separate_site_configuration_resource_exists_in_the_installed_sdk() -> None:
    """The audit asked about `WebAppConfiguration`/`WebAppSlotConfiguration` setting alwaysOn apart from
    the site: the installed pulumi-azure-native declares no such resource (only
    `WebAppSlotConfigurationNames`, which lists sticky setting names, no values), so a site's or slot's own
    `siteConfig` is the whole declaration. Should an upgrade add one, this fails and the rule must read it."""
    import pulumi_azure_native

    web = pulumi_azure_native.web
    assert hasattr(web, "WebAppSlot") and hasattr(web, "WebAppSlotConfigurationNames")
    for absent in (
        "WebAppConfiguration",
        "WebAppSlotConfiguration",
        "WebAppSiteConfig",
        "WebAppSiteConfigSlot",
    ):
        assert not hasattr(web, absent), absent


def test_the_read_settings_are_sdk_wire_names() -> None:
    import pulumi._types as pulumi_types
    import pulumi_azure
    import pulumi_azure_native

    def wire(cls: type) -> set[str]:
        return set(pulumi_types.input_type_py_to_pulumi_names(cls).values())

    assert "alwaysOn" in wire(pulumi_azure_native.web.SiteConfigArgs)
    assert "alwaysOn" in wire(pulumi_azure.appservice.LinuxWebAppSiteConfigArgs)
    assert "alwaysOn" in wire(pulumi_azure.appservice.WindowsWebAppSiteConfigArgs)
    assert "alwaysOn" in wire(pulumi_azure.appservice.LinuxWebAppSlotSiteConfigArgs)
    assert "alwaysOn" in wire(pulumi_azure.appservice.WindowsWebAppSlotSiteConfigArgs)
    assert pulumi_azure_native.web.WebAppSlot.pulumi_type == tokens.AZ_WEB_APP_SLOT
