"""The evidence store: `backup_audit_log` and `backup_drill_results` (both hash-chained, append-only).

Both collections live in one MongoDB database (`backstop:drill.evidenceDatabase`, reached through
`BACKSTOP_EVIDENCE_MONGODB_URI`), the place the seed files drill results in. Audit records form a hash
chain: each carries the previous record's hash and its own SHA-256 over a canonical encoding (canonical
Extended JSON, keys sorted, no whitespace), so a changed, deleted, inserted or reordered record breaks the
chain at the first record touched. A chain that anyone with write access can recompute only proves
something when its head is kept elsewhere, which is why every audit summary prints the head hash and
`backstop audit verify --head` checks it.

`backup_drill_results` is chained the same way (`append_drill_result`, the one writer of `backstop drill`
and `backstop drill rollback`), so a drill result inserted or edited by hand is not "the last drill":
readers use only entries of an intact chain (`read_drill_results`), never one that finished in the future.
Entries written before the chain existed carry no chain fields: they are listed as unchained (legacy) and
never used until `backstop drill verify --accept-legacy` appends them to the chain.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from backstop.ground.documents import canonical_json, utc_iso
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
    return verify_records(
        collection.find({}).sort("sequence", 1), expected_head=expected_head, name=name, label=label
    )


def verify_records(
    records: Iterable[Mapping[str, Any]],
    *,
    expected_head: str | None = None,
    name: str = AUDIT_COLLECTION,
    label: str = "tenantDatabase",
) -> ChainStatus:
    """`verify_chain` over records already in sequence order."""
    previous = GENESIS_HASH
    count = 0
    seen_hashes: set[str] = set()
    for expected, record in enumerate(records, start=1):
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


# --- the drill results chain ------------------------------------------------------------------------------

# How far a drill's `finishedAt` (Atlas's clock for `backstop drill`) may be ahead of this machine's clock.
DRILL_CLOCK_SKEW = timedelta(minutes=5)
DRILL_LABEL = "drillId"
CHAIN_FIELDS = ("sequence", "previousHash", "recordHash")
# The chained record `drill verify --accept-legacy` appends for an unchained entry names it by this hash.
LEGACY_OF = "legacyOf"
APPEND_ATTEMPTS = 5


def ensure_drill_indexes(database: Any) -> None:
    """Unique `sequence` and `previousHash`: of two writers that read the same head, the second insert
    fails and it retries on the new head, instead of forking the chain. Sparse: legacy entries have none."""
    collection = database[DRILL_RESULTS_COLLECTION]
    collection.create_index("sequence", unique=True, sparse=True)
    collection.create_index("previousHash", unique=True, sparse=True)


def is_chained(entry: Mapping[str, Any]) -> bool:
    return any(key in entry for key in CHAIN_FIELDS)


def _finished(entry: Mapping[str, Any]) -> datetime | None:
    from backstop.clients.atlas import parse_time

    finished = parse_time(entry.get("finishedAt"))
    if finished is not None and finished.tzinfo is None:
        finished = finished.replace(tzinfo=UTC)
    return finished


def _name(entry: Mapping[str, Any]) -> str:
    """The entry's drillId on one line (a hand-written entry may carry control characters)."""
    return "".join(
        f"\\x{ord(c):02x}" if ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F else c
        for c in str(entry.get(DRILL_LABEL, "?"))
    )


def from_the_future(entry: Mapping[str, Any], now: datetime) -> bool:
    finished = _finished(entry)
    return finished is not None and finished > now + DRILL_CLOCK_SKEW


def append_drill_result(
    database: Any, document: Mapping[str, Any], *, now: datetime, attempts: int = APPEND_ATTEMPTS
) -> dict[str, Any]:
    """Append one drill result to the `backup_drill_results` chain: the one writer of both drills.
    A result that finished in the future (past the clock skew) or at no time is refused."""
    from pymongo.errors import DuplicateKeyError

    finished = _finished(document)
    if finished is None:
        raise EvidenceError(
            f"{DRILL_RESULTS_COLLECTION}: drill {_name(document)} has no finishedAt time: not recorded"
        )
    if from_the_future(document, now):
        raise EvidenceError(
            f"{DRILL_RESULTS_COLLECTION}: drill {_name(document)} finished {document.get('finishedAt')}, "
            f"after now ({now.isoformat()}) plus {int(DRILL_CLOCK_SKEW.total_seconds())} s of clock skew: "
            "not recorded"
        )
    collection = database[DRILL_RESULTS_COLLECTION]
    ensure_drill_indexes(database)
    body = {key: value for key, value in document.items() if key != "_id" and key not in CHAIN_FIELDS}
    for _ in range(max(attempts, 1)):
        status = verify_records(
            _chained_in_order(collection.find({})), name=DRILL_RESULTS_COLLECTION, label=DRILL_LABEL
        )
        if status.broken is not None:
            raise EvidenceError(
                f"not appending to a broken chain: {_drill_break(status.broken)} "
                "(see `backstop drill verify`)"
            )
        try:
            return append_record(collection, body, previous=status)
        except DuplicateKeyError:
            continue  # another drill appended the same link first: read the new head and try again
    raise EvidenceError(
        f"{DRILL_RESULTS_COLLECTION}: {attempts} other writers appended at the same time; not recorded"
    )


