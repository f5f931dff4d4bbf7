"""What one period's bundle says, gathered from the exported evidence stores: the `evidence.json` document.

Everything here is read from the exported entries (never from the live store a second time), so what the
page shows is what `backstop evidence verify` re-checks. Absence is evidence too: a period with no restore
drill, no Tier-2 attestation or a tenant week without one is a finding, never an empty pass.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from backstop.config import ObjectivesConfig
from backstop.ground.documents import utc_iso
from backstop.ground.resources import Resource
from backstop.policy.core import Report
from backstop.report.attestations import RECORD_KIND as ATTESTATION_KIND
from backstop.report.bundle.period import Period, history, parse_time, weeks
from backstop.report.bundle.stores import INCIDENT_COLLECTION, StoreCheck
from backstop.report.evidence import AUDIT_COLLECTION, DRILL_RESULTS_COLLECTION, drill_evidence
from backstop.report.measured import Measured, brief
from backstop.report.objectives import derive, measured_restore_times

SCHEMA_VERSION = 1
ROLLBACK_KIND = "application-rollback"
# The attestation methods `backstop audit` records (operations/audit/run.py).
ATTESTED, INFERRED = "snapshot-contents", "inferred"
# Grid cells, best first: a week holds its best attestation of each tenant.
CELL_ORDER = ("attested", "inferred", "missing", "pending")


def _iso(value: datetime | None) -> str | None:
    return None if value is None else utc_iso(value)


def _sub(document: Mapping[str, Any], key: str) -> dict[str, Any]:
    """A nested document, or an empty one where the record has none (an older or foreign record)."""
    value = document.get(key)
    return value if isinstance(value, dict) else {}


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


# --- drills ---------------------------------------------------------------------------------------------


def _restore_point_age(result: Mapping[str, Any]) -> float | None:
    """Data a restore drill would have lost: none for a point-in-time restore to the manifest's point;
    for a snapshot restore, how much older the snapshot is than the attested manifest."""
    restore = _sub(result, "restore")
    manifest = _sub(result, "manifest")
    if restore.get("mode") == "pointInTime":
        return 0.0
    snapshot = _sub(restore, "snapshot")
    point, taken = parse_time(manifest.get("restorePoint")), parse_time(snapshot.get("createdAt"))
    if point is None or taken is None:
        return None
    return max((point - taken).total_seconds(), 0.0)


# The seed row a restore drill's mechanism stands for: oplog replay the single-document loss, a snapshot
# restore the single-collection one.
RPO_SCENARIO = {"oplog_replay": "single_document", "snapshot_restore": "single_collection"}


def _rpo_target(mechanism: Any, objectives: ObjectivesConfig) -> float | None:
    scenario = RPO_SCENARIO.get(str(mechanism))
    return None if scenario is None else float(getattr(objectives, scenario).rpo.total_seconds())


def measured_restore_point_ages(results: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per seed scenario, the data loss (restore-point age) of the latest restore drill that measured it:
    the drill's restored data verified (`timeToRestoreSeconds` set, as for the measured RTO)."""
    latest: dict[str, dict[str, Any]] = {}
    for result in results:
        scenario = RPO_SCENARIO.get(str(result.get("mechanism")))
        age = _restore_point_age(result)
        if scenario is None or age is None or _number(result.get("timeToRestoreSeconds")) is None:
            continue
        finished = str(result.get("finishedAt", ""))
        if scenario not in latest or finished > latest[scenario]["finishedAt"]:
            latest[scenario] = {
                "seconds": age,
                "drillId": str(result.get("drillId")),
                "at": _iso(parse_time(result.get("startedAt"))),
                "finishedAt": finished,
            }
    return latest


def _drills_stack(result: Mapping[str, Any], stack: str) -> bool:
    """A restore drill restores this stack's snapshots; the rollback drill swaps the slots of the staging
    app by design (it refuses prod), and is the evidence of every stack's slot-swap mechanism."""
    return result.get("kind") == ROLLBACK_KIND or result.get("sourceStack") == stack


