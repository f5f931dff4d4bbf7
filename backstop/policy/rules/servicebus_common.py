"""What the Service Bus rules read alike (this module holds no rule): ISO 8601 durations as Service Bus
spells them, both SDK spellings of an entity's settings, and which namespace an entity lives in.

azure-native and classic pulumi-azure name most entity settings alike (`autoDeleteOnIdle`, `forwardTo`,
`lockDuration`, `maxDeliveryCount`); the message time-to-live is `defaultMessageTimeToLive` in azure-native
and `defaultMessageTtl` in classic. An entity points at its namespace by name (azure-native
`namespaceName`) or by ARM id (classic `namespaceId`, or a subscription's `topicId`).
"""

from __future__ import annotations

import re
from typing import Any

from backstop.ground import tokens
from backstop.ground.resources import UNKNOWN, Resource, is_unknown
from backstop.policy.values import MISSING, get

_DURATION = re.compile(
    r"^P(?:(?P<y>\d+(?:\.\d+)?)Y)?(?:(?P<mo>\d+(?:\.\d+)?)M)?(?:(?P<w>\d+(?:\.\d+)?)W)?(?:(?P<d>\d+(?:\.\d+)?)D)?"
    r"(?:T(?:(?P<h>\d+(?:\.\d+)?)H)?(?:(?P<mi>\d+(?:\.\d+)?)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$"
)
_SECONDS = {"y": 365 * 86400, "mo": 30 * 86400, "w": 7 * 86400, "d": 86400, "h": 3600, "mi": 60, "s": 1}
# Service Bus's "never": TimeSpan.MaxValue, the documented default of autoDeleteOnIdle and message TTL.
NEVER_SECONDS = 10675199 * 86400


def duration_seconds(value: Any) -> Any:
    """`PT5M` -> 300.0; `UNKNOWN` stays unknown; None for anything that is not an ISO 8601 duration."""
    if is_unknown(value):
        return UNKNOWN
    if not isinstance(value, str) or value in ("P", "PT"):
        return None
    match = _DURATION.match(value.strip().upper())
    if not match:
        return None
    return sum(float(amount) * _SECONDS[unit] for unit, amount in match.groupdict().items() if amount)


def human_duration(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size and (seconds / size).is_integer():
            return f"{int(seconds / size)} {unit}"
    return f"{seconds:g} s"


def message_ttl(entity: Resource) -> Any:
    """The entity's default message time-to-live as written (either SDK's spelling), or `MISSING`."""
    for key in ("defaultMessageTimeToLive", "defaultMessageTtl"):
        value = get(entity.props, key)
        if value is not MISSING:
            return value
    return MISSING


def _arm_namespace(arm_id: Any) -> Any:
    if is_unknown(arm_id):
        return UNKNOWN
    if isinstance(arm_id, str):
        parts = arm_id.split("/")
        lowered = [p.lower() for p in parts]
        if "namespaces" in lowered:
            index = lowered.index("namespaces")
            if index + 1 < len(parts):
                return parts[index + 1]
    return MISSING


def namespace_of(entity: Resource) -> Any:
    """The name of the namespace an entity lives in, `UNKNOWN` when not known yet, `MISSING` when unread."""
    name = get(entity.props, "namespaceName")
    if is_unknown(name) or (isinstance(name, str) and name):
        return name
    for key in ("namespaceId", "topicId"):
        found = _arm_namespace(get(entity.props, key))
        if found is not MISSING:
            return found
    return MISSING


def entity_name(entity: Resource) -> Any:
    """An entity's own name: azure-native `queueName`/`topicName`/`subscriptionName`, classic `name`."""
    keys = {
        **dict.fromkeys(tokens.AZ_SB_QUEUES, "queueName"),
        **dict.fromkeys(tokens.AZ_SB_TOPICS, "topicName"),
        **dict.fromkeys(tokens.AZ_SB_SUBSCRIPTIONS, "subscriptionName"),
    }
    key = keys.get(entity.type, "name") if entity.type.startswith("azure-native:") else "name"
    value = get(entity.props, key)
    return entity.name if value is MISSING else value
