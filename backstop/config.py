"""`StackConfig`: the only place backstop reads stack configuration.

The stack files (`Pulumi.prod.yaml`, `Pulumi.staging.yaml`) hold structured values under the `backstop:`
namespace in camelCase, the way Pulumi users write config. Every default is the number the seed documents
write down (see `backstop.seeds`), so an empty section still declares the audited posture. Invalid values
fail before any resource is registered, with one line naming the stack file and the key path.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Mapping
from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic.alias_generators import to_camel

from backstop import global_names, seeds
from backstop.app.config import AccessConfig, AppConfig, AppObjectivesConfig, CloudflareConfig, prod_rules
from backstop.configtypes import (
    ConfigModel,
    Duration,
    IsoTimespan,
    parse_duration,
    parse_iso_timespan,
    window_covers_frequency,
)
from backstop.errors import BackstopError

NAMESPACE = "backstop"
SECTIONS = (
    "environment",
    "nameSuffix",
    "atlas",
    "aws",
    "azure",
    "objectives",
    "drill",
    "app",
    "cloudflare",
    "access",
    "recover",
)
# Secret-only keys and what their value must look like: the Slack incoming webhook (Azure Monitor alerts,
# through the Logic App relay, and `backstop alerts test`) and the Slack bot token Atlas posts with.
SECRET_KEYS = ("slackWebhookUrl", "slackApiToken")
_SECRET_FORMS = {
    "slackWebhookUrl": (("https://",), "an https:// URL"),
    "slackApiToken": (("xoxb-", "xoxp-"), "a Slack bot or user token (xoxb-... or xoxp-...)"),
}
# What an encrypted (`secure: v1:...`) value reads as offline, where it cannot be decrypted.
OFFLINE_SECRET = "[secret]"

Environment = Literal["prod", "staging"]

AzureStorageSku = Literal[
    "Standard_LRS",
    "Standard_ZRS",
    "Standard_GRS",
    "Standard_RAGRS",
    "Standard_GZRS",
    "Standard_RAGZRS",
    "Premium_LRS",
    "Premium_ZRS",
    "StandardV2_LRS",
    "StandardV2_GRS",
    "StandardV2_ZRS",
    "StandardV2_GZRS",
    "PremiumV2_LRS",
    "PremiumV2_ZRS",
]

# Every model below is strict, immutable and camelCase outside (see `backstop.configtypes`).
_Model = ConfigModel


class ConfigError(BackstopError):
    """A stack configuration problem, always a single line naming the file and the key path."""


def _service_bus_lock(value: str) -> str:
    """Service Bus refuses a peek-lock longer than 5 minutes."""
    if parse_duration(value) > SERVICE_BUS_MAX_LOCK:
        raise ValueError(f"Service Bus allows a lock of at most PT5M (got {value})")
    return value


_ATLAS_REGION_RE = re.compile(r"^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+$")
_AWS_REGION_RE = re.compile(r"^[a-z]{2}(?:-[a-z]+)+-\d+$")


def _atlas_region(value: str) -> str:
    """Atlas names regions in upper snake case; `us-east-1` would never equal `US_EAST_1` in a comparison."""
    if not _ATLAS_REGION_RE.match(value):
        raise ValueError(f"expected an Atlas region name such as US_EAST_1 (got {value!r})")
    return value


def _aws_region(value: str) -> str:
    if not _AWS_REGION_RE.match(value):
        raise ValueError(f"expected an AWS region code such as us-east-1 (got {value!r})")
    return value


def _checked_name(check: Any) -> Any:
    def validate(value: str) -> str:
        problem = check(value)
        if problem is not None:
            raise ValueError(problem)
        return value

    return AfterValidator(validate)


S3BucketName = Annotated[str, _checked_name(global_names.s3_bucket_problem)]
StorageAccountName = Annotated[str, _checked_name(global_names.storage_account_problem)]
ServiceBusNamespaceName = Annotated[str, _checked_name(global_names.service_bus_namespace_problem)]
NameSuffix = Annotated[str, _checked_name(global_names.suffix_problem)]
AtlasRegion = Annotated[str, AfterValidator(_atlas_region)]
AwsRegion = Annotated[str, AfterValidator(_aws_region)]
# AWS regions where Atlas can place a replica set in only two availability zones (it uses three wherever
# the region has them), so a 3-node replica set there keeps two nodes in one zone.
ATLAS_TWO_ZONE_AWS_REGIONS = frozenset({"US_WEST_1"})
SERVICE_BUS_MAX_LOCK = timedelta(minutes=5)
LockDuration = Annotated[str, AfterValidator(parse_iso_timespan), AfterValidator(_service_bus_lock)]


# --- MongoDB Atlas --------------------------------------------------------------------------------------


class BackupScheduleConfig(_Model):
    """The Tier-1 Cloud Backup schedule. Fields are ordered so later checks can see earlier values."""

    hourly_interval_hours: int = seeds.SNAPSHOT_INTERVAL_HOURS
    hourly_retention_days: int = Field(default=seeds.PITR_WINDOW_DAYS, gt=0)
    daily_retention_days: int = Field(default=seeds.DAILY_RETENTION_DAYS, gt=0)
    weekly_retention_weeks: int = Field(default=seeds.WEEKLY_RETENTION_WEEKS, gt=0)
    weekly_day_of_week: int = Field(default=seeds.AUDIT_WEEKDAY, ge=1, le=7)
    monthly_retention_months: int = Field(default=seeds.MONTHLY_RETENTION_MONTHS, gt=0)
    monthly_day_of_month: int = Field(default=40, description="1-28, or 40 for the last day of the month")
    restore_window_days: int = Field(default=seeds.PITR_WINDOW_DAYS, gt=0)
    reference_hour_of_day: int = Field(default=seeds.AUDIT_HOUR_UTC, ge=0, le=23)
    reference_minute_of_hour: int = Field(default=0, ge=0, le=59)
    copy_region: AtlasRegion = seeds.COPY_ATLAS_REGION
    copy_oplogs: bool = True
    export_frequency: Literal["weekly", "monthly"] = "weekly"

    @field_validator("hourly_interval_hours")
    @classmethod
    def _atlas_hourly_interval(cls, value: int) -> int:
        if value not in seeds.ATLAS_HOURLY_INTERVALS:
            allowed = ", ".join(str(i) for i in seeds.ATLAS_HOURLY_INTERVALS)
            raise ValueError(f"must be one of {allowed} (got {value})")
        return value

    @field_validator("daily_retention_days")
    @classmethod
    def _daily_not_shorter_than_hourly(cls, value: int, info: ValidationInfo) -> int:
        hourly = info.data.get("hourly_retention_days")
        if hourly is not None and value < hourly:
            raise ValueError(f"daily retention ({value} d) is shorter than hourly retention ({hourly} d)")
        return value

    @field_validator("weekly_retention_weeks")
    @classmethod
    def _weekly_not_shorter_than_daily(cls, value: int, info: ValidationInfo) -> int:
        daily = info.data.get("daily_retention_days")
        if daily is not None and value * 7 < daily:
            raise ValueError(f"weekly retention ({value} w) is shorter than daily retention ({daily} d)")
        return value

    @field_validator("monthly_retention_months")
    @classmethod
    def _monthly_not_shorter_than_weekly(cls, value: int, info: ValidationInfo) -> int:
        weekly = info.data.get("weekly_retention_weeks")
        if weekly is not None and value * 31 < weekly * 7:
            raise ValueError(f"monthly retention ({value} mo) is shorter than weekly retention ({weekly} w)")
        return value

    @field_validator("monthly_day_of_month")
    @classmethod
    def _atlas_month_day(cls, value: int) -> int:
        if not (1 <= value <= 28 or value == 40):
            raise ValueError(f"must be 1-28, or 40 for the last day of the month (got {value})")
        return value

    @field_validator("restore_window_days")
    @classmethod
    def _pitr_within_hourly_retention(cls, value: int, info: ValidationInfo) -> int:
        hourly = info.data.get("hourly_retention_days")
        if hourly is not None and value > hourly:
            raise ValueError(
                f"point-in-time window ({value} d) is longer than hourly snapshot retention ({hourly} d)"
            )
        return value


class ClusterConfig(_Model):
    """One replica set; 3 electable nodes is the WiserReview floor."""

    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9-]*$")
    instance_size: str = "M30"
    provider: Literal["AWS", "GCP", "AZURE"] = "AWS"
    region: AtlasRegion = seeds.SOURCE_ATLAS_REGION
    electable_nodes: int = seeds.MIN_ELECTABLE_NODES
    mongo_db_major_version: str = "8.0"
    termination_protection: bool = True

    @field_validator("electable_nodes")
    @classmethod
    def _replica_set_floor(cls, value: int) -> int:
        if value < seeds.MIN_ELECTABLE_NODES:
            raise ValueError(
                f"a replica set needs at least {seeds.MIN_ELECTABLE_NODES} electable nodes (got {value})"
            )
        if value % 2 == 0:
            raise ValueError(
                f"an even number of electable nodes cannot elect a primary reliably (got {value})"
            )
        return value

    @field_validator("region")
    @classmethod
    def _three_availability_zones(cls, value: str, info: ValidationInfo) -> str:
        if info.data.get("provider") == "AWS" and value in ATLAS_TWO_ZONE_AWS_REGIONS:
            raise ValueError(
                f"Atlas spreads a replica set over only 2 availability zones in {value}; "
                "pick a region with 3 (such as US_EAST_1)"
            )
        return value


class CompliancePolicyConfig(_Model):
    """Who may approve disabling the Backup Compliance Policy (the Security Officer, per the seed)."""

    authorized_email: str = Field(pattern=r"^[^@\s]+@[^@\s]+$")
    authorized_first_name: str = Field(min_length=1)
    authorized_last_name: str = Field(min_length=1)


# Atlas's CPS_SNAPSHOT_BEHIND fires once the newest snapshot is older than its threshold: one snapshot
# interval plus this margin, so a single missed 6-hourly snapshot pages within the hour instead of days later.
SNAPSHOT_BEHIND_MARGIN_HOURS = 1
# Atlas's own default for the encryption key rotation alert it creates with encryption at rest.
KEY_ROTATION_ALERT_DAYS = 90
_SLACK_CHANNEL = r"^[a-z0-9][a-z0-9_-]{0,79}$"


class AlertsConfig(_Model):
    """Where backup alerts go and when the threshold alerts fire.

    Slack: Atlas posts with its `SLACK` notification type to `slackChannel` using the bot token in the
    secret `backstop:slackApiToken`; Azure Monitor alerts reach the same channel through the incoming
    webhook in the secret `backstop:slackWebhookUrl` (seed: "All critical infrastructure alerts flow to
    the engineering team's Slack #alerts channel").
    """

    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+$")
    interval_minutes: int = Field(default=60, ge=5)
    slack_channel: str = Field(default="alerts", pattern=_SLACK_CHANNEL)
    snapshot_behind_hours: int = Field(
        default=seeds.SNAPSHOT_INTERVAL_HOURS + SNAPSHOT_BEHIND_MARGIN_HOURS, ge=1
    )
    key_rotation_days: int = Field(default=KEY_ROTATION_ALERT_DAYS, ge=1, le=365)

    @field_validator("slack_channel", mode="before")
    @classmethod
    def _channel_without_hash(cls, value: Any) -> Any:
        if isinstance(value, str) and value.startswith("#"):
            raise ValueError(f"write the channel name without '#' ({value[1:]!r}); Atlas adds no '#'")
        return value


class AtlasConfig(_Model):
    org_id: str = Field(min_length=1)
    project_name: str = Field(min_length=1)
    clusters: list[ClusterConfig] = Field(min_length=1)
    backup: BackupScheduleConfig = BackupScheduleConfig()
    compliance_policy: CompliancePolicyConfig | None = None
    alerts: AlertsConfig

    @field_validator("clusters")
    @classmethod
    def _unique_cluster_names(cls, value: list[ClusterConfig]) -> list[ClusterConfig]:
        names = [c.name for c in value]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"duplicate cluster name(s): {', '.join(duplicates)}")
        return value


# --- AWS ------------------------------------------------------------------------------------------------


def replica_bucket_name(bucket_name: str, replica_region: str) -> str:
    """The copy-region bucket of `bucket_name`: S3 names are global, so the region is part of it."""
    return f"{bucket_name}-{replica_region}"


class ObjectLockConfig(_Model):
    """Object Lock of the Atlas export bucket. The copy-region replica always keeps a default retention of
    `days` in `mode`; the bucket Atlas writes into only with `sourceDefaultRetention`, because S3 refuses an
    upload into a bucket with a default retention that carries no Content-MD5 or checksum header, and Atlas
    does not document sending one (turn it on once a staging export job has succeeded with it)."""

    mode: Literal["COMPLIANCE", "GOVERNANCE"] = "GOVERNANCE"
    days: int = Field(default=30, gt=0)
    source_default_retention: bool = False


class AwsConfig(_Model):
    region: AwsRegion = seeds.SOURCE_AWS_REGION
    replica_region: AwsRegion = seeds.COPY_AWS_REGION
    media_bucket: S3BucketName
    export_bucket: S3BucketName
    kms_deletion_window_days: int = Field(default=seeds.KMS_DELETION_WINDOW_DAYS, ge=7, le=30)
    noncurrent_version_days: int = Field(default=90, gt=0)
    export_object_lock: ObjectLockConfig = ObjectLockConfig()

    @field_validator("replica_region")
    @classmethod
    def _replica_elsewhere(cls, value: str, info: ValidationInfo) -> str:
        if value == info.data.get("region"):
            raise ValueError(f"the replica region must differ from the source region (both {value})")
        return value

    @field_validator("export_bucket")
    @classmethod
    def _distinct_buckets(cls, value: str, info: ValidationInfo) -> str:
        if value == info.data.get("media_bucket"):
            raise ValueError("the export bucket must not be the media bucket")
        return value

    @field_validator("export_object_lock")
    @classmethod
    def _lifecycle_keeps_locked_versions(
        cls, value: ObjectLockConfig, info: ValidationInfo
    ) -> ObjectLockConfig:
        noncurrent = info.data.get("noncurrent_version_days")
        if noncurrent is not None and noncurrent < value.days:
            raise ValueError(
                f"noncurrentVersionDays ({noncurrent}) is shorter than the lock ({value.days} days): the "
                "lifecycle would expire export versions the lock is meant to keep"
            )
        return value


# --- Azure ----------------------------------------------------------------------------------------------


class StorageConfig(_Model):
    account_name: StorageAccountName
    sku: AzureStorageSku = "Standard_RAGZRS"
    blob_soft_delete_days: int = Field(default=14, ge=1, le=365)
    container_soft_delete_days: int = Field(default=14, ge=1, le=365)
    point_in_time_restore_days: int = Field(default=seeds.PITR_WINDOW_DAYS, ge=1, le=365)
    change_feed_retention_days: int = Field(default=30, ge=1, le=146000)
    containers: list[str] = Field(default_factory=lambda: ["media"])

    @field_validator("point_in_time_restore_days")
    @classmethod
    def _restore_inside_soft_delete(cls, value: int, info: ValidationInfo) -> int:
        soft = info.data.get("blob_soft_delete_days")
        if soft is not None and value >= soft:
            raise ValueError(f"must be shorter than blobSoftDeleteDays ({soft}); Azure requires it")
        return value


class QueueConfig(_Model):
    name: str = Field(min_length=1, max_length=260)
    max_delivery_count: int = Field(default=10, ge=seeds.MIN_MAX_DELIVERY_COUNT)
    message_ttl: IsoTimespan = "P14D"
    lock_duration: LockDuration = "PT1M"


class SubscriptionConfig(_Model):
    name: str = Field(min_length=1, max_length=50)
    max_delivery_count: int = Field(default=10, ge=seeds.MIN_MAX_DELIVERY_COUNT)
    message_ttl: IsoTimespan = "P14D"
    lock_duration: LockDuration = "PT1M"


class TopicConfig(_Model):
    name: str = Field(min_length=1, max_length=260)
    message_ttl: IsoTimespan = "P14D"
    subscriptions: list[SubscriptionConfig] = Field(min_length=1)


class DeadLetterAlertConfig(_Model):
    threshold: int = Field(default=0, ge=0)
    severity: int = Field(default=2, ge=0, le=4)
    evaluation_frequency: IsoTimespan = "PT5M"
    window_size: IsoTimespan = "PT15M"
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+$")

    @field_validator("window_size")
    @classmethod
    def _window_covers_frequency(cls, value: str, info: ValidationInfo) -> str:
        return window_covers_frequency(value, info.data.get("evaluation_frequency"))


class ServiceBusConfig(_Model):
    namespace_name: ServiceBusNamespaceName
    sku: Literal["Standard", "Premium"] = "Standard"
    queues: list[QueueConfig] = Field(default_factory=list)
    topics: list[TopicConfig] = Field(default_factory=list)
    dead_letter_alert: DeadLetterAlertConfig


class AzureConfig(_Model):
    location: str = "eastus"
    resource_group_name: str = Field(min_length=1, max_length=90)
    storage: StorageConfig
    service_bus: ServiceBusConfig


# --- Recovery objectives and drills ---------------------------------------------------------------------


class Objective(_Model):
    rpo: Duration
    rto: Duration


class RestoreEstimates(_Model):
    """How long each recovery mechanism takes, until a drill measures it (seed "Achievement" column)."""

    oplog_replay: Duration = timedelta(minutes=1)
    snapshot_restore: Duration = timedelta(hours=1)
    cross_region_restore: Duration = timedelta(hours=2)
    offsite_export_restore: Duration = timedelta(hours=12)
    object_storage_failover: Duration = timedelta(hours=1)
    dead_letter_replay: Duration = timedelta(hours=1)


class ObjectivesConfig(_Model):
    """RTO/RPO targets per scenario; defaults are the seeds' tables."""

    single_document: Objective = Objective(rpo=seeds.RPO_SINGLE_DOCUMENT, rto=seeds.RTO_SINGLE_DOCUMENT)
    single_collection: Objective = Objective(rpo=seeds.RPO_SINGLE_COLLECTION, rto=seeds.RTO_SINGLE_COLLECTION)
    whole_cluster: Objective = Objective(rpo=seeds.RPO_WHOLE_CLUSTER, rto=seeds.RTO_WHOLE_CLUSTER)
    total_loss: Objective = Objective(rpo=seeds.RPO_TOTAL_LOSS, rto=seeds.RTO_TOTAL_LOSS)
    object_storage: Objective = Objective(rpo=seeds.RPO_OTHER_SYSTEMS, rto=seeds.RTO_PLATFORM)
    queue_messages: Objective = Objective(rpo=seeds.RPO_OTHER_SYSTEMS, rto=seeds.RTO_PLATFORM)
    estimates: RestoreEstimates = RestoreEstimates()
    # The application and infrastructure scenarios (backstop.app.config).
    app: AppObjectivesConfig = AppObjectivesConfig()


class DrillConfig(_Model):
    """The quarterly restore drill: where it may restore, and what it must never pick."""

    staging_project_id: Annotated[str, Field(pattern=r"^[0-9a-f]{24}$")] | None = None
    source_cluster: str | None = None
    excluded_databases: list[str] = Field(default_factory=list)
    tenant_database_pattern: str = ".*"
    instance_size: str = "M10"
    ttl_hours: int = Field(default=6, gt=0, le=72)
    rto: Duration = seeds.RTO_SINGLE_COLLECTION
    # Drill cluster region, restore mode (`auto`: point in time when the source has PITR and the manifest is
    # inside its window, else the manifest's snapshot), and how long to wait on the restore job.
    region: AtlasRegion = seeds.SOURCE_ATLAS_REGION
    restore_mode: Literal["auto", "pointInTime", "snapshot"] = "auto"
    restore_timeout: Duration = timedelta(hours=4)
    poll_interval: Duration = timedelta(seconds=30)
    spot_check_documents: int = Field(
        default=seeds.DRILL_SPOT_CHECK_DOCUMENTS, ge=seeds.DRILL_SPOT_CHECK_DOCUMENTS
    )
    manifest_sample_size: int = Field(default=20, ge=seeds.DRILL_SPOT_CHECK_DOCUMENTS)
    # Where `backup_audit_log` and `backup_drill_results` live (through BACKSTOP_EVIDENCE_MONGODB_URI).
    evidence_database: str = Field(default="backstop", pattern=r"^[A-Za-z0-9_-]{1,63}$")

    @field_validator("tenant_database_pattern")
    @classmethod
    def _pattern_compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a regular expression: {exc}") from None
        return value

    @field_validator("restore_timeout")
    @classmethod
    def _restore_ends_before_expiry(cls, value: timedelta, info: ValidationInfo) -> timedelta:
        ttl = info.data.get("ttl_hours")
        if ttl is not None and value >= timedelta(hours=ttl):
            raise ValueError(f"must be shorter than ttlHours ({ttl} h) or sweep could remove a running drill")
        return value

    @field_validator("manifest_sample_size")
    @classmethod
    def _sample_covers_spot_checks(cls, value: int, info: ValidationInfo) -> int:
        spot = info.data.get("spot_check_documents")
        if spot is not None and value < spot:
            raise ValueError(f"must be at least spotCheckDocuments ({spot})")
        return value


# An SRV connection string naming only a host (no user, password or options), as Atlas reports a cluster's.
SRV_HOST_PATTERN = r"^mongodb\+srv://[A-Za-z0-9.-]+/?$"


class ConnectionTargetConfig(_Model):
    """The cluster the application connects to, set by `backstop recover cutover` after a cluster or
    region loss (the seed's "cluster swap")."""

    project_id: str = Field(pattern=r"^[0-9a-f]{24}$")
    cluster_name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9-]*$")
    incident_id: str | None = None
    # The recovered cluster's `connectionStrings.standardSrv` as Atlas reports it: a host, no credentials.
    standard_srv: str | None = Field(default=None, pattern=SRV_HOST_PATTERN)