def drill_rows(
    results: Sequence[Mapping[str, Any]], stack: str, periods: Sequence[Period], objectives: ObjectivesConfig
) -> list[dict[str, Any]]:
    rows = []
    for result in results:
        if not _drills_stack(result, stack):
            continue
        started = parse_time(result.get("startedAt"))
        period = next((p for p in periods if p.holds(started)), None)
        if period is None:
            continue
        rollback = result.get("kind") == ROLLBACK_KIND
        restore = _sub(result, "restore")
        ttr = _number(result.get("timeToRestoreSeconds"))
        rto = _number(result.get("rtoSeconds"))
        age = None if rollback else _restore_point_age(result)
        rpo = None if rollback else _rpo_target(result.get("mechanism"), objectives)
        rows.append(
            {
                "drillId": str(result.get("drillId")),
                "kind": "rollback" if rollback else "restore",
                "period": period.label,
                "inPeriod": period is periods[-1],
                "startedAt": _iso(started),
                "mechanism": result.get("mechanism"),
                "mode": restore.get("mode") if not rollback else "slotSwap",
                "subject": f"{_sub(result, 'app').get('name')} ({result.get('sourceStack')})"
                if rollback
                else result.get("tenantDatabase"),
                "timeToRestoreSeconds": ttr,
                "durationSeconds": _number(restore.get("durationSeconds")) if not rollback else ttr,
                "rtoSeconds": rto,
                "rtoMet": ttr is not None and rto is not None and ttr <= rto,
                "restorePointAgeSeconds": age,
                "rpoSeconds": rpo,
                "rpoMet": None if rollback else age is not None and rpo is not None and age <= rpo,
                "passed": result.get("passed") is True,
                "error": result.get("error") or "; ".join(map(str, result.get("errors") or [])) or None,
            }
        )
    rows.sort(key=lambda r: (r["startedAt"] or "", r["drillId"]))
    return rows


# --- Tier-2 attestation ---------------------------------------------------------------------------------


def attestation_grid(
    records: Sequence[Mapping[str, Any]], stack: str, period: Period, now: datetime
) -> dict[str, Any]:
    grid_weeks = weeks(period)
    last = grid_weeks[-1].end if grid_weeks else period.end
    # Tenants the audit knew up to the last week: a tenant never attested again is a gap, not forgotten.
    audit = [
        r
        for r in records
        if r.get("kind") == ATTESTATION_KIND
        and r.get("stack") == stack
        and (parse_time(r.get("recordedAt")) or last) < last
    ]
    tenants = sorted({str(r.get("tenantDatabase")) for r in audit})
    cells = []
    for tenant in tenants:
        for week in grid_weeks:
            held = [
                r
                for r in audit
                if r.get("tenantDatabase") == tenant
                and week.start <= (parse_time(r.get("recordedAt")) or week.end) < week.end
            ]
            statuses = [_cell(r) for r in held]
            status = (
                min(statuses, key=CELL_ORDER.index)
                if statuses
                else ("pending" if now < week.end else "missing")
            )
            best = next((r for r in held if _cell(r) == status), None)
            cells.append(
                {
                    "tenant": tenant,
                    "week": week.label,
                    "status": status,
                    "sequence": best.get("sequence") if best else None,
                    "snapshotId": ((best.get("snapshot") or {}).get("id") if best else None),
                    "recordedAt": best.get("recordedAt") if best else None,
                }
            )
    in_period = [r for r in audit if period.holds(parse_time(r.get("recordedAt")))]
    return {
        "tenants": tenants,
        "weeks": [{"week": w.label, "start": _iso(w.start), "end": _iso(w.end)} for w in grid_weeks],
        "cells": cells,
        "recordsInPeriod": len(in_period),
    }


def _cell(record: Mapping[str, Any]) -> str:
    attestation = _sub(record, "attestation")
    method = attestation.get("method")
    if method == ATTESTED and attestation.get("databaseListed") is not False:
        return "attested"
    if method == INFERRED:
        return "inferred"
    return "missing"  # no snapshot holds the tenant, or Atlas does not list it in the snapshot


# --- incidents ------------------------------------------------------------------------------------------


def incident_rows(
    records: Sequence[Mapping[str, Any]], stack: str, period: Period, now: datetime
) -> list[dict[str, Any]]:
    latest: dict[str, Mapping[str, Any]] = {}
    for record in sorted(
        records, key=lambda r: int(r["sequence"]) if isinstance(r.get("sequence"), int) else 0
    ):
        lost = _sub(record, "lost")
        if (
            record.get("kind") == "incident"
            and record.get("stack") == stack
            and period.holds(parse_time(lost.get("at")))
        ):
            latest[str(record.get("incidentId"))] = record
    rows = []
    for incident_id, record in latest.items():
        lost = record["lost"]
        deadlines = _sub(record, "deadlines")
        row: dict[str, Any] = {
            "incidentId": incident_id,
            "lostAt": lost.get("at"),
            "loss": lost.get("type"),
            "database": lost.get("database"),
            "sequence": record.get("sequence"),
            "recordedAt": record.get("recordedAt"),
            "tenantsNotifiedAt": record.get("tenantsNotifiedAt"),
        }
        for key, name in (("tenantNotice", "notice"), ("incidentRecord", "record")):
            deadline = _sub(deadlines, key)
            due = parse_time(deadline.get("due"))
            status = (
                deadline.get("status") if deadline.get("status") in ("met", "missed", "pending") else "missed"
            )
            if status == "pending" and (due is None or now > due):
                status = "missed"  # still no notice on record, and the hour has passed
            row[f"{name}Due"] = deadline.get("due")
            row[f"{name}Status"] = status
        rows.append(row)
    rows.sort(key=lambda r: str(r["lostAt"]))
    return rows


