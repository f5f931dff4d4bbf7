"""`backstop audit`: the seed's weekly Tier-2 job, a "tenant X exists in snapshot Y" attestation.

For every tenant database of the source cluster (name matches `backstop:drill.tenantDatabasePattern`, not in
`excludedDatabases`, never `admin`/`local`/`config`) one record is appended to `backup_audit_log`: the
tenant, the cluster, the snapshot that holds it, and a manifest (per-collection counts and a sample of
content hashes, at one cluster time when the server allows it) that restore drills verify against.

Which snapshot "holds" a tenant: the newest completed, unexpired snapshot taken at or before the manifest's
restore point. It is the base Atlas restores from: a point-in-time restore to the manifest's cluster time
starts from it and replays the oplog forward, and a snapshot restore gives the tenant back as it was when the
snapshot was taken (`snapshotLagSeconds` before the manifest, so writes in that gap show up as differences
in a snapshot-mode drill). A tenant no completed snapshot covers yet is recorded with `snapshot: null`, and
the audit exits 1: that tenant is not protected.

Whether the holding snapshot really holds the tenant is then asked of Atlas itself: the snapshot-contents
operations (`GET .../backup/snapshots/{snapshotId}/databases` and `.../databases/{db}/collections`,
version 2025-03-12) list what a snapshot holds. Each record's `attestation` says how it was established:
- `snapshot-contents`: Atlas lists the tenant database in the snapshot (its collections are recorded and
  compared with the manifest's); a tenant database Atlas does not list fails the audit;
- `inferred`: Atlas could not be asked (the operation is unavailable, refused, or documented for replica-set
  snapshots only and the cluster is sharded), so the snapshot is inferred from time alone; `reason` says why;
- `none`: no completed snapshot covers the tenant.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from backstop.clients.atlas import (
    VERSION_SNAPSHOT_CONTENTS,
    AtlasApiError,
    AtlasClient,
    cluster_topology,
    newest_completed_snapshot,
    one_line,
    parse_time,
)
from backstop.clients.mongo_manifest import READ_SNAPSHOT, Manifest, take_manifest
from backstop.config import StackConfig, source_cluster_name, tenant_databases
from backstop.ground.documents import utc_iso
from backstop.ground.errors import EXIT_OK, EXIT_VIOLATIONS
from backstop.report.attestations import RECORD_KIND
from backstop.report.evidence import (
    AUDIT_COLLECTION,
    ChainStatus,
    EvidenceError,
    append_record,
    ensure_indexes,
    verify_chain,
)

HELD_BY = "newest completed snapshot taken at or before the manifest's restore point"
ATTESTED = "snapshot-contents"
INFERRED = "inferred"
NO_SNAPSHOT = "none"
SHARDED_CONTENTS = (
    "the cluster is sharded, and Atlas documents snapshot contents "
    "(GET .../backup/snapshots/{snapshotId}/databases) for replica-set snapshots only"
)


def utc_now() -> datetime:
    return datetime.now(UTC)


def snapshot_reference(snapshot: dict[str, Any] | None) -> dict[str, Any] | None:
    if snapshot is None:
        return None
    keys = ("id", "createdAt", "expiresAt", "status", "frequencyType", "snapshotType", "replicaSetName")
    return {key: snapshot[key] for key in keys if key in snapshot}


@dataclass(frozen=True)
class AuditEntry:
    record: dict[str, Any]
    manifest: Manifest

    @property
    def tenant(self) -> str:
        return str(self.record["tenantDatabase"])

    @property
    def snapshot(self) -> dict[str, Any] | None:
        value = self.record.get("snapshot")
        return value if isinstance(value, dict) else None

    @property
    def attestation(self) -> dict[str, Any]:
        value = self.record.get("attestation")
        return (
            value
            if isinstance(value, dict)
            else {"method": INFERRED, "reason": "recorded before attestation"}
        )

    @property
    def missing_from_snapshot(self) -> bool:
        """Atlas was asked and does not list the tenant database in its snapshot."""
        attestation = self.attestation
        return attestation.get("method") == ATTESTED and attestation.get("databaseListed") is False


@dataclass
class AuditReport:
    stack: str
    project_name: str
    project_id: str
    cluster: str
    evidence: str
    run_id: str
    started_at: datetime
    chain_before: ChainStatus
    entries: list[AuditEntry] = field(default_factory=list)

    notes: list[str] = field(default_factory=list)

    @property
    def unprotected(self) -> list[AuditEntry]:
        return [e for e in self.entries if e.snapshot is None]

    @property
    def missing(self) -> list[AuditEntry]:
        return [e for e in self.entries if e.missing_from_snapshot]

    def counts(self) -> dict[str, int]:
        """Tenants attested from the snapshot's contents, inferred, and without a snapshot."""
        methods = [e.attestation.get("method") for e in self.entries]
        return {
            "attested": sum(1 for e in self.entries if e.attestation.get("method") == ATTESTED),
            "inferred": methods.count(INFERRED),
            "noSnapshot": methods.count(NO_SNAPSHOT),
            "missingFromSnapshot": len(self.missing),
        }

    def counts_line(self) -> str:
        c = self.counts()
        line = (
            f"Tier 2 attestation: {c['attested']} tenant database(s) attested from the snapshot's contents "
            f"(Atlas lists them), {c['inferred']} inferred from snapshot times"
        )
        if c["noSnapshot"]:
            line += f", {c['noSnapshot']} in no completed snapshot"
        if c["missingFromSnapshot"]:
            line += f"; {c['missingFromSnapshot']} of the attested NOT listed in their snapshot"
        return line + "."

    def as_json_document(self) -> dict[str, Any]:
        """What `backstop report --audit-results` reads: the counts and one line per tenant."""
        return {
            "kind": "backstop-audit",
            "stack": self.stack,
            "cluster": self.cluster,
            "runId": self.run_id,
            "startedAt": utc_iso(self.started_at),
            "attestation": self.counts(),
            "tenants": [
                {
                    "tenantDatabase": e.tenant,
                    "snapshotId": (e.snapshot or {}).get("id"),
                    "method": e.attestation.get("method"),
                    "databaseListed": e.attestation.get("databaseListed"),
                    "reason": e.attestation.get("reason"),
                    "sequence": e.record.get("sequence"),
                }
                for e in self.entries
            ],
            "passed": self.exit_code == EXIT_OK,
        }

    @property
    def exit_code(self) -> int:
        return EXIT_VIOLATIONS if not self.entries or self.unprotected or self.missing else EXIT_OK

    @property
    def head(self) -> tuple[int, str]:
        if self.entries:
            last = self.entries[-1].record
            return int(last["sequence"]), str(last["recordHash"])
        return self.chain_before.head_sequence, self.chain_before.head_hash

    def verdict(self) -> str:
        if not self.entries:
            return "FAILED: no tenant database matched backstop:drill.tenantDatabasePattern; nothing attested"
        failures = []
        if self.unprotected:
            names = ", ".join(e.tenant for e in self.unprotected)
            failures.append(f"{len(self.unprotected)} tenant database(s) in no completed snapshot: {names}")
        if self.missing:
            names = ", ".join(f"{e.tenant} (snapshot {(e.snapshot or {}).get('id')})" for e in self.missing)
            failures.append(
                f"{len(self.missing)} tenant database(s) Atlas does not list in their snapshot: {names}"
            )
        if failures:
            return "FAILED: " + "; ".join(failures)
        return f"PASSED: {len(self.entries)} tenant database(s) attested, each held by a completed snapshot"

    def as_markdown(self) -> str:
        lines = [
            f"# backstop audit: {self.stack}, cluster `{self.cluster}` (project `{self.project_name}`)",
            "",
            f"Run `{self.run_id}` at {utc_iso(self.started_at)} appended {len(self.entries)} record(s) to "
            f"`{self.evidence}.{AUDIT_COLLECTION}`. A snapshot *holds* a tenant when it is the {HELD_BY}.",
            "",
            "| tenant database | collections | documents | manifest read at | snapshot | taken | lag "
            "| attestation | record |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for entry in self.entries:
            manifest, snapshot = entry.manifest, entry.snapshot
            read = (
                f"cluster time {manifest.cluster_time[0]}:{manifest.cluster_time[1]}"
                if manifest.cluster_time
                else f"{utc_iso(manifest.captured_at)} (latest data, not a snapshot read)"
            )
            lag = entry.record.get("snapshotLagSeconds")
            lines.append(
                f"| `{entry.tenant}` | {len(manifest.counts)} | {manifest.documents} | {read} | "
                + (
                    f"`{snapshot.get('id')}` | {snapshot.get('createdAt')} | {_lag(lag)}"
                    if snapshot
                    else "**none** | | "
                )
                + f" | {_attestation_cell(entry)}"
                + f" | #{entry.record['sequence']} `{str(entry.record['recordHash'])[:12]}` |"
            )
        latest = [e for e in self.entries if e.manifest.read_mode != READ_SNAPSHOT]
        if latest:
            lines += [
                "",
                "Manifests not read at a single cluster time (drills restore to their wall-clock time "
                "instead): " + "; ".join(f"`{e.tenant}`: {e.manifest.read_mode_reason}" for e in latest),
            ]
        inferred = [e for e in self.entries if e.attestation.get("method") == INFERRED]
        reasons = sorted({str(e.attestation.get("reason")) for e in inferred})
        lines += ["", self.counts_line()]
        if reasons:
            lines += ["", "Inferred, not read from the snapshot, because: " + "; ".join(reasons)]
        sequence, head = self.head
        lines += [
            "",
            f"Chain head: #{sequence} `{head}`",
            "",
            f"Keep this head: `backstop audit verify --stack {self.stack} --head {head}` later proves that "
            "no record up to it was changed, removed or reordered.",
            "",
            self.verdict(),
        ]
        return "\n".join(lines) + "\n"


def _attestation_cell(entry: AuditEntry) -> str:
    attestation = entry.attestation
    method = attestation.get("method")
    if method == ATTESTED:
        if attestation.get("databaseListed") is False:
            return "**not listed in the snapshot**"
        collections = attestation.get("collections") or {}
        missing = collections.get("missingFromSnapshot") or []
        listed = collections.get("listed")
        if listed is None:
            return "listed by Atlas (collections not read)"
        text = f"listed by Atlas, {len(listed)} collection(s)"
        return text + (f"; not in the snapshot: {', '.join(missing)}" if missing else "")
    if method == INFERRED:
        return "inferred"
    return "none"


def _lag(seconds: Any) -> str:
    if not isinstance(seconds, int | float):
        return ""
    minutes = int(seconds) // 60
    return f"{minutes // 60} h {minutes % 60} min" if minutes >= 60 else f"{minutes} min"


def run_audit(
    cfg: StackConfig,
    *,
    stack: str,
    atlas: AtlasClient,
    source: Any,
    evidence: Any,
    clock: Callable[[], datetime] = utc_now,
    cluster_name: str | None = None,
    sample_size: int | None = None,
    notice: Callable[[str], None] | None = None,
) -> AuditReport:
    """Attest every tenant database of the source cluster; append one chained record per tenant."""
    cluster = source_cluster_name(cfg, stack, cluster_name)
    project = atlas.project_by_name(cfg.atlas.project_name)
    project_id = str(project["id"])
    cluster_info = atlas.cluster(project_id, cluster)
    topology = cluster_topology(cluster_info)
    snapshots = atlas.cluster_snapshots(project_id, cluster_info)
    contents = _SnapshotContents(
        atlas, project_id, cluster, None if not topology.sharded else SHARDED_CONTENTS
    )
    notes: list[str] = []
    if topology.sharded:
        notes.append(
            f"cluster {cluster} is {topology.describe()}: its snapshots come from "
            f"/backup/snapshots/shardedClusters, and tenants are attested by inference ({SHARDED_CONTENTS})"
        )
        if notice is not None:
            notice(notes[-1])
    log = evidence[AUDIT_COLLECTION]
    chain = verify_chain(log)
    if chain.broken is not None:
        raise EvidenceError(f"{chain.broken.line()}; not appending (run `backstop audit verify`)")
    ensure_indexes(evidence)
    report = AuditReport(
        stack=stack,
        project_name=cfg.atlas.project_name,
        project_id=project_id,
        cluster=cluster,
        evidence=str(getattr(evidence, "name", cfg.drill.evidence_database)),
        run_id=secrets.token_hex(6),
        started_at=clock(),
        chain_before=chain,
        notes=notes,
    )
    size = sample_size or cfg.drill.manifest_sample_size
    for tenant in tenant_databases(source.list_database_names(), cfg.drill):
        manifest = take_manifest(source, tenant, sample_size=size, clock=clock)
        holder = newest_completed_snapshot(snapshots, manifest.restore_point, now=clock())
        created = parse_time(holder.get("createdAt")) if holder else None
        record = {
            "kind": RECORD_KIND,
            "auditRunId": report.run_id,
            "recordedAt": utc_iso(clock()),
            "stack": stack,
            "projectId": project_id,
            "projectName": cfg.atlas.project_name,
            "cluster": cluster,
            "pitEnabled": cluster_info.get("pitEnabled") is True,
            "tenantDatabase": tenant,
            "heldBy": HELD_BY,
            "snapshot": snapshot_reference(holder),
            "snapshotLagSeconds": int((manifest.restore_point - created).total_seconds())
            if created
            else None,
            "attestation": contents.attest(holder, tenant, sorted(manifest.counts)),
            "manifest": manifest.as_document(),
        }
        linked = append_record(log, record, previous=chain)
        chain = ChainStatus(chain.records + 1, int(linked["sequence"]), str(linked["recordHash"]), None)
        report.entries.append(AuditEntry(linked, manifest))
    return report


class _SnapshotContents:
    """Asks Atlas what a snapshot holds, once per snapshot; remembers why it could not."""

    def __init__(self, atlas: AtlasClient, project_id: str, cluster: str, unavailable: str | None) -> None:
        self.atlas = atlas
        self.project_id = project_id
        self.cluster = cluster
        self.unavailable = unavailable
        self.databases: dict[str, set[str] | str] = {}

    def _databases(self, snapshot_id: str) -> set[str] | str:
        if snapshot_id not in self.databases:
            try:
                listed = self.atlas.snapshot_databases(self.project_id, self.cluster, snapshot_id)
                self.databases[snapshot_id] = set(listed)
            except AtlasApiError as exc:
                self.databases[snapshot_id] = f"snapshot contents unavailable: {one_line(exc, 600)}"
        return self.databases[snapshot_id]

    def attest(self, holder: dict[str, Any] | None, tenant: str, collections: list[str]) -> dict[str, Any]:
        if holder is None:
            return {"method": NO_SNAPSHOT, "reason": f"no {HELD_BY}"}
        snapshot_id = str(holder.get("id"))
        base = {"snapshotId": snapshot_id, "apiVersion": VERSION_SNAPSHOT_CONTENTS}
        if self.unavailable is not None:
            return {"method": INFERRED, **base, "reason": self.unavailable}
        databases = self._databases(snapshot_id)
        if isinstance(databases, str):
            return {"method": INFERRED, **base, "reason": databases}
        if tenant not in databases:
            return {"method": ATTESTED, **base, "databaseListed": False, "collections": None, "reason": None}
        try:
            listed = sorted(
                self.atlas.snapshot_collections(self.project_id, self.cluster, snapshot_id, tenant)
            )
        except AtlasApiError as exc:
            return {
                "method": ATTESTED,
                **base,
                "databaseListed": True,
                "collections": None,
                "reason": f"collections unavailable: {one_line(exc, 600)}",
            }
        missing = [name for name in collections if name not in listed]
        return {
            "method": ATTESTED,
            **base,
            "databaseListed": True,
            "collections": {"listed": listed, "missingFromSnapshot": missing},
            "reason": None,
        }
