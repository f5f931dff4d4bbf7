"""Typed `StackConfig` sections for the application layer, composed into `backstop.config.StackConfig`.

Seed basis (WiserReview Backup and Recovery policy, "Application Layer: Docker Containers", "Recovery
Capabilities", "Disaster Recovery Scenarios", "Monitoring and Alerting", "Access control"): containers in
Azure App Service with health checks, automatic restart and deployment slot swaps for rollback; zone
redundancy or failover to a secondary region; images with version history in Azure Container Registry; a
Redis cache rebuilt from the database; Cloudflare serving cached widget assets through origin outages with a
direct DNS fallback; critical alerts to Slack #alerts; backup access for the Security Officer and the
Engineering Lead only.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from backstop.config import names as global_names
from backstop.config.types import (
    EMAIL_PATTERN,
    ConfigModel,
    Duration,
    MetricAlertFrequency,
    MetricAlertWindow,
    window_covers_frequency,
)
from backstop.ground import tokens

_AZURE_LOCATION = r"^[a-z]+[a-z0-9]*$"
_HOST = r"^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$"
_CLOUDFLARE_ID = r"^[0-9a-f]{32}$"
# App Service tiers with deployment slots (Standard and above) and with zone redundancy (Premium v2/v3/v4
# and Isolated v2), by SKU name (`S1`, `P1v3`, `P1mv3`, `I1v2`...).
SLOT_SKU = re.compile(r"^(S\d|P\d+m?v[234]|I\d+m?v2)$")
ZONE_REDUNDANT_SKU = re.compile(r"^(P\d+m?v[234]|I\d+m?v2)$")
# Tags that name "whatever is current", re-pushed on every release: never a deployable reference.
MOVING_TAGS = frozenset(
    {"latest", "stable", "main", "master", "prod", "production", "staging", "dev", "edge"}
)
# Azure's floor for a zone-redundant plan (two instances today, three before 2025: three is one per zone).
MIN_ZONE_REDUNDANT_INSTANCES = 2
BACKUP_CAPABLE_ROLES = tokens.ATLAS_BACKUP_CAPABLE_ROLES
# WiserReview Recovery Objectives: "RTO (Recovery Time Objective) 4 hours".
PLATFORM_RTO = timedelta(hours=4)


class AppServicePlanConfig(ConfigModel):
    """The Linux plan the containers run on; zone redundant in prod."""

    name: str = Field(pattern=r"^[A-Za-z0-9-]{1,60}$")
    sku: str = Field(default="P1v3", pattern=r"^[A-Z]\d+[a-z0-9]*$")
    instance_count: int = Field(default=3, ge=1, le=30)
    zone_redundant: bool = True

    @model_validator(mode="after")
    def _zone_redundancy_needs_tier_and_instances(self) -> AppServicePlanConfig:
        _check_zone_redundancy(self.zone_redundant, self.sku, self.instance_count)
        return self


def _check_zone_redundancy(zone_redundant: bool, sku: str, instance_count: int) -> None:
    if zone_redundant and not ZONE_REDUNDANT_SKU.match(sku):
        raise ValueError(
            f"zoneRedundant needs a Premium v2/v3/v4 or Isolated v2 SKU such as P1v3 (got {sku})"
        )
    if zone_redundant and instance_count < MIN_ZONE_REDUNDANT_INSTANCES:
        raise ValueError(
            f"zoneRedundant needs at least {MIN_ZONE_REDUNDANT_INSTANCES} instances "
            f"(got instanceCount {instance_count})"
        )


class WebAppConfig(ConfigModel):
    """One containerised application: its image in the registry and the path App Service probes."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,58}[a-z0-9]$")
    repository: str = Field(pattern=r"^[a-z0-9]+(?:[._/-][a-z0-9]+)*$")
    # The image the app is created with: a release's own tag (never a moving one such as `stable`) or a
    # digest. After creation the release pipeline owns the image (the program ignores later changes), so
    # production and the `staging` slot can run different releases and a swap rolls back.
    image_tag: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
    image_digest: str | None = Field(default=None, pattern=r"^sha256:[0-9a-f]{64}$")
    health_check_path: str = Field(default="/healthz", pattern=r"^/[^\s]*$")
    container_port: int = Field(default=8080, ge=1, le=65535)
    staging_slot: bool = True

    @model_validator(mode="after")
    def _immutable_image(self) -> WebAppConfig:
        if (self.image_tag is None) == (self.image_digest is None):
            raise ValueError("give the first release's image as imageTag or imageDigest (one of them)")
        if self.image_tag is not None and self.image_tag.lower() in MOVING_TAGS:
            raise ValueError(
                f"imageTag {self.image_tag} moves from release to release: a slot swap would exchange "
                "identical images; use the release's own tag (e.g. 2026.12.05-1) or imageDigest"
            )
        return self

    @property
    def image_reference(self) -> str:
        """`<repository>:<tag>` or `<repository>@sha256:...`."""
        if self.image_digest is not None:
            return f"{self.repository}@{self.image_digest}"
        return f"{self.repository}:{self.image_tag}"


