"""Operations objectives, read from the evidence store (`backstop:drill.evidenceDatabase`).

- `audit-log-age`: the newest `backup_audit_log` record against the weekly Tier 2 attestation (7 days).
- `drill-age`: the newest `backup_drill_results` entry of an intact hash chain against the quarterly
  restoration drill (unchained, forged or future entries are never the last drill).
- `incident-tenant-notice` / `incident-record`: each incident `backstop recover` opened and has not yet
  recorded, against its 1 h tenant notice and 24 h registry deadlines (the runbook's Step 2 and Step 3).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from backstop.clients.atlas import parse_time
from backstop.ground import seeds
from backstop.operations.status.probe import Objective, Probe
from backstop.operations.status.rows import Evidence, Row, duration
from backstop.report.evidence import (
    AUDIT_COLLECTION,
    DRILL_RESULTS_COLLECTION,
    INCIDENT_REGISTRY,
    RECOVERY_LOG,
    read_drill_results,
)

RESOURCE = "evidence"


def _age_row(
    database: Any,
    collection: str,
    field: str,
    objective: str,
    limit: timedelta,
    basis: str,
    what: str,
    now: datetime,
) -> Row:
    call = f"MongoDB find {database.name}.{collection} sort {field} -1 limit 1"
    target = f"≤ {duration(limit)}"
    newest = list(database[collection].find({}, {field: 1}).sort(field, -1).limit(1))
    stamp = parse_time(newest[0].get(field)) if newest else None
    evidence = Evidence(call, stamp, now)
    if stamp is None:
        return Row(
            objective,
            f"{RESOURCE}:{collection}",
            "breach",
            target,
            measured="none",
            reason=f"no {what} in {collection}",
            evidence=evidence,
            basis=basis,
        )
    age = now - stamp
    ok = age <= limit
    return Row(
        objective,
        f"{RESOURCE}:{collection}",
        "ok" if ok else "breach",
        target,
        measured=duration(age),
        seconds=age.total_seconds(),
        reason="" if ok else f"the newest {what} is from {stamp:%Y-%m-%d %H:%M} UTC, {duration(age)} ago",
        evidence=evidence,
        basis=basis,
    )


def _drill_row(database: Any, now: datetime) -> Row:
    """`drill-age` from the newest drill result of an intact `backup_drill_results` chain: an entry
    inserted by hand, unchained (legacy) or finished in the future is not the last drill."""
    objective, limit = "drill-age", seeds.DRILL_MAX_AGE
    basis = f"{seeds.SEED_BACKUP}: quarterly restoration drill"
    call = f"MongoDB find {database.name}.{DRILL_RESULTS_COLLECTION} (hash chain verified)"
    target = f"≤ {duration(limit)}"
    drills = read_drill_results(database, now)
    stamps = [s for s in (parse_time(e.get("finishedAt")) for e in drills.trusted) if s is not None]
    stamp = max(stamps, default=None)
    evidence = Evidence(call, stamp, now)
    notes = drills.notes()
    if stamp is None:
        return Row(
            objective,
            f"{RESOURCE}:{DRILL_RESULTS_COLLECTION}",
            "breach",
            target,
            measured="none",
            reason=notes[0] if notes else f"no drill result in {DRILL_RESULTS_COLLECTION}",
            evidence=evidence,
            basis=basis,
        )
    age = now - stamp
    ok = age <= limit
    reason = "" if ok else f"the newest drill result is from {stamp:%Y-%m-%d %H:%M} UTC, {duration(age)} ago"
    return Row(
        objective,
        f"{RESOURCE}:{DRILL_RESULTS_COLLECTION}",
        "ok" if ok else "breach",
        target,
        measured=duration(age),
        seconds=age.total_seconds(),
        reason="; ".join([reason, *notes] if reason else notes),
        evidence=evidence,
        basis=basis,
    )


def measure(database: Any, now: datetime) -> list[Row]:
    rows = [
        _age_row(
            database,
            AUDIT_COLLECTION,
            "recordedAt",
            "audit-log-age",
            seeds.AUDIT_MAX_AGE,
            f"{seeds.SEED_BACKUP}: Tier 2 weekly attestation",
            "attestation",
            now,
        ),
        _drill_row(database, now),
    ]
    recorded = {r.get("incidentId") for r in database[INCIDENT_REGISTRY].find({}, {"incidentId": 1})}
    call = f"MongoDB find {database.name}.{RECOVERY_LOG} step=opened"
    for opened in database[RECOVERY_LOG].find({"step": "opened"}).sort("at", 1):
        incident = str(opened.get("incidentId"))
        if incident in recorded:
            continue
        deadlines = (opened.get("plan") or {}).get("deadlines") or {}
        for objective, key, limit, what in (
            ("incident-tenant-notice", "tenantNotice", seeds.TENANT_NOTICE_DEADLINE, "tenant notice"),
            ("incident-record", "incidentRecord", seeds.INCIDENT_RECORD_DEADLINE, "incident record"),
        ):
            due = parse_time(deadlines.get(key))
            target = f"{what} within {duration(limit)} of the loss"
            basis = f"{seeds.SEED_BACKUP}: operator emergency runbook"
            if due is None:
                rows.append(
                    Row(
                        objective,
                        f"incident:{incident}",
                        "unknown",
                        target,
                        reason=f"the incident's plan has no {key} deadline",
                        basis=basis,
                    )
                )
                continue
            late = now - due
            rows.append(
                Row(
                    objective,
                    f"incident:{incident}",
                    "breach" if late > timedelta(0) else "ok",
                    target,
                    measured=f"open, due {due:%Y-%m-%d %H:%M} UTC",
                    seconds=late.total_seconds(),
                    reason=f"open {duration(late)} past its {what} deadline, not in {INCIDENT_REGISTRY}"
                    if late > timedelta(0)
                    else "",
                    evidence=Evidence(call, due, now),
                    basis=basis,
                )
            )
    return rows


def probes(database: Callable[[], Any], now: Callable[[], datetime]) -> list[Probe]:
    objectives = (
        Objective("audit-log-age", f"{RESOURCE}:{AUDIT_COLLECTION}", f"≤ {duration(seeds.AUDIT_MAX_AGE)}"),
        Objective(
            "drill-age", f"{RESOURCE}:{DRILL_RESULTS_COLLECTION}", f"≤ {duration(seeds.DRILL_MAX_AGE)}"
        ),
    )
    return [Probe("evidence", RESOURCE, objectives, lambda: measure(database(), now()))]
