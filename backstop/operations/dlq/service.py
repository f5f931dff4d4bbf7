"""Inspect and replay a Service Bus dead-letter queue without ever losing a message.

Everything here talks to the azure-servicebus client through the small protocols below (the subset of
`ServiceBusClient`, `ServiceBusReceiver` and `ServiceBusSender` it uses, with the same names and
signatures), so the logic is tested against a local stand-in and runs unchanged against Azure.

The replay rule: a dead-lettered message is completed (removed from the dead-letter queue) only after its
copy was accepted by the entity. Any other outcome leaves it where it was: a send failure or an unselected
message is abandoned, never completed.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, Protocol

from azure.servicebus import (
    ServiceBusMessage,
    ServiceBusReceivedMessage,
    ServiceBusReceiveMode,
    ServiceBusSubQueue,
)
from azure.servicebus.amqp import AmqpMessageBodyType
from azure.servicebus.management import QueueProperties, TopicProperties

# Peek and receive in batches of this many messages (the service caps a batch anyway).
BATCH_SIZE = 100
# Application properties the broker adds when it dead-letters a message: not part of the original message.
BROKER_DEAD_LETTER_PROPERTIES = frozenset({"DeadLetterReason", "DeadLetterErrorDescription"})
# Service Bus remembers message ids for duplicate detection for at most 7 days.
LONGEST_DUPLICATE_WINDOW = timedelta(days=7)
# Margin for the difference between this machine's clock and the broker's.
CLOCK_SKEW = timedelta(minutes=5)


class Receiver(Protocol):
    """The part of `azure.servicebus.ServiceBusReceiver` backstop uses."""

    def __enter__(self) -> Receiver: ...

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...

    def peek_messages(
        self,
        max_message_count: int = 1,
        *,
        sequence_number: int = 0,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> list[ServiceBusReceivedMessage]: ...

    def receive_messages(
        self, max_message_count: int | None = 1, max_wait_time: float | None = None
    ) -> list[ServiceBusReceivedMessage]: ...

    def complete_message(self, message: ServiceBusReceivedMessage) -> None: ...

    def abandon_message(self, message: ServiceBusReceivedMessage) -> None: ...


class Sender(Protocol):
    """The part of `azure.servicebus.ServiceBusSender` backstop uses."""

    def __enter__(self) -> Sender: ...

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...

    def send_messages(self, message: Any, *, timeout: float | None = None, **kwargs: Any) -> None: ...


class Client(Protocol):
    """The part of `azure.servicebus.ServiceBusClient` backstop uses."""

    def __enter__(self) -> Client: ...

    def __exit__(self, *args: Any) -> None: ...

    def get_queue_receiver(
        self,
        queue_name: str,
        *,
        sub_queue: ServiceBusSubQueue | str | None = None,
        receive_mode: ServiceBusReceiveMode | str = ServiceBusReceiveMode.PEEK_LOCK,
        max_wait_time: float | None = None,
        **kwargs: Any,
    ) -> Receiver: ...

    def get_subscription_receiver(
        self,
        topic_name: str,
        subscription_name: str,
        *,
        sub_queue: ServiceBusSubQueue | str | None = None,
        receive_mode: ServiceBusReceiveMode | str = ServiceBusReceiveMode.PEEK_LOCK,
        max_wait_time: float | None = None,
        **kwargs: Any,
    ) -> Receiver: ...

    def get_queue_sender(self, queue_name: str, **kwargs: Any) -> Sender: ...

    def get_topic_sender(self, topic_name: str, **kwargs: Any) -> Sender: ...


class Administration(Protocol):
    """The part of `azure.servicebus.management.ServiceBusAdministrationClient` backstop uses."""

    def __enter__(self) -> Administration: ...

    def __exit__(self, *args: Any) -> None: ...

    def get_queue(self, queue_name: str, **kwargs: Any) -> QueueProperties: ...

    def get_topic(self, topic_name: str, **kwargs: Any) -> TopicProperties: ...


@dataclass(frozen=True)
class Entity:
    """A queue, or a topic's subscription: the owner of a dead-letter queue."""

    queue: str | None = None
    topic: str | None = None
    subscription: str | None = None

    def __post_init__(self) -> None:
        a_queue = self.queue is not None and self.topic is None and self.subscription is None
        a_subscription = self.queue is None and self.topic is not None and self.subscription is not None
        if not (a_queue or a_subscription):
            raise ValueError("an entity is a queue, or a topic with a subscription")

    def __str__(self) -> str:
        if self.queue is not None:
            return f"queue {self.queue}"
        return f"subscription {self.subscription} of topic {self.topic}"

    @property
    def send_target(self) -> str:
        """Where a replayed message goes: the queue, or the topic (every matching subscription gets it)."""
        return f"queue {self.queue}" if self.queue is not None else f"topic {self.topic}"

    def dead_letter_receiver(self, client: Client, max_wait_time: float | None = None) -> Receiver:
        """A PEEK_LOCK receiver on the dead-letter sub-queue: nothing leaves it unless completed."""
        options: dict[str, Any] = {
            "sub_queue": ServiceBusSubQueue.DEAD_LETTER,
            "receive_mode": ServiceBusReceiveMode.PEEK_LOCK,
            "max_wait_time": max_wait_time,
        }
        if self.queue is not None:
            return client.get_queue_receiver(self.queue, **options)
        assert self.topic is not None and self.subscription is not None
        return client.get_subscription_receiver(self.topic, self.subscription, **options)

    def sender(self, client: Client) -> Sender:
        if self.queue is not None:
            return client.get_queue_sender(self.queue)
        assert self.topic is not None
        return client.get_topic_sender(self.topic)


