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
    # A webhook to some other relay is not the stack's Slack relay: what it posts, and where, is unknown.
    hooked = mutate(
        email_only,
        "messaging-dlq-action-group",
        {"webhookReceivers": [{"name": "slack", "serviceUri": "https://relay.example.com/alerts"}]},
    )
    assert failing(RULE, without_dependencies(hooked)) == {ACCOUNT}
    # A webhook to the declared relay's trigger URL counts, until the group is disabled.
    relay = mutate(hooked, RELAY, {"accessEndpoint": RELAY_ENDPOINT})
    to_relay = mutate(
        relay,
        "messaging-dlq-action-group",
        {"webhookReceivers": [{"name": "slack", "serviceUri": RELAY_TRIGGER_URL}]},
    )
    assert failing(RULE, without_dependencies(to_relay)) == set()
    disabled = mutate(to_relay, "messaging-dlq-action-group", {"enabled": False})
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


RELAY = "slack-alerts-relay"
RELAY_ENDPOINT = "https://prod-27.eastus.logic.azure.com:443/workflows/0f1e2d3c4b5a69788796a5b4c3d2e1f0"
RELAY_TRIGGER_URL = (
    RELAY_ENDPOINT + "/triggers/azure-monitor-alert/paths/invoke?api-version=2016-10-01&sp=%2Ftriggers"
    "%2Fazure-monitor-alert%2Frun&sv=1.0&sig=c2lnbmF0dXJl"
)
PAGERDUTY = "https://events.pagerduty.com/integration/0123456789abcdef0123456789abcdef/enqueue"
OTHER_LOGIC_APP_ID = (
    "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-wiser-prod-backup/providers/"
    "Microsoft.Logic/workflows/pagerduty-relay"
)
DLQ_GROUP = "messaging-dlq-action-group"
# The relay's own output and another declared resource, as the engine records what a receiver list was
# computed from (a secret list: the SDK sends the whole list as one unreadable value).
FROM_RELAY, FROM_WEB_APP = "relay", "web app"


