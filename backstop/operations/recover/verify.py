"""Step 2, second half: what the recovery cluster would bring back, before anything is written.

For the affected database (and collection), the recovery cluster is compared with production now and
with the latest attested manifest: per collection the counts in all three, the documents present in the
recovery cluster but missing in production, those present in both whose content differs (by `_id` and
the SHA-256 of the document's canonical Extended JSON), how many production holds that the recovery
cluster does not (never touched), and the manifest's sampled documents as the recovery cluster has them.
The lists are what `recover cutover` writes back, and nothing else; they are kept in `recovery_diffs`
(`diffs.py`), the `verified` step keeps their counts.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from backstop.clients.mongo_manifest import Manifest, format_id, user_collections
from backstop.ground.documents import document_hash
from backstop.operations.recover.text import shown

BATCH = 500


@dataclass
class CollectionDiff:
    collection: str
    recovery_count: int
    production_count: int | None
    manifest_count: int | None
    missing: list[dict[str, Any]] = field(default_factory=list)
    changed: list[dict[str, Any]] = field(default_factory=list)
    equal: int = 0
    production_only: int = 0
    sample_equal: int = 0
    sample_different: int = 0
    sample_absent: int = 0

    def as_document(self) -> dict[str, Any]:
        return {
            "collection": self.collection,
            "counts": {
                "recovery": self.recovery_count,
                "production": self.production_count,
                "manifest": self.manifest_count,
            },
            "missingInProduction": len(self.missing),
            "changedInProduction": len(self.changed),
            "equal": self.equal,
            "productionOnly": self.production_only,
            "manifestSample": {
                "equal": self.sample_equal,
                "different": self.sample_different,
                "absent": self.sample_absent,
            },
        }


def _batches(cursor: Iterable[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for document in cursor:
        batch.append(document)
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def diff_collection(
    recovery_db: Any, production_db: Any | None, name: str, manifest: Manifest | None
) -> CollectionDiff:
    recovered = recovery_db[name]
    result = CollectionDiff(
        name,
        int(recovered.count_documents({})),
        int(production_db[name].count_documents({})) if production_db is not None else None,
        manifest.counts.get(name) if manifest is not None else None,
    )
    if production_db is not None:
        for batch in _batches(recovered.find({})):
            ids = [d["_id"] for d in batch]
            current = {format_id(d["_id"]): d for d in production_db[name].find({"_id": {"$in": ids}})}
            for document in batch:
                digest = document_hash(document)
                there = current.get(format_id(document["_id"]))
                if there is None:
                    result.missing.append({"id": document["_id"], "sha256": digest})
                elif document_hash(there) != digest:
                    result.changed.append(
                        {"id": document["_id"], "sha256": digest, "productionSha256": document_hash(there)}
                    )
                else:
                    result.equal += 1
        assert result.production_count is not None
        result.production_only = result.production_count - result.equal - len(result.changed)
    for sampled in manifest.sample if manifest is not None else []:
        if sampled.collection != name:
            continue
        found = recovered.find_one({"_id": sampled.id})
        if found is None:
            result.sample_absent += 1
        elif document_hash(found) == sampled.sha256:
            result.sample_equal += 1
        else:
            result.sample_different += 1
    return result


def collections_in_scope(recovery_db: Any, collection: str | None, manifest: Manifest | None) -> list[str]:
    if collection:
        return [collection]
    names = set(user_collections(recovery_db))
    if manifest is not None:
        names |= set(manifest.counts)
    return sorted(names)


def summary_lines(diffs: list[CollectionDiff], limit: int = 20) -> list[str]:
    lines = [
        "| collection | recovery | production | manifest | missing in production | changed in production "
        "| only in production |",
        "|---|---|---|---|---|---|---|",
    ]
    for d in diffs:
        prod = "unavailable" if d.production_count is None else str(d.production_count)
        manifest = "n/a" if d.manifest_count is None else str(d.manifest_count)
        only = "" if d.production_count is None else str(d.production_only)
        lines.append(
            f"| `{shown(d.collection)}` | {d.recovery_count} | {prod} | {manifest} | {len(d.missing)} | "
            f"{len(d.changed)} | {only} |"
        )
    for d in diffs:
        for kind, items in (("missing", d.missing), ("changed", d.changed)):
            for item in items[:limit]:
                lines.append(
                    f"- {kind} `{shown(d.collection)}` {shown(format_id(item['id']))} "
                    f"sha256 {item['sha256'][:16]}…"
                )
            if len(items) > limit:
                lines.append(
                    f"- … and {len(items) - limit} more {kind} in `{shown(d.collection)}` "
                    "(all in the incident record)"
                )
    return lines


NO_MANIFEST = "no attested manifest: counts and sample could not be checked against what was attested"


def verdict_problems(diffs: list[CollectionDiff], database: str, manifest: Manifest | None) -> list[str]:
    """Why the recovery copy cannot be trusted: no attested manifest to check it against (none in
    `backup_audit_log`, or the chain broken and ignored), fewer documents than the manifest counts, sampled
    documents absent or different, or nothing restored at all. Empty only when it verifies."""
    problems: list[str] = [] if manifest is not None else [NO_MANIFEST]
    for d in diffs:
        if d.manifest_count is not None and d.recovery_count < d.manifest_count:
            problems.append(
                f"`{shown(d.collection)}`: {d.recovery_count} document(s) restored, the attested manifest "
                f"counts {d.manifest_count}"
            )
        sampled = d.sample_equal + d.sample_different + d.sample_absent
        if d.sample_different or d.sample_absent:
            problems.append(
                f"`{shown(d.collection)}`: of {sampled} manifest-sampled document(s), "
                f"{d.sample_equal} equal, {d.sample_different} different, {d.sample_absent} absent in the "
                "recovery copy"
            )
    if sum(d.recovery_count for d in diffs) == 0:
        problems.append(f"the recovery copy holds no documents of `{shown(database)}`: nothing to recover")
    return problems