class RecoverConfig(_Model):
    """`backstop recover`: where recovery clusters go (never prod) and how long they are kept."""

    # Default: backstop:drill.stagingProjectId.
    project_id: Annotated[str, Field(pattern=r"^[0-9a-f]{24}$")] | None = None
    # Default: the source cluster's instance size, so the restored data fits and can carry production.
    instance_size: str | None = None
    ttl_hours: int = Field(default=72, gt=0, le=720)
    restore_timeout: Duration = timedelta(hours=6)
    poll_interval: Duration = timedelta(seconds=30)
    # The on-demand snapshot of production taken before a cutover writes anything.
    snapshot_retention_days: int = Field(default=7, ge=1)
    snapshot_timeout: Duration = timedelta(hours=2)
    connection_target: ConnectionTargetConfig | None = None


# --- the whole stack ------------------------------------------------------------------------------------


class StackConfig(_Model):
    environment: Environment
    # Appended to every globally unique name (S3 buckets, storage account, Service Bus namespace): a literal,
    # or `auto` for a short hash of the Atlas org id and the environment.
    name_suffix: NameSuffix | None = None
    atlas: AtlasConfig
    aws: AwsConfig
    azure: AzureConfig
    objectives: ObjectivesConfig = ObjectivesConfig()
    drill: DrillConfig = DrillConfig()
    # The application layer (backstop.app.config): App Service, registry, cache, Cloudflare, backup access.
    app: AppConfig | None = None
    cloudflare: CloudflareConfig | None = None
    access: AccessConfig | None = None
    recover: RecoverConfig = RecoverConfig()

    @property
    def is_prod(self) -> bool:
        return self.environment == "prod"

    def with_global_names(self) -> StackConfig:
        """This config with `nameSuffix` applied to every globally unique name (then cleared, so applying
        it twice changes nothing): `<bucket>-<suffix>`, `<account><suffix>`, `<namespace>-<suffix>`, and
        the application layer's apps, registry and cache (`AppConfig.with_name_suffix`)."""
        if self.name_suffix is None:
            return self
        suffix = global_names.resolve_suffix(self.name_suffix, self.atlas.org_id, self.environment)
        aws = self.aws.model_copy(
            update={
                "media_bucket": global_names.with_suffix(self.aws.media_bucket, suffix),
                "export_bucket": global_names.with_suffix(self.aws.export_bucket, suffix),
            }
        )
        storage = self.azure.storage.model_copy(
            update={
                "account_name": global_names.with_suffix(
                    self.azure.storage.account_name, suffix, separator=""
                )
            }
        )
        bus = self.azure.service_bus.model_copy(
            update={"namespace_name": global_names.with_suffix(self.azure.service_bus.namespace_name, suffix)}
        )
        azure = self.azure.model_copy(update={"storage": storage, "service_bus": bus})
        app = self.app.with_name_suffix(suffix) if self.app is not None else None
        return self.model_copy(update={"aws": aws, "azure": azure, "app": app, "name_suffix": None})


