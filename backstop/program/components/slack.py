"""Azure Monitor alerts delivered to Slack in a form Slack shows.

An action group's webhook receiver posts Azure's common alert schema, a JSON body without the `text` field
a Slack incoming webhook requires, so Slack rejects it. Here the action group hands the alert to a Logic
App instead; the Logic App turns the common alert schema into a Slack message (`{"text": ...}`) and posts
it to the incoming webhook, which it holds as a `SecureString` parameter (hidden from run history).

Seed basis (WiserReview, Monitoring and Alerting): "All critical infrastructure alerts flow to the
engineering team's Slack #alerts channel."

Every Azure Monitor alert of the posture lists `SlackAlertRouting.action_group` in its `actions`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi_azure_native import logic, monitor

from backstop.ground import tokens

# The Logic App's HTTP trigger; Azure Monitor calls its callback URL.
TRIGGER_NAME = "azure-monitor-alert"
WEBHOOK_PARAMETER = "slackWebhookUrl"
WORKFLOW_SCHEMA = "https://schema.management.azure.com/providers/Microsoft.Logic/schemas/2016-06-01/workflowdefinition.json#"
# Marks every message the relay posts, so a reader knows where it came from.
MESSAGE_PREFIX = "[backstop]"
# The Slack `text` the relay posts, from the common alert schema's `data.essentials` (the body Azure Monitor
# sends when `useCommonAlertSchema` is on, test notifications included).
_ESSENTIAL = "triggerBody()?['data']?['essentials']?['{field}']"


def _essential(field: str) -> str:
    return _ESSENTIAL.format(field=field)


SLACK_TEXT = (
    f"{MESSAGE_PREFIX} Azure Monitor @{{{_essential('monitorCondition')}}} "
    f"(severity @{{{_essential('severity')}}}): @{{{_essential('alertRule')}}}. "
    f"@{{{_essential('description')}}} Fired @{{{_essential('firedDateTime')}}} "
    f"on @{{string({_essential('alertTargetIDs')})}}"
)


def relay_definition() -> dict[str, Any]:
    """The Logic App workflow definition: HTTP trigger in, one HTTP POST of `{"text": ...}` to Slack out."""
    return {
        "$schema": WORKFLOW_SCHEMA,
        "contentVersion": "1.0.0.0",
        "parameters": {WEBHOOK_PARAMETER: {"type": "SecureString"}},
        "triggers": {TRIGGER_NAME: {"type": "Request", "kind": "Http", "inputs": {"schema": {}}}},
        "actions": {
            "post-to-slack": {
                "type": "Http",
                "runAfter": {},
                "inputs": {
                    "method": "POST",
                    "uri": f"@parameters('{WEBHOOK_PARAMETER}')",
                    "headers": {"Content-Type": "application/json"},
                    "body": {"text": SLACK_TEXT},
                },
            }
        },
        "outputs": {},
    }


@dataclass(frozen=True)
class SlackAlertRoutingArgs:
    resource_group_name: pulumi.Input[str]
    location: str
    slack_webhook_url: pulumi.Input[str]
    tags: dict[str, str]


class SlackAlertRouting(pulumi.ComponentResource):
    """The action group that brings an Azure Monitor alert to Slack, through a Logic App relay.

    `action_group` is what other components put in a `MetricAlert`'s `actions` (by its `id`).
    """

    relay: logic.Workflow
    action_group: monitor.ActionGroup

    def __init__(
        self, name: str, args: SlackAlertRoutingArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(tokens.COMPONENT_SLACK_ROUTING, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.relay = logic.Workflow(
            f"{name}-relay",
            resource_group_name=args.resource_group_name,
            location=args.location,
            state=logic.WorkflowState.ENABLED,
            definition=relay_definition(),
            parameters={
                WEBHOOK_PARAMETER: logic.WorkflowParameterArgs(
                    type=logic.ParameterType.SECURE_STRING,
                    value=pulumi.Output.secret(args.slack_webhook_url),
                )
            },
            tags=args.tags,
            opts=child,
        )
        # The trigger's URL carries a SAS signature: anyone holding it can post into the relay.
        callback = logic.list_workflow_trigger_callback_url_output(
            resource_group_name=args.resource_group_name,
            workflow_name=self.relay.name,
            trigger_name=TRIGGER_NAME,
            opts=pulumi.InvokeOutputOptions(parent=self),
        )
        callback_url: pulumi.Output[str] = pulumi.Output.secret(
            callback.apply(lambda result: str(result.value))
        )
        self.action_group = monitor.ActionGroup(
            f"{name}-action-group",
            resource_group_name=args.resource_group_name,
            group_short_name="slack",
            enabled=True,
            location="global",
            logic_app_receivers=[
                monitor.LogicAppReceiverArgs(
                    name="slack-relay",
                    resource_id=self.relay.id,
                    callback_url=callback_url,
                    use_common_alert_schema=True,
                )
            ],
            tags=args.tags,
            opts=child,
        )
        self.register_outputs({"actionGroupId": self.action_group.id, "relayId": self.relay.id})