class SecondaryRegionConfig(ConfigModel):
    """A warm standby of every app in a second region, fed by the registry's replica there."""

    location: str = Field(pattern=_AZURE_LOCATION)
    plan_name: str = Field(pattern=r"^[A-Za-z0-9-]{1,60}$")
    sku: str = Field(default="P1v3", pattern=r"^[A-Z]\d+[a-z0-9]*$")
    instance_count: int = Field(default=2, ge=1, le=30)
    zone_redundant: bool = True
    app_suffix: str = Field(default="secondary", pattern=r"^[a-z0-9-]{1,20}$")
    # "manual failover to secondary region": true points the widget and direct hosts at the standby (and
    # issues its managed certificate); flip it and `pulumi up` to fail over, flip it back to return.
    takes_traffic: bool = False

    @model_validator(mode="after")
    def _zone_redundancy_needs_tier_and_instances(self) -> SecondaryRegionConfig:
        _check_zone_redundancy(self.zone_redundant, self.sku, self.instance_count)
        return self


class RegistryConfig(ConfigModel):
    """The Container Registry that keeps every deployed image ("with version history")."""

    name: str = Field(pattern=r"^[A-Za-z0-9]{5,50}$")
    sku: Literal["Basic", "Standard", "Premium"] = "Premium"
    replica_locations: list[str] = Field(default_factory=list)
    zone_redundant: bool = True
    # Only untagged manifests ever expire; a tagged image (a prior deployment) is never purged.
    untagged_retention_days: int | None = Field(default=30, ge=0, le=365)
    soft_delete_days: int | None = Field(default=None, ge=1, le=90)

    @field_validator("replica_locations")
    @classmethod
    def _locations(cls, value: list[str]) -> list[str]:
        for location in value:
            if not re.match(_AZURE_LOCATION, location):
                raise ValueError(f"expected Azure location names such as westus (got {location!r})")
        if len(set(value)) != len(value):
            raise ValueError("a location is listed twice")
        return value

    @model_validator(mode="after")
    def _azure_constraints(self) -> RegistryConfig:
        premium_only = [
            key
            for key, used in (
                ("replicaLocations", bool(self.replica_locations)),
                ("untaggedRetentionDays", self.untagged_retention_days is not None),
            )
            if used
        ]
        if premium_only and self.sku != "Premium":
            raise ValueError(f"{premium_only[0]} needs the Premium SKU (got {self.sku})")
        if self.soft_delete_days is not None and self.replica_locations:
            raise ValueError("Azure offers no soft delete on a geo-replicated registry; drop softDeleteDays")
        if self.soft_delete_days is not None and self.untagged_retention_days is not None:
            raise ValueError(
                "Azure refuses soft delete and an untagged retention policy together; choose one"
            )
        return self


# Azure Cache for Redis (Basic/Standard/Premium) retires on 2028-09-30 (Enterprise on 2027-03-31), in favour
# of Azure Managed Redis (`Microsoft.Cache/redisEnterprise`): https://learn.microsoft.com/en-us/azure/
# azure-cache-for-redis/retirement-faq
RETIRING_REDIS_SKUS = frozenset({"Basic", "Standard", "Premium"})
_MANAGED_REDIS_SKU = r"^(Balanced|MemoryOptimized|ComputeOptimized|FlashOptimized)_[A-Z]\d+$"