def _environment_rules(cfg: StackConfig) -> list[tuple[str, str]]:
    """Rules that depend on the environment: prod is held to the seeds, staging may be cheaper."""
    problems: list[tuple[str, str]] = prod_rules(cfg.app, cfg.cloudflare) if cfg.is_prod else []
    if cfg.atlas.compliance_policy is not None and not cfg.is_prod:
        problems.append(
            (
                "atlas.compliancePolicy",
                "a Backup Compliance Policy is prod-only: it would block drill and staging teardown",
            )
        )
    if cfg.is_prod and cfg.atlas.compliance_policy is None:
        problems.append(("atlas.compliancePolicy", "prod needs a Backup Compliance Policy floor"))
    if cfg.is_prod and cfg.azure.storage.sku not in seeds.GEO_REDUNDANT_SKUS:
        allowed = ", ".join(sorted(seeds.GEO_REDUNDANT_SKUS))
        problems.append(
            (
                "azure.storage.sku",
                f"prod storage must be geo-redundant ({allowed}); got {cfg.azure.storage.sku}",
            )
        )
    problems.extend(_alert_threshold_rules(cfg))
    problems.extend(_global_name_rules(cfg))
    for index, cluster in enumerate(cfg.atlas.clusters):
        if cluster.region == cfg.atlas.backup.copy_region:
            problems.append(
                (
                    f"atlas.clusters[{index}].region",
                    f"cluster {cluster.name} is in {cluster.region}, the same region as the snapshot copy",
                )
            )
    return problems


