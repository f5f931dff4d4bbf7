"""The Azure rules on a program written with classic pulumi-azure (`azure:storage/account:Account`, …).

The program below is built with the installed `pulumi_azure` SDK and run under the Pulumi mocks, so every
token and wire name the rules read is the one the SDK really sends; then each rule is checked on it as
mocks, preview JSON and stack export, with one variant per property it reads.
"""

from __future__ import annotations

import inspect
import json
from typing import Any

import pulumi
import pulumi_azure as azure
import pytest

from backstop.ground import tokens
from backstop.ground.resources import UNKNOWN, Resource
from backstop.policy.core import evaluate
from backstop.policy.targets import PolicyTargets
from backstop.policy.values import MISSING
from backstop.program.mocks import ProgramRun, run_with_mocks
from tests.policy_support import SHAPES, failing, mutate, retype, shape_of, shapes, undecided, without

PROD = PolicyTargets.for_environment("prod")
AZURE_RULES = (
    "azure-storage-geo-redundant",
    "azure-storage-public-access-off",
    "azure-blob-soft-delete",
    "servicebus-queue-dead-lettering",
    "servicebus-subscription-dead-lettering",
    "servicebus-dead-letter-alert",
    "app-availability-alert-slack",
    "azure-critical-alerts-slack",
)


def classic_program() -> None:
    group = azure.core.ResourceGroup("media-rg", location="westeurope")
    account = azure.storage.Account(
        "media",
        resource_group_name=group.name,
        location=group.location,
        account_tier="Standard",
        account_replication_type="RAGZRS",
        allow_nested_items_to_be_public=False,
        blob_properties=azure.storage.AccountBlobPropertiesArgs(
            delete_retention_policy=azure.storage.AccountBlobPropertiesDeleteRetentionPolicyArgs(days=14),
            versioning_enabled=True,
            # Blob soft delete does not cover a deleted container (azure-blob-recovery-scope).
            container_delete_retention_policy=azure.storage.AccountBlobPropertiesContainerDeleteRetentionPolicyArgs(
                days=14
            ),
        ),
    )
    namespace = azure.servicebus.Namespace(
        "messaging", resource_group_name=group.name, location=group.location, sku="Standard"
    )
    azure.servicebus.Queue(
        "email-campaigns",
        namespace_id=namespace.id,
        dead_lettering_on_message_expiration=True,
        max_delivery_count=5,
    )
    topic = azure.servicebus.Topic("review-events", namespace_id=namespace.id)
    azure.servicebus.Subscription(
        "review-indexer",
        topic_id=topic.id,
        max_delivery_count=5,
        dead_lettering_on_message_expiration=True,
    )
    group_of_actions = azure.monitoring.ActionGroup(
        "oncall",
        resource_group_name=group.name,
        short_name="oncall",
        email_receivers=[
            azure.monitoring.ActionGroupEmailReceiverArgs(name="sre", email_address="sre@example.com")
        ],
    )
    azure.monitoring.MetricAlert(
        "dead-letters",
        resource_group_name=group.name,
        scopes=[namespace.id],
        criterias=[
            azure.monitoring.MetricAlertCriteriaArgs(
                metric_namespace=tokens.SB_METRIC_NAMESPACE,
                metric_name=tokens.SB_DEAD_LETTER_METRIC,
                aggregation="Maximum",
                operator="GreaterThan",
                threshold=0,
            )
        ],
        actions=[azure.monitoring.MetricAlertActionArgs(action_group_id=group_of_actions.id)],
    )
    # The storage account's availability reaches Slack through a Logic App relay written with classic
    # pulumi-azure: the workflow, its HTTP trigger, and an `ActionHttp` posting Slack's `text` to the
    # incoming webhook held in a workflow parameter.
    relay = azure.logicapps.Workflow(
        "slack-relay",
        resource_group_name=group.name,
        location=group.location,
        workflow_parameters={"slackWebhookUrl": json.dumps({"type": "SecureString"})},
        parameters={"slackWebhookUrl": pulumi.Output.secret("https://hooks.slack.com/services/T0/B0/x")},
    )
    trigger = azure.logicapps.TriggerHttpRequest("alert", logic_app_id=relay.id, schema="{}")
    azure.logicapps.ActionHttp(
        "post-to-slack",
        logic_app_id=relay.id,
        method="POST",
        uri="@parameters('slackWebhookUrl')",
        body=json.dumps({"text": "@{triggerBody()?['data']?['essentials']?['alertRule']}"}),
    )
    slack = azure.monitoring.ActionGroup(
        "slack",
        resource_group_name=group.name,
        short_name="slack",
        logic_app_receivers=[
            azure.monitoring.ActionGroupLogicAppReceiverArgs(
                name="relay",
                resource_id=relay.id,
                callback_url=trigger.callback_url,
                use_common_alert_schema=True,
            )
        ],
    )
    azure.monitoring.MetricAlert(
        "media-availability",
        resource_group_name=group.name,
        scopes=[account.id],
        severity=1,
        criterias=[
            azure.monitoring.MetricAlertCriteriaArgs(
                metric_namespace=tokens.STORAGE_METRIC_NAMESPACE,
                metric_name=tokens.STORAGE_AVAILABILITY_METRIC,
                aggregation="Average",
                operator="LessThan",
                threshold=99.9,
            )
        ],
        actions=[azure.monitoring.MetricAlertActionArgs(action_group_id=slack.id)],
    )


