"""`backstop recover status`: where every incident stands, read from `recovery_log`, `incident_registry`
and the recovery stacks: the steps done, the next command, the runbook's deadlines with what is left of
them, and each recovery cluster as serving production, kept until its expiry, or orphaned (a recovery stack
no incident opened)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from backstop.clients.atlas import parse_time
from backstop.ground import seeds
from backstop.ground.documents import utc_iso
from backstop.ground.envelope import json_document
from backstop.operations.recover.store import INCIDENT_REGISTRY, RECOVERY_LOG
from backstop.operations.recover.text import shown
from backstop.restore.common import duration_text


def next_command(stack: str, incident_id: str, steps: list[dict[str, Any]], recorded: bool) -> str | None:
    """The runbook's next command for an incident whose trail is `steps`."""
    done = {s["step"] for s in steps}
    args = f"--stack {stack} --incident {incident_id}"
    verified = [s for s in steps if s["step"] == "verified"]
    if "restore-finished" not in done:
        if "restore-requested" in done:
            return f"backstop recover verify {args}"  # picks up a job that finished meanwhile
        if "refused" in done:
            return f"backstop recover cleanup {args}"
        return f"backstop recover restore {args}"
    if not verified or (verified[-1].get("verdict") or {}).get("passed") is not True:
        return f"backstop recover verify {args}"
    if not done & {"cutover-completed", "cutover-switch"}:
        return f"backstop recover cutover {args}"
    if not recorded:
        return f"backstop recover record {args}"
    return None


def _due(when: datetime, now: datetime, done: bool) -> dict[str, Any]:
    left = when - now
    return {
        "due": utc_iso(when),
        "done": done,
        "leftSeconds": left.total_seconds(),
        "text": "done"
        if done
        else (f"in {duration_text(left)}" if left >= timedelta(0) else f"OVERDUE by {duration_text(-left)}"),
    }


def gather(
    evidence: Any,
    *,
    now: datetime,
    stacks: list[str],
    serving: Callable[[str], list[str]],
    only: str | None = None,
) -> dict[str, Any]:
    """Every incident (or `only`), and every recovery stack with what it is."""
    log = evidence[RECOVERY_LOG]
    query: dict[str, Any] = {"step": "opened"} if only is None else {"step": "opened", "incidentId": only}
    incidents = []
    known: set[str] = set()
    for opened in log.find(query, {"_id": 0}).sort("at", 1):
        incident_id = str(opened["incidentId"])
        plan = opened["plan"]
        steps = list(
            log.find({"incidentId": incident_id}, {"_id": 0, "step": 1, "at": 1, "verdict": 1}).sort(
                "sequence", 1
            )
        )
        recorded = evidence[INCIDENT_REGISTRY].find_one({"incidentId": incident_id}) is not None
        loss_at = parse_time(plan["loss"]["at"])
        assert loss_at is not None
        notified = evidence[INCIDENT_REGISTRY].find_one(
            {"incidentId": incident_id, "tenantsNotifiedAt": {"$ne": None}}
        )
        name = str(opened["recovery"]["stackName"])
        known.add(name)
        expires = parse_time(opened["recovery"].get("expiresAt"))
        reasons = serving(name)
        present = name in stacks
        incidents.append(
            {
                "incidentId": incident_id,
                "stack": plan["stack"],
                "loss": plan["loss"],
                "steps": [s["step"] for s in steps],
                "next": next_command(str(plan["stack"]), incident_id, steps, recorded),
                "deadlines": {
                    "tenantNotice": _due(loss_at + seeds.TENANT_NOTICE_DEADLINE, now, notified is not None),
                    "incidentRecord": _due(loss_at + seeds.INCIDENT_RECORD_DEADLINE, now, recorded),
                },
                "cluster": {
                    "name": name,
                    "state": ("serving" if reasons else "kept") if present else "removed",
                    "keptUntil": utc_iso(expires) if expires else None,
                    "serving": reasons,
                },
            }
        )
    orphans = [] if only is not None else sorted(s for s in stacks if s not in known)
    return {
        "now": utc_iso(now),
        "incidents": incidents,
        "orphanedClusters": [{"name": n, "serving": serving(n)} for n in orphans],
    }


def as_text(status: Mapping[str, Any]) -> str:
    lines = [f"# Recovery status at {status['now']}", ""]
    if not status["incidents"]:
        lines += ["No incidents in recovery_log.", ""]
    for item in status["incidents"]:
        loss = item["loss"]
        what = loss["database"] + (f".{loss['collection']}" if loss.get("collection") else "")
        cluster = item["cluster"]
        where = {
            "serving": "SERVING PRODUCTION (" + "; ".join(cluster["serving"]) + ")",
            "kept": f"kept until {cluster['keptUntil']}",
            "removed": "removed",
        }[cluster["state"]]
        notice, record = item["deadlines"]["tenantNotice"], item["deadlines"]["incidentRecord"]
        lines += [
            f"## {item['incidentId']}: {loss['type']} loss in {shown(what)} at {loss['at']} "
            f"(stack {item['stack']})",
            "",
            f"- steps: {', '.join(item['steps'])}",
            f"- tenant notice due {notice['due']}: {notice['text']}",
            f"- incident record due {record['due']}: {record['text']}",
            f"- recovery cluster {cluster['name']}: {where}",
            f"- next: {item['next'] or 'nothing (recorded; remove the cluster when it is no longer needed)'}",
            "",
        ]
    for orphan in status["orphanedClusters"]:
        lines.append(
            f"- orphaned recovery cluster {orphan['name']} (no incident opened it)"
            + (f": SERVING PRODUCTION ({'; '.join(orphan['serving'])})" if orphan["serving"] else "")
        )
    return "\n".join(lines).rstrip() + "\n"


def as_json(status: Mapping[str, Any]) -> str:
    return json_document("recover status", status)
