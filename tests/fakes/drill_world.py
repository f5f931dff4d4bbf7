"""One world for audit and drill tests: the fake Atlas, mongomock clusters, a shared clock, a project dir.

Prod (`cartie-prod`, PITR on) holds five databases: three tenants, one production-customer database the
drill config excludes, and one that is not a tenant. Snapshots were taken every six hours, the newest an hour
before the audit. The restore hook copies the source into the drill cluster's stand-in, then applies
`tamper` when a test wants the restored data to differ.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from bson import Decimal128, Int64, ObjectId

from backstop.restore.runtime import Runtime
from tests.conftest import ROOT
from tests.fakes.atlas_server import FakeAtlas, FakeClock
from tests.fakes.drill_stacks import FakeDrillStacks
from tests.fakes.mongo import MongoStandIns, copy_databases

NOW = datetime(2026, 5, 17, 3, 0, tzinfo=UTC)
PROD_PROJECT_ID = "6a0000000000000000000001"
STAGING_PROJECT_ID = "6a0000000000000000000002"
SOURCE_URI = "mongodb+srv://reader@cartie-prod.fake.mongodb.net"
EVIDENCE_URI = "mongodb+srv://backstop@evidence.fake.mongodb.net"
TENANT_COLLECTIONS = {
    "tenant_acme": {"orders": 40, "customers": 15, "reviews": 25},
    "tenant_globex": {"orders": 12, "products": 30},
    "tenant_initech": {"orders": 3, "notes": 4},
    "tenant_bigcorp": {"orders": 50},
    "analytics": {"events": 10},
}
TENANTS = ["tenant_acme", "tenant_globex", "tenant_initech"]


def _document(database: str, collection: str, index: int) -> dict[str, Any]:
    base = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=index, milliseconds=index)
    identifier: Any = ObjectId() if index % 3 else {"tenant": database, "seq": index}
    return {
        "_id": identifier,
        "n": index,
        "big": Int64(index * 1_000_000_007),
        "total": Decimal128(f"{index}.25"),
        "at": base,
        "tags": [collection, database, index % 2 == 0],
        "nested": {"score": index / 4, "name": f"{collection}-{index}"},
    }


def write_project(target: Path, drill: dict[str, Any] | None = None) -> Path:
    """A copy of the repository's Pulumi project with `backstop:drill` replaced for the test."""
    target.mkdir(parents=True, exist_ok=True)
    for name in ("Pulumi.yaml", "Pulumi.prod.yaml", "Pulumi.staging.yaml"):
        shutil.copy(ROOT / name, target / name)
    set_prod_config(target, "backstop:drill", drill if drill is not None else default_drill())
    return target


def set_prod_config(project: Path, key: str, value: Any) -> None:
    """Set one key of the project's `Pulumi.prod.yaml` (a test's copy) to `value`."""
    path = project / "Pulumi.prod.yaml"
    document = yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
    document["config"][key] = value
    path.write_text(yaml.dump(document, Dumper=yaml.CSafeDumper, sort_keys=False), encoding="utf-8")


def default_drill(**overrides: Any) -> dict[str, Any]:
    drill = {
        "stagingProjectId": STAGING_PROJECT_ID,
        "sourceCluster": "cartie-prod",
        "excludedDatabases": ["tenant_bigcorp"],
        "tenantDatabasePattern": "^tenant_",
        "rto": "2h",
        "pollInterval": "10m",
        "evidenceDatabase": "backstop",
    }
    drill.update(overrides)
    return drill


class DrillWorld:
    def __init__(
        self,
        tmp_path: Path,
        drill: dict[str, Any] | None = None,
        *,
        cluster_type: str = "REPLICASET",
        shards: int = 1,
    ) -> None:
        self.cluster_type, self.shards = cluster_type, shards
        self.clock = FakeClock(NOW)
        self.atlas = FakeAtlas(
            clock=self.clock.now, finish_after_polls=2, restore_duration=timedelta(minutes=45)
        )
        self.mongo = MongoStandIns()
        self.project_dir = write_project(tmp_path / "project", drill)
        self.stacks = FakeDrillStacks(self.atlas)
        self.tamper: Callable[[Any], None] | None = None
        self.source_override: Any = None

    def __enter__(self) -> DrillWorld:
        self.atlas.__enter__()
        self.atlas.add_project("cartie-prod", PROD_PROJECT_ID)
        self.atlas.add_project("cartie-staging", STAGING_PROJECT_ID)
        self.atlas.add_cluster(
            PROD_PROJECT_ID,
            "cartie-prod",
            pit_enabled=True,
            major_version="8.0",
            cluster_type=self.cluster_type,
            shards=self.shards,
        )
        source = self.mongo.client(SOURCE_URI)
        for database, collections in TENANT_COLLECTIONS.items():
            for collection, count in collections.items():
                source[database][collection].insert_many(
                    [_document(database, collection, i) for i in range(count)]
                )
        for age in range(8):
            self.add_snapshot(NOW - timedelta(hours=1 + 6 * age))
        self.atlas.on_restore = self._restore
        return self

    def __exit__(self, *exc: object) -> None:
        self.atlas.__exit__(*exc)

    def add_snapshot(self, at: datetime, **options: Any) -> str:
        """A snapshot of prod's cluster holding what the source holds now (Atlas lists it in its contents)."""
        source = self.mongo.client(SOURCE_URI)
        databases = {
            name: list(source[name].list_collection_names()) for name in source.list_database_names()
        }
        options.setdefault("databases", databases)
        return self.atlas.add_snapshot(PROD_PROJECT_ID, "cartie-prod", at, **options)

    @property
    def source(self) -> Any:
        return self.mongo.client(SOURCE_URI)

    @property
    def evidence(self) -> Any:
        return self.mongo.client(EVIDENCE_URI)["backstop"]

    def env(self) -> dict[str, str]:
        return dict(
            self.atlas.env(),
            BACKSTOP_SOURCE_MONGODB_URI=SOURCE_URI,
            BACKSTOP_EVIDENCE_MONGODB_URI=EVIDENCE_URI,
        )

    def connect(self, uri: str, **kwargs: Any) -> Any:
        client = self.mongo.connect(uri, **kwargs)
        return self.source_override if uri == SOURCE_URI and self.source_override is not None else client

    def runtime(self, **overrides: Any) -> Runtime:
        values: dict[str, Any] = {
            "stacks": lambda: self.stacks,
            "connect": self.connect,
            "clock": self.clock.now,
            "sleep": self.clock.sleep,
            "env": self.env(),
        }
        values.update(overrides)
        return Runtime(**values)

    def target_client(self, job: dict[str, Any]) -> Any:
        cluster = self.atlas.clusters[(job["targetGroupId"], job["targetClusterName"])]
        return self.mongo.client(cluster["connectionStrings"]["standardSrv"])

    def _restore(self, job: dict[str, Any]) -> None:
        target = self.target_client(job)
        copy_databases(self.source, target)
        if self.tamper is not None:
            self.tamper(target)

    def args(self, *argv: str) -> list[str]:
        return [*argv, "--project-dir", str(self.project_dir)]
