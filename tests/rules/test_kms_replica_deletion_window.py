"""kms-replica-deletion-window: a replica key waits at least as long as its primary."""

from __future__ import annotations

from typing import Any

import pytest

from backstop.ground import tokens
from backstop.ground.resources import UNKNOWN
from backstop.policy.targets import PolicyTargets
from backstop.policy.values import MISSING
from backstop.program.mocks import ProgramRun
from tests.policy_support import (
    SHAPES,
    failing,
    findings,
    mutate,
    res,
    shape_of,
    undecided,
    without_dependencies,
)

RULE = "kms-replica-deletion-window"
STAGING = PolicyTargets.for_environment("staging")
WINDOW = "deletionWindowInDays"


def test_shipped_stacks_pass(
    prod_run: ProgramRun, staging_run: ProgramRun, prod_preview_run: ProgramRun
) -> None:
    assert findings(RULE, prod_run.resources) == []
    assert findings(RULE, staging_run.resources, STAGING) == []
    assert findings(RULE, prod_preview_run.resources) == []


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        pytest.param({"backup-key-replica": {WINDOW: 7}}, {"backup-key-replica"}, id="replica-7-primary-30"),
        pytest.param(
            {"backup-key-key": {WINDOW: MISSING}, "backup-key-replica": {WINDOW: 29}},
            {"backup-key-replica"},
            id="primary-default-30",
        ),
        pytest.param({"backup-key-key": {WINDOW: 7}, "backup-key-replica": {WINDOW: 7}}, set(), id="equal"),
        pytest.param({"backup-key-key": {WINDOW: 10}}, set(), id="replica-longer"),
    ],
)
def test_variants(
    prod_run: ProgramRun, shape: str, changes: dict[str, dict[str, Any]], expected: set[str]
) -> None:
    resources = list(prod_run.resources)
    for name, change in changes.items():
        resources = mutate(resources, name, change)
    loaded = shape_of(resources, shape)
    assert failing(RULE, loaded) == expected
    assert undecided(RULE, loaded) == set()


def test_message(prod_run: ProgramRun) -> None:
    (finding,) = findings(RULE, mutate(prod_run.resources, "backup-key-replica", {WINDOW: 7}))
    assert (
        "deletionWindowInDays is 7, shorter than the 30 days of its primary backup-key-key" in finding.message
    )


def test_joins_by_value_without_dependencies(prod_run: ProgramRun) -> None:
    """`primaryKeyArn` matches the primary's `arn` when the source carries no property dependencies."""
    arn = "arn:aws:kms:us-east-1:111122223333:key/mrk-1"
    primary = res(tokens.KMS_KEY, "primary", {"arn": arn, WINDOW: 30})
    replica = res(tokens.KMS_REPLICA_KEY, "replica", {"primaryKeyArn": arn, WINDOW: 7})
    other = res(
        tokens.KMS_REPLICA_KEY, "other", {"primaryKeyArn": "arn:aws:kms:us-east-1:1:key/x", WINDOW: 7}
    )
    assert failing(RULE, without_dependencies([primary, replica, other])) == {"replica"}


def test_unknown_window_is_undecided(prod_run: ProgramRun) -> None:
    resources = mutate(prod_run.resources, "backup-key-replica", {WINDOW: UNKNOWN})
    assert undecided(RULE, resources) == {"backup-key-replica"}
