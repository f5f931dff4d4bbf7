"""Every customer-managed KMS key rotates its key material automatically.

Only `aws:kms/key:Key` takes `enableKeyRotation` (default false). A `ReplicaKey` has no rotation input:
pulumi-aws documents `keyRotationEnabled` on it as an output only, "a shared property of multi-Region
keys", so a replica rotates exactly when its primary does and checking the primary covers both.
"""

from __future__ import annotations

from collections.abc import Iterator

from backstop.ground import seeds, tokens
from backstop.ground.resources import Resource, is_unknown
from backstop.policy.core import Finding, Severity, resource_rule, unknown, violation
from backstop.policy.targets import PolicyTargets
from backstop.policy.values import MISSING, fmt, get, is_true


@resource_rule(
    id="kms-key-rotation",
    types=[tokens.KMS_KEY],
    description=(
        f"{seeds.SEED_BACKUP}, Tier 1: 'Encryption: AES-256 server-side at rest in S3; AWS KMS-managed "
        "keys'. The customer keys behind Atlas encryption at rest and the backup buckets rotate yearly, "
        "so one exposed key version does not expose every backup."
    ),
    severity=Severity.MEDIUM,
    remediation="Set enable_key_rotation=True on the aws.kms.Key (replica keys follow their primary).",
)
def check(resource: Resource, targets: PolicyTargets) -> Iterator[Finding]:
    value = get(resource.props, "enableKeyRotation")
    if is_unknown(value):
        yield unknown(resource, "enableKeyRotation")
    elif value is MISSING:
        yield violation(resource, "enableKeyRotation is not set, and KMS defaults it to false")
    elif not is_true(value):
        yield violation(resource, f"enableKeyRotation is {fmt(value)}: automatic key rotation is off")
