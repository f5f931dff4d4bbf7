"""servicebus-subscription-dead-lettering: subscriptions dead-letter on expiry and on filter errors."""

from __future__ import annotations

from typing import Any

import pytest

from backstop.ground.resources import UNKNOWN
from backstop.policy.targets import PolicyTargets
from backstop.policy.values import MISSING
from backstop.program.mocks import ProgramRun
from tests.policy_support import SHAPES, failing, findings, levels, mutate, shape_of, shapes, undecided

RULE = "servicebus-subscription-dead-lettering"
PROD = PolicyTargets.for_environment("prod")
STAGING = PolicyTargets.for_environment("staging")
WIDGET = "messaging-merchant-events-widget-cache"
ANALYTICS = "messaging-merchant-events-analytics"
FILTER = "deadLetteringOnFilterEvaluationExceptions"
EXPIRY = "deadLetteringOnMessageExpiration"


def test_shipped_stacks_pass(prod_run: ProgramRun, staging_run: ProgramRun) -> None:
    assert failing(RULE, prod_run.resources) == set()
    assert undecided(RULE, prod_run.resources) == set()
    assert failing(RULE, staging_run.resources, STAGING) == set()


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(
    ("name", "changes", "expected"),
    [
        pytest.param(WIDGET, {EXPIRY: False}, {WIDGET}, id="expiry-off"),
        pytest.param(WIDGET, {EXPIRY: MISSING}, {WIDGET}, id="expiry-unset"),
        pytest.param(ANALYTICS, {FILTER: False}, {ANALYTICS}, id="filter-off"),
        pytest.param(ANALYTICS, {FILTER: MISSING}, {ANALYTICS}, id="filter-unset"),
        pytest.param(WIDGET, {"maxDeliveryCount": 1}, {WIDGET}, id="1-delivery-int"),
        pytest.param(WIDGET, {"maxDeliveryCount": 1.0}, {WIDGET}, id="1-delivery-float"),
        pytest.param(WIDGET, {"maxDeliveryCount": 3}, set(), id="3-deliveries-int"),
        pytest.param(WIDGET, {"maxDeliveryCount": 3.0}, set(), id="3-deliveries-float"),
        pytest.param(ANALYTICS, {"maxDeliveryCount": MISSING}, set(), id="unset-is-the-default-10"),
    ],
)
def test_variants(
    prod_run: ProgramRun, shape: str, name: str, changes: dict[str, Any], expected: set[str]
) -> None:
    loaded = shape_of(mutate(prod_run.resources, name, changes), shape)
    assert failing(RULE, loaded) == expected
    assert undecided(RULE, loaded) == set()


def test_each_switch_is_reported_on_its_own(prod_run: ProgramRun) -> None:
    broken = mutate(prod_run.resources, ANALYTICS, {EXPIRY: False, FILTER: MISSING})
    messages = [f.message for f in findings(RULE, broken)]
    assert len(messages) == 2
    assert any(m.startswith(f"{EXPIRY} is False") for m in messages)
    assert any(m.startswith(f"{FILTER} is not set") for m in messages)


def test_queues_are_not_subscriptions(prod_run: ProgramRun) -> None:
    queue = mutate(prod_run.resources, "messaging-email-campaigns", {EXPIRY: False})
    assert failing(RULE, queue) == set()


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("path", [EXPIRY, FILTER, "maxDeliveryCount"])
def test_unknown_is_undecided_never_a_pass(prod_run: ProgramRun, shape: str, path: str) -> None:
    loaded = shape_of(mutate(prod_run.resources, WIDGET, {path: UNKNOWN}), shape)
    assert undecided(RULE, loaded) == {WIDGET}
    assert failing(RULE, loaded) == set()
    assert levels(RULE, loaded, PROD) == {(WIDGET, "advisory")}
    strict = PolicyTargets.for_environment("prod", unknown_is_violation=True)
    assert levels(RULE, loaded, strict) == {(WIDGET, "mandatory")}


def test_first_preview(prod_preview_run: ProgramRun) -> None:
    for loaded in shapes(prod_preview_run.resources).values():
        assert failing(RULE, loaded) == set()
        assert undecided(RULE, loaded) == set()


def test_staging_targets_make_violations_advisory(staging_run: ProgramRun) -> None:
    off = mutate(staging_run.resources, ANALYTICS, {FILTER: False})
    assert levels(RULE, off, STAGING) == {(ANALYTICS, "advisory")}
    assert levels(RULE, off, PROD) == {(ANALYTICS, "mandatory")}
