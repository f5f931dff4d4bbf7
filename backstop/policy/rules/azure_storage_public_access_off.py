"""Storage accounts forbid anonymous public access to blobs and containers.

A missing `allowBlobPublicAccess` is a violation. The installed azure-native v3 (storage API 2024-01-01)
documents "the default interpretation is false for this property", but older API versions documented it as
true and accounts created before November 2023 kept that; what an unset value means therefore depends on
the API version and the account's history. The seed's "no public bucket access" is declared, not assumed.
Classic pulumi-azure calls the switch `allowNestedItemsToBePublic` and documents "Defaults to `true`".
"""

from __future__ import annotations

from collections.abc import Iterator

from backstop.ground import seeds, tokens
from backstop.ground.resources import Resource, is_unknown
from backstop.policy.core import Finding, Severity, resource_rule, unknown, violation
from backstop.policy.targets import PolicyTargets
from backstop.policy.values import MISSING, fmt, get


@resource_rule(
    id="azure-storage-public-access-off",
    types=tokens.AZ_STORAGE_ACCOUNTS,
    description=(
        f"{seeds.SEED_WISER}: 'Time-limited signed URLs for file access: no public bucket access' for the "
        "Azure Blob Storage that holds review photos and videos."
    ),
    severity=Severity.HIGH,
    remediation=(
        "Set allow_blob_public_access=False on the storage account (classic pulumi-azure: "
        "allow_nested_items_to_be_public=False)."
    ),
)
def check(resource: Resource, targets: PolicyTargets) -> Iterator[Finding]:
    classic = resource.type == tokens.AZC_STORAGE_ACCOUNT
    key = "allowNestedItemsToBePublic" if classic else "allowBlobPublicAccess"
    value = get(resource.props, key)
    if is_unknown(value):
        yield unknown(resource, key)
    elif value is MISSING:
        default = "defaults to true" if classic else "its default depends on the API version and account age"
        yield violation(resource, f"{key} is not set: {default}; set it to false")
    elif not (value is False or (isinstance(value, str) and value.lower() == "false")):
        yield violation(resource, f"{key} is {fmt(value)}: anonymous blob access is allowed")
