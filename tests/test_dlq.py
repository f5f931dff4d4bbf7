"""`backstop dlq inspect|replay` against an in-process stand-in for a Service Bus namespace.

The stand-in implements the part of azure-servicebus 7.15's `ServiceBusClient`, `ServiceBusReceiver` and
`ServiceBusSender` that backstop uses, with the same names and signatures (checked below). Messages go in as
real `ServiceBusMessage` objects and come out as real `ServiceBusReceivedMessage` objects, decoded from the
AMQP bytes the SDK itself encodes, so properties arrive exactly as from Azure (string keys and values as
bytes, broker annotations for sequence number, enqueued time and dead-letter source).
"""

from __future__ import annotations

import inspect
import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError, ResourceNotFoundError
from azure.identity import CredentialUnavailableError
from azure.servicebus import (
    ServiceBusClient,
    ServiceBusMessage,
    ServiceBusReceivedMessage,
    ServiceBusReceiveMode,
    ServiceBusReceiver,
    ServiceBusSender,
    ServiceBusSubQueue,
)
from azure.servicebus._pyamqp._encode import encode_payload
from azure.servicebus._pyamqp.message import Header
from azure.servicebus._pyamqp.types import TYPE, VALUE, AMQPTypes
from azure.servicebus._transport._pyamqp_transport import PyamqpTransport
from azure.servicebus.amqp import AmqpAnnotatedMessage
from azure.servicebus.exceptions import (
    MessageLockLostError,
    MessagingEntityNotFoundError,
    ServiceBusAuthorizationError,
    ServiceBusConnectionError,
    ServiceBusError,
)
from azure.servicebus.management import QueueProperties, ServiceBusAdministrationClient, TopicProperties

from backstop.cli import main
from backstop.ground.envelope import tool_version
from backstop.operations.dlq import commands, service
from tests.json_documents import assert_valid

NAMESPACE = "acme-prod-sb"
HOST = "acme-prod-sb.servicebus.windows.net"
ENQUEUED = datetime(2026, 5, 18, 9, 30, tzinfo=UTC)


# --- the stand-in -------------------------------------------------------------------------------------------


@dataclass
class Stored:
    message: Any  # the pyamqp Message, as the broker holds it
    delivery_count: int = 0
    locked_by: int | None = None


@dataclass
class Store:
    """One queue or subscription: its active messages and its dead-letter sub-queue, by sequence number."""

    active: dict[int, Stored] = field(default_factory=dict)
    dead: dict[int, Stored] = field(default_factory=dict)

    def part(self, sub_queue: Any) -> dict[int, Stored]:
        return self.dead if sub_queue == ServiceBusSubQueue.DEAD_LETTER else self.active


class Broker:
    """An in-process Service Bus namespace. `log` records every operation, in order."""

    def __init__(self) -> None:
        self.queues: dict[str, Store] = {}
        self.topics: dict[str, dict[str, Store]] = {}
        self.log: list[tuple[str, Any]] = []
        self.failing_sends: dict[str, Exception] = {}  # message id -> what send_messages raises
        self.failing_completes: set[int] = set()  # sequence numbers whose lock is lost before completing
        self.failure_on_open: Exception | None = None
        self.duplicate_detection: dict[str, Any] = {}  # queue or topic -> history window
        self.administration_failure: Exception | None = None
        self._sequence = 1000

    def queue(self, name: str) -> Store:
        return self.queues.setdefault(name, Store())

    def subscription(self, topic: str, name: str) -> Store:
        return self.topics.setdefault(topic, {}).setdefault(name, Store())

    def _amqp(self, message: ServiceBusMessage | AmqpAnnotatedMessage, **annotations: Any) -> tuple[int, Any]:
        raw = message.raw_amqp_message if isinstance(message, ServiceBusMessage) else message
        amqp = PyamqpTransport.to_outgoing_amqp_message(raw)
        self._sequence += 1
        broker_annotations = dict(amqp.message_annotations or {})
        broker_annotations[b"x-opt-sequence-number"] = {TYPE: AMQPTypes.long, VALUE: self._sequence}
        enqueued = annotations.get("enqueued", ENQUEUED)
        broker_annotations[b"x-opt-enqueued-time"] = {
            TYPE: AMQPTypes.timestamp,
            VALUE: int(enqueued.timestamp() * 1000),
        }
        if annotations.get("source"):
            broker_annotations[b"x-opt-deadletter-source"] = annotations["source"]
        properties = dict(amqp.application_properties or {})
        if "reason" in annotations:
            properties["DeadLetterReason"] = annotations["reason"]
            properties["DeadLetterErrorDescription"] = annotations["description"]
        return self._sequence, amqp._replace(
            message_annotations=broker_annotations, application_properties=properties or None
        )

    def send(self, store: Store, message: ServiceBusMessage) -> int:
        sequence, amqp = self._amqp(message, enqueued=datetime.now(UTC))
        store.active[sequence] = Stored(amqp)
        return sequence

    def dead_letter(
        self,
        store: Store,
        message: ServiceBusMessage | AmqpAnnotatedMessage,
        reason: str = "MaxDeliveryCountExceeded",
        description: str = "Message could not be consumed after 10 delivery attempts.",
        deliveries: int = 10,
        enqueued: datetime = ENQUEUED,
        source: str | None = None,
    ) -> int:
        sequence, amqp = self._amqp(
            message, reason=reason, description=description, enqueued=enqueued, source=source
        )
        store.dead[sequence] = Stored(amqp, delivery_count=deliveries)
        return sequence

    def snapshot(self) -> dict[str, Any]:
        """Everything an operation could change: which messages are where, locks and delivery counts."""

        def part(messages: dict[int, Stored]) -> list[tuple[int, int, int | None]]:
            return [(seq, stored.delivery_count, stored.locked_by) for seq, stored in messages.items()]

        stores = dict(self.queues) | {
            f"{t}/{s}": st for t, subs in self.topics.items() for s, st in subs.items()
        }
        return {name: (part(store.active), part(store.dead)) for name, store in stores.items()}


