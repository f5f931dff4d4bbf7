"""Every S3 bucket that is not itself a replica copies to a bucket in another region.

A bucket's region is its `region` input (pulumi-aws v7), else its explicit provider's `region`, else the
stack's `aws:region` (`default_aws_region`). While the destination ARN is unknown (first preview) the
destination is the bucket the rule's `rules` property was computed from. A destination bucket that is not
declared in the stack has no region we can read (S3 ARNs carry none), so it is reported as undecided.
"""

from __future__ import annotations

from collections.abc import Iterator

from backstop.ground import seeds, tokens
from backstop.policy.core import Finding, Severity, stack_rule, unknown, violation
from backstop.policy.rules.s3_common import Undecided, cross_region_verdict, replica_urns
from backstop.policy.stackview import StackView
from backstop.policy.targets import PolicyTargets


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
    replicas, replicas_unresolved = replica_urns(stack)
    for bucket in stack.of(tokens.S3_BUCKETS):
        if bucket.urn in replicas:
            continue
        rules, undecided = stack.replication_rules(bucket)
        verdicts = [cross_region_verdict(stack, bucket, rule, targets.default_aws_region) for rule in rules]
        if any(v is True for v in verdicts):
            continue
        pending = [v for v in verdicts if isinstance(v, Undecided)]
        reasons = [v for v in verdicts if isinstance(v, str) and not isinstance(v, Undecided)]
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
