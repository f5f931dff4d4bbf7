"""The seed's "restore over production via cluster swap", without ever making production a restore target.

Record, collection and tenant losses: production is first snapshotted on demand (and the snapshot
waited for), so the cutover itself can be undone; then exactly the documents `recover verify` listed are
written back: missing ones inserted, changed ones replaced with `--replace-changed`. Each write first reads
the production document again and only writes when production is still as verify saw it, so:
- a rerun after an interruption finds its earlier writes already in place and counts them, never
  inserting twice;
- a document production changed since verify is reported as a conflict and left alone;
- nothing verify did not list is read for writing, let alone touched.
Every batch is logged in `recovery_log` with its `_id`s before it is sent and once it is acknowledged.
A collection production lacks is first created with the recovery copy's validator (`validators.py`),
so the write-back does not create it without one.

Cluster and region losses: the swap is the application's connection target, `backstop:recover.
connectionTarget` in the stack's config, pointed at the recovered cluster; the program exports it as
`applicationDatabase`, and the exact `pulumi up` that applies it is printed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from backstop.clients.atlas import AtlasApiError, AtlasClient, parse_time
from backstop.clients.mongo_manifest import format_id
from backstop.config import ConfigError, stack_file_name
from backstop.ground.documents import document_hash, utc_iso
from backstop.ground.errors import BackstopError
from backstop.operations.recover.store import Incident, IncidentLog
from backstop.restore.common import duration_text

LOG_BATCH = 100


class CutoverRefused(BackstopError):
    """The cutover cannot start: nothing has been written."""


class SnapshotStillRunning(CutoverRefused):
    """Atlas stopped answering (past the client's retry budget) while the pre-cutover snapshot is taken."""


@dataclass
class CutoverCounts:
    collection: str
    inserted: int = 0
    replaced: int = 0
    already: int = 0
    conflicts: list[str] = field(default_factory=list)
    not_replaced: int = 0

    def as_document(self) -> dict[str, Any]:
        return {
            "collection": self.collection,
            "inserted": self.inserted,
            "replaced": self.replaced,
            "alreadyInPlace": self.already,
            "conflicts": self.conflicts,
            "changedLeftAlone": self.not_replaced,
        }


@dataclass
class SnapshotIO:
    atlas: AtlasClient
    clock: Callable[[], datetime]
    sleep: Callable[[float], None]
    progress: Callable[[str], None]
    poll_interval: timedelta
    timeout: timedelta
    retention_days: int


# A completed pre-cutover snapshot younger than this, with no cutover write since, is reused by a rerun.
SNAPSHOT_REUSE = timedelta(minutes=15)

_PRODUCTION_WRITES = frozenset(
    {"cutover-writing", "cutover-write", "cutover-index", "cutover-options-writing", "cutover-options-write"}
)


def _snapshot_state(
    log: IncidentLog, now: datetime
) -> tuple[dict[str, Any] | None, dict[str, Any] | None, str]:
    """(a completed snapshot a rerun may reuse, a requested one still to wait for, why a fresh one is due).

    The last completed snapshot is reused only while it still describes production: seen completed
    less than `SNAPSHOT_REUSE` ago, and no cutover write (documents or indexes) logged since; otherwise
    a rerun that will write takes a fresh one, so undoing it never goes back past writes in between."""
    events = log.events()
    completed = [i for i, e in enumerate(events) if e["step"] == "cutover-snapshot-completed"]
    requested = [i for i, e in enumerate(events) if e["step"] == "cutover-snapshot-requested"]
    last_done = completed[-1] if completed else -1
    pending = events[requested[-1]] if requested and requested[-1] > last_done else None
    if pending is not None or last_done < 0:
        return None, pending, ""
    done = events[last_done]
    if any(e["step"] in _PRODUCTION_WRITES for e in events[last_done + 1 :]):
        return None, None, f"production was written since snapshot {done['snapshotId']}"
    # Measured from when it was seen completed: a snapshot that took 20 minutes is not retaken at once.
    taken = parse_time(done.get("at"))
    if taken is None or now - taken > SNAPSHOT_REUSE:
        return (
            None,
            None,
            (
                f"snapshot {done['snapshotId']} is older than {duration_text(SNAPSHOT_REUSE)} "
                "(production may have changed since)"
            ),
        )
    return done, None, ""


def pre_cutover_snapshot(incident: Incident, log: IncidentLog, io: SnapshotIO) -> dict[str, Any]:
    """An on-demand snapshot of production, completed, before any write: the one a rerun already has while
    it still describes production (`_snapshot_state`), else a fresh one."""
    done, requested, why = _snapshot_state(log, io.clock())
    if done is not None:
        io.progress(f"pre-cutover snapshot {done['snapshotId']} already completed: resuming the cutover")
        return done
    if why:
        io.progress(f"{why}: taking a fresh pre-cutover snapshot")
    group, cluster = str(incident.recovery["sourceProjectId"]), str(incident.recovery["sourceCluster"])
    if requested is None:
        taken = io.atlas.take_snapshot(
            group,
            cluster,
            description=f"backstop recover {incident.incident_id}: before the cutover writes anything",
            retention_days=io.retention_days,
        )
        requested = log.append(
            "cutover-snapshot-requested", snapshotId=taken["id"], cluster=cluster, projectId=group
        )
        io.progress(f"on-demand snapshot {taken['id']} of {cluster} requested")
    snapshot_id = str(requested["snapshotId"])
    deadline = io.clock() + io.timeout
    while True:
        try:
            snapshot = io.atlas.snapshot(group, cluster, snapshot_id)
        except AtlasApiError as exc:
            if exc.status is not None and exc.status < 500 and exc.status != 429:
                raise
            raise SnapshotStillRunning(
                f"{exc}; the on-demand snapshot {snapshot_id} of {cluster} goes on in Atlas, nothing was "
                "written"
            ) from None
        status = snapshot.get("status")
        io.progress(f"snapshot {snapshot_id}: {status}")
        if status == "completed":
            return log.append(
                "cutover-snapshot-completed",
                snapshotId=snapshot_id,
                createdAt=snapshot.get("createdAt"),
                expiresAt=snapshot.get("expiresAt"),
            )
        if status == "failed":
            log.append("cutover-snapshot-failed", snapshotId=snapshot_id)
            raise CutoverRefused(
                f"the on-demand snapshot {snapshot_id} of {cluster} failed: nothing was written"
            )
        if io.clock() >= deadline:
            raise CutoverRefused(
                f"the on-demand snapshot {snapshot_id} of {cluster} is not complete after "
                f"{duration_text(io.timeout)}: nothing was written; run the cutover again to keep waiting"
            )
        io.sleep(io.poll_interval.total_seconds())


class _WriteLog:
    """Every write in `recovery_log` before the next one can be lost: a batch's `_id`s are logged as
    `cutover-writing` before it is sent and as `cutover-write` once it is acknowledged, so a SIGKILL leaves
    at most one batch whose outcome the log does not state, and names it (a rerun finds those documents
    in place and counts them, never writing them twice)."""

    def __init__(self, log: IncidentLog) -> None:
        self.log = log

    def intent(self, collection: str, action: str, ids: list[Any]) -> None:
        self.log.append("cutover-writing", collection=collection, action=action, ids=ids, count=len(ids))

    def done(self, collection: str, action: str, ids: list[Any]) -> None:
        if ids:
            self.log.append("cutover-write", collection=collection, action=action, ids=ids, count=len(ids))


def _chunks(items: list[dict[str, Any]], size: int) -> list[list[dict[str, Any]]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


class _Progress:
    """Documents done out of the write-back's total, the rate and the time left, after every batch."""

    def __init__(self, total: int, say: Callable[[str], None] | None, clock: Callable[[], datetime] | None):
        self.total, self.say, self.clock = total, say, clock
        self.done = 0
        self.started = clock() if clock is not None else None

    def advance(self, name: str, count: int) -> None:
        self.done += count
        if self.say is None or self.clock is None or self.started is None:
            return
        elapsed = (self.clock() - self.started).total_seconds()
        rate = self.done / elapsed if elapsed > 0 else None
        left = self.total - self.done
        eta = f", ETA {duration_text(timedelta(seconds=left / rate))}" if rate and left > 0 else ""
        speed = f", {rate:.0f} documents/s" if rate else ""
        self.say(f"{name}: {self.done}/{self.total} documents checked{speed}{eta}")


def _insert_missing(
    name: str,
    items: list[dict[str, Any]],
    source: Any,
    target: Any,
    counts: CutoverCounts,
    writes: _WriteLog | None,
    progress: _Progress | None = None,
) -> None:
    """Insert the listed missing documents, `LOG_BATCH` at a time: one read of each side, one logged
    `insert_many`, per batch."""
    for chunk in _chunks(items, LOG_BATCH):
        sources, currents = _both_sides(chunk, source, target)
        batch: list[dict[str, Any]] = []
        for item in chunk:
            key = format_id(item["id"])
            document = sources.get(key)
            if document is None or document_hash(document) != item["sha256"]:
                counts.conflicts.append(f"{key}: the recovery copy changed since verify")
                continue
            current = currents.get(key)
            if current is not None:
                if document_hash(current) == item["sha256"]:
                    counts.already += 1
                else:
                    counts.conflicts.append(f"{key}: created in production since verify")
                continue
            batch.append(document)
        if batch:
            _insert_batch(name, batch, target, counts, writes)
        if progress is not None:
            progress.advance(name, len(chunk))


def _both_sides(
    chunk: list[dict[str, Any]], source: Any, target: Any
) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """The chunk's documents as the recovery copy and production hold them now, by formatted `_id`: one
    read of each side per batch."""
    ids = [item["id"] for item in chunk]
    sources = {format_id(d["_id"]): d for d in source.find({"_id": {"$in": ids}})}
    currents = {format_id(d["_id"]): d for d in target.find({"_id": {"$in": ids}})}
    return sources, currents


def _insert_batch(
    name: str, batch: list[dict[str, Any]], target: Any, counts: CutoverCounts, writes: _WriteLog | None
) -> None:
    from pymongo.errors import BulkWriteError

    if writes is None:
        counts.inserted += len(batch)
        return
    writes.intent(name, "insert", [d["_id"] for d in batch])
    refused: set[int] = set()
    try:
        target.insert_many(batch, ordered=False)
    except BulkWriteError as exc:
        errors = exc.details.get("writeErrors", [])
        if any(e.get("code") != 11000 for e in errors):
            raise
        refused = {int(e["index"]) for e in errors}
    written = [d for i, d in enumerate(batch) if i not in refused]
    for i in sorted(refused):
        counts.conflicts.append(f"{format_id(batch[i]['_id'])}: created in production meanwhile")
    writes.done(name, "insert", [d["_id"] for d in written])
    counts.inserted += len(written)


def _replace_changed(
    name: str,
    items: list[dict[str, Any]],
    source: Any,
    target: Any,
    counts: CutoverCounts,
    writes: _WriteLog | None,
) -> None:
    """Replace the listed changed documents, `LOG_BATCH` at a time: one read of each side and one logged
    `bulk_write` per batch. A document is replaced only while production still holds what verify saw:
    re-read here (changed again or deleted since verify: a conflict), and each replacement is filtered on
    the whole document read, so a change in between matches nothing."""
    for chunk in _chunks(items, LOG_BATCH):
        sources, currents = _both_sides(chunk, source, target)
        batch: list[tuple[dict[str, Any], dict[str, Any]]] = []
        for item in chunk:
            key = format_id(item["id"])
            document = sources.get(key)
            if document is None or document_hash(document) != item["sha256"]:
                counts.conflicts.append(f"{key}: the recovery copy changed since verify")
                continue
            current = currents.get(key)
            if current is not None and document_hash(current) == item["sha256"]:
                counts.already += 1
                continue
            if current is None or document_hash(current) != item["productionSha256"]:
                what = "deleted" if current is None else "changed again"
                counts.conflicts.append(f"{key}: {what} in production since verify")
                continue
            batch.append((current, document))
        if batch:
            _replace_batch(name, batch, target, counts, writes)


def _replace_batch(
    name: str,
    batch: list[tuple[dict[str, Any], dict[str, Any]]],
    target: Any,
    counts: CutoverCounts,
    writes: _WriteLog | None,
) -> None:
    from pymongo import ReplaceOne
    from pymongo.errors import BulkWriteError

    if writes is None:
        counts.replaced += len(batch)
        return
    ids = [document["_id"] for _, document in batch]
    writes.intent(name, "replace", ids)
    refused: dict[int, str] = {}
    try:
        result = target.bulk_write(
            [ReplaceOne(current, document) for current, document in batch], ordered=False
        )
        matched = int(result.matched_count)
    except BulkWriteError as exc:
        refused = {int(e["index"]): str(e.get("errmsg", "")) for e in exc.details.get("writeErrors", [])}
        matched = -1
    if matched == len(batch):
        written = ids
    else:
        # A bulk write reports how many matched, not which: production is read back to say.
        now = {format_id(d["_id"]): d for d in target.find({"_id": {"$in": ids}})}
        written = []
        for index, (_, document) in enumerate(batch):
            key = format_id(document["_id"])
            there = now.get(key)
            if index not in refused and there is not None and document_hash(there) == document_hash(document):
                written.append(document["_id"])
            elif index in refused:
                counts.conflicts.append(f"{key}: refused by production ({' '.join(refused[index].split())})")
            else:
                counts.conflicts.append(f"{key}: changed in production meanwhile")
    writes.done(name, "replace", written)
    counts.replaced += len(written)


def write_back(
    diffs: list[dict[str, Any]],
    *,
    recovery_db: Any,
    production_db: Any,
    replace_changed: bool,
    execute: bool,
    log: IncidentLog | None,
    progress: Callable[[str], None] | None = None,
    clock: Callable[[], datetime] | None = None,
) -> list[CutoverCounts]:
    """Insert what verify found missing and (optionally) replace what it found changed, and only that."""
    writes = _WriteLog(log) if execute and log is not None else None
    total = sum(len(d.get("missingInProduction", [])) for d in diffs)
    meter = _Progress(total, progress, clock) if total else None
    results: list[CutoverCounts] = []
    for diff in diffs:
        name = str(diff["collection"])
        counts = CutoverCounts(name)
        results.append(counts)
        source, target = recovery_db[name], production_db[name]
        missing = list(diff.get("missingInProduction", []))
        _insert_missing(name, missing, source, target, counts, writes, meter)
        changed = list(diff.get("changedInProduction", []))
        if not replace_changed:
            counts.not_replaced += len(changed)
            continue
        _replace_changed(name, changed, source, target, counts, writes)
    return results


# --- indexes: a dropped collection or database loses them with its documents ----------------------------

_INDEX_FIELDS_NOT_OPTIONS = frozenset({"key", "v", "ns"})


def missing_indexes(source: Any, target: Any) -> list[tuple[str, list[tuple[str, Any]], dict[str, Any]]]:
    """The recovery copy's indexes production lacks, by name: (name, key, options)."""
    have = target.index_information()
    missing = []
    for name, spec in source.index_information().items():
        if name == "_id_" or name in have:
            continue
        options = {k: v for k, v in spec.items() if k not in _INDEX_FIELDS_NOT_OPTIONS}
        missing.append((str(name), [(str(f), d) for f, d in spec["key"]], options))
    return missing


def restore_indexes(
    names: list[str], *, recovery_db: Any, production_db: Any, execute: bool, log: IncidentLog | None
) -> tuple[list[str], list[str]]:
    """Create, after the write-back, the indexes production lacks that the recovery copy has (a dropped
    tenant database or collection comes back with them); (created or to create, failed)."""
    from pymongo.errors import PyMongoError

    done: list[str] = []
    failed: list[str] = []
    for name in names:
        for index, key, options in missing_indexes(recovery_db[name], production_db[name]):
            text = f"`{name}` index `{index}` {dict(key)}" + (f" {options}" if options else "")
            if execute:
                try:
                    production_db[name].create_index(key, name=index, **options)
                except PyMongoError as exc:
                    failed.append(f"{text}: {' '.join(str(exc).split())}")
                    continue
                if log is not None:
                    log.append(
                        "cutover-index",
                        collection=name,
                        index=index,
                        key=[list(k) for k in key],
                        options=options,
                    )
            done.append(text)
    return done, failed


# --- cluster and region losses: the connection-target switch ---------------------------------------------

_SECTION_KEY = "backstop:recover"


def pulumi_up_command(stack: str) -> str:
    return f"pulumi up -s {stack} --policy-pack policies --policy-pack-config policies/{stack}.json"


def config_set_commands(stack: str, target: dict[str, str]) -> list[str]:
    return [
        f"pulumi config set --path -s {stack} 'backstop:recover.connectionTarget.{key}' {value}"
        for key, value in target.items()
    ]


def switch_connection_target(project_dir: Path, stack: str, target: dict[str, str]) -> Path:
    """Set `backstop:recover.connectionTarget` in the stack file, keeping every other line (and comment)
    as it is; the result must validate, or the file is left exactly as it was."""
    from backstop.config.stackfile import read_stack_file

    path = Path(project_dir) / stack_file_name(stack)
    original = path.read_text(encoding="utf-8")
    lines = original.splitlines()
    block_start = next((i for i, line in enumerate(lines) if line.startswith(f"  {_SECTION_KEY}:")), None)
    target_lines = ["    connectionTarget:"] + [f"      {key}: {value}" for key, value in target.items()]
    if block_start is None:
        if not any(line.startswith("config:") for line in lines):
            raise ConfigError(f"{path.name}: no `config:` mapping to add {_SECTION_KEY} to")
        new_lines = [*lines, f"  {_SECTION_KEY}:", *target_lines]
    else:
        end = block_start + 1
        while end < len(lines) and (not lines[end].strip() or lines[end].startswith("    ")):
            end += 1
        body = lines[block_start + 1 : end]
        kept: list[str] = []
        skipping = False
        for line in body:
            if re.match(r"^    connectionTarget:", line):
                skipping = True
                continue
            if skipping and (line.startswith("      ") or not line.strip()):
                continue
            skipping = False
            kept.append(line)
        new_lines = lines[: block_start + 1] + kept + target_lines + lines[end:]
    path.write_text("\n".join(new_lines) + "\n", encoding="utf-8")
    try:
        read_stack_file(project_dir, stack).stack_config()
    except ConfigError:
        path.write_text(original, encoding="utf-8")
        raise
    return path


def restore_point_text(incident: Incident) -> str:
    point = incident.plan["restorePoint"]["at"]
    created = parse_time(point)
    return utc_iso(created) if created else str(point)