def _received(stored: Stored, receive_mode: Any) -> ServiceBusReceivedMessage:
    header = stored.message.header or Header()
    message = stored.message._replace(header=header._replace(delivery_count=stored.delivery_count))
    return ServiceBusReceivedMessage.from_bytes(bytes(encode_payload(bytearray(), message)))


class StandInReceiver:
    def __init__(
        self, broker: Broker, store: Store | None, name: str, sub_queue: Any, receive_mode: Any
    ) -> None:
        self.broker, self.store, self.name = broker, store, name
        self.sub_queue, self.receive_mode = sub_queue, receive_mode
        self.closed = False

    def __enter__(self) -> StandInReceiver:
        return self

    def __exit__(self, *args: Any) -> None:
        self.close()

    def close(self) -> None:
        self.closed = True

    def _messages(self) -> dict[int, Stored]:
        if self.broker.failure_on_open is not None:
            raise self.broker.failure_on_open
        if self.store is None:
            raise MessagingEntityNotFoundError(
                message=f"The messaging entity '{self.name}' could not be found."
            )
        return self.store.part(self.sub_queue)

    def peek_messages(
        self,
        max_message_count: int = 1,
        *,
        sequence_number: int = 0,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> list[ServiceBusReceivedMessage]:
        messages = self._messages()
        chosen = [seq for seq in sorted(messages) if seq >= sequence_number][:max_message_count]
        self.broker.log.append(("peek", tuple(chosen)))
        return [_received(messages[seq], self.receive_mode) for seq in chosen]

    def receive_messages(
        self, max_message_count: int | None = 1, max_wait_time: float | None = None
    ) -> list[ServiceBusReceivedMessage]:
        messages = self._messages()
        free = [seq for seq in sorted(messages) if messages[seq].locked_by is None][: max_message_count or 1]
        received = []
        for seq in free:
            received.append(_received(messages[seq], self.receive_mode))
            if self.receive_mode == ServiceBusReceiveMode.RECEIVE_AND_DELETE:
                del messages[seq]
            else:
                messages[seq].locked_by = id(self)
        self.broker.log.append(("receive", tuple(free)))
        return received

    def _locked(self, message: ServiceBusReceivedMessage) -> tuple[dict[int, Stored], int]:
        messages = self._messages()
        seq = int(message.sequence_number or 0)
        if seq not in messages or messages[seq].locked_by != id(self) or seq in self.broker.failing_completes:
            raise MessageLockLostError()
        return messages, seq

    def complete_message(self, message: ServiceBusReceivedMessage) -> None:
        messages, seq = self._locked(message)
        del messages[seq]
        self.broker.log.append(("complete", seq))

    def abandon_message(self, message: ServiceBusReceivedMessage) -> None:
        messages, seq = self._locked(message)
        messages[seq].locked_by = None
        messages[seq].delivery_count += 1
        self.broker.log.append(("abandon", seq))


class StandInSender:
    def __init__(self, broker: Broker, stores: list[Store] | None, name: str) -> None:
        self.broker, self.stores, self.name = broker, stores, name

    def __enter__(self) -> StandInSender:
        return self

    def __exit__(self, *args: Any) -> None:
        self.close()

    def close(self) -> None:
        pass

    def send_messages(self, message: Any, *, timeout: float | None = None, **kwargs: Any) -> None:
        assert isinstance(message, ServiceBusMessage), "backstop sends one ServiceBusMessage at a time"
        if self.stores is None:
            raise MessagingEntityNotFoundError(
                message=f"The messaging entity '{self.name}' could not be found."
            )
        failure = self.broker.failing_sends.get(str(message.message_id))
        if failure is not None:
            self.broker.log.append(("send-failed", message.message_id))
            raise failure
        for store in self.stores:
            self.broker.send(store, message)
        self.broker.log.append(("send", message.message_id))


class StandInClient:
    def __init__(self, broker: Broker) -> None:
        self.broker = broker
        self.closed = False

    def __enter__(self) -> StandInClient:
        return self

    def __exit__(self, *args: Any) -> None:
        self.close()

    def close(self) -> None:
        self.closed = True

    def get_queue_receiver(
        self,
        queue_name: str,
        *,
        client_identifier: str | None = None,
        socket_timeout: float | None = None,
        session_id: Any = None,
        sub_queue: Any = None,
        receive_mode: Any = ServiceBusReceiveMode.PEEK_LOCK,
        max_wait_time: float | None = None,
        auto_lock_renewer: Any = None,
        prefetch_count: int = 0,
        **kwargs: Any,
    ) -> StandInReceiver:
        store = self.broker.queues.get(queue_name)
        return StandInReceiver(self.broker, store, queue_name, sub_queue, receive_mode)

    def get_subscription_receiver(
        self,
        topic_name: str,
        subscription_name: str,
        *,
        client_identifier: str | None = None,
        socket_timeout: float | None = None,
        session_id: Any = None,
        sub_queue: Any = None,
        receive_mode: Any = ServiceBusReceiveMode.PEEK_LOCK,
        max_wait_time: float | None = None,
        auto_lock_renewer: Any = None,
        prefetch_count: int = 0,
        **kwargs: Any,
    ) -> StandInReceiver:
        store = self.broker.topics.get(topic_name, {}).get(subscription_name)
        return StandInReceiver(
            self.broker, store, f"{topic_name}/{subscription_name}", sub_queue, receive_mode
        )

    def get_queue_sender(
        self,
        queue_name: str,
        *,
        client_identifier: str | None = None,
        socket_timeout: float | None = None,
        **kwargs: Any,
    ) -> StandInSender:
        store = self.broker.queues.get(queue_name)
        return StandInSender(self.broker, None if store is None else [store], queue_name)

    def get_topic_sender(
        self,
        topic_name: str,
        *,
        client_identifier: str | None = None,
        socket_timeout: float | None = None,
        **kwargs: Any,
    ) -> StandInSender:
        subscriptions = self.broker.topics.get(topic_name)
        return StandInSender(
            self.broker, None if subscriptions is None else list(subscriptions.values()), topic_name
        )


def entity_properties(cls: type, name: str, window: Any) -> Any:
    """A real `QueueProperties` / `TopicProperties`: every setting None but duplicate detection."""
    settings = dict.fromkeys(
        p for p in inspect.signature(cls.__init__).parameters if p not in ("self", "name")
    )
    settings["requires_duplicate_detection"] = window is not None
    settings["duplicate_detection_history_time_window"] = window
    return cls(name, **settings)


class StandInAdministration:
    def __init__(self, broker: Broker) -> None:
        self.broker = broker

    def __enter__(self) -> StandInAdministration:
        return self

    def __exit__(self, *exc_details: Any) -> None:
        self.close()

    def close(self) -> None:
        pass

    def _read(self, cls: type, name: str, known: bool) -> Any:
        if self.broker.administration_failure is not None:
            raise self.broker.administration_failure
        if not known:
            raise ResourceNotFoundError(f"Entity '{name}' was not found.")
        self.broker.log.append(("get-properties", name))
        return entity_properties(cls, name, self.broker.duplicate_detection.get(name))

    def get_queue(self, queue_name: str, **kwargs: Any) -> QueueProperties:
        return self._read(QueueProperties, queue_name, queue_name in self.broker.queues)  # type: ignore[no-any-return]

    def get_topic(self, topic_name: str, **kwargs: Any) -> TopicProperties:
        return self._read(TopicProperties, topic_name, topic_name in self.broker.topics)  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("stand_in", "real", "method"),
    [
        (StandInClient, ServiceBusClient, "get_queue_receiver"),
        (StandInClient, ServiceBusClient, "get_subscription_receiver"),
        (StandInClient, ServiceBusClient, "get_queue_sender"),
        (StandInClient, ServiceBusClient, "get_topic_sender"),
        (StandInReceiver, ServiceBusReceiver, "peek_messages"),
        (StandInReceiver, ServiceBusReceiver, "receive_messages"),
        (StandInReceiver, ServiceBusReceiver, "complete_message"),
        (StandInReceiver, ServiceBusReceiver, "abandon_message"),
        (StandInSender, ServiceBusSender, "send_messages"),
        (StandInAdministration, ServiceBusAdministrationClient, "get_queue"),
        (StandInAdministration, ServiceBusAdministrationClient, "get_topic"),
    ],
)
def test_the_stand_in_has_the_signatures_of_azure_servicebus(stand_in: type, real: type, method: str) -> None:
    def shape(function: Any) -> list[tuple[str, Any, bool]]:
        return [
            (p.name, p.kind, p.default is inspect.Parameter.empty)
            for p in inspect.signature(function).parameters.values()
        ]

    assert shape(getattr(stand_in, method)) == shape(getattr(real, method))


