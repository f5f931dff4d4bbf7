"""MongoDB Atlas: backed-up replica sets, their Cloud Backup schedules, encryption with the customer key,
the offsite export, the prod compliance floor and backup alerts.

Seed basis (CARTIE Tier 1): 6-hourly snapshots with continuous oplog, 7 daily / 4 weekly / 12 monthly
retention, cross-region copy us-east-1 → us-west-2, AES-256 with AWS KMS-managed keys, 7-day point-in-time
recovery; WiserReview: minimum 3-node replica sets; "Backup status ... alerts".
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pulumi
import pulumi_aws as aws

from backstop.config import AlertsConfig, AtlasConfig, BackupScheduleConfig, ClusterConfig
from backstop.ground import tokens
from backstop.program.providers import provider

if TYPE_CHECKING:
    import pulumi_mongodbatlas as mongodbatlas
else:  # only the modules of the classes used, not the provider's root
    mongodbatlas = provider("pulumi_mongodbatlas")


def atlas_region_to_aws(region: str) -> str:
    """`US_EAST_1` -> `us-east-1`: Atlas names AWS regions in upper snake case."""
    return region.lower().replace("_", "-")


def aws_region_to_atlas(region: str) -> str:
    """`us-east-1` -> `US_EAST_1`."""
    return region.upper().replace("-", "_")


def _policy_json(statements: list[dict[str, Any]]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


def schedule_policy_items(backup: BackupScheduleConfig) -> dict[str, Any]:
    """Policy items of the Cloud Backup schedule: 6-hourly, daily, weekly and monthly snapshots."""
    return {
        "policy_item_hourly": mongodbatlas.CloudBackupSchedulePolicyItemHourlyArgs(
            frequency_interval=backup.hourly_interval_hours,
            retention_unit="days",
            retention_value=backup.hourly_retention_days,
        ),
        "policy_item_daily": mongodbatlas.CloudBackupSchedulePolicyItemDailyArgs(
            frequency_interval=1, retention_unit="days", retention_value=backup.daily_retention_days
        ),
        "policy_item_weeklies": [
            mongodbatlas.CloudBackupSchedulePolicyItemWeeklyArgs(
                frequency_interval=backup.weekly_day_of_week,
                retention_unit="weeks",
                retention_value=backup.weekly_retention_weeks,
            )
        ],
        "policy_item_monthlies": [
            mongodbatlas.CloudBackupSchedulePolicyItemMonthlyArgs(
                frequency_interval=backup.monthly_day_of_month,
                retention_unit="months",
                retention_value=backup.monthly_retention_months,
            )
        ],
    }


def compliance_policy_items(backup: BackupScheduleConfig) -> dict[str, Any]:
    """The same items as the schedule, as the floor no project member can lower (prod only)."""
    return {
        "policy_item_hourly": mongodbatlas.BackupCompliancePolicyPolicyItemHourlyArgs(
            frequency_interval=backup.hourly_interval_hours,
            retention_unit="days",
            retention_value=backup.hourly_retention_days,
        ),
        "policy_item_daily": mongodbatlas.BackupCompliancePolicyPolicyItemDailyArgs(
            frequency_interval=1, retention_unit="days", retention_value=backup.daily_retention_days
        ),
        "policy_item_weeklies": [
            mongodbatlas.BackupCompliancePolicyPolicyItemWeeklyArgs(
                frequency_interval=backup.weekly_day_of_week,
                retention_unit="weeks",
                retention_value=backup.weekly_retention_weeks,
            )
        ],
        "policy_item_monthlies": [
            mongodbatlas.BackupCompliancePolicyPolicyItemMonthlyArgs(
                frequency_interval=backup.monthly_day_of_month,
                retention_unit="months",
                retention_value=backup.monthly_retention_months,
            )
        ],
    }


@dataclass(frozen=True)
class AtlasBackupArgs:
    config: AtlasConfig
    environment: str
    kms_key_id: pulumi.Input[str]
    kms_key_arn: pulumi.Input[str]
    kms_region: str
    export_bucket_name: pulumi.Input[str]
    export_bucket_arn: pulumi.Input[str]
    slack_api_token: pulumi.Input[str] | None
    protect: bool
    # The export bucket's Object Lock, encryption, policy and other settings: registering the bucket and
    # enabling exports make Atlas write `.permissioncheck` into it, which must meet the finished bucket.
    export_bucket_settings: Sequence[pulumi.Resource] = ()


@dataclass(frozen=True)
class AtlasAccess:
    """An IAM role Atlas assumes for one feature, and the records that let Atlas use it."""

    setup: mongodbatlas.CloudProviderAccessSetup
    role: aws.iam.Role
    policy: aws.iam.RolePolicy
    authorization: mongodbatlas.CloudProviderAccessAuthorization


class AtlasBackupPosture(pulumi.ComponentResource):
    """One Atlas project whose clusters are backed up, copied, encrypted, exported and alerted on."""

    project: mongodbatlas.Project
    clusters: dict[str, mongodbatlas.AdvancedCluster]
    schedules: dict[str, mongodbatlas.CloudBackupSchedule]

    def __init__(self, name: str, args: AtlasBackupArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(tokens.COMPONENT_ATLAS, name, None, opts)
        cfg = args.config
        child = pulumi.ResourceOptions(parent=self)
        self.project = mongodbatlas.Project(
            f"{name}-project",
            org_id=cfg.org_id,
            name=cfg.project_name,
            with_default_alerts_settings=True,
            tags={"environment": args.environment, "managed-by": "backstop"},
            opts=child,
        )
        self.encryption_access = self._encryption_role(name, args)
        self.encryption = mongodbatlas.EncryptionAtRest(
            f"{name}-encryption-at-rest",
            project_id=self.project.id,
            aws_kms_config=mongodbatlas.EncryptionAtRestAwsKmsConfigArgs(
                enabled=True,
                customer_master_key_id=args.kms_key_id,
                # The region of the key, not of the clusters: Atlas calls KMS there.
                region=aws_region_to_atlas(args.kms_region),
                role_id=self.encryption_access.authorization.role_id,
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.encryption_access.authorization]),
        )
        self.export_access = self._export_role(name, args)
        self.export_bucket = mongodbatlas.CloudBackupSnapshotExportBucket(
            f"{name}-export-bucket",
            project_id=self.project.id,
            bucket_name=args.export_bucket_name,
            cloud_provider="AWS",
            iam_role_id=self.export_access.authorization.role_id,
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=[self.export_access.authorization, *args.export_bucket_settings]
            ),
        )
        self.clusters = {}
        self.schedules = {}
        for cluster_cfg in cfg.clusters:
            cluster = self._cluster(name, cluster_cfg, args)
            self.clusters[cluster_cfg.name] = cluster
            self.schedules[cluster_cfg.name] = self._schedule(name, cluster_cfg, cluster, args)
        # Prod only (config refuses it elsewhere): the floor would block staging and drill teardown.
        self.compliance_policy: mongodbatlas.BackupCompliancePolicy | None = None
        if cfg.compliance_policy is not None:
            self.compliance_policy = self._compliance_policy(name, args)
        self.alerts = self._alerts(name, args)
        self.register_outputs(
            {
                "projectId": self.project.id,
                "clusterNames": [c.name for c in cfg.clusters],
                "exportBucketId": self.export_bucket.export_bucket_id,
            }
        )

    def _atlas_role(self, name: str, purpose: str, what_for: str, policy: pulumi.Input[str]) -> AtlasAccess:
        """An IAM role only Atlas can assume (its account, this project's external id), authorized in Atlas.

        Features reference the authorization's `role_id`, so they are created after Atlas accepted the role.
        """
        setup = mongodbatlas.CloudProviderAccessSetup(
            f"{name}-{purpose}-access",
            project_id=self.project.id,
            provider_name="AWS",
            opts=pulumi.ResourceOptions(parent=self),
        )
        atlas_principal = setup.aws_configs.apply(lambda configs: configs[0]["atlas_aws_account_arn"])
        external_id = setup.aws_configs.apply(lambda configs: configs[0]["atlas_assumed_role_external_id"])
        role = aws.iam.Role(
            f"{name}-{purpose}-role",
            description=f"Assumed by MongoDB Atlas for {what_for} only",
            assume_role_policy=pulumi.Output.all(atlas_principal, external_id).apply(
                lambda values: _policy_json(
                    [
                        {
                            "Effect": "Allow",
                            "Principal": {"AWS": values[0]},
                            "Action": "sts:AssumeRole",
                            "Condition": {"StringEquals": {"sts:ExternalId": values[1]}},
                        }
                    ]
                )
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        role_policy = aws.iam.RolePolicy(
            f"{name}-{purpose}-role-policy",
            role=role.id,
            policy=policy,
            opts=pulumi.ResourceOptions(parent=self),
        )
        authorization = mongodbatlas.CloudProviderAccessAuthorization(
            f"{name}-{purpose}-access-authorization",
            project_id=self.project.id,
            role_id=setup.role_id,
            aws=mongodbatlas.CloudProviderAccessAuthorizationAwsArgs(iam_assumed_role_arn=role.arn),
            # Atlas checks the role's permissions when the feature is enabled, so they must exist first.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[role_policy]),
        )
        return AtlasAccess(setup=setup, role=role, policy=role_policy, authorization=authorization)

    def _encryption_role(self, name: str, args: AtlasBackupArgs) -> AtlasAccess:
        """Encryption at rest needs exactly DescribeKey, Encrypt and Decrypt on the customer key."""
        policy = pulumi.Output.from_input(args.kms_key_arn).apply(
            lambda key_arn: _policy_json(
                [
                    {
                        "Sid": "AtlasEncryptionAtRest",
                        "Effect": "Allow",
                        "Action": ["kms:DescribeKey", "kms:Encrypt", "kms:Decrypt"],
                        "Resource": [key_arn],
                    }
                ]
            )
        )
        return self._atlas_role(name, "encryption", "encryption at rest with the customer key", policy)

    def _export_role(self, name: str, args: AtlasBackupArgs) -> AtlasAccess:
        """Snapshot export needs GetBucketLocation and PutObject, nothing that reads or deletes exports.

        The bucket encrypts with the customer key, so the role may use that key, but only through S3.
        """
        via_s3 = {"StringEquals": {"kms:ViaService": f"s3.{args.kms_region}.amazonaws.com"}}
        policy = pulumi.Output.all(args.export_bucket_arn, args.kms_key_arn).apply(
            lambda arns: _policy_json(
                [
                    {
                        "Sid": "LocateExportBucket",
                        "Effect": "Allow",
                        "Action": ["s3:GetBucketLocation"],
                        "Resource": [arns[0]],
                    },
                    {
                        "Sid": "WriteSnapshotExports",
                        "Effect": "Allow",
                        "Action": ["s3:PutObject"],
                        "Resource": [f"{arns[0]}/*"],
                    },
                    {
                        "Sid": "EncryptExportsThroughS3",
                        "Effect": "Allow",
                        "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
                        "Resource": [arns[1]],
                        "Condition": via_s3,
                    },
                ]
            )
        )
        return self._atlas_role(name, "export", "writing Cloud Backup snapshot exports", policy)

    def _cluster(
        self, name: str, cluster_cfg: ClusterConfig, args: AtlasBackupArgs
    ) -> mongodbatlas.AdvancedCluster:
        return mongodbatlas.AdvancedCluster(
            f"{name}-{cluster_cfg.name}",
            project_id=self.project.id,
            name=cluster_cfg.name,
            cluster_type="REPLICASET",
            mongo_db_major_version=cluster_cfg.mongo_db_major_version,
            backup_enabled=True,
            pit_enabled=True,
            retain_backups_enabled=True,
            encryption_at_rest_provider="AWS",
            termination_protection_enabled=cluster_cfg.termination_protection,
            # One region with at least 3 electable nodes: Atlas places them in separate availability zones
            # (the config refuses regions where it can only use two).
            replication_specs=[
                mongodbatlas.AdvancedClusterReplicationSpecArgs(
                    zone_name="primary",
                    region_configs=[
                        mongodbatlas.AdvancedClusterReplicationSpecRegionConfigArgs(
                            provider_name=cluster_cfg.provider,
                            region_name=cluster_cfg.region,
                            priority=7,
                            electable_specs=mongodbatlas.AdvancedClusterReplicationSpecRegionConfigElectableSpecsArgs(
                                instance_size=cluster_cfg.instance_size,
                                node_count=cluster_cfg.electable_nodes,
                            ),
                        )
                    ],
                )
            ],
            tags={"environment": args.environment, "backup-tier": "1"},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.encryption]),
        )

    def _schedule(
        self,
        name: str,
        cluster_cfg: ClusterConfig,
        cluster: mongodbatlas.AdvancedCluster,
        args: AtlasBackupArgs,
    ) -> mongodbatlas.CloudBackupSchedule:
        backup = args.config.backup
        copy_items = [
            mongodbatlas.CloudBackupScheduleCopySettingCopyPolicyItemArgs(
                frequency_type=frequency, retention_unit=unit, retention_value=value
            )
            for frequency, unit, value in (
                ("hourly", "days", backup.hourly_retention_days),
                ("daily", "days", backup.daily_retention_days),
                ("weekly", "weeks", backup.weekly_retention_weeks),
                ("monthly", "months", backup.monthly_retention_months),
            )
        ]
        return mongodbatlas.CloudBackupSchedule(
            f"{name}-{cluster_cfg.name}-backup-schedule",
            project_id=cluster.project_id,
            cluster_name=cluster.name,
            reference_hour_of_day=backup.reference_hour_of_day,
            reference_minute_of_hour=backup.reference_minute_of_hour,
            restore_window_days=backup.restore_window_days,
            update_snapshots=True,
            copy_policy_items_enabled=True,
            copy_settings=[
                mongodbatlas.CloudBackupScheduleCopySettingArgs(
                    cloud_provider="AWS",
                    region_name=backup.copy_region,
                    zone_id=cluster.replication_specs.apply(lambda specs: specs[0]["zone_id"]),
                    should_copy_oplogs=backup.copy_oplogs,
                    copy_policy_items=copy_items,
                )
            ],
            auto_export_enabled=True,
            export=mongodbatlas.CloudBackupScheduleExportArgs(
                export_bucket_id=self.export_bucket.export_bucket_id, frequency_type=backup.export_frequency
            ),
            use_org_and_group_names_in_export_prefix=True,
            opts=pulumi.ResourceOptions(
                parent=self,
                protect=args.protect,
                depends_on=[self.export_bucket, *args.export_bucket_settings],
            ),
            **schedule_policy_items(backup),
        )

    def _compliance_policy(self, name: str, args: AtlasBackupArgs) -> mongodbatlas.BackupCompliancePolicy:
        policy = args.config.compliance_policy
        assert policy is not None
        backup = args.config.backup
        return mongodbatlas.BackupCompliancePolicy(
            f"{name}-backup-compliance-policy",
            project_id=self.project.id,
            authorized_email=policy.authorized_email,
            authorized_user_first_name=policy.authorized_first_name,
            authorized_user_last_name=policy.authorized_last_name,
            copy_protection_enabled=True,
            encryption_at_rest_enabled=True,
            pit_enabled=True,
            restore_window_days=backup.restore_window_days,
            opts=pulumi.ResourceOptions(
                parent=self, protect=args.protect, depends_on=[*self.schedules.values(), self.encryption]
            ),
            **compliance_policy_items(backup),
        )

    def _alerts(self, name: str, args: AtlasBackupArgs) -> list[mongodbatlas.AlertConfiguration]:
        """One e-mail alert per backup event, plus one to Slack when the bot token is configured.

        Slack gets Atlas's `SLACK` notification type (bot token and channel): Atlas's generic `WEBHOOK` posts
        JSON without the `text` a Slack incoming webhook requires, so Slack would drop it. Slack alerts are
        separate resources: the token makes the whole notification list secret, and the e-mail recipients
        must stay readable to anyone reviewing the posture. Threshold event types carry the threshold their
        Atlas schema requires (`alert_threshold`).
        """
        alerts_cfg = args.config.alerts
        channels: list[tuple[str, mongodbatlas.AlertConfigurationNotificationArgs]] = [
            (
                "",
                mongodbatlas.AlertConfigurationNotificationArgs(
                    type_name="EMAIL",
                    email_address=alerts_cfg.email,
                    interval_min=alerts_cfg.interval_minutes,
                    delay_min=0,
                ),
            )
        ]
        if args.slack_api_token is not None:
            channels.append(
                (
                    "-slack",
                    mongodbatlas.AlertConfigurationNotificationArgs(
                        type_name=tokens.ATLAS_SLACK_NOTIFICATION,
                        api_token=pulumi.Output.secret(args.slack_api_token),
                        channel_name=alerts_cfg.slack_channel,
                        interval_min=alerts_cfg.interval_minutes,
                        delay_min=0,
                    ),
                )
            )
        return [
            mongodbatlas.AlertConfiguration(
                f"{name}-alert-{event.lower().replace('_', '-')}{suffix}",
                project_id=self.project.id,
                event_type=event,
                enabled=True,
                notifications=[notification],
                threshold_config=alert_threshold(event, alerts_cfg),
                opts=pulumi.ResourceOptions(parent=self),
            )
            for event in tokens.ATLAS_BACKUP_ALERT_EVENTS
            for suffix, notification in channels
        ]


def alert_threshold(
    event: str, alerts: AlertsConfig
) -> mongodbatlas.AlertConfigurationThresholdConfigArgs | None:
    """The threshold Atlas requires for `event`, from config; None for events that take none.

    Snapshot behind: the newest snapshot older than `snapshotBehindHours` (default one 6-hour interval plus
    an hour). Key rotation: the customer key not rotated for `keyRotationDays` (Atlas's default, 90).
    """
    if event == tokens.ATLAS_SNAPSHOT_BEHIND:
        return mongodbatlas.AlertConfigurationThresholdConfigArgs(
            operator=tokens.ATLAS_THRESHOLD_OPERATOR, threshold=alerts.snapshot_behind_hours, units="HOURS"
        )
    if event in tokens.ATLAS_KEY_ROTATION_EVENTS:
        return mongodbatlas.AlertConfigurationThresholdConfigArgs(
            operator=tokens.ATLAS_THRESHOLD_OPERATOR, threshold=alerts.key_rotation_days, units="DAYS"
        )
    if event in tokens.ATLAS_THRESHOLD_UNITS:
        raise ValueError(f"backstop declares no threshold for the Atlas event {event}")
    return None
