"""Benchmark: `recover cutover` writing back 1,000,000 lost documents through the real code path.

`write_back` (backstop/operations/recover/cutover.py) is called exactly as `recover cutover --execute`
calls it: the verify lists (`_id` and SHA-256 of each lost document), the recovery copy, production, and
an `IncidentLog` that logs every batch before it is sent and once it is acknowledged. The three databases
are mongomock (no mongod-compatible server installs from PyPI here: pymongo-inmemory downloads a binary).

mongomock answers every query by scanning the whole collection, where MongoDB uses an index: the
`_id: {$in: [...]}` lookups of each batch and `recovery_log`'s "last step of this incident" (unique index
on incidentId and sequence) would make this benchmark measure mongomock's O(N) scans, N² in all, rather
than backstop. `Indexed` answers just those two query shapes from an index kept beside mongomock's store,
as MongoDB would; every write (`insert_many`, `insert_one`) is mongomock's own, document copies included.
`recovery_log`'s unique index is left out: mongomock checks it by scanning the log on every insert.

Target: at least 3,000 documents/s written back (1M in under 6 minutes, well inside the 2 h tenant RTO) and
at most 4,096 MiB peak RSS, on a 2-core machine shared with other jobs; exits 1 on a missed target. The
CPU-time rate is printed too, as wall time on a loaded machine runs well above it. Peak RSS is the
process's, setup (building the documents and their hashes, which verify does) included.

Run: .venv/bin/python benchmarks/bench_recover_writeback.py [--docs 1000000]
(1M documents take about 7 minutes and 3.5 GiB with setup: on a shared machine, use --docs 100000.)
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import mongomock
from bson import ObjectId

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from backstop.ground.documents import document_hash  # noqa: E402
from backstop.operations.recover.cutover import write_back  # noqa: E402
from backstop.operations.recover.store import IncidentLog  # noqa: E402
from backstop.report.evidence import RECOVERY_LOG  # noqa: E402

TARGET_RATE = 3_000.0  # documents written back per second of wall time: 1M in under 6 minutes
TARGET_RSS_MIB = 4_096.0
INCIDENT = "20260518-031500-bench0"


class _Cursor:
    def __init__(self, documents: list[dict[str, Any]]) -> None:
        self.documents = documents

    def sort(self, key: str, direction: int) -> _Cursor:
        self.documents.sort(key=lambda d: d[key], reverse=direction < 0)
        return self

    def limit(self, count: int) -> _Cursor:
        self.documents = self.documents[:count]
        return self

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.documents)


class Indexed:
    """A mongomock collection whose `_id: {$in}` and `incidentId` lookups use an index, as MongoDB's do."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.by_id: dict[Any, dict[str, Any]] = {}
        self.last_by_incident: dict[str, dict[str, Any]] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def _index(self, documents: list[dict[str, Any]]) -> None:
        for document in documents:
            self.by_id[document["_id"]] = document
            if "incidentId" in document:
                self.last_by_incident[document["incidentId"]] = document

    def insert_one(self, document: dict[str, Any]) -> Any:
        result = self.inner.insert_one(document)
        self._index([dict(document, _id=result.inserted_id)])
        return result

    def insert_many(self, documents: list[dict[str, Any]], **options: Any) -> Any:
        result = self.inner.insert_many(documents, **options)
        self._index(documents)
        return result

    def find(self, query: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        ids = query.get("_id", {}).get("$in") if isinstance(query.get("_id"), dict) else None
        if ids is not None and len(query) == 1:
            return _Cursor([dict(self.by_id[i]) for i in ids if i in self.by_id])
        if set(query) == {"incidentId"} and not args and not kwargs:
            last = self.last_by_incident.get(query["incidentId"])
            # Only `IncidentLog.append`'s "newest step" shape is served: sort by sequence, limit 1.
            return _Cursor([dict(last)] if last else [])
        return self.inner.find(query, *args, **kwargs)


class Database:
    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.collections: dict[str, Indexed] = {}

    def __getitem__(self, name: str) -> Indexed:
        if name not in self.collections:
            self.collections[name] = Indexed(self.inner[name])
        return self.collections[name]


def build(count: int) -> tuple[Database, Database, Database, list[dict[str, Any]]]:
    """The recovery copy holding `count` orders production lost, and verify's list of them."""
    client = mongomock.MongoClient()
    recovery, production, evidence = (
        Database(client[name]) for name in ("recovery", "production", "evidence")
    )
    documents = [
        {
            "_id": ObjectId(),
            "n": n,
            "tenant": "tenant_acme",
            "total": {"amount": n % 997, "currency": "EUR"},
            "lines": [{"sku": f"sku-{n % 50}", "quantity": 1 + n % 3}],
            "placedAt": datetime(2026, 5, 18, tzinfo=UTC),
        }
        for n in range(count)
    ]
    for start in range(0, count, 10_000):
        recovery["orders"].insert_many(documents[start : start + 10_000])
    missing = [{"id": d["_id"], "sha256": document_hash(d)} for d in documents]
    return recovery, production, evidence, [{"collection": "orders", "missingInProduction": missing}]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=1_000_000, help="documents to write back")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    recovery, production, evidence, diffs = build(args.docs)
    setup = time.perf_counter() - started
    log = IncidentLog(evidence, INCIDENT, lambda: datetime.now(UTC))
    started, cpu = time.perf_counter(), time.process_time()
    [counts] = write_back(
        diffs,
        recovery_db=recovery,
        production_db=production,
        replace_changed=False,
        execute=True,
        log=log,
    )
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    written = production["orders"].inner.count_documents({})
    logged = evidence[RECOVERY_LOG].inner.count_documents({"incidentId": INCIDENT})
    rate = counts.inserted / elapsed if elapsed > 0 else float("inf")
    print(f"setup (documents, hashes, recovery copy): {setup:.1f} s")
    print(
        f"write-back: {counts.inserted:,} documents inserted in {elapsed:.1f} s ({rate:,.0f} documents/s, "
        f"target {TARGET_RATE:,.0f}; {counts.inserted / cpu if cpu > 0 else 0:,.0f} per CPU second); "
        f"{logged:,} recovery_log steps; production holds {written:,}"
    )
    print(f"peak RSS: {rss_mib:,.0f} MiB (target {TARGET_RSS_MIB:,.0f})")
    problems = []
    if counts.inserted != args.docs or written != args.docs or counts.conflicts:
        problems.append(f"wrote {counts.inserted:,} of {args.docs:,} ({len(counts.conflicts)} conflicts)")
    if rate < TARGET_RATE:
        problems.append(f"rate {rate:,.0f} documents/s below {TARGET_RATE:,.0f}")
    if rss_mib > TARGET_RSS_MIB:
        problems.append(f"peak RSS {rss_mib:,.0f} MiB above {TARGET_RSS_MIB:,.0f}")
    for problem in problems:
        print(f"MISSED: {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
