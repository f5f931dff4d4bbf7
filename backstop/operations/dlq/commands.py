"""`backstop dlq inspect|replay`: the operator's side of Service Bus dead-lettering.

`replay` is a dry run unless `--execute` is given. Exit codes: 0 done (or nothing to do), 1 a requested or
planned message was not resubmitted (it is still dead-lettered, and named on stderr), 2 unusable input or
environment (one line: bad arguments, no credentials, unknown entity).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from backstop.clients import servicebus
from backstop.clients.servicebus import CONNECTION_STRING_ENV
from backstop.ground.envelope import json_document
from backstop.ground.errors import EXIT_OK, EXIT_VIOLATIONS, BackstopError, UsageError

if TYPE_CHECKING:  # the azure SDKs load only when a dlq command runs, not with every `backstop` command
    from backstop.operations.dlq.service import (
        Administration,
        Client,
        DeadLetter,
        Entity,
        ReplayPlan,
        ReplayResult,
        Selection,
    )

DEFAULT_SUFFIX = ".servicebus.windows.net"
# Azure: 6-50 characters, letters, digits and hyphens, starting with a letter, not ending with a hyphen.
_NAMESPACE_RE = re.compile(r"^[A-Za-z][A-Za-z0-9-]{4,48}[A-Za-z0-9]$")
_HOST_RE = re.compile(r"^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")


def namespace_host(namespace: str) -> str:
    """`acme-sb` → `acme-sb.servicebus.windows.net`; a full host name (other clouds) is kept as given."""
    if "." in namespace:
        if not _HOST_RE.match(namespace):
            raise UsageError(f"--namespace: {namespace!r} is not a Service Bus host name")
        return namespace.lower()
    if not _NAMESPACE_RE.match(namespace):
        raise UsageError(
            f"--namespace: {namespace!r} is not a Service Bus namespace name "
            "(6-50 letters, digits and hyphens, starting with a letter)"
        )
    return namespace.lower() + DEFAULT_SUFFIX


def connect(host: str, entity: Entity, environ: Mapping[str, str] = os.environ) -> Client:
    """A client for `host`: from `SERVICEBUS_CONNECTION_STRING` when set, else `DefaultAzureCredential`.

    Nothing goes over the network here; credentials are first used by the first peek.
    """
    own_entity = entity.queue if entity.queue is not None else entity.topic
    return servicebus.messaging_client(host, own_entity, entity.send_target, environ)


def connect_administration(host: str, environ: Mapping[str, str] = os.environ) -> Administration:
    """The management client, to read the target's duplicate detection (`connect` checked the string)."""
    return servicebus.administration_client(host, environ)


# Tests replace these with stand-ins; the signatures are those of `connect` and `connect_administration`.
client_factory: Callable[[str, Entity], Client] = connect
administration_factory: Callable[[str], Administration] = connect_administration


def _first_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return lines[0][:300] if lines else type(error).__name__


def _explain(error: Exception, host: str, entity: Entity) -> BackstopError | None:
    """One line for what the azure SDKs raise when the namespace, entity or credentials are unusable."""
    from azure.core.exceptions import ClientAuthenticationError
    from azure.servicebus.exceptions import (
        MessagingEntityNotFoundError,
        ServiceBusAuthenticationError,
        ServiceBusAuthorizationError,
        ServiceBusConnectionError,
        ServiceBusError,
    )

    inner = getattr(error, "inner_exception", None)
    if isinstance(error, ClientAuthenticationError) or isinstance(inner, ClientAuthenticationError):
        return BackstopError(
            f"no usable Azure credential for {host}: run `az login` (or set {CONNECTION_STRING_ENV}): "
            f"{_first_line(inner if isinstance(inner, ClientAuthenticationError) else error)}"
        )
    if isinstance(error, MessagingEntityNotFoundError):
        return BackstopError(f"{host}: {entity} does not exist")
    if isinstance(error, ServiceBusAuthenticationError | ServiceBusAuthorizationError):
        return BackstopError(
            f"{host}: not allowed on {entity} (needs the Azure Service Bus Data Owner role, or Listen and "
            f"Send rights): {_first_line(error)}"
        )
    if isinstance(error, ServiceBusConnectionError):
        return BackstopError(f"{host}: cannot connect: {_first_line(error)}")
    if isinstance(error, ServiceBusError):
        return BackstopError(f"{host}: {entity}: {_first_line(error)}")
    return None


