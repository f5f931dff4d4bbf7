"""Readings shared by the application-layer rules: an alert's metrics, whether an action group reaches
Slack, and whether an alert or action group is enabled, for azure-native and classic pulumi-azure alike."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from backstop.ground import tokens
from backstop.ground.resources import UNKNOWN, Resource, is_unknown
from backstop.policy.rules.servicebus_dead_letter_alert import _criteria
from backstop.policy.values import MISSING, get, is_true, items

if TYPE_CHECKING:
    from backstop.policy.stackview import StackView

# Receivers that can post into Slack: a Logic App or an Azure Function (the relays that turn Azure's alert
# schema into a message Slack shows), or a webhook to such a relay. A webhook straight to Slack's incoming
# webhook host gets Azure's alert schema, which Slack rejects (it wants `text` or `blocks`).
SLACK_RECEIVERS = ("webhookReceivers", "logicAppReceivers", "azureFunctionReceivers")
SLACK_WEBHOOK_HOSTS = ("hooks.slack.com", "hooks.slack-gov.com")
# What a receiver list that cannot be read (a secret, or computed) must have been computed from to count.
_RELAY_TYPES = frozenset({tokens.AZ_LOGIC_WORKFLOW, tokens.AZ_WEB_APP, *tokens.AZ_WEB_APPS})


def enabled(resource: Resource, classic_types: frozenset[str]) -> bool | Any:
    """`enabled` strictly true; classic pulumi-azure defaults it to true when unset. `UNKNOWN` if unknown."""
    value = get(resource.props, "enabled")
    if is_unknown(value):
        return UNKNOWN
    return is_true(value) or (resource.type in classic_types and value is MISSING)


def alert_metrics(alert: Resource) -> set[str] | Any:
    """The metric names an alert's criteria watch (native `criteria.allOf`, classic `criterias` and
    `dynamicCriteria`); `UNKNOWN` while any of them is unknown."""
    criteria = _criteria(alert)
    if is_unknown(criteria):
        return UNKNOWN
    names = [get(criterion, "metricName") for criterion in criteria]
    if any(is_unknown(n) for n in names):
        return UNKNOWN
    return {n for n in names if isinstance(n, str)}


def _readable(receiver: Any, key: str) -> bool | Any:
    """Does this receiver deliver a message Slack can show? `UNKNOWN` while its URL is unknown."""
    if key != "webhookReceivers":
        return True  # a Logic App or Function: a relay that writes Slack's own format
    uri = get(receiver, "serviceUri")
    if is_unknown(uri):
        return UNKNOWN
    if not isinstance(uri, str) or not uri:
        return False
    host = (urlsplit(uri).hostname or "").lower()
    return not any(host == h or host.endswith("." + h) for h in SLACK_WEBHOOK_HOSTS)


def reaches_slack(group: Resource, stack: StackView | None = None) -> bool | Any:
    """An enabled action group with a receiver that delivers a Slack-readable message; `UNKNOWN` if
    undecidable.

    A webhook to `hooks.slack.com` does not count: Azure posts its alert schema, which Slack rejects. A
    receiver list that cannot be read (a secret: a Logic App callback URL carries a signature, so the SDK
    sends the whole list as one) counts only when the engine says it was computed from a declared Logic
    App or function app (the relay); otherwise it is unknown, never a pass.
    """
    on = enabled(group, frozenset({tokens.AZC_ACTION_GROUP}))
    if is_unknown(on):
        return UNKNOWN
    if on is not True:
        return False
    undecided = False
    for key in SLACK_RECEIVERS:
        receivers = get(group.props, key)
        if is_unknown(receivers):
            deps = group.property_dependencies.get(key, ())
            resolved = [stack.by_urn(urn) for urn in deps] if stack is not None else []
            if any(r is not None and r.type in _RELAY_TYPES for r in resolved):
                return True
            undecided = True
            continue
        for receiver in items(receivers):
            verdict = UNKNOWN if is_unknown(receiver) else _readable(receiver, key)
            if verdict is True:
                return True
            undecided = undecided or is_unknown(verdict)
    return UNKNOWN if undecided else False


def severity(alert: Resource) -> float | Any | None:
    """The alert's Azure Monitor severity (0 critical … 4 verbose); classic defaults to 3."""
    value = get(alert.props, "severity")
    if is_unknown(value):
        return UNKNOWN
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return 3.0 if alert.type == tokens.AZC_METRIC_ALERT and value is MISSING else None