# --- the objectives table --------------------------------------------------------------------------------


def _outside(at: datetime | None, period: Period) -> str | None:
    """Why a measurement taken `at` is not evidence of the period, or None when it is."""
    if at is None:
        return "measured at no known time"
    if at >= period.end:
        return f"measured after {period.label} ended"
    if at < period.start:
        return f"measured before {period.label} began"
    return None


def _status_rows(status: Measured, scenario: str, period: Period) -> list[dict[str, Any]]:
    """The `backstop status` rows that measure the scenario (report/measured.py's mapping), each with the
    time it was measured (the row's own `askedAt`, else the file's `generatedAt`) and whether that time is
    inside the period."""
    rows = []
    for row in status.for_scenario(scenario):
        evidence = _sub(row, "evidence")
        at = parse_time(evidence.get("askedAt")) or parse_time(status.generated_at)
        rows.append({**brief(row), "measuredAt": _iso(at), "outsidePeriod": _outside(at, period)})
    return rows


def objectives_section(
    scenarios: Sequence[Mapping[str, Any]],
    drill_rpo: Mapping[str, Mapping[str, Any]],
    status: Measured | None,
    status_file: str | None,
    period: Period,
) -> dict[str, Any]:
    """Each scenario's row with what was measured beside what is declared: the data loss (restore-point age)
    of the latest restore drill up to the period's end, which counts like the drill-measured RTO (beyond the
    target, the RPO is missed); and the `backstop status` rows, shown with when they were measured, never
    re-judged (as `backstop report --status` shows them)."""
    rows = []
    for scenario in scenarios:
        row = dict(scenario)
        drill = drill_rpo.get(str(row["scenario"]))
        target = row["rpoTargetSeconds"]
        measured_met = None if drill is None else target is not None and drill["seconds"] <= target
        row.update(
            {
                "rpoMeasuredSeconds": None if drill is None else drill["seconds"],
                "rpoMeasuredDrill": None if drill is None else drill["drillId"],
                "rpoMeasuredAt": None if drill is None else drill["at"],
                "rpoMeasuredMet": measured_met,
            }
        )
        if measured_met is False:
            row["rpoMet"] = row["met"] = False
        row["status"] = [] if status is None else _status_rows(status, str(row["scenario"]), period)
        rows.append(row)
    source = None
    if status is not None:
        at = parse_time(status.generated_at)
        source = {
            "file": status_file,
            "stack": status.stack,
            "generatedAt": _iso(at),
            "outsidePeriod": _outside(at, period),
        }
    return {"scenarios": rows, "status": source}


# --- the document ---------------------------------------------------------------------------------------


def _policy(report: Report) -> dict[str, Any]:
    failed: dict[str, str] = {}
    for violation in report.violations:
        if failed.get(violation.policy) != "mandatory":
            failed[violation.policy] = violation.level
    return {
        "summary": report.summary(),
        "basis": "the stack's program as committed when the bundle was built, run under the SDK mocks",
        # Findings waived in review on the period's last day: not failing, and listed with who and why.
        "waivers": [
            {**(item.waiver or {}), "policy": item.violation.policy, "findingUrn": item.violation.urn}
            for item in report.suppressed
            if item.kind == "waiver"
        ],
        "rules": [
            {
                "id": rule.id,
                "severity": str(rule.severity),
                "status": {"mandatory": "failed", "advisory": "advisory"}.get(
                    failed.get(rule.id, ""), "passed"
                ),
            }
            for rule in sorted(report.rules, key=lambda r: r.id)
        ],
        "violations": [v.as_dict() for v in report.violations],
    }


