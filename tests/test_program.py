"""The declared posture under Pulumi's own mocks, for both shipped stacks.

Each stack's posture is declared once per session under backstop's mocks (`backstop.program.mocks.use_mocks`:
a fresh recording monitor and the real values of `Pulumi.<stack>.yaml`); each `@pulumi.runtime.test` returns
the `Output` of its checks over that declaration. The checks read what the engine would receive: the recording
monitor's `RegisterResource` requests, with wire (camelCase) property names, integers as floats, property
dependencies and `protect`.
"""

from __future__ import annotations

import functools
import inspect
import json
import sys
import typing
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_cloudflare as cloudflare
import pulumi_mongodbatlas as mongodbatlas
import pytest
from pulumi import _types
from pulumi_azure_native import (
    authorization,
    containerregistry,
    managedidentity,
    monitor,
    redis,
    redisenterprise,
    resources,
    servicebus,
    storage,
    web,
)

from backstop.config import StackConfig, from_pulumi_config
from backstop.config.stackfile import read_stack_file
from backstop.ground import tokens
from backstop.ground.resources import SECRET_SIG, SECRET_SIG_KEY, UNKNOWN
from backstop.program.components.aws import ReplicatedBucket
from backstop.program.mocks import (
    ACCOUNT_ID,
    ProgramRun,
    RecordingMonitor,
    Registration,
    run_with_mocks,
    use_mocks,
)
from backstop.program.stack import Posture, declare, main

ROOT = Path(__file__).resolve().parent.parent
WEBHOOK = "https://hooks.slack.com/services/T0BACKSTOP/B0BACKSTOP/not-a-real-token"
WEBHOOK_KEY = "backstop:slackWebhookUrl"
SLACK_TOKEN = "xoxb-0000000000-0000000000000-notarealtoken"
TOKEN_KEY = "backstop:slackApiToken"

# What each shipped stack file declares; prod holds the seeds' numbers, staging is the cheaper twin.
EXPECTED: dict[str, dict[str, Any]] = {
    "prod": {
        "project": "cartie-prod",
        "cluster": "cartie-prod",
        "instance_size": "M40",
        "termination_protection": True,
        "media_bucket": "cartie-prod-media",
        "export_bucket": "cartie-prod-atlas-exports",
        "noncurrent_days": 400.0,
        "object_lock": {"mode": "COMPLIANCE", "days": 400.0},
        "kms_alias": "alias/backstop-prod-backups",
        "resource_group": "rg-wiser-prod-backup",
        "storage_account": "wiserprodmedia",
        "storage_sku": "Standard_RAGZRS",
        "containers": ["review-photos", "review-videos"],
        "namespace": "wiser-prod-messaging",
        "registry": "wiserprodacr",
        "web_app": "wiser-prod-app",
    },
    "staging": {
        "project": "cartie-staging",
        "cluster": "cartie-staging",
        "instance_size": "M10",
        "termination_protection": False,
        "media_bucket": "cartie-staging-media",
        "export_bucket": "cartie-staging-atlas-exports",
        "noncurrent_days": 30.0,
        "object_lock": {"mode": "GOVERNANCE", "days": 7.0},
        "kms_alias": "alias/backstop-staging-backups",
        "resource_group": "rg-wiser-staging-backup",
        "storage_account": "wiserstagingmedia",
        "storage_sku": "Standard_LRS",
        "containers": ["media"],
        "namespace": "wiser-staging-messaging",
        "registry": "wiserstagingacr",
        "web_app": "wiser-staging-app",
    },
}
STACKS = sorted(EXPECTED)
PROD_PROTECTED = {
    "backup-key-key",
    "backup-key-replica",
    "atlas-exports",
    "atlas-exports-replica",
    "atlas-cartie-prod-backup-schedule",
    "atlas-backup-compliance-policy",
}
BACKUP_FAILURE_EVENTS = {
    "CPS_SNAPSHOT_FAILED",
    "CPS_COPY_SNAPSHOT_FAILED",
    "CPS_RESTORE_FAILED",
    "CPS_EXPORT_FAILED",
    "AWS_ENCRYPTION_KEY_NEEDS_ROTATION",
}


