"""Service Bus topic subscriptions dead-letter expired messages and filter failures, after retries.

A subscription has two ways to lose a message silently: expiry and a filter rule that throws. Both
switches must be declared true. Expiry dead-lettering defaults to false. For filter exceptions the Service
Bus entity docs give true as the default, but the ARM API azure-native calls documents none, so an unset
value is not taken on trust. Classic pulumi-azure names that switch `deadLetteringOnFilterEvaluationError`
and documents "Defaults to `true`" (the Terraform provider sends its default), so there an unset value is
on. `maxDeliveryCount` is read as in the queue rule (unset = 10).
"""

from __future__ import annotations

from collections.abc import Iterator

from backstop.ground import seeds, tokens
from backstop.ground.resources import Resource
from backstop.policy.core import Finding, Severity, resource_rule
from backstop.policy.rules.servicebus_queue_dead_lettering import dead_letter_flag, delivery_count
from backstop.policy.targets import PolicyTargets


@resource_rule(
    id="servicebus-subscription-dead-lettering",
    types=tokens.AZ_SB_SUBSCRIPTIONS,
    description=(
        f"{seeds.SEED_WISER}: 'Messages that cannot be processed are automatically moved to a dead-letter "
        "queue: no messages are silently dropped', for topic subscriptions too: on expiry and on filter "
        "evaluation errors, after 'automatic retry'."
    ),
    severity=Severity.HIGH,
    remediation=(
        "Set dead_lettering_on_message_expiration=True, dead_lettering_on_filter_evaluation_exceptions=True "
        "(classic pulumi-azure: dead_lettering_on_filter_evaluation_error=True) and max_delivery_count "
        "$min_max_delivery_count or more "
        "on the subscription."
    ),
    tunables=("min_max_delivery_count",),
)
def check(resource: Resource, targets: PolicyTargets) -> Iterator[Finding]:
    yield from dead_letter_flag(resource, "deadLetteringOnMessageExpiration", "expired messages")
    if resource.type == tokens.AZ_SB_SUBSCRIPTION:
        yield from dead_letter_flag(
            resource,
            "deadLetteringOnFilterEvaluationExceptions",
            "messages whose filter evaluation fails",
            unset="not set (the ARM API documents no default)",
        )
    else:
        yield from dead_letter_flag(
            resource,
            "deadLetteringOnFilterEvaluationError",
            "messages whose filter evaluation fails",
            unset_is_on=True,
        )
    yield from delivery_count(resource, targets)
