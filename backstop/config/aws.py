"""The `backstop:aws` section: the KMS key and the replicated, versioned S3 buckets."""

from __future__ import annotations

from typing import Literal

from pydantic import (
    Field,
    ValidationInfo,
    field_validator,
)

from backstop.config.common import AwsRegion, S3BucketName
from backstop.config.types import (
    ConfigModel,
)
from backstop.ground import seeds


def replica_bucket_name(bucket_name: str, replica_region: str) -> str:
    """The copy-region bucket of `bucket_name`: S3 names are global, so the region is part of it."""
    return f"{bucket_name}-{replica_region}"


class ObjectLockConfig(ConfigModel):
    """Object Lock of the Atlas export bucket. The copy-region replica always keeps a default retention of
    `days` in `mode`; the bucket Atlas writes into only with `sourceDefaultRetention`, because S3 refuses an
    upload into a bucket with a default retention that carries no Content-MD5 or checksum header, and Atlas
    does not document sending one (turn it on once a staging export job has succeeded with it)."""

    mode: Literal["COMPLIANCE", "GOVERNANCE"] = "GOVERNANCE"
    days: int = Field(default=30, gt=0)
    source_default_retention: bool = False


class AwsConfig(ConfigModel):
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
