"""app-web-app-health-check: every web app (native or classic) has a health check path."""

from __future__ import annotations

from typing import Any

import pytest

from backstop.ground import tokens
from backstop.ground.resources import UNKNOWN
from backstop.policy.targets import PolicyTargets
from backstop.policy.values import MISSING
from backstop.program.mocks import ProgramRun
from tests.policy_support import SHAPES, failing, levels, mutate, res, shape_of, undecided

RULE = "app-web-app-health-check"
PROD = PolicyTargets.for_environment("prod")
STAGING = PolicyTargets.for_environment("staging")
APP = "wiser-prod-app"


def test_shipped_stacks_pass(prod_run: ProgramRun, staging_run: ProgramRun) -> None:
    assert failing(RULE, prod_run.resources) == set() == undecided(RULE, prod_run.resources)
    assert failing(RULE, staging_run.resources, STAGING) == set()


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (MISSING, {APP}),
        ("", {APP}),
        ("healthz", {APP}),
        ("/", set()),
        ("/api/health", set()),
    ],
)
def test_health_check_path_variants(prod_run: ProgramRun, shape: str, path: Any, expected: set[str]) -> None:
    loaded = shape_of(mutate(prod_run.resources, APP, {"siteConfig.healthCheckPath": path}), shape)
    assert failing(RULE, loaded) == expected
    assert undecided(RULE, loaded) == set()


@pytest.mark.parametrize("shape", SHAPES)
def test_unknown_is_undecided_never_a_pass(prod_run: ProgramRun, shape: str) -> None:
    loaded = shape_of(mutate(prod_run.resources, APP, {"siteConfig.healthCheckPath": UNKNOWN}), shape)
    assert undecided(RULE, loaded) == {APP} and failing(RULE, loaded) == set()
    assert levels(RULE, loaded, PROD) == {(APP, "advisory")}


@pytest.mark.parametrize("token", [tokens.AZC_LINUX_WEB_APP, tokens.AZC_WINDOWS_WEB_APP])
def test_classic_web_apps(token: str) -> None:
    good = res(token, "site", {"siteConfig": {"healthCheckPath": "/healthz", "alwaysOn": True}})
    bad = res(token, "bare", {"siteConfig": {"alwaysOn": True}})
    assert failing(RULE, [good, bad]) == {"bare"}


def test_staging_targets_make_violations_advisory(staging_run: ProgramRun) -> None:
    bare = mutate(staging_run.resources, "wiser-staging-app", {"siteConfig.healthCheckPath": MISSING})
    assert levels(RULE, bare, STAGING) == {("wiser-staging-app", "advisory")}
    assert levels(RULE, bare, PROD) == {("wiser-staging-app", "mandatory")}
