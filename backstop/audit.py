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
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from backstop.atlas_api import AtlasClient, newest_completed_snapshot, parse_time
from backstop.config import ConfigError, DrillConfig, StackConfig, stack_file_name
from backstop.errors import EXIT_OK, EXIT_VIOLATIONS
from backstop.evidence import (
    AUDIT_COLLECTION,
    SYSTEM_DATABASES,
    ChainStatus,
    EvidenceError,
    append_record,
    ensure_indexes,
    utc_iso,
    verify_chain,
)
from backstop.mongo_manifest import READ_SNAPSHOT, Manifest, take_manifest

RECORD_KIND = "tenant-snapshot-attestation"
HELD_BY = "newest completed snapshot taken at or before the manifest's restore point"


def utc_now() -> datetime:
    return datetime.now(UTC)


def is_tenant_database(name: str, drill: DrillConfig) -> bool:
    return (
        name not in SYSTEM_DATABASES
        and name not in drill.excluded_databases
        and re.search(drill.tenant_database_pattern, name) is not None
    )


def tenant_databases(names: Iterable[str], drill: DrillConfig) -> list[str]:
    return sorted(name for name in names if is_tenant_database(name, drill))


def source_cluster_name(cfg: StackConfig, stack: str, override: str | None = None) -> str:
    """The cluster holding the tenants: `--cluster`, else `backstop:drill.sourceCluster`, else the only one
    the stack declares."""
    names = [c.name for c in cfg.atlas.clusters]
    chosen = override or cfg.drill.source_cluster
    source = stack_file_name(stack)
    if chosen is None:
        if len(names) != 1:
            raise ConfigError(
                f"{source}: backstop:drill.sourceCluster: is required when the stack declares "
                f"{len(names)} clusters ({', '.join(names)})"
            )
        return names[0]
    if chosen not in names:
        raise ConfigError(
            f"{source}: backstop:drill.sourceCluster: {chosen} is not a cluster of this stack "
            f"({', '.join(names)})"
        )
    return chosen


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

    @property
    def unprotected(self) -> list[AuditEntry]:
        return [e for e in self.entries if e.snapshot is None]

    @property
    def exit_code(self) -> int:
        return EXIT_VIOLATIONS if not self.entries or self.unprotected else EXIT_OK

    @property
    def head(self) -> tuple[int, str]:
        if self.entries:
            last = self.entries[-1].record
            return int(last["sequence"]), str(last["recordHash"])
        return self.chain_before.head_sequence, self.chain_before.head_hash

    def verdict(self) -> str:
        if not self.entries:
            return "FAILED: no tenant database matched backstop:drill.tenantDatabasePattern; nothing attested"
        if self.unprotected:
            names = ", ".join(e.tenant for e in self.unprotected)
            return f"FAILED: {len(self.unprotected)} tenant database(s) in no completed snapshot: {names}"
        return f"PASSED: {len(self.entries)} tenant database(s) attested, each held by a completed snapshot"

    def as_markdown(self) -> str:
        lines = [
            f"# backstop audit: {self.stack}, cluster `{self.cluster}` (project `{self.project_name}`)",
            "",
            f"Run `{self.run_id}` at {utc_iso(self.started_at)} appended {len(self.entries)} record(s) to "
            f"`{self.evidence}.{AUDIT_COLLECTION}`. A snapshot *holds* a tenant when it is the {HELD_BY}.",
            "",
            "| tenant database | collections | documents | manifest read at | snapshot | taken | lag "
            "| record |",
            "|---|---|---|---|---|---|---|---|",
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
                + f" | #{entry.record['sequence']} `{str(entry.record['recordHash'])[:12]}` |"
            )
        latest = [e for e in self.entries if e.manifest.read_mode != READ_SNAPSHOT]
        if latest:
            lines += [
                "",
                "Manifests not read at a single cluster time (drills restore to their wall-clock time "
                "instead): " + "; ".join(f"`{e.tenant}`: {e.manifest.read_mode_reason}" for e in latest),
            ]
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
) -> AuditReport:
    """Attest every tenant database of the source cluster; append one chained record per tenant."""
    cluster = source_cluster_name(cfg, stack, cluster_name)
    project = atlas.project_by_name(cfg.atlas.project_name)
    project_id = str(project["id"])
    cluster_info = atlas.cluster(project_id, cluster)
    snapshots = atlas.cluster_snapshots(project_id, cluster_info)
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
            "manifest": manifest.as_document(),
        }
        linked = append_record(log, record, previous=chain)
        chain = ChainStatus(chain.records + 1, int(linked["sequence"]), str(linked["recordHash"]), None)
        report.entries.append(AuditEntry(linked, manifest))
    return report


def latest_records(log: Any, *, project_id: str, cluster: str) -> dict[str, dict[str, Any]]:
    """The newest record per tenant database of one cluster."""
    latest: dict[str, dict[str, Any]] = {}
    for record in log.find({"projectId": project_id, "cluster": cluster, "kind": RECORD_KIND}).sort(
        "sequence", 1
    ):
        latest[str(record["tenantDatabase"])] = record
    return latest