class RedisConfig(ConfigModel):
    """The cache, an Azure Managed Redis cluster with one database: no backup, no persistence, the
    application rebuilds it from the database ("Redis cache failure")."""

    name: str = Field(pattern=r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,58}[A-Za-z0-9])?$")
    sku: str = "Balanced_B1"
    # A replica in another zone takes over when the primary node fails (Azure's default for the service).
    high_availability: bool = True

    @field_validator("sku")
    @classmethod
    def _managed_redis_sku(cls, value: str) -> str:
        if value in RETIRING_REDIS_SKUS:
            raise ValueError(
                f"{value} is an Azure Cache for Redis tier, retiring on 2028-09-30; use an Azure Managed "
                "Redis SKU such as Balanced_B1"
            )
        if not re.match(_MANAGED_REDIS_SKU, value):
            raise ValueError(f"expected an Azure Managed Redis SKU such as Balanced_B1 (got {value!r})")
        return value


class AvailabilityAlertsConfig(ConfigModel):
    """Thresholds of the availability alerts on web apps, the cache and storage (all notify Slack)."""

    severity: int = Field(default=1, ge=0, le=4)
    evaluation_frequency: MetricAlertFrequency = "PT1M"
    window_size: MetricAlertWindow = "PT5M"
    # HealthCheckStatus is the percentage of healthy instances: below 100 one instance fails its probe.
    healthy_instances_percent: float = Field(default=100.0, gt=0, le=100)
    http_5xx_count: int = Field(default=10, ge=0)
    redis_server_load_percent: float = Field(default=90.0, gt=0, le=100)
    storage_availability_percent: float = Field(default=99.9, gt=0, le=100)

    @field_validator("window_size")
    @classmethod
    def _window_covers_frequency(cls, value: str, info: ValidationInfo) -> str:
        return window_covers_frequency(value, info.data.get("evaluation_frequency"))


# --- recovery objectives of the application layer -------------------------------------------------------


class AppObjective(ConfigModel):
    """One scenario's targets: the application holds no data of record, so RPO is zero."""

    rpo: Duration = timedelta(0)
    rto: Duration


class AppEstimates(ConfigModel):
    """How long each application recovery mechanism takes until a drill measures it: the seed's
    "Expected Time" column where it gives one, a cautious figure where it does not."""

    container_restart: Duration = timedelta(minutes=3)  # "1-3 minutes (automatic)"
    slot_swap: Duration = timedelta(minutes=15)  # "5-15 minutes"
    service_rebuild: Duration = timedelta(minutes=30)  # "20-30 minutes"
    zone_failover: Duration = timedelta(minutes=5)  # instances of the other zones take the load
    region_failover: Duration = timedelta(hours=1)  # "manual failover to secondary region"
    edge_cache: Duration = timedelta(0)  # "continues serving cached widget assets"
    cache_fallback: Duration = timedelta(0)  # "falls back to direct database queries"


class AppObjectivesConfig(ConfigModel):
    """`backstop:objectives.app`: the seed's Application and Infrastructure Recovery tables. Where the
    seed gives no time ("—") the platform RTO of 4 hours applies; widget delivery is "near-zero"."""

    crashed_container: AppObjective = AppObjective(rto=timedelta(minutes=3))
    faulty_deployment: AppObjective = AppObjective(rto=timedelta(minutes=15))
    full_service_rebuild: AppObjective = AppObjective(rto=timedelta(minutes=30))
    zone_outage: AppObjective = AppObjective(rto=PLATFORM_RTO)
    region_outage: AppObjective = AppObjective(rto=PLATFORM_RTO)
    widget_delivery: AppObjective = AppObjective(rto=timedelta(minutes=1))
    cache_failure: AppObjective = AppObjective(rto=PLATFORM_RTO)
    estimates: AppEstimates = AppEstimates()


class RollbackDrillConfig(ConfigModel):
    """`backstop:app.rollbackDrill`: how long `backstop drill rollback` waits for a healthy app."""

    health_timeout: Duration = timedelta(minutes=15)
    poll_interval: Duration = timedelta(seconds=10)


