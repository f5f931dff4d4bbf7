"""Every S3 bucket encrypts by default with SSE-KMS under a customer-managed key.

Read from a `BucketServerSideEncryptionConfiguration` (or deprecated `…V2`):
`rules[].applyServerSideEncryptionByDefault.{sseAlgorithm,kmsMasterKeyId}`, or from the deprecated inline
block: `serverSideEncryptionConfiguration.rule.applyServerSideEncryptionByDefault` on Bucket,
`serverSideEncryptionConfigurations[].rules[].applyServerSideEncryptionByDefaults[]` on BucketV2.
`aws:kms` without a `kmsMasterKeyId` means the AWS managed key `aws/s3`, which the account cannot rotate,
restrict or audit as its own, so it does not meet "AWS KMS-managed keys" held by the customer.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from backstop.ground import seeds, tokens
from backstop.ground.resources import Resource, is_unknown
from backstop.policy.core import Finding, Severity, stack_rule, unknown, violation
from backstop.policy.stackview import StackView
from backstop.policy.targets import PolicyTargets
from backstop.policy.values import MISSING, fmt, get, items

KMS_ALGORITHMS = frozenset({"aws:kms", "aws:kms:dsse"})
AWS_MANAGED_S3_KEY = "alias/aws/s3"


@dataclass(frozen=True)
class _Default:
    """One default-encryption setting, with the resource and top-level property that declare it."""

    owner: Resource
    prop: str
    algorithm: Any
    key: Any


def _defaults(stack: StackView, bucket: Resource) -> tuple[list[_Default], bool]:
    settings, undecided = stack.bucket_settings(bucket, tokens.S3_SSES)
    found: list[_Default] = []

    def add(owner: Resource, prop: str, block: Any) -> None:
        found.append(_Default(owner, prop, get(block, "sseAlgorithm"), get(block, "kmsMasterKeyId")))

    def each(value: Any) -> list[Any]:
        nonlocal undecided
        listed = items(value)
        if is_unknown(listed):
            undecided = True
            return []
        return listed

    for setting in settings:
        for rule in each(get(setting.props, "rules")):
            add(setting, "rules", get(rule, "applyServerSideEncryptionByDefault"))
    if bucket.type == tokens.S3_BUCKET:
        block = get(bucket.props, "serverSideEncryptionConfiguration.rule.applyServerSideEncryptionByDefault")
        if is_unknown(block):
            undecided = True
        elif block is not MISSING:
            add(bucket, "serverSideEncryptionConfiguration", block)
    else:
        for config in each(get(bucket.props, "serverSideEncryptionConfigurations")):
            for rule in each(get(config, "rules")):
                for block in each(get(rule, "applyServerSideEncryptionByDefaults")):
                    add(bucket, "serverSideEncryptionConfigurations", block)
    return found, undecided


def _verdict(stack: StackView, default: _Default) -> bool | str | None:
    """True: compliant; a string: why not; None: cannot be told yet."""
    algorithm, key = default.algorithm, default.key
    if is_unknown(algorithm):
        return None
    if not (isinstance(algorithm, str) and algorithm in KMS_ALGORITHMS):
        return f"default encryption is {fmt(algorithm)}, not aws:kms with a customer-managed KMS key"
    if is_unknown(key):
        # A key ARN computed from a KMS key of this stack is a customer key; anything else cannot be told.
        sources = default.owner.property_dependencies.get(default.prop, ())
        return True if stack.urns_of(tokens.KMS_KEYS).intersection(sources) else None
    if not isinstance(key, str) or not key:
        return f"{fmt(algorithm)} without kmsMasterKeyId uses the AWS managed key aws/s3, not a customer key"
    if key == AWS_MANAGED_S3_KEY or key.endswith(":" + AWS_MANAGED_S3_KEY):
        return f"kmsMasterKeyId is the AWS managed key {AWS_MANAGED_S3_KEY}, not a customer-managed key"
    return True


@stack_rule(
    id="s3-encryption-kms",
    description=(
        f"{seeds.SEED_BACKUP}, Tier 1: 'Encryption: AES-256 server-side at rest in S3; AWS KMS-managed "
        f"keys'; {seeds.SEED_WISER}: 'Server-side AES-256 encryption at rest'. Every bucket's default "
        "encryption is SSE-KMS (aws:kms or aws:kms:dsse) with a customer-managed key."
    ),
    severity=Severity.HIGH,
    remediation=(
        "Add aws.s3.BucketServerSideEncryptionConfiguration(bucket=<bucket>.id, rules=[{"
        "'apply_server_side_encryption_by_default': {'sse_algorithm': 'aws:kms', "
        "'kms_master_key_id': <key>.arn}, 'bucket_key_enabled': True}])."
    ),
)
def check(stack: StackView, targets: PolicyTargets) -> Iterator[Finding]:
    for bucket in stack.of(tokens.S3_BUCKETS):
        defaults, undecided = _defaults(stack, bucket)
        verdicts = [_verdict(stack, d) for d in defaults]
        if any(v is True for v in verdicts):
            continue
        reasons = [v for v in verdicts if isinstance(v, str)]
        if undecided or None in verdicts:
            yield unknown(bucket, "the bucket's default encryption (algorithm and KMS key)")
        elif reasons:
            yield violation(bucket, reasons[0])
        else:
            yield violation(bucket, "no BucketServerSideEncryptionConfiguration sets SSE-KMS on this bucket")
