"""kms-key-policy-deletion: only the key's own account may schedule its deletion."""

from __future__ import annotations

import json
from typing import Any

import pytest

from backstop.ground import tokens
from backstop.ground.resources import UNKNOWN
from backstop.policy.targets import PolicyTargets
from backstop.program.mocks import ACCOUNT_ID, ProgramRun
from tests.policy_support import SHAPES, failing, findings, levels, mutate, named, res, shape_of, undecided

RULE = "kms-key-policy-deletion"
PROD = PolicyTargets.for_environment("prod")
STAGING = PolicyTargets.for_environment("staging")
OTHER = "999988887777"


def test_shipped_stacks_pass(
    prod_run: ProgramRun, staging_run: ProgramRun, prod_preview_run: ProgramRun
) -> None:
    assert findings(RULE, prod_run.resources) == []
    assert findings(RULE, staging_run.resources, STAGING) == []
    assert findings(RULE, prod_preview_run.resources) == []


def _with(prod_run: ProgramRun, name: str, statement: dict[str, Any]) -> list[Any]:
    policy = json.loads(named(prod_run.resources, name).props["policy"])
    policy["Statement"].append({"Effect": "Allow", "Resource": "*", **statement})
    return mutate(prod_run.resources, name, {"policy": json.dumps(policy)})


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(
    ("statement", "expected", "words"),
    [
        pytest.param(
            {"Principal": {"AWS": f"arn:aws:iam::{OTHER}:role/ops"}, "Action": "kms:ScheduleKeyDeletion"},
            {"backup-key-replica"},
            f"account {OTHER} (the key belongs to {ACCOUNT_ID})",
            id="other-account-role",
        ),
        pytest.param(
            {"Principal": {"AWS": OTHER}, "Action": "kms:*"},
            {"backup-key-replica"},
            f"account {OTHER}",
            id="other-account-id-kms-star",
        ),
        pytest.param(
            {"Principal": "*", "Action": ["kms:Schedule*"]},
            {"backup-key-replica"},
            "any principal ('*')",
            id="anyone-wildcard-action",
        ),
        pytest.param(
            {"Principal": "*", "NotAction": ["kms:Decrypt"]},
            {"backup-key-replica"},
            "any principal",
            id="not-action-leaves-deletion-in",
        ),
        pytest.param(
            {"NotPrincipal": {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:root"}, "Action": "kms:ScheduleKeyDeletion"},
            {"backup-key-replica"},
            "any principal",
            id="not-principal",
        ),
        pytest.param(
            {
                "Principal": "*",
                "Action": "kms:ScheduleKeyDeletion",
                "Condition": {"StringEquals": {"kms:CallerAccount": ACCOUNT_ID}},
            },
            set(),
            "",
            id="star-pinned-to-own-account",
        ),
        pytest.param(
            {
                "Principal": {"AWS": f"arn:aws:iam::{OTHER}:root"},
                "Action": ["kms:Decrypt", "kms:DescribeKey"],
            },
            set(),
            "",
            id="other-account-may-only-decrypt",
        ),
        pytest.param(
            {"Effect": "Deny", "Principal": "*", "Action": "kms:ScheduleKeyDeletion"},
            set(),
            "",
            id="deny-is-no-grant",
        ),
    ],
)
def test_variants_on_the_replica(
    prod_run: ProgramRun, shape: str, statement: dict[str, Any], expected: set[str], words: str
) -> None:
    loaded = shape_of(_with(prod_run, "backup-key-replica", statement), shape)
    assert failing(RULE, loaded) == expected
    assert undecided(RULE, loaded) == set()
    for finding in findings(RULE, loaded):
        assert words in finding.message and "kms:ScheduleKeyDeletion" in finding.message


def test_primary_without_a_known_arn_and_two_accounts(prod_run: ProgramRun) -> None:
    """The primary's ARN is an output; with two accounts granted, one of them is not the owner."""
    resources = _with(
        prod_run, "backup-key-key", {"Principal": {"AWS": OTHER}, "Action": "kms:ScheduleKeyDeletion"}
    )
    (finding,) = findings(RULE, resources)
    assert finding.urn.endswith("::backup-key-key")
    assert f"accounts {ACCOUNT_ID}, {OTHER} (only one of them can own the key)" in finding.message


def test_single_foreign_account_is_the_owner_unless_the_lockout_check_is_bypassed() -> None:
    policy = json.dumps(
        {"Statement": [{"Effect": "Allow", "Principal": {"AWS": OTHER}, "Action": "kms:*", "Resource": "*"}]}
    )
    key = res(tokens.KMS_KEY, "key", {"policy": policy})
    assert findings(RULE, [key]) == []
    bypassed = res(tokens.KMS_KEY, "key", {"policy": policy, "bypassPolicyLockoutSafetyCheck": True})
    assert undecided(RULE, [bypassed]) == {"key"}
    known = res(tokens.KMS_KEY, "key", {"policy": policy, "arn": f"arn:aws:kms:us-east-1:{ACCOUNT_ID}:key/k"})
    assert failing(RULE, [known]) == {"key"}


@pytest.mark.parametrize("shape", SHAPES)
def test_unknown_policy_is_undecided(prod_run: ProgramRun, shape: str) -> None:
    loaded = shape_of(mutate(prod_run.resources, "backup-key-key", {"policy": UNKNOWN}), shape)
    assert undecided(RULE, loaded) == {"backup-key-key"}
    assert levels(RULE, loaded, PROD) == {("backup-key-key", "advisory")}


def test_a_policy_that_is_not_json_is_a_violation() -> None:
    assert failing(RULE, [res(tokens.KMS_REPLICA_KEY, "r", {"policy": "{not json"})]) == {"r"}
