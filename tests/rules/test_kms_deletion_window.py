"""kms-deletion-window: Key and ReplicaKey keep the full pending-deletion window (AWS default 30 days)."""

from __future__ import annotations

from typing import Any

import pytest

from backstop.ground.resources import UNKNOWN
from backstop.policy.targets import PolicyTargets
from backstop.policy.values import MISSING
from backstop.program.mocks import ProgramRun
from tests.policy_support import SHAPES, failing, findings, levels, mutate, shape_of, shapes, undecided

RULE = "kms-deletion-window"
PROD = PolicyTargets.for_environment("prod")
STAGING = PolicyTargets.for_environment("staging")
WINDOW = "deletionWindowInDays"


def test_shipped_stacks_pass(prod_run: ProgramRun, staging_run: ProgramRun) -> None:
    assert failing(RULE, prod_run.resources) == set()
    assert undecided(RULE, prod_run.resources) == set()
    assert failing(RULE, staging_run.resources, STAGING) == set()


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        pytest.param("backup-key-key", 7, {"backup-key-key"}, id="key-7"),
        pytest.param("backup-key-key", 29, {"backup-key-key"}, id="key-29-int"),
        pytest.param("backup-key-key", 29.0, {"backup-key-key"}, id="key-29-float"),
        pytest.param("backup-key-replica", 10.0, {"backup-key-replica"}, id="replica-10"),
        pytest.param("backup-key-replica", "soon", {"backup-key-replica"}, id="not-a-number"),
        pytest.param("backup-key-key", 30, set(), id="key-30-int"),
        pytest.param("backup-key-key", 30.0, set(), id="key-30-float"),
        pytest.param("backup-key-replica", MISSING, set(), id="unset-is-the-aws-default-30"),
    ],
)
def test_variants(prod_run: ProgramRun, shape: str, name: str, value: Any, expected: set[str]) -> None:
    loaded = shape_of(mutate(prod_run.resources, name, {WINDOW: value}), shape)
    assert failing(RULE, loaded) == expected
    assert undecided(RULE, loaded) == set()


def test_unset_window_is_the_sdk_documented_default() -> None:
    import inspect

    import pulumi_aws

    for args in (pulumi_aws.kms.KeyArgs, pulumi_aws.kms.ReplicaKeyArgs):
        doc = inspect.getdoc(args.deletion_window_in_days) or ""
        assert "If you do not specify a value, it defaults to `30`" in doc


@pytest.mark.parametrize(
    ("minimum", "expected"), [(7, set()), (10, {"backup-key-key"}), (30, {"backup-key-key"})]
)
def test_minimum_is_a_tunable(prod_run: ProgramRun, minimum: int, expected: set[str]) -> None:
    resources = mutate(prod_run.resources, "backup-key-key", {WINDOW: 7.0})
    targets = PolicyTargets.for_environment("prod", min_kms_deletion_window_days=minimum)
    assert failing(RULE, resources, targets) == expected


def test_message_names_value_and_minimum(prod_run: ProgramRun) -> None:
    (finding,) = findings(RULE, mutate(prod_run.resources, "backup-key-key", {WINDOW: 14.0}))
    assert "14" in finding.message and "30-day" in finding.message and "14.0" not in finding.message


@pytest.mark.parametrize("shape", SHAPES)
def test_unknown_is_undecided_never_a_pass(prod_run: ProgramRun, shape: str) -> None:
    loaded = shape_of(mutate(prod_run.resources, "backup-key-replica", {WINDOW: UNKNOWN}), shape)
    assert undecided(RULE, loaded) == {"backup-key-replica"}
    assert failing(RULE, loaded) == set()
    assert levels(RULE, loaded, PROD) == {("backup-key-replica", "advisory")}
    strict = PolicyTargets.for_environment("prod", unknown_is_violation=True)
    assert levels(RULE, loaded, strict) == {("backup-key-replica", "mandatory")}


def test_first_preview(prod_preview_run: ProgramRun) -> None:
    for loaded in shapes(prod_preview_run.resources).values():
        assert failing(RULE, loaded) == set()
        assert undecided(RULE, loaded) == set()


def test_staging_targets_make_violations_advisory(staging_run: ProgramRun) -> None:
    short = mutate(staging_run.resources, "backup-key-replica", {WINDOW: 7})
    assert levels(RULE, short, STAGING) == {("backup-key-replica", "advisory")}
    assert levels(RULE, short, PROD) == {("backup-key-replica", "mandatory")}
