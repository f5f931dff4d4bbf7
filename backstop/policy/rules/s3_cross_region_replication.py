"""Every S3 bucket that is not itself a replica copies to a bucket in another region.

A bucket's region is its `region` input (pulumi-aws v7), else its explicit provider's `region`, else the
stack's `aws:region` (`default_aws_region`). While the destination ARN is unknown (first preview) the
destination is the bucket the rule's `rules` property was computed from. A destination bucket that is not
declared in the stack has no region we can read (S3 ARNs carry none), so it is reported as undecided.
"""

from __future__ import annotations

from collections.abc import Iterator

from backstop import seeds, tokens
from backstop.policy.core import Finding, Severity, stack_rule, unknown, violation
from backstop.policy.stackview import ReplicationRule, StackView
from backstop.policy.targets import PolicyTargets
from backstop.policy.values import fmt
from backstop.resources import Resource, is_unknown


def _destinations(stack: StackView) -> tuple[set[str], bool]:
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


class _Undecided(str):
    """Why a rule's verdict cannot be told (yet)."""


def _verdict(stack: StackView, bucket: Resource, rule: ReplicationRule, default: str) -> bool | str:
    """True: an enabled cross-region copy; a plain string: why not; an `_Undecided`: cannot be told."""
    if is_unknown(rule.status):
        return _Undecided("the replication rule's status is not known until the resource is created")
    if rule.status != "Enabled":
        return f"replication rule status is {fmt(rule.status)}, not 'Enabled'"
    targets = stack.replication_targets(rule, bucket)
    if not targets:
        if isinstance(rule.destination, str):
            return _Undecided(
                f"destination {rule.destination} is not declared in this stack, so its region cannot be "
                "checked (S3 ARNs carry no region)"
            )
        return _Undecided("the replication destination is not known until the resource is created")
    source_region = stack.aws_region(bucket, default)
    regions = [stack.aws_region(target, default) for target in targets]
    if is_unknown(source_region) or any(is_unknown(region) for region in regions):
        return _Undecided("the region of the bucket or its replica is not known until it is created")
    if all(region != source_region for region in regions):
        return True
    if all(region == source_region for region in regions):
        names = ", ".join(t.name for t in targets)
        return f"replicates to {names} in {fmt(source_region)}, the bucket's own region"
    return _Undecided("the replication destination could not be narrowed to one declared bucket")


@stack_rule(
    id="s3-cross-region-replication",
    description=(
        f"{seeds.SEED_BACKUP}, Tier 1: 'Cross-region copy: enabled (us-east-1 → us-west-2)'; the "
        "'Whole-cluster loss (region outage)' and 'Total catastrophic loss' scenarios restore from the copy "
        "region. Every bucket that is not a replica has an Enabled replication rule to another region."
    ),
    severity=Severity.HIGH,
    remediation=(
        "Add a versioned replica bucket with region='us-west-2' and aws.s3.BucketReplicationConfig("
        "bucket=<bucket>.id, role=<role>.arn, rules=[{'status': 'Enabled', 'destination': "
        "{'bucket': <replica>.arn}}])."
    ),
    tunables=("default_aws_region",),
)
def check(stack: StackView, targets: PolicyTargets) -> Iterator[Finding]:
    replicas, replicas_unresolved = _destinations(stack)
    for bucket in stack.of(tokens.S3_BUCKETS):
        if bucket.urn in replicas:
            continue
        rules, undecided = stack.replication_rules(bucket)
        verdicts = [_verdict(stack, bucket, rule, targets.default_aws_region) for rule in rules]
        if any(v is True for v in verdicts):
            continue
        pending = [v for v in verdicts if isinstance(v, _Undecided)]
        reasons = [v for v in verdicts if isinstance(v, str) and not isinstance(v, _Undecided)]
        if pending:
            yield Finding(bucket.urn, pending[0], unknown=True)
        elif undecided:
            yield unknown(bucket, "the bucket's replication configuration")
        elif replicas_unresolved:
            yield unknown(bucket, "whether this bucket is itself a replication destination")
        elif reasons:
            yield violation(bucket, reasons[0])
        else:
            yield violation(bucket, "no BucketReplicationConfig copies this bucket to another region")
