"""Manifests of tenant databases: what a restore of one tenant must give back, taken at a known time.

A manifest holds per-collection document counts and a sample of documents (`_id` plus the SHA-256 of the
document's canonical Extended JSON). On a real replica set it is read in a snapshot session
(`readConcern: snapshot`): the first read fixes `atClusterTime`, every later read sees the same instant,
and that cluster time is recorded, so a point-in-time restore to exactly that oplog timestamp must match
the manifest exactly. Where snapshot reads are not available (a standalone server, a server before 5.0,
an in-process stand-in) the reads fall back to the latest data and the manifest says so in `readMode`,
`readModeReason` and a wall-clock `capturedAt` instead of a cluster time: never silently.

Only the driver's interface is used (`list_collection_names`, `count_documents`, `aggregate` with
`$sample`, `find_one`, `start_session`, `command`), so any `pymongo.MongoClient`-shaped object works.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from backstop.ground.documents import document_hash, utc_iso

READ_SNAPSHOT = "snapshot"
READ_LATEST = "latest"


@dataclass(frozen=True)
class SampledDocument:
    collection: str
    id: Any
    sha256: str

    def as_document(self) -> dict[str, Any]:
        return {"collection": self.collection, "id": self.id, "sha256": self.sha256}


@dataclass(frozen=True)
class Manifest:
    database: str
    counts: dict[str, int]
    sample: list[SampledDocument]
    read_mode: str
    captured_at: datetime
    cluster_time: tuple[int, int] | None = None
    read_mode_reason: str | None = None
    sample_size: int = 0

    @property
    def documents(self) -> int:
        return sum(self.counts.values())

    @property
    def restore_point(self) -> datetime:
        """The instant the manifest describes: its cluster time when known, else when it was read."""
        if self.cluster_time is not None:
            return datetime.fromtimestamp(self.cluster_time[0], UTC)
        return self.captured_at

    def as_document(self) -> dict[str, Any]:
        return {
            "database": self.database,
            "readMode": self.read_mode,
            "readModeReason": self.read_mode_reason,
            "clusterTime": None
            if self.cluster_time is None
            else {"t": self.cluster_time[0], "i": self.cluster_time[1]},
            "capturedAt": utc_iso(self.captured_at),
            "collections": [{"name": name, "count": count} for name, count in sorted(self.counts.items())],
            "documents": self.documents,
            "sampleSize": self.sample_size,
            "sample": [s.as_document() for s in self.sample],
        }

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> Manifest:
        cluster_time = doc.get("clusterTime")
        captured = datetime.fromisoformat(str(doc["capturedAt"]).replace("Z", "+00:00"))
        return cls(
            database=str(doc["database"]),
            counts={str(c["name"]): int(c["count"]) for c in doc.get("collections", [])},
            sample=[
                SampledDocument(str(s["collection"]), s["id"], str(s["sha256"]))
                for s in doc.get("sample", [])
            ],
            read_mode=str(doc.get("readMode")),
            captured_at=captured,
            cluster_time=None
            if not isinstance(cluster_time, Mapping)
            else (int(cluster_time["t"]), int(cluster_time["i"])),
            read_mode_reason=doc.get("readModeReason"),
            sample_size=int(doc.get("sampleSize", 0)),
        )


def user_collections(database: Any, session: Any = None) -> list[str]:
    names = database.list_collection_names(session=session) if session else database.list_collection_names()
    return sorted(name for name in names if not name.startswith("system."))


def allocate_sample(counts: Mapping[str, int], size: int) -> dict[str, int]:
    """How many documents to sample per collection: one from each non-empty collection first (while the
    budget lasts, largest first), the rest in proportion to the counts; never more than a collection holds."""
    remaining = size
    allocation = {name: 0 for name in counts}
    ordered = sorted((name for name, n in counts.items() if n > 0), key=lambda n: (-counts[n], n))
    for name in ordered:
        if remaining == 0:
            break
        allocation[name] = 1
        remaining -= 1
    total = sum(counts[name] for name in ordered)
    if remaining and total:
        budget = remaining
        for name in ordered:
            extra = min(counts[name] - allocation[name], (budget * counts[name]) // total)
            allocation[name] += extra
            remaining -= extra
    for name in ordered:  # rounding leftovers go to whoever still has documents to give
        if remaining == 0:
            break
        extra = min(counts[name] - allocation[name], remaining)
        allocation[name] += extra
        remaining -= extra
    return allocation


def _open_snapshot(client: Any, database: Any, probe: str) -> tuple[Any, tuple[int, int] | None, str | None]:
    """Start a snapshot session and pin its cluster time with a first read; (None, None, why) if the
    server or client cannot."""
    from pymongo.errors import ConfigurationError, InvalidOperation, OperationFailure

    try:
        session = client.start_session(snapshot=True)
    except (TypeError, NotImplementedError, ConfigurationError, InvalidOperation) as exc:
        return None, None, f"snapshot sessions are not supported by this client ({type(exc).__name__})"
    try:
        reply = database.command("aggregate", probe, pipeline=[{"$limit": 1}], cursor={}, session=session)
        at = (reply.get("cursor") or {}).get("atClusterTime")
    except (NotImplementedError, ConfigurationError, InvalidOperation, OperationFailure) as exc:
        session.end_session()
        return None, None, f"snapshot reads failed: {' '.join(str(exc).split())[:200]}"
    if at is None or not hasattr(at, "time") or not hasattr(at, "inc"):
        session.end_session()
        return None, None, "the server did not report atClusterTime for a snapshot read"
    return session, (int(at.time), int(at.inc)), None


def take_manifest(
    client: Any,
    database_name: str,
    *,
    sample_size: int,
    clock: Callable[[], datetime],
    rng: random.Random | None = None,
) -> Manifest:
    """Counts and a sampled set of content hashes of one database, at one cluster time when possible."""
    database = client[database_name]
    names = user_collections(database)
    captured_at = clock()
    session, cluster_time, reason = _open_snapshot(client, database, names[0] if names else "backstop_probe")
    try:
        kwargs: dict[str, Any] = {"session": session} if session is not None else {}
        counts = {name: int(database[name].count_documents({}, **kwargs)) for name in names}
        sample: list[SampledDocument] = []
        for name, want in sorted(allocate_sample(counts, sample_size).items()):
            if want == 0:
                continue
            documents = list(database[name].aggregate([{"$sample": {"size": want}}], **kwargs))
            seen: set[str] = set()
            for document in documents:
                digest = document_hash(document)
                key = repr(document.get("_id"))
                if key in seen:  # $sample may repeat a document; count each once
                    continue
                seen.add(key)
                sample.append(SampledDocument(name, document.get("_id"), digest))
    finally:
        if session is not None:
            session.end_session()
    if rng is not None:
        rng.shuffle(sample)
    return Manifest(
        database=database_name,
        counts=counts,
        sample=sample,
        read_mode=READ_SNAPSHOT if session is not None else READ_LATEST,
        captured_at=captured_at,
        cluster_time=cluster_time,
        read_mode_reason=reason,
        sample_size=sample_size,
    )


# --- verifying a restored database against a manifest ------------------------------------------------


@dataclass(frozen=True)
class CountCheck:
    collection: str
    expected: int | None
    actual: int | None

    @property
    def ok(self) -> bool:
        return self.expected == self.actual


@dataclass(frozen=True)
class DocumentCheck:
    collection: str
    id: Any
    expected: str
    actual: str | None

    @property
    def ok(self) -> bool:
        return self.expected == self.actual

    @property
    def outcome(self) -> str:
        if self.actual is None:
            return "missing"
        return "equal" if self.ok else "different"


@dataclass
class Verification:
    database: str
    missing_collections: list[str] = field(default_factory=list)
    unexpected_collections: list[str] = field(default_factory=list)
    counts: list[CountCheck] = field(default_factory=list)
    documents: list[DocumentCheck] = field(default_factory=list)

    @property
    def collections_ok(self) -> bool:
        return not self.missing_collections and not self.unexpected_collections

    @property
    def ok(self) -> bool:
        return self.collections_ok and all(c.ok for c in self.counts) and all(d.ok for d in self.documents)

    def failures(self) -> list[str]:
        lines = [f"collection `{name}` is missing" for name in self.missing_collections]
        lines += [f"collection `{name}` is not in the manifest" for name in self.unexpected_collections]
        lines += [
            f"`{c.collection}` has {c.actual} documents, the manifest {c.expected}"
            for c in self.counts
            if not c.ok
        ]
        lines += [
            f"document `{d.collection}` {format_id(d.id)} is {d.outcome}" for d in self.documents if not d.ok
        ]
        return lines

    def as_document(self) -> dict[str, Any]:
        return {
            "database": self.database,
            "collectionsMatch": self.collections_ok,
            "missingCollections": self.missing_collections,
            "unexpectedCollections": self.unexpected_collections,
            "counts": [
                {"collection": c.collection, "expected": c.expected, "actual": c.actual, "ok": c.ok}
                for c in self.counts
            ],
            "documents": [
                {
                    "collection": d.collection,
                    "id": d.id,
                    "expectedSha256": d.expected,
                    "actualSha256": d.actual,
                    "outcome": d.outcome,
                }
                for d in self.documents
            ],
            "passed": self.ok,
        }


def format_id(value: Any) -> str:
    from backstop.ground.documents import canonical_json

    return canonical_json(value, sort_keys=False)


def pick_spot_checks(manifest: Manifest, count: int, rng: random.Random) -> list[SampledDocument]:
    """`count` of the manifest's sampled documents, chosen with the drill's seeded generator."""
    ordered = sorted(manifest.sample, key=lambda s: (s.collection, format_id(s.id)))
    return rng.sample(ordered, min(count, len(ordered)))


def verify_database(client: Any, manifest: Manifest, spot_checks: Sequence[SampledDocument]) -> Verification:
    """Collection set, per-collection counts and the spot-checked documents' hashes of a restored tenant."""
    database = client[manifest.database]
    result = Verification(manifest.database)
    restored = set(user_collections(database))
    expected = set(manifest.counts)
    result.missing_collections = sorted(expected - restored)
    result.unexpected_collections = sorted(restored - expected)
    for name in sorted(expected | restored):
        actual = int(database[name].count_documents({})) if name in restored else None
        result.counts.append(CountCheck(name, manifest.counts.get(name), actual))
    for sampled in spot_checks:
        document = database[sampled.collection].find_one({"_id": sampled.id})
        actual_hash = document_hash(document) if document is not None else None
        result.documents.append(DocumentCheck(sampled.collection, sampled.id, sampled.sha256, actual_hash))
    return result
