"""Service Bus queues dead-letter expired messages and retry a few times before dead-lettering.

`deadLetteringOnMessageExpiration` defaults to false (an expired message is silently dropped), so it must
be set. `maxDeliveryCount` defaults to 10 when unset (azure-native: "default value is 10"; the same service
default applies to subscriptions), which is read as 10 against the floor. Classic pulumi-azure queues
(and the deprecated `azure:eventhub/queue:Queue` copy) use the same wire names and defaults.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

from backstop.ground import seeds, tokens
from backstop.ground.resources import Resource, is_unknown
from backstop.policy.core import Finding, Severity, resource_rule, unknown, violation
from backstop.policy.rules.servicebus_common import (
    NEVER_SECONDS,
    duration_seconds,
    human_duration,
    message_ttl,
)
from backstop.policy.targets import PolicyTargets
from backstop.policy.values import MISSING, fmt, get, is_true, number

SERVICE_BUS_DEFAULT_MAX_DELIVERY_COUNT = 10


def dead_letter_flag(
    resource: Resource,
    key: str,
    what: str,
    unset: str = "not set (defaults to false)",
    *,
    unset_is_on: bool = False,
) -> Iterator[Finding]:
    """A dead-lettering switch that must be true; unset passes only where the provider defaults it on."""
    value = get(resource.props, key)
    if is_unknown(value):
        yield unknown(resource, key)
    elif value is MISSING and unset_is_on:
        return
    elif not is_true(value):
        state = unset if value is MISSING else fmt(value)
        yield violation(
            resource,
            f"{key} is {state}: {what} are dropped instead of dead-lettered{_ttl_note(resource, key)}",
        )


def _ttl_note(resource: Resource, key: str) -> str:
    """With expiry dead-lettering off, the entity's own time-to-live says how soon messages are dropped."""
    if key != "deadLetteringOnMessageExpiration":
        return ""
    ttl = message_ttl(resource)
    seconds = duration_seconds(ttl)
    if not isinstance(seconds, float) or seconds >= NEVER_SECONDS:
        return ""
    return f" (time-to-live {ttl}: every message not consumed within {human_duration(seconds)} is lost)"


def delivery_count(resource: Resource, targets: PolicyTargets) -> Iterator[Finding]:
    """`maxDeliveryCount` (unset = the service default of 10) meets the retry floor."""
    value = get(resource.props, "maxDeliveryCount")
    if is_unknown(value):
        yield unknown(resource, "maxDeliveryCount")
        return
    count = SERVICE_BUS_DEFAULT_MAX_DELIVERY_COUNT if value is MISSING else number(value)
    if count is None or not math.isfinite(count):
        yield violation(resource, f"maxDeliveryCount is {fmt(value)}, not a number")
    elif count < targets.min_max_delivery_count:
        yield violation(
            resource,
            f"maxDeliveryCount is {fmt(value)}: a message is dead-lettered before "
            f"{targets.min_max_delivery_count} delivery attempts",
        )


@resource_rule(
    id="servicebus-queue-dead-lettering",
    types=tokens.AZ_SB_QUEUES,
    description=(
        f"{seeds.SEED_WISER}: 'Messages that cannot be processed are automatically moved to a dead-letter "
        "queue: no messages are silently dropped' and 'Automatic retry with configurable intervals before "
        "dead-lettering'."
    ),
    severity=Severity.HIGH,
    remediation=(
        "Set dead_lettering_on_message_expiration=True and max_delivery_count to $min_max_delivery_count or "
        "more on the queue."
    ),
    tunables=("min_max_delivery_count",),
)
def check(resource: Resource, targets: PolicyTargets) -> Iterator[Finding]:
    yield from dead_letter_flag(resource, "deadLetteringOnMessageExpiration", "expired messages")
    yield from delivery_count(resource, targets)