class AppConfig(ConfigModel):
    """`backstop:app`: the App Service plan and apps, registry, cache and their availability alerts."""

    resource_group_name: str = Field(min_length=1, max_length=90)
    location: str = Field(default="eastus", pattern=_AZURE_LOCATION)
    plan: AppServicePlanConfig
    apps: list[WebAppConfig] = Field(min_length=1)
    secondary: SecondaryRegionConfig | None = None
    registry: RegistryConfig
    redis: RedisConfig
    alerts: AvailabilityAlertsConfig = AvailabilityAlertsConfig()
    rollback_drill: RollbackDrillConfig = RollbackDrillConfig()
    # The user-assigned identity every site pulls images with (AcrPull on the registry).
    pull_identity_name: str = Field(default="id-app-acr-pull", pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{2,127}$")

    @field_validator("apps")
    @classmethod
    def _unique_app_names(cls, value: list[WebAppConfig]) -> list[WebAppConfig]:
        names = [app.name for app in value]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"duplicate app name(s): {', '.join(duplicates)}")
        return value

    def with_name_suffix(self, suffix: str) -> AppConfig:
        """The globally unique names with `suffix`: `<app>-<suffix>` (and so its standby
        `<app>-<suffix>-<appSuffix>`), `<registry><suffix>` (letters and digits only), `<cache>-<suffix>`."""
        apps = [
            app.model_copy(update={"name": global_names.with_suffix(app.name, suffix)}) for app in self.apps
        ]
        registry = self.registry.model_copy(
            update={"name": global_names.with_suffix(self.registry.name, suffix, separator="")}
        )
        redis = self.redis.model_copy(update={"name": global_names.with_suffix(self.redis.name, suffix)})
        return self.model_copy(update={"apps": apps, "registry": registry, "redis": redis})

    def global_name_problems(self) -> list[tuple[str, str | None]]:
        """Each globally unique name as created (the standby's too) against Azure's rules, by the key that
        holds its base name."""
        checks: list[tuple[str, str | None]] = []
        for index, app in enumerate(self.apps):
            checks.append((f"app.apps[{index}].name", global_names.web_app_problem(app.name)))
            if self.secondary is not None:
                standby = global_names.web_app_problem(f"{app.name}-{self.secondary.app_suffix}")
                checks.append((f"app.apps[{index}].name", f"its standby {standby}" if standby else None))
        checks.append(("app.registry.name", global_names.container_registry_problem(self.registry.name)))
        checks.append(("app.redis.name", global_names.redis_cache_problem(self.redis.name)))
        return checks

    @model_validator(mode="after")
    def _regions_and_slots(self) -> AppConfig:
        if any(app.staging_slot for app in self.apps) and not SLOT_SKU.match(self.plan.sku):
            raise ValueError(
                f"deployment slots need a Standard or higher plan SKU (plan.sku is {self.plan.sku})"
            )
        if self.location in self.registry.replica_locations:
            raise ValueError(f"registry.replicaLocations lists the home location {self.location}")
        if self.secondary is not None:
            if self.secondary.location == self.location:
                raise ValueError(f"secondary.location must differ from location (both {self.location})")
            if self.secondary.location not in self.registry.replica_locations:
                raise ValueError(
                    f"secondary.location {self.secondary.location} has no registry replica: list it in "
                    "registry.replicaLocations so the standby pulls images in its own region"
                )
        return self


class KeyVaultCertificateConfig(ConfigModel):
    """A certificate kept in Key Vault (a PFX secret) that App Service imports into each region."""

    key_vault_id: str = Field(
        pattern=r"^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.KeyVault/vaults/[^/]+$"
    )
    secret_name: str = Field(pattern=r"^[A-Za-z0-9-]{1,127}$")


