"""`PolicyTargets`: the one policy-config model. Every number defaults to the seeds; prod is strictest.

CrossGuard hands each policy its `--policy-pack-config` section; the offline checker uses the same model,
so a tunable means the same thing on a pull request and on a laptop.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, cast

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError
from pydantic.alias_generators import to_camel

from backstop.ground import seeds, tokens
from backstop.ground.errors import BackstopError

Environment = Literal["prod", "staging"]
LevelName = Literal["mandatory", "advisory", "disabled"]
AtlasKeyProvider = Literal["AWS", "AZURE", "GCP"]
SEED_KEY_PROVIDERS: tuple[AtlasKeyProvider, ...] = ("AWS",)
# The closed sets below are spelled out (not computed) so the JSON schema the CLI validates a policy's config
# with carries them as enums; tests/test_crossguard.py holds them equal to `seeds`.
HourlyInterval = Literal[1, 2, 4, 6, 8, 12]  # seeds.ATLAS_HOURLY_INTERVALS: what Atlas accepts
GeoRedundantSku = Literal[
    "Standard_GRS", "Standard_RAGRS", "Standard_GZRS", "Standard_RAGZRS", "StandardV2_GRS", "StandardV2_GZRS"
]  # seeds.GEO_REDUNDANT_SKUS
AlertEventName = Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Z0-9_]*$")]  # CPS_SNAPSHOT_FAILED
AtlasObjectId = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{24}$")]  # an Atlas project id
NonEmptyName = Annotated[str, StringConstraints(min_length=1)]
AwsRegion = Annotated[str, StringConstraints(pattern=r"^[a-z]{2}(-[a-z]+)+-[0-9]+$")]  # us-east-1


class PolicyConfigError(BackstopError):
    """A policy-config value backstop cannot use, as one line naming the key."""


class PolicyTargets(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True, strict=True
    )

    environment: Environment = "prod"
    enforcement: LevelName = "mandatory"
    levels: dict[str, LevelName] = Field(default_factory=dict)
    unknown_is_violation: bool = False
    # Per-policy settings from a policy pack config file (`{"atlas-pitr-window": {...}}`), camelCase,
    # applied to that rule alone by `for_rule`, as CrossGuard hands each policy its own section.
    policy_settings: dict[str, dict[str, Any]] = Field(default_factory=dict)

    max_snapshot_interval_hours: float = Field(default=seeds.SNAPSHOT_INTERVAL_HOURS, gt=0)
    allowed_hourly_intervals: list[HourlyInterval] = Field(
        default_factory=lambda: cast(list[HourlyInterval], list(seeds.ATLAS_HOURLY_INTERVALS)), min_length=1
    )
    min_daily_retention_days: float = Field(default=seeds.DAILY_RETENTION_DAYS, ge=0)
    min_weekly_retention_weeks: float = Field(default=seeds.WEEKLY_RETENTION_WEEKS, ge=0)
    min_monthly_retention_months: float = Field(default=seeds.MONTHLY_RETENTION_MONTHS, ge=0)
    min_restore_window_days: float = Field(default=seeds.PITR_WINDOW_DAYS, ge=0)
    min_electable_nodes: int = Field(default=seeds.MIN_ELECTABLE_NODES, ge=1)
    require_oplog_copy: bool = True
    # RPO table: 'Whole-cluster loss (region outage) ≤ 6 hours': what a restore from the copy may lose.
    max_region_loss_rpo_hours: float = Field(default=seeds.RPO_WHOLE_CLUSTER.total_seconds() / 3600, gt=0)
    required_alert_events: list[AlertEventName] = Field(
        default_factory=lambda: list(tokens.ATLAS_BACKUP_ALERT_EVENTS)
    )
    # The latest a snapshot-behind alert may fire: one snapshot interval plus the snapshot RPO, so a missed
    # snapshot pages before the RPO is lost a second time. Key rotation: at least yearly, as AWS KMS rotates.
    max_snapshot_behind_hours: float = Field(
        default=seeds.SNAPSHOT_INTERVAL_HOURS + seeds.RPO_SINGLE_COLLECTION.total_seconds() / 3600, gt=0
    )
    max_key_rotation_alert_days: float = Field(default=365, gt=0)
    # Atlas `encryptionAtRestProvider` values accepted: the seed's "AWS KMS-managed keys" by default.
    encryption_at_rest_providers: list[AtlasKeyProvider] = Field(
        default_factory=lambda: list(SEED_KEY_PROVIDERS), min_length=1
    )
    # Backup Compliance Policy per project: the floor prod needs, and what blocks staging/drill teardown.
    compliance_policy: Literal["required", "forbidden", "allowed"] = "required"

    # How long an Atlas export (and its replica) must stay recoverable against S3 lifecycle expiration.
    min_export_retention_days: float = Field(default=seeds.BACKUP_RETENTION_WINDOW_DAYS, ge=0)
    min_kms_deletion_window_days: int = Field(default=seeds.KMS_DELETION_WINDOW_DAYS, ge=7, le=30)
    # The stack's `aws:region`: where an S3 bucket without a `region` input or an explicit provider lives.
    default_aws_region: AwsRegion = seeds.SOURCE_AWS_REGION

    require_geo_redundant_storage: bool = True
    geo_redundant_skus: list[GeoRedundantSku] = Field(
        default_factory=lambda: cast(list[GeoRedundantSku], sorted(seeds.GEO_REDUNDANT_SKUS)),
        min_length=1,
    )
    min_blob_soft_delete_days: float = Field(default=seeds.MIN_BLOB_SOFT_DELETE_DAYS, ge=1)
    min_max_delivery_count: int = Field(default=seeds.MIN_MAX_DELIVERY_COUNT, ge=1)
    # maxDeliveryCount x lockDuration before a message is dead-lettered: the retry floor x the default lock.
    min_delivery_window_minutes: float = Field(default=seeds.MIN_DELIVERY_WINDOW_MINUTES, ge=0)

    require_protect: bool = True
    prod_cluster_names: list[NonEmptyName] = Field(default_factory=list)
    prod_project_names: list[NonEmptyName] = Field(default_factory=list)
    prod_project_ids: list[AtlasObjectId] = Field(default_factory=list)

    # Application layer (WiserReview "Application Layer", "Recovery Capabilities", "Monitoring").
    require_zone_redundant_plans: bool = Field(
        default=True,
        description="App Service plans must be zone redundant (zoneRedundant / zoneBalancingEnabled)",
    )
    require_deployment_slots: bool = Field(
        default=True, description="Every web app must have a deployment slot to swap back to"
    )
    require_registry_geo_replication: bool = Field(
        default=True, description="Every container registry must be replicated to another region"
    )
    min_untagged_retention_days: int = Field(
        default=7,
        ge=0,
        description="Days an untagged manifest is kept before a retention policy may purge it",
    )
    release_tags_locked: bool = Field(
        default=False,
        description=(
            "The release pipeline locks every release image (ACR `writeEnabled`/`deleteEnabled` false, set "
            "per image with `az acr repository update`; no Pulumi resource declares it), so an "
            "untagged-manifest retention policy never purges a prior release"
        ),
    )
    critical_alert_severity: int = Field(
        default=1,
        ge=0,
        le=4,
        description="Alerts of this Azure Monitor severity or more severe (0) are critical",
    )
    min_edge_ttl_seconds: int = Field(
        default=86400, ge=0, description="Shortest edge TTL of the cache rule for widget assets, in seconds"
    )
    widget_hosts: list[str] = Field(
        default_factory=list,
        description="Host names that serve widget assets; empty: every proxied Cloudflare DNS record",
    )
    backup_principals: list[str] = Field(
        default_factory=list,
        description="The only Atlas principals (usernames, team or API key ids) with a backup-capable role",
    )
    backup_capable_roles: list[str] = Field(
        default_factory=lambda: list(tokens.ATLAS_BACKUP_CAPABLE_ROLES),
        min_length=1,
        description="Atlas project roles with access to backups: restore, export, snapshot or delete",
    )

    @classmethod
    def for_environment(cls, environment: Environment, **overrides: Any) -> PolicyTargets:
        """Prod: every rule mandatory. Staging: advisory, LRS storage and unprotected resources allowed,
        and no Backup Compliance Policy (it would block drill and staging teardown). A restore over prod
        stays mandatory everywhere: drills run as staging stacks, and the runbook says NEVER."""
        base: dict[str, Any] = {"environment": environment}
        if environment == "staging":
            base.update(
                enforcement="advisory",
                require_geo_redundant_storage=False,
                require_protect=False,
                compliance_policy="forbidden",
                min_export_retention_days=seeds.STAGING_EXPORT_RETENTION_DAYS,
                require_zone_redundant_plans=False,
                require_deployment_slots=False,
                require_registry_geo_replication=False,
                levels={"atlas-restore-target-not-prod": "mandatory"},
            )
        base.update(overrides)
        return cls.model_validate(base)

    def with_config(self, config: Mapping[str, Any], source: str = "policy config") -> PolicyTargets:
        """Apply camelCase overrides (a CrossGuard policy config section or a JSON file)."""
        known = {field.alias or name for name, field in type(self).model_fields.items()} | set(
            type(self).model_fields
        )
        data = {k: v for k, v in config.items() if k != "enforcementLevel"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise PolicyConfigError(f"{source}: {unknown[0]}: is not a known policy setting")
        merged = {**self.model_dump(by_alias=True), **data}
        try:
            return type(self).model_validate(merged)
        except ValidationError as exc:
            error = exc.errors()[0]
            path = ".".join(str(p) for p in error["loc"])
            raise PolicyConfigError(f"{source}: {path}: {error['msg']}") from None

    def level_for(self, rule_id: str) -> LevelName:
        return self.levels.get(rule_id, self.enforcement)

    def for_rule(self, rule_id: str) -> PolicyTargets:
        """The targets one rule runs with: these, with its own section of a pack config applied. A section
        that sets `environment` starts from that environment's defaults (the prod inventory is kept)."""
        settings = self.policy_settings.get(rule_id)
        if not settings:
            return self
        base = self.model_copy(update={"policy_settings": {}})
        environment = settings.get("environment")
        if environment is not None and environment != self.environment:
            inventory = {
                "prod_cluster_names": self.prod_cluster_names,
                "prod_project_names": self.prod_project_names,
                "prod_project_ids": self.prod_project_ids,
                "default_aws_region": self.default_aws_region,
                "backup_principals": self.backup_principals,
            }
            base = (
                type(self)
                .for_environment(environment, **inventory)
                .model_copy(update={"levels": self.levels, "enforcement": self.enforcement})
            )
        return base.with_config(settings, f"policy config of {rule_id}")


def environment_of_stack(stack: str) -> Environment:
    """Stack names map to postures; anything unrecognised is held to prod, the strictest."""
    lowered = stack.lower()
    if lowered in {"staging", "stage", "dev", "test", "qa", "sandbox"} or lowered.startswith(
        ("drill", "staging")
    ):
        return "staging"
    return "prod"


def prod_inventory(project_dir: Path) -> dict[str, list[str]]:
    """Cluster and project names the prod stack declares, read from `Pulumi.prod.yaml` when it is there.

    Restore jobs are checked against these so that no stack, drill or otherwise, restores over prod.
    """
    from backstop.config import ConfigError
    from backstop.config.stackfile import read_stack_file

    try:
        cfg = read_stack_file(project_dir, "prod").stack_config()
    except ConfigError:
        return {}
    inventory = {
        "prodClusterNames": [cluster.name for cluster in cfg.atlas.clusters],
        "prodProjectNames": [cfg.atlas.project_name],
    }
    if cfg.access is not None:
        # "Backup access restricted to Security Officer and Engineering Lead only", as prod lists them.
        inventory["backupPrincipals"] = list(cfg.access.backup_principals)
        inventory["backupCapableRoles"] = list(cfg.access.backup_capable_roles)
    return inventory