def _entity(args: argparse.Namespace) -> Entity:
    from backstop.operations.dlq.service import Entity

    if args.queue is not None:
        if args.subscription is not None:
            raise UsageError("--subscription goes with --topic, not --queue")
        return Entity(queue=args.queue)
    if args.subscription is None:
        raise UsageError("--topic needs --subscription: dead-letter queues belong to subscriptions")
    return Entity(topic=args.topic, subscription=args.subscription)


def _with_client(args: argparse.Namespace, work: Callable[[Client, Entity, str], int]) -> int:
    entity = _entity(args)
    host = namespace_host(args.namespace)
    client = client_factory(host, entity)
    try:
        with client:
            return work(client, entity, host)
    except BackstopError:
        raise
    except Exception as error:
        explained = _explain(error, host, entity)
        if explained is None:
            raise
        raise explained from None


def _cmd_inspect(args: argparse.Namespace) -> int:
    from backstop.operations.dlq.service import describe, peek_dead_letters

    def work(client: Client, entity: Entity, host: str) -> int:
        dead_letters = peek_dead_letters(client, entity, args.max)
        if args.format == "json":
            document = {
                "namespace": host,
                "entity": str(entity),
                "deadLetters": [d.as_json() for d in dead_letters],
            }
            print(json_document("dlq inspect", document))
            return EXIT_OK
        print(f"backstop dlq: {entity} in {host}: {_count(len(dead_letters), args.max)}")
        if dead_letters:
            print("\n".join(describe(dead_letters)))
        return EXIT_OK

    return _with_client(args, work)


def _count(found: int, limit: int) -> str:
    noun = "dead-lettered message" if found == 1 else "dead-lettered messages"
    return f"{found} {noun}" + (f" (the first {limit}; raise --max to see more)" if found >= limit else "")


def _selection(args: argparse.Namespace) -> Selection:
    from backstop.operations.dlq.service import Selection

    ids = frozenset(args.message_id) if args.message_id else None
    return Selection(message_ids=ids, reason=args.reason)


def _plan_lines(plan: ReplayPlan, host: str, execute: bool) -> list[str]:
    from backstop.operations.dlq.service import describe

    verb = "resubmitting" if execute else "would resubmit"
    lines = [
        f"backstop dlq replay: {plan.entity} in {host}" + ("" if execute else " (dry run: nothing changes)"),
        f"{verb} {len(plan.selected)} of {plan.scanned} dead-lettered messages to {plan.entity.send_target}",
    ]
    if plan.entity.topic is not None and plan.selected:
        lines.append(
            f"note: a message replayed to topic {plan.entity.topic} reaches every subscription whose "
            "filter matches it, not only this one"
        )
    if plan.selected:
        lines.extend("  " + row for row in describe(plan.selected))
    return lines


def _result_json(plan: ReplayPlan, result: ReplayResult | None, host: str) -> dict[str, Any]:
    def ids(items: list[DeadLetter]) -> list[dict[str, Any]]:
        return [d.as_json() for d in items]

    document: dict[str, Any] = {
        "namespace": host,
        "entity": str(plan.entity),
        "sendTo": plan.entity.send_target,
        "dryRun": result is None,
        "scanned": plan.scanned,
        "selected": ids(list(plan.selected)),
        "missingMessageIds": list(plan.missing_ids),
        "blockedByDuplicateDetection": [
            {**d.as_json(), "replayableAfter": after.isoformat()} for d, after in plan.blocked
        ],
    }
    if result is not None:
        document["resubmitted"] = ids(result.resent)
        document["failed"] = [{**d.as_json(), "error": why} for d, why in result.failed]
        document["resubmittedButStillDeadLettered"] = [
            {**d.as_json(), "error": why} for d, why in result.duplicated
        ]
        document["noLongerDeadLettered"] = ids(result.vanished)
    return document


def _report_problems(plan: ReplayPlan, result: ReplayResult | None) -> bool:
    """Name every message that was asked for or planned and not resubmitted, on stderr. True if any."""
    problems = [f"not in the dead-letter queue: message id {missing}" for missing in plan.missing_ids]
    problems += [
        f"not resubmitted, still dead-lettered: {d.label()}: {plan.entity.send_target} drops a message id "
        f"it has seen in the last {plan.duplicate_window} as a duplicate; replay it after "
        f"{after:%Y-%m-%d %H:%M} UTC"
        for d, after in plan.blocked
    ]
    if result is not None:
        problems += [f"NOT resubmitted, still dead-lettered: {d.label()}: {why}" for d, why in result.failed]
        problems += [
            f"resubmitted but still dead-lettered (remove it, or it will be replayed twice): "
            f"{d.label()}: {why}"
            for d, why in result.duplicated
        ]
        problems += [
            f"no longer dead-lettered when replaying, not resubmitted: {d.label()}" for d in result.vanished
        ]
    for problem in problems:
        print(f"backstop: {problem}", file=sys.stderr)
    return bool(problems)


