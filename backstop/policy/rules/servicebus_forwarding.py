"""A queue or subscription that forwards its messages (`forwardTo`) or its dead letters
(`forwardDeadLetteredMessagesTo`) hands them to a declared queue or topic of the same namespace that
dead-letters in turn.

Autoforwarding "removes messages that are placed in the first queue or subscription (source) and puts
them in the second queue or topic (destination)"; once set, the source's messages or dead letters can no
longer be received from it. So the source's own dead-lettering protects nothing: what counts is the
destination. A destination that is not declared in the stack cannot be checked, and one that drops expired
messages (a queue, or a topic subscription, without `deadLetteringOnMessageExpiration`) loses what was
forwarded to it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from backstop.ground import seeds, tokens
from backstop.ground.resources import Resource, is_unknown
from backstop.policy.core import Finding, Severity, stack_rule, unknown, violation
from backstop.policy.rules.servicebus_common import entity_name, namespace_of
from backstop.policy.stackview import StackView
from backstop.policy.targets import PolicyTargets
from backstop.policy.values import MISSING, get, is_true

FORWARDS = (("forwardTo", "messages"), ("forwardDeadLetteredMessagesTo", "dead letters"))


def _dead_letters(entity: Resource) -> bool | Any:
    value = get(entity.props, "deadLetteringOnMessageExpiration")
    return value if is_unknown(value) else is_true(value)


def _index(
    stack: StackView,
) -> tuple[dict[tuple[Any, str], list[Resource]], dict[tuple[Any, str], list[Resource]]]:
    """Queues and topics by (namespace, name), and topic subscriptions by (namespace, topic name): built
    once per check, so resolving every forward is linear in the stack."""
    entities: dict[tuple[Any, str], list[Resource]] = defaultdict(list)
    subscriptions: dict[tuple[Any, str], list[Resource]] = defaultdict(list)
    for entity in stack.of(tokens.AZ_SB_QUEUES | tokens.AZ_SB_TOPICS):
        name = entity_name(entity)
        if isinstance(name, str):
            entities[(namespace_of(entity), name.lower())].append(entity)
    for subscription in stack.of(tokens.AZ_SB_SUBSCRIPTIONS):
        topic = get(subscription.props, "topicName")
        if topic is MISSING:
            topic_id = get(subscription.props, "topicId")
            topic = topic_id.rsplit("/", 1)[-1] if isinstance(topic_id, str) else topic_id
        if isinstance(topic, str):
            subscriptions[(namespace_of(subscription), topic.lower())].append(subscription)
    return entities, subscriptions


@stack_rule(
    id="servicebus-forwarding",
    description=(
        f"{seeds.SEED_WISER}, Message Queue: 'Messages that cannot be processed are automatically moved to "
        "a dead-letter queue: no messages are silently dropped'. Forwarded messages and dead letters land "
        "in a declared queue or topic of the same namespace that dead-letters too."
    ),
    severity=Severity.HIGH,
    remediation=(
        "Point forward_to / forward_dead_lettered_messages_to at a queue or topic declared in the same "
        "namespace whose queue (or every subscription) sets dead_lettering_on_message_expiration=True."
    ),
)
def check(stack: StackView, targets: PolicyTargets) -> Iterator[Finding]:
    entities, subscriptions = _index(stack)
    for source in stack.of(tokens.AZ_SB_QUEUES | tokens.AZ_SB_SUBSCRIPTIONS):
        for key, what in FORWARDS:
            target = get(source.props, key)
            if target is MISSING or target == "":
                continue
            namespace = namespace_of(source)
            if is_unknown(target) or is_unknown(namespace):
                yield unknown(source, f"the entity {key} names")
                continue
            if not isinstance(target, str):
                continue
            found = entities.get((namespace, target.lower()), [])
            if not found:
                yield violation(
                    source,
                    f"{key} '{target}' names no queue or topic declared in namespace {namespace}: the {what} "
                    "forwarded there cannot be shown to be kept",
                )
                continue
            destination = found[0]
            if destination.type in tokens.AZ_SB_TOPICS:
                members = subscriptions.get((namespace, target.lower()), [])
                flags = [(m, _dead_letters(m)) for m in members]
                if any(is_unknown(flag) for _, flag in flags):
                    yield unknown(source, f"whether the subscriptions of topic {target} dead-letter")
                elif not members:
                    yield violation(
                        source, f"{key} '{target}' is a topic with no subscription: the {what} are dropped"
                    )
                elif dropping := [m.name for m, flag in flags if not flag]:
                    yield violation(
                        source,
                        f"{key} '{target}' forwards the {what} to topic subscriptions that drop expired "
                        f"messages ({', '.join(dropping)}: deadLetteringOnMessageExpiration is off)",
                    )
            else:
                flag = _dead_letters(destination)
                if is_unknown(flag):
                    yield unknown(source, f"whether queue {target} dead-letters")
                elif not flag:
                    yield violation(
                        source,
                        f"{key} '{target}' forwards the {what} to a queue whose "
                        "deadLetteringOnMessageExpiration is off: they are dropped when they expire there",
                    )
