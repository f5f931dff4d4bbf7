"""AWS objectives, per key and bucket, over boto3 (`backstop.clients.aws`).

- `kms-key-state`: `DescribeKey` `KeyState` is `Enabled`; `PendingDeletion` is a breach naming its
  `DeletionDate` (the rules cannot see this: the pulumi-aws Key has no key-state property).
- `kms-key-rotation`: `GetKeyRotationStatus` on for each primary key (a replica follows its primary).
- `s3-versioning`: `GetBucketVersioning` `Status` is `Enabled`.
- `s3-replication-lag`: for each enabled rule of `GetBucketReplication`, CloudWatch `ReplicationLatency`
  (maximum over the last hour) and `OperationsPendingReplication`, against the 1 h RPO of other systems.
  Those metrics exist only where the rule's destination has `Metrics.Status: Enabled`; elsewhere the row
  is unknown and says how to turn them on.
- `s3-replication-sample`: the newest object of the source bucket: its `ReplicationStatus` (FAILED is a
  breach), or, where S3 reports none, whether the destination holds it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from backstop.clients.aws import AwsReader, as_datetime
from backstop.clients.cloud import CloudCallError
from backstop.ground import seeds, tokens
from backstop.ground.resources import Resource, is_unknown
from backstop.operations.status.probe import Objective, Probe, bind, measured_or_unknown
from backstop.operations.status.rows import Evidence, Row, duration

METRICS_WINDOW = timedelta(hours=1)
HOW_TO_ENABLE_METRICS = (
    "turn replication metrics on: in the rule's destination set Metrics {Status: Enabled, EventThreshold: "
    "{Minutes: 15}} (pulumi-aws BucketReplicationConfig rules[].destination.metrics), or S3 console → "
    "bucket → Management → Replication rules → Edit → Replication metrics"
)
KMS_BASIS = f"{seeds.SEED_BACKUP}: AES-256 with AWS KMS-managed keys"
S3_BASIS = f"{seeds.SEED_WISER}: AWS S3 file storage, RPO other systems 1 hour"


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and not is_unknown(value) and value else None


@dataclass(frozen=True)
class Key:
    key_id: str
    region: str
    replica: bool

    @property
    def label(self) -> str:
        return f"kms:{self.region}:{self.key_id}"


@dataclass(frozen=True)
class Bucket:
    name: str
    region: str
    replicated: bool
    # The destination buckets the stack's replication rules name (their live rules may differ).
    destinations: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return f"s3:{self.name}"


def _region(resource: Resource) -> str:
    return _text(resource.props.get("region")) or seeds.SOURCE_AWS_REGION


def keys(resources: list[Resource]) -> list[Key]:
    found = []
    for resource in resources:
        if resource.type in tokens.KMS_KEYS:
            key_id = _text(resource.props.get("keyId")) or _text(resource.id)
            if key_id:
                found.append(Key(key_id, _region(resource), resource.type == tokens.KMS_REPLICA_KEY))
    return found


def _destinations(resource: Resource) -> list[str]:
    """The destination bucket names of a BucketReplicationConfig's rules, where the export knows them."""
    rules = resource.props.get("rules")
    found = []
    for rule in rules if isinstance(rules, list) else []:
        destination = rule.get("destination") if isinstance(rule, dict) else None
        arn = _text(destination.get("bucket")) if isinstance(destination, dict) else None
        if arn:
            found.append(arn.removeprefix("arn:aws:s3:::"))
    return found


def buckets(resources: list[Resource]) -> dict[str, Bucket]:
    replicated: dict[str, list[str]] = {}
    for resource in resources:
        source = _text(resource.props.get("bucket")) if resource.type == tokens.S3_REPLICATION else None
        if source:
            replicated.setdefault(source, []).extend(_destinations(resource))
    found: dict[str, Bucket] = {}
    for resource in resources:
        if resource.type in tokens.S3_BUCKETS:
            name = _text(resource.props.get("bucket")) or _text(resource.id)
            if name:
                destinations = tuple(dict.fromkeys(replicated.get(name, [])))
                found[name] = Bucket(name, _region(resource), name in replicated, destinations)
    return found


