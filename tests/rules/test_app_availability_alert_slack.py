"""app-availability-alert-slack: every web app, cache and storage account has an enabled availability
alert whose action groups include one that reaches Slack."""

from __future__ import annotations

from typing import Any

import pytest

from backstop.ground import tokens
from backstop.ground.resources import UNKNOWN
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
    named,
    res,
    shape_of,
    undecided,
    without,
    without_dependencies,
)

RULE = "app-availability-alert-slack"
PROD = PolicyTargets.for_environment("prod")
STAGING = PolicyTargets.for_environment("staging")
APP = "wiser-prod-app"
CACHE = "cache"
ACCOUNT = "media-blobs"
APP_ALERTS = ("wiser-prod-app-healthcheckstatus-alert", "wiser-prod-app-http5xx-alert")
CACHE_ALERTS = ("wiser-prod-cache-errors-alert", "wiser-prod-cache-serverload-alert")
STORAGE_ALERT = "wiserprodmedia-availability-alert"
SLACK_GROUP = "slack-alerts-action-group"


def test_shipped_stacks_pass(prod_run: ProgramRun, staging_run: ProgramRun) -> None:
    assert failing(RULE, prod_run.resources) == set() == undecided(RULE, prod_run.resources)
    assert failing(RULE, staging_run.resources, STAGING) == set() == undecided(RULE, staging_run.resources)


@pytest.mark.parametrize("token_set", TOKEN_SETS)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(
    ("removed", "expected"),
    [
        (APP_ALERTS, {APP}),
        (APP_ALERTS[:1], set()),  # one availability alert is enough
        (CACHE_ALERTS, {CACHE}),
        ((STORAGE_ALERT,), {ACCOUNT}),
        ((SLACK_GROUP,), {APP, "wiser-prod-app-secondary", CACHE, ACCOUNT}),
    ],
)
def test_missing_alert_or_slack_group_fails(
    prod_run: ProgramRun, token_set: str, shape: str, removed: tuple[str, ...], expected: set[str]
) -> None:
    loaded = shape_of(without(declared(prod_run, token_set), *removed), shape)
    assert failing(RULE, loaded) == expected
    assert undecided(RULE, loaded) == set()


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"enabled": False}, "is not enabled"),
        ({"criteria.allOf[0].metricName": "CpuTime"}, "watches none of"),
        ({"actions": []}, "notifies no action group with a Slack"),
    ],
)
def test_deficient_storage_alert_is_named(
    prod_run: ProgramRun, shape: str, changes: dict[str, Any], message: str
) -> None:
    # The engine's dependencies of `actions` follow its value: none for an empty list.
    deps = {} if "actions" in changes else None
    changed = mutate(prod_run.resources, STORAGE_ALERT, changes)
    if deps is not None:
        changed = mutate(changed, STORAGE_ALERT, {}, property_dependencies=deps)
    loaded = shape_of(changed, shape)
    assert failing(RULE, loaded) == {ACCOUNT}
    (finding,) = [f for f in findings(RULE, loaded) if not f.unknown]
    assert message in finding.message


def test_email_only_group_does_not_reach_slack(prod_run: ProgramRun) -> None:
    engineering = named(prod_run.resources, "messaging-dlq-action-group").id
    email_only = mutate(prod_run.resources, STORAGE_ALERT, {"actions": [{"actionGroupId": engineering}]})
    assert failing(RULE, without_dependencies(email_only)) == {ACCOUNT}
    # A webhook receiver to a relay counts (one straight to hooks.slack.com does not, see below).
    hooked = mutate(
        email_only,
        "messaging-dlq-action-group",
        {"webhookReceivers": [{"name": "slack", "serviceUri": "https://relay.example.com/alerts"}]},
    )
    assert failing(RULE, without_dependencies(hooked)) == set()
    disabled = mutate(hooked, "messaging-dlq-action-group", {"enabled": False})
    assert failing(RULE, without_dependencies(disabled)) == {ACCOUNT}


