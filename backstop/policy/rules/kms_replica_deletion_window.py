"""A multi-Region replica key waits at least as long as its primary before it is deleted.

AWS KMS will not delete a primary key while replicas exist, but a replica's own waiting period runs on its
own: a replica with a shorter `deletionWindowInDays` disappears first, taking the copy region's ability to
decrypt the replicated backups (the replica buckets are encrypted under it) with it. An unset window is
the AWS default of 30 days.
"""

from __future__ import annotations

from collections.abc import Iterator

from backstop.ground import seeds, tokens
from backstop.ground.resources import Resource, is_unknown
from backstop.policy.core import Finding, Severity, stack_rule, unknown, violation
from backstop.policy.rules.kms_deletion_window import AWS_DEFAULT_DELETION_WINDOW_DAYS
from backstop.policy.stackview import StackView
from backstop.policy.targets import PolicyTargets
from backstop.policy.values import MISSING, fmt, get, number


def window(key: Resource) -> float | None:
    value = get(key.props, "deletionWindowInDays")
    if value is MISSING:
        return float(AWS_DEFAULT_DELETION_WINDOW_DAYS)
    return None if is_unknown(value) else number(value)


@stack_rule(
    id="kms-replica-deletion-window",
    description=(
        f"{seeds.SEED_BACKUP}, Tier 1: 'Cross-region copy: enabled (us-east-1 → us-west-2)' under 'AWS "
        "KMS-managed keys': the copy region decrypts with the replica key, so it must not be deletable "
        "sooner than the primary."
    ),
    severity=Severity.MEDIUM,
    remediation="Give the aws.kms.ReplicaKey the same deletion_window_in_days as its primary aws.kms.Key.",
)
def check(stack: StackView, targets: PolicyTargets) -> Iterator[Finding]:
    for primary in stack.of(tokens.KMS_KEY):
        arn = get(primary.props, "arn")
        identities = (arn,) if isinstance(arn, str) else ()
        replicas, undecided = stack.attached([tokens.KMS_REPLICA_KEY], primary, "primaryKeyArn", *identities)
        theirs = window(primary)
        for replica in replicas:
            mine = window(replica)
            if mine is None or theirs is None:
                yield unknown(replica, "deletionWindowInDays of the replica or its primary")
            elif mine < theirs:
                yield violation(
                    replica,
                    f"deletionWindowInDays is {fmt(mine)}, shorter than the {fmt(theirs)} days of its "
                    f"primary "
                    f"{primary.name}: the copy region loses its key first",
                )
        if undecided and not replicas:
            continue
