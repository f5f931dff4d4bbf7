"""Prod App Service plans spread their instances over availability zones (and have enough of them)."""

from __future__ import annotations

from collections.abc import Iterator

from backstop.ground import seeds, tokens
from backstop.ground.resources import Resource, is_unknown
from backstop.policy.core import Finding, Severity, resource_rule, unknown, violation
from backstop.policy.targets import PolicyTargets
from backstop.policy.values import MISSING, fmt, get, is_true, number

# Azure's floor for a zone-redundant plan (two instances since 2025, three before).
MIN_ZONE_REDUNDANT_INSTANCES = 2


@resource_rule(
    id="app-service-plan-zone-redundant",
    types=tokens.AZ_APP_SERVICE_PLANS,
    description=(
        f"{seeds.SEED_WISER}, Infrastructure Recovery: 'Azure availability zone outage — Azure App Services "
        "with zone redundancy or manual failover to secondary region'. A plan that is not zone redundant "
        "goes down with its zone."
    ),
    severity=Severity.HIGH,
    remediation=(
        "Set zone_redundant=True and sku=SkuDescriptionArgs(name='P1v3', capacity=3) on "
        "azure_native.web.AppServicePlan (classic: zone_balancing_enabled=True, worker_count=3 on "
        "azure.appservice.ServicePlan)."
    ),
    tunables=("require_zone_redundant_plans",),
)
def check(resource: Resource, targets: PolicyTargets) -> Iterator[Finding]:
    if not targets.require_zone_redundant_plans:
        return
    classic = resource.type == tokens.AZC_SERVICE_PLAN
    flag = "zoneBalancingEnabled" if classic else "zoneRedundant"
    count_path = "workerCount" if classic else "sku.capacity"
    value = get(resource.props, flag)
    count = get(resource.props, count_path)
    if is_unknown(value):
        yield unknown(resource, flag)
    elif not is_true(value):
        yield violation(resource, f"{flag} is {fmt(value)}: the plan goes down with its availability zone")
    elif is_unknown(count):
        yield unknown(resource, count_path)
    elif count is not MISSING and (number(count) or 0) < MIN_ZONE_REDUNDANT_INSTANCES:
        yield violation(
            resource,
            f"{count_path} is {fmt(count)}: a zone-redundant plan needs at least "
            f"{MIN_ZONE_REDUNDANT_INSTANCES} instances",
        )
