"""Azure pieces: geo-redundant, recoverable Blob storage and dead-lettering Service Bus with an alert.

Seed basis (WiserReview): "Azure Blob Storage: LRS minimum; GRS where configured", "no public bucket
access", "Messages that cannot be processed are automatically moved to a dead-letter queue: no messages
are silently dropped", "Azure Service Bus dead-letter queue depth monitored".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
from pulumi_azure_native import monitor, servicebus, storage

from backstop.config import ServiceBusConfig, StorageConfig
from backstop.ground import tokens
from backstop.program.components.placement import AzureComponentArgs


class BlobStorageArgs(AzureComponentArgs[StorageConfig]):
    """The storage section, placed in the backup resource group."""


class BlobStorage(pulumi.ComponentResource):
    """A storage account whose blobs survive deletion, overwrite and a regional outage."""

    account: storage.StorageAccount

    def __init__(self, name: str, args: BlobStorageArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(tokens.COMPONENT_STORAGE, name, None, opts)
        cfg = args.config
        child = pulumi.ResourceOptions(parent=self)
        self.account = storage.StorageAccount(
            name,
            resource_group_name=args.resource_group_name,
            account_name=cfg.account_name,
            location=args.location,
            kind=storage.Kind.STORAGE_V2,
            sku=storage.SkuArgs(name=cfg.sku),
            allow_blob_public_access=False,
            minimum_tls_version=storage.MinimumTlsVersion.TLS1_2,
            enable_https_traffic_only=True,
            encryption=storage.EncryptionArgs(
                key_source=storage.KeySource.MICROSOFT_STORAGE,
                require_infrastructure_encryption=True,
                services=storage.EncryptionServicesArgs(
                    blob=storage.EncryptionServiceArgs(enabled=True, key_type=storage.KeyType.ACCOUNT)
                ),
            ),
            tags=args.tags,
            opts=child,
        )
        self.blob_service = storage.BlobServiceProperties(
            f"{name}-blob-service",
            resource_group_name=args.resource_group_name,
            account_name=self.account.name,
            blob_services_name="default",
            is_versioning_enabled=True,
            delete_retention_policy=storage.DeleteRetentionPolicyArgs(
                enabled=True, days=cfg.blob_soft_delete_days
            ),
            container_delete_retention_policy=storage.DeleteRetentionPolicyArgs(
                enabled=True, days=cfg.container_soft_delete_days
            ),
            change_feed=storage.ChangeFeedArgs(
                enabled=True, retention_in_days=cfg.change_feed_retention_days
            ),
            restore_policy=storage.RestorePolicyPropertiesArgs(
                enabled=True, days=cfg.point_in_time_restore_days
            ),
            opts=child,
        )
        self.containers = [
            storage.BlobContainer(
                f"{name}-{container}",
                resource_group_name=args.resource_group_name,
                account_name=self.account.name,
                container_name=container,
                public_access=storage.PublicAccess.NONE,
                opts=pulumi.ResourceOptions(parent=self, depends_on=[self.blob_service]),
            )
            for container in cfg.containers
        ]
        self.register_outputs({"accountName": self.account.name})


@dataclass(frozen=True)
class ServiceBusArgs(AzureComponentArgs[ServiceBusConfig]):
    # Further action groups the dead-letter alert notifies, such as the Slack relay's.
    alert_action_group_ids: Sequence[pulumi.Input[str]] = ()


class ServiceBusWithDeadLetters(pulumi.ComponentResource):
    """A namespace whose queues and subscriptions dead-letter instead of dropping, with a DLQ alert."""

    namespace: servicebus.Namespace
    alert: monitor.MetricAlert

    def __init__(self, name: str, args: ServiceBusArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(tokens.COMPONENT_SERVICE_BUS, name, None, opts)
        cfg = args.config
        child = pulumi.ResourceOptions(parent=self)
        self.namespace = servicebus.Namespace(
            name,
            resource_group_name=args.resource_group_name,
            namespace_name=cfg.namespace_name,
            location=args.location,
            sku=servicebus.SBSkuArgs(name=servicebus.SkuName(cfg.sku), tier=servicebus.SkuTier(cfg.sku)),
            minimum_tls_version="1.2",
            tags=args.tags,
            opts=child,
        )
        self.queues = [
            servicebus.Queue(
                f"{name}-{queue.name}",
                resource_group_name=args.resource_group_name,
                namespace_name=self.namespace.name,
                queue_name=queue.name,
                dead_lettering_on_message_expiration=True,
                max_delivery_count=queue.max_delivery_count,
                default_message_time_to_live=queue.message_ttl,
                lock_duration=queue.lock_duration,
                opts=child,
            )
            for queue in cfg.queues
        ]
        self.topics: list[servicebus.Topic] = []
        self.subscriptions: list[servicebus.Subscription] = []
        for topic_cfg in cfg.topics:
            topic = servicebus.Topic(
                f"{name}-{topic_cfg.name}",
                resource_group_name=args.resource_group_name,
                namespace_name=self.namespace.name,
                topic_name=topic_cfg.name,
                default_message_time_to_live=topic_cfg.message_ttl,
                opts=child,
            )
            self.topics.append(topic)
            for sub in topic_cfg.subscriptions:
                self.subscriptions.append(
                    servicebus.Subscription(
                        f"{name}-{topic_cfg.name}-{sub.name}",
                        resource_group_name=args.resource_group_name,
                        namespace_name=self.namespace.name,
                        topic_name=topic.name,
                        subscription_name=sub.name,
                        dead_lettering_on_message_expiration=True,
                        dead_lettering_on_filter_evaluation_exceptions=True,
                        max_delivery_count=sub.max_delivery_count,
                        default_message_time_to_live=sub.message_ttl,
                        lock_duration=sub.lock_duration,
                        opts=child,
                    )
                )
        alert_cfg = cfg.dead_letter_alert
        self.action_group = monitor.ActionGroup(
            f"{name}-dlq-action-group",
            resource_group_name=args.resource_group_name,
            group_short_name="dlq-alerts",
            enabled=True,
            location="global",
            email_receivers=[
                monitor.MicrosoftCommonEmailReceiverArgs(
                    name="engineering", email_address=alert_cfg.email, use_common_alert_schema=True
                )
            ],
            tags=args.tags,
            opts=child,
        )
        self.alert = monitor.MetricAlert(
            f"{name}-dead-letter-alert",
            resource_group_name=args.resource_group_name,
            description=f"Dead-lettered messages in Service Bus namespace {cfg.namespace_name}",
            location="global",
            enabled=True,
            severity=alert_cfg.severity,
            evaluation_frequency=alert_cfg.evaluation_frequency,
            window_size=alert_cfg.window_size,
            scopes=[self.namespace.id],
            auto_mitigate=True,
            criteria=monitor.MetricAlertSingleResourceMultipleMetricCriteriaArgs(
                odata_type="Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria",
                all_of=[
                    monitor.MetricCriteriaArgs(
                        criterion_type="StaticThresholdCriterion",
                        name="dead-lettered",
                        metric_name=tokens.SB_DEAD_LETTER_METRIC,
                        metric_namespace=tokens.SB_METRIC_NAMESPACE,
                        operator=monitor.Operator.GREATER_THAN,
                        threshold=alert_cfg.threshold,
                        time_aggregation=monitor.AggregationTypeEnum.MAXIMUM,
                        dimensions=[
                            monitor.MetricDimensionArgs(name="EntityName", operator="Include", values=["*"])
                        ],
                    )
                ],
            ),
            actions=[
                monitor.MetricAlertActionArgs(action_group_id=group_id)
                for group_id in [self.action_group.id, *args.alert_action_group_ids]
            ],
            tags=args.tags,
            opts=child,
        )
        self.register_outputs({"namespaceName": self.namespace.name, "alertName": self.alert.name})