@dataclass
class MockedStack:
    """One stack's posture, declared under Pulumi's mocks with the real values of its stack file, and the
    recording monitor that received its registrations."""

    stack: str
    cfg: StackConfig
    monitor: RecordingMonitor
    posture: Posture
    expected: dict[str, Any]
    checks_run: list[str] = field(default_factory=list)

    def check(self, fn: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
        """Mark `fn` as this test's check, so a check that never ran cannot pass silently."""

        def run(values: dict[str, Any]) -> None:
            fn(values)
            self.checks_run.append(fn.__name__)

        return run

    def reg(self, urn: str) -> Registration:
        return self.monitor.registration(urn)


def mock_stack(stack: str, extra: dict[str, str] | None = None, secrets: tuple[str, ...] = ()) -> MockedStack:
    """`stack`'s posture as the program declares it from its stack file plus `extra` config (`secrets` among
    its keys), shared by every test that asks for the same."""
    cfg, monitor, posture = _declared(stack, tuple(sorted((extra or {}).items())), secrets)
    return MockedStack(stack=stack, cfg=cfg, monitor=monitor, posture=posture, expected=EXPECTED[stack])


@functools.cache
def _declared(
    stack: str, extra: tuple[tuple[str, str], ...], secrets: tuple[str, ...]
) -> tuple[StackConfig, RecordingMonitor, Posture]:
    """Declare one stack's posture under fresh mocks, as `backstop.program.stack.main` does, and wait for
    every registration.

    Declaring is a pure function of the config, and the tests only read what it registered, so tests share
    one declaration per config: its `Output`s are resolved futures on the runtime's one event loop, which
    each test's `@pulumi.runtime.test` awaits again. The monitor is this declaration's own, so a later
    `use_mocks` elsewhere cannot change what these tests read.
    """
    stack_file = read_stack_file(ROOT, stack)
    monitor = use_mocks(
        stack=stack,
        config={**stack_file.engine_config(), **dict(extra)},
        secret_keys=[*stack_file.secret_keys, *secrets],
    )
    # Read back through the SDK's config, exactly as the program does.
    cfg = from_pulumi_config()
    declared: list[Posture] = []

    def program() -> None:
        config = pulumi.Config("backstop")
        declared.append(
            declare(cfg, config.get_secret("slackWebhookUrl"), config.get_secret("slackApiToken"))
        )

    pulumi.runtime.test(program)()
    [posture] = declared
    return cfg, monitor, posture


def _checked(mocked: MockedStack) -> Iterator[MockedStack]:
    yield mocked
    assert mocked.checks_run, "the test's Output check never ran"


@pytest.fixture(params=STACKS)
def mocked(request: pytest.FixtureRequest) -> Iterator[MockedStack]:
    yield from _checked(mock_stack(request.param))


@pytest.fixture
def prod() -> Iterator[MockedStack]:
    yield from _checked(mock_stack("prod"))


@pytest.fixture
def prod_with_slack() -> Iterator[MockedStack]:
    """Prod with the deploy-time secrets `backstop:slackWebhookUrl` and `backstop:slackApiToken` set."""
    yield from _checked(
        mock_stack("prod", {WEBHOOK_KEY: WEBHOOK, TOKEN_KEY: SLACK_TOKEN}, (WEBHOOK_KEY, TOKEN_KEY))
    )


@functools.cache
def run_program(stack: str, *, preview: bool = False) -> tuple[ProgramRun, RecordingMonitor]:
    """The whole program (`backstop.program.stack.main`, as `infra/__main__.py` runs it) under fresh mocks.

    Cached: the result is plain data, and whole-program tests only read it.
    """
    stack_file = read_stack_file(ROOT, stack)
    monitor = use_mocks(
        stack=stack, config=stack_file.engine_config(), secret_keys=stack_file.secret_keys, preview=preview
    )
    return run_with_mocks(main, stack=stack, monitor=monitor), monitor


def _policy(text: str) -> list[dict[str, Any]]:
    document = json.loads(text)
    assert document["Version"] == "2012-10-17"
    return document["Statement"]


def _role_policy(mocked: MockedStack, role_urn: str) -> list[dict[str, Any]]:
    """The statements of the inline policy attached to the role `role_urn`, found by its `role` dependency."""
    [policy] = [
        r
        for r in mocked.monitor.registrations
        if r.type == tokens.IAM_ROLE_POLICY and r.property_dependencies.get("role") == [role_urn]
    ]
    return _policy(policy.inputs["policy"])


def _hourly(interval: float = 6.0) -> dict[str, Any]:
    return {"frequencyInterval": interval, "retentionUnit": "days", "retentionValue": 7.0}


SEED_POLICY_ITEMS = {
    "policyItemHourly": _hourly(),
    "policyItemDaily": {"frequencyInterval": 1.0, "retentionUnit": "days", "retentionValue": 7.0},
    "policyItemWeeklies": [{"frequencyInterval": 7.0, "retentionUnit": "weeks", "retentionValue": 4.0}],
    "policyItemMonthlies": [{"frequencyInterval": 40.0, "retentionUnit": "months", "retentionValue": 12.0}],
}


# --- MongoDB Atlas ----------------------------------------------------------------------------------------


@pulumi.runtime.test
def test_cluster_is_a_backed_up_encrypted_replica_set_of_three_electable_nodes(mocked: MockedStack) -> Any:
    posture = mocked.posture
    name = mocked.expected["cluster"]

    @mocked.check
    def check(v: dict[str, Any]) -> None:
        cluster = mocked.reg(v["cluster"])
        inputs = cluster.inputs
        assert inputs["name"] == name
        assert inputs["clusterType"] == "REPLICASET"
        assert inputs["backupEnabled"] is True and inputs["pitEnabled"] is True
        assert inputs["retainBackupsEnabled"] is True
        assert inputs["encryptionAtRestProvider"] == "AWS"
        assert inputs["terminationProtectionEnabled"] is mocked.expected["termination_protection"]
        assert inputs["projectId"] == v["project_id"]
        assert cluster.property_dependencies["projectId"] == [v["project"]]
        # One region, 3 electable nodes: Atlas puts each in its own availability zone of US_EAST_1.
        assert inputs["replicationSpecs"] == [
            {
                "zoneName": "primary",
                "regionConfigs": [
                    {
                        "providerName": "AWS",
                        "regionName": "US_EAST_1",
                        "priority": 7.0,
                        "electableSpecs": {
                            "instanceSize": mocked.expected["instance_size"],
                            "nodeCount": 3.0,
                        },
                    }
                ],
            }
        ]
        node_count = inputs["replicationSpecs"][0]["regionConfigs"][0]["electableSpecs"]["nodeCount"]
        assert isinstance(node_count, float)  # the gRPC struct carries every number as a double
        # The customer key protects the data before the first byte is written.
        assert v["encryption"] in cluster.dependencies

    return pulumi.Output.all(
        cluster=posture.atlas.clusters[name].urn,
        encryption=posture.atlas.encryption.urn,
        project=posture.atlas.project.urn,
        project_id=posture.atlas.project.id,
    ).apply(check)


@pulumi.runtime.test
def test_backup_schedule_belongs_to_its_cluster_and_holds_the_seed_retention(mocked: MockedStack) -> Any:
    posture = mocked.posture
    name = mocked.expected["cluster"]
    cluster = posture.atlas.clusters[name]

    @mocked.check
    def check(v: dict[str, Any]) -> None:
        schedule = mocked.reg(v["schedule"])
        inputs = schedule.inputs
        assert inputs["clusterName"] == mocked.reg(v["cluster"]).inputs["name"] == name
        assert schedule.property_dependencies["clusterName"] == [v["cluster"]]
        assert {key: inputs[key] for key in SEED_POLICY_ITEMS} == SEED_POLICY_ITEMS
        assert inputs["restoreWindowDays"] == 7.0 and isinstance(inputs["restoreWindowDays"], float)
        assert inputs["referenceHourOfDay"] == 3.0
        assert schedule.protect is (mocked.stack == "prod")
        # Copies go to US_WEST_2 from the zone of this very cluster, oplogs included.
        [copy] = inputs["copySettings"]
        assert copy["cloudProvider"] == "AWS"
        assert copy["regionName"] == "US_WEST_2"
        assert copy["shouldCopyOplogs"] is True
        assert copy["zoneId"] == v["zone_id"] != ""
        assert v["cluster"] in schedule.property_dependencies["copySettings"]
        assert inputs["copyPolicyItemsEnabled"] is True
        assert copy["copyPolicyItems"] == [
            {"frequencyType": "hourly", "retentionUnit": "days", "retentionValue": 7.0},
            {"frequencyType": "daily", "retentionUnit": "days", "retentionValue": 7.0},
            {"frequencyType": "weekly", "retentionUnit": "weeks", "retentionValue": 4.0},
            {"frequencyType": "monthly", "retentionUnit": "months", "retentionValue": 12.0},
        ]

    return pulumi.Output.all(
        cluster=cluster.urn,
        schedule=posture.atlas.schedules[name].urn,
        zone_id=cluster.replication_specs.apply(lambda specs: specs[0]["zone_id"]),
    ).apply(check)


@pulumi.runtime.test
def test_weekly_export_goes_to_the_s3_export_bucket(mocked: MockedStack) -> Any:
    posture = mocked.posture
    atlas_bucket = posture.atlas.export_bucket
    access = posture.atlas.export_access.authorization

    @mocked.check
    def check(v: dict[str, Any]) -> None:
        schedule = mocked.reg(v["schedule"])
        assert schedule.inputs["autoExportEnabled"] is True
        assert schedule.inputs["export"] == {
            "exportBucketId": v["export_bucket_id"],
            "frequencyType": "weekly",
        }
        assert schedule.property_dependencies["export"] == [v["atlas_bucket"]]
        bucket = mocked.reg(v["atlas_bucket"])
        assert bucket.inputs["bucketName"] == mocked.expected["export_bucket"]
        assert bucket.property_dependencies["bucketName"] == [v["s3_bucket"]]
        assert bucket.inputs["cloudProvider"] == "AWS"
        assert bucket.inputs["iamRoleId"] == v["role_id"]
        assert bucket.property_dependencies["iamRoleId"] == [v["access"]]

    return pulumi.Output.all(
        schedule=posture.atlas.schedules[mocked.expected["cluster"]].urn,
        atlas_bucket=atlas_bucket.urn,
        export_bucket_id=atlas_bucket.export_bucket_id,
        s3_bucket=posture.exports.bucket.urn,
        access=access.urn,
        role_id=access.role_id,
    ).apply(check)


@pulumi.runtime.test
def test_encryption_at_rest_uses_the_customer_key_through_its_own_role(mocked: MockedStack) -> Any:
    posture = mocked.posture
    access = posture.atlas.encryption_access

    @mocked.check
    def check(v: dict[str, Any]) -> None:
        encryption = mocked.reg(v["encryption"])
        assert encryption.inputs["awsKmsConfig"] == {
            "enabled": True,
            "customerMasterKeyId": v["key_id"],
            "region": "US_EAST_1",  # where the key is, in Atlas's spelling
            "roleId": v["role_id"],
        }
        assert set(encryption.property_dependencies["awsKmsConfig"]) == {v["key"], v["authorization"]}
        assert v["key_id"].startswith("mrk-")  # a multi-Region key
        # The role may use the key for exactly what encryption at rest needs, and nothing else.
        assert _role_policy(mocked, v["role"]) == [
            {
                "Sid": "AtlasEncryptionAtRest",
                "Effect": "Allow",
                "Action": ["kms:DescribeKey", "kms:Encrypt", "kms:Decrypt"],
                "Resource": [v["key_arn"]],
            }
        ]

    return pulumi.Output.all(
        encryption=posture.atlas.encryption.urn,
        key=posture.key.key.urn,
        key_id=posture.key.key.key_id,
        key_arn=posture.key.key.arn,
        authorization=access.authorization.urn,
        role_id=access.authorization.role_id,
        role=access.role.urn,
    ).apply(check)


@pulumi.runtime.test
def test_export_role_may_only_locate_the_bucket_and_write_exports(mocked: MockedStack) -> Any:
    posture = mocked.posture
    access = posture.atlas.export_access

    @mocked.check
    def check(v: dict[str, Any]) -> None:
        bucket_arn = v["bucket_arn"]
        assert bucket_arn == f"arn:aws:s3:::{mocked.expected['export_bucket']}"
        assert _role_policy(mocked, v["role"]) == [
            {
                "Sid": "LocateExportBucket",
                "Effect": "Allow",
                "Action": ["s3:GetBucketLocation"],
                "Resource": [bucket_arn],
            },
            {
                "Sid": "WriteSnapshotExports",
                "Effect": "Allow",
                "Action": ["s3:PutObject"],
                "Resource": [f"{bucket_arn}/*"],
            },
            {
                "Sid": "EncryptExportsThroughS3",
                "Effect": "Allow",
                "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
                "Resource": [v["key_arn"]],
                "Condition": {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}},
            },
        ]
        # Only Atlas, presenting this project's external id, can assume it.
        role = mocked.reg(v["role"])
        [aws_config] = v["aws_configs"]
        assert _policy(role.inputs["assumeRolePolicy"]) == [
            {
                "Effect": "Allow",
                "Principal": {"AWS": aws_config["atlas_aws_account_arn"]},
                "Action": "sts:AssumeRole",
                "Condition": {
                    "StringEquals": {"sts:ExternalId": aws_config["atlas_assumed_role_external_id"]}
                },
            }
        ]
        assert role.property_dependencies["assumeRolePolicy"] == [v["setup"]]
        authorization = mocked.reg(v["authorization"])
        assert authorization.inputs["aws"] == {"iamAssumedRoleArn": v["role_arn"]}
        assert authorization.property_dependencies["aws"] == [v["role"]]

    return pulumi.Output.all(
        role=access.role.urn,
        role_arn=access.role.arn,
        bucket_arn=posture.exports.bucket.arn,
        key_arn=posture.key.key.arn,
        aws_configs=access.setup.aws_configs,
        authorization=access.authorization.urn,
        setup=access.setup.urn,
    ).apply(check)