# --- fixtures -----------------------------------------------------------------------------------------------


@pytest.fixture
def broker(monkeypatch: pytest.MonkeyPatch) -> Broker:
    """A namespace with an `orders` queue and its dead-letter queue, wired into the CLI."""
    the_broker = Broker()
    the_broker.queue("orders")
    connected: list[tuple[str, Any]] = []

    def factory(host: str, entity: service.Entity) -> StandInClient:
        connected.append((host, entity))
        return StandInClient(the_broker)

    monkeypatch.setattr(commands, "client_factory", factory)
    monkeypatch.setattr(commands, "administration_factory", lambda host: StandInAdministration(the_broker))
    monkeypatch.delenv(commands.CONNECTION_STRING_ENV, raising=False)
    the_broker.connected = connected  # type: ignore[attr-defined]
    return the_broker


def order(message_id: str, body: bytes = b'{"order": 1}', **options: Any) -> ServiceBusMessage:
    return ServiceBusMessage(body, message_id=message_id, **options)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


QUEUE = ("--namespace", NAMESPACE, "--queue", "orders")


# --- inspect ------------------------------------------------------------------------------------------------


def test_inspect_lists_exactly_the_dead_lettered_messages_with_their_fields(
    broker: Broker, capsys: pytest.CaptureFixture[str]
) -> None:
    orders = broker.queue("orders")
    broker.send(orders, order("still-active"))
    first = broker.dead_letter(orders, order("m-1"), deliveries=10)
    second = broker.dead_letter(
        orders,
        order("m-2"),
        reason="OrderRejected",
        description="tenant acme is suspended",
        deliveries=1,
        enqueued=ENQUEUED + timedelta(minutes=5),
        source="orders-archive",
    )

    code, out, err = run(capsys, "dlq", "inspect", *QUEUE, "--format", "json")

    assert (code, err) == (0, "")
    assert assert_valid(out, "dlq inspect") == {
        "schemaVersion": 1,
        "toolVersion": tool_version(),
        "command": "dlq inspect",
        "namespace": HOST,
        "entity": "queue orders",
        "deadLetters": [
            {
                "messageId": "m-1",
                "sequenceNumber": first,
                "deadLetterReason": "MaxDeliveryCountExceeded",
                "deadLetterErrorDescription": "Message could not be consumed after 10 delivery attempts.",
                "enqueuedTimeUtc": "2026-05-18T09:30:00+00:00",
                "deliveryCount": 10,
                "deadLetterSource": None,
                "subject": None,
            },
            {
                "messageId": "m-2",
                "sequenceNumber": second,
                "deadLetterReason": "OrderRejected",
                "deadLetterErrorDescription": "tenant acme is suspended",
                "enqueuedTimeUtc": "2026-05-18T09:35:00+00:00",
                "deliveryCount": 1,
                "deadLetterSource": "orders-archive",
                "subject": None,
            },
        ],
    }
    assert broker.connected == [(HOST, service.Entity(queue="orders"))]  # type: ignore[attr-defined]


