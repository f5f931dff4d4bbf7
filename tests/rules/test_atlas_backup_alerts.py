"""atlas-backup-alerts: projects with backed-up clusters alert on every required backup event."""

from __future__ import annotations

from typing import Any

import pytest

from backstop import tokens
from backstop.policy.targets import PolicyTargets
from backstop.policy.values import MISSING
from backstop.resources import UNKNOWN
from tests.policy_support import SHAPES, failing, findings, levels, mutate, res, shapes, undecided, without

RULE = "atlas-backup-alerts"
PROJECT = "atlas-project"
CLUSTER = "atlas-cartie-prod"
SNAPSHOT_FAILED = "atlas-alert-cps-snapshot-failed"
ALERTS = [f"atlas-alert-{event.lower().replace('_', '-')}" for event in tokens.ATLAS_BACKUP_ALERT_EVENTS]
PROD = PolicyTargets.for_environment("prod")


def test_shipped_stacks_pass(prod_run: Any, staging_run: Any, prod_preview_run: Any) -> None:
    assert failing(RULE, prod_run.resources) == set()
    assert failing(RULE, staging_run.resources, PolicyTargets.for_environment("staging")) == set()
    # at preview every projectId is unknown; the engine's dependencies on the project join them
    assert findings(RULE, prod_preview_run.resources) == []


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        ({"enabled": False}, {}),
        ({"enabled": MISSING}, {}),  # Atlas defaults an alert configuration to disabled
        ({"notifications": []}, {}),
        ({"projectId": "5f00000000000000000000ff"}, {"property_dependencies": {}}),
        ({"eventType": "CPS_SNAPSHOT_SUCCESSFUL"}, {}),
    ],
    ids=["disabled", "enabled-unset", "no-notifications", "other-project", "other-event"],
)
def test_an_alert_that_does_not_deliver_leaves_the_project_failing(
    prod_run: Any, shape: str, changes: dict[str, Any], fields: dict[str, Any]
) -> None:
    resources = shapes(mutate(prod_run.resources, SNAPSHOT_FAILED, changes, **fields))[shape]
    assert failing(RULE, resources) == {PROJECT}
    [finding] = findings(RULE, resources)
    assert finding.message == "no enabled alert configuration with a notification for: CPS_SNAPSHOT_FAILED"


def test_missing_events_are_listed_in_the_order_required(prod_run: Any) -> None:
    resources = without(prod_run.resources, "atlas-alert-cps-restore-failed", SNAPSHOT_FAILED)
    [finding] = findings(RULE, resources)
    assert finding.message.endswith("for: CPS_SNAPSHOT_FAILED, CPS_RESTORE_FAILED")


def test_required_events_are_tunable(prod_run: Any) -> None:
    only_snapshots = PolicyTargets.for_environment("prod").with_config(
        {"requiredAlertEvents": ["CPS_SNAPSHOT_FAILED"]}
    )
    others = [name for name in ALERTS if name != SNAPSHOT_FAILED]
    assert failing(RULE, without(prod_run.resources, *others), only_snapshots) == set()
    assert failing(RULE, without(prod_run.resources, SNAPSHOT_FAILED), only_snapshots) == {PROJECT}


def test_no_backed_up_cluster_needs_no_alerts(prod_run: Any) -> None:
    resources = mutate(without(prod_run.resources, *ALERTS), CLUSTER, {"backupEnabled": False})
    assert findings(RULE, resources) == []


@pytest.mark.parametrize("shape", SHAPES)
def test_a_project_declared_elsewhere_names_its_clusters(prod_run: Any, shape: str) -> None:
    # project referenced by id only: clusters and alerts still group by that id
    resources = shapes(without(prod_run.resources, PROJECT))[shape]
    assert failing(RULE, resources) == set()
    resources = shapes(without(prod_run.resources, PROJECT, SNAPSHOT_FAILED))[shape]
    assert failing(RULE, resources) == {CLUSTER}


@pytest.mark.parametrize("shape", SHAPES)
def test_legacy_cluster_with_cloud_backup_needs_alerts(shape: str) -> None:
    project = {"projectId": "5f0000000000000000000001"}
    notify = {"enabled": True, "notifications": [{"typeName": "EMAIL", "emailAddress": "ops@example.com"}]}
    stack = [
        res(tokens.ATLAS_LEGACY_CLUSTER, "legacy", {"cloudBackup": True, **project}),
        *(
            res(tokens.ATLAS_ALERT, f"alert-{i}", {"eventType": event, **notify, **project})
            for i, event in enumerate(tokens.ATLAS_BACKUP_ALERT_EVENTS[1:])
        ),
    ]
    assert failing(RULE, shapes(stack)[shape]) == {"legacy"}


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        ({"eventType": UNKNOWN}, {}),
        ({"enabled": UNKNOWN}, {}),
        ({"notifications": UNKNOWN}, {}),
        ({"projectId": UNKNOWN}, {"property_dependencies": {}}),
    ],
    ids=["event-type", "enabled", "notifications", "project"],
)
def test_unknowns_are_undecided(
    prod_run: Any, shape: str, changes: dict[str, Any], fields: dict[str, Any]
) -> None:
    resources = shapes(mutate(prod_run.resources, SNAPSHOT_FAILED, changes, **fields))[shape]
    assert undecided(RULE, resources) == {PROJECT}
    assert failing(RULE, resources) == set()
    assert levels(RULE, resources, PolicyTargets.for_environment("prod", unknown_is_violation=True)) == {
        (PROJECT, "mandatory")
    }


def test_staging_targets_make_it_advisory(staging_run: Any) -> None:
    broken = without(staging_run.resources, SNAPSHOT_FAILED)
    assert levels(RULE, broken, PolicyTargets.for_environment("staging")) == {(PROJECT, "advisory")}
    assert levels(RULE, broken, PROD) == {(PROJECT, "mandatory")}


def test_cluster_with_unknown_project_is_undecided(prod_run: Any) -> None:
    resources = mutate(prod_run.resources, CLUSTER, {"projectId": UNKNOWN}, property_dependencies={})
    assert undecided(RULE, resources) == {CLUSTER}
    assert failing(RULE, resources) == set()
