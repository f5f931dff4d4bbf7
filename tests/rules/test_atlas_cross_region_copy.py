"""atlas-cross-region-copy: snapshots (and oplogs, with PITR) copied to a region other than the cluster's."""

from __future__ import annotations

from typing import Any

import pytest

from backstop.ground import tokens
from backstop.ground.resources import UNKNOWN
from backstop.policy.targets import PolicyTargets
from backstop.policy.values import MISSING
from tests.policy_support import (
    SHAPES,
    failing,
    findings,
    levels,
    mutate,
    named,
    res,
    shape_of,
    undecided,
    without,
)

RULE = "atlas-cross-region-copy"
CLUSTER = "atlas-cartie-prod"
SCHEDULE = "atlas-cartie-prod-backup-schedule"
COPY = "copySettings[0]"
PROD = PolicyTargets.for_environment("prod")


def _copy(region: Any, **extra: Any) -> dict[str, Any]:
    return {"cloudProvider": "AWS", "regionName": region, "shouldCopyOplogs": True, **extra}


DAILY_ITEMS = {"copyPolicyItems": [{"frequencyType": "daily", "retentionUnit": "days", "retentionValue": 7}]}
HOURLY_ITEMS = {
    "copyPolicyItems": [{"frequencyType": "hourly", "retentionUnit": "days", "retentionValue": 7}]
}


def test_shipped_stacks_pass(prod_run: Any, staging_run: Any, prod_preview_run: Any) -> None:
    assert failing(RULE, prod_run.resources) == set()
    assert failing(RULE, staging_run.resources, PolicyTargets.for_environment("staging")) == set()
    assert findings(RULE, prod_preview_run.resources) == []


