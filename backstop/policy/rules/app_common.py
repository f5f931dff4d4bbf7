"""Readings shared by the application-layer rules: an alert's metrics, whether an action group reaches
Slack, and whether an alert or action group is enabled, for azure-native and classic pulumi-azure alike."""

from __future__ import annotations

from typing import Any

from backstop.ground import tokens
from backstop.ground.resources import UNKNOWN, Resource, is_unknown
from backstop.policy.rules.servicebus_dead_letter_alert import _criteria
from backstop.policy.values import MISSING, get, is_true, items

# Receivers that can post into Slack: a webhook (a Slack incoming webhook, or a relay in front of one), a
# Logic App or an Azure Function (the relays that turn Azure's alert schema into a message Slack shows).
SLACK_RECEIVERS = ("webhookReceivers", "logicAppReceivers", "azureFunctionReceivers")


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


def reaches_slack(group: Resource) -> bool | Any:
    """An enabled action group with a webhook, Logic App or Function receiver; `UNKNOWN` if undecidable.

    A receiver list that is declared but cannot be read counts: it is a secret (a Logic App callback URL
    carries a signature, so the SDK sends the whole list as one) or computed from a relay not created
    yet. What is hidden is the URL, not that a receiver is declared.
    """
    on = enabled(group, frozenset({tokens.AZC_ACTION_GROUP}))
    if is_unknown(on):
        return UNKNOWN
    if on is not True:
        return False
    for key in SLACK_RECEIVERS:
        receivers = get(group.props, key)
        if is_unknown(receivers) or items(receivers):
            return True
    return False


def severity(alert: Resource) -> float | Any | None:
    """The alert's Azure Monitor severity (0 critical … 4 verbose); classic defaults to 3."""
    value = get(alert.props, "severity")
    if is_unknown(value):
        return UNKNOWN
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return 3.0 if alert.type == tokens.AZC_METRIC_ALERT and value is MISSING else None
