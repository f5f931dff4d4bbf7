"""Configuration examples published in provider documentation, run as Pulumi programs under the mocks.

Each program is the example as its documentation prints it (resource arguments unchanged); only what the
rules do not read (IAM documents built by invokes, ACLs) is left out, and where an example needs a
neighbour to be judged at all (an Atlas export target naming the bucket) that one addition is marked.
The source of every example is named next to it, so the fixture can be compared with the page.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

import pulumi
import pulumi_aws as aws
import pulumi_mongodbatlas as mongodbatlas

from backstop.program.mocks import ProgramRun, run_with_mocks

EXAMPLES: dict[str, str] = {}


def _example(source: str) -> Callable[[Callable[[], None]], Callable[[], None]]:
    def register(program: Callable[[], None]) -> Callable[[], None]:
        EXAMPLES[program.__name__] = source
        return program

    return register


@_example(
    "pulumi-aws 7.51.1, pulumi_aws/s3/bucket_replication_config.py, BucketReplicationConfig docstring, "
    "'Using replication configuration' / 'Terraform AWS Provider v6 (and above)'"
)
def replication_prefix_example() -> None:
    """Source in eu-central-1, destination in the provider's region, one rule filtered to `example`."""
    replication_role = aws.iam.Role(
        "replication", name="tf-iam-role-replication-12345", assume_role_policy="{}"
    )  # the example builds assume_role_policy with aws.iam.get_policy_document; not read by the rules
    destination = aws.s3.Bucket("destination", bucket="tf-test-bucket-destination-12345")
    source = aws.s3.Bucket("source", region="eu-central-1", bucket="tf-test-bucket-source-12345")
    aws.s3.BucketVersioning(
        "destination", versioning_configuration={"status": "Enabled"}, bucket=destination.id
    )
    source_bucket_versioning = aws.s3.BucketVersioning(
        "source", region="eu-central-1", versioning_configuration={"status": "Enabled"}, bucket=source.id
    )
    aws.s3.BucketReplicationConfig(
        "replication",
        region="eu-central-1",
        rules=[
            {
                "filter": {"prefix": "example"},
                "destination": {"bucket": destination.arn, "storage_class": "STANDARD"},
                "id": "examplerule",
                "status": "Enabled",
            }
        ],
        role=replication_role.arn,
        bucket=source.id,
        opts=pulumi.ResourceOptions(depends_on=[source_bucket_versioning]),
    )


@_example(
    "pulumi-aws 7.51.1, pulumi_aws/s3/bucket_lifecycle_configuration.py, BucketLifecycleConfiguration "
    "docstring, 'Creating a Lifecycle Configuration for a bucket with versioning'"
)
def lifecycle_versioning_example() -> None:
    """`log` expires after 90 days (`log/` tagged rule=log, autoclean=true), `tmp` on a date, and the
    versioning bucket deletes noncurrent `config/` versions after 90 days. Added: both buckets are Atlas
    snapshot export targets, which is what makes the expirations matter."""
    bucket = aws.s3.Bucket("bucket", bucket="my-bucket")
    aws.s3.BucketLifecycleConfiguration(
        "bucket-config",
        rules=[
            {
                "expiration": {"days": 90},
                "filter": {"and_": {"prefix": "log/", "tags": {"rule": "log", "autoclean": "true"}}},
                "transitions": [
                    {"days": 30, "storage_class": "STANDARD_IA"},
                    {"days": 60, "storage_class": "GLACIER"},
                ],
                "id": "log",
                "status": "Enabled",
            },
            {
                "filter": {"prefix": "tmp/"},
                "expiration": {"date": "2023-01-13T00:00:00Z"},
                "id": "tmp",
                "status": "Enabled",
            },
        ],
        bucket=bucket.bucket,
    )
    versioning_bucket = aws.s3.Bucket("versioning_bucket", bucket="my-versioning-bucket")
    versioning = aws.s3.BucketVersioning(
        "versioning", versioning_configuration={"status": "Enabled"}, bucket=versioning_bucket.bucket
    )
    aws.s3.BucketLifecycleConfiguration(
        "versioning-bucket-config",
        rules=[
            {
                "filter": {"prefix": "config/"},
                "noncurrent_version_expiration": {"noncurrent_days": 90},
                "noncurrent_version_transitions": [
                    {"noncurrent_days": 30, "storage_class": "STANDARD_IA"},
                    {"noncurrent_days": 60, "storage_class": "GLACIER"},
                ],
                "id": "config",
                "status": "Enabled",
            }
        ],
        bucket=versioning_bucket.bucket,
        opts=pulumi.ResourceOptions(depends_on=[versioning]),
    )
    # Added: Atlas exports snapshots into both buckets.
    for name, target in (("exports", bucket), ("versioned-exports", versioning_bucket)):
        mongodbatlas.CloudBackupSnapshotExportBucket(
            name,
            project_id="5f0a1b2c3d4e5f6a7b8c9d0e",
            bucket_name=target.bucket,
            cloud_provider="AWS",
            iam_role_id="role",
        )


@_example(
    "pulumi-aws 7.51.1, pulumi_aws/s3/account_public_access_block.py, AccountPublicAccessBlock docstring, "
    "'Example Usage'"
)
def account_public_access_block_example() -> None:
    """The account-level block as documented: only two of the four flags. Added: one bucket without a
    bucket-level block, which the account-level block is all that protects."""
    aws.s3.AccountPublicAccessBlock("example", block_public_acls=True, block_public_policy=True)
    aws.s3.Bucket("data", bucket="acme-data")  # added


@cache
def run_example(name: str) -> ProgramRun:
    """The resources an example registers, recorded by the mocks (once per session)."""
    program = globals()[name]
    return run_with_mocks(program, stack="docs", config={"aws:region": "us-east-1"})
