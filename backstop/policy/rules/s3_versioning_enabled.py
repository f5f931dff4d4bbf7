"""Every S3 bucket is versioned, through a `BucketVersioning` (or deprecated `BucketVersioningV2`).

The deprecated inline block is accepted too (`versioning.enabled` on Bucket, `versionings[].enabled` on
BucketV2), since programs that still use it do get a versioned bucket.
"""

from __future__ import annotations

from collections.abc import Iterator

from backstop.ground import seeds, tokens
from backstop.ground.resources import Resource, is_unknown
from backstop.policy.core import Finding, Severity, stack_rule, unknown, violation
from backstop.policy.stackview import StackView
from backstop.policy.targets import PolicyTargets
from backstop.policy.values import MISSING, fmt, get, is_true, items


def _inline_versioning(bucket: Resource) -> list[object]:
    """The `enabled` flags of the deprecated inline versioning block (absent flags are left out)."""
    if bucket.type == tokens.S3_BUCKET:
        flags = [get(bucket.props, "versioning.enabled")]
    else:
        blocks = items(get(bucket.props, "versionings"))
        if is_unknown(blocks):
            return [blocks]
        flags = [get(block, "enabled") for block in blocks]
    return [flag for flag in flags if flag is not MISSING]


@stack_rule(
    id="s3-versioning-enabled",
    description=(
        f"{seeds.SEED_WISER}: S3 file storage must survive overwrite and deletion (RPO 1 hour for other "
        f"systems); {seeds.SEED_BACKUP}: exports are the offsite copy for total loss. Versioning is what "
        "makes an overwritten or deleted object recoverable, and replication requires it."
    ),
    severity=Severity.HIGH,
    remediation=(
        "Add aws.s3.BucketVersioning(bucket=<bucket>.id, versioning_configuration={'status': 'Enabled'})."
    ),
)
def check(stack: StackView, targets: PolicyTargets) -> Iterator[Finding]:
    for bucket in stack.of(tokens.S3_BUCKETS):
        settings, undecided = stack.bucket_settings(bucket, tokens.S3_VERSIONINGS)
        statuses = [get(v.props, "versioningConfiguration.status") for v in settings]
        inline = _inline_versioning(bucket)
        if any(status == "Enabled" for status in statuses) or any(is_true(flag) for flag in inline):
            continue
        if undecided or any(is_unknown(value) for value in (*statuses, *inline)):
            # An unresolved versioning resource may be the one that enables it.
            yield unknown(bucket, "the bucket's versioning status")
        elif settings:
            yield violation(bucket, f"versioning status is {fmt(statuses[0])}, not 'Enabled'")
        else:
            yield violation(bucket, "no BucketVersioning resource enables versioning on this bucket")
