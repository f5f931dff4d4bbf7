"""`recovery_diffs`: verify's per-document lists, kept outside `recovery_log` so they may grow past 16 MiB.

A `verified` step used to carry every lost and changed document's `_id` and hash inline, about 113 bytes a
document, so MongoDB's 16 MiB document limit stopped `recover verify` near 150,000 documents. Verify now
writes them here in chunks of one collection and kind (`missing` or `changed`), each well under the limit
(`CHUNK_BYTES`), numbered and hash-chained within one verify run; the `verified` step records the run and
the chain's head, and is itself chained in `recovery_log`. `recover cutover` reads the chunks back and
refuses, before writing anything, a chunk that was edited, removed, added or moved.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import bson

from backstop.report.evidence import GENESIS_HASH, EvidenceError, record_hash

RECOVERY_DIFFS = "recovery_diffs"

# Bytes of listed documents per chunk: half of MongoDB's 16 MiB document limit, leaving room for the rest.
CHUNK_BYTES = 8 * 1024 * 1024

KINDS = (("missing", "missingInProduction"), ("changed", "changedInProduction"))


def _sized(items: list[dict[str, Any]], cap: int) -> Iterator[list[dict[str, Any]]]:
    """Consecutive runs of `items` whose BSON size stays under `cap` (at least one item each)."""
    chunk: list[dict[str, Any]] = []
    size = 0
    for item in items:
        length = len(bson.encode({"i": item}))
        if chunk and size + length > cap:
            yield chunk
            chunk, size = [], 0
        chunk.append(item)
        size += length
    if chunk:
        yield chunk


def store_diffs(
    evidence: Any, incident_id: str, lists: list[tuple[str, dict[str, list[dict[str, Any]]]]]
) -> dict[str, Any]:
    """Write one verify run's lists, `(collection, {"missing": [...], "changed": [...]})`, as chained chunks;
    the pointer the `verified` step keeps (run, chunk and document counts, head hash)."""
    store = evidence[RECOVERY_DIFFS]
    store.create_index([("incidentId", 1), ("run", 1), ("index", 1)], unique=True)
    run = uuid.uuid4().hex
    cap = max(CHUNK_BYTES - 1024, 1)
    previous, index, documents = GENESIS_HASH, 0, 0
    for collection, kinds in lists:
        for kind, _ in KINDS:
            for chunk in _sized(kinds.get(kind, []), cap - len(collection.encode("utf-8"))):
                document: dict[str, Any] = {
                    "incidentId": incident_id,
                    "run": run,
                    "index": index,
                    "collection": collection,
                    "kind": kind,
                    "items": chunk,
                    "previousHash": previous,
                }
                document["recordHash"] = record_hash(document)
                store.insert_one(dict(document))
                previous, index, documents = str(document["recordHash"]), index + 1, documents + len(chunk)
    return {
        "store": RECOVERY_DIFFS,
        "run": run,
        "chunks": index,
        "documents": documents,
        "headHash": previous,
    }


def load_diffs(
    evidence: Any, incident_id: str, pointer: dict[str, Any] | None
) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """The lists of the verify run `pointer` names, by collection and kind, after checking every chunk's
    hash, its link to the one before, their number and the head the `verified` step recorded."""
    if not pointer or not pointer.get("run"):
        raise EvidenceError(
            f"incident {incident_id}: its last verify kept no {RECOVERY_DIFFS} run (an older backstop): "
            "run `backstop recover verify` again; nothing was written"
        )
    run = str(pointer["run"])
    where = f"{RECOVERY_DIFFS} run {run} of incident {incident_id}"
    previous = GENESIS_HASH
    found: dict[str, dict[str, list[dict[str, Any]]]] = {}
    count = 0
    for expected, chunk in enumerate(
        evidence[RECOVERY_DIFFS].find({"incidentId": incident_id, "run": run}).sort("index", 1)
    ):
        at = f"{where}, chunk #{chunk.get('index')}"
        if chunk.get("index") != expected:
            raise EvidenceError(
                f"{at}: expected #{expected} (a chunk was removed or inserted); nothing was written"
            )
        if record_hash(chunk) != chunk.get("recordHash"):
            raise EvidenceError(
                f"{at}: its content does not match its recordHash (changed after writing); "
                "nothing was written"
            )
        if chunk.get("previousHash") != previous:
            raise EvidenceError(
                f"{at}: previousHash does not match the chunk before it (removed or moved); "
                "nothing was written"
            )
        previous = str(chunk["recordHash"])
        kinds = found.setdefault(str(chunk["collection"]), {"missing": [], "changed": []})
        kinds.setdefault(str(chunk["kind"]), []).extend(chunk["items"])
        count += 1
    if count != pointer.get("chunks") or previous != pointer.get("headHash"):
        raise EvidenceError(
            f"{where}: {count} chunk(s) ending in {previous[:16]}…, the verify step recorded "
            f"{pointer.get('chunks')} ending in {str(pointer.get('headHash'))[:16]}… (chunks removed or "
            "added); nothing was written"
        )
    return found


def with_lists(evidence: Any, incident_id: str, verified: dict[str, Any]) -> list[dict[str, Any]]:
    """The `verified` step's collections with their lists read back from `recovery_diffs`."""
    lists = load_diffs(evidence, incident_id, verified.get("diffs"))
    collections = []
    for summary in verified["collections"]:
        kinds = lists.get(str(summary["collection"]), {})
        collections.append(dict(summary, **{field: list(kinds.get(kind, [])) for kind, field in KINDS}))
    return collections