def test_inspect_as_text_shows_one_row_per_message(
    broker: Broker, capsys: pytest.CaptureFixture[str]
) -> None:
    orders = broker.queue("orders")
    sequence = broker.dead_letter(orders, order("m-1"), reason="OrderRejected", description="bad\ntenant")

    code, out, _ = run(capsys, "dlq", "inspect", *QUEUE)

    lines = out.splitlines()
    assert code == 0
    assert lines[0] == f"backstop dlq: queue orders in {HOST}: 1 dead-lettered message"
    header = "MESSAGE ID  SEQUENCE  ENQUEUED (UTC)  DELIVERIES  REASON  DESCRIPTION  SOURCE"
    row = f"m-1 {sequence} 2026-05-18 09:30:00 10 OrderRejected bad tenant -"
    assert lines[1].split() == header.split()
    assert lines[2].split() == row.split()
    assert len(lines) == 3


def test_inspect_only_peeks_nothing_is_locked_or_removed(
    broker: Broker, capsys: pytest.CaptureFixture[str]
) -> None:
    orders = broker.queue("orders")
    for index in range(5):
        broker.dead_letter(orders, order(f"m-{index}"))
    before = broker.snapshot()

    code, _, _ = run(capsys, "dlq", "inspect", *QUEUE)

    assert code == 0
    assert broker.snapshot() == before
    assert {operation for operation, _ in broker.log} == {"peek"}


def test_inspect_pages_through_the_queue_and_stops_at_max(
    broker: Broker, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "BATCH_SIZE", 2)
    orders = broker.queue("orders")
    sequences = [broker.dead_letter(orders, order(f"m-{index}")) for index in range(5)]

    _, everything, _ = run(capsys, "dlq", "inspect", *QUEUE, "--format", "json")
    code, limited, _ = run(capsys, "dlq", "inspect", *QUEUE, "--max", "3")

    assert [d["sequenceNumber"] for d in json.loads(everything)["deadLetters"]] == sequences
    assert code == 0
    assert limited.splitlines()[0].endswith(
        ": 3 dead-lettered messages (the first 3; raise --max to see more)"
    )
    assert [line.split()[0] for line in limited.splitlines()[2:]] == ["m-0", "m-1", "m-2"]


def test_inspect_reads_a_subscriptions_dead_letter_queue(
    broker: Broker, capsys: pytest.CaptureFixture[str]
) -> None:
    billing = broker.subscription("events", "billing")
    broker.subscription("events", "audit")
    broker.dead_letter(billing, order("e-1"), reason="SchemaMismatch", description="v3 event")

    code, out, _ = run(
        capsys,
        "dlq",
        "inspect",
        "--namespace",
        NAMESPACE,
        "--topic",
        "events",
        "--subscription",
        "billing",
        "--format",
        "json",
    )

    document = assert_valid(out, "dlq inspect")
    assert code == 0
    assert document["entity"] == "subscription billing of topic events"
    assert [(d["messageId"], d["deadLetterReason"]) for d in document["deadLetters"]] == [
        ("e-1", "SchemaMismatch")
    ]