def _lag_objective(resource: str) -> Objective:
    return Objective("s3-replication-lag", resource, f"≤ {duration(seeds.RPO_OTHER_SYSTEMS)}", S3_BASIS)


def _sample_objective(resource: str) -> Objective:
    return Objective(
        "s3-replication-sample", resource, f"replicated within {duration(seeds.RPO_OTHER_SYSTEMS)}", S3_BASIS
    )


def _replication_objectives(bucket: Bucket) -> tuple[Objective, ...]:
    """What the replication probe measures, per destination the stack names (the bucket alone where it
    names none): when GetReplicationConfiguration fails, these are its unknown rows."""
    resources = [f"{bucket.label} → {d}" for d in bucket.destinations] or [bucket.label]
    return tuple(o for r in resources for o in (_lag_objective(r), _sample_objective(r)))


def measure_key_state(aws: AwsReader, key: Key, now: datetime) -> list[Row]:
    described = aws.call("kms", key.region, "describe_key", "kms:DescribeKey", KeyId=key.key_id)
    meta = described.get("KeyMetadata", {})
    state = str(meta.get("KeyState"))
    call = Evidence(
        f"AWS kms:DescribeKey {key.key_id} ({key.region})", as_datetime(meta.get("CreationDate")), now
    )
    reason = ""
    if state == "PendingDeletion":
        when = as_datetime(meta.get("DeletionDate"))
        call = Evidence(call.call, when, now)
        reason = (
            f"scheduled for deletion on {when:%Y-%m-%d %H:%M} UTC: everything encrypted with it becomes "
            "unreadable; cancel with `aws kms cancel-key-deletion`"
            if when
            else "scheduled for deletion"
        )
    elif state != "Enabled":
        reason = f"the key is {state}: nothing encrypted with it can be decrypted until it is enabled"
    return [
        Row(
            "kms-key-state",
            key.label,
            "ok" if state == "Enabled" else "breach",
            "Enabled",
            measured=state,
            reason=reason,
            evidence=call,
            basis=KMS_BASIS,
        )
    ]


def measure_key_rotation(aws: AwsReader, key: Key, now: datetime) -> list[Row]:
    """A primary key's rotation (a replica follows its primary): a call apart from DescribeKey, so a
    denied DescribeKey leaves this row measured, and the other way round."""
    rotation = aws.call(
        "kms", key.region, "get_key_rotation_status", "kms:GetKeyRotationStatus", KeyId=key.key_id
    )
    enabled = rotation.get("KeyRotationEnabled") is True
    return [
        Row(
            "kms-key-rotation",
            key.label,
            "ok" if enabled else "breach",
            "enabled",
            measured="enabled" if enabled else "disabled",
            reason="" if enabled else "automatic key rotation is off (`aws kms enable-key-rotation`)",
            evidence=Evidence(
                f"AWS kms:GetKeyRotationStatus {key.key_id} ({key.region})",
                as_datetime(rotation.get("NextRotationDate")),
                now,
            ),
            basis=KMS_BASIS,
        )
    ]


def measure_versioning(aws: AwsReader, bucket: Bucket, now: datetime) -> list[Row]:
    versioning = aws.call(
        "s3", bucket.region, "get_bucket_versioning", "s3:GetBucketVersioning", Bucket=bucket.name
    )
    status = str(versioning.get("Status") or "never enabled")
    return [
        Row(
            "s3-versioning",
            bucket.label,
            "ok" if status == "Enabled" else "breach",
            "Enabled",
            measured=status,
            reason=""
            if status == "Enabled"
            else "overwritten or deleted objects are not kept, nor replicated",
            evidence=Evidence(f"AWS s3:GetBucketVersioning {bucket.name}", None, now),
            basis=S3_BASIS,
        )
    ]