def _storage_alert_notifies_only(resources: list[Any], receivers: dict[str, Any], source: str | None) -> Any:
    """The storage alert notifying the e-mail group alone, with `receivers` set on that group and, for
    `source`, the engine's word that they were computed from the relay or from a web app (none
    otherwise). Everything else keeps the dependencies the program gave it."""
    group = named(resources, DLQ_GROUP)
    alert_deps = {**named(resources, STORAGE_ALERT).property_dependencies, "actions": (group.urn,)}
    group_id = group.id if isinstance(group.id, str) else UNKNOWN  # no id before a first `up`
    alone = mutate(
        resources, STORAGE_ALERT, {"actions": [{"actionGroupId": group_id}]}, property_dependencies=alert_deps
    )
    deps = {}
    if source is not None:
        urn = named(resources, RELAY if source == FROM_RELAY else APP).urn
        deps = {key: (urn,) for key in receivers}
    return mutate(alone, DLQ_GROUP, receivers, property_dependencies=deps)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(
    ("receivers", "source", "expected_failing", "expected_undecided"),
    [
        pytest.param(
            {"webhookReceivers": [{"name": "s", "serviceUri": "https://hooks.slack.com/services/T0/B0/x"}]},
            None,
            {ACCOUNT},
            set(),
            id="webhook-straight-to-slack-gets-the-azure-schema",
        ),
        pytest.param(
            {"webhookReceivers": [{"name": "r", "serviceUri": "https://relay.example.com/alerts"}]},
            None,
            {ACCOUNT},
            set(),
            id="webhook-to-an-unknown-relay-literal",
        ),
        pytest.param(
            {"webhookReceivers": [{"name": "p", "serviceUri": PAGERDUTY}]},
            None,
            {ACCOUNT},
            set(),
            id="webhook-to-pagerduty",
        ),
        pytest.param(
            {"webhookReceivers": [{"name": "r", "serviceUri": UNKNOWN}]},
            None,
            set(),
            {ACCOUNT},
            id="unknown-webhook-url-nothing-says-from-what",
        ),
        pytest.param(
            {"webhookReceivers": [{"name": "r", "serviceUri": UNKNOWN}]},
            FROM_RELAY,
            set(),
            set(),
            id="webhook-url-computed-from-the-declared-relay",
        ),
        pytest.param(
            {"webhookReceivers": [{"name": "r", "serviceUri": UNKNOWN}]},
            FROM_WEB_APP,
            {ACCOUNT},
            set(),
            id="webhook-url-computed-from-a-web-app",
        ),
        pytest.param({"webhookReceivers": UNKNOWN}, None, set(), {ACCOUNT}, id="unreadable-receiver-list"),
        pytest.param(
            {"webhookReceivers": UNKNOWN}, FROM_RELAY, set(), set(), id="secret-list-computed-from-the-relay"
        ),
        pytest.param(
            {"logicAppReceivers": UNKNOWN},
            FROM_WEB_APP,
            {ACCOUNT},
            set(),
            id="secret-list-computed-from-a-web-app",
        ),
        pytest.param(
            {
                "logicAppReceivers": [
                    {"name": "l", "resourceId": OTHER_LOGIC_APP_ID, "callbackUrl": PAGERDUTY}
                ]
            },
            None,
            {ACCOUNT},
            set(),
            id="logic-app-receiver-that-is-not-the-relay",
        ),
        pytest.param(
            {"azureFunctionReceivers": [{"name": "f", "functionName": "relay"}]},
            None,
            {ACCOUNT},
            set(),
            id="function-receiver-cannot-be-read",
        ),
    ],
)
def test_only_receivers_reaching_the_declared_slack_relay_count(
    prod_run: ProgramRun,
    shape: str,
    receivers: dict[str, Any],
    source: str | None,
    expected_failing: set[str],
    expected_undecided: set[str],
) -> None:
    loaded = shape_of(_storage_alert_notifies_only(prod_run.resources, receivers, source), shape)
    assert failing(RULE, loaded) == expected_failing
    assert undecided(RULE, loaded) == expected_undecided


@pytest.mark.parametrize("shape", SHAPES)
def test_a_receiver_naming_the_relay_by_its_id_or_trigger_url_counts(
    prod_run: ProgramRun, shape: str
) -> None:
    relay = named(prod_run.resources, RELAY)
    known = mutate(prod_run.resources, RELAY, {"accessEndpoint": RELAY_ENDPOINT})
    by_id = {
        "logicAppReceivers": [{"name": "l", "resourceId": relay.id.upper(), "callbackUrl": RELAY_TRIGGER_URL}]
    }
    by_url = {"webhookReceivers": [{"name": "w", "serviceUri": RELAY_TRIGGER_URL.replace(":443", "")}]}
    for receivers in (by_id, by_url):
        loaded = shape_of(_storage_alert_notifies_only(known, receivers, None), shape)
        assert failing(RULE, loaded) == set() == undecided(RULE, loaded)
    # The relay's id but a callback to somewhere else: Azure Monitor posts to the callback URL.
    elsewhere = {"logicAppReceivers": [{"name": "l", "resourceId": relay.id, "callbackUrl": PAGERDUTY}]}
    loaded = shape_of(_storage_alert_notifies_only(known, elsewhere, None), shape)
    assert failing(RULE, loaded) == {ACCOUNT}