def _problems(document: dict[str, Any]) -> list[str]:
    """Every reason the period is not clean, the worst first: chain breaks, then missing evidence."""
    label = document["period"]["label"]
    problems = [f"evidence tampered: {s['problem']}" for s in document["stores"] if s["verified"] is False]
    if document["generatedAt"] < document["period"]["end"]:
        problems.append(
            f"incomplete: {label} is not over (it ends {document['period']['end']}); this bundle holds its "
            f"evidence up to {document['generatedAt']} only"
        )
    drills = [d for d in document["drills"]["rows"] if d["inPeriod"]]
    restores = [d for d in drills if d["kind"] == "restore"]
    if not restores:
        problems.append(f"missing evidence: no restore drill in {label} (the seed's quarterly drill)")
    elif not any(d["passed"] for d in restores):
        problems.append(f"no restore drill in {label} passed")
    for d in drills:
        if not d["passed"]:
            problems.append(
                f"{d['kind']} drill {d['drillId']} failed" + (f": {d['error']}" if d["error"] else "")
            )
    grid = document["attestation"]
    if not grid["recordsInPeriod"]:
        problems.append(f"missing evidence: no Tier-2 attestation recorded in {label}")
    for cell in grid["cells"]:
        if cell["status"] == "missing":
            problems.append(
                f"missing evidence: {cell['tenant']} has no Tier-2 attestation in week {cell['week']}"
            )
    for incident in document["incidents"]:
        for name, what in (
            ("notice", "tenant notice (loss + 1 h)"),
            ("record", "incident record (loss + 24 h)"),
        ):
            if incident[f"{name}Status"] == "missed":
                problems.append(
                    f"incident {incident['incidentId']}: {what} due {incident[f'{name}Due']} missed"
                )
    for row in document["objectives"]["scenarios"]:
        if not row["met"]:
            problems.append(f"objective missed: {row['title']}")
    mandatory = document["policy"]["summary"]["mandatory"]
    if mandatory:
        problems.append(f"{mandatory} mandatory policy violation(s)")
    return problems


def build_document(
    *,
    stack: str,
    period: Period,
    now: datetime,
    exports: Mapping[str, list[dict[str, Any]]],
    checks: Sequence[StoreCheck],
    files: Mapping[str, str],
    resources: Sequence[Resource],
    objectives: ObjectivesConfig,
    policy: Report,
    version: str,
    status: Measured | None = None,
    status_file: str | None = None,
) -> dict[str, Any]:
    """The bundle's `evidence.json`: `exports` are the stores' exported entries by collection, `checks`
    their chain verification, `files` where each export is written in the bundle; `status` what a
    `backstop status --format json` file (`status_file`, its name) measured."""
    periods = history(period)
    # Only drill results of an intact chain count: not unchained (legacy) entries, nor future ones.
    drill_store = drill_evidence(exports.get(DRILL_RESULTS_COLLECTION, []), now)
    drills = drill_rows(drill_store.trusted, stack, periods, objectives)
    # The objectives as measured by drills up to the period's end, never by a later one.
    measured_by = [
        r
        for r in drill_store.trusted
        if _drills_stack(r, stack) and (parse_time(r.get("startedAt")) or period.end) < period.end
    ]
    measured = measured_restore_times(measured_by)
    report = derive(resources, objectives, stack=stack, measured=measured)
    objectives_table = objectives_section(
        [s.as_dict() for s in report.scenarios],
        measured_restore_point_ages(measured_by),
        status,
        status_file,
        period,
    )
    document: dict[str, Any] = {
        "kind": "backstop-evidence-bundle",
        "schemaVersion": SCHEMA_VERSION,
        "stack": stack,
        "period": {"label": period.label, "start": _iso(period.start), "end": _iso(period.end)},
        "generatedAt": _iso(now),
        "generator": f"backstop {version}",
        "verdict": {"passed": False, "problems": []},
        "objectives": {
            **objectives_table,
            "measuredBy": {k: v.total_seconds() for k, v in sorted(measured.items())},
        },
        "drills": {
            "periods": [{"label": p.label, "start": _iso(p.start), "end": _iso(p.end)} for p in periods],
            "rows": drills,
        },
        "attestation": attestation_grid(exports.get(AUDIT_COLLECTION, []), stack, period, now),
        "policy": _policy(policy),
        "incidents": incident_rows(exports.get(INCIDENT_COLLECTION, []), stack, period, now),
        "stores": [check.as_dict(files[check.collection]) for check in checks],
    }
    problems = _problems(document)
    problems += [f"drill result not used: {note}" for note in drill_store.future_notes()]
    document["verdict"] = {"passed": not problems, "problems": problems}
    return document
