"""servicebus-dead-letter-alert: every namespace has an enabled DeadletteredMessages alert with an action."""

from __future__ import annotations

from typing import Any

import pytest

from backstop.ground import tokens
from backstop.ground.resources import UNKNOWN, Resource
from backstop.policy.targets import PolicyTargets
from backstop.policy.values import MISSING
from backstop.program.mocks import ProgramRun
from tests.policy_support import (
    SHAPES,
    TOKEN_SETS,
    declared,
    failing,
    findings,
    levels,
    mutate,
    res,
    shape_of,
    shapes,
    undecided,
    without,
    without_dependencies,
)

RULE = "servicebus-dead-letter-alert"
PROD = PolicyTargets.for_environment("prod")
STAGING = PolicyTargets.for_environment("staging")
NAMESPACE = "messaging"
ALERT = "messaging-dead-letter-alert"
SUBSCRIPTION = "/subscriptions/00000000-0000-0000-0000-000000000000"


def test_shipped_stacks_pass(prod_run: ProgramRun, staging_run: ProgramRun) -> None:
    assert failing(RULE, prod_run.resources) == set()
    assert undecided(RULE, prod_run.resources) == set()
    assert failing(RULE, staging_run.resources, STAGING) == set()
    assert undecided(RULE, staging_run.resources, STAGING) == set()


def test_insights_alias_fixture_uses_the_alias_token(prod_run: ProgramRun) -> None:
    types = {r.type for r in declared(prod_run, "deprecated-aliases")}
    assert tokens.AZ_METRIC_ALERT_V2_ALIAS in types and tokens.AZ_METRIC_ALERT not in types


@pytest.mark.parametrize("token_set", TOKEN_SETS)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        pytest.param({"enabled": False}, {NAMESPACE}, id="disabled"),
        pytest.param({"enabled": MISSING}, {NAMESPACE}, id="enabled-unset"),
        pytest.param({"criteria.allOf[0].metricName": "ActiveMessages"}, {NAMESPACE}, id="other-metric"),
        pytest.param({"criteria.allOf": []}, {NAMESPACE}, id="no-criteria"),
        pytest.param({"actions": []}, {NAMESPACE}, id="no-actions"),
        pytest.param({"actions": MISSING}, {NAMESPACE}, id="actions-unset"),
        pytest.param({"severity": 0.0, "windowSize": "PT5M"}, set(), id="other-settings-pass"),
    ],
)
def test_variants(
    prod_run: ProgramRun, token_set: str, shape: str, changes: dict[str, Any], expected: set[str]
) -> None:
    loaded = shape_of(mutate(declared(prod_run, token_set), ALERT, changes), shape)
    assert failing(RULE, loaded) == expected
    assert undecided(RULE, loaded) == set()


@pytest.mark.parametrize("token_set", TOKEN_SETS)
@pytest.mark.parametrize("shape", SHAPES)
def test_namespace_without_alert_fails(prod_run: ProgramRun, token_set: str, shape: str) -> None:
    loaded = shape_of(without(declared(prod_run, token_set), ALERT), shape)
    assert failing(RULE, loaded) == {NAMESPACE}
    (finding,) = findings(RULE, loaded)
    assert tokens.SB_DEAD_LETTER_METRIC in finding.message


def test_a_deficient_alert_is_named_in_the_message(prod_run: ProgramRun) -> None:
    (finding,) = findings(RULE, mutate(prod_run.resources, ALERT, {"actions": []}))
    assert ALERT in finding.message and "nobody is notified" in finding.message


def _namespace_id(resources: list[Resource]) -> str:
    (namespace,) = [r for r in resources if r.type == tokens.AZ_SB_NAMESPACE]
    assert isinstance(namespace.id, str)
    return namespace.id


def test_scope_matches_by_arm_id_without_property_dependencies(prod_run: ProgramRun) -> None:
    resources = without_dependencies(prod_run.resources)
    assert failing(RULE, resources) == set()
    other = f"{SUBSCRIPTION}/resourceGroups/backstop/providers/Microsoft.ServiceBus/namespaces/other-bus"
    assert failing(RULE, mutate(resources, ALERT, {"scopes": [other]})) == {NAMESPACE}
    # ARM ids are case-insensitive.
    upper = mutate(resources, ALERT, {"scopes": [_namespace_id(resources).upper()]})
    assert failing(RULE, upper) == set()