def _cmd_replay(args: argparse.Namespace) -> int:
    from backstop.operations.dlq.service import execute_replay, plan_replay

    def work(client: Client, entity: Entity, host: str) -> int:
        window = timedelta(0) if args.no_duplicate_check else _duplicate_window(host, entity)
        plan = plan_replay(client, entity, _selection(args), args.max, window)
        result = execute_replay(client, plan, args.wait) if args.execute else None
        if args.format == "json":
            print(json_document("dlq replay", _result_json(plan, result, host)))
        else:
            print("\n".join(_plan_lines(plan, host, args.execute)))
            if result is not None:
                for dead_letter in result.resent:
                    print(f"resubmitted {dead_letter.label()} and removed it from the dead-letter queue")
                print(
                    f"backstop dlq replay: {len(result.resent)} resubmitted, "
                    f"{len(result.failed) + len(result.vanished)} not resubmitted, "
                    f"{len(result.duplicated)} resubmitted but still dead-lettered, "
                    f"{plan.left_in_place} not selected (left dead-lettered)"
                )
            elif plan.selected:
                print("nothing changed: run again with --execute to resubmit them")
        return EXIT_VIOLATIONS if _report_problems(plan, result) else EXIT_OK

    return _with_client(args, work)


def _duplicate_window(host: str, entity: Entity) -> timedelta:
    from azure.core.exceptions import AzureError

    from backstop.operations.dlq.service import duplicate_detection_window

    administration = administration_factory(host)
    try:
        with administration:
            return duplicate_detection_window(administration, entity)
    except AzureError as error:
        raise BackstopError(
            f"{host}: cannot tell whether {entity.send_target} detects duplicates, which would silently "
            f"drop a replayed copy: {_first_line(error)} (reading it needs the Azure Service Bus Data Owner "
            "role or Manage rights; if it does not detect duplicates, pass --no-duplicate-check)"
        ) from None


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be above 0, got {text}")
    return value


def _add_entity_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--namespace", required=True, help="Service Bus namespace: NAME (NAME.servicebus.windows.net) or host"
    )
    entity = parser.add_mutually_exclusive_group(required=True)
    entity.add_argument("--queue", help="the queue whose dead-letter queue to use")
    entity.add_argument("--topic", help="the topic of --subscription")
    parser.add_argument(
        "--subscription", help="with --topic: the subscription whose dead-letter queue to use"
    )
    parser.add_argument(
        "--max",
        type=_positive_int,
        default=100,
        help="look at the first N dead-lettered messages (default 100)",
    )
    parser.add_argument("--format", choices=["text", "json"], default="text")


def register(subparsers: Any) -> None:
    """Add `backstop dlq inspect|replay` to the `backstop` parser's subcommands."""
    dlq = subparsers.add_parser(
        "dlq",
        help="inspect and replay dead-lettered Service Bus messages",
        description=f"Credentials: {CONNECTION_STRING_ENV} if set, else DefaultAzureCredential (az login).",
    )
    actions = dlq.add_subparsers(dest="dlq_command", required=True)

    inspect = actions.add_parser(
        "inspect", help="list dead-lettered messages (peek: nothing is locked or removed)"
    )
    _add_entity_options(inspect)
    inspect.set_defaults(handler=_cmd_inspect)

    replay = actions.add_parser(
        "replay", help="resubmit dead-lettered messages after a fix (dry run unless --execute)"
    )
    _add_entity_options(replay)
    which = replay.add_mutually_exclusive_group(required=True)
    which.add_argument(
        "--message-id", action="extend", nargs="+", metavar="ID", help="replay the messages with these ids"
    )
    which.add_argument("--all", action="store_true", help="replay every dead-lettered message (up to --max)")
    replay.add_argument(
        "--reason", help="only messages dead-lettered for this reason, e.g. MaxDeliveryCountExceeded"
    )
    replay.add_argument(
        "--execute", action="store_true", help="really resubmit (default: a dry run that changes nothing)"
    )
    replay.add_argument(
        "--no-duplicate-check",
        action="store_true",
        help="do not read whether the target detects duplicates (only when you know it does not)",
    )
    replay.add_argument(
        "--wait", type=_positive_seconds, default=5.0, help="seconds to wait for each receive (default 5)"
    )
    replay.set_defaults(handler=_cmd_replay)
