"""atlas-hourly-snapshot-rpo: hourly snapshots at most 6 h apart, at an interval Atlas accepts."""

from __future__ import annotations

from typing import Any

import pytest

from backstop.ground import tokens
from backstop.ground.resources import UNKNOWN, Resource
from backstop.policy.targets import PolicyTargets
from backstop.policy.values import MISSING
from tests.policy_support import SHAPES, failing, findings, levels, mutate, res, shape_of, undecided

RULE = "atlas-hourly-snapshot-rpo"
SCHEDULE = "atlas-cartie-prod-backup-schedule"
POLICY = "atlas-backup-compliance-policy"
INTERVAL = "policyItemHourly.frequencyInterval"
PROD = PolicyTargets.for_environment("prod")


def test_shipped_stacks_pass(prod_run: Any, staging_run: Any, prod_preview_run: Any) -> None:
    assert failing(RULE, prod_run.resources) == set()
    assert failing(RULE, staging_run.resources, PolicyTargets.for_environment("staging")) == set()
    assert findings(RULE, prod_preview_run.resources) == []


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("name", [SCHEDULE, POLICY])
@pytest.mark.parametrize(
    ("changes", "fails"),
    [
        ({INTERVAL: 1}, False),
        ({INTERVAL: 4.0}, False),
        ({INTERVAL: 8}, True),
        ({INTERVAL: 12}, True),
        ({INTERVAL: 5}, True),
        ({INTERVAL: 6.5}, True),
        ({INTERVAL: "every six hours"}, True),
        ({"policyItemHourly": MISSING}, True),
    ],
    ids=["1h", "4h", "8h", "12h", "5h-not-atlas", "6.5h", "not-a-number", "no-hourly-item"],
)
def test_interval(prod_run: Any, shape: str, name: str, changes: dict[str, Any], fails: bool) -> None:
    resources = shape_of(mutate(prod_run.resources, name, changes), shape)
    assert failing(RULE, resources) == ({name} if fails else set())


def test_messages_name_the_rpo_and_atlas_intervals(prod_run: Any) -> None:
    too_slow = findings(RULE, mutate(prod_run.resources, SCHEDULE, {INTERVAL: 8}))
    assert [f.message for f in too_slow] == [
        "hourly snapshots every 8 h can lose up to 8 h of data; the RPO target is 6 h"
    ]
    odd = findings(RULE, mutate(prod_run.resources, SCHEDULE, {INTERVAL: 5}))
    assert [f.message for f in odd] == [
        "policyItemHourly.frequencyInterval 5 is not one Atlas accepts (1, 2, 4, 6, 8, 12)"
    ]


def test_floats_from_mocks_and_ints_from_json_read_the_same() -> None:
    def schedule(name: str, interval: Any) -> Resource:
        hourly = {"frequencyInterval": interval, "retentionUnit": "days", "retentionValue": 7}
        return res(tokens.ATLAS_BACKUP_SCHEDULE, name, {"policyItemHourly": hourly})

    stack = [schedule("float-6", 6.0), schedule("int-6", 6), schedule("float-8", 8.0), schedule("int-8", 8)]
    assert failing(RULE, stack) == {"float-8", "int-8"}


def test_targets_are_tunable(prod_run: Any) -> None:
    every_8h = mutate(prod_run.resources, SCHEDULE, {INTERVAL: 8})
    relaxed = PolicyTargets.for_environment("prod").with_config({"maxSnapshotIntervalHours": 12})
    assert failing(RULE, every_8h, relaxed) == set()
    strict = PolicyTargets.for_environment("prod", allowed_hourly_intervals=[1, 2])
    assert failing(RULE, prod_run.resources, strict) == {SCHEDULE, POLICY}


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(
    "changes", [{INTERVAL: UNKNOWN}, {"policyItemHourly": UNKNOWN}], ids=["interval", "item"]
)
def test_unknown_interval_is_undecided(prod_run: Any, shape: str, changes: dict[str, Any]) -> None:
    resources = shape_of(mutate(prod_run.resources, SCHEDULE, changes), shape)
    assert undecided(RULE, resources) == {SCHEDULE}
    assert failing(RULE, resources) == set()
    assert levels(RULE, resources, PolicyTargets.for_environment("prod", unknown_is_violation=True)) == {
        (SCHEDULE, "mandatory")
    }


def test_staging_targets_make_it_advisory(staging_run: Any) -> None:
    name = "atlas-cartie-staging-backup-schedule"
    broken = mutate(staging_run.resources, name, {INTERVAL: 12})
    assert levels(RULE, broken, PolicyTargets.for_environment("staging")) == {(name, "advisory")}
    assert levels(RULE, broken, PROD) == {(name, "mandatory")}
