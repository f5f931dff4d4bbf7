"""`backstop status` against the local fake ARM (HTTPS, bearer tokens), answering in the REST specs' shapes:
storage `geoReplicationStats` (GET with `$expand=geoReplicationStats`), the blob service's
`deleteRetentionPolicy`, Service Bus `countDetails`, registry replication `status`, web app and slot state."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from backstop.ground import tokens
from backstop.ground.documents import utc_iso
from backstop.ground.resources import Resource
from tests.fakes.arm_server import FakeArm, FakeWebApp
from tests.status_support import NOW, run_status, urn, write_export

SUB = "00000000-0000-0000-0000-000000000000"
RG = f"/subscriptions/{SUB}/resourceGroups/rg-wiser-prod-backup/providers"
APP_RG = f"/subscriptions/{SUB}/resourceGroups/rg-wiser-prod-app/providers"
ACCOUNT = f"{RG}/Microsoft.Storage/storageAccounts/wiserprodmedia"
QUEUE = f"{RG}/Microsoft.ServiceBus/namespaces/wiser-prod-messaging/queues/email-campaigns"
NAMESPACE = f"{RG}/Microsoft.ServiceBus/namespaces/wiser-prod-messaging"
SUBSCRIPTION = f"{NAMESPACE}/topics/merchant-events/subscriptions/analytics"
REPLICA = f"{APP_RG}/Microsoft.ContainerRegistry/registries/wiserprodacr/replications/centralus"
SITE = f"{APP_RG}/Microsoft.Web/sites/wiser-prod-app"
SLOT = f"{SITE}/slots/staging"


def resources() -> list[Resource]:
    kinds = [
        (tokens.AZ_STORAGE_ACCOUNT, "media-blobs", ACCOUNT),
        (tokens.AZ_SB_QUEUE, "messaging-email-campaigns", QUEUE),
        (tokens.AZ_SB_SUBSCRIPTION, "messaging-merchant-events-analytics", SUBSCRIPTION),
        (tokens.AZ_REGISTRY_REPLICATION, "images-centralus", REPLICA),
        (tokens.AZ_WEB_APP, "wiser-prod-app", SITE),
        (tokens.AZ_WEB_APP_SLOT, "wiser-prod-app-staging", SLOT),
    ]
    return [
        Resource.build(urn=urn(kind, name), type=kind, props={}, id=arm_id) for kind, name, arm_id in kinds
    ]


def count_details(dead_letters: int) -> dict[str, int]:
    return {
        "activeMessageCount": 4,
        "deadLetterMessageCount": dead_letters,
        "scheduledMessageCount": 0,
        "transferMessageCount": 0,
        "transferDeadLetterMessageCount": 0,
    }


def estate(
    arm: FakeArm,
    *,
    last_sync: timedelta = timedelta(minutes=12),
    soft_delete_days: int = 14,
    dead_letters: int = 0,
    replica_status: str = "Ready",
) -> None:
    arm.resources[ACCOUNT] = {
        "id": ACCOUNT,
        "name": "wiserprodmedia",
        "type": "Microsoft.Storage/storageAccounts",
        "location": "eastus",
        "kind": "StorageV2",
        "sku": {"name": "Standard_RAGZRS", "tier": "Standard"},
        "properties": {
            "provisioningState": "Succeeded",
            "primaryLocation": "eastus",
            "secondaryLocation": "westus",
            "statusOfPrimary": "available",
            "statusOfSecondary": "available",
            "geoReplicationStats": {
                "status": "Live",
                "lastSyncTime": utc_iso(NOW - last_sync),
                "canFailover": True,
            },
        },
    }
    arm.resources[ACCOUNT + "/blobServices/default"] = {
        "id": ACCOUNT + "/blobServices/default",
        "name": "default",
        "type": "Microsoft.Storage/storageAccounts/blobServices",
        "properties": {
            "deleteRetentionPolicy": {"enabled": soft_delete_days > 0, "days": soft_delete_days},
            "isVersioningEnabled": True,
        },
    }
    for path, name, kind in (
        (QUEUE, "email-campaigns", "Microsoft.ServiceBus/Namespaces/Queues"),
        (SUBSCRIPTION, "analytics", "Microsoft.ServiceBus/Namespaces/Topics/Subscriptions"),
    ):
        arm.resources[path] = {
            "id": path,
            "name": name,
            "type": kind,
            "properties": {
                "countDetails": count_details(dead_letters if path == QUEUE else 0),
                "messageCount": 4 + (dead_letters if path == QUEUE else 0),
                "status": "Active",
                "accessedAt": utc_iso(NOW - timedelta(minutes=1)),
                "updatedAt": utc_iso(NOW - timedelta(days=3)),
            },
        }
    arm.resources[REPLICA] = {
        "id": REPLICA,
        "name": "centralus",
        "type": "Microsoft.ContainerRegistry/registries/replications",
        "location": "centralus",
        "properties": {
            "provisioningState": "Succeeded",
            "status": {
                "displayStatus": replica_status,
                "message": "",
                "timestamp": utc_iso(NOW - timedelta(days=2)),
            },
            "regionEndpointEnabled": True,
            "zoneRedundancy": "Enabled",
        },
    }
    arm.resources[SLOT] = {
        "id": SLOT,
        "name": "wiser-prod-app/staging",
        "type": "Microsoft.Web/sites/slots",
        "properties": {
            "state": "Running",
            "enabled": True,
            "defaultHostName": "wiser-prod-app-staging.azurewebsites.net",
        },
    }
    arm.resources[SLOT + "/config/web"] = {
        "id": SLOT + "/config/web",
        "name": "web",
        "type": "Microsoft.Web/sites/slots/config",
        "properties": {
            "healthCheckPath": "/healthz",
            "linuxFxVersion": "DOCKER|wiserprodacr.azurecr.io/app:2",
        },
    }


@pytest.fixture
def arm(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeArm]:
    app = FakeWebApp(SUB, "rg-wiser-prod-app", "wiser-prod-app", "DOCKER|app:1", "DOCKER|app:2")
    with FakeArm(app) as fake:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(fake.cert))
        yield fake


def health_probe(arm: FakeArm) -> Any:
    """The apps' own hosts, answered by the fake ARM (`https://{host}{path}` → `/_app/{host}{path}`)."""
    import requests

    return lambda url: requests.get(arm.app_url(url), verify=str(arm.cert), timeout=10).status_code


