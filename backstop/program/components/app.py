"""The application layer on Azure: App Service with rollback slots, the image registry, the cache.

Seed basis (WiserReview, "Application Layer: Docker Containers" and "Application Recovery"): "All Docker
images stored in Azure Container Registry with version history", "Prior deployment images retained in the
registry and redeployable at any time", "Azure App Services supports deployment slot swapping for instant
rollback", "Azure App Services health checks trigger automatic container restart", "Azure App Services with
zone redundancy or manual failover to secondary region", "Redis cache is rebuilt from database on restart".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
from pulumi_azure_native import authorization, containerregistry, managedidentity, redisenterprise, web

from backstop.config.app import AppConfig, RedisConfig, RegistryConfig, WebAppConfig
from backstop.ground import tokens
from backstop.program.components.placement import AzureComponentArgs

STAGING_SLOT = "staging"
LINUX_CONTAINER_KIND = "app,linux,container"
WARMUP_STATUSES = "200,202"
# The release pipeline owns the running image after creation (it deploys each release's digest or tag to
# the `staging` slot, then swaps): `pulumi up` must not put the first release back.
PIPELINE_OWNED = ["siteConfig.linuxFxVersion"]


def _status(enabled: bool) -> containerregistry.PolicyStatus:
    return containerregistry.PolicyStatus.ENABLED if enabled else containerregistry.PolicyStatus.DISABLED


class ImageRegistryArgs(AzureComponentArgs[RegistryConfig]):
    """The registry section, placed in the application resource group."""


class ImageRegistry(pulumi.ComponentResource):
    """A registry that never loses a tagged image and keeps a copy in every replica region."""

    registry: containerregistry.Registry

    def __init__(
        self, name: str, args: ImageRegistryArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(tokens.COMPONENT_REGISTRY, name, None, opts)
        cfg = args.config
        child = pulumi.ResourceOptions(parent=self)
        zone_redundancy = (
            containerregistry.ZoneRedundancy.ENABLED
            if cfg.zone_redundant
            else containerregistry.ZoneRedundancy.DISABLED
        )
        retention = cfg.untagged_retention_days
        soft_delete = cfg.soft_delete_days
        self.registry = containerregistry.Registry(
            name,
            resource_group_name=args.resource_group_name,
            registry_name=cfg.name,
            location=args.location,
            sku=containerregistry.SkuArgs(name=cfg.sku),
            admin_user_enabled=False,
            anonymous_pull_enabled=False,
            zone_redundancy=zone_redundancy,
            policies=containerregistry.PoliciesArgs(
                # The retention policy only ever purges untagged manifests; tagged images stay.
                retention_policy=containerregistry.RetentionPolicyArgs(
                    status=_status(retention is not None), days=retention if retention is not None else 7
                ),
                soft_delete_policy=containerregistry.SoftDeletePolicyArgs(
                    status=_status(soft_delete is not None),
                    retention_days=soft_delete if soft_delete is not None else 7,
                ),
            ),
            tags=args.tags,
            opts=child,
        )
        self.replications = [
            containerregistry.Replication(
                f"{name}-{location}",
                resource_group_name=args.resource_group_name,
                registry_name=self.registry.name,
                replication_name=location,
                location=location,
                zone_redundancy=zone_redundancy,
                region_endpoint_enabled=True,
                tags=args.tags,
                opts=child,
            )
            for location in cfg.replica_locations
        ]
        self.login_server = self.registry.login_server
        self.register_outputs({"loginServer": self.login_server})


@dataclass(frozen=True)
class AppServiceArgs:
    config: AppConfig
    resource_group_name: pulumi.Input[str]
    registry_id: pulumi.Input[str]
    registry_login_server: pulumi.Input[str]
    tags: dict[str, str]
    # The stack's `applicationDatabase` (projectId, clusterName, standardSrv): the cluster the apps use,
    # swapped by `backstop recover cutover`; empty when the program declares no database for them.
    database: Mapping[str, Any] = field(default_factory=dict)


class AppService(pulumi.ComponentResource):
    """Linux container apps that restart on a failed health check and roll back by a slot swap."""

    plan: web.AppServicePlan
    apps: dict[str, web.WebApp]
    slots: dict[str, web.WebAppSlot]

    def __init__(self, name: str, args: AppServiceArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(tokens.COMPONENT_APP_SERVICE, name, None, opts)
        cfg = args.config
        self._args = args
        self.pull_identity, self.pull_grant = self._pull_identity(cfg.pull_identity_name, cfg.location)
        plan = cfg.plan
        self.plan = self._plan(plan.name, cfg.location, plan.sku, plan.instance_count, plan.zone_redundant)
        self.apps: dict[str, web.WebApp] = {}
        self.slots: dict[str, web.WebAppSlot] = {}
        for app in cfg.apps:
            site = self._app(app, app.name, cfg.location, self.plan)
            self.apps[app.name] = site
            if app.staging_slot:
                self.slots[app.name] = self._slot(app, site, app.name, cfg.location, self.plan)
        self.secondary_plan: web.AppServicePlan | None = None
        self.secondary_apps: dict[str, web.WebApp] = {}
        if cfg.secondary is not None:
            standby = cfg.secondary
            self.secondary_plan = self._plan(
                standby.plan_name,
                standby.location,
                standby.sku,
                standby.instance_count,
                standby.zone_redundant,
            )
            for app in cfg.apps:
                site_name = f"{app.name}-{standby.app_suffix}"
                site = self._app(app, site_name, standby.location, self.secondary_plan)
                self.secondary_apps[site_name] = site
                if app.staging_slot:  # the standby rolls back the same way once it takes traffic
                    self.slots[site_name] = self._slot(
                        app, site, site_name, standby.location, self.secondary_plan
                    )
        self.register_outputs(
            {
                "planId": self.plan.id,
                "defaultHostNames": {n: a.default_host_name for n, a in self.apps.items()},
            }
        )

    def _plan(
        self, plan_name: str, location: str, sku: str, instances: int, zone_redundant: bool
    ) -> web.AppServicePlan:
        return web.AppServicePlan(
            plan_name,
            resource_group_name=self._args.resource_group_name,
            name=plan_name,
            location=location,
            kind="linux",
            reserved=True,  # a Linux plan
            sku=web.SkuDescriptionArgs(name=sku, capacity=instances),
            zone_redundant=zone_redundant,
            tags=self._args.tags,
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _site_config(self, app: WebAppConfig) -> web.SiteConfigArgs:
        image = pulumi.Output.concat("DOCKER|", self._args.registry_login_server, f"/{app.image_reference}")
        return web.SiteConfigArgs(
            linux_fx_version=image,
            health_check_path=app.health_check_path,
            always_on=True,
            acr_use_managed_identity_creds=True,
            # The user-assigned identity, granted AcrPull before any site exists, pulls the first image.
            acr_user_managed_identity_id=self.pull_identity.client_id,
            ftps_state=web.FtpsState.DISABLED,
            min_tls_version=web.SupportedTlsVersions.SUPPORTED_TLS_VERSIONS_1_2,
            http20_enabled=True,
            app_settings=[
                web.NameValuePairArgs(name="WEBSITES_PORT", value=str(app.container_port)),
                # Health checks remove an instance after this many failed probes, then restart it.
                web.NameValuePairArgs(name="WEBSITE_HEALTHCHECK_MAXPINGFAILURES", value="2"),
                # A swap warms the swapped-in instances on the health check path and completes only when
                # it answers one of these statuses, so a broken release is not swapped into production.
                web.NameValuePairArgs(name="WEBSITE_SWAP_WARMUP_PING_PATH", value=app.health_check_path),
                web.NameValuePairArgs(name="WEBSITE_SWAP_WARMUP_PING_STATUSES", value=WARMUP_STATUSES),
                *self._database_settings(),
            ],
        )

    def _database_settings(self) -> list[web.NameValuePairArgs]:
        """Where the app's database is, so a cluster swap (`backstop recover cutover`, then `pulumi up`)
        reaches the app: App Service restarts it with the new settings. Hosts only; credentials stay the
        app's own."""
        names = {
            "projectId": "BACKSTOP_DATABASE_PROJECT_ID",
            "clusterName": "BACKSTOP_DATABASE_CLUSTER",
            "standardSrv": "BACKSTOP_DATABASE_SRV",
        }
        return [
            web.NameValuePairArgs(name=setting, value=self._args.database[key])
            for key, setting in names.items()
            if self._args.database.get(key) is not None
        ]

    def _app(self, app: WebAppConfig, site_name: str, location: str, plan: web.AppServicePlan) -> web.WebApp:
        site = web.WebApp(
            site_name,
            resource_group_name=self._args.resource_group_name,
            name=site_name,
            location=location,
            kind=LINUX_CONTAINER_KIND,
            server_farm_id=plan.id,
            https_only=True,
            identity=self._identity(),
            site_config=self._site_config(app),
            tags=self._args.tags,
            opts=self._site_options(),
        )
        return site

    def _slot(
        self, app: WebAppConfig, site: web.WebApp, site_name: str, location: str, plan: web.AppServicePlan
    ) -> web.WebAppSlot:
        slot_name = f"{site_name}-{STAGING_SLOT}"
        slot = web.WebAppSlot(
            slot_name,
            resource_group_name=self._args.resource_group_name,
            name=site.name,
            slot=STAGING_SLOT,
            location=location,
            kind=LINUX_CONTAINER_KIND,
            server_farm_id=plan.id,
            https_only=True,
            identity=self._identity(),
            site_config=self._site_config(app),
            tags=self._args.tags,
            opts=self._site_options(),
        )
        return slot

    def _identity(self) -> web.ManagedServiceIdentityArgs:
        return web.ManagedServiceIdentityArgs(
            type=web.ManagedServiceIdentityType.USER_ASSIGNED,
            user_assigned_identities=[self.pull_identity.id],
        )

    def _site_options(self) -> pulumi.ResourceOptions:
        """Sites are created after the pull grant (App Service pulls the image as it creates the site) and
        leave the image to the release pipeline afterwards."""
        return pulumi.ResourceOptions(
            parent=self, depends_on=[self.pull_grant], ignore_changes=PIPELINE_OWNED
        )

    def _pull_identity(
        self, identity_name: str, location: str
    ) -> tuple[managedidentity.UserAssignedIdentity, authorization.RoleAssignment]:
        """One user-assigned identity every site and slot pulls with, granted AcrPull on the registry before
        any of them exists: a system-assigned identity exists only with its site, so its grant would come
        after the site's first pull. No admin user, no stored password."""
        identity = managedidentity.UserAssignedIdentity(
            identity_name,
            resource_group_name=self._args.resource_group_name,
            resource_name_=identity_name,
            location=location,
            tags=self._args.tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        subscription = authorization.get_client_config_output(
            opts=pulumi.InvokeOutputOptions(parent=self)
        ).subscription_id
        grant = authorization.RoleAssignment(
            f"{identity_name}-grant",
            principal_id=identity.principal_id,
            principal_type=authorization.PrincipalType.SERVICE_PRINCIPAL,
            role_definition_id=subscription.apply(
                lambda s: (
                    f"/subscriptions/{s}/providers/Microsoft.Authorization/roleDefinitions/"
                    + tokens.ACR_PULL_ROLE_ID
                )
            ),
            scope=self._args.registry_id,
            opts=pulumi.ResourceOptions(parent=self),
        )
        return identity, grant


class RebuildableCacheArgs(AzureComponentArgs[RedisConfig]):
    """The cache section, placed in the application resource group."""


MANAGED_REDIS_DATABASE = "default"  # the one database name Azure Managed Redis accepts


class RebuildableCache(pulumi.ComponentResource):
    """Azure Managed Redis without persistence: the seed rebuilds it from the database on restart.
    (Azure Cache for Redis, the `redis` module, retires on 2028-09-30.)"""

    cache: redisenterprise.RedisEnterprise
    database: redisenterprise.Database

    def __init__(
        self, name: str, args: RebuildableCacheArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(tokens.COMPONENT_CACHE, name, None, opts)
        cfg = args.config
        child = pulumi.ResourceOptions(parent=self)
        self.cache = redisenterprise.RedisEnterprise(
            name,
            resource_group_name=args.resource_group_name,
            cluster_name=cfg.name,
            location=args.location,
            sku=redisenterprise.SkuArgs(name=cfg.sku),
            high_availability=(
                redisenterprise.HighAvailability.ENABLED
                if cfg.high_availability
                else redisenterprise.HighAvailability.DISABLED
            ),
            minimum_tls_version=redisenterprise.TlsVersion.TLS_VERSION_1_2,
            # The apps reach it over its TLS endpoint (no private network in this layer).
            public_network_access=redisenterprise.PublicNetworkAccess.ENABLED,
            tags=args.tags,
            opts=child,
        )
        self.database = redisenterprise.Database(
            f"{name}-database",
            resource_group_name=args.resource_group_name,
            cluster_name=self.cache.name,
            database_name=MANAGED_REDIS_DATABASE,
            client_protocol=redisenterprise.Protocol.ENCRYPTED,
            clustering_policy=redisenterprise.ClusteringPolicy.OSS_CLUSTER,
            # A cache: evict the least recently used keys rather than refuse writes when full.
            eviction_policy=redisenterprise.EvictionPolicy.ALL_KEYS_LRU,
            # No RDB/AOF: nothing of record lives here.
            persistence=redisenterprise.PersistenceArgs(aof_enabled=False, rdb_enabled=False),
            opts=child,
        )
        self.register_outputs({"cacheName": self.cache.name})
