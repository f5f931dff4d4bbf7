"""The evidence store: `backup_audit_log` (hash-chained, append-only) and `backup_drill_results`.

Both collections live in one MongoDB database (`backstop:drill.evidenceDatabase`, reached through
`BACKSTOP_EVIDENCE_MONGODB_URI`), the place the seed files drill results in. Audit records form a hash
chain: each carries the previous record's hash and its own SHA-256 over a canonical encoding (canonical
Extended JSON, keys sorted, no whitespace), so a changed, deleted, inserted or reordered record breaks the
chain at the first record touched. A chain that anyone with write access can recompute only proves
something when its head is kept elsewhere, which is why every audit summary prints the head hash and
`backstop audit verify --head` checks it.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from backstop.ground.documents import canonical_json
from backstop.ground.errors import BackstopError

AUDIT_COLLECTION = "backup_audit_log"
DRILL_RESULTS_COLLECTION = "backup_drill_results"
# `backstop recover` writes these (operations/recover/store.py); named here, below both recover and the
# evidence bundle (report/bundle/), so the two read and write one collection.
RECOVERY_LOG = "recovery_log"
INCIDENT_REGISTRY = "incident_registry"
GENESIS_HASH = "0" * 64

ENV_SOURCE_URI = "BACKSTOP_SOURCE_MONGODB_URI"
ENV_EVIDENCE_URI = "BACKSTOP_EVIDENCE_MONGODB_URI"


class EvidenceError(BackstopError):
    """The evidence store is missing, unreachable or not what backstop wrote."""


def record_hash(record: Mapping[str, Any]) -> str:
    """SHA-256 of an audit record without the store's `_id` and without its own `recordHash`."""
    body = {key: value for key, value in record.items() if key not in {"_id", "recordHash"}}
    return hashlib.sha256(canonical_json(body, sort_keys=True).encode("utf-8")).hexdigest()


def env_uri(name: str, env: Mapping[str, str] | None = None) -> str:
    env = os.environ if env is None else env
    value = env.get(name, "")
    if not value:
        raise EvidenceError(f"{name} is not set: the MongoDB connection string backstop needs here")
    return value


def connect(uri: str, **kwargs: Any) -> Any:
    """A `pymongo.MongoClient`; tests replace this seam with an in-process stand-in."""
    from pymongo import MongoClient

    return MongoClient(uri, **kwargs)


ClientFactory = Callable[..., Any]


# --- the audit hash chain -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChainBreak:
    sequence: int
    tenant: str | None
    problem: str
    collection: str = AUDIT_COLLECTION

    def line(self) -> str:
        who = f" ({self.tenant})" if self.tenant else ""
        return f"{self.collection} record #{self.sequence}{who}: {self.problem}"


@dataclass(frozen=True)
class ChainStatus:
    records: int
    head_sequence: int
    head_hash: str
    broken: ChainBreak | None

    @property
    def intact(self) -> bool:
        return self.broken is None

    def as_dict(self, collection: str) -> dict[str, Any]:
        """The verdict as `audit verify` / `recover verify-registry --format json` print it."""
        broken = self.broken
        return {
            "collection": collection,
            "intact": self.intact,
            "records": self.records,
            "headSequence": self.head_sequence,
            "headHash": self.head_hash,
            "broken": None
            if broken is None
            else {"sequence": broken.sequence, "tenant": broken.tenant, "problem": broken.problem},
        }


def verify_chain(
    collection: Any,
    *,
    expected_head: str | None = None,
    name: str = AUDIT_COLLECTION,
    label: str = "tenantDatabase",
) -> ChainStatus:
    """Recompute every link in sequence order and report the first broken one (of the chain `name`, whose
    records are named by their `label` field)."""
    previous = GENESIS_HASH
    count = 0
    seen_hashes: set[str] = set()
    for expected, record in enumerate(collection.find({}).sort("sequence", 1), start=1):
        count += 1
        tenant = record.get(label) if isinstance(record.get(label), str) else None
        sequence = record.get("sequence")
        if sequence != expected:
            problem = (
                f"missing (the next stored record is #{sequence})"
                if isinstance(sequence, int) and sequence > expected
                else f"sequence {sequence!r} is out of place (expected #{expected})"
            )
            return ChainStatus(count - 1, expected - 1, previous, ChainBreak(expected, None, problem, name))
        stored = record.get("recordHash")
        if record_hash(record) != stored:
            return ChainStatus(
                count,
                expected,
                previous,
                ChainBreak(
                    expected,
                    tenant,
                    "its content does not match its recordHash (changed after writing)",
                    name,
                ),
            )
        if record.get("previousHash") != previous:
            return ChainStatus(
                count,
                expected,
                previous,
                ChainBreak(
                    expected,
                    tenant,
                    f"previousHash {str(record.get('previousHash'))[:12]}… does not match record "
                    f"#{expected - 1} ({previous[:12]}…): a record before it was removed, replaced or moved",
                    name,
                ),
            )
        seen_hashes.add(str(stored))
        previous = str(stored)
    if expected_head is not None and expected_head not in seen_hashes:
        return ChainStatus(
            count,
            count,
            previous,
            ChainBreak(
                count + 1,
                None,
                f"the published head {expected_head[:12]}… is not in the chain: records were removed "
                "from its end or the chain was rewritten",
                name,
            ),
        )
    return ChainStatus(count, count, previous, None)


def append_record(collection: Any, record: Mapping[str, Any], *, previous: ChainStatus) -> dict[str, Any]:
    """Insert the next link (never update, never delete); a unique `sequence` index refuses a fork."""
    if previous.broken is not None:
        raise EvidenceError(f"not appending to a broken chain: {previous.broken.line()}")
    linked = dict(record)
    linked["sequence"] = previous.head_sequence + 1
    linked["previousHash"] = previous.head_hash
    linked["recordHash"] = record_hash(linked)
    collection.insert_one(dict(linked))
    return linked


def ensure_indexes(database: Any) -> None:
    database[AUDIT_COLLECTION].create_index("sequence", unique=True)
    database[AUDIT_COLLECTION].create_index([("tenantDatabase", 1), ("sequence", -1)])
