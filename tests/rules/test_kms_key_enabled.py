"""kms-key-enabled: a disabled Key (`isEnabled: false`) or ReplicaKey (`enabled: false`) cannot decrypt."""

from __future__ import annotations

from typing import Any

import pytest

from backstop.ground.resources import UNKNOWN
from backstop.policy.targets import PolicyTargets
from backstop.program.mocks import ProgramRun
from tests.policy_support import SHAPES, failing, findings, levels, mutate, shape_of, undecided

RULE = "kms-key-enabled"
PROD = PolicyTargets.for_environment("prod")
STAGING = PolicyTargets.for_environment("staging")


def test_shipped_stacks_pass(prod_run: ProgramRun, staging_run: ProgramRun) -> None:
    assert findings(RULE, prod_run.resources) == []
    assert findings(RULE, staging_run.resources, STAGING) == []


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(
    ("name", "changes", "expected"),
    [
        pytest.param("backup-key-key", {"isEnabled": False}, {"backup-key-key"}, id="key-disabled"),
        pytest.param("backup-key-replica", {"enabled": False}, {"backup-key-replica"}, id="replica-disabled"),
        pytest.param("backup-key-key", {"isEnabled": True}, set(), id="key-enabled"),
        # The replica's switch is `enabled`; `isEnabled` is not one of its inputs.
        pytest.param("backup-key-replica", {"isEnabled": False}, set(), id="replica-other-spelling-ignored"),
    ],
)
def test_variants(
    prod_run: ProgramRun, shape: str, name: str, changes: dict[str, Any], expected: set[str]
) -> None:
    loaded = shape_of(mutate(prod_run.resources, name, changes), shape)
    assert failing(RULE, loaded) == expected
    assert undecided(RULE, loaded) == set()


def test_message_names_the_setting(prod_run: ProgramRun) -> None:
    (finding,) = findings(RULE, mutate(prod_run.resources, "backup-key-key", {"isEnabled": False}))
    assert finding.message.startswith("isEnabled is False: a disabled key cannot decrypt anything")


@pytest.mark.parametrize("shape", SHAPES)
def test_unknown_is_undecided(prod_run: ProgramRun, shape: str) -> None:
    loaded = shape_of(mutate(prod_run.resources, "backup-key-replica", {"enabled": UNKNOWN}), shape)
    assert undecided(RULE, loaded) == {"backup-key-replica"}
    assert levels(RULE, loaded, PROD) == {("backup-key-replica", "advisory")}


def test_switches_are_sdk_wire_names() -> None:
    import pulumi._types as pulumi_types
    import pulumi_aws

    assert "isEnabled" in pulumi_types.input_type_py_to_pulumi_names(pulumi_aws.kms.KeyArgs).values()
    assert "enabled" in pulumi_types.input_type_py_to_pulumi_names(pulumi_aws.kms.ReplicaKeyArgs).values()