def test_a_declared_secret_receiver_list_counts_when_computed_from_the_relay(prod_run: ProgramRun) -> None:
    group = named(prod_run.resources, SLACK_GROUP)
    assert group.props["logicAppReceivers"] is UNKNOWN  # a secret: the callback URL carries a signature
    assert failing(RULE, prod_run.resources) == set() == undecided(RULE, prod_run.resources)
    # Without the engine's word that the list was computed from the Logic App relay, it is unreadable:
    # unknown, never a pass.
    hidden = without_dependencies(prod_run.resources)
    assert failing(RULE, hidden) == set()
    assert undecided(RULE, hidden) == {APP, "wiser-prod-app-secondary", CACHE, ACCOUNT}
    # No receiver list at all: the Slack group reaches nobody.
    bare = mutate(prod_run.resources, SLACK_GROUP, {"logicAppReceivers": MISSING})
    assert failing(RULE, bare) == {APP, "wiser-prod-app-secondary", CACHE, ACCOUNT}


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(
    ("receivers", "expected_failing", "expected_undecided"),
    [
        pytest.param(
            {"webhookReceivers": [{"name": "s", "serviceUri": "https://hooks.slack.com/services/T0/B0/x"}]},
            {ACCOUNT},
            set(),
            id="webhook-straight-to-slack-is-rejected-by-slack",
        ),
        pytest.param(
            {"webhookReceivers": [{"name": "r", "serviceUri": "https://relay.example.com/alerts"}]},
            set(),
            set(),
            id="webhook-to-a-relay",
        ),
        pytest.param(
            {"webhookReceivers": [{"name": "r", "serviceUri": UNKNOWN}]},
            set(),
            {ACCOUNT},
            id="unknown-webhook-url",
        ),
        pytest.param({"webhookReceivers": UNKNOWN}, set(), {ACCOUNT}, id="unreadable-receiver-list"),
        pytest.param(
            {"azureFunctionReceivers": [{"name": "f", "functionName": "relay"}]},
            set(),
            set(),
            id="function-relay",
        ),
    ],
)
def test_only_slack_readable_receivers_count(
    prod_run: ProgramRun,
    shape: str,
    receivers: dict[str, Any],
    expected_failing: set[str],
    expected_undecided: set[str],
) -> None:
    engineering = named(prod_run.resources, "messaging-dlq-action-group").id
    alone = mutate(prod_run.resources, STORAGE_ALERT, {"actions": [{"actionGroupId": engineering}]})
    hooked = without_dependencies(mutate(alone, "messaging-dlq-action-group", receivers))
    loaded = shape_of(hooked, shape)
    assert ACCOUNT in failing(RULE, loaded) if expected_failing else ACCOUNT not in failing(RULE, loaded)
    assert (ACCOUNT in undecided(RULE, loaded)) == bool(expected_undecided)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("path", ["enabled", "criteria", "actions", "actions[0].actionGroupId"])
def test_unknown_is_undecided_never_a_pass(prod_run: ProgramRun, shape: str, path: str) -> None:
    # Without the engine's dependencies nothing settles an unknown action group id.
    changed = mutate(prod_run.resources, STORAGE_ALERT, {path: UNKNOWN}, property_dependencies={})
    if path.startswith("actions"):
        changed = mutate(changed, STORAGE_ALERT, {"actions[1]": MISSING} if path != "actions" else {})
    loaded = shape_of(changed, shape)
    assert undecided(RULE, loaded) == {ACCOUNT} and failing(RULE, loaded) == set()
    assert levels(RULE, loaded, PROD) == {(ACCOUNT, "advisory")}


def test_classic_cache_and_alert() -> None:
    cache_id = "/subscriptions/0/resourceGroups/rg/providers/Microsoft.Cache/redis/c1"
    group_id = "/subscriptions/0/resourceGroups/rg/providers/Microsoft.Insights/actionGroups/slack"
    cache = res(tokens.AZC_REDIS, "c1", {"name": "c1"}, id=cache_id)
    group = res(
        tokens.AZC_ACTION_GROUP,
        "slack",
        {"webhookReceivers": [{"name": "s", "serviceUri": "https://x"}]},
        id=group_id,
    )
    alert = res(
        tokens.AZC_METRIC_ALERT,
        "c1-errors",
        {
            "scopes": [cache_id.upper()],
            "criterias": [{"metricName": "errors"}],
            "actions": [{"actionGroupId": group_id}],
        },
    )
    assert failing(RULE, [cache, group, alert]) == set()  # classic `enabled` defaults to true
    off = mutate([cache, group, alert], "c1-errors", {"enabled": False})
    assert failing(RULE, off) == {"c1"}
    assert failing(RULE, [cache, group]) == {"c1"}


