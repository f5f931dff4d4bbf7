"""Every storage account keeps deleted blobs recoverable: blob soft delete on, for at least 7 days.

Soft delete lives on the account's `BlobServiceProperties` (`deleteRetentionPolicy.enabled` / `.days`),
joined to the account by the engine's dependency of its `accountName`, else by the account name's value.
A classic pulumi-azure account holds it inline, in `blobProperties.deleteRetentionPolicy`: the block being
there turns soft delete on, and its `days` "Defaults to `7`" (the installed SDK's documentation).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

from backstop.ground import seeds, tokens
from backstop.ground.resources import Resource, is_unknown
from backstop.policy.core import Finding, Severity, stack_rule, unknown, violation
from backstop.policy.stackview import StackView
from backstop.policy.targets import PolicyTargets
from backstop.policy.values import MISSING, fmt, get, is_true, number


def _verdict(service: Resource, targets: PolicyTargets) -> bool | str | None:
    """True: compliant; a string: why not; None: cannot be told yet."""
    enabled = get(service.props, "deleteRetentionPolicy.enabled")
    days = get(service.props, "deleteRetentionPolicy.days")
    if is_unknown(enabled):
        return None
    if not is_true(enabled):
        state = "not set" if enabled is MISSING else f"{fmt(enabled)}"
        return f"blob soft delete is off on {service.name} (deleteRetentionPolicy.enabled {state})"
    if is_unknown(days):
        return None
    count = number(days)
    if count is None or not math.isfinite(count) or count < targets.min_blob_soft_delete_days:
        return (
            f"blob soft delete on {service.name} keeps deleted blobs {fmt(days)} days, below the "
            f"{fmt(targets.min_blob_soft_delete_days)}-day minimum"
        )
    return True


CLASSIC_DEFAULT_RETENTION_DAYS = 7


def _classic_verdict(account: Resource, targets: PolicyTargets) -> bool | str | None:
    """The inline `blobProperties.deleteRetentionPolicy` of a classic account, judged as `_verdict`."""
    policy = get(account.props, "blobProperties.deleteRetentionPolicy")
    if is_unknown(policy):
        return None
    if not isinstance(policy, dict):
        return "blobProperties.deleteRetentionPolicy is not set: blob soft delete is off"
    days = get(policy, "days")
    if is_unknown(days):
        return None
    count = CLASSIC_DEFAULT_RETENTION_DAYS if days is MISSING else number(days)
    if count is None or not math.isfinite(count) or count < targets.min_blob_soft_delete_days:
        return (
            f"blob soft delete keeps deleted blobs {fmt(count if days is MISSING else days)} days, below "
            f"the {fmt(targets.min_blob_soft_delete_days)}-day minimum"
        )
    return True


def _account_name(account: Resource) -> Any:
    name = get(account.props, "accountName")
    return account.name if name is MISSING else name


@stack_rule(
    id="azure-blob-soft-delete",
    description=(
        f"{seeds.SEED_WISER}: file storage must survive 'Data corruption or accidental deletion' (RPO 1 "
        "hour for other systems). Blob soft delete keeps a deleted blob restorable for at least the 7-day "
        f"point-in-time window of {seeds.SEED_BACKUP} ('within last 7 days')."
    ),
    severity=Severity.HIGH,
    remediation=(
        "Add azure_native.storage.BlobServiceProperties(account_name=<account>.name, "
        "blob_services_name='default', delete_retention_policy={'enabled': True, 'days': "
        "<$min_blob_soft_delete_days or more>}); with classic pulumi-azure, blob_properties="
        "{'delete_retention_policy': {'days': <$min_blob_soft_delete_days or more>}} on the account."
    ),
    tunables=("min_blob_soft_delete_days",),
)
def check(stack: StackView, targets: PolicyTargets) -> Iterator[Finding]:
    for account in stack.of(tokens.AZC_STORAGE_ACCOUNT):
        verdict = _classic_verdict(account, targets)
        if verdict is None:
            yield unknown(account, "blobProperties.deleteRetentionPolicy")
        elif isinstance(verdict, str):
            yield violation(account, verdict)
    for account in stack.of(tokens.AZ_STORAGE_ACCOUNT):
        services, undecided = stack.attached(
            [tokens.AZ_BLOB_SERVICE], account, "accountName", _account_name(account)
        )
        verdicts = [_verdict(service, targets) for service in services]
        if any(v is True for v in verdicts):
            continue
        reasons = [v for v in verdicts if isinstance(v, str)]
        if undecided or None in verdicts:
            yield unknown(account, "the account's blob soft delete settings")
        elif reasons:
            yield violation(account, reasons[0])
        else:
            yield violation(account, "no BlobServiceProperties turns on blob soft delete for this account")
