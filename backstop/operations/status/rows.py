"""The objective rows `backstop status` prints, and their three renderings (text, JSON, OpenMetrics).

A row is one objective on one live resource: what was measured, the target it is held to, ok / breach /
unknown, and the evidence (the API call asked and the timestamp its answer carried). A row is `ok` only
when a measurement was made and meets the target: anything the clouds did not answer is `unknown`, with
the reason, so an unreachable cloud can never read as protected.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from importlib import resources
from typing import Any, Literal

from backstop.ground.documents import utc_iso
from backstop.ground.envelope import envelope
from backstop.ground.errors import EXIT_OK, EXIT_VIOLATIONS

Verdict = Literal["ok", "breach", "unknown"]
VERDICTS: tuple[Verdict, ...] = ("ok", "breach", "unknown")
FORMATS = ("text", "json", "prometheus")
SCHEMA_RESOURCE = "status.schema.json"


@dataclass(frozen=True)
class Evidence:
    """The call that answered and the timestamp in its answer (None when the answer carried none)."""

    call: str
    timestamp: datetime | None = None
    asked_at: datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "call": self.call,
            "timestamp": utc_iso(self.timestamp) if self.timestamp else None,
            "askedAt": utc_iso(self.asked_at) if self.asked_at else None,
        }


@dataclass(frozen=True)
class Row:
    objective: str
    resource: str
    verdict: Verdict
    target: str
    measured: str | None = None
    # The measured value in seconds, where the objective is a duration (ages, windows, lags).
    seconds: float | None = None
    # A count, where the objective counts something (failed snapshots, dead letters).
    value: float | None = None
    reason: str = ""
    evidence: Evidence | None = None
    basis: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "objective": self.objective,
            "resource": self.resource,
            "status": self.verdict,
            "measured": self.measured,
            "seconds": self.seconds,
            "value": self.value,
            "target": self.target,
            "reason": self.reason,
            "basis": self.basis,
            "evidence": self.evidence.as_dict() if self.evidence else None,
        }


@dataclass(frozen=True)
class StatusReport:
    stack: str
    generated_at: datetime
    rows: list[Row] = field(default_factory=list)

    def count(self, verdict: Verdict) -> int:
        return sum(1 for row in self.rows if row.verdict == verdict)

    @property
    def exit_code(self) -> int:
        """0 only when every objective was measured and holds: an unknown is not known to hold."""
        return EXIT_VIOLATIONS if self.count("breach") or self.count("unknown") else EXIT_OK

    def as_dict(self) -> dict[str, Any]:
        return envelope(
            "status",
            {
                "stack": self.stack,
                "generatedAt": utc_iso(self.generated_at),
                "summary": {verdict: self.count(verdict) for verdict in VERDICTS},
                "rows": [row.as_dict() for row in self.rows],
            },
        )


def duration(value: timedelta | float) -> str:
    """`3 h 12 min`, `8 d 2 h`, `45 s`: short enough for a table cell, exact enough for an auditor."""
    seconds = value.total_seconds() if isinstance(value, timedelta) else float(value)
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    if seconds < 60:
        return f"{sign}{seconds:.0f} s"
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{sign}{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{sign}{hours} h {minutes} min" if minutes else f"{sign}{hours} h"
    days, hours = divmod(hours, 24)
    return f"{sign}{days} d {hours} h" if hours else f"{sign}{days} d"


def render(report: StatusReport, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(report.as_dict(), indent=2)
    if fmt == "prometheus":
        return openmetrics(report)
    return text(report)


def text(report: StatusReport) -> str:
    header = ("objective", "resource", "measured", "target", "status", "evidence")
    table = [header]
    for row in report.rows:
        evidence = ""
        if row.evidence is not None:
            stamp = utc_iso(row.evidence.timestamp) if row.evidence.timestamp else "no timestamp"
            evidence = f"{row.evidence.call} @ {stamp}"
        status = row.verdict.upper() if row.verdict != "ok" else "ok"
        table.append((row.objective, row.resource, row.measured or "-", row.target, status, evidence))
    widths = [max(len(line[i]) for line in table) for i in range(len(header) - 1)]
    lines = [
        f"backstop status: stack {report.stack} at {utc_iso(report.generated_at)}: "
        f"{report.count('ok')} ok, {report.count('breach')} breach, {report.count('unknown')} unknown"
    ]
    for line in table:
        lines.append(
            "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=False)) + "  " + line[-1]
        )
    notes = [row for row in report.rows if row.verdict != "ok" and row.reason]
    if notes:
        lines.append("")
        lines.extend(f"{row.verdict.upper()} {row.objective} {row.resource}: {row.reason}" for row in notes)
    if report.count("unknown"):
        lines.append(
            f"{report.count('unknown')} objective(s) could not be measured: they are not known to hold"
        )
    return "\n".join(line.rstrip() for line in lines)


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def openmetrics(report: StatusReport) -> str:
    """OpenMetrics text for a node-exporter textfile collector or a Pushgateway.

    `backstop_objective_ok` is 1 only for ok: a breach and an unknown are both 0, and
    `backstop_objective_unknown` tells them apart, so an alert on `== 0` never misses a silent cloud."""
    lines = [
        "# TYPE backstop_objective_seconds gauge",
        "# UNIT backstop_objective_seconds seconds",
        "# HELP backstop_objective_seconds Measured age, window or lag of the objective, in seconds.",
    ]
    labelled = [
        (row, f'objective="{_label(row.objective)}",resource="{_label(row.resource)}"') for row in report.rows
    ]
    lines += [
        f"backstop_objective_seconds{{{labels}}} {_number(row.seconds)}"
        for row, labels in labelled
        if row.seconds is not None
    ]
    lines += [
        "# TYPE backstop_objective_ok gauge",
        "# HELP backstop_objective_ok 1 when the objective was measured and holds, else 0.",
    ]
    lines += [f"backstop_objective_ok{{{labels}}} {int(row.verdict == 'ok')}" for row, labels in labelled]
    lines += [
        "# TYPE backstop_objective_unknown gauge",
        "# HELP backstop_objective_unknown 1 when the objective could not be measured.",
    ]
    lines += [
        f"backstop_objective_unknown{{{labels}}} {int(row.verdict == 'unknown')}" for row, labels in labelled
    ]
    lines.append("# EOF")
    return "\n".join(lines)


def _number(value: float) -> str:
    if math.isnan(value) or math.isinf(value):
        return "NaN"
    return repr(float(value))


def schema() -> dict[str, Any]:
    """The published JSON Schema of `--format json`, shipped inside the package."""
    text_ = resources.files(__package__).joinpath(SCHEMA_RESOURCE).read_text(encoding="utf-8")
    loaded: dict[str, Any] = json.loads(text_)
    return loaded


def rows_in_order(rows: Sequence[Row]) -> list[Row]:
    """Breaches first, then unknowns, then ok; by objective and resource within each."""
    rank = {"breach": 0, "unknown": 1, "ok": 2}
    return sorted(rows, key=lambda r: (rank[r.verdict], r.objective, r.resource))
