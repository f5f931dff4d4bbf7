"""atlas-pitr-window: restoreWindowDays ≥ 7 and no longer than hourly snapshots are kept."""

from __future__ import annotations

from typing import Any

import pytest

from backstop.ground import tokens
from backstop.ground.resources import UNKNOWN, Resource
from backstop.policy.targets import PolicyTargets
from backstop.policy.values import MISSING
from tests.policy_support import SHAPES, failing, findings, levels, mutate, res, shape_of, undecided

RULE = "atlas-pitr-window"
SCHEDULE = "atlas-cartie-prod-backup-schedule"
POLICY = "atlas-backup-compliance-policy"
PROD = PolicyTargets.for_environment("prod")


def test_shipped_stacks_pass(prod_run: Any, staging_run: Any, prod_preview_run: Any) -> None:
    assert failing(RULE, prod_run.resources) == set()
    assert failing(RULE, staging_run.resources, PolicyTargets.for_environment("staging")) == set()
    assert findings(RULE, prod_preview_run.resources) == []


CASES = [
    ("window-5d", {"restoreWindowDays": 5}, True),
    ("window-unset", {"restoreWindowDays": MISSING}, True),
    ("window-zero", {"restoreWindowDays": 0}, True),
    ("window-not-a-number", {"restoreWindowDays": "a week"}, True),
    # 8 days of point-in-time restore need hourly snapshots kept 8 days; they are kept 7
    ("window-beyond-hourly-retention", {"restoreWindowDays": 8}, True),
    (
        "hourly-kept-2-weeks",
        {
            "restoreWindowDays": 10,
            "policyItemHourly.retentionValue": 2,
            "policyItemHourly.retentionUnit": "weeks",
        },
        False,
    ),
    ("hourly-kept-3-days", {"policyItemHourly.retentionValue": 3}, True),
]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("name", [SCHEDULE, POLICY])
@pytest.mark.parametrize(("changes", "fails"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_window(prod_run: Any, shape: str, name: str, changes: dict[str, Any], fails: bool) -> None:
    resources = shape_of(mutate(prod_run.resources, name, changes), shape)
    assert failing(RULE, resources) == ({name} if fails else set())


def test_messages(prod_run: Any) -> None:
    short = findings(RULE, mutate(prod_run.resources, SCHEDULE, {"restoreWindowDays": 5}))
    assert [f.message for f in short] == [
        "point-in-time restores reach back 5 days; at least 7 days required"
    ]
    long = findings(RULE, mutate(prod_run.resources, SCHEDULE, {"restoreWindowDays": 8}))
    assert [f.message for f in long] == [
        "restoreWindowDays 8 is longer than the 7 d hourly snapshots are kept (7 days): restores cannot "
        "reach the start of the window"
    ]


def test_no_hourly_item_is_left_to_the_hourly_rule(prod_run: Any) -> None:
    resources = mutate(prod_run.resources, SCHEDULE, {"policyItemHourly": MISSING})
    assert findings(RULE, resources) == []
    assert failing("atlas-hourly-snapshot-rpo", resources) == {SCHEDULE}


def test_floats_from_mocks_and_ints_from_json_read_the_same() -> None:
    def schedule(name: str, window: Any) -> Resource:
        hourly = {"frequencyInterval": 6, "retentionUnit": "days", "retentionValue": 7.0}
        return res(
            tokens.ATLAS_BACKUP_SCHEDULE, name, {"restoreWindowDays": window, "policyItemHourly": hourly}
        )

    stack = [schedule("float-7", 7.0), schedule("int-7", 7), schedule("float-6", 6.0), schedule("int-6", 6)]
    assert failing(RULE, stack) == {"float-6", "int-6"}


def test_minimum_window_is_tunable(prod_run: Any) -> None:
    five_days = mutate(prod_run.resources, SCHEDULE, {"restoreWindowDays": 5})
    relaxed = PolicyTargets.for_environment("prod").with_config({"minRestoreWindowDays": 3})
    assert failing(RULE, five_days, relaxed) == set()


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(
    "changes",
    [
        {"restoreWindowDays": UNKNOWN},
        {"policyItemHourly.retentionValue": UNKNOWN},
        {"policyItemHourly": UNKNOWN},
    ],
    ids=["window", "hourly-retention", "hourly-item"],
)
def test_unknowns_are_undecided(prod_run: Any, shape: str, changes: dict[str, Any]) -> None:
    resources = shape_of(mutate(prod_run.resources, SCHEDULE, changes), shape)
    assert undecided(RULE, resources) == {SCHEDULE}
    assert failing(RULE, resources) == set()
    assert levels(RULE, resources, PolicyTargets.for_environment("prod", unknown_is_violation=True)) == {
        (SCHEDULE, "mandatory")
    }


def test_staging_targets_make_it_advisory(staging_run: Any) -> None:
    name = "atlas-cartie-staging-backup-schedule"
    broken = mutate(staging_run.resources, name, {"restoreWindowDays": 2})
    assert levels(RULE, broken, PolicyTargets.for_environment("staging")) == {(name, "advisory")}
    assert levels(RULE, broken, PROD) == {(name, "mandatory")}
