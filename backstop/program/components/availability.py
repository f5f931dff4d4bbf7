"""Availability alerts on the application layer, each notifying the action groups it is handed.

Seed basis (WiserReview, "Monitoring and Alerting"): "Cache health: ... failure triggers Slack alert",
"Application health: Azure App Services health checks ...", "Storage health: Azure Blob Storage ...
availability monitoring", and "All critical infrastructure alerts flow to the engineering team's Slack
#alerts channel". The action group ids are an input: the program passes the group that reaches Slack.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
from pulumi_azure_native import monitor

from backstop.config.app import AvailabilityAlertsConfig
from backstop.ground import tokens


@dataclass(frozen=True)
class MetricWatch:
    """One metric condition: fire when `aggregation(metric) operator threshold` over the window."""

    metric: str
    namespace: str
    operator: monitor.Operator
    threshold: float
    aggregation: monitor.AggregationTypeEnum
    what: str


@dataclass(frozen=True)
class AlertTarget:
    """A resource to watch: a short name for the alert, its ARM id, and the conditions."""

    name: str
    resource_id: pulumi.Input[str]
    watches: Sequence[MetricWatch]


def web_app_watches(cfg: AvailabilityAlertsConfig) -> list[MetricWatch]:
    return [
        MetricWatch(
            tokens.WEB_HEALTH_METRIC,
            tokens.WEB_METRIC_NAMESPACE,
            monitor.Operator.LESS_THAN,
            cfg.healthy_instances_percent,
            monitor.AggregationTypeEnum.AVERAGE,
            "instances failing the health check",
        ),
        MetricWatch(
            tokens.WEB_5XX_METRIC,
            tokens.WEB_METRIC_NAMESPACE,
            monitor.Operator.GREATER_THAN,
            cfg.http_5xx_count,
            monitor.AggregationTypeEnum.TOTAL,
            "HTTP 5xx responses",
        ),
    ]


def redis_watches(cfg: AvailabilityAlertsConfig) -> list[MetricWatch]:
    """Azure Managed Redis (`Microsoft.Cache/redisEnterprise`): its server load, the metric of that
    namespace the availability rule reads."""
    return [
        MetricWatch(
            tokens.REDIS_SERVER_LOAD_METRIC,
            tokens.MANAGED_REDIS_METRIC_NAMESPACE,
            monitor.Operator.GREATER_THAN,
            cfg.redis_server_load_percent,
            monitor.AggregationTypeEnum.MAXIMUM,
            "cache server load",
        ),
    ]


def storage_watches(cfg: AvailabilityAlertsConfig) -> list[MetricWatch]:
    return [
        MetricWatch(
            tokens.STORAGE_AVAILABILITY_METRIC,
            tokens.STORAGE_METRIC_NAMESPACE,
            monitor.Operator.LESS_THAN,
            cfg.storage_availability_percent,
            monitor.AggregationTypeEnum.AVERAGE,
            "storage availability",
        )
    ]


@dataclass(frozen=True)
class AvailabilityAlertsArgs:
    config: AvailabilityAlertsConfig
    resource_group_name: pulumi.Input[str]
    targets: Sequence[AlertTarget]
    action_group_ids: Sequence[pulumi.Input[str]]
    tags: dict[str, str]


class AvailabilityAlerts(pulumi.ComponentResource):
    """One enabled metric alert per watched condition, each notifying every given action group."""

    alerts: list[monitor.MetricAlert]

    def __init__(
        self, name: str, args: AvailabilityAlertsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(tokens.COMPONENT_AVAILABILITY_ALERTS, name, None, opts)
        if not args.action_group_ids:
            raise ValueError("availability alerts need at least one action group to notify")
        cfg = args.config
        actions = [monitor.MetricAlertActionArgs(action_group_id=group) for group in args.action_group_ids]
        self.alerts = []
        for target in args.targets:
            for watch in target.watches:
                self.alerts.append(
                    monitor.MetricAlert(
                        f"{target.name}-{watch.metric.lower()}-alert",
                        resource_group_name=args.resource_group_name,
                        description=f"{target.name}: {watch.what} ({watch.metric})",
                        location="global",
                        enabled=True,
                        severity=cfg.severity,
                        evaluation_frequency=cfg.evaluation_frequency,
                        window_size=cfg.window_size,
                        scopes=[target.resource_id],
                        auto_mitigate=True,
                        criteria=monitor.MetricAlertSingleResourceMultipleMetricCriteriaArgs(
                            odata_type="Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria",
                            all_of=[
                                monitor.MetricCriteriaArgs(
                                    criterion_type="StaticThresholdCriterion",
                                    name=watch.metric,
                                    metric_name=watch.metric,
                                    metric_namespace=watch.namespace,
                                    operator=watch.operator,
                                    threshold=watch.threshold,
                                    time_aggregation=watch.aggregation,
                                )
                            ],
                        ),
                        actions=actions,
                        tags=args.tags,
                        opts=pulumi.ResourceOptions(parent=self),
                    )
                )
        self.register_outputs({"alertCount": len(self.alerts)})