# --- replay: dry run ----------------------------------------------------------------------------------------


def test_replay_is_a_dry_run_by_default_and_changes_nothing(
    broker: Broker, capsys: pytest.CaptureFixture[str]
) -> None:
    orders = broker.queue("orders")
    broker.dead_letter(orders, order("m-1"))
    broker.dead_letter(orders, order("m-2"))
    before = broker.snapshot()

    code, out, err = run(capsys, "dlq", "replay", *QUEUE, "--all")

    assert (code, err) == (0, "")
    assert broker.snapshot() == before
    assert {operation for operation, _ in broker.log} == {"get-properties", "peek"}  # reads only
    lines = out.splitlines()
    assert lines[0] == f"backstop dlq replay: queue orders in {HOST} (dry run: nothing changes)"
    assert lines[1] == "would resubmit 2 of 2 dead-lettered messages to queue orders"
    assert [line.split()[0] for line in lines[3:5]] == ["m-1", "m-2"]
    assert lines[-1] == "nothing changed: run again with --execute to resubmit them"


def test_dry_run_names_a_requested_message_that_is_not_dead_lettered_and_exits_1(
    broker: Broker, capsys: pytest.CaptureFixture[str]
) -> None:
    broker.dead_letter(broker.queue("orders"), order("m-1"))

    code, out, err = run(capsys, "dlq", "replay", *QUEUE, "--message-id", "m-1", "m-404")

    assert code == 1
    assert "would resubmit 1 of 1 dead-lettered messages" in out
    assert err == "backstop: not in the dead-letter queue: message id m-404\n"


# --- replay --execute ---------------------------------------------------------------------------------------


def rich_order() -> ServiceBusMessage:
    return ServiceBusMessage(
        b'{"order": 42, "total": "19.99"}',
        application_properties={"tenant": "acme", "attempt": 3, "priority": True, "weight": 2.5},
        message_id="m-rich",
        session_id="customer-7",
        partition_key="customer-7",
        content_type="application/json",
        correlation_id="corr-9",
        subject="order.created",
        to="orders",
        reply_to="order-replies",
        reply_to_session_id="reply-7",
        time_to_live=timedelta(hours=2),
    )


def test_execute_resends_a_faithful_copy_then_completes_only_the_selected(
    broker: Broker, capsys: pytest.CaptureFixture[str]
) -> None:
    orders = broker.queue("orders")
    keep_a = broker.dead_letter(orders, order("m-keep-a"))
    rich = broker.dead_letter(orders, rich_order())
    keep_b = broker.dead_letter(orders, order("m-keep-b"))
    plain = broker.dead_letter(orders, order("m-plain", body=b"plain text"))

    code, out, err = run(capsys, "dlq", "replay", *QUEUE, "--message-id", "m-rich", "m-plain", "--execute")

    assert (code, err) == (0, "")
    assert f"resubmitted m-rich (sequence {rich}) and removed it from the dead-letter queue" in out
    assert out.splitlines()[-1] == (
        "backstop dlq replay: 2 resubmitted, 0 not resubmitted, 0 resubmitted but still dead-lettered, "
        "2 not selected (left dead-lettered)"
    )
    # Exactly the selected left the dead-letter queue; the others are still there, unlocked.
    assert [(seq, stored.locked_by) for seq, stored in orders.dead.items()] == [
        (keep_a, None),
        (keep_b, None),
    ]
    completed = [seq for operation, seq in broker.log if operation == "complete"]
    abandoned = [seq for operation, seq in broker.log if operation == "abandon"]
    assert sorted(completed) == sorted([rich, plain])
    assert sorted(abandoned) == sorted([keep_a, keep_b])
    # Each completion comes after its copy was accepted.
    sends = [entry for entry in broker.log if entry[0] in {"send", "complete"}]
    assert sends == [("send", "m-rich"), ("complete", rich), ("send", "m-plain"), ("complete", plain)]

    # What a consumer of `orders` now receives: the message as its producer sent it.
    copies = StandInClient(broker).get_queue_receiver("orders").peek_messages(10)
    assert [c.message_id for c in copies] == ["m-rich", "m-plain"]
    copy = copies[0]
    assert b"".join(copy.body) == b'{"order": 42, "total": "19.99"}'
    assert copy.application_properties == {
        b"tenant": b"acme",
        b"attempt": 3,
        b"priority": True,
        b"weight": 2.5,
    }
    assert copy.dead_letter_reason is None
    assert (copy.session_id, copy.partition_key) == ("customer-7", "customer-7")
    assert (copy.content_type, copy.correlation_id, copy.subject) == (
        "application/json",
        "corr-9",
        "order.created",
    )
    assert (copy.to, copy.reply_to, copy.reply_to_session_id) == ("orders", "order-replies", "reply-7")
    assert copy.time_to_live == timedelta(hours=2)
    assert b"".join(copies[1].body) == b"plain text"
    assert copies[1].application_properties is None


