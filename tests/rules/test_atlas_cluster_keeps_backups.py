"""atlas-cluster-keeps-backups: a backed-up cluster's snapshots outlive the cluster."""

from __future__ import annotations

from typing import Any

import pytest

from backstop.ground import tokens
from backstop.ground.resources import UNKNOWN
from backstop.policy.targets import PolicyTargets
from backstop.policy.values import MISSING
from backstop.program.mocks import ProgramRun
from tests.policy_support import SHAPES, failing, findings, levels, mutate, res, shape_of, undecided, without

RULE = "atlas-cluster-keeps-backups"
PROD = PolicyTargets.for_environment("prod")
STAGING = PolicyTargets.for_environment("staging")
CLUSTER = "atlas-cartie-prod"
POLICY = "atlas-backup-compliance-policy"


def test_shipped_stacks_pass(
    prod_run: ProgramRun, staging_run: ProgramRun, prod_preview_run: ProgramRun
) -> None:
    assert findings(RULE, prod_run.resources) == []
    assert findings(RULE, staging_run.resources, STAGING) == []
    assert findings(RULE, prod_preview_run.resources) == []


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(
    ("remove_policy", "changes", "expected"),
    [
        pytest.param(True, {"retainBackupsEnabled": False}, {CLUSTER}, id="no-policy-no-retain"),
        pytest.param(True, {"retainBackupsEnabled": MISSING}, {CLUSTER}, id="no-policy-retain-unset"),
        pytest.param(True, {}, set(), id="no-policy-retain-true"),
        pytest.param(False, {"retainBackupsEnabled": False}, set(), id="policy-holds-snapshots"),
        pytest.param(
            True, {"retainBackupsEnabled": False, "backupEnabled": False}, set(), id="no-cloud-backup"
        ),
    ],
)
def test_variants(
    prod_run: ProgramRun, shape: str, remove_policy: bool, changes: dict[str, Any], expected: set[str]
) -> None:
    resources = without(prod_run.resources, POLICY) if remove_policy else list(prod_run.resources)
    loaded = shape_of(mutate(resources, CLUSTER, changes), shape)
    assert failing(RULE, loaded) == expected
    assert undecided(RULE, loaded) == set()


def test_message_names_the_setting(prod_run: ProgramRun) -> None:
    resources = mutate(without(prod_run.resources, POLICY), CLUSTER, {"retainBackupsEnabled": False})
    (finding,) = findings(RULE, resources)
    assert finding.message == (
        "deleting the cluster deletes its snapshots: no Backup Compliance Policy holds them and "
        "retainBackupsEnabled is False"
    )


def test_legacy_cluster() -> None:
    project = {"projectId": "5f0000000000000000000001"}
    legacy = res(tokens.ATLAS_LEGACY_CLUSTER, "legacy", {"name": "old", "cloudBackup": True, **project})
    (finding,) = findings(RULE, [legacy])
    assert finding.message.endswith("retainBackupsEnabled is not set")
    policy = res(tokens.ATLAS_COMPLIANCE_POLICY, "floor", project)
    assert findings(RULE, [legacy, policy]) == []
    retained = res(
        tokens.ATLAS_LEGACY_CLUSTER,
        "legacy",
        {"name": "old", "cloudBackup": True, "retainBackupsEnabled": True, **project},
    )
    assert findings(RULE, [retained]) == []


def test_unknown_flag_is_undecided(prod_run: ProgramRun) -> None:
    resources = mutate(without(prod_run.resources, POLICY), CLUSTER, {"retainBackupsEnabled": UNKNOWN})
    assert undecided(RULE, resources) == {CLUSTER}
    assert levels(RULE, resources, PROD) == {(CLUSTER, "advisory")}


def test_staging_is_meant_to_be_torn_down_with_its_snapshots(staging_run: ProgramRun) -> None:
    cluster = "atlas-cartie-staging"
    resources = mutate(staging_run.resources, cluster, {"retainBackupsEnabled": False})
    assert findings(RULE, resources, STAGING) == []
    assert failing(RULE, resources, PROD) == {cluster}


def test_retain_flag_is_an_sdk_wire_name() -> None:
    import pulumi._types as pulumi_types
    import pulumi_mongodbatlas as atlas

    for args in (atlas.AdvancedClusterArgs, atlas.ClusterArgs):
        assert "retainBackupsEnabled" in set(pulumi_types.input_type_py_to_pulumi_names(args).values())