@pytest.fixture(scope="module")
def classic_run() -> ProgramRun:
    return run_with_mocks(classic_program, stack="prod")


def _failing_by_rule(resources: list[Resource]) -> dict[str, set[str]]:
    found = {rule: failing(rule, resources) for rule in AZURE_RULES}
    return {rule: names for rule, names in found.items() if names}


def test_the_sdk_sends_the_tokens_backstop_reads(classic_run: ProgramRun) -> None:
    types = {r.type for r in classic_run.resources}
    assert types == {
        tokens.AZC_RESOURCE_GROUP,
        tokens.AZC_STORAGE_ACCOUNT,
        tokens.AZC_SB_NAMESPACE,
        tokens.AZC_SB_QUEUE,
        tokens.AZC_SB_TOPIC,
        tokens.AZC_SB_SUBSCRIPTION,
        tokens.AZC_ACTION_GROUP,
        tokens.AZC_METRIC_ALERT,
        tokens.AZC_LOGIC_WORKFLOW,
        tokens.AZC_LOGIC_ACTION_HTTP,
        "azure:logicapps/triggerHttpRequest:TriggerHttpRequest",
    }
    action = next(r for r in classic_run.resources if r.type == tokens.AZC_LOGIC_ACTION_HTTP)
    assert set(action.props) >= {"logicAppId", "method", "uri", "body"}
    account = next(r for r in classic_run.resources if r.type == tokens.AZC_STORAGE_ACCOUNT)
    assert account.props["accountReplicationType"] == "RAGZRS"
    assert account.props["allowNestedItemsToBePublic"] is False
    assert account.props["blobProperties"]["deleteRetentionPolicy"] == {"days": 14.0}
    alert = next(r for r in classic_run.resources if r.type == tokens.AZC_METRIC_ALERT)
    assert alert.props["criterias"][0]["metricName"] == "DeadletteredMessages"
    # Left to the provider's documented defaults (true) in the program, and passing on them:
    assert "enabled" not in alert.props
    subscription = next(r for r in classic_run.resources if r.type == tokens.AZC_SB_SUBSCRIPTION)
    assert "deadLetteringOnFilterEvaluationError" not in subscription.props


def test_the_deprecated_eventhub_copies_are_listed_under_their_sdk_tokens() -> None:
    import pulumi_azure.eventhub as eventhub

    sources = {
        tokens.AZC_SB_NAMESPACE_EVENTHUB_ALIAS: eventhub.Namespace,
        tokens.AZC_SB_QUEUE_EVENTHUB_ALIAS: eventhub.Queue,
        tokens.AZC_SB_TOPIC_EVENTHUB_ALIAS: eventhub.Topic,
        tokens.AZC_SB_SUBSCRIPTION_EVENTHUB_ALIAS: eventhub.Subscription,
    }
    for token, cls in sources.items():
        assert f"'{token}'" in inspect.getsource(cls), token


def _param_doc(cls: type, name: str) -> str:
    """The `:param ... name:` line of an SDK args class's docstring."""
    source = inspect.getsource(cls.__init__)
    return next(line for line in source.splitlines() if f"] {name}: " in line)


def test_documented_defaults_backstop_relies_on() -> None:
    assert _param_doc(azure.storage.AccountArgs, "allow_nested_items_to_be_public").endswith(
        "Defaults to `true`."
    )
    assert _param_doc(
        azure.servicebus.SubscriptionArgs, "dead_lettering_on_filter_evaluation_error"
    ).endswith("Defaults to `true`.")
    assert _param_doc(azure.monitoring.MetricAlertArgs, "enabled").endswith("Defaults to `true`.")
    assert _param_doc(azure.servicebus.QueueArgs, "max_delivery_count").endswith("Defaults to `10`.")
    policy = inspect.getsource(azure.storage.outputs.AccountBlobPropertiesDeleteRetentionPolicy.__init__)
    assert "between `1` and `365` days. Defaults to `7`." in policy


