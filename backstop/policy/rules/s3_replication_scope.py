"""A bucket's cross-region replication copies the whole bucket, SSE-KMS objects included, into a
versioned replica.

An `Enabled` rule to another region can still copy almost nothing. S3 replicates only the objects a
rule's `filter` (or V1 `prefix`) selects; it skips objects encrypted with SSE-KMS unless the rule sets
`sourceSelectionCriteria.sseKmsEncryptedObjects` and names a replica KMS key; when several rules send the
same object to the same destination, only the highest-priority rule applies; and S3 replicates only into
a bucket with versioning enabled. `s3-cross-region-replication` says whether a copy exists at all; this
rule says whether it is a copy of everything.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from backstop.ground import seeds, tokens
from backstop.ground.resources import Resource, is_unknown
from backstop.policy.core import Finding, Severity, stack_rule, unknown, violation
from backstop.policy.rules.s3_common import (
    copies_sse_kms,
    cross_region_verdict,
    priority,
    replica_urns,
    replication_scope,
    rule_name,
    versioning_enabled,
)
from backstop.policy.stackview import ReplicationRule, StackView
from backstop.policy.targets import PolicyTargets
from backstop.policy.values import fmt


def sse_kms_setting(rule: ReplicationRule) -> str:
    """The settings that opt SSE-KMS objects in, as the rule's own resource spells them."""
    if rule.prop == "rules":
        return (
            "sourceSelectionCriteria.sseKmsEncryptedObjects.status to Enabled and "
            "destination.encryptionConfiguration.replicaKmsKeyId"
        )
    return "sourceSelectionCriteria.sseKmsEncryptedObjects.enabled and destination.replicaKmsKeyId"


def _outranked(
    rules: list[ReplicationRule], full: ReplicationRule, stack: StackView, source: Resource
) -> list[str]:
    """Enabled rules that outrank `full` for part of the bucket on the same destination and leave SSE-KMS
    objects behind there (S3 applies only the highest-priority rule to an object per destination)."""
    targets = _destination_key(stack, full, source)
    found = []
    for other in rules:
        if other is full or other.status != "Enabled":
            continue
        if _destination_key(stack, other, source) != targets:
            continue
        mine, theirs = priority(full), priority(other)
        if not isinstance(mine, float) or not isinstance(theirs, float) or theirs <= mine:
            continue
        if copies_sse_kms(other) is False:
            scope = replication_scope(other)
            found.append(
                f"rule `{rule_name(other)}` (priority {fmt(theirs)}) outranks `{rule_name(full)}` "
                f"(priority {fmt(mine)}) for {scope.describe()} and does not replicate objects encrypted "
                f"with SSE-KMS: set {sse_kms_setting(other)}"
            )
    return found


@dataclass(frozen=True)
class Coverage:
    """What a bucket's replication really copies: the rules that copy all of it (every key, SSE-KMS
    objects included, not outranked, into versioned replicas in another region), why the others fall
    short, and whether some of that cannot be told yet. Scope is judged on every Enabled rule whatever
    its destination's region: a prefix copies part of the bucket to any region, and the region is
    `s3-cross-region-replication`'s verdict."""

    complete: list[ReplicationRule]
    problems: list[str]
    pending: bool
    copies: bool  # some Enabled rule copies at least part of the bucket to another region
    undeclared: list[str] = field(default_factory=list)  # replicas this stack does not declare


def _destination_key(stack: StackView, rule: ReplicationRule, source: Resource) -> frozenset[str]:
    """What S3 calls one destination: the declared replica(s), else the ARN as written."""
    urns = frozenset(t.urn for t in stack.replication_targets(rule, source))
    if urns or not isinstance(rule.destination, str):
        return urns
    return frozenset({rule.destination})


