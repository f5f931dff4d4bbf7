"""Step 3 of the runbook: the incident record and the post-mortem.

`build_record` folds the incident's trail in `recovery_log` into one record for `incident_registry`, the
hash-chained, append-only registry the seed's "Incident Response registry" is (the same chain as
`backup_audit_log`, checked by the same code): what was lost and when, when it was detected, the
mechanism, the recovery point and the RPO achieved, the time to restore and the RTO achieved, when tenants
were notified. A notice later than loss + 1 h (or none recorded once that has passed) and a record later
than loss + 24 h are marked missed. Recording again (say, once the notice time is known) appends a new
record that names the one it supersedes; nothing is ever updated.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from backstop.clients.atlas import parse_time
from backstop.ground import seeds
from backstop.ground.documents import utc_iso
from backstop.operations.recover.plan import rpo_met as plan_rpo_met
from backstop.operations.recover.store import (
    INCIDENT_REGISTRY,
    RECOVERY_LOG,
    Incident,
    IncidentLog,
    trail_hash,
)
from backstop.restore.common import duration_text

RECORD_KIND = "incident"


def _seconds(value: timedelta | None) -> float | None:
    return None if value is None else value.total_seconds()


@dataclass(frozen=True)
class IncidentRecord:
    document: dict[str, Any]

    @property
    def missed(self) -> list[str]:
        missed: list[str] = self.document["missed"]
        return missed


def _count(listed: Any) -> int:
    """A `verified` step's count (its lists live in `recovery_diffs`); an older step kept the list."""
    return len(listed) if isinstance(listed, list) else int(listed)


def build_record(
    incident: Incident,
    log: IncidentLog,
    *,
    now: datetime,
    tenants_notified_at: datetime | None,
    previous: dict[str, Any] | None,
) -> IncidentRecord:
    plan = incident.plan
    events = log.events()
    loss_at = parse_time(plan["loss"]["at"])
    detected = parse_time(plan["loss"]["detectedAt"])
    assert loss_at is not None and detected is not None
    notified = tenants_notified_at
    if notified is None and previous is not None:
        notified = parse_time(previous.get("tenantsNotifiedAt"))
    point = parse_time(plan["restorePoint"]["at"])
    assert point is not None
    finished = log.last("restore-finished")
    restored_at = parse_time(finished.get("finishedAt")) if finished else None
    # RTO ends at the first cutover that wrote something (a later rerun that finds everything in place, or
    # replaces a document with --replace-changed, does not move it); else at the last one.
    completed = log.steps("cutover-completed")
    wrote = [c for c in completed if any(n.get("inserted") or n.get("replaced") for n in c["collections"])]
    cutover = wrote[0] if wrote else (completed[-1] if completed else None)
    switch = log.last("cutover-switch")
    recovered_at: datetime | None = None
    recovered_by = "not recovered yet"
    if cutover is not None:
        recovered_at, recovered_by = parse_time(cutover["at"]), "cutover completed"
    elif switch is not None:
        recovered_at, recovered_by = parse_time(switch["at"]), "connection target switched"
    rto_target = timedelta(seconds=float(plan["expectedTimeToRestore"]["rtoSeconds"]))
    rpo_target = timedelta(seconds=float(plan["restorePoint"]["rpoSeconds"]))
    rto_achieved = recovered_at - loss_at if recovered_at else None
    data_lost = max(loss_at - point, timedelta(0))
    notice_due = loss_at + seeds.TENANT_NOTICE_DEADLINE
    record_due = loss_at + seeds.INCIDENT_RECORD_DEADLINE

    missed: list[str] = []
    if notified is not None:
        notice = "met" if notified <= notice_due else "missed"
    else:
        notice = "missed" if now > notice_due else "pending"
    if notice == "missed":
        late = f"notified {utc_iso(notified)}" if notified else "no notice recorded"
        missed.append(f"tenant notice due {utc_iso(notice_due)} (loss + 1 h): {late}")
    record_status = "met" if now <= record_due else "missed"
    if record_status == "missed":
        missed.append(f"incident record due {utc_iso(record_due)} (loss + 24 h): recorded {utc_iso(now)}")
    rpo_met = plan_rpo_met(data_lost, rpo_target, str(plan["mechanism"]["restoreMode"]))
    if not rpo_met:
        missed.append(f"RPO: {duration_text(data_lost)} of data lost, target {duration_text(rpo_target)}")
    rto_met = None if rto_achieved is None else rto_achieved <= rto_target
    if rto_met is False:
        missed.append(
            f"RTO: recovered {duration_text(rto_achieved)} after the loss, target {duration_text(rto_target)}"
        )

    if recovered_at is None:
        missed.append(
            "not recovered: no cutover was executed (the recovery cluster was never written back or swapped "
            "in); record again once it is"
        )

    verified = log.last("verified")
    document: dict[str, Any] = {
        "outcome": "recovered" if recovered_at is not None else "not cut over",
        "kind": RECORD_KIND,
        "incidentId": incident.incident_id,
        "stack": incident.stack,
        "recordedAt": utc_iso(now),
        "lost": {
            "type": incident.loss,
            "database": incident.database,
            "collection": incident.collection,
            "at": utc_iso(loss_at),
        },
        "detectedAt": utc_iso(detected),
        "mechanism": plan["mechanism"],
        "recoveryPoint": utc_iso(point),
        "snapshot": plan["restorePoint"]["snapshot"],
        "rpo": {
            "achievedSeconds": data_lost.total_seconds(),
            "targetSeconds": _seconds(rpo_target),
            "met": rpo_met,
        },
        "restore": {
            "jobId": finished.get("jobId") if finished else None,
            "finishedAt": utc_iso(restored_at) if restored_at else None,
            "timeToRestoreSeconds": finished.get("timeToRestoreSeconds") if finished else None,
        },
        "rto": {
            "achievedSeconds": _seconds(rto_achieved),
            "targetSeconds": _seconds(rto_target),
            "met": rto_met,
            "basis": f"loss → {recovered_by}",
        },
        "recoveryCluster": {
            "stackName": incident.stack_name,
            "projectId": incident.recovery["projectId"],
            "expiresAt": incident.recovery["expiresAt"],
        },
        "verification": None
        if verified is None
        else [
            {
                "collection": c["collection"],
                "counts": c["counts"],
                "missingInProduction": _count(c["missingInProduction"]),
                "changedInProduction": _count(c["changedInProduction"]),
            }
            for c in verified["collections"]
        ],
        "cutover": None
        if cutover is None and switch is None
        else {k: v for k, v in (cutover or switch or {}).items() if k not in {"incidentId", "sequence"}},
        "tenantsNotifiedAt": utc_iso(notified) if notified else None,
        "deadlines": {
            "tenantNotice": {"due": utc_iso(notice_due), "status": notice},
            "incidentRecord": {"due": utc_iso(record_due), "status": record_status},
        },
        "missed": missed,
        "trail": {"collection": RECOVERY_LOG, "steps": len(events), "sha256": trail_hash(events)},
        "supersedes": None if previous is None else previous.get("sequence"),
    }
    return IncidentRecord(document)