def status(monkeypatch: Any, tmp_path: Path, arm: FakeArm, **options: Any) -> Any:
    env = {"BACKSTOP_ARM_ENDPOINT": arm.base_url, "AZURE_ACCESS_TOKEN": "test-token"}
    options.setdefault("health_probe", health_probe(arm))
    return run_status(monkeypatch, write_export(tmp_path, resources()), env, **options)


def azure_rows(outcome: Any) -> dict[tuple[str, str], dict[str, Any]]:
    return {key: row for key, row in outcome.rows().items() if key[1].startswith("azure:")}


def test_clean_azure_estate_every_objective_ok(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, arm: FakeArm
) -> None:
    estate(arm)
    outcome = status(monkeypatch, tmp_path, arm)
    assert {key: row["status"] for key, row in azure_rows(outcome).items()} == {
        ("azure-geo-sync", "azure:wiserprodmedia"): "ok",
        ("azure-blob-soft-delete", "azure:wiserprodmedia"): "ok",
        ("servicebus-dead-letters", "azure:wiser-prod-messaging/email-campaigns"): "ok",
        ("servicebus-dead-letters", "azure:wiser-prod-messaging/merchant-events/analytics"): "ok",
        ("acr-replication", "azure:wiserprodacr/centralus"): "ok",
        ("webapp-state", "azure:wiser-prod-app"): "ok",
        ("webapp-state", "azure:wiser-prod-app/staging"): "ok",
        ("webapp-health", "azure:wiser-prod-app"): "ok",
        ("webapp-health", "azure:wiser-prod-app/staging"): "ok",
    }, outcome.stdout
    health = outcome.rows()[("webapp-health", "azure:wiser-prod-app")]
    assert (health["measured"], health["evidence"]["call"]) == (
        "HTTP 200",
        "GET https://wiser-prod-app.azurewebsites.net/healthz",
    )
    sync = outcome.rows()[("azure-geo-sync", "azure:wiserprodmedia")]
    assert (sync["seconds"], sync["evidence"]["timestamp"]) == (720.0, utc_iso(NOW - timedelta(minutes=12)))
    assert (ACCOUNT, "api-version=2024-01-01&%24expand=geoReplicationStats") in arm.gets
    assert outcome.code == 0, outcome.stdout


