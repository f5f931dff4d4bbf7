"""`backstop status` against AWS: moto in server mode (KMS, S3, CloudWatch) on a free local port.

moto stamps objects and deletion dates with the wall clock, so these tests measure at the wall clock (or
a fixed offset from it), not at the fixed `NOW` of the Atlas tests. moto does not replicate objects: a
test that needs the replica copies the object into the destination bucket itself, as S3 replication would.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from backstop.ground import tokens
from backstop.ground.resources import Resource
from backstop.operations.status.aws import S3_BASIS
from backstop.operations.status.rows import schema
from tests.fakes.moto_aws import client, moto_server
from tests.status_support import run_status, urn, write_export

SOURCE, REPLICA = "cartie-prod-media", "cartie-prod-media-us-west-2"
RULE = "copy-region"


@pytest.fixture(scope="module")
def server() -> Iterator[dict[str, str]]:
    with moto_server() as env:
        yield env


@pytest.fixture
def aws(server: dict[str, str]) -> Iterator[dict[str, str]]:
    """A clean moto state per test (moto's reset endpoint), then the server's environment."""
    import requests

    requests.post(server["AWS_ENDPOINT_URL"] + "/moto-api/reset", timeout=10)
    yield server


def key_resource(key_id: str, region: str = "us-east-1") -> Resource:
    return Resource.build(
        urn=urn(tokens.KMS_KEY, f"key-{key_id[:8]}"),
        type=tokens.KMS_KEY,
        props={"region": region, "enableKeyRotation": True},
        id=key_id,
    )


def bucket_resources(*, replicated: bool = True) -> list[Resource]:
    found = [
        Resource.build(
            urn=urn(tokens.S3_BUCKET, "media"),
            type=tokens.S3_BUCKET,
            props={"bucket": SOURCE, "region": "us-east-1"},
            id=SOURCE,
        ),
        Resource.build(
            urn=urn(tokens.S3_BUCKET, "media-replica"),
            type=tokens.S3_BUCKET,
            props={"bucket": REPLICA, "region": "us-west-2"},
            id=REPLICA,
        ),
    ]
    if replicated:
        found.append(
            Resource.build(
                urn=urn(tokens.S3_REPLICATION, "media-replication"),
                type=tokens.S3_REPLICATION,
                props={
                    "bucket": SOURCE,
                    "region": "us-east-1",
                    "rules": [
                        {
                            "id": RULE,
                            "status": "Enabled",
                            "destination": {"bucket": f"arn:aws:s3:::{REPLICA}"},
                        }
                    ],
                },
                id="media-replication_id",
            )
        )
    return found


def make_key(env: dict[str, str], *, rotation: bool = True) -> str:
    kms = client(env, "kms", "us-east-1")
    key_id: str = kms.create_key(Description="backstop prod")["KeyMetadata"]["KeyId"]
    if rotation:
        kms.enable_key_rotation(KeyId=key_id)
    return key_id


def make_buckets(env: dict[str, str], *, metrics: bool = True, replica_has_object: bool = True) -> None:
    east, west = client(env, "s3", "us-east-1"), client(env, "s3", "us-west-2")
    east.create_bucket(Bucket=SOURCE)
    west.create_bucket(Bucket=REPLICA, CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
    for s3, bucket in ((east, SOURCE), (west, REPLICA)):
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    destination: dict[str, Any] = {"Bucket": f"arn:aws:s3:::{REPLICA}", "StorageClass": "STANDARD"}
    if metrics:
        destination["Metrics"] = {"Status": "Enabled", "EventThreshold": {"Minutes": 15}}
        destination["ReplicationTime"] = {"Status": "Enabled", "Time": {"Minutes": 15}}
    east.put_bucket_replication(
        Bucket=SOURCE,
        ReplicationConfiguration={
            "Role": "arn:aws:iam::111122223333:role/replication",
            "Rules": [
                {
                    "ID": RULE,
                    "Priority": 1,
                    "Status": "Enabled",
                    "Filter": {"Prefix": ""},
                    "DeleteMarkerReplication": {"Status": "Enabled"},
                    "Destination": destination,
                }
            ],
        },
    )
    east.put_object(Bucket=SOURCE, Key="reviews/older.jpg", Body=b"1")
    east.put_object(Bucket=SOURCE, Key="reviews/newest.jpg", Body=b"2")
    west.put_object(Bucket=REPLICA, Key="reviews/older.jpg", Body=b"1")
    if replica_has_object:
        west.put_object(Bucket=REPLICA, Key="reviews/newest.jpg", Body=b"2")


def put_replication_metrics(env: dict[str, str], at: datetime, latency: float, pending: float) -> None:
    dims = [
        {"Name": "SourceBucket", "Value": SOURCE},
        {"Name": "DestinationBucket", "Value": REPLICA},
        {"Name": "RuleId", "Value": RULE},
    ]
    client(env, "cloudwatch", "us-east-1").put_metric_data(
        Namespace="AWS/S3",
        MetricData=[
            {
                "MetricName": "ReplicationLatency",
                "Dimensions": dims,
                "Timestamp": at,
                "Value": latency,
                "Unit": "Seconds",
            },
            {
                "MetricName": "OperationsPendingReplication",
                "Dimensions": dims,
                "Timestamp": at,
                "Value": pending,
                "Unit": "Count",
            },
        ],
    )


def aws_rows(outcome: Any) -> dict[tuple[str, str], dict[str, Any]]:
    return {key: row for key, row in outcome.rows().items() if key[1].startswith(("kms:", "s3:"))}


def status(
    monkeypatch: Any, tmp_path: Path, env: dict[str, str], resources: list[Resource], now: datetime
) -> Any:
    return run_status(monkeypatch, write_export(tmp_path, resources), env, now=now)


def test_clean_aws_estate_every_objective_ok(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, aws: dict[str, str]
) -> None:
    now = datetime.now(UTC)
    key_id = make_key(aws)
    make_buckets(aws)
    put_replication_metrics(aws, now - timedelta(minutes=10), latency=120.0, pending=3.0)
    outcome = status(monkeypatch, tmp_path, aws, [key_resource(key_id), *bucket_resources()], now)
    jsonschema.validate(outcome.json(), schema(), format_checker=jsonschema.FormatChecker())
    rows = aws_rows(outcome)
    key = f"kms:us-east-1:{key_id}"
    link = f"s3:{SOURCE} → {REPLICA}"
    assert {k: r["status"] for k, r in rows.items()} == {
        ("kms-key-state", key): "ok",
        ("kms-key-rotation", key): "ok",
        ("s3-versioning", f"s3:{SOURCE}"): "ok",
        ("s3-versioning", f"s3:{REPLICA}"): "ok",
        ("s3-replication-lag", link): "ok",
        ("s3-replication-sample", link): "ok",
    }, outcome.stdout
    lag = rows[("s3-replication-lag", link)]
    assert (lag["seconds"], lag["value"], lag["measured"]) == (120.0, 3.0, "2 min, 3 pending")
    assert rows[("s3-replication-sample", link)]["measured"] == "reviews/newest.jpg: present in destination"
    assert outcome.code == 0, outcome.stdout


def test_a_key_pending_deletion_is_a_breach_with_its_date(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, aws: dict[str, str]
) -> None:
    now = datetime.now(UTC)
    key_id = make_key(aws)
    deletion = client(aws, "kms", "us-east-1").schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    outcome = status(monkeypatch, tmp_path, aws, [key_resource(key_id)], now)
    row = outcome.rows()[("kms-key-state", f"kms:us-east-1:{key_id}")]
    assert (row["status"], row["measured"]) == ("breach", "PendingDeletion")
    when = deletion["DeletionDate"].astimezone(UTC)
    assert f"scheduled for deletion on {when:%Y-%m-%d %H:%M} UTC" in row["reason"]
    assert row["evidence"]["timestamp"].startswith(f"{when:%Y-%m-%dT%H:%M}")
    assert outcome.code == 1


def test_a_disabled_key_and_rotation_off_are_breaches(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, aws: dict[str, str]
) -> None:
    now = datetime.now(UTC)
    key_id = make_key(aws, rotation=False)
    client(aws, "kms", "us-east-1").disable_key(KeyId=key_id)
    outcome = status(monkeypatch, tmp_path, aws, [key_resource(key_id)], now)
    rows = outcome.rows()
    assert rows[("kms-key-state", f"kms:us-east-1:{key_id}")]["measured"] == "Disabled"
    assert rows[("kms-key-state", f"kms:us-east-1:{key_id}")]["status"] == "breach"
    assert rows[("kms-key-rotation", f"kms:us-east-1:{key_id}")]["status"] == "breach"


def test_suspended_versioning_is_a_breach(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, aws: dict[str, str]
) -> None:
    now = datetime.now(UTC)
    make_buckets(aws)
    client(aws, "s3", "us-west-2").put_bucket_versioning(
        Bucket=REPLICA, VersioningConfiguration={"Status": "Suspended"}
    )
    outcome = status(monkeypatch, tmp_path, aws, bucket_resources(replicated=False), now)
    rows = outcome.rows()
    assert (
        rows[("s3-versioning", f"s3:{REPLICA}")]["status"],
        rows[("s3-versioning", f"s3:{REPLICA}")]["measured"],
    ) == (
        "breach",
        "Suspended",
    )
    assert rows[("s3-versioning", f"s3:{SOURCE}")]["status"] == "ok"


def test_replication_latency_past_an_hour_is_a_breach(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, aws: dict[str, str]
) -> None:
    now = datetime.now(UTC)
    make_buckets(aws)
    put_replication_metrics(aws, now - timedelta(minutes=20), latency=5400.0, pending=1200.0)
    outcome = status(monkeypatch, tmp_path, aws, bucket_resources(), now)
    row = outcome.rows()[("s3-replication-lag", f"s3:{SOURCE} → {REPLICA}")]
    assert (row["status"], row["seconds"], row["value"]) == ("breach", 5400.0, 1200.0)


def test_replication_metrics_off_is_unknown_and_says_how_to_turn_them_on(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, aws: dict[str, str]
) -> None:
    now = datetime.now(UTC)
    make_buckets(aws, metrics=False)
    outcome = status(monkeypatch, tmp_path, aws, bucket_resources(), now)
    row = outcome.rows()[("s3-replication-lag", f"s3:{SOURCE} → {REPLICA}")]
    assert row["status"] == "unknown"
    assert row["reason"].startswith(f"metrics-off: rule {RULE} has no replication metrics")
    assert "Metrics {Status: Enabled" in row["reason"]
    assert outcome.code == 1


def test_newest_object_missing_from_the_replica_after_an_hour_is_a_breach(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, aws: dict[str, str]
) -> None:
    make_buckets(aws, replica_has_object=False)
    later = datetime.now(UTC) + timedelta(hours=2)  # the object was written two hours before this check
    put_replication_metrics(aws, later - timedelta(minutes=10), latency=60.0, pending=0.0)
    outcome = status(monkeypatch, tmp_path, aws, bucket_resources(), later)
    row = outcome.rows()[("s3-replication-sample", f"s3:{SOURCE} → {REPLICA}")]
    assert row["status"] == "breach"
    assert row["measured"] == "reviews/newest.jpg: missing from destination"

    # Written a minute ago and not there yet: replication is still within its hour.
    outcome = status(monkeypatch, tmp_path, aws, bucket_resources(), datetime.now(UTC) + timedelta(minutes=1))
    assert outcome.rows()[("s3-replication-sample", f"s3:{SOURCE} → {REPLICA}")]["status"] == "ok"


def test_unreachable_aws_leaves_every_objective_of_each_key_and_bucket_unknown(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from tests.fakes.moto_aws import CREDENTIALS, free_port

    env = {**CREDENTIALS, "AWS_ENDPOINT_URL": f"http://127.0.0.1:{free_port()}"}
    resources = [key_resource("mrk-0123"), *bucket_resources()]
    outcome = status(monkeypatch, tmp_path, env, resources, datetime.now(UTC))
    rows = aws_rows(outcome)
    key, link = "kms:us-east-1:mrk-0123", f"s3:{SOURCE} → {REPLICA}"
    # Each objective a probe would measure, named in advance: rotation and the replication rows too.
    assert {k: r["status"] for k, r in rows.items()} == {
        ("kms-key-state", key): "unknown",
        ("kms-key-rotation", key): "unknown",
        ("s3-versioning", f"s3:{SOURCE}"): "unknown",
        ("s3-versioning", f"s3:{REPLICA}"): "unknown",
        ("s3-replication-lag", link): "unknown",
        ("s3-replication-sample", link): "unknown",
    }, outcome.stdout
    assert rows[("kms-key-state", key)]["reason"].startswith("unreachable: AWS kms:DescribeKey")
    assert rows[("kms-key-rotation", key)]["reason"].startswith("unreachable: AWS kms:GetKeyRotationStatus")
    lag = rows[("s3-replication-lag", link)]
    assert lag["reason"].startswith("unreachable: AWS s3:GetReplicationConfiguration")
    assert (lag["target"], lag["basis"]) == ("≤ 1 h", S3_BASIS)
    assert outcome.code == 1


def test_a_replication_config_the_stack_gives_no_destination_is_unknown_on_the_bucket(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from tests.fakes.moto_aws import CREDENTIALS, free_port

    env = {**CREDENTIALS, "AWS_ENDPOINT_URL": f"http://127.0.0.1:{free_port()}"}
    resources = [
        r
        if r.type != tokens.S3_REPLICATION
        else Resource.build(urn=r.urn, type=r.type, props={"bucket": SOURCE})
        for r in bucket_resources()
    ]
    outcome = status(monkeypatch, tmp_path, env, resources, datetime.now(UTC))
    assert {k for k, r in aws_rows(outcome).items() if k[1] == f"s3:{SOURCE}"} == {
        ("s3-versioning", f"s3:{SOURCE}"),
        ("s3-replication-lag", f"s3:{SOURCE}"),
        ("s3-replication-sample", f"s3:{SOURCE}"),
    }


def test_kms_denied_and_s3_and_cloudwatch_throttled_are_unknown_with_the_reason_never_ok(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, aws: dict[str, str]
) -> None:
    """A local endpoint in front of moto answers DescribeKey with AccessDeniedException, the newest-object
    listing with S3's SlowDown and GetMetricStatistics with CloudWatch's Throttling; every other call
    reaches moto. botocore retries the throttled calls (their waits skipped here) and gives up."""
    from botocore.retries.standard import ExponentialBackoff

    from backstop.clients.aws import MAX_ATTEMPTS
    from tests.fakes.moto_aws import cloudwatch_throttled, fault_proxy, kms_denied, s3_slow_down

    monkeypatch.setattr(ExponentialBackoff, "delay_amount", lambda self, context: 0.0)
    now = datetime.now(UTC)
    key_id = make_key(aws)
    make_buckets(aws)
    put_replication_metrics(aws, now - timedelta(minutes=10), latency=120.0, pending=3.0)
    denied = kms_denied("DescribeKey", "kms:DescribeKey")
    slow = s3_slow_down(SOURCE, "list-type=2")
    throttled = cloudwatch_throttled("GetMetricStatistics")
    with fault_proxy(aws, [denied, slow, throttled]) as env:
        outcome = status(monkeypatch, tmp_path, env, [key_resource(key_id), *bucket_resources()], now)
    rows = aws_rows(outcome)
    key, link = f"kms:us-east-1:{key_id}", f"s3:{SOURCE} → {REPLICA}"
    assert {k: r["status"] for k, r in rows.items()} == {
        ("kms-key-state", key): "unknown",
        ("kms-key-rotation", key): "ok",  # GetKeyRotationStatus is allowed and answered
        ("s3-versioning", f"s3:{SOURCE}"): "ok",
        ("s3-versioning", f"s3:{REPLICA}"): "ok",
        ("s3-replication-lag", link): "unknown",
        ("s3-replication-sample", link): "unknown",
    }, outcome.stdout
    assert rows[("kms-key-state", key)]["reason"] == (
        "denied: AWS kms:DescribeKey (us-east-1): AccessDeniedException: needs IAM permission kms:DescribeKey"
    )
    assert rows[("s3-replication-sample", link)]["reason"] == (
        f"throttled: AWS s3:ListBucket (us-east-1): still throttled after {MAX_ATTEMPTS} attempts (SlowDown)"
    )
    assert rows[("s3-replication-lag", link)]["reason"] == (
        "throttled: AWS cloudwatch:GetMetricStatistics (us-east-1): still throttled after "
        f"{MAX_ATTEMPTS} attempts (Throttling)"
    )
    assert (denied.seen, slow.seen, throttled.seen) == (1, MAX_ATTEMPTS, MAX_ATTEMPTS)
    assert outcome.code == 1


def test_an_object_stamped_after_the_check_began_is_zero_old_not_negative(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, aws: dict[str, str]
) -> None:
    make_buckets(aws)
    before = datetime.now(UTC) - timedelta(minutes=10)  # S3's clock runs ahead of this one
    put_replication_metrics(aws, before - timedelta(minutes=5), latency=60.0, pending=0.0)
    outcome = status(monkeypatch, tmp_path, aws, bucket_resources(), before)
    row = outcome.rows()[("s3-replication-sample", f"s3:{SOURCE} → {REPLICA}")]
    assert (row["status"], row["seconds"]) == ("ok", 0.0)


def test_a_replication_config_whose_rules_are_all_disabled_is_a_breach_not_missing_rows(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, aws: dict[str, str]
) -> None:
    make_buckets(aws)
    east = client(aws, "s3", "us-east-1")
    config = east.get_bucket_replication(Bucket=SOURCE)["ReplicationConfiguration"]
    config["Rules"][0]["Status"] = "Disabled"
    east.put_bucket_replication(Bucket=SOURCE, ReplicationConfiguration=config)
    outcome = status(monkeypatch, tmp_path, aws, bucket_resources(), datetime.now(UTC))
    row = outcome.rows()[("s3-replication-lag", f"s3:{SOURCE}")]
    assert (row["status"], row["measured"]) == ("breach", "no enabled rule")
    assert outcome.code == 1
