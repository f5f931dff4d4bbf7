"""`backstop check` on real published Pulumi documents (`tests/data/published/SOURCES.md` says where each
comes from) and on variants derived from them, one per way a real document can differ."""

from __future__ import annotations

import codecs
import copy
import json
from pathlib import Path
from typing import Any

import pytest

from backstop.cli import main
from tests.conftest import ROOT

PUBLISHED = ROOT / "tests" / "data" / "published"
BUCKET = "urn:pulumi:dev::sample::aws:s3/bucket:Bucket::docs"
S3_RULES = {
    "s3-cross-region-replication",
    "s3-encryption-kms",
    "s3-public-access-block",
    "s3-versioning-enabled",
}


def load(name: str) -> Any:
    return json.loads((PUBLISHED / name).read_text(encoding="utf-8"))


def run(capsys: pytest.CaptureFixture[str], path: Path, *argv: str) -> tuple[int, dict[str, Any], str]:
    code = main(["check", str(path), "--format", "json", *argv])
    out, err = capsys.readouterr()
    return code, (json.loads(out) if out else {}), err


def outcome(document: dict[str, Any]) -> tuple[int, int, set[tuple[str, str, str]]]:
    summary = document["summary"]
    return (
        summary["resources"],
        summary["resourcesChecked"],
        {(v["policy"], v["urn"], v["level"]) for v in document["violations"]},
    )


def write(tmp_path: Path, name: str, document: Any) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(document, indent=4), encoding="utf-8")
    return path


UNPROTECTED_DOCS = {(rule, BUCKET, "mandatory") for rule in S3_RULES}


@pytest.mark.parametrize(
    ("name", "resources"),
    [
        ("stratify-sample-preview-creates.json", 16),
        ("stratify-sample-export.json", 17),
        ("stratify-sample-preview-update.json", 16),
        ("stratify-sample-preview-deletes.json", 2),  # 14 deleted resources are not judged
    ],
)
def test_the_published_sample_stack(capsys, name: str, resources: int) -> None:
    code, out, err = run(capsys, PUBLISHED / name)
    assert (code, err) == (1, "")
    # One private bucket with the provider's defaults: SSE-S3 (not KMS), versioning off, no replication.
    assert outcome(out) == (resources, 1, UNPROTECTED_DOCS)


def test_the_export_is_judged_on_the_buckets_deployed_outputs(capsys) -> None:
    _, out, _ = run(capsys, PUBLISHED / "stratify-sample-export.json")
    messages = {v["policy"]: v["message"] for v in out["violations"]}
    # The program never mentions encryption; the outputs say AES256, and that is what is judged.
    assert "AES256" in messages["s3-encryption-kms"]


@pytest.mark.parametrize(
    "name",
    [
        "pulumi-checkpoint-v0.json",
        "pulumi-checkpoint-v1.json",
        "pulumi-checkpoint-secrets.json",
        "pulumi-checkpoint-v4.json",
    ],
)
def test_pulumis_own_checkpoints_of_every_version(capsys, name: str) -> None:
    code, out, err = run(capsys, PUBLISHED / name)
    assert (code, err) == (0, "")
    # The 30 resources Pulumi's own test counts; none (SNS, Lambda, IAM…) is a type backstop checks.
    assert outcome(out) == (30, 0, set())
    assert out["summary"]["stack"] == "foo"


def test_a_checkpoint_pulumi_refuses_is_refused(capsys) -> None:
    path = PUBLISHED / "pulumi-checkpoint-v4-unsupported-feature.json"
    code, out, err = run(capsys, path)
    assert (code, out) == (2, {})
    assert err.strip() == (
        f"backstop: {path}: features: this stack's deployment needs support for the following features: "
        "unsupported-feature (Pulumi refuses it too)"
    )


def test_a_failed_run_streamed_as_events_shows_its_failure(capsys) -> None:
    path = PUBLISHED / "pulumi-events-failed-update.json"
    code, out, err = run(capsys, path)
    assert (code, out) == (2, {})
    assert err.strip() == f"backstop: {path}: the preview failed: Resource test-x: update failed"