@pytest.mark.parametrize("shape", SHAPES)
def test_the_compliant_classic_program_passes_every_azure_rule(classic_run: ProgramRun, shape: str) -> None:
    loaded = shape_of(classic_run.resources, shape)
    assert _failing_by_rule(loaded) == {}
    assert {rule: undecided(rule, loaded) for rule in AZURE_RULES} == {rule: set() for rule in AZURE_RULES}
    report = evaluate(loaded, PROD)
    assert report.exit_code == 0
    # Every classic resource but the resource group and the relay's trigger is read by some rule (the topic
    # by servicebus-auto-delete-on-idle; action groups, the relay workflow and its HTTP action by the
    # rules that follow alerts to Slack).
    assert report.checked_count == 11


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(
    ("name", "changes", "expected"),
    [
        pytest.param("media", {"accountReplicationType": "LRS"}, "azure-storage-geo-redundant", id="lrs"),
        pytest.param("media", {"accountReplicationType": "ZRS"}, "azure-storage-geo-redundant", id="zrs"),
        pytest.param(
            "media", {"allowNestedItemsToBePublic": True}, "azure-storage-public-access-off", id="public"
        ),
        pytest.param(
            "media",
            {"allowNestedItemsToBePublic": MISSING},
            "azure-storage-public-access-off",
            id="public-unset-defaults-true",
        ),
        pytest.param("media", {"blobProperties": MISSING}, "azure-blob-soft-delete", id="no-blob-properties"),
        pytest.param(
            "media",
            {"blobProperties.deleteRetentionPolicy": MISSING},
            "azure-blob-soft-delete",
            id="no-soft-delete",
        ),
        pytest.param(
            "media", {"blobProperties.deleteRetentionPolicy.days": 3}, "azure-blob-soft-delete", id="3-days"
        ),
        pytest.param(
            "email-campaigns",
            {"deadLetteringOnMessageExpiration": False},
            "servicebus-queue-dead-lettering",
            id="queue-expiry-off",
        ),
        pytest.param(
            "email-campaigns",
            {"maxDeliveryCount": 1},
            "servicebus-queue-dead-lettering",
            id="queue-1-delivery",
        ),
        pytest.param(
            "review-indexer",
            {"deadLetteringOnFilterEvaluationError": False},
            "servicebus-subscription-dead-lettering",
            id="subscription-filter-errors-dropped",
        ),
        pytest.param(
            "review-indexer",
            {"deadLetteringOnMessageExpiration": MISSING},
            "servicebus-subscription-dead-lettering",
            id="subscription-expiry-unset",
        ),
        pytest.param("dead-letters", {"enabled": False}, "servicebus-dead-letter-alert", id="alert-disabled"),
        pytest.param(
            "dead-letters",
            {"criterias[0].metricName": "ActiveMessages"},
            "servicebus-dead-letter-alert",
            id="alert-other-metric",
        ),
        pytest.param("dead-letters", {"actions": []}, "servicebus-dead-letter-alert", id="alert-no-action"),
    ],
)
def test_each_classic_property_read_can_fail(
    classic_run: ProgramRun, shape: str, name: str, changes: dict[str, Any], expected: str
) -> None:
    loaded = shape_of(mutate(classic_run.resources, name, changes), shape)
    owner = "messaging" if expected == "servicebus-dead-letter-alert" else name
    assert _failing_by_rule(loaded) == {expected: {owner}}


@pytest.mark.parametrize(
    ("name", "changes"),
    [
        pytest.param("media", {"blobProperties.deleteRetentionPolicy.days": MISSING}, id="days-default-7"),
        pytest.param("review-indexer", {"deadLetteringOnFilterEvaluationError": True}, id="filter-on"),
        pytest.param("dead-letters", {"enabled": True}, id="alert-enabled"),
        pytest.param(
            "dead-letters",
            {
                "criterias": MISSING,
                "dynamicCriteria": {
                    "metricNamespace": tokens.SB_METRIC_NAMESPACE,
                    "metricName": tokens.SB_DEAD_LETTER_METRIC,
                    "aggregation": "Maximum",
                    "operator": "GreaterThan",
                    "alertSensitivity": "Medium",
                },
            },
            id="dynamic-criteria",
        ),
    ],
)
def test_classic_defaults_and_forms_that_pass(
    classic_run: ProgramRun, name: str, changes: dict[str, Any]
) -> None:
    for loaded in shapes(mutate(classic_run.resources, name, changes)).values():
        assert _failing_by_rule(loaded) == {}


def test_a_namespace_without_alert_fails(classic_run: ProgramRun) -> None:
    assert _failing_by_rule(without(classic_run.resources, "dead-letters")) == {
        "servicebus-dead-letter-alert": {"messaging"}
    }


def test_unknowns_are_undecided_not_passed(classic_run: ProgramRun) -> None:
    loaded = mutate(classic_run.resources, "media", {"accountReplicationType": UNKNOWN})
    assert undecided("azure-storage-geo-redundant", loaded) == {"media"}
    loaded = mutate(classic_run.resources, "media", {"blobProperties": UNKNOWN})
    assert undecided("azure-blob-soft-delete", loaded) == {"media"}


