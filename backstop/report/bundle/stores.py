"""The evidence stores as the bundle exports them, and their chains verified from the exported entries.

Each store is exported whole (every chain starts at its genesis record) as canonical Extended JSON, one
entry a line, without the store's `_id`; `verify_chain` then runs over those lines exactly as
`backstop audit verify` runs over the live collection, so `backstop evidence verify` needs no database.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from bson import json_util

from backstop.ground.documents import canonical_json
from backstop.report.evidence import (
    AUDIT_COLLECTION,
    DRILL_LABEL,
    DRILL_RESULTS_COLLECTION,
    INCIDENT_REGISTRY,
    is_chained,
    verify_chain,
)

# `backstop recover record` writes it; one name in report/evidence.py for both.
INCIDENT_COLLECTION = INCIDENT_REGISTRY
# Chained stores and the field that names each entry in a broken-link message.
CHAINED = {
    AUDIT_COLLECTION: "tenantDatabase",
    DRILL_RESULTS_COLLECTION: DRILL_LABEL,
    INCIDENT_COLLECTION: "incidentId",
}
EXPORTED = (AUDIT_COLLECTION, DRILL_RESULTS_COLLECTION, INCIDENT_COLLECTION)


class _Entries:
    """Exported entries with the one query `verify_chain` makes: `find({}).sort("sequence", 1)`."""

    def __init__(self, entries: Iterable[dict[str, Any]]) -> None:
        self.entries = list(entries)

    def find(self, _query: dict[str, Any]) -> _Entries:
        return self

    def sort(self, key: str, direction: int) -> list[dict[str, Any]]:
        def order(entry: dict[str, Any]) -> tuple[bool, Any]:
            value = entry.get(key)
            return (not isinstance(value, int), value if isinstance(value, int) else 0)

        return sorted(self.entries, key=order, reverse=direction < 0)


def export_lines(collection: Any) -> str:
    """Every entry of a live collection (no `_id`), one canonical Extended JSON line each."""
    cursor = collection.find({}, {"_id": 0})
    entries = list(cursor.sort("sequence", 1)) if hasattr(cursor, "sort") else list(cursor)
    return "".join(canonical_json(entry, sort_keys=False) + "\n" for entry in entries)


def read_lines(text: str) -> list[dict[str, Any]]:
    return [json_util.loads(line) for line in text.splitlines() if line.strip()]


@dataclass(frozen=True)
class StoreCheck:
    collection: str
    chained: bool
    entries: int
    first_hash: str | None
    last_hash: str | None
    verified: bool | None  # None: not a hash chain, pinned by the manifest only
    broken_at: int | None
    problem: str | None
    export_sha256: str
    # Drill results written before the chain existed (no chain fields): listed, never used as a drill.
    unchained: int = 0

    def as_dict(self, file: str) -> dict[str, Any]:
        return {
            "collection": self.collection,
            "file": file,
            "chained": self.chained,
            "entries": self.entries,
            "firstHash": self.first_hash,
            "lastHash": self.last_hash,
            "verified": self.verified,
            "brokenAt": self.broken_at,
            "problem": self.problem,
            "exportSha256": self.export_sha256,
        }

    def line(self) -> str:
        if not self.chained:
            return f"{self.collection}: {self.entries} entries, not hash-chained (pinned by MANIFEST.sha256)"
        if self.verified:
            head = f", head {self.last_hash}" if self.last_hash else ""
            legacy = f", {self.unchained} unchained (legacy, not used)" if self.unchained else ""
            return f"{self.collection}: chain intact, {self.entries} entries{head}{legacy}"
        return f"{self.collection}: chain BROKEN: {self.problem}"


def check_store(collection: str, text: str) -> StoreCheck:
    """Verify one exported store's chain (when it is one) from its exported lines."""
    entries = read_lines(text)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    if collection not in CHAINED:
        return StoreCheck(collection, False, len(entries), None, None, None, None, None, digest)
    everything, unchained = len(entries), 0
    if collection == DRILL_RESULTS_COLLECTION:
        unchained = sum(1 for entry in entries if not is_chained(entry))
        entries = [entry for entry in entries if is_chained(entry)]
    ordered = _Entries(entries).sort("sequence", 1)
    first = str(ordered[0].get("recordHash")) if ordered else None
    last = str(ordered[-1].get("recordHash")) if ordered else None
    status = verify_chain(_Entries(entries), name=collection, label=CHAINED[collection])
    if status.broken is not None:
        return StoreCheck(
            collection,
            True,
            everything,
            first,
            last,
            False,
            status.broken.sequence,
            status.broken.line(),
            digest,
            unchained,
        )
    return StoreCheck(collection, True, everything, first, last, True, None, None, digest, unchained)
