"""Every critical Azure Monitor alert reaches Slack through one of its action groups.

Critical: severity 0 or 1 (tunable `criticalAlertSeverity`). A critical alert with no action group that is
enabled and has a receiver reaching the stack's declared Slack relay (`app_common.reaches_slack`) is heard
in no Slack channel.
"""

from __future__ import annotations

from collections.abc import Iterator

from backstop.ground import seeds, tokens
from backstop.ground.resources import is_unknown
from backstop.policy.core import Finding, Severity, stack_rule, unknown, violation
from backstop.policy.rules.app_common import enabled, reaches_slack, severity
from backstop.policy.stackview import StackView
from backstop.policy.targets import PolicyTargets

_CLASSIC_ALERTS = frozenset({tokens.AZC_METRIC_ALERT})


@stack_rule(
    id="azure-critical-alerts-slack",
    description=(
        f"{seeds.SEED_WISER}, Monitoring and Alerting: 'All critical infrastructure alerts flow to the "
        "engineering team's Slack #alerts channel'."
    ),
    severity=Severity.MEDIUM,
    remediation=(
        "Add the Slack relay action group (monitor.ActionGroup whose logic_app_receivers entry names the "
        "declared Slack relay Logic App) to the actions of every alert of severity $critical_alert_severity "
        "or more severe (0), or lower its severity if it is not critical."
    ),
    tunables=("critical_alert_severity",),
)
def check(stack: StackView, targets: PolicyTargets) -> Iterator[Finding]:
    for alert in stack.of(tokens.AZ_METRIC_ALERTS):
        level = severity(alert)
        on = enabled(alert, _CLASSIC_ALERTS)
        if is_unknown(level) or is_unknown(on):
            yield unknown(alert, "the alert's severity or enabled state")
            continue
        if on is not True or level is None or level > targets.critical_alert_severity:
            continue
        groups, undecided = stack.action_groups_notified(alert)
        verdicts = [reaches_slack(group, stack) for group in groups]
        if any(v is True for v in verdicts):
            continue
        if undecided or any(is_unknown(v) for v in verdicts):
            yield unknown(alert, "whether this critical alert reaches Slack")
        else:
            named = ", ".join(g.name for g in groups) or "no declared action group"
            yield violation(
                alert,
                f"severity {int(level)} alert notifies {named}: none has a Slack-readable receiver (a Logic "
                "App or webhook receiver reaching the stack's declared Slack relay; hooks.slack.com rejects "
                "Azure's alert schema)",
            )