def test_deprecated_eventhub_tokens_are_judged_alike(classic_run: ProgramRun) -> None:
    mapping = {
        tokens.AZC_SB_NAMESPACE: tokens.AZC_SB_NAMESPACE_EVENTHUB_ALIAS,
        tokens.AZC_SB_QUEUE: tokens.AZC_SB_QUEUE_EVENTHUB_ALIAS,
        tokens.AZC_SB_TOPIC: tokens.AZC_SB_TOPIC_EVENTHUB_ALIAS,
        tokens.AZC_SB_SUBSCRIPTION: tokens.AZC_SB_SUBSCRIPTION_EVENTHUB_ALIAS,
    }
    broken = mutate(classic_run.resources, "email-campaigns", {"maxDeliveryCount": 1})
    broken = mutate(broken, "review-indexer", {"deadLetteringOnFilterEvaluationError": False})
    aliased = retype(without(broken, "dead-letters"), mapping)
    assert _failing_by_rule(aliased) == {
        "servicebus-queue-dead-lettering": {"email-campaigns"},
        "servicebus-subscription-dead-lettering": {"review-indexer"},
        "servicebus-dead-letter-alert": {"messaging"},
    }


def test_staging_allows_lrs_on_classic_accounts(classic_run: ProgramRun) -> None:
    lrs = mutate(classic_run.resources, "media", {"accountReplicationType": "LRS"})
    assert failing("azure-storage-geo-redundant", lrs, PolicyTargets.for_environment("staging")) == set()


def test_the_report_counts_classic_geo_storage_and_dead_lettering(classic_run: ProgramRun) -> None:
    """`backstop report` reads the classic tokens too: the RAGZRS account is a geo copy, every entity
    dead-letters and the namespace alerts; one classic setting flips each row."""
    from datetime import timedelta

    from backstop.config.stackfile import read_stack_file
    from backstop.report.objectives import AZURE_GEO_RPO, derive
    from tests.conftest import ROOT

    objectives = read_stack_file(ROOT, "prod").stack_config().objectives

    def rows(resources: list[Resource]) -> dict[str, Any]:
        report = derive(resources, objectives, stack="prod")
        return {s.key: (s.achieved_rpo, s.evidence) for s in report.scenarios}

    found = rows(classic_run.resources)
    assert found["object_storage"] == (AZURE_GEO_RPO, ["media"])
    assert found["queue_messages"] == (timedelta(0), ["email-campaigns", "review-indexer"])
    lrs = mutate(classic_run.resources, "media", {"accountReplicationType": "LRS"})
    assert rows(lrs)["object_storage"] == (None, ["media"])
    dropped = mutate(classic_run.resources, "review-indexer", {"deadLetteringOnFilterEvaluationError": False})
    assert rows(dropped)["queue_messages"][0] is None
    unwatched = without(classic_run.resources, "dead-letters")
    assert rows(unwatched)["queue_messages"][0] is None


SLACK_RULES = {
    "app-availability-alert-slack": {"media"},
    "azure-critical-alerts-slack": {"media-availability"},
}


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(
    ("name", "changes"),
    [
        pytest.param("slack-relay", {"enabled": False}, id="relay-disabled"),
        pytest.param(
            "post-to-slack",
            {"uri": "https://events.pagerduty.com/integration/0123/enqueue"},
            id="relay-posts-to-pagerduty",
        ),
        pytest.param("post-to-slack", {"body": json.dumps({"summary": "x"})}, id="relay-posts-no-slack-text"),
        pytest.param("post-to-slack", {"method": "GET"}, id="relay-does-not-post"),
        pytest.param(
            "slack-relay",
            {"parameters": {"slackWebhookUrl": "https://relay.example.com/alerts"}},
            id="relay-parameter-not-slack",
        ),
    ],
)
def test_the_classic_relay_counts_only_while_it_posts_slack_text_to_slack(
    classic_run: ProgramRun, shape: str, name: str, changes: dict[str, Any]
) -> None:
    """A classic Logic App is a Slack relay only while enabled (its documented default) with an
    `ActionHttp` posting Slack's `text` to a Slack incoming webhook."""
    loaded = shape_of(mutate(classic_run.resources, name, changes), shape)
    assert _failing_by_rule(loaded) == SLACK_RULES
    assert _failing_by_rule(without(classic_run.resources, "post-to-slack")) == SLACK_RULES


def test_a_classic_relay_whose_action_is_not_known_yet_is_undecided(classic_run: ProgramRun) -> None:
    loaded = mutate(classic_run.resources, "post-to-slack", {"body": UNKNOWN})
    assert _failing_by_rule(loaded) == {}
    assert {rule: undecided(rule, loaded) for rule in SLACK_RULES} == SLACK_RULES