def test_faithful_copy_drops_only_what_the_broker_added() -> None:
    broker = Broker()
    orders = broker.queue("orders")
    broker.dead_letter(orders, rich_order(), reason="Poison", description="cannot parse")
    dead = StandInClient(broker).get_queue_receiver("orders", sub_queue=ServiceBusSubQueue.DEAD_LETTER)
    received = dead.peek_messages(1)[0]
    assert received.dead_letter_reason == "Poison"

    copy = service.faithful_copy(received)

    assert isinstance(copy, ServiceBusMessage)
    assert copy.application_properties == {"tenant": "acme", "attempt": 3, "priority": True, "weight": 2.5}
    assert (copy.message_id, copy.session_id, copy.time_to_live) == (
        "m-rich",
        "customer-7",
        timedelta(hours=2),
    )
    assert not isinstance(copy, ServiceBusReceivedMessage)  # a new message: the broker numbers it anew


def test_a_message_with_no_body_is_replayed_with_no_body(
    broker: Broker, capsys: pytest.CaptureFixture[str]
) -> None:
    orders = broker.queue("orders")
    broker.dead_letter(orders, ServiceBusMessage(None, message_id="m-empty", subject="ping"))

    code, _, _ = run(capsys, "dlq", "replay", *QUEUE, "--all", "--execute")

    (copy,) = StandInClient(broker).get_queue_receiver("orders").peek_messages(5)
    assert code == 0
    assert (copy.message_id, copy.subject, copy.body) == ("m-empty", "ping", None)
    assert orders.dead == {}


def test_a_send_failure_leaves_the_message_dead_lettered_and_exits_1_naming_it(
    broker: Broker, capsys: pytest.CaptureFixture[str]
) -> None:
    orders = broker.queue("orders")
    failing = broker.dead_letter(orders, order("m-fails"))
    fine = broker.dead_letter(orders, order("m-fine"))
    broker.failing_sends["m-fails"] = ServiceBusConnectionError(message="connection reset by peer")

    code, out, err = run(capsys, "dlq", "replay", *QUEUE, "--all", "--execute")

    assert code == 1
    assert err == (
        f"backstop: NOT resubmitted, still dead-lettered: m-fails (sequence {failing}): send failed: "
        "ServiceBusConnectionError: connection reset by peer\n"
    )
    assert list(orders.dead) == [failing]  # nothing lost
    assert orders.dead[failing].locked_by is None
    assert ("complete", failing) not in broker.log
    assert ("abandon", failing) in broker.log
    assert ("complete", fine) in broker.log
    assert [c.message_id for c in StandInClient(broker).get_queue_receiver("orders").peek_messages(5)] == [
        "m-fine"
    ]
    assert "1 resubmitted, 1 not resubmitted" in out.splitlines()[-1]


def test_a_lost_lock_after_sending_is_reported_as_a_duplicate(
    broker: Broker, capsys: pytest.CaptureFixture[str]
) -> None:
    orders = broker.queue("orders")
    sequence = broker.dead_letter(orders, order("m-slow"))
    broker.failing_completes.add(sequence)

    code, _, err = run(capsys, "dlq", "replay", *QUEUE, "--all", "--execute")

    assert code == 1
    assert err.startswith(
        f"backstop: resubmitted but still dead-lettered (remove it, or it will be replayed twice): "
        f"m-slow (sequence {sequence}): MessageLockLostError"
    )
    assert list(orders.dead) == [sequence]
    assert len(orders.active) == 1


def test_unselected_messages_are_abandoned_never_completed(
    broker: Broker, capsys: pytest.CaptureFixture[str]
) -> None:
    orders = broker.queue("orders")
    poison = broker.dead_letter(orders, order("m-poison"), reason="PoisonMessage", description="bad json")
    expired = broker.dead_letter(orders, order("m-expired"), reason="TTLExpiredException", description="ttl")
    retry = broker.dead_letter(orders, order("m-retry"))

    code, out, _ = run(
        capsys, "dlq", "replay", *QUEUE, "--all", "--reason", "MaxDeliveryCountExceeded", "--execute"
    )

    assert code == 0
    assert [operation for operation in broker.log if operation[0] == "complete"] == [("complete", retry)]
    assert sorted(seq for operation, seq in broker.log if operation == "abandon") == sorted([poison, expired])
    assert list(orders.dead) == [poison, expired]
    assert "resubmitting 1 of 3 dead-lettered messages to queue orders" in out


def test_a_message_backstop_cannot_copy_stays_dead_lettered(
    broker: Broker, capsys: pytest.CaptureFixture[str]
) -> None:
    orders = broker.queue("orders")
    value_body = AmqpAnnotatedMessage(value_body={"order": 1}, properties={"message_id": "m-value"})
    sequence = broker.dead_letter(orders, value_body)

    code, _, err = run(capsys, "dlq", "replay", *QUEUE, "--all", "--execute")

    assert code == 1
    assert "NOT resubmitted, still dead-lettered: m-value" in err
    assert "not replayable: its body is an AMQP value section" in err
    assert list(orders.dead) == [sequence]
    assert orders.active == {}