@dataclass(frozen=True)
class DeadLetter:
    """What an operator needs to decide about one dead-lettered message."""

    sequence_number: int
    message_id: str | None
    reason: str | None
    description: str | None
    enqueued_time: datetime | None
    delivery_count: int | None
    source: str | None
    subject: str | None = None

    @classmethod
    def of(cls, message: ServiceBusReceivedMessage) -> DeadLetter:
        return cls(
            sequence_number=int(message.sequence_number or 0),
            message_id=None if message.message_id is None else str(message.message_id),
            reason=message.dead_letter_reason,
            description=message.dead_letter_error_description,
            enqueued_time=message.enqueued_time_utc,
            delivery_count=message.delivery_count,
            source=message.dead_letter_source,
            subject=message.subject,
        )

    def label(self) -> str:
        return f"{self.message_id or '(no message id)'} (sequence {self.sequence_number})"

    def as_json(self) -> dict[str, Any]:
        return {
            "messageId": self.message_id,
            "sequenceNumber": self.sequence_number,
            "deadLetterReason": self.reason,
            "deadLetterErrorDescription": self.description,
            "enqueuedTimeUtc": self.enqueued_time.isoformat() if self.enqueued_time else None,
            "deliveryCount": self.delivery_count,
            "deadLetterSource": self.source,
            "subject": self.subject,
        }


def peek_dead_letters(client: Client, entity: Entity, limit: int) -> list[DeadLetter]:
    """The first `limit` dead-lettered messages, by sequence number. Peeking neither locks nor removes."""
    found: list[DeadLetter] = []
    next_sequence = 1
    with entity.dead_letter_receiver(client) as receiver:
        while len(found) < limit:
            batch = receiver.peek_messages(
                max_message_count=min(BATCH_SIZE, limit - len(found)), sequence_number=next_sequence
            )
            if not batch:
                break
            found.extend(DeadLetter.of(message) for message in batch)
            last = max(dead_letter.sequence_number for dead_letter in found)
            if last < next_sequence:  # a broker that does not advance: stop rather than loop
                break
            next_sequence = last + 1
    return found[:limit]


@dataclass(frozen=True)
class Selection:
    """Which dead-lettered messages to replay: all of them or some message ids, optionally of one reason."""

    message_ids: frozenset[str] | None = None  # None: every message
    reason: str | None = None

    def matches(self, dead_letter: DeadLetter) -> bool:
        if self.message_ids is not None and dead_letter.message_id not in self.message_ids:
            return False
        return self.reason is None or dead_letter.reason == self.reason


