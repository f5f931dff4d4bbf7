"""Every Service Bus namespace has an enabled Azure Monitor metric alert on its dead-letter count.

An alert covers a namespace when its `scopes` name the namespace (by the engine's dependency, its ARM id, or
an id ending in `/namespaces/<namespaceName>`), or name the resource group or subscription that holds it
with `targetResourceType` `Microsoft.ServiceBus/namespaces` (a multi-resource alert). It must be enabled,
watch `DeadletteredMessages` in `criteria.allOf[]`, and have at least one action, or nobody hears of it.
Both the v3 token (`monitor`) and the `insights` alias token are read, and classic pulumi-azure's
`azure:monitoring/metricAlert:MetricAlert`: its static `criterias[]` and its `dynamicCriteria` name the
metric, `enabled` "Defaults to `true`", and its namespaces name themselves in `name`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from backstop.ground import seeds, tokens
from backstop.ground.resources import UNKNOWN, Resource, is_unknown
from backstop.policy.core import Finding, Severity, stack_rule, unknown, violation
from backstop.policy.stackview import StackView
from backstop.policy.targets import PolicyTargets
from backstop.policy.values import MISSING, fmt, get, is_true, items


def _criteria(alert: Resource) -> list[Any] | Any:
    """The metric criteria of an alert: `criteria.allOf[]` (azure-native), or classic's static
    `criterias[]` plus its single `dynamicCriteria`; `UNKNOWN` if any part is unknown."""
    if alert.type != tokens.AZC_METRIC_ALERT:
        return items(get(alert.props, "criteria.allOf"))
    static = items(get(alert.props, "criterias"))
    dynamic = get(alert.props, "dynamicCriteria")
    if is_unknown(static) or is_unknown(dynamic):
        return UNKNOWN
    return [*static, dynamic] if isinstance(dynamic, dict) else static


def _watches_dead_letters(alert: Resource) -> bool | str | None:
    """True: enabled, on DeadletteredMessages, with an action; a string: why not; None: not known yet."""
    classic = alert.type == tokens.AZC_METRIC_ALERT
    enabled = get(alert.props, "enabled")
    if is_unknown(enabled):
        return None
    if not (is_true(enabled) or (classic and enabled is MISSING)):
        return f"alert {alert.name} is not enabled (enabled is {fmt(enabled)})"
    criteria = _criteria(alert)  # UNKNOWN if the criteria or list is unknown
    if is_unknown(criteria):
        return None
    metrics = [get(criterion, "metricName") for criterion in criteria]
    if tokens.SB_DEAD_LETTER_METRIC not in [m for m in metrics if isinstance(m, str)]:
        if any(is_unknown(m) for m in metrics):
            return None
        return f"alert {alert.name} does not watch the {tokens.SB_DEAD_LETTER_METRIC} metric"
    actions = items(get(alert.props, "actions"))
    if is_unknown(actions):
        return None
    if not actions:
        state = "no actions" if get(alert.props, "actions") is MISSING else "an empty actions list"
        return f"alert {alert.name} has {state}: nobody is notified"
    return True


@stack_rule(
    id="servicebus-dead-letter-alert",
    description=(
        f"{seeds.SEED_WISER}, Monitoring and Alerting: 'Queue health: Azure Service Bus dead-letter queue "
        "depth monitored; elevated counts indicate processing issues', and 'All critical infrastructure "
        "alerts flow to the engineering team'."
    ),
    severity=Severity.MEDIUM,
    remediation=(
        "Add azure_native.monitor.MetricAlert(scopes=[<namespace>.id], enabled=True, criteria="
        "MetricAlertSingleResourceMultipleMetricCriteriaArgs(all_of=[MetricCriteriaArgs(metric_name="
        "'DeadletteredMessages', ...)]), actions=[{'action_group_id': <action group>.id}]); with classic "
        "pulumi-azure, azure.monitoring.MetricAlert(scopes=[<namespace>.id], criterias=[{'metric_name': "
        "'DeadletteredMessages', ...}], actions=[{'action_group_id': <action group>.id}])."
    ),
)
def check(stack: StackView, targets: PolicyTargets) -> Iterator[Finding]:
    verdicts: dict[int, bool | str | None] = {}  # per alert, computed once

    def verdict(alert: Resource) -> bool | str | None:
        if id(alert) not in verdicts:
            verdicts[id(alert)] = _watches_dead_letters(alert)
        return verdicts[id(alert)]

    open_floating: set[int] | None = None  # alerts that may cover any namespace and could still pass
    for namespace in stack.of(tokens.AZ_SB_NAMESPACES):
        scoped = stack.metric_alerts_scoped_to(namespace)
        if open_floating is None:
            open_floating = {id(a) for a in scoped.floating if not isinstance(verdict(a), str)}
        covering = {id(alert) for alert in scoped.covering}
        # One of them that does not certainly cover this namespace may still cover it: undecided.
        undecided = len(open_floating) > len(open_floating & covering)
        reasons: list[str] = []
        passed = False
        for alert in scoped.covering:
            found = verdict(alert)
            if isinstance(found, str):
                reasons.append(found)
            elif found is True:
                passed = True
                break
            else:
                undecided = True
        if passed:
            continue
        if undecided:
            yield unknown(namespace, "whether a dead-letter alert covers this namespace")
        elif reasons:
            yield violation(namespace, reasons[0])
        else:
            yield violation(
                namespace, f"no MetricAlert on {tokens.SB_DEAD_LETTER_METRIC} is scoped to this namespace"
            )
