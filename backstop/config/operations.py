"""The sections operations read: `objectives`, `drill` and `recover` (RPO/RTO, drills, the runbook)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Literal

from pydantic import (
    Field,
    ValidationInfo,
    field_validator,
)

from backstop.config.app import AppObjectivesConfig
from backstop.config.common import AtlasRegion
from backstop.config.types import (
    ConfigModel,
    Duration,
)
from backstop.ground import seeds


class Objective(ConfigModel):
    rpo: Duration
    rto: Duration


class RestoreEstimates(ConfigModel):
    """How long each recovery mechanism takes, until a drill measures it (seed "Achievement" column)."""

    oplog_replay: Duration = timedelta(minutes=1)
    snapshot_restore: Duration = timedelta(hours=1)
    cross_region_restore: Duration = timedelta(hours=2)
    offsite_export_restore: Duration = timedelta(hours=12)
    object_storage_failover: Duration = timedelta(hours=1)
    dead_letter_replay: Duration = timedelta(hours=1)


class ObjectivesConfig(ConfigModel):
    """RTO/RPO targets per scenario; defaults are the seeds' tables."""

    single_document: Objective = Objective(rpo=seeds.RPO_SINGLE_DOCUMENT, rto=seeds.RTO_SINGLE_DOCUMENT)
    single_collection: Objective = Objective(rpo=seeds.RPO_SINGLE_COLLECTION, rto=seeds.RTO_SINGLE_COLLECTION)
    whole_cluster: Objective = Objective(rpo=seeds.RPO_WHOLE_CLUSTER, rto=seeds.RTO_WHOLE_CLUSTER)
    total_loss: Objective = Objective(rpo=seeds.RPO_TOTAL_LOSS, rto=seeds.RTO_TOTAL_LOSS)
    object_storage: Objective = Objective(rpo=seeds.RPO_OTHER_SYSTEMS, rto=seeds.RTO_PLATFORM)
    queue_messages: Objective = Objective(rpo=seeds.RPO_OTHER_SYSTEMS, rto=seeds.RTO_PLATFORM)
    estimates: RestoreEstimates = RestoreEstimates()
    # The application and infrastructure scenarios (backstop.config.app).
    app: AppObjectivesConfig = AppObjectivesConfig()


class DrillConfig(ConfigModel):
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


class ConnectionTargetConfig(ConfigModel):
    """The cluster the application connects to, set by `backstop recover cutover` after a cluster or
    region loss (the seed's "cluster swap")."""

    project_id: str = Field(pattern=r"^[0-9a-f]{24}$")
    cluster_name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9-]*$")
    incident_id: str | None = None
    # The recovered cluster's `connectionStrings.standardSrv` as Atlas reports it: a host, no credentials.
    standard_srv: str | None = Field(default=None, pattern=SRV_HOST_PATTERN)


class RecoverConfig(ConfigModel):
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
