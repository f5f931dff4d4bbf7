"""atlas-backup-alerts: projects with backed-up clusters alert on every required backup event."""

from __future__ import annotations

from typing import Any

import pytest

from backstop.ground import tokens
from backstop.ground.resources import UNKNOWN
from backstop.policy.targets import PolicyTargets
from backstop.policy.values import MISSING
from tests.policy_support import SHAPES, failing, findings, levels, mutate, res, shape_of, undecided, without

RULE = "atlas-backup-alerts"
PROJECT = "atlas-project"
CLUSTER = "atlas-cartie-prod"
SNAPSHOT_FAILED = "atlas-alert-cps-snapshot-failed"
ALERTS = [f"atlas-alert-{event.lower().replace('_', '-')}" for event in tokens.ATLAS_BACKUP_ALERT_EVENTS]
PROD = PolicyTargets.for_environment("prod")


# Without the Slack secrets: each backup event has its e-mail alert only, so removing one shows.
@pytest.fixture
def prod_run(prod_bare_run: Any) -> Any:
    return prod_bare_run


@pytest.fixture
def staging_run(staging_bare_run: Any) -> Any:
    return staging_bare_run


@pytest.fixture
def prod_preview_run(prod_preview_bare_run: Any) -> Any:
    return prod_preview_bare_run


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
    resources = shape_of(mutate(prod_run.resources, SNAPSHOT_FAILED, changes, **fields), shape)
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
    resources = shape_of(without(prod_run.resources, PROJECT), shape)
    assert failing(RULE, resources) == set()
    resources = shape_of(without(prod_run.resources, PROJECT, SNAPSHOT_FAILED), shape)
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
    assert failing(RULE, shape_of(stack, shape)) == {"legacy"}


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
    resources = shape_of(mutate(prod_run.resources, SNAPSHOT_FAILED, changes, **fields), shape)
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


# --- thresholds ---------------------------------------------------------------------------------------------

BEHIND = "atlas-alert-cps-snapshot-behind"
ROTATION = "atlas-alert-aws-encryption-key-needs-rotation"
LATE = "later than 12 h (one snapshot interval plus the snapshot RPO)"


def _threshold(value: float, units: str, operator: str = "GREATER_THAN") -> dict[str, Any]:
    return {"operator": operator, "threshold": value, "units": units}


def test_shipped_thresholds_fire_within_the_rpo(prod_run: Any) -> None:
    behind = next(r for r in prod_run.resources if r.name == BEHIND)
    assert behind.props["thresholdConfig"] == _threshold(7.0, "HOURS")
    assert failing(RULE, prod_run.resources) == set()


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(
    ("alert", "threshold", "reason"),
    [
        (BEHIND, MISSING, "no thresholdConfig, which Atlas requires for this event type"),
        (BEHIND, _threshold(7, "DAYS"), f"fires only after 7 DAYS, {LATE}"),
        (BEHIND, _threshold(13, "HOURS"), f"fires only after 13 HOURS, {LATE}"),
        (BEHIND, _threshold(721, "MINUTES"), f"fires only after 721 MINUTES, {LATE}"),
        (
            BEHIND,
            _threshold(7, "HOURS", "LESS_THAN"),
            "operator 'LESS_THAN', Atlas accepts only GREATER_THAN",
        ),
        (
            BEHIND,
            _threshold(7, "hours"),
            "units 'hours', Atlas accepts NANOSECONDS, MILLISECONDS, "
            "MILLION_MINUTES, SECONDS, MINUTES, HOURS, DAYS",
        ),
        (BEHIND, _threshold(0, "HOURS"), "threshold 0 is not a positive number"),
        (ROTATION, MISSING, "no thresholdConfig, which Atlas requires for this event type"),
        (ROTATION, _threshold(90, "HOURS"), "units 'HOURS', Atlas accepts DAYS"),
        (ROTATION, _threshold(366, "DAYS"), "fires only after 366 DAYS, later than 365 days"),
    ],
    ids=[
        "missing",
        "7-days",
        "13-hours",
        "721-minutes",
        "less-than",
        "lowercase-units",
        "zero",
        "rotation-missing",
        "rotation-hours",
        "rotation-366-days",
    ],
)
def test_a_threshold_atlas_refuses_or_that_fires_too_late_does_not_count(
    prod_run: Any, shape: str, alert: str, threshold: Any, reason: str
) -> None:
    resources = shape_of(mutate(prod_run.resources, alert, {"thresholdConfig": threshold}), shape)
    assert failing(RULE, resources) == {PROJECT}
    [finding] = findings(RULE, resources)
    event = "CPS_SNAPSHOT_BEHIND" if alert == BEHIND else "AWS_ENCRYPTION_KEY_NEEDS_ROTATION"
    assert finding.message == (
        f"no enabled alert configuration with a notification for: {event}; {event} alert {alert}: {reason}"
    )


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(
    ("alert", "threshold"),
    [
        (BEHIND, _threshold(12, "HOURS")),
        (BEHIND, _threshold(720, "MINUTES")),
        (BEHIND, _threshold(0.5, "DAYS")),
        (ROTATION, _threshold(365, "DAYS")),
        (ROTATION, _threshold(30, "DAYS")),
    ],
    ids=["12-hours", "720-minutes", "half-day", "rotation-365-days", "rotation-30-days"],
)
def test_thresholds_up_to_the_limit_count(prod_run: Any, shape: str, alert: str, threshold: Any) -> None:
    resources = shape_of(mutate(prod_run.resources, alert, {"thresholdConfig": threshold}), shape)
    assert findings(RULE, resources) == []


