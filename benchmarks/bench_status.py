"""Benchmark: `backstop status` over 500 Atlas clusters, 500 S3 buckets and 500 Azure storage accounts.

Against local fakes started here: the spec-validated Atlas fake, moto in server mode, the fake ARM over
HTTPS. The command runs as a whole process (`python -m backstop status --state …`), as the hourly
workflow runs it. Target: under 60 s on a 2-core runner with the default worker bound, every cluster,
bucket and account measured (no unknown row but the evidence store's, which this benchmark does not run).

Run: .venv/bin/python benchmarks/bench_status.py [--count 500] [--workers 16]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from backstop.ground import tokens  # noqa: E402
from backstop.ground.documents import utc_iso  # noqa: E402
from backstop.ground.resources import Resource  # noqa: E402
from tests.fakes.arm_server import FakeArm, FakeWebApp  # noqa: E402
from tests.fakes.atlas_server import FakeAtlas  # noqa: E402
from tests.fakes.moto_aws import client, moto_server  # noqa: E402
from tests.policy_support import to_export  # noqa: E402

TARGET_SECONDS = 60.0
SUB = "00000000-0000-0000-0000-000000000000"


def build(count: int, atlas: FakeAtlas, arm: FakeArm, aws_env: dict[str, str]) -> list[Resource]:
    now = datetime.now(UTC)
    resources: list[Resource] = []
    group = atlas.add_project("bench", project_id="81b5028d12e2c250fcb898ca")
    s3 = client(aws_env, "s3", "us-east-1")
    for index in range(count):
        name = f"cluster-{index:04d}"
        atlas.add_cluster(group, name)
        atlas.set_schedule(group, name, copy_regions=("US_WEST_2",))
        for hours in (1, 7, 13):
            atlas.add_snapshot(group, name, now - timedelta(hours=hours))
        resources.append(
            Resource.build(
                urn=f"urn:pulumi:prod::backstop::{tokens.ATLAS_ADVANCED_CLUSTER}::{name}",
                type=tokens.ATLAS_ADVANCED_CLUSTER,
                props={"projectId": group, "name": name},
                id=f"{index:024x}",
            )
        )
        bucket = f"bench-bucket-{index:04d}"
        s3.create_bucket(Bucket=bucket)
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
        resources.append(
            Resource.build(
                urn=f"urn:pulumi:prod::backstop::{tokens.S3_BUCKET}::{bucket}",
                type=tokens.S3_BUCKET,
                props={"bucket": bucket, "region": "us-east-1"},
                id=bucket,
            )
        )
        account = (
            f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/b{index:04d}"
        )
        arm.resources[account] = {
            "id": account,
            "sku": {"name": "Standard_RAGZRS"},
            "properties": {"geoReplicationStats": {"status": "Live", "lastSyncTime": utc_iso(now)}},
        }
        arm.resources[account + "/blobServices/default"] = {
            "properties": {"deleteRetentionPolicy": {"enabled": True, "days": 14}}
        }
        resources.append(
            Resource.build(
                urn=f"urn:pulumi:prod::backstop::{tokens.AZ_STORAGE_ACCOUNT}::bench{index:04d}",
                type=tokens.AZ_STORAGE_ACCOUNT,
                props={},
                id=account,
            )
        )
    return resources


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument("--workers", type=int, default=16)
    args = parser.parse_args()
    app = FakeWebApp(SUB, "rg", "app", "a", "b")
    with (
        moto_server() as aws_env,
        FakeAtlas() as atlas,
        FakeArm(app) as arm,
        tempfile.TemporaryDirectory() as tmp,
    ):
        atlas.check_contract = (
            False  # the tests validate the shapes; 6,000 exchanges would time the validator
        )
        resources = build(args.count, atlas, arm, aws_env)
        export = Path(tmp) / "bench.export.json"
        export.write_text(json.dumps(to_export(resources)), encoding="utf-8")
        env = {
            **os.environ,
            **atlas.env(),
            **aws_env,
            "BACKSTOP_ARM_ENDPOINT": arm.base_url,
            "AZURE_ACCESS_TOKEN": "bench",
            "REQUESTS_CA_BUNDLE": str(arm.cert),
        }
        env.pop("BACKSTOP_EVIDENCE_MONGODB_URI", None)
        started = time.perf_counter()
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "backstop",
                "status",
                "--state",
                str(export),
                "--format",
                "json",
                "--workers",
                str(args.workers),
                "--project-dir",
                tmp,
            ],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        elapsed = time.perf_counter() - started
    if not done.stdout.strip():
        print(done.stderr, file=sys.stderr)
        return 1
    rows = json.loads(done.stdout)["rows"]
    unmeasured = [r for r in rows if r["status"] == "unknown" and not r["resource"].startswith("evidence:")]
    print(
        f"backstop status: {args.count} clusters + {args.count} buckets + {args.count} accounts, "
        f"{len(rows)} rows in {elapsed:.1f} s (target < {TARGET_SECONDS:.0f} s), {len(unmeasured)} unmeasured"
    )
    for row in unmeasured[:5]:
        print(f"  unknown {row['objective']} {row['resource']}: {row['reason']}")
    return 0 if elapsed < TARGET_SECONDS and not unmeasured else 1


if __name__ == "__main__":
    sys.exit(main())
