"""The `backstop:azure` section: geo-redundant Blob storage and Service Bus with dead-lettering."""

from __future__ import annotations

from typing import Literal

from pydantic import (
    Field,
    ValidationInfo,
    field_validator,
)

from backstop.config.common import AzureStorageSku, LockDuration, ServiceBusNamespaceName, StorageAccountName
from backstop.config.types import (
    ConfigModel,
    IsoTimespan,
    MetricAlertFrequency,
    MetricAlertWindow,
    window_covers_frequency,
)
from backstop.ground import seeds


class StorageConfig(ConfigModel):
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


class QueueConfig(ConfigModel):
    name: str = Field(min_length=1, max_length=260)
    max_delivery_count: int = Field(default=10, ge=seeds.MIN_MAX_DELIVERY_COUNT)
    message_ttl: IsoTimespan = "P14D"
    lock_duration: LockDuration = "PT1M"


class SubscriptionConfig(ConfigModel):
    name: str = Field(min_length=1, max_length=50)
    max_delivery_count: int = Field(default=10, ge=seeds.MIN_MAX_DELIVERY_COUNT)
    message_ttl: IsoTimespan = "P14D"
    lock_duration: LockDuration = "PT1M"


class TopicConfig(ConfigModel):
    name: str = Field(min_length=1, max_length=260)
    message_ttl: IsoTimespan = "P14D"
    subscriptions: list[SubscriptionConfig] = Field(min_length=1)


class DeadLetterAlertConfig(ConfigModel):
    threshold: int = Field(default=0, ge=0)
    severity: int = Field(default=2, ge=0, le=4)
    evaluation_frequency: MetricAlertFrequency = "PT5M"
    window_size: MetricAlertWindow = "PT15M"
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+$")

    @field_validator("window_size")
    @classmethod
    def _window_covers_frequency(cls, value: str, info: ValidationInfo) -> str:
        return window_covers_frequency(value, info.data.get("evaluation_frequency"))


class ServiceBusConfig(ConfigModel):
    namespace_name: ServiceBusNamespaceName
    sku: Literal["Standard", "Premium"] = "Standard"
    queues: list[QueueConfig] = Field(default_factory=list)
    topics: list[TopicConfig] = Field(default_factory=list)
    dead_letter_alert: DeadLetterAlertConfig


class AzureConfig(ConfigModel):
    location: str = "eastus"
    resource_group_name: str = Field(min_length=1, max_length=90)
    storage: StorageConfig
    service_bus: ServiceBusConfig
