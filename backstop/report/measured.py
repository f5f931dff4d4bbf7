"""`backstop report --status status.json`: what `backstop status` measured, beside what is declared.

The RPO/RTO report derives each scenario's achievable RPO from the declared resources; a status file says
what the live estate showed at one moment. Each scenario gets the status rows that measure its RPO:
point-in-time window (single document), newest snapshot (single collection), newest cross-region copy
(whole cluster and total loss), storage replication (object storage), dead letters (queue messages).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from backstop.ground.errors import UsageError

SCENARIO_OBJECTIVES: dict[str, tuple[str, ...]] = {
    "single_document": ("atlas-pit-window",),
    "single_collection": ("atlas-snapshot-age",),
    "whole_cluster": ("atlas-copy-age",),
    "total_loss": ("atlas-copy-age",),
    "object_storage": ("azure-geo-sync", "s3-replication-lag", "s3-replication-sample"),
    "queue_messages": ("servicebus-dead-letters",),
}
_ROW_KEYS = ("objective", "resource", "status")
_MARK = {"ok": "✅ ok", "breach": "❌ breach", "unknown": "❔ unknown"}


@dataclass(frozen=True)
class Measured:
    source: str
    stack: str
    generated_at: str
    rows: list[dict[str, Any]]

    def for_scenario(self, scenario: str) -> list[dict[str, Any]]:
        wanted = SCENARIO_OBJECTIVES.get(scenario, ())
        return [row for row in self.rows if row["objective"] in wanted]

    def add_to(self, report_text: str, fmt: str) -> str:
        """The report with the measured rows: a `measuredNow` key per scenario (JSON), or a section
        before the Markdown verdict line."""
        if fmt == "json":
            document = json.loads(report_text)
            for scenario in document.get("scenarios", []):
                scenario["measuredNow"] = [
                    brief(row) for row in self.for_scenario(str(scenario.get("scenario")))
                ]
            document["status"] = {
                "source": self.source,
                "stack": self.stack,
                "generatedAt": self.generated_at,
            }
            return json.dumps(document, indent=2)
        lines = report_text.rstrip("\n").split("\n")
        section = [
            f"#### Measured now: `backstop status` of stack `{self.stack}` at {self.generated_at}",
            "",
            "| Scenario | Objective | Resource | Measured | Target | Status |",
            "|---|---|---|---|---|---|",
        ]
        for scenario in SCENARIO_OBJECTIVES:
            for row in self.for_scenario(scenario):
                section.append(
                    f"| {scenario} | {row['objective']} | {row['resource']} | {row.get('measured') or '-'} "
                    f"| {row.get('target', '')} | {_MARK.get(row['status'], row['status'])} |"
                )
        if len(section) == 4:
            section.append("| - | - | - | no measured row maps to a scenario | - | - |")
        return "\n".join([*lines[:-1], *section, "", lines[-1]]) + "\n"


def brief(row: Mapping[str, Any]) -> dict[str, Any]:
    keys = ("objective", "resource", "status", "measured", "seconds", "target", "reason")
    return {key: row.get(key) for key in keys}


def read_status(path: Path) -> Measured:
    """A `backstop status --format json` file; one line naming the file and key for anything unusable."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except json.JSONDecodeError as exc:
        raise UsageError(f"{path}: not JSON (line {exc.lineno}: {exc.msg})") from None
    if not isinstance(document, dict) or document.get("schemaVersion") != 1:
        raise UsageError(f"{path}: schemaVersion: not a `backstop status --format json` file (version 1)")
    rows = document.get("rows")
    if not isinstance(rows, list):
        raise UsageError(f"{path}: rows: expected a list")
    for index, row in enumerate(rows):
        if not isinstance(row, dict) or not all(isinstance(row.get(key), str) for key in _ROW_KEYS):
            raise UsageError(f"{path}: rows[{index}]: needs string objective, resource and status")
    return Measured(str(path), str(document.get("stack")), str(document.get("generatedAt")), rows)