def postmortem_markdown(record: dict[str, Any], events: list[dict[str, Any]]) -> str:
    lost = record["lost"]
    what = f"`{lost['database']}`" + (f".`{lost['collection']}`" if lost.get("collection") else "")

    def secs(value: Any) -> str:
        return "n/a" if value is None else duration_text(timedelta(seconds=float(value)))

    def verdict(value: Any) -> str:
        return {True: "met", False: "**MISSED**", None: "not measured"}[value]

    rows = [
        ("incident", f"`{record['incidentId']}` (stack {record['stack']})"),
        ("lost", f"{lost['type']} loss in {what} at {lost['at']}"),
        ("detected", record["detectedAt"]),
        ("outcome", record.get("outcome", "recovered")),
        ("mechanism", f"{record['mechanism']['description']} ({record['mechanism']['restoreMode']})"),
        ("recovery point", record["recoveryPoint"]),
        (
            "RPO",
            f"{secs(record['rpo']['achievedSeconds'])} lost, target {secs(record['rpo']['targetSeconds'])}: "
            f"{verdict(record['rpo']['met'])}",
        ),
        ("time to restore", secs(record["restore"]["timeToRestoreSeconds"])),
        (
            "RTO",
            f"{secs(record['rto']['achievedSeconds'])} ({record['rto']['basis']}), target "
            f"{secs(record['rto']['targetSeconds'])}: {verdict(record['rto']['met'])}",
        ),
        (
            "tenants notified",
            f"{record['tenantsNotifiedAt'] or 'not recorded'} (due "
            f"{record['deadlines']['tenantNotice']['due']}: {record['deadlines']['tenantNotice']['status']})",
        ),
        (
            "incident recorded",
            f"{record['recordedAt']} (due {record['deadlines']['incidentRecord']['due']}: "
            f"{record['deadlines']['incidentRecord']['status']})",
        ),
        (
            "registry",
            f"`{INCIDENT_REGISTRY}` #{record.get('sequence')} `{str(record.get('recordHash', ''))[:12]}`",
        ),
    ]
    lines = [
        f"# Post-mortem: {lost['type']} loss in {what} ({record['incidentId']})",
        "",
        "| | |",
        "|---|---|",
    ]
    lines += [f"| {key} | {value} |" for key, value in rows]
    if record["missed"]:
        lines += ["", "## Missed", ""] + [f"- {item}" for item in record["missed"]]
    lines += ["", "## Timeline (from `recovery_log`)", "", "| at | step |", "|---|---|"]
    lines += [f"| {e['at']} | {e['step']} |" for e in events]
    lines += [
        "",
        "## What happened",
        "",
        "_To write: the cause of the loss, how it was detected, who did what._",
        "",
        "## Impact",
        "",
        "_To write: affected tenants, data not recovered (see RPO above), duration of the impact._",
        "",
        "## Follow-ups (runbook step 3)",
        "",
        "- [ ] Update the Risk Assessment if this is a new failure mode",
        "- [ ] Customer comms: status page banner",
        "- [ ] Customer comms: email to affected tenants",
        f"- [ ] Remove the recovery cluster: `backstop recover cleanup --incident {record['incidentId']}`",
        "",
    ]
    return "\n".join(lines)
