"""What the S3 rules read alike (this module holds no rule): which buckets are replicas, whether a
replication rule really copies to another region, what part of a bucket a replication rule copies, and
what a lifecycle rule deletes.

Every spelling is read: `BucketReplicationConfig` / `BucketLifecycleConfiguration` (pulumi-aws v7), the
deprecated inline blocks of `Bucket` (`replicationConfiguration.rules[]`, `lifecycleRules[]`) and of
`BucketV2` (`replicationConfigurations[].rules[]`, `lifecycleRules[].expirations[]`, lists where v7 has
objects). Helpers return `UNKNOWN` rather than guess, and never raise on malformed props.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from backstop.ground import tokens
from backstop.ground.resources import UNKNOWN, Resource, is_unknown
from backstop.policy.stackview import ReplicationRule, StackView
from backstop.policy.values import MISSING, fmt, get, is_true, items, number


def first(value: Any) -> Any:
    """The first entry of a BucketV2 list-shaped block, or the block itself when it is an object."""
    if isinstance(value, list):
        return value[0] if value else MISSING
    return value


def replica_urns(stack: StackView) -> tuple[set[str], bool]:
    """URNs of the buckets some replication rule of the stack copies into, and whether some rule's
    destination could not be resolved (then any bucket might be a replica)."""
    urns: set[str] = set()
    unresolved = False
    for bucket in stack.of(tokens.S3_BUCKETS):
        rules, undecided = stack.replication_rules(bucket)
        unresolved = unresolved or undecided
        for rule in rules:
            targets = stack.replication_targets(rule, bucket)
            urns.update(target.urn for target in targets)
            unresolved = unresolved or (is_unknown(rule.destination) and not targets)
    return urns, unresolved


class Undecided(str):
    """Why a replication rule's verdict cannot be told (yet)."""


def cross_region_verdict(
    stack: StackView, bucket: Resource, rule: ReplicationRule, default: str
) -> bool | str:
    """True: an enabled copy to another region; a plain string: why not; an `Undecided`: cannot be told."""
    if is_unknown(rule.status):
        return Undecided("the replication rule's status is not known until the resource is created")
    if rule.status != "Enabled":
        return f"replication rule status is {fmt(rule.status)}, not 'Enabled'"
    targets = stack.replication_targets(rule, bucket)
    if not targets:
        if isinstance(rule.destination, str):
            return Undecided(
                f"destination {rule.destination} is not declared in this stack, so its region cannot be "
                "checked (S3 ARNs carry no region)"
            )
        return Undecided("the replication destination is not known until the resource is created")
    source_region = stack.aws_region(bucket, default)
    regions = [stack.aws_region(target, default) for target in targets]
    if is_unknown(source_region) or any(is_unknown(region) for region in regions):
        return Undecided("the region of the bucket or its replica is not known until it is created")
    if all(region != source_region for region in regions):
        return True
    if all(region == source_region for region in regions):
        names = ", ".join(t.name for t in targets)
        return f"replicates to {names} in {fmt(source_region)}, the bucket's own region"
    return Undecided("the replication destination could not be narrowed to one declared bucket")


# --- what one replication rule copies -------------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """The objects a rule applies to: a key prefix ("" = every key) and tags every object must carry.
    Either is `UNKNOWN` while it cannot be read."""

    prefix: Any
    tags: Any  # dict of tag key -> value, or UNKNOWN

    @property
    def known(self) -> bool:
        return not is_unknown(self.prefix) and not is_unknown(self.tags)

    @property
    def whole_bucket(self) -> bool | Any:
        if not self.known:
            return UNKNOWN
        return self.prefix == "" and not self.tags

    def describe(self) -> str:
        parts = []
        if isinstance(self.prefix, str) and self.prefix:
            parts.append(f"under `{self.prefix}`")
        if isinstance(self.tags, dict) and self.tags:
            tags = ", ".join(f"{k}={v}" for k, v in sorted(self.tags.items()))
            parts.append(f"tagged {tags}")
        return "objects " + " and ".join(parts) if parts else "every object"

    def covers(self, other: Scope) -> bool:
        """Does every object in `other` also fall in this scope?"""
        if not (self.known and other.known):
            return False
        tags_covered = all(other.tags.get(k) == v for k, v in self.tags.items())
        return str(other.prefix).startswith(str(self.prefix)) and tags_covered

    def overlaps(self, other: Scope) -> bool:
        """Could one object fall in both scopes? (Unknown scopes are taken to overlap.)"""
        if not (self.known and other.known):
            return True
        a, b = str(self.prefix), str(other.prefix)
        clash = any(k in other.tags and other.tags[k] != v for k, v in self.tags.items())
        return (a.startswith(b) or b.startswith(a)) and not clash


def _tags(value: Any) -> Any:
    if is_unknown(value):
        return UNKNOWN
    if isinstance(value, dict):
        return {str(k): v for k, v in value.items()}
    return {}


def _prefix(value: Any) -> Any:
    if is_unknown(value):
        return UNKNOWN
    return value if isinstance(value, str) else ""


def replication_scope(rule: ReplicationRule) -> Scope:
    """The objects a replication rule applies to, from its `filter` (v7: `prefix`, `tag`, `and`; inline:
    `filter.prefix`/`filter.tags`, BucketV2 `filters[]`) or the V1 schema's rule-level `prefix`."""
    raw = rule.rule
    if is_unknown(raw):
        return Scope(UNKNOWN, UNKNOWN)
    block = get(raw, "filter")
    if block is MISSING:
        block = first(get(raw, "filters"))
    if is_unknown(block):
        return Scope(UNKNOWN, UNKNOWN)
    if block is MISSING:
        return Scope(_prefix(get(raw, "prefix")), {})
    both = get(block, "and")
    if is_unknown(both):
        return Scope(UNKNOWN, UNKNOWN)
    if both is not MISSING:
        return Scope(_prefix(get(both, "prefix")), _tags(get(both, "tags")))
    tag = get(block, "tag")
    if is_unknown(tag):
        return Scope(_prefix(get(block, "prefix")), UNKNOWN)
    tags = _tags(get(block, "tags"))
    if isinstance(tag, dict) and isinstance(tags, dict):
        tags = {**tags, str(get(tag, "key")): get(tag, "value")}
    return Scope(_prefix(get(block, "prefix")), tags)