def snapshot_behind_limit_hours(cfg: StackConfig) -> float:
    """The latest a snapshot-behind alert may fire and still page within the snapshot RPO of a missed
    snapshot: one snapshot interval plus the tightest snapshot RPO (single collection, whole cluster)."""
    rpo = min(cfg.objectives.single_collection.rpo, cfg.objectives.whole_cluster.rpo)
    return cfg.atlas.backup.hourly_interval_hours + rpo.total_seconds() / 3600


def _alert_threshold_rules(cfg: StackConfig) -> list[tuple[str, str]]:
    """A snapshot-behind threshold must not fire on every healthy cycle nor long after the RPO is lost."""
    behind = cfg.atlas.alerts.snapshot_behind_hours
    interval = cfg.atlas.backup.hourly_interval_hours
    key = "atlas.alerts.snapshotBehindHours"
    if behind <= interval:
        return [
            (key, f"{behind} h would fire before every {interval}-hourly snapshot; use more than {interval}")
        ]
    limit = snapshot_behind_limit_hours(cfg)
    if behind > limit:
        return [
            (
                key,
                f"{behind} h fires after the snapshot RPO is long lost; at most {limit:g} h "
                f"({interval} h snapshot interval + the snapshot RPO)",
            )
        ]
    return []


def _global_name_rules(cfg: StackConfig) -> list[tuple[str, str]]:
    """The names as created (suffix applied, and the copy-region replicas of the buckets) still follow
    their cloud's rules; each problem names the key that holds the base name."""
    final = cfg.with_global_names()
    note = " (with nameSuffix)" if cfg.name_suffix else ""
    checks = [
        ("aws.mediaBucket", global_names.s3_bucket_problem(final.aws.media_bucket)),
        ("aws.exportBucket", global_names.s3_bucket_problem(final.aws.export_bucket)),
        ("azure.storage.accountName", global_names.storage_account_problem(final.azure.storage.account_name)),
        (
            "azure.serviceBus.namespaceName",
            global_names.service_bus_namespace_problem(final.azure.service_bus.namespace_name),
        ),
    ]
    for key, bucket in (
        ("aws.mediaBucket", final.aws.media_bucket),
        ("aws.exportBucket", final.aws.export_bucket),
    ):
        replica = replica_bucket_name(bucket, final.aws.replica_region)
        problem = global_names.s3_bucket_problem(replica)
        checks.append((key, f"its copy-region replica {problem}" if problem else None))
    if final.app is not None:
        checks.extend(final.app.global_name_problems())
    return [(key, f"{problem}{note}") for key, problem in checks if problem is not None]


