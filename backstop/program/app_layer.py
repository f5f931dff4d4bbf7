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

from backstop.config import StackConfig, zones
from backstop.config.app import AppConfig
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
from backstop.program.components.custom_domains import CustomDomains, CustomDomainsArgs, HostedSite


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
        project_dir = zones.project_dir_of_program()
        shared: list[tuple[str, str]] = []
        if project_dir is not None:
            zones.check_zone_owners(project_dir, cfg.cloudflare.zone_id)
            if cfg.cloudflare.owns_entry_point_rulesets:
                shared = zones.shared_widget_hosts(project_dir, cfg.cloudflare.zone_id)
        hosted = _hosted_sites(app_cfg, app_service)
        [serving] = [h for h in hosted if h.takes_traffic]
        edge = WidgetEdge(
            "widget-edge",
            WidgetEdgeArgs(
                config=cfg.cloudflare,
                origin_host=serving.site.default_host_name,
                domain_verification_id=serving.site.custom_domain_verification_id.apply(lambda v: v or ""),
                shared_widget_hosts=shared,
            ),
        )
        CustomDomains(
            "custom-domains",
            CustomDomainsArgs(
                config=cfg.cloudflare,
                resource_group_name=group.name,
                sites=hosted,
                dns_records=[edge.widget_record, edge.fallback_record, *edge.verification_records],
                tags=tags,
            ),
        )
    return AppLayer(group, registry, app_service, cache, alerts, edge, access)


def _hosted_sites(app_cfg: AppConfig, app_service: AppService) -> list[HostedSite]:
    """The first app and its standby: the apps the widget and direct hosts reach (the standby only once
    `app.secondary.takesTraffic` points the records at it)."""
    first = app_cfg.apps[0].name
    standby = app_cfg.secondary
    hosted = [
        HostedSite(
            first,
            app_service.apps[first],
            app_service.plan,
            app_cfg.location,
            takes_traffic=standby is None or not standby.takes_traffic,
        )
    ]
    if standby is not None and app_service.secondary_plan is not None:
        name = f"{first}-{standby.app_suffix}"
        hosted.append(
            HostedSite(
                name,
                app_service.secondary_apps[name],
                app_service.secondary_plan,
                standby.location,
                takes_traffic=standby.takes_traffic,
            )
        )
    return hosted