def rule_name(rule: ReplicationRule) -> str:
    """`media-all`: the rule's id as written, or its position when it has none."""
    rule_id = get(rule.rule, "id") if not is_unknown(rule.rule) else MISSING
    return rule_id if isinstance(rule_id, str) and rule_id else f"#{rule.index + 1} of {rule.owner.name}"


def priority(rule: ReplicationRule) -> Any:
    """The rule's priority (S3 defaults it to 0), `UNKNOWN` while unknown."""
    value = get(rule.rule, "priority") if not is_unknown(rule.rule) else UNKNOWN
    if is_unknown(value):
        return UNKNOWN
    n = number(value)
    return 0.0 if n is None else n


def copies_sse_kms(rule: ReplicationRule) -> bool | Any:
    """Does the rule opt in objects encrypted with SSE-KMS and name a replica key? S3 skips them otherwise.

    v7: `sourceSelectionCriteria.sseKmsEncryptedObjects.status` = `Enabled` and
    `destination.encryptionConfiguration.replicaKmsKeyId`; inline Bucket: `...sseKmsEncryptedObjects.enabled`
    and `destination.replicaKmsKeyId`; BucketV2: the same in lists.
    """
    raw = rule.rule
    if is_unknown(raw):
        return UNKNOWN
    criteria = get(raw, "sourceSelectionCriteria")
    if criteria is MISSING:
        criteria = first(get(raw, "sourceSelectionCriterias"))
    selected = first(get(criteria, "sseKmsEncryptedObjects")) if not is_unknown(criteria) else UNKNOWN
    if is_unknown(selected):
        opted: Any = UNKNOWN
    else:
        status, enabled = get(selected, "status"), get(selected, "enabled")
        opted = (
            UNKNOWN if is_unknown(status) or is_unknown(enabled) else status == "Enabled" or is_true(enabled)
        )
    key = replica_key(rule)
    if opted is False or (not is_unknown(key) and not key):
        return False
    if is_unknown(opted) or is_unknown(key):
        return UNKNOWN
    return True


def replica_key(rule: ReplicationRule) -> Any:
    """The KMS key replicas are encrypted with ("" when none is named)."""
    destination = rule.destination_block
    if is_unknown(destination):
        return UNKNOWN
    for path in ("encryptionConfiguration.replicaKmsKeyId", "replicaKmsKeyId"):
        value = get(destination, path)
        if is_unknown(value):
            # A key ARN computed from another resource is still a key.
            deps = rule.owner.property_dependencies.get(rule.prop, ())
            return "(computed)" if deps else UNKNOWN
        if isinstance(value, str) and value:
            return value
    return ""


# --- lifecycle ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Expiry:
    """One lifecycle rule's deleting actions: `current_days`/`current_date` expire current objects,
    `noncurrent_days` permanently deletes versions that many days after they stop being current."""

    owner: Resource
    name: str
    enabled: Any
    scope: Scope
    current_days: Any
    current_date: Any
    noncurrent_days: Any

    def where(self) -> str:
        return f"lifecycle rule `{self.name}`" + (
            "" if self.scope.whole_bucket is True else f" ({self.scope.describe()})"
        )


