"""azure-critical-alerts-slack: every enabled alert of severity 0 or 1 notifies a group that reaches Slack."""

from __future__ import annotations

from typing import Any

import pytest

from backstop.ground import tokens
from backstop.ground.resources import UNKNOWN
from backstop.policy.targets import PolicyTargets
from backstop.program.mocks import ProgramRun
from tests.policy_support import (
    SHAPES,
    TOKEN_SETS,
    declared,
    failing,
    levels,
    mutate,
    named,
    res,
    shape_of,
    undecided,
    without,
)

RULE = "azure-critical-alerts-slack"
PROD = PolicyTargets.for_environment("prod")
STAGING = PolicyTargets.for_environment("staging")
ALERT = "wiser-prod-cache-serverload-alert"
DLQ_ALERT = "messaging-dead-letter-alert"


def _critical_alerts(run: ProgramRun) -> set[str]:
    return {r.name for r in run.resources if r.type == tokens.AZ_METRIC_ALERT and r.props["severity"] <= 1}


def test_shipped_stacks_pass(prod_run: ProgramRun, staging_run: ProgramRun) -> None:
    # The availability alerts of two apps (two each), the Managed Redis cache's server load, storage.
    assert len(_critical_alerts(prod_run)) == 6
    assert failing(RULE, prod_run.resources) == set() == undecided(RULE, prod_run.resources)
    assert failing(RULE, staging_run.resources, STAGING) == set()


@pytest.mark.parametrize("token_set", TOKEN_SETS)
@pytest.mark.parametrize("shape", SHAPES)
def test_without_the_slack_group_every_critical_alert_fails(
    prod_run: ProgramRun, token_set: str, shape: str
) -> None:
    loaded = shape_of(without(declared(prod_run, token_set), "slack-alerts-action-group"), shape)
    # The dead-letter alert is severity 2: not critical, so not held to Slack by this rule.
    assert failing(RULE, loaded) == _critical_alerts(prod_run)


@pytest.mark.parametrize("shape", SHAPES)
def test_severity_decides_what_is_critical(prod_run: ProgramRun, shape: str) -> None:
    engineering = named(prod_run.resources, "messaging-dlq-action-group").id
    email_only = mutate(
        prod_run.resources, ALERT, {"actions": [{"actionGroupId": engineering}]}, property_dependencies={}
    )
    assert failing(RULE, shape_of(email_only, shape)) == {ALERT}
    minor = mutate(email_only, ALERT, {"severity": 2.0})
    assert failing(RULE, shape_of(minor, shape)) == set()
    off = mutate(email_only, ALERT, {"enabled": False})
    assert failing(RULE, shape_of(off, shape)) == set()
    dlq_critical = mutate(prod_run.resources, DLQ_ALERT, {"severity": 0.0})
    assert failing(RULE, shape_of(dlq_critical, shape)) == set()  # it notifies the Slack group too


def test_threshold_is_a_tunable(prod_run: ProgramRun) -> None:
    engineering = named(prod_run.resources, "messaging-dlq-action-group").id
    email_only = mutate(
        prod_run.resources, DLQ_ALERT, {"actions": [{"actionGroupId": engineering}]}, property_dependencies={}
    )
    assert failing(RULE, email_only) == set()
    assert failing(RULE, email_only, PolicyTargets.for_environment("prod", critical_alert_severity=2)) == {
        DLQ_ALERT
    }


@pytest.mark.parametrize("path", ["severity", "enabled"])
def test_unknown_is_undecided(prod_run: ProgramRun, path: str) -> None:
    loaded = mutate(prod_run.resources, ALERT, {path: UNKNOWN})
    assert undecided(RULE, loaded) == {ALERT} and failing(RULE, loaded) == set()
    assert levels(RULE, loaded, PROD) == {(ALERT, "advisory")}


def test_classic_alert_defaults_to_severity_3() -> None:
    group = res(
        tokens.AZC_ACTION_GROUP, "mail", {"emailReceivers": [{"name": "e", "emailAddress": "a@b.c"}]}, id="g"
    )
    default = res(tokens.AZC_METRIC_ALERT, "default", {"scopes": ["x"], "actions": [{"actionGroupId": "g"}]})
    critical = res(
        tokens.AZC_METRIC_ALERT,
        "critical",
        {"severity": 0, "scopes": ["x"], "actions": [{"actionGroupId": "g"}]},
    )
    assert failing(RULE, [group, default, critical]) == {"critical"}