def test_a_second_alert_with_a_fitting_threshold_covers_the_event(prod_run: Any) -> None:
    late = mutate(prod_run.resources, BEHIND, {"thresholdConfig": _threshold(7, "DAYS")})
    fitting = res(
        tokens.ATLAS_ALERT,
        "snapshot-behind-fitting",
        {**next(r for r in prod_run.resources if r.name == BEHIND).props},
        property_dependencies=next(r for r in prod_run.resources if r.name == BEHIND).property_dependencies,
    )
    assert failing(RULE, [*late, fitting]) == set()


def test_the_limits_are_tunable(prod_run: Any) -> None:
    resources = mutate(prod_run.resources, BEHIND, {"thresholdConfig": _threshold(1, "DAYS")})
    assert failing(RULE, resources) == {PROJECT}
    relaxed = PROD.with_config({"maxSnapshotBehindHours": 24})
    assert failing(RULE, resources, relaxed) == set()
    strict = PROD.with_config({"maxSnapshotBehindHours": 6})
    assert failing(RULE, prod_run.resources, strict) == {PROJECT}


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(
    "threshold",
    [UNKNOWN, {"operator": "GREATER_THAN", "threshold": UNKNOWN, "units": "HOURS"}],
    ids=["config", "value"],
)
def test_an_unknown_threshold_is_undecided(prod_run: Any, shape: str, threshold: Any) -> None:
    resources = shape_of(mutate(prod_run.resources, BEHIND, {"thresholdConfig": threshold}), shape)
    assert undecided(RULE, resources) == {PROJECT}
    assert failing(RULE, resources) == set()


# --- matchers: Atlas checks an alert only for targets matching every matcher --------------------------


def _matcher(operator: str, value: Any, field: str = "CLUSTER_NAME") -> dict[str, Any]:
    return {"matchers": [{"fieldName": field, "operator": operator, "value": value}]}


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(
    ("matchers", "fails"),
    [
        pytest.param(_matcher("EQUALS", "cartie-prod"), False, id="equals-own-cluster"),
        pytest.param(_matcher("EQUALS", "cartie-staging"), True, id="equals-another-cluster"),
        pytest.param(_matcher("NOT_EQUALS", "cartie-prod"), True, id="not-equals-own-cluster"),
        pytest.param(_matcher("STARTS_WITH", "cartie-"), False, id="starts-with"),
        pytest.param(_matcher("ENDS_WITH", "-staging"), True, id="ends-with-other"),
        pytest.param(_matcher("CONTAINS", "prod"), False, id="contains"),
        pytest.param(_matcher("NOT_CONTAINS", "prod"), True, id="not-contains"),
        pytest.param(_matcher("REGEX", "cartie-(prod|dr)"), False, id="regex-full-match"),
        pytest.param(_matcher("REGEX", "staging.*"), True, id="regex-no-match"),
        pytest.param(_matcher("REGEX", "("), True, id="regex-invalid"),
        pytest.param({"matchers": []}, False, id="no-matchers"),
    ],
)
def test_cluster_name_matchers(prod_run: Any, shape: str, matchers: dict[str, Any], fails: bool) -> None:
    resources = shape_of(mutate(prod_run.resources, SNAPSHOT_FAILED, matchers), shape)
    assert failing(RULE, resources) == ({PROJECT} if fails else set())
    assert undecided(RULE, resources) == set()


def test_a_matcher_that_excludes_the_cluster_is_named(prod_run: Any) -> None:
    resources = mutate(prod_run.resources, SNAPSHOT_FAILED, _matcher("EQUALS", "cartie-staging"))
    [finding] = findings(RULE, resources)
    assert finding.message == (
        "no enabled alert configuration with a notification for: CPS_SNAPSHOT_FAILED; CPS_SNAPSHOT_FAILED "
        f"alert {SNAPSHOT_FAILED} never fires for {CLUSTER}: its matcher CLUSTER_NAME EQUALS "
        "'cartie-staging' "
        "excludes 'cartie-prod'"
    )


def test_matchers_on_fields_atlas_assigns_are_undecided(prod_run: Any) -> None:
    resources = mutate(
        prod_run.resources, SNAPSHOT_FAILED, _matcher("EQUALS", "atlas-x-shard-0", "REPLICA_SET_NAME")
    )
    assert failing(RULE, resources) == set()
    assert undecided(RULE, resources) == {PROJECT}
    unknown_value = mutate(prod_run.resources, SNAPSHOT_FAILED, _matcher("EQUALS", UNKNOWN))
    assert undecided(RULE, unknown_value) == {PROJECT}


def test_matchers_are_judged_per_cluster(prod_run: Any) -> None:
    """A second backed-up cluster in the project: an alert matching only the first leaves it uncovered."""
    cluster = next(r for r in prod_run.resources if r.name == CLUSTER)
    second = mutate([cluster], CLUSTER, {"name": "cartie-analytics"})[0]
    second = type(second)(**{**second.__dict__, "urn": second.urn + "-2", "name": "atlas-cartie-analytics"})
    resources = [*mutate(prod_run.resources, SNAPSHOT_FAILED, _matcher("EQUALS", "cartie-prod")), second]
    [finding] = findings(RULE, resources)
    assert finding.message.startswith(
        "for atlas-cartie-analytics: no enabled alert configuration with a notification for: "
        "CPS_SNAPSHOT_FAILED"
    )
    assert "never fires for atlas-cartie-analytics" in finding.message


def test_matcher_fields_are_sdk_wire_names() -> None:
    import pulumi._types as pulumi_types
    import pulumi_mongodbatlas as atlas

    wire = set(pulumi_types.input_type_py_to_pulumi_names(atlas.AlertConfigurationMatcherArgs).values())
    assert {"fieldName", "operator", "value"} <= wire
    assert "matchers" in set(
        pulumi_types.input_type_py_to_pulumi_names(atlas.AlertConfigurationArgs).values()
    )