CASES = [
    ("no-copy-settings", {"copySettings": MISSING}, True),
    ("empty-copy-settings", {"copySettings": []}, True),
    ("own-region", {f"{COPY}.regionName": "US_EAST_1"}, True),
    ("no-region", {f"{COPY}.regionName": MISSING}, True),
    ("copies-nothing", {f"{COPY}.copyPolicyItems": []}, True),
    # With copyPolicyItemsEnabled (the shipped schedule) Atlas ignores the deprecated frequencies.
    ("deprecated-frequencies-ignored", {COPY: _copy("US_WEST_2", frequencies=["HOURLY", "DAILY"])}, True),
    (
        "deprecated-frequencies",
        {"copyPolicyItemsEnabled": False, COPY: _copy("US_WEST_2", frequencies=["HOURLY", "DAILY"])},
        False,
    ),
    # Without copyPolicyItemsEnabled Atlas reads only frequencies: the copy policy items copy nothing.
    ("copy-items-without-the-mode", {"copyPolicyItemsEnabled": MISSING}, True),
    # Only monthly snapshots copied: copied oplogs need a copied snapshot inside the 7-day window to
    # replay onto, so a region loss loses up to 31 days.
    (
        "monthly-only",
        {
            f"{COPY}.copyPolicyItems": [
                {"frequencyType": "monthly", "retentionUnit": "months", "retentionValue": 12}
            ]
        },
        True,
    ),
    (
        "hourly-copied-but-not-taken",
        {
            "policyItemHourly": MISSING,
            f"{COPY}.copyPolicyItems": [
                {"frequencyType": "hourly", "retentionUnit": "days", "retentionValue": 7}
            ],
            f"{COPY}.shouldCopyOplogs": False,
        },
        True,
    ),
    ("last-n-snapshots", {COPY: _copy("US_WEST_2", lastNumberOfSnapshots=4)}, False),
    ("no-oplogs", {f"{COPY}.shouldCopyOplogs": False}, True),
    ("oplogs-unset", {f"{COPY}.shouldCopyOplogs": MISSING}, True),
    (
        "own-and-other",
        {"copySettings": [_copy("US_EAST_1", **DAILY_ITEMS), _copy("EU_WEST_1", **DAILY_ITEMS)]},
        False,
    ),
    (
        "oplogs-only-on-own-region",
        {
            "copySettings": [
                _copy("US_EAST_1", **DAILY_ITEMS),
                _copy("US_WEST_2", shouldCopyOplogs=False, **DAILY_ITEMS),
            ]
        },
        True,
    ),
]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(("changes", "fails"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_copy_settings(prod_run: Any, shape: str, changes: dict[str, Any], fails: bool) -> None:
    resources = shape_of(mutate(prod_run.resources, SCHEDULE, changes), shape)
    assert failing(RULE, resources) == ({SCHEDULE} if fails else set())


@pytest.mark.parametrize("shape", SHAPES)
def test_a_cluster_spanning_the_copy_region_has_no_copy_elsewhere(prod_run: Any, shape: str) -> None:
    first = named(prod_run.resources, CLUSTER).props["replicationSpecs"][0]["regionConfigs"][0]
    second = {
        "providerName": "AWS",
        "regionName": "US_WEST_2",
        "priority": 6,
        "electableSpecs": {"nodeCount": 2},
    }
    resources = mutate(prod_run.resources, CLUSTER, {"replicationSpecs[0].regionConfigs": [first, second]})
    resources = shape_of(resources, shape)
    assert failing(RULE, resources) == {SCHEDULE}
    [finding] = findings(RULE, resources)
    assert finding.message == (
        "no snapshot is copied out of the cluster's region(s) US_EAST_1, US_WEST_2: "
        "copySettings[0] copies to US_WEST_2, the cluster's own region"
    )


def test_oplogs_are_needed_only_with_point_in_time_recovery(prod_run: Any) -> None:
    no_oplogs = mutate(prod_run.resources, SCHEDULE, {f"{COPY}.shouldCopyOplogs": False})
    [finding] = findings(RULE, no_oplogs)
    assert finding.message.startswith("point-in-time recovery is on but the copy to US_WEST_2 does not set")
    assert failing(RULE, mutate(no_oplogs, CLUSTER, {"pitEnabled": False})) == set()
    assert failing(RULE, no_oplogs, PolicyTargets.for_environment("prod", require_oplog_copy=False)) == set()


@pytest.mark.parametrize("shape", SHAPES)
def test_legacy_cluster_regions_and_join_by_value(shape: str) -> None:
    project = {"projectId": "5f0000000000000000000001"}
    stack = [
        res(
            tokens.ATLAS_LEGACY_CLUSTER,
            "legacy",
            {"name": "old", "providerRegionName": "US_EAST_1", **project},
        ),
        res(
            tokens.ATLAS_BACKUP_SCHEDULE,
            "old-ok",
            {
                "clusterName": "old",
                "copyPolicyItemsEnabled": True,
                # No policy items: Atlas's default policy, hourly every 6 hours, is what is copied.
                "copySettings": [_copy("US_WEST_2", **HOURLY_ITEMS)],
                **project,
            },
        ),
        res(
            tokens.ATLAS_BACKUP_SCHEDULE,
            "old-same-region",
            {"clusterName": "old", "copySettings": [_copy("US_EAST_1", **DAILY_ITEMS)], **project},
        ),
    ]
    assert failing(RULE, shape_of(stack, shape)) == {"old-same-region"}


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(
    "changes",
    [
        {"copySettings": UNKNOWN},
        {f"{COPY}.regionName": UNKNOWN},
        {f"{COPY}.shouldCopyOplogs": UNKNOWN},
        {f"{COPY}.copyPolicyItems": UNKNOWN},
    ],
    ids=["copy-settings", "region", "oplogs", "copy-items"],
)
def test_unknowns_are_undecided(prod_run: Any, shape: str, changes: dict[str, Any]) -> None:
    resources = shape_of(mutate(prod_run.resources, SCHEDULE, changes), shape)
    assert undecided(RULE, resources) == {SCHEDULE}
    assert failing(RULE, resources) == set()
    assert levels(RULE, resources, PolicyTargets.for_environment("prod", unknown_is_violation=True)) == {
        (SCHEDULE, "mandatory")
    }


@pytest.mark.parametrize("shape", SHAPES)
def test_a_cluster_declared_elsewhere_cannot_be_compared(prod_run: Any, shape: str) -> None:
    resources = shape_of(without(prod_run.resources, CLUSTER), shape)
    assert undecided(RULE, resources) == {SCHEDULE}
    [finding] = findings(RULE, resources)
    assert finding.message == (
        "cluster 'cartie-prod' is not declared in this stack, so its regions cannot be compared with the "
        "copy regions"
    )


def test_unknown_cluster_region_is_undecided(prod_run: Any) -> None:
    resources = mutate(
        prod_run.resources, CLUSTER, {"replicationSpecs[0].regionConfigs[0].regionName": UNKNOWN}
    )
    assert undecided(RULE, resources) == {SCHEDULE}
    assert failing(RULE, resources) == set()


def test_staging_targets_make_it_advisory(staging_run: Any) -> None:
    name = "atlas-cartie-staging-backup-schedule"
    broken = mutate(staging_run.resources, name, {"copySettings": []})
    assert levels(RULE, broken, PolicyTargets.for_environment("staging")) == {(name, "advisory")}
    assert levels(RULE, broken, PROD) == {(name, "mandatory")}


ONLY_DAILY = {f"{COPY}.copyPolicyItems": DAILY_ITEMS["copyPolicyItems"]}


def test_copied_oplogs_bring_a_daily_copy_within_the_rpo(prod_run: Any) -> None:
    """Atlas: "You can use copied oplogs to perform continuous cloud backup from secondary regions"; a
    daily copy lies inside the 7-day restore window, so point-in-time restore there loses nothing."""
    daily = mutate(prod_run.resources, SCHEDULE, ONLY_DAILY)
    assert findings(RULE, daily) == []
    without_oplogs = mutate(daily, SCHEDULE, {f"{COPY}.shouldCopyOplogs": False})
    relaxed = PolicyTargets.for_environment("prod", require_oplog_copy=False)
    [finding] = findings(RULE, without_oplogs, relaxed)
    assert finding.message == (
        "copySettings[0] to US_WEST_2 copies a snapshot only every 1 d: a region loss loses up to 1 d, "
        "above the 6 h whole-cluster RPO"
    )
    # Without point-in-time recovery the copied oplogs have nothing to replay for.
    no_pit = mutate(daily, CLUSTER, {"pitEnabled": False})
    assert failing(RULE, no_pit) == {SCHEDULE}
    assert (
        failing(RULE, without_oplogs, relaxed.model_copy(update={"max_region_loss_rpo_hours": 24})) == set()
    )


def test_copy_items_without_copy_policy_mode_name_the_setting(prod_run: Any) -> None:
    [finding] = findings(RULE, mutate(prod_run.resources, SCHEDULE, {"copyPolicyItemsEnabled": MISSING}))
    assert (
        "copySettings[0] to US_WEST_2 sets copyPolicyItems or lastNumberOfSnapshots, which Atlas allows only "
        "when the schedule's copyPolicyItemsEnabled is true" in finding.message
    )


def test_hourly_copy_of_a_schedule_without_hourly_snapshots(prod_run: Any) -> None:
    changes = {"policyItemHourly": MISSING, f"{COPY}.copyPolicyItems": HOURLY_ITEMS["copyPolicyItems"]}
    [finding] = findings(RULE, mutate(prod_run.resources, SCHEDULE, changes))
    assert (
        "copies hourly snapshots, which the schedule does not take: it copies no snapshot" in finding.message
    )


def test_unknown_copy_mode_is_undecided(prod_run: Any) -> None:
    resources = mutate(prod_run.resources, SCHEDULE, {"copyPolicyItemsEnabled": UNKNOWN})
    assert failing(RULE, resources) == set()
    assert undecided(RULE, resources) == {SCHEDULE}


def test_copy_mode_and_items_are_sdk_wire_names() -> None:
    import pulumi._types as pulumi_types
    import pulumi_mongodbatlas as atlas

    def wire(cls: type) -> set[str]:
        return set(pulumi_types.input_type_py_to_pulumi_names(cls).values())

    assert "copyPolicyItemsEnabled" in wire(atlas.CloudBackupScheduleArgs)
    assert {"copyPolicyItems", "frequencies", "lastNumberOfSnapshots", "shouldCopyOplogs"} <= wire(
        atlas.CloudBackupScheduleCopySettingArgs
    )
    assert {"frequencyType", "retentionUnit", "retentionValue"} <= wire(
        atlas.CloudBackupScheduleCopySettingCopyPolicyItemArgs
    )
