"""Prod storage accounts replicate to the paired region (GRS, RA-GRS, GZRS, RA-GZRS).

azure-native spells the redundancy in `sku.name` (`Standard_RAGZRS`); classic pulumi-azure in
`accountReplicationType` (`RAGZRS`, with the tier apart in `accountTier`), so a classic account passes when
its replication type is the redundancy part of one of the accepted SKUs. The SKU must also be one the
account's kind offers (`kind` / classic `accountKind`, and classic `accountTier`): premium block blob and
file share accounts are LRS/ZRS only.
"""

from __future__ import annotations

from collections.abc import Iterator

from backstop.ground import seeds, tokens
from backstop.ground.resources import Resource, is_unknown
from backstop.policy.core import Finding, Severity, resource_rule, unknown, violation
from backstop.policy.targets import PolicyTargets
from backstop.policy.values import fmt, get


@resource_rule(
    id="azure-storage-geo-redundant",
    types=tokens.AZ_STORAGE_ACCOUNTS,
    description=(
        f"{seeds.SEED_WISER}: 'Azure Blob Storage: Locally Redundant Storage (LRS) minimum; Geo-Redundant "
        "Storage (GRS) where configured' and 'Full Azure region outage: Failover to secondary Azure "
        "region'. Prod review media must survive the loss of its region (RPO 1 hour for other systems)."
    ),
    severity=Severity.HIGH,
    remediation=(
        "Set sku={'name': <one of $geo_redundant_skus>} on the account; with classic pulumi-azure, "
        "account_replication_type=<the same without 'Standard_'> (GRS, RAGRS, GZRS or RAGZRS)."
    ),
    tunables=("require_geo_redundant_storage", "geo_redundant_skus"),
)
def check(resource: Resource, targets: PolicyTargets) -> Iterator[Finding]:
    if not targets.require_geo_redundant_storage:
        return
    if resource.type == tokens.AZC_STORAGE_ACCOUNT:
        key = "accountReplicationType"
        accepted = sorted({sku.split("_", 1)[-1] for sku in targets.geo_redundant_skus})
    else:
        key, accepted = "sku.name", list(targets.geo_redundant_skus)
    sku = get(resource.props, key)
    if is_unknown(sku):
        yield unknown(resource, key)
    elif not (isinstance(sku, str) and sku in accepted):
        yield violation(resource, f"{key} is {fmt(sku)}, not geo-redundant (one of {', '.join(accepted)})")
    else:
        yield from _kind_allows(resource, sku)


# Redundancy each account kind offers (Azure "Storage account overview", types of storage accounts):
# premium block blobs and file shares are LRS/ZRS only; general-purpose v1 and legacy Blob storage have no
# zone-redundant geo options. General-purpose v2 (the default kind of both SDKs) offers them all.
KIND_REDUNDANCY = {
    "BlockBlobStorage": frozenset({"LRS", "ZRS"}),
    "FileStorage": frozenset({"LRS", "ZRS"}),
    "Storage": frozenset({"LRS", "GRS", "RAGRS"}),
    "BlobStorage": frozenset({"LRS", "GRS", "RAGRS"}),
}


def _kind_allows(resource: Resource, sku: str) -> Iterator[Finding]:
    """A geo-redundant SKU only protects on an account kind that offers it; Azure refuses the others."""
    classic = resource.type == tokens.AZC_STORAGE_ACCOUNT
    kind_key = "accountKind" if classic else "kind"
    kind = get(resource.props, kind_key)
    redundancy = sku.split("_", 1)[-1]
    if classic:
        tier = get(resource.props, "accountTier")
        if is_unknown(tier):
            yield unknown(resource, "accountTier")
            return
        if tier == "Premium":
            yield violation(
                resource,
                f"accountTier Premium offers only LRS and ZRS: accountReplicationType {sku} cannot make it "
                "geo-redundant",
            )
            return
    if is_unknown(kind):
        yield unknown(resource, kind_key)
    elif isinstance(kind, str) and kind in KIND_REDUNDANCY and redundancy not in KIND_REDUNDANCY[kind]:
        offered = ", ".join(sorted(KIND_REDUNDANCY[kind]))
        yield violation(
            resource,
            f"{kind_key} {kind} offers only {offered}: {key_of(classic)} {sku} is not available for it, "
            "so the account cannot be geo-redundant as declared",
        )


def key_of(classic: bool) -> str:
    return "accountReplicationType" if classic else "sku.name"