def measure_replication(aws: AwsReader, bucket: Bucket, known: dict[str, Bucket], now: datetime) -> list[Row]:
    """Per enabled rule of the live configuration, its lag (CloudWatch) and its newest object (S3): each
    of those calls fails alone, as an unknown row of its own."""
    config_call = f"AWS s3:GetReplicationConfiguration {bucket.name}"
    try:
        answer = aws.call(
            "s3",
            bucket.region,
            "get_bucket_replication",
            "s3:GetReplicationConfiguration",
            Bucket=bucket.name,
        )
    except CloudCallError as error:
        if "ReplicationConfigurationNotFound" not in str(error) and error.kind != "not-found":
            raise
        return [
            Row(
                "s3-replication-lag",
                bucket.label,
                "breach",
                f"≤ {duration(seeds.RPO_OTHER_SYSTEMS)}",
                measured="no replication",
                reason="the stack declares replication; the bucket has none",
                evidence=Evidence(config_call, None, now),
                basis=S3_BASIS,
            )
        ]
    rules = [
        r for r in answer.get("ReplicationConfiguration", {}).get("Rules", []) if r.get("Status") == "Enabled"
    ]
    if not rules:
        return [
            Row(
                "s3-replication-lag",
                bucket.label,
                "breach",
                f"≤ {duration(seeds.RPO_OTHER_SYSTEMS)}",
                measured="no enabled rule",
                reason="the stack declares replication; every rule of the bucket's configuration is disabled",
                evidence=Evidence(config_call, None, now),
                basis=S3_BASIS,
            )
        ]
    rows: list[Row] = []
    limit = seeds.RPO_OTHER_SYSTEMS
    for rule in rules:
        destination = str(rule.get("Destination", {}).get("Bucket", "")).removeprefix("arn:aws:s3:::")
        resource = f"{bucket.label} → {destination}"
        metrics = rule.get("Destination", {}).get("Metrics", {})
        rule_id = str(rule.get("ID", ""))
        if metrics.get("Status") != "Enabled":
            rows.append(
                Row(
                    "s3-replication-lag",
                    resource,
                    "unknown",
                    f"≤ {duration(limit)}",
                    reason=f"metrics-off: rule {rule.get('ID')} has no replication metrics; "
                    + HOW_TO_ENABLE_METRICS,
                    evidence=Evidence(config_call, None, now),
                    basis=S3_BASIS,
                )
            )
        else:
            lag = [_lag_objective(resource)]
            rows += measured_or_unknown(lag, _lag_row, aws, bucket, destination, rule_id, resource, now)
        sample = [_sample_objective(resource)]
        rows += measured_or_unknown(sample, _sample_row, aws, bucket, destination, known, resource, now)
    return rows


def _metric(
    aws: AwsReader, region: str, name: str, dimensions: list[dict[str, str]], stat: str, now: datetime
) -> float | None:
    answer = aws.call(
        "cloudwatch",
        region,
        "get_metric_statistics",
        "cloudwatch:GetMetricStatistics",
        Namespace="AWS/S3",
        MetricName=name,
        Dimensions=dimensions,
        StartTime=now - METRICS_WINDOW,
        EndTime=now,
        Period=300,
        Statistics=[stat],
    )
    points = [p.get(stat) for p in answer.get("Datapoints", []) if isinstance(p.get(stat), int | float)]
    return max(points) if points else None


def _lag_row(
    aws: AwsReader, bucket: Bucket, destination: str, rule_id: str, resource: str, now: datetime
) -> Row:
    dims = [
        {"Name": "SourceBucket", "Value": bucket.name},
        {"Name": "DestinationBucket", "Value": destination},
        {"Name": "RuleId", "Value": rule_id},
    ]
    limit = seeds.RPO_OTHER_SYSTEMS
    call = (
        f"AWS cloudwatch:GetMetricStatistics AWS/S3 ReplicationLatency,OperationsPendingReplication {rule_id}"
    )
    latency = _metric(aws, bucket.region, "ReplicationLatency", dims, "Maximum", now)
    pending = _metric(aws, bucket.region, "OperationsPendingReplication", dims, "Maximum", now)
    if latency is None:
        return Row(
            "s3-replication-lag",
            resource,
            "unknown",
            f"≤ {duration(limit)}",
            reason=f"metrics-off: no ReplicationLatency datapoint in the last hour for rule {rule_id} "
            "(metrics "
            "are published only while objects replicate, and up to 15 minutes late)",
            evidence=Evidence(call, None, now),
            basis=S3_BASIS,
        )
    ok = latency <= limit.total_seconds()
    return Row(
        "s3-replication-lag",
        resource,
        "ok" if ok else "breach",
        f"≤ {duration(limit)}",
        measured=f"{duration(latency)}, {pending or 0:g} pending",
        seconds=latency,
        value=pending,
        reason=""
        if ok
        else f"replication runs {duration(latency)} behind ({pending or 0:g} operations pending)",
        evidence=Evidence(call, now, now),
        basis=S3_BASIS,
    )