def coverage(stack: StackView, bucket: Resource, default_region: str) -> Coverage:
    rules, pending = stack.replication_rules(bucket)
    active: list[ReplicationRule] = []
    for rule in rules:
        if is_unknown(rule.status):
            pending = True
        elif rule.status == "Enabled":
            active.append(rule)
    copies = any(cross_region_verdict(stack, bucket, r, default_region) is True for r in active)
    if not active:
        return Coverage([], [], pending, copies)
    problems: list[str] = []
    undeclared: list[str] = []
    unchecked: set[int] = set()  # positions whose replicas are unversioned or cannot be checked
    for position, rule in enumerate(active):
        replicas = stack.replication_targets(rule, bucket)
        if not replicas:
            pending = True
            unchecked.add(position)
            if isinstance(rule.destination, str):
                undeclared.append(rule.destination)
        for replica in replicas:
            versioned = versioning_enabled(stack, replica)
            if is_unknown(versioned):
                pending = True
                unchecked.add(position)  # not counted as a full copy until its versioning is known
            elif not versioned:
                unchecked.add(position)
                problems.append(
                    f"rule `{rule_name(rule)}` replicates into {replica.name}, which is not versioned: S3 "
                    "replicates only into a bucket with versioning enabled"
                )
    whole = [r for r in active if replication_scope(r).whole_bucket is True]
    if not whole:
        if any(is_unknown(replication_scope(r).whole_bucket) for r in active):
            pending = True
        else:
            for rule in active:
                problems.append(
                    f"rule `{rule_name(rule)}` replicates only {replication_scope(rule).describe()}: "
                    "the rest of the bucket has no copy in another region"
                )
    with_kms = [r for r in whole if copies_sse_kms(r) is True]
    if whole and not with_kms:
        if any(is_unknown(copies_sse_kms(r)) for r in whole):
            pending = True
        else:
            rule = whole[0]
            problems.append(
                f"objects encrypted with SSE-KMS are not replicated by rule `{rule_name(rule)}`: set "
                f"{sse_kms_setting(rule)}"
            )
    complete: list[ReplicationRule] = []
    full_scope = False
    outranked_by: list[str] = []
    for rule in with_kms:
        if any(rule is active[i] for i in unchecked):
            continue
        outranked = _outranked(rules, rule, stack, bucket)
        if outranked:
            outranked_by.extend(outranked)
            continue
        full_scope = True
        if cross_region_verdict(stack, bucket, rule, default_region) is True:
            complete.append(rule)
    if with_kms and not full_scope and outranked_by:
        problems.extend(dict.fromkeys(outranked_by))
    if full_scope:
        problems = []
    pending = pending or any(is_unknown(priority(r)) for r in rules)
    return Coverage(complete, problems, pending and not full_scope, copies, undeclared)


def _bucket_findings(stack: StackView, bucket: Resource, targets: PolicyTargets) -> Iterator[Finding]:
    found = coverage(stack, bucket, targets.default_aws_region)
    if found.complete:
        return
    if found.problems:
        yield violation(bucket, "; ".join(found.problems))
    elif found.undeclared:
        names = ", ".join(dict.fromkeys(found.undeclared))
        yield Finding(
            bucket.urn,
            f"replica {names} is not declared in this stack, so whether it is versioned (S3 replicates "
            "only into a versioned bucket) and what it receives cannot be checked",
            unknown=True,
        )
    elif found.pending:
        yield unknown(
            bucket, "what the bucket's replication rules copy (filter, SSE-KMS, replica versioning)"
        )
    # A full-scope copy into the bucket's own region, or no Enabled rule at all, is
    # s3-cross-region-replication's finding.


@stack_rule(
    id="s3-replication-scope",
    description=(
        f"{seeds.SEED_BACKUP}, Tier 1: 'Cross-region copy: enabled (us-east-1 → us-west-2)' and "
        f"{seeds.SEED_WISER}'s 1-hour RPO for file storage hold only for objects the copy really receives: "
        "the replication must cover the whole bucket, SSE-KMS objects (the 'AWS KMS-managed keys') "
        "included, without a higher-priority rule narrowing it, into a versioned replica."
    ),
    severity=Severity.HIGH,
    remediation=(
        "Give one Enabled rule filter={'prefix': ''}, source_selection_criteria="
        "{'sse_kms_encrypted_objects': "
        "{'status': 'Enabled'}} and destination.encryption_configuration.replica_kms_key_id=<replica key>; "
        "drop higher-priority rules to the same destination that narrow it; version the replica bucket."
    ),
    tunables=("default_aws_region",),
)
def check(stack: StackView, targets: PolicyTargets) -> Iterator[Finding]:
    replicas, _ = replica_urns(stack)
    for bucket in stack.of(tokens.S3_BUCKETS):
        if bucket.urn not in replicas:
            yield from _bucket_findings(stack, bucket, targets)
