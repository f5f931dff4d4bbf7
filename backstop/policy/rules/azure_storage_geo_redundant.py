"""Prod storage accounts replicate to the paired region (GRS, RA-GRS, GZRS, RA-GZRS)."""

from __future__ import annotations

from collections.abc import Iterator

from backstop import seeds, tokens
from backstop.policy.core import Finding, Severity, resource_rule, unknown, violation
from backstop.policy.targets import PolicyTargets
from backstop.policy.values import fmt, get
from backstop.resources import Resource, is_unknown


@resource_rule(
    id="azure-storage-geo-redundant",
    types=[tokens.AZ_STORAGE_ACCOUNT],
    description=(
        f"{seeds.SEED_WISER}: 'Azure Blob Storage: Locally Redundant Storage (LRS) minimum; Geo-Redundant "
        "Storage (GRS) where configured' and 'Full Azure region outage: Failover to secondary Azure "
        "region'. Prod review media must survive the loss of its region (RPO 1 hour for other systems)."
    ),
    severity=Severity.HIGH,
    remediation="Set sku={'name': 'Standard_RAGZRS'} (or Standard_GRS, RAGRS, GZRS) on the account.",
    tunables=("require_geo_redundant_storage", "geo_redundant_skus"),
)
def check(resource: Resource, targets: PolicyTargets) -> Iterator[Finding]:
    if not targets.require_geo_redundant_storage:
        return
    sku = get(resource.props, "sku.name")
    if is_unknown(sku):
        yield unknown(resource, "sku.name")
    elif not (isinstance(sku, str) and sku in targets.geo_redundant_skus):
        yield violation(
            resource,
            f"sku.name is {fmt(sku)}, not geo-redundant (one of {', '.join(targets.geo_redundant_skus)})",
        )