def _key_path(loc: tuple[int | str, ...], *, as_written: bool = False) -> str:
    """`backstop:atlas.clusters[0].electableNodes` from a pydantic error location.

    Errors in defaulted fields carry the Python name; the stack file spells keys in camelCase, except a key
    the operator wrote (`as_written`), which is reported as it is in the file.
    """
    head, *rest = loc if loc else ("",)
    path = f"{NAMESPACE}:{head}"
    for index, part in enumerate(rest):
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            last = index == len(rest) - 1
            path += f".{part if as_written and last else to_camel(part)}"
    return path


def _short_repr(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _error_line(source: str, error: Mapping[str, Any]) -> str:
    loc = tuple(error.get("loc", ()))
    kind = error.get("type")
    message = str(error.get("msg", "invalid value"))
    message = message.removeprefix("Value error, ")
    if kind == "missing":
        message = "is required"
    elif kind == "extra_forbidden":
        message = "is not a known key"
    elif kind in {"model_type", "model_attributes_type", "dict_type"}:
        message = f"expected a structured (object) value (got {_short_repr(error.get('input'))})"
    elif "input" in error and kind != "value_error":
        message += f" (got {_short_repr(error['input'])})"
    return f"{source}: {_key_path(loc, as_written=kind == 'extra_forbidden')}: {message}"


def _check_secret_keys(raw: Mapping[str, Any], secret_keys: Collection[str], source: str) -> None:
    """Secret-only keys must arrive encrypted: a plain-text webhook in a stack file is a leaked credential.

    Messages never repeat the value itself.
    """
    for key in SECRET_KEYS:
        if key not in raw:
            continue
        path = f"{NAMESPACE}:{key}"
        if key not in secret_keys:
            raise ConfigError(
                f"{source}: {path}: must be stored as a secret (`pulumi config set --secret {path} ...`), "
                "not in plain text"
            )
        value = raw[key]
        prefixes, form = _SECRET_FORMS[key]
        if value != OFFLINE_SECRET and not (isinstance(value, str) and value.startswith(prefixes)):
            raise ConfigError(f"{source}: {path}: must be {form}")


def load_stack_config(raw: Mapping[str, Any], source: str, secret_keys: Collection[str] = ()) -> StackConfig:
    """Validate the `backstop:*` values of one stack; raise `ConfigError` with one line on the first problem.

    `raw` maps section names (`atlas`, `aws`…) to their parsed values; `source` is the stack file the values
    came from, named in the error so the operator knows where to look; `secret_keys` are the keys of `raw`
    that were stored encrypted.
    """
    unknown = sorted(set(raw) - set(SECTIONS) - set(SECRET_KEYS))
    if unknown:
        raise ConfigError(f"{source}: {NAMESPACE}:{unknown[0]}: is not a known key")
    _check_secret_keys(raw, secret_keys, source)
    data = {key: value for key, value in raw.items() if key in SECTIONS}
    try:
        cfg = StackConfig.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        line = _error_line(source, errors[0])
        if len(errors) > 1:
            line += f" (and {len(errors) - 1} more)"
        raise ConfigError(line) from None
    problems = _environment_rules(cfg)
    if problems:
        path, message = problems[0]
        raise ConfigError(f"{source}: {NAMESPACE}:{path}: {message}")
    return cfg


def stack_file_name(stack: str) -> str:
    return f"Pulumi.{stack}.yaml"


def from_pulumi_config() -> StackConfig:
    """Read the current stack's `backstop:*` values through the Pulumi SDK (engine or mocks alike)."""
    import pulumi
    from pulumi.runtime.config import (
        CONFIG,
        get_config,
        get_config_env,
        get_config_secret_keys_env,
        is_config_secret,
    )

    source = stack_file_name(pulumi.get_stack())
    raw: dict[str, Any] = {}
    secret: set[str] = set()
    prefix = f"{NAMESPACE}:"
    # The language host may hand config over in the environment rather than through `set_all_config`.
    env_secret_keys = set(get_config_secret_keys_env())
    for key in sorted(set(CONFIG.get()) | set(get_config_env())):
        if not key.startswith(prefix):
            continue
        short = key[len(prefix) :]
        if short not in SECTIONS and short not in SECRET_KEYS:
            raise ConfigError(f"{source}: {key}: is not a known key")
        if is_config_secret(key) or key in env_secret_keys:
            secret.add(short)
        text = get_config(key)
        if short in SECRET_KEYS or short == "environment":
            raw[short] = text
            continue
        try:
            raw[short] = json.loads(text)
        except (json.JSONDecodeError, TypeError):
            raw[short] = text  # not structured: validation names the key and what it got
    return load_stack_config(raw, source, secret)