def _sample_row(
    aws: AwsReader, bucket: Bucket, destination: str, known: dict[str, Bucket], resource: str, now: datetime
) -> Row:
    listed = aws.call(
        "s3", bucket.region, "list_objects_v2", "s3:ListBucket", Bucket=bucket.name, MaxKeys=1000
    )
    objects = listed.get("Contents", [])
    target = f"replicated within {duration(seeds.RPO_OTHER_SYSTEMS)}"
    if not objects:
        return Row(
            "s3-replication-sample",
            resource,
            "ok",
            target,
            measured="bucket empty",
            evidence=Evidence(f"AWS s3:ListBucket {bucket.name}", None, now),
            basis=S3_BASIS,
        )
    newest = max(objects, key=lambda o: as_datetime(o.get("LastModified")) or now)
    key, written = str(newest["Key"]), as_datetime(newest.get("LastModified"))
    head = aws.call("s3", bucket.region, "head_object", "s3:GetObject", Bucket=bucket.name, Key=key)
    status = head.get("ReplicationStatus")
    # S3 stamps whole seconds on its own clock: a fresh object may look a moment younger than zero.
    age = max(now - written, timedelta(0)) if written else timedelta(0)
    evidence = Evidence(f"AWS s3:HeadObject {bucket.name}/{key}", written, now)
    if status is None:
        region = known[destination].region if destination in known else bucket.region
        try:
            aws.call("s3", region, "head_object", "s3:GetObject", Bucket=destination, Key=key)
            status = "present in destination"
        except CloudCallError as error:
            if error.kind != "not-found":
                raise
            status = "missing from destination"
        evidence = Evidence(f"AWS s3:HeadObject {bucket.name}/{key}, {destination}/{key}", written, now)
    late = age > seeds.RPO_OTHER_SYSTEMS
    ok = status in ("COMPLETED", "present in destination") or (
        status in ("PENDING", "missing from destination") and not late
    )
    return Row(
        "s3-replication-sample",
        resource,
        "ok" if ok else "breach",
        target,
        measured=f"{key}: {status}",
        seconds=age.total_seconds(),
        reason="" if ok else f"the newest object {key} ({duration(age)} old) is {status}",
        evidence=evidence,
        basis=S3_BASIS,
    )


def probes(
    resources: list[Resource], aws: Callable[[], AwsReader], now: Callable[[], datetime]
) -> list[Probe]:
    """Per key its state and (a primary's) rotation, per bucket its versioning and (where the stack
    replicates it) its replication: independent calls, so each fails alone."""
    result = []
    for key in keys(resources):
        state = (Objective("kms-key-state", key.label, "Enabled", KMS_BASIS),)
        result.append(Probe("aws", key.label, state, bind(measure_key_state, aws, now, key)))
        if not key.replica:
            rotation = (Objective("kms-key-rotation", key.label, "enabled", KMS_BASIS),)
            result.append(Probe("aws", key.label, rotation, bind(measure_key_rotation, aws, now, key)))
    known = buckets(resources)
    for bucket in known.values():
        versioning = (Objective("s3-versioning", bucket.label, "Enabled", S3_BASIS),)
        result.append(Probe("aws", bucket.label, versioning, bind(measure_versioning, aws, now, bucket)))
        if bucket.replicated:
            replication = _replication_objectives(bucket)
            run = bind(measure_replication, aws, now, bucket, known)
            result.append(Probe("aws", bucket.label, replication, run))
    return result