def test_a_streamed_preview_is_read(capsys) -> None:
    code, out, err = run(capsys, PUBLISHED / "pulumi-events-preview-aliases.json")
    assert (code, err) == (0, "")
    assert outcome(out) == (1, 0, set())
    assert out["summary"]["stack"] == "test"


# --- variants derived from the published documents ------------------------------------------------------


def _without_sames(preview: dict[str, Any]) -> dict[str, Any]:
    """The same preview as plain `pulumi preview --json` writes it: only the root stack of the `same`
    steps is shown (display.go `shouldShow`), `changeSummary` unchanged."""
    derived = copy.deepcopy(preview)
    derived["steps"] = [
        s for s in derived["steps"] if s["op"] != "same" or s["urn"].split("::")[2] == "pulumi:pulumi:Stack"
    ]
    return derived


def test_the_update_preview_without_show_sames_is_refused(capsys, tmp_path) -> None:
    path = write(tmp_path, "preview.json", _without_sames(load("stratify-sample-preview-update.json")))
    code, out, err = run(capsys, path)
    assert (code, out) == (2, {})
    assert "incomplete preview: 14 unchanged resources counted in changeSummary.same are not in steps" in err


def test_the_update_preview_without_show_sames_over_the_export(capsys, tmp_path) -> None:
    path = write(tmp_path, "preview.json", _without_sames(load("stratify-sample-preview-update.json")))
    code, out, _ = run(capsys, path, "--state", str(PUBLISHED / "stratify-sample-export.json"))
    assert code == 1
    # The export's 17 resources, with the updated function's new state: the hidden bucket is found.
    assert outcome(out) == (17, 1, UNPROTECTED_DOCS)


