"""Every S3 bucket has a `BucketPublicAccessBlock` with all four flags on.

Each flag defaults to false when unset, and each closes a different door (new public ACLs, existing public
ACLs, new public policies, cross-account access through a public policy), so all four are required.
"""

from __future__ import annotations

from collections.abc import Iterator

from backstop import seeds, tokens
from backstop.policy.core import Finding, Severity, stack_rule, unknown, violation
from backstop.policy.stackview import StackView
from backstop.policy.targets import PolicyTargets
from backstop.policy.values import get, is_true
from backstop.resources import is_unknown

FLAGS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")


@stack_rule(
    id="s3-public-access-block",
    description=(
        f"{seeds.SEED_WISER}: 'Time-limited signed URLs for file access: no public bucket access'. Every "
        "bucket, the backup exports and their replicas included, blocks public ACLs and policies."
    ),
    severity=Severity.HIGH,
    remediation=(
        "Add aws.s3.BucketPublicAccessBlock(bucket=<bucket>.id, block_public_acls=True, "
        "block_public_policy=True, ignore_public_acls=True, restrict_public_buckets=True)."
    ),
)
def check(stack: StackView, targets: PolicyTargets) -> Iterator[Finding]:
    for bucket in stack.of(tokens.S3_BUCKETS):
        blocks, undecided = stack.bucket_settings(bucket, [tokens.S3_PUBLIC_ACCESS_BLOCK])
        flags = [{flag: get(block.props, flag) for flag in FLAGS} for block in blocks]
        if any(all(is_true(value) for value in block.values()) for block in flags):
            continue
        if undecided or any(is_unknown(value) for block in flags for value in block.values()):
            yield unknown(bucket, "the bucket's public access block")
        elif flags:
            off = [flag for flag, value in flags[0].items() if not is_true(value)]
            yield violation(bucket, f"public access block leaves {', '.join(off)} off (each must be true)")
        else:
            yield violation(bucket, "no BucketPublicAccessBlock blocks public access to this bucket")