def test_replay_from_a_subscription_republishes_to_its_topic(
    broker: Broker, capsys: pytest.CaptureFixture[str]
) -> None:
    billing = broker.subscription("events", "billing")
    audit = broker.subscription("events", "audit")
    broker.dead_letter(billing, order("e-1"))

    code, out, _ = run(
        capsys,
        "dlq",
        "replay",
        "--namespace",
        NAMESPACE,
        "--topic",
        "events",
        "--subscription",
        "billing",
        "--all",
        "--execute",
    )

    assert code == 0
    assert "to topic events" in out
    assert "reaches every subscription whose filter matches it" in out
    assert billing.dead == {}
    assert len(billing.active) == len(audit.active) == 1


def test_replay_as_json_records_what_was_done(broker: Broker, capsys: pytest.CaptureFixture[str]) -> None:
    orders = broker.queue("orders")
    resent = broker.dead_letter(orders, order("m-1"))
    failed = broker.dead_letter(orders, order("m-2"))
    broker.failing_sends["m-2"] = ServiceBusError("quota exceeded")

    code, out, _ = run(capsys, "dlq", "replay", *QUEUE, "--all", "--execute", "--format", "json")

    document = assert_valid(out, "dlq replay")
    assert code == 1
    assert document["dryRun"] is False
    assert [d["sequenceNumber"] for d in document["resubmitted"]] == [resent]
    assert [(d["sequenceNumber"], d["error"]) for d in document["failed"]] == [
        (failed, "send failed: ServiceBusError: quota exceeded")
    ]


# --- errors -------------------------------------------------------------------------------------------------


def test_no_credentials_is_one_line_and_exit_2(broker: Broker, capsys: pytest.CaptureFixture[str]) -> None:
    # How azure-servicebus reports a DefaultAzureCredential that found nothing: wrapped in a ServiceBusError.
    unavailable = CredentialUnavailableError(
        "DefaultAzureCredential failed to retrieve a token.\nAttempted: ..."
    )
    broker.failure_on_open = ServiceBusError(f"Handler failed: {unavailable}.", error=unavailable)

    code, out, err = run(capsys, "dlq", "inspect", *QUEUE)

    assert (code, out) == (2, "")
    assert err == (
        f"backstop: no usable Azure credential for {HOST}: run `az login` (or set "
        "SERVICEBUS_CONNECTION_STRING): DefaultAzureCredential failed to retrieve a token.\n"
    )


def test_a_credential_error_raised_directly_is_explained_too(
    broker: Broker, capsys: pytest.CaptureFixture[str]
) -> None:
    broker.failure_on_open = ClientAuthenticationError("AADSTS7000215: Invalid client secret provided.")

    code, _, err = run(capsys, "dlq", "replay", *QUEUE, "--all")

    assert code == 2
    assert err.count("\n") == 1
    assert "no usable Azure credential" in err and "AADSTS7000215" in err


@pytest.mark.parametrize(
    ("failure", "expected"),
    [
        (
            ServiceBusAuthorizationError(message="Unauthorized access. 'Listen' claim(s) are required"),
            "not allowed",
        ),
        (ServiceBusConnectionError(message="Failed to initiate the connection"), "cannot connect"),
    ],
)
def test_service_errors_are_one_line_and_exit_2(
    broker: Broker, capsys: pytest.CaptureFixture[str], failure: Exception, expected: str
) -> None:
    broker.failure_on_open = failure

    code, _, err = run(capsys, "dlq", "inspect", *QUEUE)

    assert code == 2
    assert err.startswith(f"backstop: {HOST}: ") and expected in err
    assert err.count("\n") == 1


def test_an_unknown_queue_is_named(broker: Broker, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "dlq", "inspect", "--namespace", NAMESPACE, "--queue", "ordres")

    assert (code, err) == (2, f"backstop: {HOST}: queue ordres does not exist\n")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("--namespace", "a b", "--queue", "q"), "--namespace: 'a b' is not a Service Bus namespace name"),
        (("--namespace", "sb", "--queue", "q"), "--namespace: 'sb' is not a Service Bus namespace name"),
        (("--namespace", NAMESPACE, "--topic", "events"), "--topic needs --subscription"),
        (
            ("--namespace", NAMESPACE, "--queue", "q", "--subscription", "s"),
            "--subscription goes with --topic",
        ),
    ],
)
def test_bad_arguments_are_one_line_and_exit_2(
    broker: Broker, capsys: pytest.CaptureFixture[str], argv: tuple[str, ...], message: str
) -> None:
    code, out, err = run(capsys, "dlq", "inspect", *argv)

    assert (code, out) == (2, "")
    assert err.startswith(f"backstop: {message}")
    assert err.count("\n") == 1
    assert broker.connected == []  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "argv",
    [
        ("dlq", "replay", *QUEUE),  # neither --all nor --message-id
        ("dlq", "replay", *QUEUE, "--all", "--message-id", "m-1"),
        ("dlq", "inspect", *QUEUE, "--max", "0"),
        ("dlq", "inspect", "--queue", "orders"),  # no namespace
        ("dlq", "inspect", "--namespace", NAMESPACE, "--queue", "q", "--topic", "t"),
    ],
)
def test_argument_errors_exit_2_before_anything_is_touched(
    broker: Broker, capsys: pytest.CaptureFixture[str], argv: tuple[str, ...]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(list(argv))

    assert exited.value.code == 2
    assert "error:" in capsys.readouterr().err
    assert broker.connected == []  # type: ignore[attr-defined]


# --- connecting for real (no network: clients connect on first use) ----------------------------------------


def _connection_string(host: str = HOST, entity: str | None = None) -> str:
    key = uuid.uuid4().hex  # a throwaway value, not a secret
    text = f"Endpoint=sb://{host}/;SharedAccessKeyName=operator;SharedAccessKey={key}"
    return text + (f";EntityPath={entity}" if entity else "")


def test_connect_uses_default_azure_credential_without_a_connection_string() -> None:
    from azure.identity import DefaultAzureCredential

    client = commands.connect(HOST, service.Entity(queue="orders"), environ={})

    assert isinstance(client, ServiceBusClient)
    assert client.fully_qualified_namespace == HOST
    assert isinstance(client._credential, DefaultAzureCredential)
    client.close()


def test_connect_uses_the_connection_string_for_the_same_namespace() -> None:
    environ = {commands.CONNECTION_STRING_ENV: _connection_string(entity="orders")}

    client = commands.connect(HOST, service.Entity(queue="orders"), environ=environ)

    assert isinstance(client, ServiceBusClient)
    assert client.fully_qualified_namespace == HOST
    client.close()


@pytest.mark.parametrize(
    ("connection_string", "message"),
    [
        ("Endpoint=nonsense", "SERVICEBUS_CONNECTION_STRING: not a Service Bus connection string"),
        (_connection_string("acme-staging-sb.servicebus.windows.net"), "is for acme-staging-sb.servicebus"),
        (_connection_string(entity="invoices"), "is scoped to entity invoices, not queue orders"),
    ],
)
def test_an_unusable_connection_string_is_one_line_exit_2_and_never_printed(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], connection_string: str, message: str
) -> None:
    monkeypatch.setenv(commands.CONNECTION_STRING_ENV, connection_string)

    code, out, err = run(capsys, "dlq", "inspect", *QUEUE)

    assert (code, out) == (2, "")
    assert message in err and err.count("\n") == 1
    assert "SharedAccessKey=" not in err


