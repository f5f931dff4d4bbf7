"""A message survives a slow consumer: `maxDeliveryCount` x `lockDuration` gives it at least the retry
floor's deliveries of the service's default lock before it is dead-lettered.

Service Bus dead-letters a message "after this number of deliveries" (`maxDeliveryCount`, default 10), and a
delivery ends when the consumer's lock (`lockDuration`, default `PT1M`) expires. A short lock with few
deliveries dead-letters a message the first time a consumer is slow, long before the "automatic retry with
configurable intervals" the seeds describe has run. The floor is the retry floor (`minMaxDeliveryCount`, 3)
times the default 1-minute lock: 3 minutes, `minDeliveryWindowMinutes`.
"""

from __future__ import annotations

from collections.abc import Iterator

from backstop.ground import seeds, tokens
from backstop.ground.resources import Resource, is_unknown
from backstop.policy.core import Finding, Severity, resource_rule, unknown, violation
from backstop.policy.rules.servicebus_common import duration_seconds, human_duration
from backstop.policy.rules.servicebus_queue_dead_lettering import SERVICE_BUS_DEFAULT_MAX_DELIVERY_COUNT
from backstop.policy.targets import PolicyTargets
from backstop.policy.values import MISSING, fmt, get, number

SERVICE_BUS_DEFAULT_LOCK_SECONDS = 60.0


@resource_rule(
    id="servicebus-delivery-window",
    types=tokens.AZ_SB_QUEUES | tokens.AZ_SB_SUBSCRIPTIONS,
    description=(
        f"{seeds.SEED_WISER}, Message Queue: 'Automatic retry with configurable intervals before "
        "dead-lettering'. maxDeliveryCount deliveries of lockDuration each must add up to the retry floor's "
        "3 deliveries of the default 1-minute lock, so one slow consumer does not dead-letter a message."
    ),
    severity=Severity.MEDIUM,
    remediation=(
        "Raise lock_duration (up to PT5M) or max_delivery_count so their product is at least "
        "$min_delivery_window_minutes minutes."
    ),
    tunables=("min_delivery_window_minutes",),
)
def check(resource: Resource, targets: PolicyTargets) -> Iterator[Finding]:
    count_value = get(resource.props, "maxDeliveryCount")
    lock_value = get(resource.props, "lockDuration")
    if is_unknown(count_value) or is_unknown(lock_value):
        yield unknown(resource, "maxDeliveryCount and lockDuration")
        return
    count = float(SERVICE_BUS_DEFAULT_MAX_DELIVERY_COUNT) if count_value is MISSING else number(count_value)
    lock = SERVICE_BUS_DEFAULT_LOCK_SECONDS if lock_value is MISSING else duration_seconds(lock_value)
    if count is None or lock is None:
        return  # servicebus-*-dead-lettering reports an unusable maxDeliveryCount; Azure rejects a bad lock
    window = count * lock
    floor = targets.min_delivery_window_minutes * 60
    if window < floor:
        lock_text = "PT1M (default)" if lock_value is MISSING else str(lock_value)
        yield violation(
            resource,
            f"maxDeliveryCount {fmt(count)} x lockDuration {lock_text}: a consumer slower than "
            f"{human_duration(lock)} dead-letters a message after {human_duration(window)}, under the "
            f"{fmt(targets.min_delivery_window_minutes)}-minute retry window",
        )