@pulumi.runtime.test
def test_prod_compliance_policy_is_the_schedule_floor(prod: MockedStack) -> Any:
    posture = prod.posture
    policy = posture.atlas.compliance_policy
    assert policy is not None

    @prod.check
    def check(v: dict[str, Any]) -> None:
        registration = prod.reg(v["policy"])
        assert registration.protect is True
        assert v["schedule"] in registration.dependencies
        inputs = registration.inputs
        assert inputs["projectId"] == v["project_id"]
        assert inputs["authorizedEmail"] == "security-officer@example.com"
        assert (inputs["authorizedUserFirstName"], inputs["authorizedUserLastName"]) == (
            "Security",
            "Officer",
        )
        assert inputs["copyProtectionEnabled"] is True
        assert inputs["encryptionAtRestEnabled"] is True
        assert inputs["pitEnabled"] is True
        assert inputs["restoreWindowDays"] == 7.0
        assert {key: inputs[key] for key in SEED_POLICY_ITEMS} == SEED_POLICY_ITEMS

    return pulumi.Output.all(
        policy=policy.urn,
        project_id=posture.atlas.project.id,
        schedule=posture.atlas.schedules["cartie-prod"].urn,
    ).apply(check)


def _expected_threshold(event: str) -> dict[str, Any] | None:
    """The `thresholdConfig` each event's schema in the Atlas Admin API v2 spec requires (see test_alerting):
    one 6-hour snapshot interval plus an hour; Atlas's 90-day key rotation."""
    if event == "CPS_SNAPSHOT_BEHIND":
        return {"operator": "GREATER_THAN", "threshold": 7.0, "units": "HOURS"}
    if event == "AWS_ENCRYPTION_KEY_NEEDS_ROTATION":
        return {"operator": "GREATER_THAN", "threshold": 90.0, "units": "DAYS"}
    return None


