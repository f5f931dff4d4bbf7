"""AWS pieces: the customer KMS key (with its us-west-2 replica) and replicated, locked-down S3 buckets.

Seed basis: "Encryption: AES-256 server-side at rest in S3; AWS KMS-managed keys", "Cross-region copy:
enabled (us-east-1 → us-west-2)", "no public bucket access". Every bucket is versioned, SSE-KMS encrypted
with the customer key, blocked from public access, TLS-only, and replicated to the copy region.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from backstop.config import ObjectLockConfig, replica_bucket_name
from backstop.ground import tokens


def _policy_json(statements: list[dict[str, object]]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


@dataclass(frozen=True)
class BackupKeyArgs:
    account_id: pulumi.Input[str]
    region: str
    replica_region: str
    deletion_window_days: int
    description: str
    alias_name: str
    protect: bool


class BackupKey(pulumi.ComponentResource):
    """A multi-region customer-managed KMS key with rotation on and a replica in the copy region."""

    key: aws.kms.Key
    replica: aws.kms.ReplicaKey

    def __init__(self, name: str, args: BackupKeyArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(tokens.COMPONENT_KMS, name, None, opts)
        child = pulumi.ResourceOptions(parent=self, protect=args.protect)
        key_policy = pulumi.Output.from_input(args.account_id).apply(
            lambda account: _policy_json(
                [
                    {
                        "Sid": "AccountAdministersKey",
                        "Effect": "Allow",
                        "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                        "Action": "kms:*",
                        "Resource": "*",
                    }
                ]
            )
        )
        self.key = aws.kms.Key(
            f"{name}-key",
            description=args.description,
            enable_key_rotation=True,
            deletion_window_in_days=args.deletion_window_days,
            multi_region=True,
            policy=key_policy,
            region=args.region,
            opts=child,
        )
        self.alias = aws.kms.Alias(
            f"{name}-alias",
            name=f"alias/{args.alias_name}",
            target_key_id=self.key.key_id,
            region=args.region,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.replica = aws.kms.ReplicaKey(
            f"{name}-replica",
            primary_key_arn=self.key.arn,
            description=f"{args.description} (replica in {args.replica_region})",
            deletion_window_in_days=args.deletion_window_days,
            policy=key_policy,
            region=args.replica_region,
            opts=child,
        )
        self.register_outputs({"keyArn": self.key.arn, "replicaArn": self.replica.arn})


def bucket_policy_statements(arn: str, *, keep_versions: bool) -> list[dict[str, object]]:
    """TLS only; with `keep_versions`, no principal may delete an object version for good (lifecycle
    expiry of noncurrent versions is S3's own action, which a bucket policy does not govern)."""
    statements: list[dict[str, object]] = [
        {
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [arn, f"{arn}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    ]
    if keep_versions:
        statements.append(
            {
                "Sid": "DenyVersionDeletion",
                "Effect": "Deny",
                "Principal": "*",
                "Action": ["s3:DeleteObjectVersion", "s3:BypassGovernanceRetention"],
                "Resource": [f"{arn}/*"],
            }
        )
    return statements


@dataclass(frozen=True)
class ReplicatedBucketArgs:
    bucket_name: str
    region: str
    replica_region: str
    kms_key_arn: pulumi.Input[str]
    replica_kms_key_arn: pulumi.Input[str]
    noncurrent_version_days: int
    protect: bool
    object_lock: ObjectLockConfig | None = None


@dataclass(frozen=True)
class LockedDownBucket:
    """One bucket and the separate pulumi-aws v7 resources that make it a backup bucket."""

    bucket: aws.s3.Bucket
    versioning: aws.s3.BucketVersioning
    encryption: aws.s3.BucketServerSideEncryptionConfiguration
    public_access_block: aws.s3.BucketPublicAccessBlock
    tls_only_policy: aws.s3.BucketPolicy
    lifecycle: aws.s3.BucketLifecycleConfiguration
    object_lock: aws.s3.BucketObjectLockConfiguration | None

    def settings(self) -> list[pulumi.Resource]:
        """Every resource that must exist before anyone writes into the bucket: versioning, encryption,
        public access block, bucket policy, lifecycle and (when locked) the Object Lock configuration."""
        parts: list[pulumi.Resource] = [
            self.versioning,
            self.encryption,
            self.public_access_block,
            self.tls_only_policy,
            self.lifecycle,
        ]
        return [*parts, self.object_lock] if self.object_lock is not None else parts


class ReplicatedBucket(pulumi.ComponentResource):
    """A bucket and its copy-region replica, each versioned, SSE-KMS, private and TLS-only.

    With `object_lock`, the replica keeps every copy under a default Object Lock retention; the source, which
    third parties such as Atlas write into, gets one only with `object_lock.source_default_retention`: S3
    refuses an upload into a bucket with a default retention unless it carries a `Content-MD5` or checksum
    header, and Atlas does not document that its uploader sends one. Both sides deny permanent deletion of an
    object version to every principal, and the lifecycle keeps noncurrent versions for at least the lock days.
    """

    source: LockedDownBucket
    target: LockedDownBucket
    bucket: aws.s3.Bucket
    replica: aws.s3.Bucket

    def __init__(
        self, name: str, args: ReplicatedBucketArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(tokens.COMPONENT_BUCKET, name, None, opts)
        lock = args.object_lock
        self.source = self._locked_down_bucket(
            name,
            args.bucket_name,
            args.region,
            args.kms_key_arn,
            args,
            default_retention=lock is not None and lock.source_default_retention,
        )
        # The replica lives in the copy region, encrypted with the replica of the key there; S3 replication
        # writes into it, so a default retention there never refuses an upload.
        self.target = self._locked_down_bucket(
            f"{name}-replica",
            replica_bucket_name(args.bucket_name, args.replica_region),
            args.replica_region,
            args.replica_kms_key_arn,
            args,
            default_retention=lock is not None,
        )
        self.bucket = self.source.bucket
        self.replica = self.target.bucket
        self.replication_role = self._replication_role(name, args)
        self.replication = aws.s3.BucketReplicationConfig(
            f"{name}-replication",
            bucket=self.bucket.id,
            role=self.replication_role.arn,
            rules=[
                {
                    "id": "copy-region",
                    "status": "Enabled",
                    "filter": {"prefix": ""},
                    "delete_marker_replication": {"status": "Enabled"},
                    "source_selection_criteria": {"sse_kms_encrypted_objects": {"status": "Enabled"}},
                    "destination": {
                        "bucket": self.replica.arn,
                        "storage_class": "STANDARD",
                        "encryption_configuration": {"replica_kms_key_id": args.replica_kms_key_arn},
                        "replication_time": {"status": "Enabled", "time": {"minutes": 15}},
                        "metrics": {"status": "Enabled", "event_threshold": {"minutes": 15}},
                    },
                }
            ],
            region=args.region,
            # S3 refuses a replication configuration until both buckets are versioned.
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=[self.source.versioning, self.target.versioning]
            ),
        )
        self.register_outputs(
            {"bucketName": self.bucket.bucket, "bucketArn": self.bucket.arn, "replicaArn": self.replica.arn}
        )

    def upload_ready(self) -> list[pulumi.Resource]:
        """What a writer into the source bucket must wait for: its settings and the replication."""
        return [*self.source.settings(), self.replication]

    def _locked_down_bucket(
        self,
        name: str,
        bucket_name: str,
        region: str,
        kms_key_arn: pulumi.Input[str],
        args: ReplicatedBucketArgs,
        *,
        default_retention: bool,
    ) -> LockedDownBucket:
        object_lock = args.object_lock
        bucket = aws.s3.Bucket(
            name,
            bucket=bucket_name,
            force_destroy=False,
            object_lock_enabled=object_lock is not None,
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
            region=region,
        )
        child = pulumi.ResourceOptions(parent=self)
        versioning = aws.s3.BucketVersioning(
            f"{name}-versioning",
            bucket=bucket.id,
            versioning_configuration={"status": "Enabled"},
            opts=child,
            region=region,
        )
        encryption = aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-sse",
            bucket=bucket.id,
            rules=[
                {
                    "apply_server_side_encryption_by_default": {
                        "sse_algorithm": "aws:kms",
                        "kms_master_key_id": kms_key_arn,
                    },
                    "bucket_key_enabled": True,
                }
            ],
            opts=child,
            region=region,
        )
        public_access_block = aws.s3.BucketPublicAccessBlock(
            f"{name}-public-access-block",
            bucket=bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=child,
            region=region,
        )
        tls_only_policy = aws.s3.BucketPolicy(
            f"{name}-tls-only",
            bucket=bucket.id,
            policy=bucket.arn.apply(
                lambda arn: _policy_json(bucket_policy_statements(arn, keep_versions=object_lock is not None))
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[public_access_block]),
            region=region,
        )
        lifecycle = aws.s3.BucketLifecycleConfiguration(
            f"{name}-lifecycle",
            bucket=bucket.id,
            rules=[
                aws.s3.BucketLifecycleConfigurationRuleArgs(
                    id="expire-noncurrent-versions",
                    status="Enabled",
                    filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                    noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                        noncurrent_days=args.noncurrent_version_days
                    ),
                    abort_incomplete_multipart_upload=aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                        days_after_initiation=7
                    ),
                )
            ],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[versioning]),
            region=region,
        )
        lock = None
        if object_lock is not None:
            retention = aws.s3.BucketObjectLockConfigurationRuleArgs(
                default_retention=aws.s3.BucketObjectLockConfigurationRuleDefaultRetentionArgs(
                    mode=object_lock.mode, days=object_lock.days
                )
            )
            lock = aws.s3.BucketObjectLockConfiguration(
                f"{name}-object-lock",
                bucket=bucket.id,
                object_lock_enabled="Enabled",
                rule=retention if default_retention else None,
                opts=pulumi.ResourceOptions(parent=self, depends_on=[versioning]),
                region=region,
            )
        return LockedDownBucket(
            bucket=bucket,
            versioning=versioning,
            encryption=encryption,
            public_access_block=public_access_block,
            tls_only_policy=tls_only_policy,
            lifecycle=lifecycle,
            object_lock=lock,
        )

    def _replication_role(self, name: str, args: ReplicatedBucketArgs) -> aws.iam.Role:
        role = aws.iam.Role(
            f"{name}-replication-role",
            assume_role_policy=_policy_json(
                [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "s3.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ]
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        aws.iam.RolePolicy(
            f"{name}-replication-policy",
            role=role.id,
            policy=pulumi.Output.all(
                self.bucket.arn, self.replica.arn, args.kms_key_arn, args.replica_kms_key_arn
            ).apply(
                lambda arns: _policy_json(
                    [
                        {
                            "Effect": "Allow",
                            "Action": ["s3:GetReplicationConfiguration", "s3:ListBucket"],
                            "Resource": [arns[0]],
                        },
                        {
                            "Effect": "Allow",
                            "Action": [
                                "s3:GetObjectVersionForReplication",
                                "s3:GetObjectVersionAcl",
                                "s3:GetObjectVersionTagging",
                                "s3:GetObjectRetention",
                                "s3:GetObjectLegalHold",
                            ],
                            "Resource": [f"{arns[0]}/*"],
                        },
                        {
                            "Effect": "Allow",
                            "Action": [
                                "s3:ReplicateObject",
                                "s3:ReplicateDelete",
                                "s3:ReplicateTags",
                                "s3:ObjectOwnerOverrideToBucketOwner",
                            ],
                            "Resource": [f"{arns[1]}/*"],
                        },
                        {"Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": [arns[2]]},
                        {
                            "Effect": "Allow",
                            "Action": ["kms:Encrypt", "kms:GenerateDataKey"],
                            "Resource": [arns[3]],
                        },
                    ]
                )
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        return role