def test_verbose_json_logs_each_azure_call_and_the_probe_progress(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, arm: FakeArm
) -> None:
    estate(arm)
    outcome = status(monkeypatch, tmp_path, arm, extra=("-v", "--log-format", "json"))
    assert outcome.code == 0, outcome.stderr
    records = [json.loads(line) for line in outcome.stderr.splitlines()]
    calls = [r for r in records if r["logger"] == "backstop.clients.arm"]
    arm_calls = [path for path, _ in arm.gets if not path.startswith("/_app/")]  # not the health probes
    assert sorted((r["path"], r["status"]) for r in calls) == sorted((path, 200) for path in arm_calls)
    assert {r["level"] for r in calls} == {"DEBUG"}
    progress = [r for r in records if r["logger"] == "backstop.operations.status.probe"]
    assert progress and progress[-1]["level"] == "INFO" and progress[-1]["step"] == "status"
    assert re.fullmatch(r"asked (\d+) of \1 \(.*azure \d+.*\)", progress[-1]["message"])


def test_a_secondary_that_last_synced_over_an_hour_ago_is_a_breach(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, arm: FakeArm
) -> None:
    estate(arm, last_sync=timedelta(hours=3))
    row = status(monkeypatch, tmp_path, arm).rows()[("azure-geo-sync", "azure:wiserprodmedia")]
    assert (row["status"], row["measured"], row["target"]) == ("breach", "3 h", "≤ 1 h")


def test_soft_delete_off_or_short_is_a_breach(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, arm: FakeArm
) -> None:
    estate(arm, soft_delete_days=0)
    row = status(monkeypatch, tmp_path, arm).rows()[("azure-blob-soft-delete", "azure:wiserprodmedia")]
    assert (row["status"], row["measured"]) == ("breach", "off")
    estate(arm, soft_delete_days=3)
    row = status(monkeypatch, tmp_path, arm).rows()[("azure-blob-soft-delete", "azure:wiserprodmedia")]
    assert (row["status"], row["measured"]) == ("breach", "3 d")


def test_dead_letters_over_the_threshold_are_a_breach_per_entity(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, arm: FakeArm
) -> None:
    estate(arm, dead_letters=17)
    outcome = status(monkeypatch, tmp_path, arm)
    queue = outcome.rows()[("servicebus-dead-letters", "azure:wiser-prod-messaging/email-campaigns")]
    assert (queue["status"], queue["value"], queue["target"]) == ("breach", 17.0, "≤ 0")
    assert "backstop dlq inspect" in queue["reason"]
    other = outcome.rows()[
        ("servicebus-dead-letters", "azure:wiser-prod-messaging/merchant-events/analytics")
    ]
    assert other["status"] == "ok"


def test_a_registry_replica_not_ready_is_a_breach(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, arm: FakeArm
) -> None:
    estate(arm, replica_status="Syncing")
    row = status(monkeypatch, tmp_path, arm).rows()[("acr-replication", "azure:wiserprodacr/centralus")]
    assert (row["status"], row["measured"]) == ("breach", "Syncing")


def test_a_stopped_slot_is_a_breach(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, arm: FakeArm) -> None:
    estate(arm)
    arm.resources[SLOT]["properties"]["state"] = "Stopped"
    row = status(monkeypatch, tmp_path, arm).rows()[("webapp-state", "azure:wiser-prod-app/staging")]
    assert (row["status"], row["reason"]) == ("breach", "the app is Stopped")


def test_403_is_unknown_naming_the_authorization_failure(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, arm: FakeArm
) -> None:
    estate(arm)
    message = (
        "The client does not have authorization to perform action 'Microsoft.Storage/storageAccounts/read'"
    )
    arm.failures[ACCOUNT] = (403, {"error": {"code": "AuthorizationFailed", "message": message}}, {})
    outcome = status(monkeypatch, tmp_path, arm)
    unknown = {key: row for key, row in azure_rows(outcome).items() if row["status"] == "unknown"}
    # The account's GET measures its geo sync: that row stays, unknown; the blob service is a GET apart.
    assert set(unknown) == {("azure-geo-sync", "azure:wiserprodmedia")}
    row = unknown[("azure-geo-sync", "azure:wiserprodmedia")]
    assert row["reason"].startswith("denied: Azure GET") and "AuthorizationFailed" in row["reason"]
    assert outcome.rows()[("azure-blob-soft-delete", "azure:wiserprodmedia")]["status"] == "ok"
    assert outcome.code == 1


