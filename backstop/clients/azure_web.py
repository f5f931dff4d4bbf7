"""Azure App Service over ARM (azure-mgmt-web), and a plain HTTP probe of an app's health check.

The rollback drill swaps slots through `web_site_client` and times the app's answer with `http_status`;
it compares the slots' images with `clients/registry.py`, signed in with the same credential. Tests put
the fake ARM server and its apps behind both.
"""

from __future__ import annotations

import functools
from typing import Any


@functools.cache
def azure_credential() -> Any:
    """One azure-identity credential per process, signed in as the environment allows (OpenID Connect in
    CI): Resource Manager and the registry's data plane (`clients/registry.py`) ask it for their tokens."""
    from azure.identity import DefaultAzureCredential

    return DefaultAzureCredential()


def web_site_client(subscription_id: str) -> Any:
    """azure-mgmt-web's client, signed in with `azure_credential()`."""
    from azure.mgmt.web import WebSiteManagementClient

    return WebSiteManagementClient(azure_credential(), subscription_id)


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