def test_staging_targets_make_violations_advisory(staging_run: ProgramRun) -> None:
    loaded = without(staging_run.resources, "wiserstagingmedia-availability-alert")
    assert levels(RULE, loaded, STAGING) == {(ACCOUNT, "advisory")}
    assert levels(RULE, loaded, PROD) == {(ACCOUNT, "mandatory")}


def test_unknown_group_ids_are_settled_by_dependencies(prod_run: ProgramRun) -> None:
    loaded = mutate(
        prod_run.resources,
        STORAGE_ALERT,
        {"actions[0].actionGroupId": UNKNOWN, "actions[1].actionGroupId": UNKNOWN},
    )
    assert failing(RULE, loaded) == set() == undecided(RULE, loaded)


def _literal_scope(resources: list[Any], scope: str) -> list[Any]:
    """The storage alert scoped by a literal ARM id, as a user copies it from the portal: no dependency."""
    deps = dict(named(resources, STORAGE_ALERT).property_dependencies)
    deps.pop("scopes")
    return mutate(resources, STORAGE_ALERT, {"scopes": [scope]}, property_dependencies=deps)


ACCOUNT_ID = (
    "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/RG-WISER-PROD-BACKUP/providers/"
    "Microsoft.Storage/storageAccounts/{name}"
)


@pytest.mark.parametrize("shape", SHAPES)
def test_a_literal_arm_id_of_a_resource_being_created_is_resolved_by_group_type_and_name(
    prod_preview_run: ProgramRun, shape: str
) -> None:
    """At a first preview the account has no id; its literal ARM id still names it (resource group from
    the declared group it was computed from, provider type, name), as ARM compares ids (case ignored)."""
    loaded = shape_of(
        _literal_scope(prod_preview_run.resources, ACCOUNT_ID.format(name="wiserprodmedia")), shape
    )
    assert named(loaded, ACCOUNT).id in (None, UNKNOWN) or shape == "export"
    assert ACCOUNT not in failing(RULE, loaded) | undecided(RULE, loaded)
    other = shape_of(_literal_scope(prod_preview_run.resources, ACCOUNT_ID.format(name="someoneelse")), shape)
    assert ACCOUNT in failing(RULE, other)


@pytest.mark.parametrize("shape", SHAPES)
def test_a_literal_arm_id_whose_group_is_unknown_is_undecided_never_a_violation(
    prod_preview_run: ProgramRun, shape: str
) -> None:
    scoped = _literal_scope(prod_preview_run.resources, ACCOUNT_ID.format(name="wiserprodmedia"))
    account = named(scoped, ACCOUNT)
    deps = {k: v for k, v in account.property_dependencies.items() if k != "resourceGroupName"}
    loaded = shape_of(mutate(scoped, ACCOUNT, {}, property_dependencies=deps), shape)
    assert ACCOUNT in undecided(RULE, loaded)
    assert ACCOUNT not in failing(RULE, loaded)
    assert (ACCOUNT, "advisory") in levels(RULE, loaded, PROD)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(
    ("group", "expected_failing", "expected_undecided"),
    [("RG-WISER-PROD-BACKUP", set(), {ACCOUNT}), ("rg-somewhere-else", {ACCOUNT}, set())],
)
def test_an_auto_named_resource_is_perhaps_named_only_in_its_own_resource_group(
    prod_preview_run: ProgramRun,
    shape: str,
    group: str,
    expected_failing: set[str],
    expected_undecided: set[str],
) -> None:
    """Without `accountName` the provider adds a random suffix: a literal id in the account's resource group
    may name it (unknown); one in another resource group cannot (the alert covers nothing here)."""
    scope = ACCOUNT_ID.format(name="wiserprodmedia1a2b3c").replace("RG-WISER-PROD-BACKUP", group)
    auto_named = mutate(_literal_scope(prod_preview_run.resources, scope), ACCOUNT, {"accountName": MISSING})
    loaded = shape_of(auto_named, shape)
    assert ACCOUNT in failing(RULE, loaded) if expected_failing else ACCOUNT not in failing(RULE, loaded)
    assert (ACCOUNT in undecided(RULE, loaded)) == bool(expected_undecided)
