"""No queue, topic or subscription deletes itself when idle.

`autoDeleteOnIdle` is "the idle interval after which the queue is automatically deleted" (default
`TimeSpan.MaxValue`, i.e. never). Deleting the entity deletes its messages and its dead-letter queue with
it, so the dead letters the seeds promise to keep for inspection and replay vanish after a quiet spell,
however well dead-lettering itself is configured. azure-native and classic pulumi-azure both spell it
`autoDeleteOnIdle`.
"""

from __future__ import annotations

from collections.abc import Iterator

from backstop.ground import seeds, tokens
from backstop.ground.resources import Resource, is_unknown
from backstop.policy.core import Finding, Severity, resource_rule, unknown, violation
from backstop.policy.rules.servicebus_common import NEVER_SECONDS, duration_seconds, human_duration
from backstop.policy.targets import PolicyTargets
from backstop.policy.values import MISSING, fmt, get


@resource_rule(
    id="servicebus-auto-delete-on-idle",
    types=tokens.AZ_SB_QUEUES | tokens.AZ_SB_TOPICS | tokens.AZ_SB_SUBSCRIPTIONS,
    description=(
        f"{seeds.SEED_WISER}, Message Queue: 'Dead-letter messages can be inspected and reprocessed after "
        "underlying issues are resolved'; 'Azure Service Bus issue: Dead-letter queue preserves all "
        "messages'. An entity that deletes itself when idle takes its dead-letter queue with it."
    ),
    severity=Severity.HIGH,
    remediation=(
        "Remove auto_delete_on_idle from the queue, topic or subscription (the default never deletes)."
    ),
)
def check(resource: Resource, targets: PolicyTargets) -> Iterator[Finding]:
    value = get(resource.props, "autoDeleteOnIdle")
    if value is MISSING:
        return
    seconds = duration_seconds(value)
    if is_unknown(seconds):
        yield unknown(resource, "autoDeleteOnIdle")
    elif seconds is None:
        yield violation(resource, f"autoDeleteOnIdle is {fmt(value)}, not an ISO 8601 duration")
    elif seconds < NEVER_SECONDS:
        kind = resource.type.rsplit(":", 1)[-1].lower()
        yield violation(
            resource,
            f"autoDeleteOnIdle {value} deletes the {kind} after {human_duration(seconds)} without activity, "
            "and its messages and dead-letter queue with it",
        )