def duplicate_detection_window(administration: Administration, entity: Entity) -> timedelta:
    """How long the entity a replay sends to remembers message ids; zero when it keeps no history.

    A copy keeps its message id. Within that window after the original was enqueued the broker accepts the
    copy and silently drops it as a duplicate, and completing the dead-lettered message would then lose it.
    """
    properties: QueueProperties | TopicProperties
    if entity.queue is not None:
        properties = administration.get_queue(entity.queue)
    else:
        assert entity.topic is not None
        properties = administration.get_topic(entity.topic)
    if not properties.requires_duplicate_detection:
        return timedelta(0)
    window = properties.duplicate_detection_history_time_window
    if isinstance(window, timedelta):
        return window
    from backstop.config import parse_duration

    try:
        return parse_duration(window)
    except ValueError:
        return LONGEST_DUPLICATE_WINDOW


@dataclass(frozen=True)
class ReplayPlan:
    """What a replay would resubmit: the dry run prints it, `--execute` carries out exactly this."""

    entity: Entity
    scanned: int
    selected: tuple[DeadLetter, ...]
    missing_ids: tuple[str, ...]  # asked for by message id, not in the dead-letter queue
    # Selected, but the target would drop the copy as a duplicate until then: left dead-lettered.
    blocked: tuple[tuple[DeadLetter, datetime], ...] = ()
    duplicate_window: timedelta = timedelta(0)

    @property
    def left_in_place(self) -> int:
        return self.scanned - len(self.selected)


def plan_replay(
    client: Client,
    entity: Entity,
    selection: Selection,
    limit: int,
    duplicate_window: timedelta = timedelta(0),
    now: datetime | None = None,
) -> ReplayPlan:
    now = now or datetime.now(UTC)
    scanned = peek_dead_letters(client, entity, limit)
    selected: list[DeadLetter] = []
    blocked: list[tuple[DeadLetter, datetime]] = []
    for dead_letter in scanned:
        if not selection.matches(dead_letter):
            continue
        if duplicate_window > timedelta(0):
            # An unknown enqueue time counts as "just now": wait the whole window.
            safe_after = (dead_letter.enqueued_time or now) + duplicate_window + CLOCK_SKEW
            if safe_after > now:
                blocked.append((dead_letter, safe_after))
                continue
        selected.append(dead_letter)
    present = {dead_letter.message_id for dead_letter in scanned}
    missing = tuple(sorted((selection.message_ids or frozenset()) - present))
    return ReplayPlan(entity, len(scanned), tuple(selected), missing, tuple(blocked), duplicate_window)


class NotReplayable(Exception):
    """A message backstop cannot copy faithfully; it stays in the dead-letter queue."""


def _text(value: Any) -> Any:
    """Received keys and string values arrive as bytes; send them back as the strings they were.

    AMQP binary values arrive as bytes too and cannot be told apart from strings: those that are not valid
    UTF-8 are sent back as bytes.
    """
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return value
    return value


def _body(message: ServiceBusReceivedMessage) -> bytes | None:
    if message.body_type == AmqpMessageBodyType.DATA:
        body = message.body
        if isinstance(body, bytes | bytearray):
            return bytes(body)
        return b"".join(body)
    if message.body_type == AmqpMessageBodyType.VALUE and message.body is None:
        return None  # what `ServiceBusMessage(None)` sends
    raise NotReplayable(
        f"its body is an AMQP {message.body_type.value} section, which a ServiceBusMessage cannot carry"
    )


def faithful_copy(message: ServiceBusReceivedMessage) -> ServiceBusMessage:
    """A new message equal to the one that was dead-lettered, as its producer sent it.

    Kept: body, application properties (less the two the broker added when dead-lettering), message id,
    session id, partition key, content type, correlation id, subject, to, reply-to, reply-to session id and
    time to live. Not kept: what the broker assigns on enqueue (sequence number, enqueued time, delivery
    count) and a scheduled enqueue time, which is in the past.
    """
    properties = {
        _text(key): _text(value)
        for key, value in (message.application_properties or {}).items()
        if _text(key) not in BROKER_DEAD_LETTER_PROPERTIES
    }
    return ServiceBusMessage(
        _body(message),
        application_properties=properties or None,
        message_id=message.message_id,
        session_id=message.session_id,
        partition_key=message.partition_key,
        content_type=message.content_type,
        correlation_id=message.correlation_id,
        subject=message.subject,
        to=message.to,
        reply_to=message.reply_to,
        reply_to_session_id=message.reply_to_session_id,
        time_to_live=message.time_to_live,
    )


