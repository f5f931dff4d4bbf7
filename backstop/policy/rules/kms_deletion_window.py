"""A KMS key scheduled for deletion stays recoverable for the longest window AWS allows.

Deleting the key makes every backup encrypted under it unreadable, so the pending-deletion window is the
last chance to notice and cancel. `deletionWindowInDays` (Key and ReplicaKey) must be 7-30; pulumi-aws
documents that "if you do not specify a value, it defaults to `30`", so an unset window meets any floor.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

from backstop.ground import seeds, tokens
from backstop.ground.resources import Resource, is_unknown
from backstop.policy.core import Finding, Severity, resource_rule, unknown, violation
from backstop.policy.targets import PolicyTargets
from backstop.policy.values import MISSING, fmt, get, number

AWS_DEFAULT_DELETION_WINDOW_DAYS = 30


@resource_rule(
    id="kms-deletion-window",
    types=tokens.KMS_KEYS,
    description=(
        f"{seeds.SEED_BACKUP}, Tier 1: 'AWS KMS-managed keys' protect the backups, and the 'Total "
        "catastrophic loss' scenario restores from them: a key deleted by mistake must stay recoverable "
        "for the full 30-day pending-deletion window."
    ),
    severity=Severity.HIGH,
    remediation=(
        "Set deletion_window_in_days on the key to at least $min_kms_deletion_window_days (KMS allows 7 to "
        "30; unset, AWS uses 30)."
    ),
    tunables=("min_kms_deletion_window_days",),
)
def check(resource: Resource, targets: PolicyTargets) -> Iterator[Finding]:
    value = get(resource.props, "deletionWindowInDays")
    if is_unknown(value):
        yield unknown(resource, "deletionWindowInDays")
        return
    days = AWS_DEFAULT_DELETION_WINDOW_DAYS if value is MISSING else number(value)
    if days is None or not math.isfinite(days):
        yield violation(resource, f"deletionWindowInDays is {fmt(value)}, not a number of days")
    elif days < targets.min_kms_deletion_window_days:
        yield violation(
            resource,
            f"deletionWindowInDays is {fmt(value)}, below the {targets.min_kms_deletion_window_days}-day "
            "minimum",
        )
