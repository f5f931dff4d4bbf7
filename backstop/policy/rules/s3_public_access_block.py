"""Every S3 bucket is blocked from public access, by its own `BucketPublicAccessBlock` or by the
account's `AccountPublicAccessBlock`, with all four flags on.

Each flag defaults to false when unset, and each closes a different door (new public ACLs, existing public
ACLs, new public policies, cross-account access through a public policy), so all four are required. S3
applies the most restrictive combination of the bucket-level and account-level settings ("Bucket-level
Block Public Access settings work alongside organization and account-level policies"), so one account-level
block with all four flags on covers every bucket of the account, flag by flag.
"""

from __future__ import annotations

from collections.abc import Iterator

from backstop.ground import seeds, tokens
from backstop.ground.resources import is_unknown
from backstop.policy.core import Finding, Severity, stack_rule, unknown, violation
from backstop.policy.stackview import StackView
from backstop.policy.targets import PolicyTargets
from backstop.policy.values import get, is_true

FLAGS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")


def _account_flags(stack: StackView) -> dict[str, object]:
    """Per flag: True when an account-level block sets it, UNKNOWN when one might, else False.

    An `accountId` other than the stack's own account cannot be told from here; every account-level block
    declared in the stack is taken to be the account the stack's buckets live in (its default).
    """
    result: dict[str, object] = {flag: False for flag in FLAGS}
    for block in stack.of(tokens.S3_ACCOUNT_PUBLIC_ACCESS_BLOCK):
        for flag in FLAGS:
            value = get(block.props, flag)
            if is_true(value):
                result[flag] = True
            elif is_unknown(value) and result[flag] is False:
                result[flag] = value
    return result


@stack_rule(
    id="s3-public-access-block",
    description=(
        f"{seeds.SEED_WISER}: 'Time-limited signed URLs for file access: no public bucket access'. Every "
        "bucket, the backup exports and their replicas included, blocks public ACLs and policies, through "
        "its own public access block or the account's."
    ),
    severity=Severity.HIGH,
    remediation=(
        "Add aws.s3.BucketPublicAccessBlock(bucket=<bucket>.id, block_public_acls=True, "
        "block_public_policy=True, ignore_public_acls=True, restrict_public_buckets=True), or one "
        "aws.s3.AccountPublicAccessBlock with the same four flags."
    ),
)
def check(stack: StackView, targets: PolicyTargets) -> Iterator[Finding]:
    account = _account_flags(stack)
    for bucket in stack.of(tokens.S3_BUCKETS):
        blocks, undecided = stack.bucket_settings(bucket, [tokens.S3_PUBLIC_ACCESS_BLOCK])
        flags = [{flag: get(block.props, flag) for flag in FLAGS} for block in blocks]
        # A flag is on when the bucket's block or the account's block sets it.
        merged = [
            {flag: True if account[flag] is True else value for flag, value in block.items()}
            for block in flags
        ] or [dict(account)]
        if any(all(is_true(value) for value in block.values()) for block in merged):
            continue
        if undecided or any(is_unknown(value) for block in merged for value in block.values()):
            yield unknown(bucket, "the bucket's public access block")
        elif flags:
            off = [flag for flag, value in merged[0].items() if not is_true(value)]
            yield violation(bucket, f"public access block leaves {', '.join(off)} off (each must be true)")
        elif any(account.values()):
            off = [flag for flag, value in account.items() if not is_true(value)]
            yield violation(
                bucket,
                f"the account's public access block leaves {', '.join(off)} off and the bucket has none",
            )
        else:
            yield violation(
                bucket, "no BucketPublicAccessBlock or AccountPublicAccessBlock blocks public access"
            )