def _reason(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else 'no detail'}"[:300]


@dataclass
class ReplayResult:
    """What happened to each planned message. `ok` only when every one was resubmitted and removed."""

    resent: list[DeadLetter] = field(default_factory=list)
    failed: list[tuple[DeadLetter, str]] = field(default_factory=list)  # still in the dead-letter queue
    duplicated: list[tuple[DeadLetter, str]] = field(default_factory=list)  # resent, yet still dead-lettered
    vanished: list[DeadLetter] = field(default_factory=list)  # planned, no longer there to receive

    @property
    def ok(self) -> bool:
        return not (self.failed or self.duplicated or self.vanished)


def _settle_quietly(receiver: Receiver, messages: Iterable[ServiceBusReceivedMessage]) -> None:
    """Abandon messages we hold: back to the dead-letter queue at once. A lost lock returns them anyway."""
    for message in messages:
        # If abandoning fails the lock expires by itself: the message is not lost either way.
        with contextlib.suppress(Exception):
            receiver.abandon_message(message)


def execute_replay(client: Client, plan: ReplayPlan, max_wait_time: float = 5.0) -> ReplayResult:
    """Resubmit exactly the planned messages: send a faithful copy, then complete the dead-lettered one.

    Messages are received from the dead-letter sub-queue in PEEK_LOCK. Unselected and failed ones are held
    until the end and then abandoned, so the receive loop never sees them twice and they stay dead-lettered.
    """
    planned = {dead_letter.sequence_number: dead_letter for dead_letter in plan.selected}
    result = ReplayResult()
    if not planned:
        return result
    held: list[ServiceBusReceivedMessage] = []
    seen: set[int] = set()
    with (
        plan.entity.sender(client) as sender,
        plan.entity.dead_letter_receiver(client, max_wait_time) as receiver,
    ):
        try:
            while planned.keys() - seen:
                batch = receiver.receive_messages(max_message_count=BATCH_SIZE, max_wait_time=max_wait_time)
                if not batch:
                    break
                repeated = False
                for message in batch:
                    sequence = int(message.sequence_number or 0)
                    if sequence in seen:  # a lock we held expired: we have been round the whole queue
                        repeated = True
                        held.append(message)
                        continue
                    seen.add(sequence)
                    dead_letter = planned.get(sequence)
                    if dead_letter is None:
                        held.append(message)
                        continue
                    _replay_one(receiver, sender, message, dead_letter, held, result)
                if repeated:
                    break
        finally:
            _settle_quietly(receiver, held)
    result.vanished.extend(planned[sequence] for sequence in sorted(planned.keys() - seen))
    return result


def _replay_one(
    receiver: Receiver,
    sender: Sender,
    message: ServiceBusReceivedMessage,
    dead_letter: DeadLetter,
    held: list[ServiceBusReceivedMessage],
    result: ReplayResult,
) -> None:
    try:
        copy = faithful_copy(message)
    except NotReplayable as error:
        held.append(message)
        result.failed.append((dead_letter, f"not replayable: {error}"))
        return
    try:
        sender.send_messages(copy)
    except Exception as error:  # whatever went wrong, the original must stay dead-lettered
        held.append(message)
        result.failed.append((dead_letter, f"send failed: {_reason(error)}"))
        return
    try:
        receiver.complete_message(message)
    except Exception as error:  # the copy is out: say loudly that the original remains
        result.duplicated.append((dead_letter, _reason(error)))
        return
    result.resent.append(dead_letter)


def describe(dead_letters: Sequence[DeadLetter]) -> list[str]:
    """Aligned text rows, one per message."""
    header = ("MESSAGE ID", "SEQUENCE", "ENQUEUED (UTC)", "DELIVERIES", "REASON", "DESCRIPTION", "SOURCE")
    rows = [
        (
            d.message_id or "-",
            str(d.sequence_number),
            d.enqueued_time.strftime("%Y-%m-%d %H:%M:%S") if d.enqueued_time else "-",
            "-" if d.delivery_count is None else str(d.delivery_count),
            d.reason or "-",
            (d.description or "-").replace("\n", " "),
            d.source or "-",
        )
        for d in dead_letters
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header) - 1)]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(row[:-1], widths, strict=True)) + "  " + row[-1]
        for row in [header, *rows]
    ]
