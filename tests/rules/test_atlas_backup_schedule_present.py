"""atlas-backup-schedule-present: every cluster with Cloud Backup on has a declared CloudBackupSchedule."""

from __future__ import annotations

from typing import Any

import pytest

from backstop.ground import tokens
from backstop.ground.resources import UNKNOWN
from backstop.policy.targets import PolicyTargets
from tests.policy_support import SHAPES, failing, findings, levels, mutate, res, shape_of, undecided, without

RULE = "atlas-backup-schedule-present"
CLUSTER = "atlas-cartie-prod"
SCHEDULE = "atlas-cartie-prod-backup-schedule"
PROD = PolicyTargets.for_environment("prod")


def test_shipped_stacks_pass(prod_run: Any, staging_run: Any, prod_preview_run: Any) -> None:
    assert failing(RULE, prod_run.resources) == set()
    assert failing(RULE, staging_run.resources, PolicyTargets.for_environment("staging")) == set()
    # At preview the schedule's projectId is unknown; the engine's dependencies still join it.
    assert findings(RULE, prod_preview_run.resources) == []


@pytest.mark.parametrize("shape", SHAPES)
def test_cluster_without_schedule_fails(prod_run: Any, shape: str) -> None:
    resources = shape_of(without(prod_run.resources, SCHEDULE), shape)
    assert failing(RULE, resources) == {CLUSTER}
    [finding] = findings(RULE, resources)
    assert "no CloudBackupSchedule names cluster 'cartie-prod'" in finding.message


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"clusterName": "cartie-prod"}, set()),
        ({"clusterName": "cartie-prod-old"}, {CLUSTER}),
        # same cluster name in another project: cluster names are unique only per project
        ({"projectId": "5f00000000000000000000ff"}, {CLUSTER}),
    ],
    ids=["by-value", "other-cluster", "other-project"],
)
def test_join_by_value_when_there_are_no_dependencies(
    prod_run: Any, shape: str, changes: dict[str, Any], expected: set[str]
) -> None:
    by_value = mutate(prod_run.resources, SCHEDULE, changes, property_dependencies={})
    assert failing(RULE, shape_of(by_value, shape)) == expected


def test_cluster_without_cloud_backup_is_left_to_the_backup_rule(prod_run: Any) -> None:
    resources = mutate(without(prod_run.resources, SCHEDULE), CLUSTER, {"backupEnabled": False})
    assert findings(RULE, resources) == []
    assert failing("atlas-cloud-backup-enabled", resources) == {CLUSTER}


@pytest.mark.parametrize("shape", SHAPES)
def test_legacy_clusters_use_cloud_backup(shape: str) -> None:
    project = {"projectId": "5f0000000000000000000001"}
    stack = [
        res(tokens.ATLAS_LEGACY_CLUSTER, "legacy-a", {"name": "a", "cloudBackup": True, **project}),
        res(tokens.ATLAS_LEGACY_CLUSTER, "legacy-b", {"name": "b", "cloudBackup": True, **project}),
        # Legacy Backup only: not Cloud Backup, so no schedule is expected (the backup rule reports it)
        res(tokens.ATLAS_LEGACY_CLUSTER, "legacy-c", {"name": "c", "backupEnabled": True, **project}),
        res(tokens.ATLAS_BACKUP_SCHEDULE, "schedule-a", {"clusterName": "a", **project}),
    ]
    assert failing(RULE, shape_of(stack, shape)) == {"legacy-b"}


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(
    ("name", "changes", "fields"),
    [
        (SCHEDULE, {"clusterName": UNKNOWN}, {"property_dependencies": {}}),
        (CLUSTER, {"backupEnabled": UNKNOWN}, {}),
    ],
    ids=["schedule-cluster-name", "backup-flag"],
)
def test_unknowns_are_undecided(
    prod_run: Any, shape: str, name: str, changes: dict[str, Any], fields: dict[str, Any]
) -> None:
    resources = prod_run.resources if name == SCHEDULE else without(prod_run.resources, SCHEDULE)
    resources = shape_of(mutate(resources, name, changes, **fields), shape)
    assert undecided(RULE, resources) == {CLUSTER}
    assert failing(RULE, resources) == set()
    assert levels(RULE, resources, PolicyTargets.for_environment("prod", unknown_is_violation=True)) == {
        (CLUSTER, "mandatory")
    }


def test_staging_targets_make_it_advisory(staging_run: Any) -> None:
    broken = without(staging_run.resources, "atlas-cartie-staging-backup-schedule")
    assert levels(RULE, broken, PolicyTargets.for_environment("staging")) == {
        ("atlas-cartie-staging", "advisory")
    }
    assert levels(RULE, broken, PROD) == {("atlas-cartie-staging", "mandatory")}