def _lifecycle_scope(rule: Any) -> Scope:
    block = get(rule, "filter")
    if is_unknown(block):
        return Scope(UNKNOWN, UNKNOWN)
    if block is MISSING:
        return Scope(_prefix(get(rule, "prefix")), _tags(get(rule, "tags")))
    both = get(block, "and")
    if is_unknown(both):
        return Scope(UNKNOWN, UNKNOWN)
    if both is not MISSING:
        return Scope(_prefix(get(both, "prefix")), _tags(get(both, "tags")))
    tag = get(block, "tag")
    tags: Any = {}
    if is_unknown(tag):
        tags = UNKNOWN
    elif isinstance(tag, dict):
        tags = {str(get(tag, "key")): get(tag, "value")}
    return Scope(_prefix(get(block, "prefix")), tags)


def _days(value: Any) -> Any:
    if is_unknown(value):
        return UNKNOWN
    n = number(value)
    return n if n is not None and n > 0 else MISSING


def lifecycle_expiries(stack: StackView, bucket: Resource) -> tuple[list[Expiry], bool]:
    """Every lifecycle rule of `bucket` that expires something, and whether some could not be read."""
    settings, undecided = stack.bucket_settings(bucket, tokens.S3_LIFECYCLES)
    found: list[Expiry] = []
    blocks: list[tuple[Resource, Any, bool]] = [(s, get(s.props, "rules"), False) for s in settings]
    blocks.append((bucket, get(bucket.props, "lifecycleRules"), True))
    for owner, rules, inline in blocks:
        listed = items(rules)
        if is_unknown(listed):
            undecided = True
            continue
        for index, rule in enumerate(listed):
            if is_unknown(rule):
                undecided = True
                continue
            rule_id = get(rule, "id")
            name = rule_id if isinstance(rule_id, str) and rule_id else f"#{index + 1} of {owner.name}"
            if inline:
                flag = get(rule, "enabled")
                enabled: Any = UNKNOWN if is_unknown(flag) else is_true(flag)
                expiration = first(get(rule, "expiration"))
                if expiration is MISSING:
                    expiration = first(get(rule, "expirations"))
                noncurrent = first(get(rule, "noncurrentVersionExpiration"))
                if noncurrent is MISSING:
                    noncurrent = first(get(rule, "noncurrentVersionExpirations"))
                noncurrent_days = _days(get(noncurrent, "days"))
            else:
                status = get(rule, "status")
                enabled = UNKNOWN if is_unknown(status) else status == "Enabled"
                expiration = get(rule, "expiration")
                noncurrent = get(rule, "noncurrentVersionExpiration")
                noncurrent_days = _days(get(noncurrent, "noncurrentDays"))
            date = get(expiration, "date")
            expiry = Expiry(
                owner,
                name,
                enabled,
                _lifecycle_scope(rule),
                _days(get(expiration, "days")),
                date if is_unknown(date) or (isinstance(date, str) and date) else MISSING,
                noncurrent_days,
            )
            if any(
                v is not MISSING for v in (expiry.current_days, expiry.current_date, expiry.noncurrent_days)
            ):
                found.append(expiry)
    return found, undecided


def object_lock_days(stack: StackView, bucket: Resource) -> Any:
    """The default Object Lock retention of `bucket` in days (0 when none), `UNKNOWN` when unreadable.
    Lifecycle expiration cannot permanently delete a version while it is locked."""
    settings, undecided = stack.bucket_settings(bucket, tokens.S3_OBJECT_LOCKS)
    rules = [get(s.props, "rule") for s in settings]
    inline = get(bucket.props, "objectLockConfiguration")
    if inline is not MISSING:
        rules.append(first(get(inline, "rule")) if not is_unknown(inline) else UNKNOWN)
    best = 0.0
    for rule in rules:
        retention = first(get(rule, "defaultRetention")) if not is_unknown(rule) else UNKNOWN
        days, years = get(retention, "days"), get(retention, "years")
        if is_unknown(retention) or is_unknown(days) or is_unknown(years):
            undecided = True
            continue
        total = (number(days) or 0.0) + 365.0 * (number(years) or 0.0)
        best = max(best, total)
    if best == 0.0 and undecided:
        return UNKNOWN
    return best


def known_numbers(values: Iterable[Any]) -> list[float]:
    return [v for v in values if isinstance(v, float)]


def versioning_enabled(stack: StackView, bucket: Resource) -> bool | Any:
    """Is versioning `Enabled` on `bucket` (a `BucketVersioning`, or the deprecated inline block)?"""
    settings, undecided = stack.bucket_settings(bucket, tokens.S3_VERSIONINGS)
    values = [get(v.props, "versioningConfiguration.status") for v in settings]
    if bucket.type == tokens.S3_BUCKET:
        inline = [get(bucket.props, "versioning.enabled")]
    else:
        blocks = items(get(bucket.props, "versionings"))
        inline = [UNKNOWN] if is_unknown(blocks) else [get(b, "enabled") for b in blocks]
    if any(v == "Enabled" for v in values) or any(is_true(v) for v in inline if not is_unknown(v)):
        return True
    if undecided or any(is_unknown(v) for v in (*values, *inline)):
        return UNKNOWN
    return False