def _chained_in_order(entries: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    chained = [entry for entry in entries if is_chained(entry)]
    return sorted(
        chained,
        key=lambda e: (not isinstance(e.get("sequence"), int), e.get("sequence") or 0),
    )


def _drill_break(broken: ChainBreak) -> str:
    return ChainBreak(broken.sequence, broken.tenant, broken.problem, DRILL_RESULTS_COLLECTION).line()


def legacy_hash(entry: Mapping[str, Any]) -> str:
    """What an unchained entry is named by once adopted: `record_hash` of its content."""
    return record_hash(entry)


@dataclass(frozen=True)
class DrillEvidence:
    """`backup_drill_results` as readers may use it: `trusted` only when the chain is intact."""

    status: ChainStatus
    chained: list[dict[str, Any]] = field(default_factory=list)
    future: list[dict[str, Any]] = field(default_factory=list)
    unchained: list[dict[str, Any]] = field(default_factory=list)

    @property
    def trusted(self) -> list[dict[str, Any]]:
        """Chained entries of an intact chain that did not finish in the future: the drill measurements."""
        if self.status.broken is not None:
            return []
        future = {id(entry) for entry in self.future}
        return [entry for entry in self.chained if id(entry) not in future]

    def future_notes(self) -> list[str]:
        return [
            f"{DRILL_RESULTS_COLLECTION} record #{entry.get('sequence')} ({_name(entry)}) finished "
            f"{entry.get('finishedAt')}, in the future: not a measurement"
            for entry in self.future
        ]

    def notes(self) -> list[str]:
        """One line per reason an entry is not used."""
        lines: list[str] = []
        if self.status.broken is not None:
            lines.append(
                f"{_drill_break(self.status.broken)}: no drill result is used until the chain is "
                "repaired (`backstop drill verify`)"
            )
        lines += self.future_notes()
        if self.unchained:
            names = ", ".join(_name(entry) for entry in self.unchained)
            lines.append(
                f"{DRILL_RESULTS_COLLECTION}: {len(self.unchained)} unchained (legacy) entr"
                f"{'y' if len(self.unchained) == 1 else 'ies'} not used ({names}): "
                "`backstop drill verify --accept-legacy` adds them to the chain"
            )
        return lines


def drill_evidence(
    entries: Iterable[Mapping[str, Any]], now: datetime, *, expected_head: str | None = None
) -> DrillEvidence:
    """Sort exported or stored drill results into the chain (verified), entries from the future and
    unchained (legacy) entries not yet adopted by a chained record."""
    listed = [{key: value for key, value in e.items() if key != "_id"} for e in entries]
    chained = [dict(entry) for entry in _chained_in_order(listed)]
    status = verify_records(
        chained, expected_head=expected_head, name=DRILL_RESULTS_COLLECTION, label=DRILL_LABEL
    )
    adopted = {entry.get(LEGACY_OF) for entry in chained if entry.get(LEGACY_OF)}
    unchained = [e for e in listed if not is_chained(e) and legacy_hash(e) not in adopted]
    future = [entry for entry in chained if from_the_future(entry, now)]
    return DrillEvidence(status, chained, future, unchained)


def read_drill_results(database: Any, now: datetime, *, expected_head: str | None = None) -> DrillEvidence:
    return drill_evidence(database[DRILL_RESULTS_COLLECTION].find({}), now, expected_head=expected_head)


def accept_legacy(database: Any, now: datetime) -> list[dict[str, Any]]:
    """Append every unchained entry (a copy, marked `legacyOf`) to an intact chain, in `finishedAt` order;
    the unchained original stays as it was. Entries from the future are refused, never adopted."""
    evidence = read_drill_results(database, now)
    if evidence.status.broken is not None:
        raise EvidenceError(f"not adopting legacy entries: {_drill_break(evidence.status.broken)}")
    adopted = []
    for entry in sorted(evidence.unchained, key=lambda e: str(e.get("finishedAt", ""))):
        document = {**entry, LEGACY_OF: legacy_hash(entry), "acceptedAt": utc_iso(now)}
        adopted.append(append_drill_result(database, document, now=now))
    return adopted