@pytest.mark.parametrize(
    ("bom", "encoding"),
    [(codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be")],
)
def test_the_export_as_windows_writes_it(capsys, tmp_path, bom: bytes, encoding: str) -> None:
    path = tmp_path / "export.json"
    text = (PUBLISHED / "stratify-sample-export.json").read_text(encoding="utf-8").replace("\n", "\r\n")
    path.write_bytes(bom + text.encode(encoding))
    code, out, _ = run(capsys, path)
    assert code == 1
    assert outcome(out) == (17, 1, UNPROTECTED_DOCS)


def _export_with_bucket(change: Any) -> dict[str, Any]:
    export = load("stratify-sample-export.json")
    bucket = next(r for r in export["deployment"]["resources"] if r["urn"] == BUCKET)
    change(bucket)
    return export


def test_versioning_deployed_on_is_not_reported_missing(capsys, tmp_path) -> None:
    def enable(bucket: dict[str, Any]) -> None:
        bucket["outputs"]["versioning"] = {"enabled": True, "mfaDelete": False}

    code, out, _ = run(capsys, write(tmp_path, "export.json", _export_with_bucket(enable)))
    assert code == 1
    assert {v["policy"] for v in out["violations"]} == S3_RULES - {"s3-versioning-enabled"}


def test_versioning_declared_but_suspended_in_the_cloud_is_reported(capsys, tmp_path) -> None:
    def drift(bucket: dict[str, Any]) -> None:
        bucket["inputs"]["versioning"] = {"enabled": True}

    _, out, _ = run(capsys, write(tmp_path, "export.json", _export_with_bucket(drift)))
    (versioning,) = [v for v in out["violations"] if v["policy"] == "s3-versioning-enabled"]
    assert versioning["urn"] == BUCKET and versioning["level"] == "mandatory"
    assert not versioning["message"].endswith("applies this one)")  # the deployed value is what fails


def test_a_version_4_export_with_a_tainted_bucket(capsys, tmp_path) -> None:
    export = _export_with_bucket(lambda bucket: bucket.update(taint=True))
    export.update(version=4, features=["taint"])
    code, out, _ = run(capsys, write(tmp_path, "export.json", export))
    assert code == 1
    assert outcome(out) == (17, 1, UNPROTECTED_DOCS)


def test_the_bucket_replaced_with_replacement_steps_is_judged_once(capsys, tmp_path) -> None:
    preview = load("stratify-sample-preview-update.json")
    bucket_step = next(s for s in preview["steps"] if s["urn"] == BUCKET)
    new_state = bucket_step["newState"]
    old_state = {**new_state, "id": "docs-old"}
    preview["steps"][preview["steps"].index(bucket_step)] = {
        "op": "replace",
        "urn": BUCKET,
        "oldState": old_state,
        "newState": new_state,
        "detailedDiff": None,
    }
    preview["steps"] += [
        {
            "op": "create-replacement",
            "urn": BUCKET,
            "oldState": old_state,
            "newState": new_state,
            "detailedDiff": None,
        },
        {
            "op": "delete-replaced",
            "urn": BUCKET,
            "oldState": {**old_state, "delete": True},
            "detailedDiff": None,
        },
    ]
    preview["changeSummary"] = {"same": 14, "update": 1, "replace": 1}
    code, out, _ = run(capsys, write(tmp_path, "preview.json", preview))
    assert code == 1
    assert sorted(v["policy"] for v in out["violations"]) == sorted(S3_RULES)
    assert outcome(out) == (16, 1, UNPROTECTED_DOCS)


def test_the_bucket_only_read_by_the_stack_never_fails_it(capsys, tmp_path) -> None:
    preview = load("stratify-sample-preview-update.json")
    next(s for s in preview["steps"] if s["urn"] == BUCKET)["op"] = "read"
    preview["changeSummary"] = {"same": 14, "read": 1, "update": 1}
    code, out, _ = run(capsys, write(tmp_path, "preview.json", preview))
    assert code == 0
    assert outcome(out) == (16, 1, {(rule, BUCKET, "advisory") for rule in S3_RULES})


def test_the_preview_that_failed_before_any_step(capsys, tmp_path) -> None:
    preview = load("stratify-sample-preview-creates.json")
    failed = {
        "config": preview["config"],
        "diagnostics": [
            {
                "urn": BUCKET,
                "prefix": "error: ",
                "message": "aws:s3/bucket:Bucket resource 'docs' has a problem: invalid bucket name\n",
                "severity": "error",
            }
        ],
        "duration": preview["duration"],
    }
    path = write(tmp_path, "preview.json", failed)
    code, _, err = run(capsys, path)
    assert code == 2
    assert err.strip() == (
        f"backstop: {path}: the preview failed: Bucket docs: aws:s3/bucket:Bucket resource 'docs' has a "
        "problem: invalid bucket name"
    )


def test_the_export_streamed_partially_as_events_is_refused(capsys, tmp_path) -> None:
    lines = (PUBLISHED / "pulumi-events-preview-aliases.json").read_text().splitlines()
    summary = json.loads(lines[3])
    summary["summaryEvent"]["resourceChanges"] = {"same": 3}
    lines[3] = json.dumps(summary)
    path = tmp_path / "events.json"
    path.write_text("\n".join(lines) + "\n")
    code, _, err = run(capsys, path)
    assert code == 2
    assert "incomplete preview: 2 unchanged resources counted in changeSummary.same are not in steps" in err


# --- classic pulumi-azure exports recorded by the provider's own upgrade tests --------------------------

AZ = "urn:pulumi:test::"
NAMESPACE = AZ + "servicebus::azure:servicebus/namespace:Namespace::exampleNamespace"
QUEUE = AZ + "servicebus::azure:servicebus/queue:Queue::exampleQueue"
SUBSCRIPTION = AZ + "servicebus::azure:servicebus/subscription:Subscription::exampleSubsn"


def test_the_classic_service_bus_export(capsys) -> None:
    code, out, _ = run(capsys, PUBLISHED / "pulumi-azure-servicebus-stack.json")
    assert code == 1
    assert outcome(out) == (
        8,
        4,  # namespace, queue, subscription, and the topic (servicebus-auto-delete-on-idle reads topics)
        {
            ("servicebus-dead-letter-alert", NAMESPACE, "mandatory"),
            ("servicebus-queue-dead-lettering", QUEUE, "mandatory"),
            ("servicebus-subscription-dead-lettering", SUBSCRIPTION, "mandatory"),
            # maxDeliveryCount 1 with the default 1-minute lock: dead-lettered on the first slow consumer.
            ("servicebus-delivery-window", SUBSCRIPTION, "mandatory"),
        },
    )
    messages = sorted(v["message"] for v in out["violations"] if v["urn"] == SUBSCRIPTION)
    # The provider wrote its default `deadLetteringOnFilterEvaluationError: true`: not reported.
    assert messages == [
        "deadLetteringOnMessageExpiration is False: expired messages are dropped instead of dead-lettered",
        "maxDeliveryCount 1 x lockDuration PT1M: a consumer slower than 1 min dead-letters a message after "
        "1 min, under the 3-minute retry window",
        "maxDeliveryCount is 1: a message is dead-lettered before 3 delivery attempts",
    ]


@pytest.mark.parametrize("name", ["pulumi-azure-storage-stack.json", "pulumi-azure-monitoring-stack.json"])
def test_the_classic_storage_account_exports(capsys, name: str) -> None:
    code, out, _ = run(capsys, PUBLISHED / name)
    account = next(v["urn"] for v in out["violations"])
    assert code == 1
    assert account.split("::")[2] == "azure:storage/account:Account"
    availability = {
        # The storage stack has no alert at all; the monitoring stack's alert watches another metric.
        "pulumi-azure-storage-stack.json": (
            "no availability alert (Availability) is scoped to this storage account"
        ),
        "pulumi-azure-monitoring-stack.json": "alert alert watches none of Availability",
    }[name]
    assert {v["policy"]: v["message"] for v in out["violations"]} == {
        "app-availability-alert-slack": availability,
        "azure-blob-soft-delete": "blobProperties.deleteRetentionPolicy is not set: blob soft delete is off",
        "azure-storage-geo-redundant": (
            "accountReplicationType is 'LRS', not geo-redundant (one of GRS, GZRS, RAGRS, RAGZRS)"
        ),
        "azure-storage-public-access-off": (
            "allowNestedItemsToBePublic is True: anonymous blob access is allowed"
        ),
        "azure-blob-recovery-scope": (
            "container soft delete (blobProperties.containerDeleteRetentionPolicy) is off: deleting a "
            "container deletes its blobs for good, which blob soft delete does not cover (at least 7 days "
            "needed); blob versioning (blobProperties.versioningEnabled) is off: an overwritten blob keeps "
            "no earlier version"
        ),
    }


def test_a_dead_letter_alert_made_from_the_recorded_alert_covers_the_namespace(capsys, tmp_path) -> None:
    bus = load("pulumi-azure-servicebus-stack.json")
    monitoring = load("pulumi-azure-monitoring-stack.json")
    alert = copy.deepcopy(
        next(r for r in monitoring["deployment"]["resources"] if r["type"].endswith("MetricAlert"))
    )
    namespace = next(r for r in bus["deployment"]["resources"] if r["urn"] == NAMESPACE)
    for state in (alert["inputs"], alert["outputs"]):
        state["scopes"] = [namespace["id"]]
        state["criterias"][0].update(
            metricName="DeadletteredMessages", metricNamespace="Microsoft.ServiceBus/namespaces"
        )
    alert["urn"] = AZ + "servicebus::azure:monitoring/metricAlert:MetricAlert::dead-letters"
    bus["deployment"]["resources"].append(alert)
    _, out, _ = run(capsys, write(tmp_path, "export.json", bus))
    assert ("servicebus-dead-letter-alert", NAMESPACE, "mandatory") not in outcome(out)[2]
    # The same alert left on its storage metric does not count.
    for state in (alert["inputs"], alert["outputs"]):
        state["criterias"][0]["metricName"] = "Transactions"
    _, out, _ = run(capsys, write(tmp_path, "export.json", bus))
    assert ("servicebus-dead-letter-alert", NAMESPACE, "mandatory") in outcome(out)[2]


def test_soft_delete_deployed_on_a_classic_account_is_not_reported_missing(capsys, tmp_path) -> None:
    export = load("pulumi-azure-storage-stack.json")
    account = next(
        r for r in export["deployment"]["resources"] if r["type"] == "azure:storage/account:Account"
    )
    account["outputs"]["blobProperties"]["deleteRetentionPolicy"] = {
        "days": 7,
        "permanentDeleteEnabled": False,
    }
    _, out, _ = run(capsys, write(tmp_path, "export.json", export))
    assert "azure-blob-soft-delete" not in {v["policy"] for v in out["violations"]}
