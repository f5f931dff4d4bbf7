"""Every web app, Redis cache and storage account has an availability alert that reaches Slack.

An alert counts when its `scopes` name the resource (by dependency or ARM id), it is enabled, it watches
an availability metric of that kind of resource (web apps `HealthCheckStatus` or `Http5xx`, caches
`errors` or `serverLoad`, storage accounts `Availability`), and one of the action groups it notifies is
enabled with a receiver that delivers a Slack-readable message: a Logic App or webhook receiver that
reaches the stack's declared Slack relay, a Logic App posting Slack's `text` to a Slack incoming webhook
(`app_common.reaches_slack`; a webhook straight to hooks.slack.com gets a schema Slack rejects, and one
anywhere else, another Logic App or a Function posts what backstop cannot read as Slack's).
"""

from __future__ import annotations

from collections.abc import Iterator

from backstop.ground import seeds, tokens
from backstop.ground.resources import Resource, is_unknown
from backstop.policy.core import Finding, Severity, stack_rule, unknown, violation
from backstop.policy.rules.app_common import alert_metrics, enabled, reaches_slack
from backstop.policy.stackview import StackView
from backstop.policy.targets import PolicyTargets

_CLASSIC_ALERTS = frozenset({tokens.AZC_METRIC_ALERT})
_WATCHED: list[tuple[frozenset[str], frozenset[str], str]] = [
    (tokens.AZ_WEB_APPS, tokens.AVAILABILITY_METRICS[tokens.WEB_METRIC_NAMESPACE], "web app"),
    (
        tokens.AZ_REDIS_CACHES,
        tokens.AVAILABILITY_METRICS[tokens.REDIS_METRIC_NAMESPACE]
        | tokens.AVAILABILITY_METRICS[tokens.MANAGED_REDIS_METRIC_NAMESPACE],
        "cache",
    ),
    (
        tokens.AZ_STORAGE_ACCOUNTS,
        tokens.AVAILABILITY_METRICS[tokens.STORAGE_METRIC_NAMESPACE],
        "storage account",
    ),
]


def _verdict(stack: StackView, alert: Resource, metrics: frozenset[str]) -> bool | str | None:
    """True: this alert watches availability and reaches Slack; a string: why not; None: unknown yet."""
    on = enabled(alert, _CLASSIC_ALERTS)
    if is_unknown(on):
        return None
    if not on:
        return f"alert {alert.name} is not enabled"
    watched = alert_metrics(alert)
    if is_unknown(watched):
        return None
    if not watched & metrics:
        return f"alert {alert.name} watches none of {', '.join(sorted(metrics))}"
    groups, undecided = stack.action_groups_notified(alert)
    verdicts = [reaches_slack(group, stack) for group in groups]
    if any(v is True for v in verdicts):
        return True
    if undecided or any(is_unknown(v) for v in verdicts):
        return None
    return (
        f"alert {alert.name} notifies no action group with a Slack-readable receiver (a Logic App or "
        "webhook receiver reaching the stack's declared Slack relay: a webhook straight to hooks.slack.com "
        "gets Azure's alert schema, which Slack rejects, and one elsewhere posts to something else)"
    )


@stack_rule(
    id="app-availability-alert-slack",
    description=(
        f"{seeds.SEED_WISER}, Monitoring and Alerting: 'Cache health: Health-check endpoints monitor Redis "
        "connectivity; failure triggers Slack alert', 'Application health: Azure App Services health "
        "checks', 'Storage health: Azure Blob Storage ... availability monitoring' and 'All critical "
        "infrastructure alerts flow to the engineering team's Slack #alerts channel'."
    ),
    severity=Severity.MEDIUM,
    remediation=(
        "Declare azure_native.monitor.MetricAlert(scopes=[<resource>.id], enabled=True, criteria=... "
        "metric_name='HealthCheckStatus' | 'Http5xx' (web apps), 'errors' | 'serverLoad' (Redis), "
        "'Availability' (storage), actions=[{'action_group_id': <the Slack relay action group>.id}])."
    ),
)
def check(stack: StackView, targets: PolicyTargets) -> Iterator[Finding]:
    for types, metrics, kind in _WATCHED:
        for resource in stack.of(types):
            scoped = stack.metric_alerts_on(resource)
            covering = {id(a) for a in scoped.covering}
            undecided = any(
                id(a) not in covering and _verdict(stack, a, metrics) is not False for a in scoped.floating
            )
            reasons: list[str] = []
            passed = False
            for alert in scoped.covering:
                found = _verdict(stack, alert, metrics)
                if found is True:
                    passed = True
                    break
                if isinstance(found, str):
                    reasons.append(found)
                else:
                    undecided = True
            if passed:
                continue
            if undecided:
                yield unknown(resource, f"whether an availability alert on this {kind} reaches Slack")
            elif reasons:
                yield violation(resource, reasons[0])
            else:
                yield violation(
                    resource,
                    f"no availability alert ({', '.join(sorted(metrics))}) is scoped to this {kind}",
                )
