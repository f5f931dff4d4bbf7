"""atlas-snapshot-retention: 7 daily · 4 weekly · 12 monthly, never shrinking as snapshots get rarer."""

from __future__ import annotations

from typing import Any

import pytest

from backstop.ground import tokens
from backstop.ground.resources import UNKNOWN, Resource
from backstop.policy.targets import PolicyTargets
from backstop.policy.values import MISSING
from tests.policy_support import SHAPES, failing, findings, levels, mutate, res, shape_of, undecided

RULE = "atlas-snapshot-retention"
SCHEDULE = "atlas-cartie-prod-backup-schedule"
POLICY = "atlas-backup-compliance-policy"
PROD = PolicyTargets.for_environment("prod")


def _keep(value: Any, unit: str) -> dict[str, Any]:
    return {"retentionValue": value, "retentionUnit": unit}


def test_shipped_stacks_pass(prod_run: Any, staging_run: Any, prod_preview_run: Any) -> None:
    assert failing(RULE, prod_run.resources) == set()
    assert failing(RULE, staging_run.resources, PolicyTargets.for_environment("staging")) == set()
    assert findings(RULE, prod_preview_run.resources) == []


CASES = [
    ("daily-5d", {"policyItemDaily.retentionValue": 5}, True),
    ("daily-1w", {"policyItemDaily": {"frequencyInterval": 1, **_keep(1, "weeks")}}, False),
    ("no-daily", {"policyItemDaily": MISSING}, True),
    ("weekly-3w", {"policyItemWeeklies[0].retentionValue": 3}, True),
    ("weekly-28d", {"policyItemWeeklies[0]": {"frequencyInterval": 7, **_keep(28, "days")}}, False),
    ("no-weekly", {"policyItemWeeklies": []}, True),
    ("monthly-11mo", {"policyItemMonthlies[0].retentionValue": 11}, True),
    ("monthly-1y", {"policyItemMonthlies[0]": {"frequencyInterval": 40, **_keep(1, "years")}}, False),
    ("monthly-365d", {"policyItemMonthlies[0]": {"frequencyInterval": 40, **_keep(365, "days")}}, False),
    ("monthly-364d", {"policyItemMonthlies[0]": {"frequencyInterval": 40, **_keep(364, "days")}}, True),
    ("no-monthly", {"policyItemMonthlies": MISSING}, True),
    ("unit-fortnights", {"policyItemDaily.retentionUnit": "fortnights"}, True),
    ("value-zero", {"policyItemWeeklies[0].retentionValue": 0}, True),
    # hourly kept 10 days, daily only 7: retention shrinks as snapshots get rarer
    ("daily-shorter-than-hourly", {"policyItemHourly.retentionValue": 10}, True),
    (
        "yearly-shorter-than-monthly",
        {"policyItemYearlies": [{"frequencyInterval": 12, **_keep(6, "months")}]},
        True,
    ),
    ("yearly-7y", {"policyItemYearlies": [{"frequencyInterval": 12, **_keep(7, "years")}]}, False),
]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("name", [SCHEDULE, POLICY])
@pytest.mark.parametrize(("changes", "fails"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_retention(prod_run: Any, shape: str, name: str, changes: dict[str, Any], fails: bool) -> None:
    resources = shape_of(mutate(prod_run.resources, name, changes), shape)
    assert failing(RULE, resources) == ({name} if fails else set())


def test_messages_say_what_is_kept_and_what_is_required(prod_run: Any) -> None:
    short = findings(
        RULE, mutate(prod_run.resources, SCHEDULE, {"policyItemMonthlies[0].retentionValue": 11})
    )
    assert [f.message for f in short] == [
        "monthly snapshots are kept 11 months (policyItemMonthlies[0]); at least 12 months required"
    ]
    shrinking = findings(RULE, mutate(prod_run.resources, SCHEDULE, {"policyItemHourly.retentionValue": 10}))
    assert [f.message for f in shrinking] == [
        "policyItemDaily keeps daily snapshots 7 days, less than the 10 days of policyItemHourly: "
        "retention must not shrink as snapshots get rarer"
    ]


def test_floats_from_mocks_and_ints_from_json_read_the_same() -> None:
    def schedule(name: str, daily: Any) -> Resource:
        return res(
            tokens.ATLAS_BACKUP_SCHEDULE,
            name,
            {
                "policyItemDaily": {"frequencyInterval": 1, **_keep(daily, "days")},
                "policyItemWeeklies": [{"frequencyInterval": 7, **_keep(4, "weeks")}],
                "policyItemMonthlies": [{"frequencyInterval": 40, **_keep(12.0, "months")}],
            },
        )

    stack = [schedule("float-7", 7.0), schedule("int-7", 7), schedule("float-6", 6.0), schedule("int-6", 6)]
    assert failing(RULE, stack) == {"float-6", "int-6"}


def test_minimums_are_tunable(prod_run: Any) -> None:
    longer = PolicyTargets.for_environment("prod").with_config({"minMonthlyRetentionMonths": 13})
    assert failing(RULE, prod_run.resources, longer) == {SCHEDULE, POLICY}
    no_daily = mutate(prod_run.resources, SCHEDULE, {"policyItemDaily": MISSING})
    assert failing(RULE, no_daily, PolicyTargets.for_environment("prod", min_daily_retention_days=0)) == set()


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(
    "changes",
    [
        {"policyItemDaily.retentionValue": UNKNOWN},
        {"policyItemMonthlies[0].retentionUnit": UNKNOWN},
        {"policyItemWeeklies": UNKNOWN},
    ],
    ids=["daily-value", "monthly-unit", "weeklies"],
)
def test_unknown_retention_is_undecided(prod_run: Any, shape: str, changes: dict[str, Any]) -> None:
    resources = shape_of(mutate(prod_run.resources, SCHEDULE, changes), shape)
    assert undecided(RULE, resources) == {SCHEDULE}
    assert failing(RULE, resources) == set()
    assert levels(RULE, resources, PolicyTargets.for_environment("prod", unknown_is_violation=True)) == {
        (SCHEDULE, "mandatory")
    }


def test_staging_targets_make_it_advisory(staging_run: Any) -> None:
    name = "atlas-cartie-staging-backup-schedule"
    broken = mutate(staging_run.resources, name, {"policyItemDaily.retentionValue": 2})
    assert levels(RULE, broken, PolicyTargets.for_environment("staging")) == {(name, "advisory")}
    assert levels(RULE, broken, PROD) == {(name, "mandatory")}
