"""servicebus-queue-dead-lettering: queues dead-letter on expiry and retry >= 3 times (unset = 10)."""

from __future__ import annotations

from typing import Any

import pytest

from backstop.ground.resources import UNKNOWN
from backstop.policy.targets import PolicyTargets
from backstop.policy.values import MISSING
from backstop.program.mocks import ProgramRun
from tests.policy_support import SHAPES, failing, findings, levels, mutate, shape_of, shapes, undecided

RULE = "servicebus-queue-dead-lettering"
PROD = PolicyTargets.for_environment("prod")
STAGING = PolicyTargets.for_environment("staging")
EMAIL = "messaging-email-campaigns"
REVIEWS = "messaging-review-events"


def test_shipped_stacks_pass(prod_run: ProgramRun, staging_run: ProgramRun) -> None:
    assert failing(RULE, prod_run.resources) == set()
    assert undecided(RULE, prod_run.resources) == set()
    assert failing(RULE, staging_run.resources, STAGING) == set()


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(
    ("name", "changes", "expected"),
    [
        pytest.param(EMAIL, {"deadLetteringOnMessageExpiration": False}, {EMAIL}, id="expiry-off"),
        pytest.param(REVIEWS, {"deadLetteringOnMessageExpiration": MISSING}, {REVIEWS}, id="expiry-unset"),
        pytest.param(EMAIL, {"maxDeliveryCount": 2}, {EMAIL}, id="2-deliveries-int"),
        pytest.param(EMAIL, {"maxDeliveryCount": 2.0}, {EMAIL}, id="2-deliveries-float"),
        pytest.param(EMAIL, {"maxDeliveryCount": "many"}, {EMAIL}, id="not-a-number"),
        pytest.param(EMAIL, {"maxDeliveryCount": 3}, set(), id="3-deliveries-int"),
        pytest.param(EMAIL, {"maxDeliveryCount": 3.0}, set(), id="3-deliveries-float"),
        pytest.param(REVIEWS, {"maxDeliveryCount": MISSING}, set(), id="unset-is-the-default-10"),
    ],
)
def test_variants(
    prod_run: ProgramRun, shape: str, name: str, changes: dict[str, Any], expected: set[str]
) -> None:
    loaded = shape_of(mutate(prod_run.resources, name, changes), shape)
    assert failing(RULE, loaded) == expected
    assert undecided(RULE, loaded) == set()


def test_both_problems_are_reported(prod_run: ProgramRun) -> None:
    broken = mutate(
        prod_run.resources, EMAIL, {"deadLetteringOnMessageExpiration": False, "maxDeliveryCount": 1.0}
    )
    messages = sorted(f.message for f in findings(RULE, broken))
    assert len(messages) == 2
    assert "deadLetteringOnMessageExpiration is False" in messages[0]
    assert "maxDeliveryCount is 1:" in messages[1]


def test_unset_delivery_count_is_the_sdk_documented_default() -> None:
    import inspect

    from pulumi_azure_native import servicebus

    assert "default value is 10" in (inspect.getdoc(servicebus.QueueArgs.max_delivery_count) or "")


@pytest.mark.parametrize(("minimum", "expected"), [(10, set()), (11, {EMAIL, REVIEWS})])
def test_minimum_is_a_tunable(prod_run: ProgramRun, minimum: int, expected: set[str]) -> None:
    targets = PolicyTargets.for_environment("prod", min_max_delivery_count=minimum)
    assert failing(RULE, prod_run.resources, targets) == expected
    unset = mutate(prod_run.resources, EMAIL, {"maxDeliveryCount": MISSING})
    assert failing(RULE, unset, targets) == expected


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("path", ["deadLetteringOnMessageExpiration", "maxDeliveryCount"])
def test_unknown_is_undecided_never_a_pass(prod_run: ProgramRun, shape: str, path: str) -> None:
    loaded = shape_of(mutate(prod_run.resources, REVIEWS, {path: UNKNOWN}), shape)
    assert undecided(RULE, loaded) == {REVIEWS}
    assert failing(RULE, loaded) == set()
    assert levels(RULE, loaded, PROD) == {(REVIEWS, "advisory")}
    strict = PolicyTargets.for_environment("prod", unknown_is_violation=True)
    assert levels(RULE, loaded, strict) == {(REVIEWS, "mandatory")}


def test_first_preview(prod_preview_run: ProgramRun) -> None:
    for loaded in shapes(prod_preview_run.resources).values():
        assert failing(RULE, loaded) == set()
        assert undecided(RULE, loaded) == set()


def test_staging_targets_make_violations_advisory(staging_run: ProgramRun) -> None:
    off = mutate(staging_run.resources, EMAIL, {"deadLetteringOnMessageExpiration": False})
    assert levels(RULE, off, STAGING) == {(EMAIL, "advisory")}
    assert levels(RULE, off, PROD) == {(EMAIL, "mandatory")}