def test_a_storage_account_declared_locally_redundant_has_no_geo_sync_row_to_miss(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, arm: FakeArm
) -> None:
    estate(arm)
    arm.failures[ACCOUNT] = (403, {"error": {"code": "AuthorizationFailed", "message": "denied"}}, {})
    declared = [
        Resource.build(urn=r.urn, type=r.type, props={"sku": {"name": "Standard_LRS"}}, id=r.id)
        if r.id == ACCOUNT
        else r
        for r in resources()
    ]
    env = {"BACKSTOP_ARM_ENDPOINT": arm.base_url, "AZURE_ACCESS_TOKEN": "test-token"}
    outcome = run_status(monkeypatch, write_export(tmp_path, declared), env, health_probe=health_probe(arm))
    assert [key for key in outcome.rows() if key[1] == "azure:wiserprodmedia"] == [
        ("azure-blob-soft-delete", "azure:wiserprodmedia")
    ]


def test_a_web_app_arm_refuses_leaves_its_state_and_its_health_unknown(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, arm: FakeArm
) -> None:
    estate(arm)
    message = "The client does not have authorization to perform action 'Microsoft.Web/sites/read'"
    arm.failures[SITE] = (403, {"error": {"code": "AuthorizationFailed", "message": message}}, {})
    outcome = status(monkeypatch, tmp_path, arm)
    unknown = {key: row for key, row in azure_rows(outcome).items() if row["status"] == "unknown"}
    assert set(unknown) == {
        ("webapp-state", "azure:wiser-prod-app"),
        ("webapp-health", "azure:wiser-prod-app"),
    }
    assert all(row["reason"].startswith("denied: Azure GET") for row in unknown.values())
    assert outcome.rows()[("webapp-health", "azure:wiser-prod-app/staging")]["status"] == "ok"
    assert outcome.code == 1


def test_throttled_past_the_budget_is_unknown(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, arm: FakeArm
) -> None:
    estate(arm)
    busy = {"error": {"code": "TooManyRequests", "message": "subscription read budget exhausted"}}
    arm.failures[QUEUE] = (429, busy, {"Retry-After": "7"})
    sleeps: list[float] = []
    outcome = status(monkeypatch, tmp_path, arm, sleeps=sleeps)
    row = outcome.rows()[("servicebus-dead-letters", "azure:wiser-prod-messaging/email-campaigns")]
    assert row["status"] == "unknown"
    assert (
        row["reason"].startswith("throttled: ") and "after 4 attempt(s) and 21 s of waiting" in row["reason"]
    )
    assert sleeps == [7.0, 7.0, 7.0]
    assert sum(1 for path, _ in arm.gets if path == QUEUE) == 4


def test_no_azure_credential_is_unknown(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, arm: FakeArm
) -> None:
    estate(arm)
    env = {"BACKSTOP_ARM_ENDPOINT": arm.base_url}
    monkeypatch.setattr(
        "backstop.clients.alert_channels.arm_token",
        lambda environ, endpoint: (_ for _ in ()).throw(RuntimeError("DefaultAzureCredential failed")),
    )
    outcome = run_status(monkeypatch, write_export(tmp_path, resources()), env)
    row = outcome.rows()[("acr-replication", "azure:wiserprodacr/centralus")]
    assert row["status"] == "unknown" and row["reason"].startswith(
        "no-credentials: Azure: no usable credential"
    )


def test_a_health_check_that_does_not_answer_200_is_a_breach(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, arm: FakeArm
) -> None:
    estate(arm)
    arm.app.unhealthy_images.add(arm.app.staging_image)
    outcome = status(monkeypatch, tmp_path, arm)
    slot = outcome.rows()[("webapp-health", "azure:wiser-prod-app/staging")]
    assert (slot["status"], slot["measured"]) == ("breach", "HTTP 503")
    assert slot["reason"] == "https://wiser-prod-app-staging.azurewebsites.net/healthz answers 503"
    assert outcome.rows()[("webapp-health", "azure:wiser-prod-app")]["status"] == "ok"


def test_an_app_host_that_cannot_be_reached_is_unknown(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, arm: FakeArm
) -> None:
    from backstop.clients.arm import health_status
    from tests.fakes.moto_aws import free_port

    estate(arm)
    closed = free_port()
    outcome = status(
        monkeypatch,
        tmp_path,
        arm,
        health_probe=lambda url: health_status(url.replace("https://", f"http://127.0.0.1:{closed}/"), 2.0),
    )
    row = outcome.rows()[("webapp-health", "azure:wiser-prod-app")]
    assert row["status"] == "unknown" and row["reason"].startswith("unreachable: GET http://127.0.0.1:")
    assert outcome.rows()[("webapp-state", "azure:wiser-prod-app")]["status"] == "ok"  # ARM answered
