"""What the weekly audit attested, as the report and the runbooks read it back.

`latest_records` reads the newest attestation per tenant from `backup_audit_log` (drills and recoveries check
their restores against it); `read_audit_results` reads a `backstop audit --result-json` file for
`backstop report --audit-results`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from backstop.ground.errors import UsageError

RECORD_KIND = "tenant-snapshot-attestation"


def latest_records(log: Any, *, project_id: str, cluster: str) -> dict[str, dict[str, Any]]:
    """The newest record per tenant database of one cluster."""
    latest: dict[str, dict[str, Any]] = {}
    for record in log.find({"projectId": project_id, "cluster": cluster, "kind": RECORD_KIND}).sort(
        "sequence", 1
    ):
        latest[str(record["tenantDatabase"])] = record
    return latest


@dataclass(frozen=True)
class AuditResults:
    """A `backstop audit --result-json` file, as `backstop report --audit-results` shows it."""

    source: str
    counts: dict[str, int]
    run_id: str
    started_at: str

    def line(self) -> str:
        c = self.counts
        return (
            f"Tier 2 attestation (audit run `{self.run_id}`, {self.started_at}): {c.get('attested', 0)} "
            f"tenant database(s) attested from the snapshot's contents, {c.get('inferred', 0)} inferred"
            + (f", {c['noSnapshot']} in no completed snapshot" if c.get("noSnapshot") else "")
            + (
                f", {c['missingFromSnapshot']} NOT listed in their snapshot"
                if c.get("missingFromSnapshot")
                else ""
            )
            + "."
        )

    def add_to(self, report_text: str, fmt: str) -> str:
        """The report with the attestation counts: a JSON key, or a line before the Markdown verdict."""
        if fmt == "json":
            document = json.loads(report_text)
            document["tier2Attestation"] = dict(
                self.counts, auditRunId=self.run_id, startedAt=self.started_at
            )
            return json.dumps(document, indent=2)
        lines = report_text.rstrip("\n").split("\n")
        return "\n".join([*lines[:-1], self.line(), "", lines[-1]]) + "\n"


def read_audit_results(path: Path) -> AuditResults:
    """One line naming the file and key for anything unusable."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except json.JSONDecodeError as exc:
        raise UsageError(f"{path}: not JSON (line {exc.lineno}: {exc.msg})") from None
    if not isinstance(document, dict) or document.get("kind") != "backstop-audit":
        raise UsageError(f"{path}: kind: not a `backstop audit --result-json` file")
    counts = document.get("attestation")
    keys = ("attested", "inferred", "noSnapshot", "missingFromSnapshot")
    if not isinstance(counts, dict) or not all(isinstance(counts.get(k), int) for k in keys):
        raise UsageError(f"{path}: attestation: needs integer {', '.join(keys)}")
    return AuditResults(
        str(path), {k: counts[k] for k in keys}, str(document.get("runId")), str(document.get("startedAt"))
    )
