"""atlas-copy-retention: copied daily/weekly/monthly snapshots are kept as long as the seeds require."""

from __future__ import annotations

from typing import Any

import pytest

from backstop.ground import tokens
from backstop.ground.resources import UNKNOWN
from backstop.policy.targets import PolicyTargets
from backstop.policy.values import MISSING
from backstop.program.mocks import ProgramRun
from tests.policy_support import SHAPES, failing, findings, levels, mutate, res, shape_of, undecided

RULE = "atlas-copy-retention"
PROD = PolicyTargets.for_environment("prod")
STAGING = PolicyTargets.for_environment("staging")
SCHEDULE = "atlas-cartie-prod-backup-schedule"
ITEMS = "copySettings[0].copyPolicyItems"


def test_shipped_stacks_pass(
    prod_run: ProgramRun, staging_run: ProgramRun, prod_preview_run: ProgramRun
) -> None:
    assert findings(RULE, prod_run.resources) == []
    assert findings(RULE, staging_run.resources, STAGING) == []
    assert findings(RULE, prod_preview_run.resources) == []


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(
    ("changes", "expected", "words"),
    [
        pytest.param(
            {f"{ITEMS}[1].retentionValue": 2},
            {SCHEDULE},
            "copySettings[0].copyPolicyItems[1] keeps daily copies in US_WEST_2 2 days; at least 7 days "
            "required",
            id="daily-2-days",
        ),
        pytest.param(
            {f"{ITEMS}[2].retentionValue": 1},
            {SCHEDULE},
            "keeps weekly copies in US_WEST_2 1 weeks; at least 4 weeks required",
            id="weekly-1-week",
        ),
        pytest.param(
            {f"{ITEMS}[3].retentionUnit": "days", f"{ITEMS}[3].retentionValue": 90},
            {SCHEDULE},
            "keeps monthly copies in US_WEST_2 90 days; at least 12 months required",
            id="monthly-90-days",
        ),
        pytest.param(
            {f"{ITEMS}[3].retentionUnit": "years", f"{ITEMS}[3].retentionValue": 1}, set(), "", id="1-year"
        ),
        pytest.param({f"{ITEMS}[0].retentionValue": 1}, set(), "", id="hourly-copies-have-no-seed-minimum"),
        pytest.param({f"{ITEMS}[1].retentionValue": -1}, {SCHEDULE}, "retentionValue is -1", id="negative"),
        pytest.param(
            {"copyPolicyItemsEnabled": MISSING, f"{ITEMS}[1].retentionValue": 2},
            set(),
            "",
            id="items-ignored-without-copy-policy-mode",
        ),
    ],
)
def test_variants(
    prod_run: ProgramRun, shape: str, changes: dict[str, Any], expected: set[str], words: str
) -> None:
    loaded = shape_of(mutate(prod_run.resources, SCHEDULE, changes), shape)
    assert failing(RULE, loaded) == expected
    assert undecided(RULE, loaded) == set()
    for finding in findings(RULE, loaded):
        assert words in finding.message


@pytest.mark.parametrize("shape", SHAPES)
def test_unknown_retention_is_undecided(prod_run: ProgramRun, shape: str) -> None:
    loaded = shape_of(mutate(prod_run.resources, SCHEDULE, {f"{ITEMS}[1].retentionValue": UNKNOWN}), shape)
    assert undecided(RULE, loaded) == {SCHEDULE}
    assert levels(RULE, loaded, PROD) == {(SCHEDULE, "advisory")}


def test_minimums_are_the_schedule_tunables() -> None:
    schedule = res(
        tokens.ATLAS_BACKUP_SCHEDULE,
        "s",
        {
            "copyPolicyItemsEnabled": True,
            "copySettings": [
                {
                    "regionName": "US_WEST_2",
                    "copyPolicyItems": [
                        {"frequencyType": "daily", "retentionUnit": "days", "retentionValue": 5}
                    ],
                }
            ],
        },
    )
    assert failing(RULE, [schedule]) == {"s"}
    assert (
        failing(RULE, [schedule], PolicyTargets.for_environment("prod", min_daily_retention_days=5)) == set()
    )
