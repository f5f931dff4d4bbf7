"""The `backstop:atlas` section: clusters, the backup schedule, the compliance policy and backup alerts."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import (
    Field,
    ValidationInfo,
    field_validator,
)

from backstop.config.common import ATLAS_TWO_ZONE_AWS_REGIONS, AtlasRegion
from backstop.config.types import (
    ConfigModel,
)
from backstop.ground import seeds


class BackupScheduleConfig(ConfigModel):
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


class ClusterConfig(ConfigModel):
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


class CompliancePolicyConfig(ConfigModel):
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


class AlertsConfig(ConfigModel):
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


class AtlasConfig(ConfigModel):
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
