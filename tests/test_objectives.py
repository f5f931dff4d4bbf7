"""`backstop report`: achieved RPO/RTO come from declared resources; one change flips one row."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from backstop.cli import main
from backstop.config import ObjectivesConfig
from backstop.config.stackfile import read_stack_file
from backstop.ground.resources import Resource
from backstop.policy.values import MISSING
from backstop.report.objectives import derive, human, measured_restore_times
from tests.conftest import ROOT
from tests.policy_support import mutate, without

SCHEDULE = "atlas-cartie-prod-backup-schedule"
# The application and infrastructure scenarios of the prod stack (see tests/test_app_objectives.py).
APP_ROWS = {
    "crashed_container": ("0 min", "3 min", True),
    "faulty_deployment": ("0 min", "15 min", True),
    "full_service_rebuild": ("0 min", "30 min", True),
    "zone_outage": ("0 min", "5 min", True),
    "region_outage": ("0 min", "1 h", True),
    "widget_delivery": ("0 min", "0 min", True),
    "cache_failure": ("0 min", "0 min", True),
}
CLUSTER = "atlas-cartie-prod"


@pytest.fixture(scope="module")
def objectives() -> ObjectivesConfig:
    return read_stack_file(ROOT, "prod").stack_config().objectives


def _rows(resources: list[Resource], objectives: ObjectivesConfig, **kw) -> dict[str, tuple[str, str, bool]]:
    report = derive(resources, objectives, stack="prod", **kw)
    return {s.key: (human(s.achieved_rpo), human(s.achieved_rto), s.met) for s in report.scenarios}


def test_prod_meets_every_seed_objective(prod_run, objectives: ObjectivesConfig) -> None:
    assert _rows(prod_run.resources, objectives) == {
        "single_document": ("0 min", "1 min", True),
        "single_collection": ("6 h", "1 h", True),
        # Oplogs are copied with the 6-hourly snapshots: point-in-time restore in the copy region.
        "whole_cluster": ("0 min", "2 h", True),
        "total_loss": ("7 d", "12 h", True),
        "object_storage": ("15 min", "1 h", True),
        "queue_messages": ("0 min", "1 h", True),
        **APP_ROWS,
    }


def _flipped(before: dict, after: dict) -> dict[str, tuple[str, str, bool]]:
    return {key: after[key] for key in after if after[key] != before[key]}


@pytest.mark.parametrize(
    ("name", "changes", "expected"),
    [
        # 12-hourly snapshots: the collection row (snapshot cadence) misses; the region row keeps
        # point-in-time restore from the copied oplogs.
        (
            SCHEDULE,
            {"policyItemHourly.frequencyInterval": 12.0},
            {"single_collection": ("12 h", "1 h", False)},
        ),
        # ... and without copied oplogs the region row copies the 12-hourly snapshots only.
        (
            SCHEDULE,
            {"policyItemHourly.frequencyInterval": 12.0, "copySettings[0].shouldCopyOplogs": False},
            {"single_collection": ("12 h", "1 h", False), "whole_cluster": ("12 h", "2 h", False)},
        ),
        # Point-in-time off: single documents fall back to the last 6-hourly snapshot, and the copied
        # oplogs have no point-in-time restore to serve.
        (
            CLUSTER,
            {"pitEnabled": False},
            {"single_document": ("6 h", "1 h", False), "whole_cluster": ("6 h", "2 h", True)},
        ),
        # No cross-region copy: a region outage has no mechanism at all.
        (SCHEDULE, {"copySettings": []}, {"whole_cluster": ("unbounded", "unbounded", False)}),
        # Copy to the cluster's own region is no copy.
        (
            SCHEDULE,
            {"copySettings[0].regionName": "US_EAST_1"},
            {"whole_cluster": ("unbounded", "unbounded", False)},
        ),
        # Copying only daily snapshots without oplogs: a region loss loses up to a day.
        (
            SCHEDULE,
            {
                "copySettings[0].copyPolicyItems": [
                    {"frequencyType": "daily", "retentionUnit": "days", "retentionValue": 7.0}
                ],
                "copySettings[0].shouldCopyOplogs": False,
            },
            {"whole_cluster": ("1 d", "2 h", False)},
        ),
        # Without oplogs the 6-hourly copies bound the loss.
        (SCHEDULE, {"copySettings[0].shouldCopyOplogs": False}, {"whole_cluster": ("6 h", "2 h", True)}),
        # Copying only monthly snapshots: the copied oplogs have no snapshot inside the window to replay on.
        (
            SCHEDULE,
            {
                "copySettings[0].copyPolicyItems": [
                    {"frequencyType": "monthly", "retentionUnit": "months", "retentionValue": 12.0}
                ]
            },
            {"whole_cluster": ("31 d", "2 h", False)},
        ),
        # Copy policy items without copyPolicyItemsEnabled: Atlas reads only frequencies, nothing is copied.
        (SCHEDULE, {"copyPolicyItemsEnabled": MISSING}, {"whole_cluster": ("unbounded", "unbounded", False)}),
        # Monthly export: the offsite copy is up to a month old.
        (SCHEDULE, {"export.frequencyType": "monthly"}, {"total_loss": ("31 d", "12 h", False)}),
        (SCHEDULE, {"autoExportEnabled": False}, {"total_loss": ("unbounded", "unbounded", False)}),
        # LRS storage does not survive a region loss.
        ("media-blobs", {"sku.name": "Standard_LRS"}, {"object_storage": ("unbounded", "unbounded", False)}),
        # S3 replication without Replication Time Control has no time bound.
        (
            "media-replication",
            {"rules[0].destination.replicationTime": MISSING},
            {"object_storage": ("unbounded", "unbounded", False)},
        ),
        # Replication that copies only one prefix leaves the rest of the bucket without a copy.
        (
            "media-replication",
            {"rules[0].filter.prefix": "thumbnails/"},
            {"object_storage": ("unbounded", "unbounded", False)},
        ),
        # Replication that skips SSE-KMS objects skips every object of a bucket encrypted with SSE-KMS.
        (
            "atlas-exports-replication",
            {"rules[0].sourceSelectionCriteria": MISSING},
            {"object_storage": ("unbounded", "unbounded", False)},
        ),
        # A replica that is not versioned receives nothing.
        (
            "media-replica-versioning",
            {"versioningConfiguration.status": "Suspended"},
            {"object_storage": ("unbounded", "unbounded", False)},
        ),
        # A queue that deletes itself when idle takes its dead letters with it.
        (
            "messaging-email-campaigns",
            {"autoDeleteOnIdle": "PT1H"},
            {"queue_messages": ("unbounded", "unbounded", False)},
        ),
        # A geo SKU on a premium block blob account is not available: no geo copy.
        (
            "media-blobs",
            {"sku.name": "Standard_GRS", "kind": "BlockBlobStorage"},
            {"object_storage": ("unbounded", "unbounded", False)},
        ),
        # A queue that drops expired messages loses them silently.
        (
            "messaging-email-campaigns",
            {"deadLetteringOnMessageExpiration": False},
            {"queue_messages": ("unbounded", "unbounded", False)},
        ),
    ],
)
def test_one_declared_change_flips_exactly_its_row(
    prod_run, objectives: ObjectivesConfig, name: str, changes: dict, expected: dict
) -> None:
    before = _rows(prod_run.resources, objectives)
    after = _rows(mutate(prod_run.resources, name, changes), objectives)
    assert _flipped(before, after) == expected


def test_missing_dead_letter_alert_flips_the_queue_row(prod_run, objectives: ObjectivesConfig) -> None:
    before = _rows(prod_run.resources, objectives)
    after = _rows(without(prod_run.resources, "messaging-dead-letter-alert"), objectives)
    assert _flipped(before, after) == {"queue_messages": ("unbounded", "unbounded", False)}


def test_a_tighter_target_flips_the_row_without_touching_resources(
    prod_run, objectives: ObjectivesConfig
) -> None:
    tighter = objectives.model_copy(
        update={
            "single_collection": objectives.single_collection.model_copy(update={"rpo": timedelta(hours=4)})
        }
    )
    rows = _rows(prod_run.resources, tighter)
    assert rows["single_collection"] == ("6 h", "1 h", False)
    assert sum(not met for _, _, met in rows.values()) == 1


def test_a_measured_drill_replaces_the_estimate(prod_run, objectives: ObjectivesConfig) -> None:
    measured = measured_restore_times(
        [
            {
                "mechanism": "snapshot_restore",
                "timeToRestoreSeconds": 9000,
                "finishedAt": "2026-05-18T12:00:00Z",
            },
            {
                "mechanism": "snapshot_restore",
                "timeToRestoreSeconds": 3000,
                "finishedAt": "2026-02-18T12:00:00Z",
            },
        ]
    )
    assert measured == {"snapshot_restore": timedelta(seconds=9000)}  # the latest drill wins
    report = derive(prod_run.resources, objectives, stack="prod", measured=measured)
    row = next(s for s in report.scenarios if s.key == "single_collection")
    assert (human(row.achieved_rto), row.rto_basis, row.met) == ("150 min", "measured by drill", False)


def test_report_cli_exit_codes_and_json(capsys: pytest.CaptureFixture[str], tmp_path) -> None:
    assert main(["report", "--stack", "prod", "--format", "json", "--project-dir", str(ROOT)]) == 0
    document = json.loads(capsys.readouterr().out)
    assert [s["scenario"] for s in document["scenarios"]] == [
        "single_document",
        "single_collection",
        "whole_cluster",
        "total_loss",
        "object_storage",
        "queue_messages",
        *APP_ROWS,
    ]
    assert document["summary"] == {"met": 13, "missed": 0}
    drill = tmp_path / "drill.json"
    drill.write_text(json.dumps({"mechanism": "cross_region_restore", "timeToRestoreSeconds": 5 * 3600}))
    assert main(["report", "--stack", "prod", "--drill-results", str(drill), "--project-dir", str(ROOT)]) == 1
    out = capsys.readouterr().out
    assert "| Whole-cluster loss (region outage) | ≤ 6 h | 0 min | ≤ 4 h | 5 h (measured by drill) |" in out
    assert out.rstrip().endswith("12 of 13 objectives met.")
    forged = tmp_path / "forged.json"
    forged.write_text(
        json.dumps(
            [
                {
                    "mechanism": "oplog_replay",
                    "timeToRestoreSeconds": 60,
                    "finishedAt": "2026-01-10T00:00:00Z",
                },
                {
                    "mechanism": "cross_region_restore",
                    "timeToRestoreSeconds": 3,
                    "finishedAt": "2099-01-01T00:00:00Z",
                },
            ]
        )
    )
    assert (
        main(["report", "--stack", "prod", "--drill-results", str(forged), "--project-dir", str(ROOT)]) == 2
    )
    out, err = capsys.readouterr()
    assert (out, err) == (
        "",
        f"backstop: {forged}: [1].finishedAt: 2099-01-01T00:00:00Z is after now plus 300 s of clock skew: "
        "a drill result from the future\n",
    )


def test_report_from_a_partial_preview_takes_the_stack_s_state(
    prod_run, capsys: pytest.CaptureFixture[str], tmp_path
) -> None:
    """Plain `pulumi preview --json` leaves unchanged resources out: `report --from` refuses it alone, and
    with `--state` (the stack's export) reports the whole stack, as `check` does."""
    from tests.policy_support import to_export, to_preview

    full = to_preview(prod_run.resources, op="same")
    [changed] = [s for s in full["steps"] if s["urn"].endswith("::" + SCHEDULE)]
    partial = {
        **full,
        "steps": [{**changed, "op": "update", "oldState": changed["newState"]}],
        "changeSummary": {"same": len(full["steps"]) - 1, "update": 1},
    }
    preview_path, state_path = tmp_path / "preview.json", tmp_path / "export.json"
    preview_path.write_text(json.dumps(partial), encoding="utf-8")
    state_path.write_text(json.dumps(to_export(prod_run.resources)), encoding="utf-8")
    args = ["report", "--stack", "prod", "--format", "json", "--project-dir", str(ROOT)]

    assert main([*args, "--from", str(preview_path)]) == 2
    assert "incomplete preview" in capsys.readouterr().err
    assert main([*args, "--from", str(preview_path), "--state", str(state_path)]) == 0
    from_documents = json.loads(capsys.readouterr().out)
    assert main(args) == 0
    assert from_documents == json.loads(capsys.readouterr().out)


def test_report_state_without_a_preview_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], tmp_path
) -> None:
    code = main(
        ["report", "--stack", "prod", "--state", str(tmp_path / "x.json"), "--project-dir", str(ROOT)]
    )
    assert code == 2
    assert (
        capsys.readouterr().err.strip() == "backstop: --state: applies to a partial preview given with --from"
    )