def test_a_trigger_url_of_a_relay_not_created_yet_is_unknown(prod_preview_run: ProgramRun) -> None:
    """At a first preview the relay has no endpoint yet: a Logic App trigger URL may be its, so unknown."""
    assert named(prod_preview_run.resources, RELAY).props.get("accessEndpoint") in (None, UNKNOWN)
    receivers = {"webhookReceivers": [{"name": "w", "serviceUri": RELAY_TRIGGER_URL}]}
    loaded = _storage_alert_notifies_only(prod_preview_run.resources, receivers, None)
    assert undecided(RULE, loaded) == {ACCOUNT} and failing(RULE, loaded) == set()
    # Not a Logic App URL at all: no declared relay can be behind it.
    elsewhere = {"webhookReceivers": [{"name": "w", "serviceUri": PAGERDUTY}]}
    loaded = _storage_alert_notifies_only(prod_preview_run.resources, elsewhere, None)
    assert failing(RULE, loaded) == {ACCOUNT} and undecided(RULE, loaded) == set()


EVERY_WATCHED = {APP, "wiser-prod-app-secondary", CACHE, ACCOUNT}


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(
    ("changes", "expected_failing", "expected_undecided"),
    [
        pytest.param({"state": "Disabled"}, EVERY_WATCHED, set(), id="relay-disabled"),
        pytest.param(
            {"definition.actions.post-to-slack.inputs.uri": PAGERDUTY},
            EVERY_WATCHED,
            set(),
            id="relay-posts-to-pagerduty",
        ),
        pytest.param(
            {"definition.actions.post-to-slack.inputs.body": {"event_action": "trigger"}},
            EVERY_WATCHED,
            set(),
            id="relay-posts-no-slack-text",
        ),
        pytest.param(
            {"definition.actions.post-to-slack.inputs.uri": "https://hooks.slack.com/services/T0/B0/x"},
            set(),
            set(),
            id="relay-posts-slack-text-to-a-literal-slack-url",
        ),
        pytest.param({"definition": UNKNOWN}, set(), EVERY_WATCHED, id="relay-definition-unknown"),
        pytest.param({"state": UNKNOWN}, set(), EVERY_WATCHED, id="relay-state-unknown"),
    ],
)
def test_the_relay_counts_only_while_it_posts_slack_s_format_to_slack(
    prod_run: ProgramRun,
    shape: str,
    changes: dict[str, Any],
    expected_failing: set[str],
    expected_undecided: set[str],
) -> None:
    loaded = shape_of(mutate(prod_run.resources, RELAY, changes), shape)
    assert failing(RULE, loaded) == expected_failing
    assert undecided(RULE, loaded) == expected_undecided


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


def _classic_group_via_relay(group_id: str) -> list[Any]:
    """A classic action group whose webhook posts to a declared Logic App relay's trigger URL."""
    relay = res(
        tokens.AZ_LOGIC_WORKFLOW,
        "relay",
        {
            "state": "Enabled",
            "accessEndpoint": RELAY_ENDPOINT,
            "parameters": {"slackWebhookUrl": {"type": "SecureString", "value": UNKNOWN}},
            "definition": {
                "parameters": {"slackWebhookUrl": {"type": "SecureString"}},
                "actions": {
                    "post": {
                        "type": "Http",
                        "inputs": {
                            "method": "POST",
                            "uri": "@parameters('slackWebhookUrl')",
                            "body": {"text": "x"},
                        },
                    }
                },
            },
        },
        id="/subscriptions/0/resourceGroups/rg/providers/Microsoft.Logic/workflows/relay",
    )
    group = res(
        tokens.AZC_ACTION_GROUP,
        "slack",
        {"webhookReceivers": [{"name": "s", "serviceUri": RELAY_TRIGGER_URL}]},
        id=group_id,
    )
    return [relay, group]


def _cache_alert(cache_id: str, group_id: str, metric: str, type_: str = tokens.AZC_METRIC_ALERT) -> Any:
    criteria = (
        {"criterias": [{"metricName": metric}]}
        if type_ == tokens.AZC_METRIC_ALERT
        else {"enabled": True, "criteria": {"allOf": [{"metricName": metric}]}}
    )
    return res(
        type_,
        "c1-" + metric.lower(),
        {"scopes": [cache_id.upper()], **criteria, "actions": [{"actionGroupId": group_id}]},
    )


