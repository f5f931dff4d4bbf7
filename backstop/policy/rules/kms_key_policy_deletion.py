"""No principal outside the key's own account may schedule the deletion of a backup key.

A key policy statement that allows `kms:ScheduleKeyDeletion` (directly or through `kms:*`, `*`,
`kms:Schedule*`, or a `NotAction` that leaves it out) to `"*"`, to another account's principals or through
a `NotPrincipal` hands a stranger the power to make every backup unreadable after the waiting period. A
`"*"` principal is taken as the own account only when a condition pins `aws:PrincipalAccount` or
`kms:CallerAccount` to it. The key's account is read from its ARN (a replica's from `primaryKeyArn`: a
multi-Region replica lives in its primary's account). When neither is known yet, a policy naming a single
account is taken to name the key's own: KMS refuses a key policy that would lock its creator out of it
unless `bypassPolicyLockoutSafetyCheck` is set.
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Iterator
from typing import Any

from backstop.ground import seeds, tokens
from backstop.ground.resources import Resource, is_unknown
from backstop.policy.core import Finding, Severity, resource_rule, unknown, violation
from backstop.policy.targets import PolicyTargets
from backstop.policy.values import MISSING, get, is_true

ACTION = "kms:schedulekeydeletion"
_ACCOUNT = re.compile(r"^(?:arn:aws[a-z-]*:(?:iam|sts)::)?(\d{12})(?::|$)")
ACCOUNT_CONDITION_KEYS = frozenset({"aws:principalaccount", "kms:calleraccount"})


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _allows_deletion(statement: dict[str, Any]) -> bool:
    if "Action" in statement:
        return any(
            isinstance(a, str) and fnmatch.fnmatch(ACTION, a.lower()) for a in _listed(statement["Action"])
        )
    if "NotAction" in statement:
        return not any(
            isinstance(a, str) and fnmatch.fnmatch(ACTION, a.lower()) for a in _listed(statement["NotAction"])
        )
    return False


def _pinned_accounts(statement: dict[str, Any]) -> set[str] | None:
    """Accounts a condition restricts the caller to, or None when no condition does."""
    conditions = statement.get("Condition")
    if not isinstance(conditions, dict):
        return None
    for operator, tests in conditions.items():
        if not isinstance(tests, dict) or "equals" not in str(operator).lower():
            continue
        for key, values in tests.items():
            if str(key).lower() in ACCOUNT_CONDITION_KEYS:
                return {str(v) for v in _listed(values)}
    return None


def grantees(statement: dict[str, Any]) -> set[str]:
    """Who the statement lets schedule deletion: account ids, or `*` for anyone."""
    if statement.get("Effect") != "Allow" or not _allows_deletion(statement):
        return set()
    if "NotPrincipal" in statement:
        return {"*"}
    principal = statement.get("Principal")
    values = _listed(principal.get("AWS", [])) if isinstance(principal, dict) else _listed(principal)
    found: set[str] = set()
    for value in values:
        if value == "*":
            pinned = _pinned_accounts(statement)
            found |= pinned if pinned is not None else {"*"}
        elif isinstance(value, str) and (match := _ACCOUNT.match(value)):
            found.add(match.group(1))
    return found


def key_account(resource: Resource) -> Any:
    """The account that owns the key, from its ARN (`arn:aws:kms:<region>:<account>:key/<id>`) or, for a
    replica, its primary's; `MISSING` when neither is known."""
    for prop in ("arn", "primaryKeyArn"):
        arn = get(resource.props, prop)
        if isinstance(arn, str) and arn.count(":") >= 5 and arn.split(":")[4]:
            return arn.split(":")[4]
    return MISSING


@resource_rule(
    id="kms-key-policy-deletion",
    types=tokens.KMS_KEYS,
    description=(
        f"{seeds.SEED_WISER}: 'Backup access restricted to Security Officer and Engineering Lead only'; "
        f"{seeds.SEED_BACKUP}: backups are encrypted with 'AWS KMS-managed keys', and deleting the key "
        "makes them unrecoverable. Only the key's own account may schedule its deletion."
    ),
    severity=Severity.HIGH,
    remediation=(
        "Grant kms:ScheduleKeyDeletion (and kms:* / *) only to principals of the key's own account, or pin "
        "a '*' principal with a condition on aws:PrincipalAccount."
    ),
)
def check(resource: Resource, targets: PolicyTargets) -> Iterator[Finding]:
    policy = get(resource.props, "policy")
    if is_unknown(policy):
        yield unknown(resource, "the key policy")
        return
    if policy is MISSING or policy == "":
        return  # AWS applies the default key policy: the key's own account only
    try:
        document = json.loads(policy) if isinstance(policy, str) else policy
    except json.JSONDecodeError:
        yield violation(resource, "the key policy is not a JSON document")
        return
    statements = _listed(document.get("Statement", [])) if isinstance(document, dict) else []
    allowed: set[str] = set()
    for statement in statements:
        if isinstance(statement, dict):
            allowed |= grantees(statement)
    if not allowed:
        return
    owner = key_account(resource)
    outside = sorted(a for a in allowed if a == "*" or (isinstance(owner, str) and a != owner))
    if not outside and len(allowed) > 1:
        outside = sorted(allowed)  # two accounts may schedule deletion: at most one of them owns the key
    if outside:
        accounts = ", ".join(a for a in outside if a != "*")
        if "*" in outside:
            who = "any principal ('*')"
        elif isinstance(owner, str):
            who = f"account {accounts} (the key belongs to {owner})"
        else:
            who = f"accounts {accounts} (only one of them can own the key)"
        yield violation(
            resource,
            f"the key policy lets {who} schedule the key's deletion (kms:ScheduleKeyDeletion): every backup "
            "encrypted under it becomes unrecoverable after the waiting period",
        )
    elif not isinstance(owner, str) and is_true(get(resource.props, "bypassPolicyLockoutSafetyCheck")):
        yield unknown(resource, "the key's account (its ARN), to compare with the key policy's principals")