@pulumi.runtime.test
def test_without_slack_backup_alerts_go_to_email_with_the_thresholds_atlas_requires(
    mocked: MockedStack,
) -> Any:
    posture = mocked.posture

    @mocked.check
    def check(v: dict[str, Any]) -> None:
        alerts = [mocked.reg(urn) for urn in v["alerts"]]
        events = [alert.inputs["eventType"] for alert in alerts]
        assert sorted(events) == sorted(tokens.ATLAS_BACKUP_ALERT_EVENTS)
        assert set(events) >= BACKUP_FAILURE_EVENTS
        for alert in alerts:
            assert alert.inputs["projectId"] == v["project_id"]
            assert alert.inputs["enabled"] is True
            assert alert.inputs["notifications"] == [
                {
                    "typeName": "EMAIL",
                    "emailAddress": "engineering-alerts@example.com",
                    "intervalMin": 60.0,
                    "delayMin": 0.0,
                }
            ]
            assert alert.inputs.get("thresholdConfig") == _expected_threshold(alert.inputs["eventType"])
        assert posture.slack is None
        assert not [r for r in mocked.monitor.registrations if r.type == tokens.AZ_LOGIC_WORKFLOW]

    return pulumi.Output.all(
        project_id=posture.atlas.project.id, alerts=pulumi.Output.all(*[a.urn for a in posture.atlas.alerts])
    ).apply(check)


@pulumi.runtime.test
def test_atlas_posts_to_slack_with_its_slack_type_and_the_token_only_as_a_secret(
    prod_with_slack: MockedStack,
) -> Any:
    mocked = prod_with_slack
    posture = mocked.posture

    @mocked.check
    def check(v: dict[str, Any]) -> None:
        alerts = [mocked.reg(urn) for urn in v["alerts"]]
        slack = [a for a in alerts if a.name.endswith("-slack")]
        email = [a for a in alerts if not a.name.endswith("-slack")]
        assert sorted(a.inputs["eventType"] for a in slack) == sorted(tokens.ATLAS_BACKUP_ALERT_EVENTS)
        assert sorted(a.inputs["eventType"] for a in email) == sorted(tokens.ATLAS_BACKUP_ALERT_EVENTS)
        for alert in slack:
            # The engine receives it wrapped as a secret, so it is encrypted in every state file.
            assert alert.inputs["notifications"] == {
                SECRET_SIG_KEY: SECRET_SIG,
                "value": [
                    {
                        "typeName": "SLACK",
                        "apiToken": SLACK_TOKEN,
                        "channelName": "alerts",
                        "intervalMin": 60.0,
                        "delayMin": 0.0,
                    }
                ],
            }
            assert alert.inputs.get("thresholdConfig") == _expected_threshold(alert.inputs["eventType"])
        for alert in email:
            assert [n["typeName"] for n in alert.inputs["notifications"]] == ["EMAIL"]
        # What backstop records for its rules and reports never holds the token or webhook in plain text.
        recorded = mocked.monitor.recorded()
        text = json.dumps([dict(r.props) for r in recorded], default=repr)
        assert "hooks.slack.com" not in text and SLACK_TOKEN not in text
        by_name = {r.name: r for r in recorded}
        assert {by_name[a.name].props["notifications"] is UNKNOWN for a in slack} == {True}

    return pulumi.Output.all(alerts=pulumi.Output.all(*[a.urn for a in posture.atlas.alerts])).apply(check)


# --- AWS --------------------------------------------------------------------------------------------------


