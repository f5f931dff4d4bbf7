"""Blob soft delete comes with what makes it a recovery: container soft delete, versioning, and a
point-in-time restore window that the soft-delete window can serve.

Blob soft delete "protects an individual blob, snapshot, or version": a deleted container takes its blobs
with it unless container soft delete (`containerDeleteRetentionPolicy`) is on, and Microsoft's recommended
configuration pairs both with blob versioning (`isVersioningEnabled`). Point-in-time restore
(`restorePolicy`) needs versioning and the change feed, and "the retention period for point-in-time restore
must be at least one day less than that set for soft delete". Classic pulumi-azure holds the same settings
inline in `blobProperties` (`containerDeleteRetentionPolicy.days`, `versioningEnabled`, `changeFeedEnabled`,
`restorePolicy.days`; a retention block present means on, its `days` "Defaults to `7`").
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

from backstop.ground import seeds, tokens
from backstop.ground.resources import UNKNOWN, Resource, is_unknown
from backstop.policy.core import Finding, Severity, stack_rule, unknown, violation
from backstop.policy.stackview import StackView
from backstop.policy.targets import PolicyTargets
from backstop.policy.values import MISSING, fmt, get, is_true, number

CLASSIC_DEFAULT_RETENTION_DAYS = 7.0


class _Settings:
    """One account's data-protection settings, read from either SDK's spelling.

    Each retention is days (float), 0 when off, `UNKNOWN` when not known; flags are True/False/`UNKNOWN`."""

    def __init__(self, blob_days: Any, container_days: Any, versioning: Any, change_feed: Any, restore: Any):
        self.blob_days, self.container_days = blob_days, container_days
        self.versioning, self.change_feed, self.restore_days = versioning, change_feed, restore


def _native_days(block: Any) -> Any:
    enabled, days = get(block, "enabled"), get(block, "days")
    if is_unknown(enabled) or is_unknown(block):
        return UNKNOWN
    if not is_true(enabled):
        return 0.0
    if is_unknown(days):
        return UNKNOWN
    value = number(days)
    return value if value is not None and math.isfinite(value) else 0.0


def _classic_days(block: Any) -> Any:
    if is_unknown(block):
        return UNKNOWN
    if not isinstance(block, dict):
        return 0.0
    days = get(block, "days")
    if is_unknown(days):
        return UNKNOWN
    value = CLASSIC_DEFAULT_RETENTION_DAYS if days is MISSING else number(days)
    return value if value is not None and math.isfinite(value) else 0.0


def _flag(value: Any) -> Any:
    return value if is_unknown(value) else is_true(value)


def _native(service: Resource) -> _Settings:
    props = service.props
    return _Settings(
        _native_days(get(props, "deleteRetentionPolicy")),
        _native_days(get(props, "containerDeleteRetentionPolicy")),
        _flag(get(props, "isVersioningEnabled")),
        _flag(get(props, "changeFeed.enabled")),
        _native_days(get(props, "restorePolicy")),
    )


def _classic(account: Resource) -> _Settings:
    blob = get(account.props, "blobProperties")
    if is_unknown(blob):
        return _Settings(UNKNOWN, UNKNOWN, UNKNOWN, UNKNOWN, UNKNOWN)
    restore = get(blob, "restorePolicy")
    return _Settings(
        _classic_days(get(blob, "deleteRetentionPolicy")),
        _classic_days(get(blob, "containerDeleteRetentionPolicy")),
        _flag(get(blob, "versioningEnabled")),
        _flag(get(blob, "changeFeedEnabled")),
        # A classic restore policy's days are required; the block present means on.
        UNKNOWN
        if is_unknown(restore)
        else (number(get(restore, "days")) or 0.0)
        if isinstance(restore, dict)
        else 0.0,
    )


def _problems(
    settings: _Settings, targets: PolicyTargets, spelling: dict[str, str]
) -> tuple[list[str], bool]:
    problems: list[str] = []
    pending = False
    floor = targets.min_blob_soft_delete_days
    container = settings.container_days
    if is_unknown(container):
        pending = True
    elif container < floor:
        state = "off" if container == 0 else f"{fmt(container)} days"
        problems.append(
            f"container soft delete ({spelling['container']}) is {state}: deleting a container deletes its "
            f"blobs for good, which blob soft delete does not cover (at least {fmt(floor)} days needed)"
        )
    if is_unknown(settings.versioning):
        pending = True
    elif not settings.versioning:
        problems.append(
            f"blob versioning ({spelling['versioning']}) is off: an overwritten blob keeps no earlier version"
        )
    restore, blob = settings.restore_days, settings.blob_days
    if is_unknown(restore) or is_unknown(blob):
        pending = True
    elif restore > 0:
        if restore >= blob:
            problems.append(
                f"point-in-time restore keeps {fmt(restore)} days but blob soft delete only {fmt(blob)}: the "
                "restore window must be at least one day shorter than the soft-delete window"
            )
        if is_unknown(settings.change_feed):
            pending = True
        elif not settings.change_feed:
            problems.append(
                f"point-in-time restore needs the change feed ({spelling['change_feed']}), which is off"
            )
    return problems, pending


NATIVE = {
    "container": "containerDeleteRetentionPolicy",
    "versioning": "isVersioningEnabled",
    "change_feed": "changeFeed.enabled",
}
CLASSIC = {
    "container": "blobProperties.containerDeleteRetentionPolicy",
    "versioning": "blobProperties.versioningEnabled",
    "change_feed": "blobProperties.changeFeedEnabled",
}


@stack_rule(
    id="azure-blob-recovery-scope",
    description=(
        f"{seeds.SEED_WISER}: review photos and videos must survive 'Data corruption or accidental "
        "deletion' (RPO 1 hour for other systems). Beside blob soft delete, a deleted container, an "
        "overwritten blob and a point-in-time restore are recoverable too."
    ),
    severity=Severity.HIGH,
    remediation=(
        "On the BlobServiceProperties set container_delete_retention_policy={'enabled': True, 'days': "
        "<$min_blob_soft_delete_days or more>}, "
        "is_versioning_enabled=True, change_feed={'enabled': True} and restore_policy days below the "
        "soft-delete days (classic: blob_properties container_delete_retention_policy, versioning_enabled, "
        "change_feed_enabled, restore_policy)."
    ),
    tunables=("min_blob_soft_delete_days",),
)
def check(stack: StackView, targets: PolicyTargets) -> Iterator[Finding]:
    for account in stack.of(tokens.AZC_STORAGE_ACCOUNT):
        problems, pending = _problems(_classic(account), targets, CLASSIC)
        if problems:
            yield violation(account, "; ".join(problems))
        elif pending:
            yield unknown(account, "the account's container soft delete, versioning and restore settings")
    for account in stack.of(tokens.AZ_STORAGE_ACCOUNT):
        services, undecided = stack.storage_account_settings(account, [tokens.AZ_BLOB_SERVICE])
        if not services:
            if undecided:
                yield unknown(account, "the account's BlobServiceProperties")
            continue  # azure-blob-soft-delete reports an account without blob service settings
        verdicts = [_problems(_native(service), targets, NATIVE) for service in services]
        if any(not problems and not pending for problems, pending in verdicts):
            continue
        found = [p for problems, _ in verdicts for p in problems]
        if found:
            yield violation(account, "; ".join(dict.fromkeys(found)))
        else:
            yield unknown(account, "the account's container soft delete, versioning and restore settings")