def test_namespace_names_and_hosts() -> None:
    assert commands.namespace_host("Acme-Prod-SB") == HOST
    assert commands.namespace_host("acme.servicebus.usgovcloudapi.net") == "acme.servicebus.usgovcloudapi.net"


# --- duplicate detection would drop a copy that keeps its message id ---------------------------------------


def test_a_copy_the_queue_would_drop_as_a_duplicate_stays_dead_lettered(
    broker: Broker, capsys: pytest.CaptureFixture[str]
) -> None:
    orders = broker.queue("orders")
    broker.duplicate_detection["orders"] = timedelta(minutes=10)
    recent_time = datetime.now(UTC) - timedelta(minutes=2)
    old = broker.dead_letter(orders, order("m-old"))
    recent = broker.dead_letter(orders, order("m-recent"), enqueued=recent_time)

    code, out, err = run(capsys, "dlq", "replay", *QUEUE, "--all", "--execute")

    safe_after = recent_time + timedelta(minutes=10) + service.CLOCK_SKEW
    assert code == 1
    assert err == (
        f"backstop: not resubmitted, still dead-lettered: m-recent (sequence {recent}): queue orders drops a "
        "message id it has seen in the last 0:10:00 as a duplicate; replay it after "
        f"{safe_after:%Y-%m-%d %H:%M} UTC\n"
    )
    assert list(orders.dead) == [recent]
    assert [c.message_id for c in StandInClient(broker).get_queue_receiver("orders").peek_messages(5)] == [
        "m-old"
    ]
    assert ("complete", old) in broker.log
    assert "resubmitting 1 of 2 dead-lettered messages" in out


def test_replay_stops_when_it_cannot_read_the_duplicate_detection_setting(
    broker: Broker, capsys: pytest.CaptureFixture[str]
) -> None:
    orders = broker.queue("orders")
    broker.dead_letter(orders, order("m-1"))
    broker.administration_failure = HttpResponseError(
        message="Operation returned an invalid status 'Unauthorized'"
    )
    before = broker.snapshot()

    code, out, err = run(capsys, "dlq", "replay", *QUEUE, "--all", "--execute")

    assert (code, out) == (2, "")
    assert err.startswith(f"backstop: {HOST}: cannot tell whether queue orders detects duplicates")
    assert err.rstrip().endswith("pass --no-duplicate-check)") and err.count("\n") == 1
    assert broker.snapshot() == before

    code, _, _ = run(capsys, "dlq", "replay", *QUEUE, "--all", "--execute", "--no-duplicate-check")

    assert code == 0
    assert orders.dead == {}


@pytest.mark.parametrize(
    ("window", "expected"),
    [
        (None, timedelta(0)),
        (timedelta(hours=1), timedelta(hours=1)),
        ("PT10M", timedelta(minutes=10)),
        ("P1DT0.5S", service.LONGEST_DUPLICATE_WINDOW),  # unreadable: assume the longest Azure allows
    ],
)
def test_duplicate_detection_window(window: Any, expected: timedelta) -> None:
    broker = Broker()
    broker.subscription("events", "billing")
    if window is not None:
        broker.duplicate_detection["events"] = window
    topic = service.Entity(topic="events", subscription="billing")

    assert service.duplicate_detection_window(StandInAdministration(broker), topic) == expected
