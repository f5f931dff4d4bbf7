"""S3 lifecycle rules do not delete what the backups need: exports are kept for the seeds' retention
window, replicated file storage never expires, and a replica keeps what it receives as long as its source.

On a versioned bucket `expiration` hides the current object behind a delete marker and
`noncurrentVersionExpiration` deletes a version for good that many days after it stopped being current;
neither can delete a version while Object Lock retains it. So, on the Atlas export bucket and its replica,
a current expiration shorter than the window hides exports the restore needs, and a noncurrent expiration
shorter than the window (with no lock that long) deletes an export soon after someone deletes it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from backstop.ground import seeds, tokens
from backstop.ground.resources import Resource, is_unknown
from backstop.policy.core import Finding, Severity, stack_rule, unknown, violation
from backstop.policy.rules.s3_common import Expiry, cross_region_verdict, lifecycle_expiries, object_lock_days
from backstop.policy.stackview import StackView
from backstop.policy.targets import PolicyTargets
from backstop.policy.values import MISSING, fmt


def _active(expiries: list[Expiry]) -> tuple[list[Expiry], bool]:
    return [e for e in expiries if e.enabled is True], any(is_unknown(e.enabled) for e in expiries)


def _export_problems(expiries: list[Expiry], lock: Any, floor: float) -> tuple[list[str], bool]:
    problems: list[str] = []
    pending = False
    for e in expiries:
        if is_unknown(e.current_days) or is_unknown(e.current_date):
            pending = True
        elif isinstance(e.current_days, float) and e.current_days < floor:
            problems.append(
                f"{e.where()} expires current exports after {fmt(e.current_days)} days, within the "
                f"{fmt(floor)}-day window the seeds keep backups for"
            )
        elif e.current_date is not MISSING:
            problems.append(f"{e.where()} expires every current export on {e.current_date}")
        if is_unknown(e.noncurrent_days):
            pending = True
        elif isinstance(e.noncurrent_days, float) and e.noncurrent_days < floor:
            if is_unknown(lock):
                pending = True
            elif lock < floor:
                held = (
                    f"Object Lock holds versions only {fmt(lock)} days"
                    if lock
                    else "no Object Lock holds them"
                )
                problems.append(
                    f"{e.where()} deletes an export for good {fmt(e.noncurrent_days)} days after it is "
                    f"deleted or overwritten, and {held}: less than the {fmt(floor)}-day window"
                )
    return problems, pending


def _kept_days(expiries: list[Expiry]) -> Any:
    """How long the shortest whole-bucket-or-not noncurrent expiration keeps versions (None: forever)."""
    values = [e.noncurrent_days for e in expiries if e.noncurrent_days is not MISSING]
    if any(is_unknown(v) for v in values):
        return MISSING
    return min(values) if values else None


def _replicated(
    stack: StackView, targets: PolicyTargets
) -> tuple[dict[str, Resource], dict[str, list[Resource]]]:
    """Buckets that copy to another region, and for each replica the sources that copy into it."""
    sources: dict[str, Resource] = {}
    feeding: dict[str, list[Resource]] = {}
    for bucket in stack.of(tokens.S3_BUCKETS):
        rules, _ = stack.replication_rules(bucket)
        for rule in rules:
            if cross_region_verdict(stack, bucket, rule, targets.default_aws_region) is not True:
                continue
            sources[bucket.urn] = bucket
            for replica in stack.replication_targets(rule, bucket):
                feeding.setdefault(replica.urn, []).append(bucket)
    return sources, feeding


@stack_rule(
    id="s3-lifecycle-retention",
    description=(
        f"{seeds.SEED_BACKUP}, Tier 1: 'Retention: 7 daily · 4 weekly · 12 monthly = ~13 month rolling "
        "window' and 'Total catastrophic loss … Cross-region copy + offsite weekly export'; "
        f"{seeds.SEED_WISER}: review photos and videos are customer data with a 1-hour RPO. Lifecycle "
        "expiration must not delete exports within the window, expire replicated file storage, or make a "
        "replica delete what it receives sooner than its source."
    ),
    severity=Severity.HIGH,
    remediation=(
        "On the export bucket and its replica keep expiration.days and noncurrent_version_expiration."
        "noncurrent_days at $min_export_retention_days days or more (or an Object Lock default retention "
        "that long); remove expiration "
        "of current objects from replicated buckets; give a replica the same noncurrent_days as its source."
    ),
    tunables=("min_export_retention_days", "default_aws_region"),
)
def check(stack: StackView, targets: PolicyTargets) -> Iterator[Finding]:
    floor = targets.min_export_retention_days
    exports = {b.urn for b in stack.export_buckets()}
    sources, feeding = _replicated(stack, targets)
    for bucket in stack.of(tokens.S3_BUCKETS):
        is_export = bucket.urn in exports
        if not (is_export or bucket.urn in sources or bucket.urn in feeding):
            continue
        expiries, undecided = lifecycle_expiries(stack, bucket)
        active, pending = _active(expiries)
        pending = pending or undecided
        problems: list[str] = []
        if is_export:
            found, unsure = _export_problems(active, object_lock_days(stack, bucket), floor)
            problems += found
            pending = pending or unsure
        else:
            for e in active:
                if is_unknown(e.current_days) or is_unknown(e.current_date):
                    pending = True
                elif e.current_days is not MISSING or e.current_date is not MISSING:
                    when = (
                        f"after {fmt(e.current_days)} days"
                        if e.current_days is not MISSING
                        else f"on {e.current_date}"
                    )
                    problems.append(
                        f"{e.where()} expires current objects {when}: nothing in the seeds or the stack "
                        "config asks file storage to expire"
                    )
        # An export replica is held to the window above; a file-storage replica to what its source keeps.
        for source in [] if is_export else feeding.get(bucket.urn, []):
            mine = _kept_days(active)
            theirs = _kept_days(_active(lifecycle_expiries(stack, source)[0])[0])
            if mine is MISSING or theirs is MISSING:
                pending = True
            elif mine is not None and (theirs is None or mine < theirs):
                kept = "forever" if theirs is None else f"{fmt(theirs)} days"
                problems.append(
                    f"the replica deletes noncurrent versions after {fmt(mine)} days while its source "
                    f"{source.name} keeps them {kept}: the replica loses what it received"
                )
        if problems:
            yield violation(bucket, "; ".join(problems))
        elif pending:
            yield unknown(bucket, "the bucket's lifecycle expiration")
