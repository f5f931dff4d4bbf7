"""Azure Service Bus clients: messaging (AMQP) and administration (HTTPS), by connection string or identity.

`backstop dlq` reads and replays dead letters through these; nothing goes over the network until first use.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from backstop.ground.errors import UsageError

# A connection string, when set, wins over the environment's Azure identity.
CONNECTION_STRING_ENV = "SERVICEBUS_CONNECTION_STRING"


def messaging_client(host: str, own_entity: str | None, send_target: str, environ: Mapping[str, str]) -> Any:
    """A client for `host`: from `SERVICEBUS_CONNECTION_STRING` when set, else `DefaultAzureCredential`.

    Nothing goes over the network here; credentials are first used by the first peek.
    """
    from azure.servicebus import ServiceBusClient, parse_connection_string

    connection_string = environ.get(CONNECTION_STRING_ENV, "").strip()
    if not connection_string:
        return ServiceBusClient(host, _default_credential())
    try:
        properties = parse_connection_string(connection_string)
    except ValueError as error:
        raise UsageError(f"{CONNECTION_STRING_ENV}: not a Service Bus connection string ({error})") from None
    if properties.fully_qualified_namespace.lower() != host:
        raise UsageError(
            f"{CONNECTION_STRING_ENV}: is for {properties.fully_qualified_namespace}, not --namespace {host}"
        )
    if properties.entity_path and properties.entity_path != own_entity:
        raise UsageError(
            f"{CONNECTION_STRING_ENV}: is scoped to entity {properties.entity_path}, not {send_target}"
        )
    return ServiceBusClient.from_connection_string(connection_string)


def administration_client(host: str, environ: Mapping[str, str]) -> Any:
    """The management client, for the target's duplicate detection (`messaging_client` checked the string)."""
    from azure.servicebus.management import ServiceBusAdministrationClient

    connection_string = environ.get(CONNECTION_STRING_ENV, "").strip()
    if connection_string:
        return ServiceBusAdministrationClient.from_connection_string(connection_string)
    return ServiceBusAdministrationClient(host, _default_credential())


@functools.cache
def _default_credential() -> Any:
    """One `DefaultAzureCredential` per run: `az login`, environment, workload or managed identity."""
    from azure.identity import DefaultAzureCredential

    return DefaultAzureCredential()
