"""Azure objectives over ARM REST GETs (`backstop.clients.arm`), by each resource's ARM id in the export.

- `azure-geo-sync`: `geoReplicationStats.lastSyncTime` of each geo-redundant storage account (GET the
  account with `$expand=geoReplicationStats`): everything written before it is on the secondary, so its
  age is Azure Storage's real RPO, held to the 1 h RPO of other systems.
- `azure-blob-soft-delete`: the blob service's `deleteRetentionPolicy` as deployed, ≥ 7 days.
- `servicebus-dead-letters`: `countDetails.deadLetterMessageCount` of each queue and subscription against
  the stack's dead-letter alert threshold.
- `acr-replication`: each registry replica's `status.displayStatus` is `Ready`.
- `webapp-state`: each web app and slot is `Running`, with a health check path set.
- `webapp-health`: that path answers 200 at the app's (or slot's) `defaultHostName` now.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from backstop.clients.arm import ArmReader
from backstop.clients.atlas import parse_time
from backstop.clients.cloud import CloudCallError
from backstop.ground import seeds, tokens
from backstop.ground.resources import Resource, is_unknown
from backstop.operations.status.probe import Objective, Probe, bind
from backstop.operations.status.rows import Evidence, Row, duration

STORAGE_API = "2024-01-01"
SERVICEBUS_API = "2026-01-01"
REGISTRY_API = "2023-07-01"
WEB_API = "2025-05-01"
STORAGE_BASIS = f"{seeds.SEED_WISER}: Azure Blob GRS; RPO other systems 1 hour"
QUEUE_BASIS = f"{seeds.SEED_WISER}: Service Bus dead-letter queue depth monitored"
APP_BASIS = f"{seeds.SEED_WISER}: App Service health checks, slot swap rollback, ACR image history"


def _arm_id(resource: Resource) -> str | None:
    value = resource.id
    return (
        value
        if isinstance(value, str) and not is_unknown(value) and value.startswith("/subscriptions/")
        else None
    )


def _label(arm_id: str) -> str:
    parts = arm_id.strip("/").split("/")
    return "azure:" + "/".join(parts[7::2]) if len(parts) > 7 else "azure:" + arm_id


GEO_TARGET = f"≤ {duration(seeds.RPO_OTHER_SYSTEMS)}"
SOFT_DELETE_TARGET = f"≥ {seeds.MIN_BLOB_SOFT_DELETE_DAYS} d"
SITE_TARGET = "Running, health check on"
HEALTH_TARGET = "HTTP 200"


def declared_geo_redundant(resource: Resource) -> bool:
    """Whether the stack declares the account geo-redundant (`sku.name`, classic `accountReplicationType`),
    or does not say: then its geo sync is an objective, unknown when the account cannot be read."""
    if resource.type == tokens.AZC_STORAGE_ACCOUNT:
        kind = resource.props.get("accountReplicationType")
        sku = f"Standard_{kind}" if isinstance(kind, str) else kind
    else:
        declared = resource.props.get("sku")
        sku = declared.get("name") if isinstance(declared, dict) else None
    return not isinstance(sku, str) or is_unknown(sku) or sku in seeds.GEO_REDUNDANT_SKUS


def measure_geo_sync(arm: ArmReader, arm_id: str, now: datetime) -> list[Row]:
    """The account's geo sync, where its live SKU is geo-redundant (no row for one that is not: the
    rules judge the declared SKU)."""
    label = _label(arm_id)
    account = arm.get(arm_id, STORAGE_API, {"$expand": "geoReplicationStats"})
    sku = str((account.get("sku") or {}).get("name", ""))
    call = f"Azure GET {arm_id}?$expand=geoReplicationStats"
    rows = []
    limit = seeds.RPO_OTHER_SYSTEMS
    target = GEO_TARGET
    if sku in seeds.GEO_REDUNDANT_SKUS:
        stats = (account.get("properties") or {}).get("geoReplicationStats") or {}
        synced = parse_time(stats.get("lastSyncTime"))
        if synced is None:
            rows.append(
                Row(
                    "azure-geo-sync",
                    label,
                    "unknown",
                    target,
                    reason=f"no lastSyncTime (status {stats.get('status', 'not reported')}): the secondary "
                    "is "
                    "offline or bootstrapping",
                    evidence=Evidence(call, None, now),
                    basis=STORAGE_BASIS,
                )
            )
        else:
            age = now - synced
            ok = age <= limit
            rows.append(
                Row(
                    "azure-geo-sync",
                    label,
                    "ok" if ok else "breach",
                    target,
                    measured=duration(age),
                    seconds=age.total_seconds(),
                    reason=""
                    if ok
                    else f"the secondary region last synced {duration(age)} ago: a failover "
                    f"now loses every write since {synced:%Y-%m-%d %H:%M} UTC",
                    evidence=Evidence(call, synced, now),
                    basis=STORAGE_BASIS,
                )
            )
    return rows


def measure_soft_delete(arm: ArmReader, arm_id: str, now: datetime) -> list[Row]:
    """The blob service's soft delete: a GET apart from the account's, so each fails alone."""
    label = _label(arm_id)
    service = arm.get(arm_id + "/blobServices/default", STORAGE_API)
    policy = (service.get("properties") or {}).get("deleteRetentionPolicy") or {}
    days = policy.get("days") if policy.get("enabled") is True else 0
    days = float(days) if isinstance(days, int | float) else 0.0
    ok = days >= seeds.MIN_BLOB_SOFT_DELETE_DAYS
    return [
        Row(
            "azure-blob-soft-delete",
            label,
            "ok" if ok else "breach",
            SOFT_DELETE_TARGET,
            measured=f"{days:g} d" if days else "off",
            seconds=days * 86400,
            reason="" if ok else "deleted blobs are not recoverable for the 7-day PITR window",
            evidence=Evidence(f"Azure GET {arm_id}/blobServices/default", None, now),
            basis=STORAGE_BASIS,
        )
    ]


def measure_entity(arm: ArmReader, arm_id: str, threshold: int, now: datetime) -> list[Row]:
    entity = arm.get(arm_id, SERVICEBUS_API)
    properties = entity.get("properties") or {}
    count = (properties.get("countDetails") or {}).get("deadLetterMessageCount")
    target = f"≤ {threshold}"
    call = f"Azure GET {arm_id}"
    stamp = parse_time(properties.get("accessedAt")) or parse_time(properties.get("updatedAt"))
    if not isinstance(count, int | float):
        return [
            Row(
                "servicebus-dead-letters",
                _label(arm_id),
                "unknown",
                target,
                reason="the entity reports no countDetails.deadLetterMessageCount",
                evidence=Evidence(call, stamp, now),
                basis=QUEUE_BASIS,
            )
        ]
    ok = count <= threshold
    return [
        Row(
            "servicebus-dead-letters",
            _label(arm_id),
            "ok" if ok else "breach",
            target,
            measured=f"{count:g} dead-lettered",
            value=float(count),
            reason=""
            if ok
            else f"{count:g} messages are dead-lettered: inspect with `backstop dlq inspect`, "
            "replay after the fix with `backstop dlq replay`",
            evidence=Evidence(call, stamp, now),
            basis=QUEUE_BASIS,
        )
    ]


def measure_replication(arm: ArmReader, arm_id: str, now: datetime) -> list[Row]:
    replica = arm.get(arm_id, REGISTRY_API)
    status = (replica.get("properties") or {}).get("status") or {}
    display = str(status.get("displayStatus") or (replica.get("properties") or {}).get("provisioningState"))
    ok = display == "Ready"
    return [
        Row(
            "acr-replication",
            _label(arm_id),
            "ok" if ok else "breach",
            "Ready",
            measured=display,
            reason="" if ok else f"the replica is {display}: {status.get('message') or 'no message'}",
            evidence=Evidence(f"Azure GET {arm_id}", parse_time(status.get("timestamp")), now),
            basis=APP_BASIS,
        )
    ]


def measure_site(arm: ArmReader, arm_id: str, probe: Callable[[str], int], now: datetime) -> list[Row]:
    """The app's (or slot's) state and health check path from ARM, then its health check itself: the
    path must answer 200 at the app's own host now, as App Service's health check probes it."""
    site = arm.get(arm_id, WEB_API)
    config = arm.get(arm_id + "/config/web", WEB_API)
    state = str((site.get("properties") or {}).get("state"))
    health = (config.get("properties") or {}).get("healthCheckPath")
    host = (site.get("properties") or {}).get("defaultHostName")
    problems = []
    if state != "Running":
        problems.append(f"the app is {state}")
    if not health:
        problems.append("no health check path: a crashed container is not restarted")
    stamp = parse_time((site.get("properties") or {}).get("lastModifiedTimeUtc"))
    rows = [
        Row(
            "webapp-state",
            _label(arm_id),
            "breach" if problems else "ok",
            SITE_TARGET,
            measured=f"{state}, health check {health or 'off'}",
            reason="; ".join(problems),
            evidence=Evidence(f"Azure GET {arm_id}, {arm_id}/config/web", stamp, now),
            basis=APP_BASIS,
        )
    ]
    if isinstance(health, str) and health and isinstance(host, str) and host:
        url = f"https://{host}{health}"
        try:
            code = probe(url)
        except CloudCallError as error:  # the app's host, not ARM: the state row above still stands
            rows.append(
                Row(
                    "webapp-health",
                    _label(arm_id),
                    "unknown",
                    HEALTH_TARGET,
                    reason=f"{error.kind}: {error}",
                    basis=APP_BASIS,
                )
            )
            return rows
        rows.append(
            Row(
                "webapp-health",
                _label(arm_id),
                "ok" if code == 200 else "breach",
                HEALTH_TARGET,
                measured=f"HTTP {code}",
                value=float(code),
                reason="" if code == 200 else f"{url} answers {code}",
                evidence=Evidence(f"GET {url}", None, now),
                basis=APP_BASIS,
            )
        )
    return rows


def probes(
    resources: list[Resource],
    arm: Callable[[], ArmReader],
    threshold: int,
    now: Callable[[], datetime],
    probe: Callable[[str], int],
) -> list[Probe]:
    """One probe per ARM read, each naming every objective it measures: a storage account's geo sync
    (where the stack declares it geo-redundant, or does not say) and its soft delete apart, a web app's
    state and health check together (the check needs the state's answer)."""
    result = []

    def add(arm_id: str, objectives: list[tuple[str, str, str]], run: Callable[[], list[Row]]) -> None:
        label = _label(arm_id)
        declared = tuple(Objective(o, label, target, basis) for o, target, basis in objectives)
        result.append(Probe("azure", label, declared, run))

    for resource in resources:
        arm_id = _arm_id(resource)
        if arm_id is None:
            continue
        if resource.type in tokens.AZ_STORAGE_ACCOUNTS:
            geo = [("azure-geo-sync", GEO_TARGET, STORAGE_BASIS)] if declared_geo_redundant(resource) else []
            add(arm_id, geo, bind(measure_geo_sync, arm, now, arm_id))
            soft_delete = [("azure-blob-soft-delete", SOFT_DELETE_TARGET, STORAGE_BASIS)]
            add(arm_id, soft_delete, bind(measure_soft_delete, arm, now, arm_id))
        elif resource.type in tokens.AZ_SB_QUEUES | tokens.AZ_SB_SUBSCRIPTIONS:
            add(
                arm_id,
                [("servicebus-dead-letters", f"≤ {threshold}", QUEUE_BASIS)],
                bind(measure_entity, arm, now, arm_id, threshold),
            )
        elif resource.type == tokens.AZ_REGISTRY_REPLICATION:
            add(
                arm_id,
                [("acr-replication", "Ready", APP_BASIS)],
                bind(measure_replication, arm, now, arm_id),
            )
        elif resource.type in tokens.AZ_WEB_APPS or resource.type == tokens.AZ_WEB_APP_SLOT:
            site = [("webapp-state", SITE_TARGET, APP_BASIS), ("webapp-health", HEALTH_TARGET, APP_BASIS)]
            add(arm_id, site, bind(measure_site, arm, now, arm_id, probe))
    return result
