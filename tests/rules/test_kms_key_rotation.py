"""kms-key-rotation: every aws:kms/key:Key has automatic rotation on (replica keys follow their primary)."""

from __future__ import annotations

from typing import Any

import pytest

from backstop.ground import tokens
from backstop.ground.resources import UNKNOWN
from backstop.policy.targets import PolicyTargets
from backstop.policy.values import MISSING
from backstop.program.mocks import ProgramRun
from tests.policy_support import SHAPES, failing, findings, levels, mutate, res, shape_of, shapes, undecided

RULE = "kms-key-rotation"
PROD = PolicyTargets.for_environment("prod")
STAGING = PolicyTargets.for_environment("staging")


def test_shipped_stacks_pass(prod_run: ProgramRun, staging_run: ProgramRun) -> None:
    assert failing(RULE, prod_run.resources) == set()
    assert undecided(RULE, prod_run.resources) == set()
    assert failing(RULE, staging_run.resources, STAGING) == set()


def test_replica_keys_take_no_rotation_input() -> None:
    import pulumi._types as pulumi_types
    import pulumi_aws

    key_inputs = set(pulumi_types.input_type_py_to_pulumi_names(pulumi_aws.kms.KeyArgs).values())
    replica_inputs = set(pulumi_types.input_type_py_to_pulumi_names(pulumi_aws.kms.ReplicaKeyArgs).values())
    assert "enableKeyRotation" in key_inputs
    assert not {name for name in replica_inputs if "otation" in name}
    replica = res(tokens.KMS_REPLICA_KEY, "copy", {"primaryKeyArn": "arn:aws:kms:us-east-1:1:key/mrk-1"})
    assert findings(RULE, [replica]) == []


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        pytest.param({"enableKeyRotation": False}, {"backup-key-key"}, id="off"),
        pytest.param({"enableKeyRotation": MISSING}, {"backup-key-key"}, id="unset-defaults-to-false"),
        pytest.param({"enableKeyRotation": "yes"}, {"backup-key-key"}, id="not-a-boolean"),
        pytest.param({"enableKeyRotation": True, "rotationPeriodInDays": 90.0}, set(), id="custom-period"),
    ],
)
def test_variants(prod_run: ProgramRun, shape: str, changes: dict[str, Any], expected: set[str]) -> None:
    loaded = shape_of(mutate(prod_run.resources, "backup-key-key", changes), shape)
    assert failing(RULE, loaded) == expected
    assert undecided(RULE, loaded) == set()


def test_unset_rotation_message_cites_the_default(prod_run: ProgramRun) -> None:
    (finding,) = findings(RULE, mutate(prod_run.resources, "backup-key-key", {"enableKeyRotation": MISSING}))
    assert "defaults it to false" in finding.message


@pytest.mark.parametrize("shape", SHAPES)
def test_unknown_is_undecided_never_a_pass(prod_run: ProgramRun, shape: str) -> None:
    loaded = shape_of(mutate(prod_run.resources, "backup-key-key", {"enableKeyRotation": UNKNOWN}), shape)
    assert undecided(RULE, loaded) == {"backup-key-key"}
    assert failing(RULE, loaded) == set()
    assert levels(RULE, loaded, PROD) == {("backup-key-key", "advisory")}
    strict = PolicyTargets.for_environment("prod", unknown_is_violation=True)
    assert levels(RULE, loaded, strict) == {("backup-key-key", "mandatory")}


def test_first_preview(prod_preview_run: ProgramRun) -> None:
    for loaded in shapes(prod_preview_run.resources).values():
        assert failing(RULE, loaded) == set()
        assert undecided(RULE, loaded) == set()
    off = mutate(prod_preview_run.resources, "backup-key-key", {"enableKeyRotation": False})
    assert failing(RULE, off) == {"backup-key-key"}


def test_staging_targets_make_violations_advisory(staging_run: ProgramRun) -> None:
    off = mutate(staging_run.resources, "backup-key-key", {"enableKeyRotation": False})
    assert levels(RULE, off, STAGING) == {("backup-key-key", "advisory")}
    assert levels(RULE, off, PROD) == {("backup-key-key", "mandatory")}