def _namespace(name: str, group: str = "rg") -> Resource:
    arm = f"{SUBSCRIPTION}/resourceGroups/{group}/providers/Microsoft.ServiceBus/namespaces/{name}"
    return res(tokens.AZ_SB_NAMESPACE, name, {"namespaceName": name, "resourceGroupName": group}, id=arm)


def _alert(name: str, scopes: list[Any], **props: Any) -> Resource:
    criteria = {
        "odataType": "Microsoft.Azure.Monitor.MultipleResourceMultipleMetricCriteria",
        "allOf": [{"criterionType": "StaticThresholdCriterion", "metricName": "DeadletteredMessages"}],
    }
    base = {"enabled": True, "scopes": scopes, "criteria": criteria, "actions": [{"actionGroupId": "ag"}]}
    return res(tokens.AZ_METRIC_ALERT, name, {**base, **props})


def test_each_namespace_needs_an_alert_of_its_own() -> None:
    orders, billing = _namespace("orders"), _namespace("billing")
    resources = [orders, billing, _alert("orders-dlq", [orders.id])]
    assert failing(RULE, resources) == {"billing"}


def test_scope_by_namespace_name_suffix() -> None:
    orders = res(tokens.AZ_SB_NAMESPACE, "orders", {"namespaceName": "acme-orders"})
    scope = f"{SUBSCRIPTION}/resourceGroups/rg/providers/Microsoft.ServiceBus/namespaces/acme-orders"
    assert failing(RULE, [orders, _alert("dlq", [scope])]) == set()


@pytest.mark.parametrize(
    ("target_type", "expected"),
    [
        ("Microsoft.ServiceBus/namespaces", set()),
        ("microsoft.servicebus/NAMESPACES", set()),
        (MISSING, {"orders"}),
    ],
)
def test_resource_group_scoped_multi_resource_alert(target_type: Any, expected: set[str]) -> None:
    orders = _namespace("orders", group="messaging-rg")
    extra = {} if target_type is MISSING else {"targetResourceType": target_type}
    alert = _alert("all-dlq", [f"{SUBSCRIPTION}/resourceGroups/messaging-rg"], **extra)
    assert failing(RULE, [orders, alert]) == expected
    other_group = _alert("other-dlq", [f"{SUBSCRIPTION}/resourceGroups/other-rg"], **extra)
    assert failing(RULE, [orders, other_group]) == {"orders"}


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("path", ["enabled", "criteria.allOf[0].metricName", "actions", "criteria"])
def test_unknown_is_undecided_never_a_pass(prod_run: ProgramRun, shape: str, path: str) -> None:
    loaded = shape_of(mutate(prod_run.resources, ALERT, {path: UNKNOWN}), shape)
    assert undecided(RULE, loaded) == {NAMESPACE}
    assert failing(RULE, loaded) == set()
    assert levels(RULE, loaded, PROD) == {(NAMESPACE, "advisory")}
    strict = PolicyTargets.for_environment("prod", unknown_is_violation=True)
    assert levels(RULE, loaded, strict) == {(NAMESPACE, "mandatory")}


def test_first_preview(prod_preview_run: ProgramRun) -> None:
    for loaded in shapes(prod_preview_run.resources).values():
        assert failing(RULE, loaded) == set()
        assert undecided(RULE, loaded) == set()
    disabled = mutate(prod_preview_run.resources, ALERT, {"enabled": False})
    assert failing(RULE, disabled) == {NAMESPACE}
    # Scopes are the namespace's unknown id: without dependencies nobody can tell what the alert covers.
    stripped = without_dependencies(prod_preview_run.resources)
    assert undecided(RULE, stripped) == {NAMESPACE}
    assert failing(RULE, stripped) == set()


def test_staging_targets_make_violations_advisory(staging_run: ProgramRun) -> None:
    disabled = mutate(staging_run.resources, ALERT, {"enabled": False})
    assert levels(RULE, disabled, STAGING) == {(NAMESPACE, "advisory")}
    assert levels(RULE, disabled, PROD) == {(NAMESPACE, "mandatory")}
