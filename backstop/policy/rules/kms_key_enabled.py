"""Every KMS key the backups are encrypted under is enabled.

AWS KMS: a key in the `Disabled` state "can't be used in any cryptographic operations", so every backup,
export and replica encrypted under it is unreadable until someone enables it again, while the key looks
declared, rotated and protected. `aws.kms.Key` spells the switch `isEnabled`, `aws.kms.ReplicaKey`
`enabled`; both default to true.
"""

from __future__ import annotations

from collections.abc import Iterator

from backstop.ground import seeds, tokens
from backstop.ground.resources import Resource, is_unknown
from backstop.policy.core import Finding, Severity, resource_rule, unknown, violation
from backstop.policy.targets import PolicyTargets
from backstop.policy.values import MISSING, fmt, get, is_true


def enabled_key(resource: Resource) -> str:
    return "isEnabled" if resource.type == tokens.KMS_KEY else "enabled"


@resource_rule(
    id="kms-key-enabled",
    types=tokens.KMS_KEYS,
    description=(
        f"{seeds.SEED_BACKUP}, Tier 1: 'Encryption: AES-256 server-side at rest in S3; AWS KMS-managed "
        "keys': a backup is restorable only while its key can decrypt, and a disabled key cannot."
    ),
    severity=Severity.CRITICAL,
    remediation="Remove is_enabled=False from the aws.kms.Key (enabled=False from the aws.kms.ReplicaKey).",
)
def check(resource: Resource, targets: PolicyTargets) -> Iterator[Finding]:
    key = enabled_key(resource)
    value = get(resource.props, key)
    if is_unknown(value):
        yield unknown(resource, key)
    elif value is not MISSING and not is_true(value):
        yield violation(
            resource,
            f"{key} is {fmt(value)}: a disabled key cannot decrypt anything, so every backup encrypted under "
            "it is unreadable",
        )
