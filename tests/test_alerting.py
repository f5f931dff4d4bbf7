"""Alerts Atlas accepts and Slack shows: thresholds checked against the official Atlas spec, the Slack
notification type, and the Azure Monitor → Logic App → Slack relay under Pulumi's mocks."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml

from backstop.config import AlertsConfig
from backstop.ground import tokens
from backstop.ground.resources import SECRET_SIG, SECRET_SIG_KEY
from backstop.program.components import slack as slack_component
from backstop.program.components.atlas import alert_threshold
from tests.test_program import SLACK_TOKEN, TOKEN_KEY, WEBHOOK, WEBHOOK_KEY, MockedStack, _checked, mock_stack

SPEC = Path("/work/shared/reference/atlas-admin-api-v2-backup.yaml")
VENDORED_SPEC = Path(__file__).resolve().parent / "data" / "atlas-alert-config-schemas.json"


@pytest.fixture
def prod_with_slack() -> Iterator[MockedStack]:
    yield from _checked(
        mock_stack("prod", {WEBHOOK_KEY: WEBHOOK, TOKEN_KEY: SLACK_TOKEN}, (WEBHOOK_KEY, TOKEN_KEY))
    )


# --- the official Atlas spec ------------------------------------------------------------------------------


def _alert_schemas() -> dict[str, Any]:
    """The alert-configuration schemas of the Atlas Admin API v2 spec, vendored as JSON for a clean clone."""
    return json.loads(VENDORED_SPEC.read_text(encoding="utf-8"))


def _resolve(schemas: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = schemas[node["$ref"].rsplit("/", 1)[-1]]
    return node


def _threshold_schema_of(event: str) -> dict[str, Any] | None:
    """The `threshold` schema of the `GroupAlertsConfig` variant whose `eventTypeName` enum holds `event`."""
    schemas = _alert_schemas()
    for variant in schemas["GroupAlertsConfig"]["oneOf"]:
        schema = _resolve(schemas, variant)
        event_type = _resolve(schemas, schema["properties"]["eventTypeName"])
        enums = [event_type.get("enum", [])] + [o.get("enum", []) for o in event_type.get("oneOf", [])]
        if any(event in enum for enum in enums):
            threshold = schema["properties"].get("threshold")
            return _resolve(schemas, threshold) if threshold else None
    raise AssertionError(f"{event}: in no alert configuration schema of the spec")


def alert_threshold_schemas(spec: dict[str, Any]) -> dict[str, Any]:
    """From the spec's component schemas: `GroupAlertsConfig`, each variant's `eventTypeName` and
    `threshold` (other properties dropped), and every schema those reference. What the vendored file holds."""
    kept: dict[str, Any] = {"GroupAlertsConfig": spec["GroupAlertsConfig"]}
    pending = [ref["$ref"] for ref in spec["GroupAlertsConfig"]["oneOf"]]
    while pending:
        name = pending.pop().rsplit("/", 1)[-1]
        if name in kept:
            continue
        schema = spec[name]
        if "eventTypeName" in schema.get("properties", {}):
            props = schema["properties"]
            schema = {"properties": {k: props[k] for k in ("eventTypeName", "threshold") if k in props}}
        kept[name] = schema
        pending += re.findall(r"'\$ref': '([^']+)'", repr(schema))
    return kept


def test_vendored_schemas_are_the_official_spec_s() -> None:
    if not SPEC.is_file():
        pytest.skip("the shared reference spec is not on this machine")
    spec = yaml.load(SPEC.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)["components"]["schemas"]
    assert alert_threshold_schemas(spec) == _alert_schemas()


@pytest.mark.parametrize("event", tokens.ATLAS_BACKUP_ALERT_EVENTS)
def test_each_declared_event_has_the_threshold_its_spec_schema_requires(event: str) -> None:
    threshold_schema = _threshold_schema_of(event)
    declared = alert_threshold(event, AlertsConfig(email="ops@example.com"))
    if threshold_schema is None:
        assert declared is None
        return
    assert declared is not None
    properties = threshold_schema["properties"]
    assert declared.operator in properties["operator"]["enum"]
    units = _resolve(_alert_schemas(), properties["units"])
    assert declared.units in units["enum"]
    assert float(declared.threshold or 0).is_integer()  # the spec's threshold is an int32


def test_backstop_knows_the_threshold_units_of_the_spec() -> None:
    for event, units in tokens.ATLAS_THRESHOLD_UNITS.items():
        schema = _threshold_schema_of(event)
        assert schema is not None, event
        assert set(units) == set(_resolve(_alert_schemas(), schema["properties"]["units"])["enum"]), event
        assert schema["properties"]["operator"]["enum"] == [tokens.ATLAS_THRESHOLD_OPERATOR]


def test_thresholds_come_from_config() -> None:
    alerts = AlertsConfig(email="ops@example.com", snapshot_behind_hours=9, key_rotation_days=30)
    behind = alert_threshold("CPS_SNAPSHOT_BEHIND", alerts)
    rotation = alert_threshold("AWS_ENCRYPTION_KEY_NEEDS_ROTATION", alerts)
    assert behind is not None and rotation is not None
    assert (behind.operator, behind.threshold, behind.units) == ("GREATER_THAN", 9, "HOURS")
    assert (rotation.operator, rotation.threshold, rotation.units) == ("GREATER_THAN", 30, "DAYS")


# --- Azure Monitor → Slack --------------------------------------------------------------------------------

# Azure Monitor's common alert schema, as its documentation shows a metric alert (and as test notifications
# of `createNotifications` send it).
COMMON_ALERT = {
    "schemaId": "azureMonitorCommonAlertSchema",
    "data": {
        "essentials": {
            "alertId": "/subscriptions/00000000-0000-0000-0000-000000000000/providers/"
            "Microsoft.AlertsManagement/alerts/b9569717",
            "alertRule": "messaging-dead-letter-alert",
            "severity": "Sev2",
            "signalType": "Metric",
            "monitorCondition": "Fired",
            "monitoringService": "Platform",
            "alertTargetIDs": [
                "/subscriptions/00000000-0000-0000-0000-000000000000/resourcegroups/rg/providers/microsoft.servicebus/namespaces/wiser-prod-messaging"
            ],
            "firedDateTime": "2026-11-30T20:00:00.0000000Z",
            "description": "Dead-lettered messages in Service Bus namespace wiser-prod-messaging",
            "essentialsVersion": "1.0",
            "alertContextVersion": "1.0",
        },
        "alertContext": {},
    },
}
_FIELD = re.compile(r"^triggerBody\(\)((?:\?\['[A-Za-z]+'\])+)$")


def _evaluate(expression: str, body: dict[str, Any]) -> Any:
    """The Logic App expressions the relay uses: null-safe `triggerBody()?['a']?['b']`, and `string(...)`."""
    if expression.startswith("string(") and expression.endswith(")"):
        value = _evaluate(expression[len("string(") : -1], body)
        return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
    match = _FIELD.match(expression)
    assert match, f"unsupported expression {expression}"
    value: Any = body
    for key in re.findall(r"'([A-Za-z]+)'", match.group(1)):
        value = value.get(key) if isinstance(value, dict) else None
    return value


def _render(template: str, body: dict[str, Any]) -> str:
    """String interpolation `@{...}` as Logic Apps does it: null reads as empty."""
    return re.sub(r"@\{([^{}]+)\}", lambda m: str(_evaluate(m.group(1), body) or ""), template)


def test_the_relay_turns_the_common_alert_schema_into_a_slack_message() -> None:
    definition = slack_component.relay_definition()
    [trigger] = definition["triggers"].values()
    assert trigger == {"type": "Request", "kind": "Http", "inputs": {"schema": {}}}
    [action] = definition["actions"].values()
    assert action["type"] == "Http"
    assert action["inputs"]["uri"] == "@parameters('slackWebhookUrl')"
    assert definition["parameters"] == {"slackWebhookUrl": {"type": "SecureString"}}
    body = action["inputs"]["body"]
    assert set(body) == {"text"}  # what a Slack incoming webhook requires
    text = _render(body["text"], COMMON_ALERT)
    assert text == (
        "[backstop] Azure Monitor Fired (severity Sev2): messaging-dead-letter-alert. Dead-lettered messages "
        "in Service Bus namespace wiser-prod-messaging Fired 2026-11-30T20:00:00.0000000Z on "
        '["/subscriptions/00000000-0000-0000-0000-000000000000/resourcegroups/rg/providers/'
        'microsoft.servicebus/namespaces/wiser-prod-messaging"]'
    )
    # A body without the expected fields still renders a message Slack shows, never a failed expression.
    assert _render(body["text"], {}).startswith("[backstop] Azure Monitor  (severity ): .")


@pulumi.runtime.test
def test_azure_alerts_reach_slack_through_the_relay_action_group(prod_with_slack: MockedStack) -> Any:
    mocked = prod_with_slack
    posture = mocked.posture
    assert posture.slack is not None
    routing = posture.slack

    @mocked.check
    def check(v: dict[str, Any]) -> None:
        relay = mocked.reg(v["relay"])
        assert relay.type == tokens.AZ_LOGIC_WORKFLOW
        assert relay.inputs["definition"] == slack_component.relay_definition()
        assert relay.inputs["state"] == "Enabled"
        assert relay.inputs["location"] == "eastus"
        assert relay.property_dependencies["resourceGroupName"] == [v["group"]]
        # The webhook reaches Azure only as a SecureString parameter, wrapped as a secret on the wire.
        assert relay.inputs["parameters"] == {
            SECRET_SIG_KEY: SECRET_SIG,
            "value": {"slackWebhookUrl": {"type": "SecureString", "value": WEBHOOK}},
        }
        group = mocked.reg(v["action_group"])
        assert group.type == tokens.AZ_ACTION_GROUP
        assert (group.inputs["groupShortName"], group.inputs["location"], group.inputs["enabled"]) == (
            "slack",
            "global",
            True,
        )
        receivers = group.inputs["logicAppReceivers"]
        assert receivers[SECRET_SIG_KEY] == SECRET_SIG  # the callback URL carries a SAS signature
        [receiver] = receivers["value"]
        assert receiver["resourceId"] == v["relay_id"]
        assert receiver["useCommonAlertSchema"] is True
        assert receiver["callbackUrl"].startswith("https://prod-00.eastus.logic.azure.com/workflows/")
        assert "/triggers/azure-monitor-alert/paths/invoke?" in receiver["callbackUrl"]
        assert v["relay"] in group.property_dependencies["logicAppReceivers"]
        # The dead-letter alert notifies both its e-mail group and Slack.
        alert = mocked.reg(v["dlq_alert"])
        assert alert.inputs["actions"] == [
            {"actionGroupId": v["dlq_group_id"]},
            {"actionGroupId": v["action_group_id"]},
        ]
        assert set(alert.property_dependencies["actions"]) == {v["dlq_group"], v["action_group"]}
        assert v["output"] == v["action_group_id"]
        text = json.dumps([dict(r.props) for r in mocked.monitor.recorded()], default=repr)
        assert "hooks.slack.com" not in text and "sig=" not in text

    return pulumi.Output.all(
        relay=routing.relay.urn,
        relay_id=routing.relay.id,
        group=posture.resource_group.urn,
        action_group=routing.action_group.urn,
        action_group_id=routing.action_group.id,
        dlq_alert=posture.bus.alert.urn,
        dlq_group=posture.bus.action_group.urn,
        dlq_group_id=posture.bus.action_group.id,
        output=posture.outputs["slackActionGroupId"],
    ).apply(check)
