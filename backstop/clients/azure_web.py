"""Azure App Service over ARM (azure-mgmt-web), and a plain HTTP probe of an app's health check.

The rollback drill swaps slots through `web_site_client` and times the app's answer with `http_status`;
tests put the fake ARM server and its apps behind both.
"""

from __future__ import annotations

from typing import Any


def web_site_client(subscription_id: str) -> Any:
    """azure-mgmt-web's client, signed in as the environment allows (OpenID Connect in CI)."""
    from azure.identity import DefaultAzureCredential
    from azure.mgmt.web import WebSiteManagementClient

    return WebSiteManagementClient(DefaultAzureCredential(), subscription_id)


def http_status(url: str) -> int:
    """The status code `url` answers with, redirects not followed (a health check answers itself)."""
    import requests

    return requests.get(url, timeout=10, allow_redirects=False).status_code


def swap_slot_with_production(client: Any, resource_group: str, app: str, slot: str) -> None:
    """Swap `slot` with production and wait for ARM's long-running operation to end (it raises on failure)."""
    from azure.mgmt.web.models import CsmSlotEntity

    poller = client.web_apps.begin_swap_slot_with_production(
        resource_group, app, CsmSlotEntity(target_slot=slot, preserve_vnet=True)
    )
    poller.result()