@pulumi.runtime.test
def test_kms_key_rotates_waits_thirty_days_and_has_a_us_west_2_replica(mocked: MockedStack) -> Any:
    posture = mocked.posture
    key = posture.key

    @mocked.check
    def check(v: dict[str, Any]) -> None:
        primary = mocked.reg(v["key"])
        assert primary.inputs["enableKeyRotation"] is True
        assert primary.inputs["deletionWindowInDays"] == 30.0
        assert primary.inputs["multiRegion"] is True
        assert primary.inputs["region"] == "us-east-1"
        [statement] = _policy(primary.inputs["policy"])
        assert statement["Principal"] == {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:root"}
        replica = mocked.reg(v["replica"])
        assert replica.inputs["region"] == "us-west-2"
        assert replica.inputs["primaryKeyArn"] == v["key_arn"]
        assert replica.property_dependencies["primaryKeyArn"] == [v["key"]]
        assert replica.inputs["deletionWindowInDays"] == 30.0
        assert v["replica_arn"].startswith("arn:aws:kms:us-west-2:")
        alias = mocked.reg(v["alias"])
        assert alias.inputs["name"] == mocked.expected["kms_alias"]
        assert alias.inputs["targetKeyId"] == v["key_id"]
        assert alias.property_dependencies["targetKeyId"] == [v["key"]]

    return pulumi.Output.all(
        key=key.key.urn,
        key_arn=key.key.arn,
        key_id=key.key.key_id,
        replica=key.replica.urn,
        replica_arn=key.replica.arn,
        alias=key.alias.urn,
    ).apply(check)


def _side(bucket: ReplicatedBucket, side: str) -> pulumi.Output[dict[str, Any]]:
    part = bucket.source if side == "source" else bucket.target
    return pulumi.Output.all(
        bucket=part.bucket.urn,
        arn=part.bucket.arn,
        versioning=part.versioning.urn,
        sse=part.encryption.urn,
        public_access_block=part.public_access_block.urn,
        tls_only=part.tls_only_policy.urn,
        lifecycle=part.lifecycle.urn,
        object_lock=part.object_lock.urn if part.object_lock else None,
    )


def _check_locked_down_bucket(
    mocked: MockedStack,
    urns: dict[str, Any],
    bucket_name: str,
    region: str,
    key_arn: str,
    locked: bool,
    default_retention: bool = False,
) -> None:
    bucket = mocked.reg(urns["bucket"])
    assert bucket.inputs["bucket"] == bucket_name
    assert bucket.inputs["region"] == region
    assert bucket.inputs["forceDestroy"] is False
    assert bucket.inputs["objectLockEnabled"] is locked
    children = [urns[k] for k in ("versioning", "sse", "public_access_block", "tls_only", "lifecycle")]
    for urn in [*children, *([urns["object_lock"]] if locked else [])]:
        child = mocked.reg(urn)
        assert child.inputs["bucket"] == bucket_name, child.name
        assert child.property_dependencies["bucket"] == [urns["bucket"]], child.name
        assert child.inputs["region"] == region, child.name
    assert mocked.reg(urns["versioning"]).inputs["versioningConfiguration"] == {"status": "Enabled"}
    [sse] = mocked.reg(urns["sse"]).inputs["rules"]
    assert sse == {
        "applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": key_arn},
        "bucketKeyEnabled": True,
    }
    block = mocked.reg(urns["public_access_block"]).inputs
    flags = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    assert [block[flag] for flag in flags] == [True, True, True, True]
    keep_versions = {
        "Sid": "DenyVersionDeletion",
        "Effect": "Deny",
        "Principal": "*",
        "Action": ["s3:DeleteObjectVersion", "s3:BypassGovernanceRetention"],
        "Resource": [f"{urns['arn']}/*"],
    }
    assert _policy(mocked.reg(urns["tls_only"]).inputs["policy"]) == [
        {
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [urns["arn"], f"{urns['arn']}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        },
        *([keep_versions] if locked else []),
    ]
    [rule] = mocked.reg(urns["lifecycle"]).inputs["rules"]
    assert rule["status"] == "Enabled"
    assert rule["noncurrentVersionExpiration"] == {"noncurrentDays": mocked.expected["noncurrent_days"]}
    if locked:
        lock = mocked.reg(urns["object_lock"]).inputs
        assert lock["objectLockEnabled"] == "Enabled"
        # Only where S3 itself writes (replication): Atlas's uploads carry no documented Content-MD5.
        if default_retention:
            assert lock["rule"] == {"defaultRetention": mocked.expected["object_lock"]}
        else:
            assert "rule" not in lock
    else:
        assert urns["object_lock"] is None


@pulumi.runtime.test
def test_every_bucket_setting_belongs_to_its_bucket_in_its_region(mocked: MockedStack) -> Any:
    posture = mocked.posture
    components = {"media": posture.media, "exports": posture.exports}

    @mocked.check
    def check(v: dict[str, Any]) -> None:
        for component in components:
            name = mocked.expected["media_bucket" if component == "media" else "export_bucket"]
            locked = component == "exports"  # the offsite copy of Atlas exports cannot be altered
            source, target = v[component]
            _check_locked_down_bucket(mocked, source, name, "us-east-1", v["key_arn"], locked)
            _check_locked_down_bucket(
                mocked,
                target,
                f"{name}-us-west-2",
                "us-west-2",
                v["replica_key_arn"],
                locked,
                default_retention=locked,
            )

    return pulumi.Output.all(
        key_arn=posture.key.key.arn,
        replica_key_arn=posture.key.replica.arn,
        **{
            component: pulumi.Output.all(_side(bucket, "source"), _side(bucket, "target"))
            for component, bucket in components.items()
        },
    ).apply(check)


def _replication_outputs(bucket: ReplicatedBucket) -> pulumi.Output[dict[str, Any]]:
    return pulumi.Output.all(
        replication=bucket.replication.urn,
        source=bucket.bucket.urn,
        source_name=bucket.bucket.bucket,
        replica=bucket.replica.urn,
        replica_arn=bucket.replica.arn,
        role=bucket.replication_role.urn,
        role_arn=bucket.replication_role.arn,
        source_versioning=bucket.source.versioning.urn,
        target_versioning=bucket.target.versioning.urn,
    )


@pulumi.runtime.test
def test_replication_copies_into_the_us_west_2_replica_with_the_replica_key(mocked: MockedStack) -> Any:
    posture = mocked.posture

    @mocked.check
    def check(v: dict[str, Any]) -> None:
        replica_key_arn = v["replica_key_arn"]
        assert replica_key_arn.startswith("arn:aws:kms:us-west-2:")
        for component in ("media", "exports"):
            b = v[component]
            replication = mocked.reg(b["replication"])
            assert replication.inputs["bucket"] == b["source_name"]
            assert replication.property_dependencies["bucket"] == [b["source"]]
            assert replication.inputs["role"] == b["role_arn"]
            assert replication.property_dependencies["role"] == [b["role"]]
            assert replication.inputs["region"] == "us-east-1"
            # S3 accepts the configuration only once both buckets are versioned.
            assert {b["source_versioning"], b["target_versioning"]} <= set(replication.dependencies)
            [rule] = replication.inputs["rules"]
            assert rule["status"] == "Enabled"
            assert rule["sourceSelectionCriteria"] == {"sseKmsEncryptedObjects": {"status": "Enabled"}}
            destination = rule["destination"]
            assert destination["bucket"] == b["replica_arn"]
            assert b["replica"] in replication.property_dependencies["rules"]
            assert mocked.reg(b["replica"]).inputs["region"] == "us-west-2"
            assert destination["encryptionConfiguration"] == {"replicaKmsKeyId": replica_key_arn}
            assert destination["replicationTime"] == {"status": "Enabled", "time": {"minutes": 15.0}}
            [trust] = _policy(mocked.reg(b["role"]).inputs["assumeRolePolicy"])
            assert trust["Principal"] == {"Service": "s3.amazonaws.com"}

    return pulumi.Output.all(
        replica_key_arn=posture.key.replica.arn,
        media=_replication_outputs(posture.media),
        exports=_replication_outputs(posture.exports),
    ).apply(check)


# --- Azure ------------------------------------------------------------------------------------------------


@pulumi.runtime.test
def test_blob_storage_is_private_recoverable_and_redundant_as_configured(mocked: MockedStack) -> Any:
    posture = mocked.posture
    blobs = posture.blobs

    @mocked.check
    def check(v: dict[str, Any]) -> None:
        account = mocked.reg(v["account"])
        assert account.inputs["accountName"] == mocked.expected["storage_account"]
        assert account.inputs["sku"] == {"name": mocked.expected["storage_sku"]}
        assert account.inputs["kind"] == "StorageV2"
        assert account.inputs["allowBlobPublicAccess"] is False
        assert account.inputs["minimumTlsVersion"] == "TLS1_2"
        assert account.inputs["enableHttpsTrafficOnly"] is True
        assert account.inputs["resourceGroupName"] == mocked.expected["resource_group"]
        assert account.property_dependencies["resourceGroupName"] == [v["group"]]
        service = mocked.reg(v["service"])
        assert service.inputs["accountName"] == mocked.expected["storage_account"]
        assert service.property_dependencies["accountName"] == [v["account"]]
        assert service.inputs["blobServicesName"] == "default"
        assert service.inputs["isVersioningEnabled"] is True
        assert service.inputs["deleteRetentionPolicy"] == {"enabled": True, "days": 14.0}
        assert service.inputs["containerDeleteRetentionPolicy"] == {"enabled": True, "days": 14.0}
        assert service.inputs["changeFeed"] == {"enabled": True, "retentionInDays": 30.0}
        assert service.inputs["restorePolicy"] == {"enabled": True, "days": 7.0}
        containers = [mocked.reg(urn) for urn in v["containers"]]
        assert [c.inputs["containerName"] for c in containers] == mocked.expected["containers"]
        for container in containers:
            assert container.inputs["publicAccess"] == "None"
            assert container.property_dependencies["accountName"] == [v["account"]]

    return pulumi.Output.all(
        account=blobs.account.urn,
        service=blobs.blob_service.urn,
        group=posture.resource_group.urn,
        containers=pulumi.Output.all(*[c.urn for c in blobs.containers]),
    ).apply(check)


@pulumi.runtime.test
def test_service_bus_dead_letters_and_alerts_on_its_own_namespace(mocked: MockedStack) -> Any:
    posture = mocked.posture
    bus = posture.bus

    @mocked.check
    def check(v: dict[str, Any]) -> None:
        namespace = mocked.reg(v["namespace"])
        assert namespace.inputs["namespaceName"] == mocked.expected["namespace"]
        assert namespace.inputs["minimumTlsVersion"] == "1.2"
        queues = [mocked.reg(urn) for urn in v["queues"]]
        assert [q.inputs["queueName"] for q in queues] == ["email-campaigns", "review-events"]
        for queue in queues:
            assert queue.inputs["namespaceName"] == mocked.expected["namespace"]
            assert queue.property_dependencies["namespaceName"] == [v["namespace"]]
            assert queue.inputs["deadLetteringOnMessageExpiration"] is True
            assert queue.inputs["maxDeliveryCount"] == 10.0
            assert queue.inputs["defaultMessageTimeToLive"] == "P14D"
            assert queue.inputs["lockDuration"] == "PT1M"
        subscriptions = [mocked.reg(urn) for urn in v["subscriptions"]]
        assert [s.inputs["subscriptionName"] for s in subscriptions] == ["widget-cache", "analytics"]
        for subscription in subscriptions:
            assert subscription.inputs["topicName"] == "merchant-events"
            assert subscription.property_dependencies["topicName"] == [v["topic"]]
            assert subscription.inputs["deadLetteringOnMessageExpiration"] is True
            assert subscription.inputs["deadLetteringOnFilterEvaluationExceptions"] is True
            assert subscription.inputs["maxDeliveryCount"] == 10.0
        alert = mocked.reg(v["alert"])
        assert alert.inputs["scopes"] == [v["namespace_id"]]
        assert alert.property_dependencies["scopes"] == [v["namespace"]]
        assert alert.inputs["actions"] == [{"actionGroupId": v["action_group_id"]}]
        assert alert.property_dependencies["actions"] == [v["action_group"]]
        assert alert.inputs["enabled"] is True
        assert alert.inputs["criteria"] == {
            "odataType": "Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria",
            "allOf": [
                {
                    "criterionType": "StaticThresholdCriterion",
                    "name": "dead-lettered",
                    "metricName": "DeadletteredMessages",
                    "metricNamespace": "Microsoft.ServiceBus/namespaces",
                    "operator": "GreaterThan",
                    "threshold": 0.0,
                    "timeAggregation": "Maximum",
                    "dimensions": [{"name": "EntityName", "operator": "Include", "values": ["*"]}],
                }
            ],
        }
        receivers = mocked.reg(v["action_group"]).inputs["emailReceivers"]
        assert [r["emailAddress"] for r in receivers] == ["engineering-alerts@example.com"]

    return pulumi.Output.all(
        namespace=bus.namespace.urn,
        namespace_id=bus.namespace.id,
        queues=pulumi.Output.all(*[q.urn for q in bus.queues]),
        topic=bus.topics[0].urn,
        subscriptions=pulumi.Output.all(*[s.urn for s in bus.subscriptions]),
        alert=bus.alert.urn,
        action_group=bus.action_group.urn,
        action_group_id=bus.action_group.id,
    ).apply(check)


# --- the whole program ------------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_protection_is_exactly_on_backup_critical_resources_in_prod(stack: str) -> None:
    run, _monitor = run_program(stack)
    protected = {r.name for r in run.resources if r.protect}
    assert protected == (PROD_PROTECTED if stack == "prod" else set())


@pytest.mark.parametrize("stack", STACKS)
def test_compliance_policy_exists_in_prod_only(stack: str) -> None:
    run, _monitor = run_program(stack)
    policies = [r.name for r in run.resources if r.type == tokens.ATLAS_COMPLIANCE_POLICY]
    assert policies == (["atlas-backup-compliance-policy"] if stack == "prod" else [])


def test_staging_has_the_shape_of_prod_but_costs_less() -> None:
    prod_run, _ = run_program("prod")
    staging_run, _ = run_program("staging")
    prod_types = Counter(r.type for r in prod_run.resources)
    staging_types = Counter(r.type for r in staging_run.resources)
    # The same resources, minus the prod-only compliance floor, one of prod's two blob containers, one of
    # prod's two Atlas users, and prod's secondary region (standby plan, app and slot, the app's two
    # availability alerts, the registry replica feeding it).
    assert prod_types - staging_types == Counter(
        {
            tokens.ATLAS_COMPLIANCE_POLICY: 1,
            tokens.AZ_BLOB_CONTAINER: 1,
            tokens.ATLAS_USER_PROJECT_ASSIGNMENT: 1,
            tokens.AZ_APP_SERVICE_PLAN: 1,
            tokens.AZ_WEB_APP: 1,
            tokens.AZ_WEB_APP_SLOT: 1,
            tokens.AZ_METRIC_ALERT: 2,
            tokens.AZ_REGISTRY_REPLICATION: 1,
            # the standby's widget and direct host bindings
            tokens.AZ_HOST_NAME_BINDING: 2,
        }
    )
    assert staging_types - prod_types == Counter()

    def props(run: ProgramRun, name: str) -> Any:
        [resource] = [r for r in run.resources if r.name == name and r.custom]
        return resource.props

    prod_nodes = props(prod_run, "atlas-cartie-prod")["replicationSpecs"][0]["regionConfigs"][0]
    staging_nodes = props(staging_run, "atlas-cartie-staging")["replicationSpecs"][0]["regionConfigs"][0]
    assert prod_nodes["electableSpecs"] == {"instanceSize": "M40", "nodeCount": 3.0}
    assert staging_nodes["electableSpecs"] == {"instanceSize": "M10", "nodeCount": 3.0}
    assert props(prod_run, "media-blobs")["sku"] == {"name": "Standard_RAGZRS"}
    assert props(staging_run, "media-blobs")["sku"] == {"name": "Standard_LRS"}


@pytest.mark.parametrize("stack", STACKS)
def test_stack_outputs_name_what_was_declared(stack: str) -> None:
    run, _monitor = run_program(stack)
    expected = EXPECTED[stack]
    outputs = dict(run.outputs)
    project_id = outputs.pop("atlasProjectId")
    assert project_id
    # The application's database until `backstop recover cutover` swaps it: the stack's own cluster, with
    # the SRV host Atlas reports for it (the mocks' `connectionStrings.standardSrv`).
    database = outputs.pop("applicationDatabase")
    srv = database.pop("standardSrv")
    assert database == {"projectId": project_id, "clusterName": expected["cluster"]}
    assert srv.startswith(f"mongodb+srv://{expected['cluster']}.") and srv.endswith(".mongodb.net")
    # Every app, its staging slot and its standby read it from their settings, and nothing else of it.
    sites = [r for r in run.resources if r.type in (tokens.AZ_WEB_APP, tokens.AZ_WEB_APP_SLOT)]
    assert {r.props["name"] for r in sites} >= {expected["web_app"]}
    for site in sites:
        settings = {s["name"]: s["value"] for s in site.props["siteConfig"]["appSettings"]}
        assert {k: v for k, v in settings.items() if k.startswith("BACKSTOP_DATABASE_")} == {
            "BACKSTOP_DATABASE_PROJECT_ID": project_id,
            "BACKSTOP_DATABASE_CLUSTER": expected["cluster"],
            "BACKSTOP_DATABASE_SRV": srv,
        }
    assert outputs.pop("kmsKeyArn").startswith(f"arn:aws:kms:us-east-1:{ACCOUNT_ID}:key/mrk-")
    assert outputs == {
        "environment": stack,
        "clusterNames": [expected["cluster"]],
        "mediaBucket": expected["media_bucket"],
        "exportBucket": expected["export_bucket"],
        "storageAccount": expected["storage_account"],
        "serviceBusNamespace": expected["namespace"],
        "registryLoginServer": f"{expected['registry']}.azurecr.io",
        "webAppHostNames": {expected["web_app"]: f"{expected['web_app']}.azurewebsites.net"},
    }


def test_a_cluster_swap_reaches_every_app_through_its_settings() -> None:
    """After `backstop recover cutover`, the `pulumi up` it prints repoints the apps: their settings name
    the recovered cluster and its SRV host, and the stack's own cluster is named nowhere in them."""
    target = {
        "projectId": "64b7c0ffee0123456789abcd",
        "clusterName": "recover-1a2b3c4d",
        "incidentId": "1a2b3c4d",
        "standardSrv": "mongodb+srv://recover-1a2b3c4d.ab12c.mongodb.net",
    }
    stack_file = read_stack_file(ROOT, "prod")
    config = {**stack_file.engine_config(), "backstop:recover": json.dumps({"connectionTarget": target})}
    monitor = use_mocks(stack="prod", config=config, secret_keys=stack_file.secret_keys)
    run = run_with_mocks(main, stack="prod", monitor=monitor)
    assert run.outputs["applicationDatabase"] == target
    sites = [r for r in run.resources if r.type in (tokens.AZ_WEB_APP, tokens.AZ_WEB_APP_SLOT)]
    assert len(sites) == 4  # the app and its standby, each with a staging slot
    for site in sites:
        settings = {s["name"]: s["value"] for s in site.props["siteConfig"]["appSettings"]}
        assert settings["BACKSTOP_DATABASE_PROJECT_ID"] == target["projectId"]
        assert settings["BACKSTOP_DATABASE_CLUSTER"] == target["clusterName"]
        assert settings["BACKSTOP_DATABASE_SRV"] == target["standardSrv"]


def test_first_preview_knows_inputs_but_not_computed_values() -> None:
    run, monitor = run_program("prod", preview=True)
    [schedule] = [r for r in run.resources if r.type == tokens.ATLAS_BACKUP_SCHEDULE]
    assert schedule.props["clusterName"] == "cartie-prod"
    assert schedule.props["copySettings"][0]["regionName"] == "US_WEST_2"
    assert schedule.props["copySettings"][0]["zoneId"] is UNKNOWN  # the cluster does not exist yet
    [encryption] = [r for r in run.resources if r.type == tokens.ATLAS_ENCRYPTION_AT_REST]
    assert encryption.props["awsKmsConfig"]["customerMasterKeyId"] is UNKNOWN
    assert encryption.props["awsKmsConfig"]["region"] == "US_EAST_1"
    assert len(monitor.registrations) == len(run.resources)


# Every resource type the program declares, and the SDK class that defines its inputs.
SDK_CLASSES: dict[str, type] = {
    tokens.ATLAS_PROJECT: mongodbatlas.Project,
    tokens.ATLAS_ADVANCED_CLUSTER: mongodbatlas.AdvancedCluster,
    tokens.ATLAS_BACKUP_SCHEDULE: mongodbatlas.CloudBackupSchedule,
    tokens.ATLAS_EXPORT_BUCKET: mongodbatlas.CloudBackupSnapshotExportBucket,
    tokens.ATLAS_PROVIDER_ACCESS_SETUP: mongodbatlas.CloudProviderAccessSetup,
    tokens.ATLAS_PROVIDER_ACCESS_AUTH: mongodbatlas.CloudProviderAccessAuthorization,
    tokens.ATLAS_ENCRYPTION_AT_REST: mongodbatlas.EncryptionAtRest,
    tokens.ATLAS_COMPLIANCE_POLICY: mongodbatlas.BackupCompliancePolicy,
    tokens.ATLAS_ALERT: mongodbatlas.AlertConfiguration,
    tokens.KMS_KEY: aws.kms.Key,
    tokens.KMS_REPLICA_KEY: aws.kms.ReplicaKey,
    tokens.KMS_ALIAS: aws.kms.Alias,
    tokens.IAM_ROLE: aws.iam.Role,
    tokens.IAM_ROLE_POLICY: aws.iam.RolePolicy,
    tokens.S3_BUCKET: aws.s3.Bucket,
    tokens.S3_VERSIONING: aws.s3.BucketVersioning,
    tokens.S3_SSE: aws.s3.BucketServerSideEncryptionConfiguration,
    tokens.S3_PUBLIC_ACCESS_BLOCK: aws.s3.BucketPublicAccessBlock,
    tokens.S3_ACCOUNT_PUBLIC_ACCESS_BLOCK: aws.s3.AccountPublicAccessBlock,
    tokens.S3_BUCKET_POLICY: aws.s3.BucketPolicy,
    tokens.S3_LIFECYCLE: aws.s3.BucketLifecycleConfiguration,
    tokens.S3_OBJECT_LOCK: aws.s3.BucketObjectLockConfiguration,
    tokens.S3_REPLICATION: aws.s3.BucketReplicationConfig,
    tokens.AZ_RESOURCE_GROUP: resources.ResourceGroup,
    tokens.AZ_STORAGE_ACCOUNT: storage.StorageAccount,
    tokens.AZ_BLOB_SERVICE: storage.BlobServiceProperties,
    tokens.AZ_BLOB_CONTAINER: storage.BlobContainer,
    tokens.AZ_SB_NAMESPACE: servicebus.Namespace,
    tokens.AZ_SB_QUEUE: servicebus.Queue,
    tokens.AZ_SB_TOPIC: servicebus.Topic,
    tokens.AZ_SB_SUBSCRIPTION: servicebus.Subscription,
    tokens.AZ_ACTION_GROUP: monitor.ActionGroup,
    tokens.AZ_METRIC_ALERT: monitor.MetricAlert,
    tokens.ATLAS_USER_PROJECT_ASSIGNMENT: mongodbatlas.CloudUserProjectAssignment,
    tokens.AZ_APP_SERVICE_PLAN: web.AppServicePlan,
    tokens.AZ_WEB_APP: web.WebApp,
    tokens.AZ_WEB_APP_SLOT: web.WebAppSlot,
    tokens.AZ_HOST_NAME_BINDING: web.WebAppHostNameBinding,
    tokens.AZ_USER_ASSIGNED_IDENTITY: managedidentity.UserAssignedIdentity,
    tokens.AZ_WEB_CERTIFICATE: web.Certificate,
    tokens.AZ_ROLE_ASSIGNMENT: authorization.RoleAssignment,
    tokens.AZ_REGISTRY: containerregistry.Registry,
    tokens.AZ_REGISTRY_REPLICATION: containerregistry.Replication,
    tokens.AZ_REDIS: redis.Redis,
    tokens.AZ_MANAGED_REDIS: redisenterprise.RedisEnterprise,
    tokens.AZ_MANAGED_REDIS_DATABASE: redisenterprise.Database,
    tokens.CF_RULESET: cloudflare.Ruleset,
    tokens.CF_DNS_RECORD: cloudflare.DnsRecord,
}


def _args_class(resource_class: type) -> type:
    """The `@pulumi.input_type` Args class defined next to a resource class (`BucketVersioningInitArgs`…)."""
    module = sys.modules[resource_class.__module__]
    [args] = [
        value
        for name, value in vars(module).items()
        if inspect.isclass(value)
        and value.__module__ == module.__name__
        and _types.is_input_type(value)
        and not name.startswith("_")
    ]
    return args


def _input_classes(annotation: Any) -> list[type]:
    """The input types anywhere inside an annotation (through Optional, Input, Sequence, Union…)."""
    if inspect.isclass(annotation) and _types.is_input_type(annotation):
        return [annotation]
    found: list[type] = []
    for argument in typing.get_args(annotation):
        found += [cls for cls in _input_classes(argument) if cls not in found]
    return found


def _undeclared(value: Any, classes: list[type], path: str) -> list[str]:
    """Paths of wire keys that none of `classes` declares; a dict with no class is a free-form map."""
    if isinstance(value, dict) and value.get(SECRET_SIG_KEY) == SECRET_SIG:
        return _undeclared(value["value"], classes, path)
    if isinstance(value, list):
        return [p for i, item in enumerate(value) for p in _undeclared(item, classes, f"{path}[{i}]")]
    if not isinstance(value, dict) or not classes:
        return []
    names = {cls: _types.input_type_py_to_pulumi_names(cls) for cls in classes}
    fitting = [cls for cls in classes if set(value) <= set(names[cls].values())]
    if not fitting:  # report the keys no candidate knows (for a union, any member's keys)
        known = {wire for n in names.values() for wire in n.values()}
        return [f"{path}.{key}" for key in value if key not in known] or [f"{path} (mixes union members)"]
    types = _types.input_type_types(fitting[0])  # keyed by wire name
    return [
        p
        for key, item in value.items()
        for p in _undeclared(item, _input_classes(types[key]), f"{path}.{key}")
    ]


@pytest.mark.parametrize("stack", STACKS)
def test_every_wire_key_is_one_the_installed_sdk_declares(stack: str) -> None:
    """A misspelt key in a nested dict is silently sent as-is; the engine and the provider would ignore it."""
    _run, monitor = run_program(stack)
    custom = [r for r in monitor.registrations if r.custom]
    assert {r.type for r in custom} <= set(SDK_CLASSES)
    problems = [
        p
        for r in custom
        for p in _undeclared(r.inputs, [_args_class(SDK_CLASSES[r.type])], f"{r.type}::{r.name}")
    ]
    assert problems == []
    assert len(custom) > 60


def test_a_drill_stack_never_declares_a_compliance_policy() -> None:
    """Drill clusters are restored into and torn down; a compliance floor would make them undeletable."""
    from datetime import UTC, datetime

    from backstop.program.ephemeral import DrillClusterSpec, drill_program

    spec = DrillClusterSpec(
        project_id="5f0000000000000000000042",
        cluster_name="drill-cartie-1",
        instance_size="M10",
        region="US_EAST_1",
        expires_at=datetime(2026, 5, 18, 12, tzinfo=UTC),
        source_cluster="cartie-prod",
        drill_id="1",
    )
    monitor = use_mocks(stack="drill-1")
    run = run_with_mocks(drill_program(spec), stack="drill-1", monitor=monitor)
    assert [r.type for r in run.resources] == [tokens.ATLAS_ADVANCED_CLUSTER]
    assert run.resources[0].props["projectId"] == "5f0000000000000000000042"