RELAY = "slack-alerts-relay"
DLQ_GROUP = "messaging-dlq-action-group"
PAGERDUTY = "https://events.pagerduty.com/integration/0123456789abcdef0123456789abcdef/enqueue"
RELAY_ENDPOINT = "https://prod-27.eastus.logic.azure.com:443/workflows/0f1e2d3c4b5a69788796a5b4c3d2e1f0"


def _critical_alert_notifies_only(
    resources: list[Any], receivers: dict[str, Any], computed_from: str | None
) -> list[Any]:
    """The critical cache alert notifying the e-mail group alone, with `receivers` on that group and, for
    `computed_from` (a resource name), the engine's word that they were computed from it."""
    group = named(resources, DLQ_GROUP)
    deps = {**named(resources, ALERT).property_dependencies, "actions": (group.urn,)}
    alone = mutate(resources, ALERT, {"actions": [{"actionGroupId": group.id}]}, property_dependencies=deps)
    receiver_deps = {}
    if computed_from is not None:
        receiver_deps = {key: (named(resources, computed_from).urn,) for key in receivers}
    return mutate(alone, DLQ_GROUP, receivers, property_dependencies=receiver_deps)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(
    ("receivers", "computed_from", "expected_failing", "expected_undecided"),
    [
        pytest.param(
            {"webhookReceivers": [{"name": "s", "serviceUri": "https://hooks.slack.com/services/T0/B0/x"}]},
            None,
            {ALERT},
            set(),
            id="hooks-slack-direct-gets-the-azure-schema",
        ),
        pytest.param(
            {"webhookReceivers": [{"name": "r", "serviceUri": "https://relay.example.com/alerts"}]},
            None,
            {ALERT},
            set(),
            id="relay-example-com-literal",
        ),
        pytest.param(
            {"webhookReceivers": [{"name": "p", "serviceUri": PAGERDUTY}]},
            None,
            {ALERT},
            set(),
            id="pagerduty",
        ),
        pytest.param(
            {"webhookReceivers": [{"name": "r", "serviceUri": UNKNOWN}]},
            None,
            set(),
            {ALERT},
            id="unknown-url-unresolved",
        ),
        pytest.param(
            {"webhookReceivers": [{"name": "r", "serviceUri": UNKNOWN}]},
            RELAY,
            set(),
            set(),
            id="the-declared-relay-s-output",
        ),
        pytest.param(
            {"webhookReceivers": [{"name": "r", "serviceUri": RELAY_ENDPOINT + "/triggers/t/paths/invoke"}]},
            None,
            set(),
            set(),
            id="the-declared-relay-s-trigger-url",
        ),
        pytest.param(
            {"logicAppReceivers": UNKNOWN}, "wiser-prod-app", {ALERT}, set(), id="secret-from-a-web-app"
        ),
        pytest.param(
            {"azureFunctionReceivers": [{"name": "f", "functionName": "relay"}]},
            None,
            {ALERT},
            set(),
            id="function",
        ),
    ],
)
def test_only_receivers_reaching_the_declared_slack_relay_count(
    prod_run: ProgramRun,
    shape: str,
    receivers: dict[str, Any],
    computed_from: str | None,
    expected_failing: set[str],
    expected_undecided: set[str],
) -> None:
    known = mutate(prod_run.resources, RELAY, {"accessEndpoint": RELAY_ENDPOINT})
    loaded = shape_of(_critical_alert_notifies_only(known, receivers, computed_from), shape)
    assert failing(RULE, loaded) == expected_failing
    assert undecided(RULE, loaded) == expected_undecided


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"state": "Disabled"}, "failing"),
        ({"definition.actions.post-to-slack.inputs.uri": PAGERDUTY}, "failing"),
        ({"definition": UNKNOWN}, "undecided"),
    ],
)
def test_the_relay_must_post_slack_s_format_to_slack(
    prod_run: ProgramRun, changes: dict[str, Any], expected: str
) -> None:
    loaded = mutate(prod_run.resources, RELAY, changes)
    every_critical = _critical_alerts(prod_run)
    if expected == "failing":
        assert failing(RULE, loaded) == every_critical and undecided(RULE, loaded) == set()
    else:
        assert undecided(RULE, loaded) == every_critical and failing(RULE, loaded) == set()
