"""Every S3 bucket is versioned, through a `BucketVersioning` (or deprecated `BucketVersioningV2`)."""

from __future__ import annotations

from collections.abc import Iterator

from backstop import seeds, tokens
from backstop.policy.core import Finding, Severity, stack_rule, unknown, violation
from backstop.policy.stackview import StackView
from backstop.policy.targets import PolicyTargets
from backstop.policy.values import fmt, get
from backstop.resources import is_unknown


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
        if any(status == "Enabled" for status in statuses):
            continue
        if any(is_unknown(status) for status in statuses) or (undecided and not settings):
            yield unknown(bucket, "the bucket's versioning status")
        elif settings:
            yield violation(bucket, f"versioning status is {fmt(statuses[0])}, not 'Enabled'")
        else:
            yield violation(bucket, "no BucketVersioning resource enables versioning on this bucket")