GROUP_ID = "/subscriptions/0/resourceGroups/rg/providers/Microsoft.Insights/actionGroups/slack"


def test_classic_cache_and_alert() -> None:
    cache_id = "/subscriptions/0/resourceGroups/rg/providers/Microsoft.Cache/redis/c1"
    cache = res(tokens.AZC_REDIS, "c1", {"name": "c1"}, id=cache_id)
    alert = _cache_alert(cache_id, GROUP_ID, "errors")
    relayed = _classic_group_via_relay(GROUP_ID)
    assert failing(RULE, [cache, *relayed, alert]) == set()  # classic `enabled` defaults to true
    off = mutate([cache, *relayed, alert], "c1-errors", {"enabled": False})
    assert failing(RULE, off) == {"c1"}
    assert failing(RULE, [cache, *relayed]) == {"c1"}
    # The same webhook to a URL that is not the relay's reaches no Slack-readable receiver.
    direct = mutate([cache, *relayed, alert], "slack", {"webhookReceivers[0].serviceUri": "https://x"})
    assert failing(RULE, direct) == {"c1"}


# Every cache token the rule reads (`tokens.AZ_REDIS_CACHES`): (token, ARM provider segment, the property
# naming it, the metric its availability alert watches).
CACHE_CASES = [
    (tokens.AZ_MANAGED_REDIS, "Microsoft.Cache/redisEnterprise", "clusterName", "serverLoad"),
    (tokens.AZ_REDIS, "Microsoft.Cache/redis", "name", "errors"),
    (tokens.AZC_REDIS, "Microsoft.Cache/redis", "name", "errors"),
    (tokens.AZC_MANAGED_REDIS, "Microsoft.Cache/redisEnterprise", "name", "serverLoad"),
]


def test_the_cases_cover_every_cache_token_the_rule_reads() -> None:
    assert {case[0] for case in CACHE_CASES} == tokens.AZ_REDIS_CACHES


@pytest.mark.parametrize(("token", "provider", "name_prop", "metric"), CACHE_CASES)
def test_every_cache_token_is_held_to_an_availability_alert(
    token: str, provider: str, name_prop: str, metric: str
) -> None:
    """Native Azure Managed Redis (what the program declares), native Azure Cache for Redis and both
    classic spellings: an alert by id passes, a literal id of a cache being created (no id yet) passes by
    resource group, type and name, a wrong metric or no alert fails by name."""
    cache_id = f"/subscriptions/0/resourceGroups/rg/providers/{provider}/c1"
    relayed = _classic_group_via_relay(GROUP_ID)
    native_alert = tokens.AZ_METRIC_ALERT
    cache = res(token, "c1", {name_prop: "c1", "resourceGroupName": "rg"}, id=cache_id)
    assert failing(RULE, [cache, *relayed, _cache_alert(cache_id, GROUP_ID, metric, native_alert)]) == set()
    being_created = res(token, "c1", {name_prop: "c1", "resourceGroupName": "rg"})
    alert = _cache_alert(cache_id, GROUP_ID, metric, native_alert)
    assert (
        failing(RULE, [being_created, *relayed, alert])
        == set()
        == undecided(RULE, [being_created, *relayed, alert])
    )
    wrong = _cache_alert(cache_id, GROUP_ID, "CpuTime", native_alert)
    assert failing(RULE, [cache, *relayed, wrong]) == {"c1"}
    assert failing(RULE, [cache, *relayed]) == {"c1"}
    other_cache = cache_id.replace("/c1", "/c2")
    assert failing(RULE, [cache, *relayed, _cache_alert(other_cache, GROUP_ID, metric, native_alert)]) == {
        "c1"
    }


def test_the_shipped_cache_is_native_managed_redis(prod_run: ProgramRun) -> None:
    assert named(prod_run.resources, CACHE).type == tokens.AZ_MANAGED_REDIS
    alone = without(prod_run.resources, *CACHE_ALERTS)
    assert failing(RULE, alone) == {CACHE}


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
