"""Declare the application layer of one stack: App Service, registry, cache, alerts, Cloudflare, access.

Called by `backstop.program.stack.declare` with the pieces it shares with the data layer: the Atlas
project (for role assignments), the storage account (for its availability alert) and the action groups every
availability alert notifies (the one that reaches Slack #alerts).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi_azure_native import resources

from backstop.config import StackConfig
from backstop.program.components.app import (
    AppService,
    AppServiceArgs,
    ImageRegistry,
    ImageRegistryArgs,
    RebuildableCache,
    RebuildableCacheArgs,
)
from backstop.program.components.atlas_access import BackupAccess, BackupAccessArgs
from backstop.program.components.availability import (
    AlertTarget,
    AvailabilityAlerts,
    AvailabilityAlertsArgs,
    redis_watches,
    storage_watches,
    web_app_watches,
)
from backstop.program.components.cloudflare import WidgetEdge, WidgetEdgeArgs


@dataclass(frozen=True)
class AppLayer:
    """What was declared of the application layer (each part None when its section is absent)."""

    resource_group: resources.ResourceGroup | None
    registry: ImageRegistry | None
    app_service: AppService | None
    cache: RebuildableCache | None
    alerts: AvailabilityAlerts | None
    edge: WidgetEdge | None
    access: BackupAccess | None


def declare_app_layer(
    cfg: StackConfig,
    *,
    database: Mapping[str, Any],
    atlas_project_id: pulumi.Input[str],
    storage_account_id: pulumi.Input[str],
    storage_account_name: str,
    alert_action_group_ids: Sequence[pulumi.Input[str]],
) -> AppLayer:
    tags = {"environment": cfg.environment, "managed-by": "backstop"}
    access = (
        BackupAccess("backup-access", BackupAccessArgs(config=cfg.access, project_id=atlas_project_id))
        if cfg.access is not None
        else None
    )
    app_cfg = cfg.app
    if app_cfg is None:
        return AppLayer(None, None, None, None, None, None, access)
    group = resources.ResourceGroup(
        "app", resource_group_name=app_cfg.resource_group_name, location=app_cfg.location, tags=tags
    )
    registry = ImageRegistry(
        "images",
        ImageRegistryArgs(
            config=app_cfg.registry, resource_group_name=group.name, location=app_cfg.location, tags=tags
        ),
    )
    app_service = AppService(
        "app-service",
        AppServiceArgs(
            config=app_cfg,
            resource_group_name=group.name,
            registry_id=registry.registry.id,
            registry_login_server=registry.login_server,
            tags=tags,
            database=database,
        ),
    )
    cache = RebuildableCache(
        "cache",
        RebuildableCacheArgs(
            config=app_cfg.redis, resource_group_name=group.name, location=app_cfg.location, tags=tags
        ),
    )
    alert_cfg = app_cfg.alerts
    sites = {**app_service.apps, **app_service.secondary_apps}
    targets = [AlertTarget(name, site.id, web_app_watches(alert_cfg)) for name, site in sites.items()]
    targets.append(AlertTarget(app_cfg.redis.name, cache.cache.id, redis_watches(alert_cfg)))
    targets.append(AlertTarget(storage_account_name, storage_account_id, storage_watches(alert_cfg)))
    alerts = AvailabilityAlerts(
        "availability",
        AvailabilityAlertsArgs(
            config=alert_cfg,
            resource_group_name=group.name,
            targets=targets,
            action_group_ids=alert_action_group_ids,
            tags=tags,
        ),
    )
    edge = None
    if cfg.cloudflare is not None:
        origin = app_service.apps[app_cfg.apps[0].name].default_host_name
        edge = WidgetEdge("widget-edge", WidgetEdgeArgs(config=cfg.cloudflare, origin_host=origin))
    return AppLayer(group, registry, app_service, cache, alerts, edge, access)
