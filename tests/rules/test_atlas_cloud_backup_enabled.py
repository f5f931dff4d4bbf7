"""atlas-cloud-backup-enabled: Cloud Backup and point-in-time recovery on every cluster."""

from __future__ import annotations

from typing import Any

import pytest

from backstop.ground import tokens
from backstop.ground.resources import UNKNOWN
from backstop.policy.targets import PolicyTargets
from backstop.policy.values import MISSING
from tests.policy_support import SHAPES, failing, findings, levels, mutate, res, shape_of, undecided

RULE = "atlas-cloud-backup-enabled"
CLUSTER = "atlas-cartie-prod"
PROD = PolicyTargets.for_environment("prod")


def test_shipped_stacks_pass(prod_run: Any, staging_run: Any, prod_preview_run: Any) -> None:
    assert failing(RULE, prod_run.resources) == set()
    assert failing(RULE, staging_run.resources, PolicyTargets.for_environment("staging")) == set()
    assert findings(RULE, prod_preview_run.resources) == []


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(
    "changes",
    [
        {"backupEnabled": False},
        {"backupEnabled": MISSING},
        {"pitEnabled": False},
        {"pitEnabled": MISSING},
        {"backupEnabled": "no"},
    ],
    ids=["backup-off", "backup-unset", "pit-off", "pit-unset", "backup-not-a-bool"],
)
def test_cluster_without_cloud_backup_or_pit_fails(
    prod_run: Any, shape: str, changes: dict[str, Any]
) -> None:
    broken = mutate(prod_run.resources, CLUSTER, changes)
    assert failing(RULE, shape_of(broken, shape)) == {CLUSTER}


def test_both_off_gives_one_finding_each(prod_run: Any) -> None:
    broken = mutate(prod_run.resources, CLUSTER, {"backupEnabled": False, "pitEnabled": False})
    messages = sorted(f.message for f in findings(RULE, broken))
    assert messages == [
        "Cloud Backup is off: backupEnabled must be true",
        "continuous (point-in-time) backup is off: pitEnabled must be true",
    ]


@pytest.mark.parametrize("shape", SHAPES)
def test_legacy_cluster_needs_cloud_backup_not_legacy_backup(shape: str) -> None:
    stack = [
        res(tokens.ATLAS_LEGACY_CLUSTER, "legacy-cloud", {"cloudBackup": True, "pitEnabled": True}),
        # backupEnabled on the legacy Cluster is the deprecated Legacy Backup, not Cloud Backup
        res(tokens.ATLAS_LEGACY_CLUSTER, "legacy-old", {"backupEnabled": True, "pitEnabled": True}),
        res(tokens.ATLAS_LEGACY_CLUSTER, "legacy-no-pit", {"cloudBackup": True}),
    ]
    assert failing(RULE, shape_of(stack, shape)) == {"legacy-old", "legacy-no-pit"}


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("key", ["backupEnabled", "pitEnabled"])
def test_unknown_flag_is_undecided_never_a_pass(prod_run: Any, shape: str, key: str) -> None:
    unknown = shape_of(mutate(prod_run.resources, CLUSTER, {key: UNKNOWN}), shape)
    assert undecided(RULE, unknown) == {CLUSTER}
    assert failing(RULE, unknown) == set()
    assert levels(RULE, unknown, PROD) == {(CLUSTER, "advisory")}
    assert levels(RULE, unknown, PolicyTargets.for_environment("prod", unknown_is_violation=True)) == {
        (CLUSTER, "mandatory")
    }


def test_staging_targets_make_it_advisory(staging_run: Any) -> None:
    broken = mutate(staging_run.resources, "atlas-cartie-staging", {"pitEnabled": False})
    assert levels(RULE, broken, PolicyTargets.for_environment("staging")) == {
        ("atlas-cartie-staging", "advisory")
    }
    assert levels(RULE, broken, PROD) == {("atlas-cartie-staging", "mandatory")}