class CloudflareConfig(ConfigModel):
    """`backstop:cloudflare`: the widget edge cache and the direct-origin DNS fallback."""

    account_id: str = Field(pattern=_CLOUDFLARE_ID)
    zone_id: str = Field(pattern=_CLOUDFLARE_ID)
    zone_name: str = Field(pattern=_HOST)
    widget_host: str = Field(pattern=_HOST)
    widget_path_prefix: str = Field(default="/widget/", pattern=r"^/[A-Za-z0-9._~/-]*$")
    # "continues serving cached widget assets ... even during origin outages": a long edge TTL, stale
    # content while revalidating, and stale-if-error when the origin answers with an error or not at all.
    edge_ttl_seconds: int = Field(default=30 * 86400, ge=3600, le=365 * 86400)
    stale_if_error_seconds: int = Field(default=7 * 86400, ge=60, le=365 * 86400)
    # "review data and dashboard remain accessible through direct DNS fallback": a DNS-only record.
    origin_fallback_host: str = Field(pattern=_HOST)
    # The DNS-only direct host is reached over TLS without Cloudflare: App Service must present a
    # certificate for it. Absent: an App Service managed certificate on the app that takes traffic (Azure
    # issues one only while the host's CNAME points at that app). Present: this Key Vault certificate,
    # imported and bound in every region from the first `up`.
    direct_certificate: KeyVaultCertificateConfig | None = None
    # Cloudflare keeps one entry-point ruleset per phase per zone: exactly one stack of a zone declares
    # the Cache Rules (see `backstop.config.zones`); the others set this false or use a zone of their own.
    owns_entry_point_rulesets: bool = True

    @model_validator(mode="after")
    def _hosts_in_zone(self) -> CloudflareConfig:
        hosts = (("widgetHost", self.widget_host), ("originFallbackHost", self.origin_fallback_host))
        for key, host in hosts:
            if host != self.zone_name and not host.endswith("." + self.zone_name):
                raise ValueError(f"{key} {host} is not in zone {self.zone_name}")
        if self.widget_host == self.origin_fallback_host:
            raise ValueError("originFallbackHost must not be the widget host: it bypasses the edge")
        return self


class ProjectRoleConfig(ConfigModel):
    """One Atlas user's project roles (Atlas spells them `GROUP_*`)."""

    username: str = Field(pattern=EMAIL_PATTERN)
    roles: list[str] = Field(min_length=1)

    @field_validator("roles")
    @classmethod
    def _atlas_role_names(cls, value: list[str]) -> list[str]:
        for role in value:
            if not re.match(r"^GROUP_[A-Z_]+$", role):
                raise ValueError(f"expected an Atlas project role such as GROUP_READ_ONLY (got {role!r})")
        return value


class AccessConfig(ConfigModel):
    """`backstop:access`: "Backup access restricted to Security Officer and Engineering Lead only"."""

    backup_principals: list[str] = Field(min_length=1)
    project_roles: list[ProjectRoleConfig] = Field(default_factory=list)
    backup_capable_roles: list[str] = Field(default_factory=lambda: list(BACKUP_CAPABLE_ROLES), min_length=1)

    @field_validator("backup_principals")
    @classmethod
    def _emails(cls, value: list[str]) -> list[str]:
        for principal in value:
            if not re.match(EMAIL_PATTERN, principal):
                raise ValueError(f"expected the Atlas username (e-mail) of a principal (got {principal!r})")
        return value

    @model_validator(mode="after")
    def _backup_roles_only_for_principals(self) -> AccessConfig:
        usernames = [assignment.username for assignment in self.project_roles]
        duplicates = sorted({u for u in usernames if usernames.count(u) > 1})
        if duplicates:
            raise ValueError(f"projectRoles lists {duplicates[0]} twice; give each user one entry")
        for assignment in self.project_roles:
            capable = sorted(set(assignment.roles) & set(self.backup_capable_roles))
            if capable and assignment.username not in self.backup_principals:
                raise ValueError(
                    f"{assignment.username} would hold {capable[0]}, which can restore or delete backups, "
                    "but is not in backupPrincipals"
                )
        return self


def prod_rules(app: AppConfig | None, cloudflare: CloudflareConfig | None) -> list[tuple[str, str]]:
    """What prod must declare of the application layer (staging may be cheaper in the same shape)."""
    problems: list[tuple[str, str]] = []
    if app is not None:
        if not app.plan.zone_redundant:
            problems.append(("app.plan.zoneRedundant", "a prod plan must be zone redundant"))
        for index, web_app in enumerate(app.apps):
            if not web_app.staging_slot:
                problems.append(
                    (f"app.apps[{index}].stagingSlot", f"prod app {web_app.name} needs a staging slot")
                )
        if not app.registry.replica_locations:
            problems.append(("app.registry.replicaLocations", "a prod registry must be geo-replicated"))
    if app is not None and cloudflare is None:
        problems.append(("cloudflare", "a prod app layer needs the Cloudflare widget edge and DNS fallback"))
    return problems
