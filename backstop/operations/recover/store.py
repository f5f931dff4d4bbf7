"""The incident's trail in the evidence store: `recovery_log` (each step as it happens) and
`incident_registry` (the hash-chained incident records, like `backup_audit_log`).

Every command of `backstop recover` appends to `recovery_log`, never updates or deletes: the plan and the
recovery cluster when the incident is opened, each restore step, the verification's findings, the
pre-cutover snapshot, every cutover write with its counts. `recover record` folds the trail into one
record of `incident_registry`, whose chain `verify_chain` checks exactly as it checks the audit log.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from backstop.ground.documents import canonical_json, utc_iso
from backstop.report.evidence import EvidenceError

RECOVERY_LOG = "recovery_log"
INCIDENT_REGISTRY = "incident_registry"


class IncidentLog:
    """Append-only steps of one incident, numbered per incident (a unique index refuses a fork)."""

    def __init__(self, evidence: Any, incident_id: str, clock: Callable[[], datetime]) -> None:
        self.collection = evidence[RECOVERY_LOG]
        self.incident_id = incident_id
        self.clock = clock

    def append(self, step: str, **details: Any) -> dict[str, Any]:
        last = list(self.collection.find({"incidentId": self.incident_id}).sort("sequence", -1).limit(1))
        sequence = int(last[0]["sequence"]) + 1 if last else 1
        document = {
            "incidentId": self.incident_id,
            "sequence": sequence,
            "step": step,
            "at": utc_iso(self.clock()),
            **details,
        }
        self.collection.insert_one(dict(document))
        return document

    def events(self) -> list[dict[str, Any]]:
        return list(self.collection.find({"incidentId": self.incident_id}, {"_id": 0}).sort("sequence", 1))

    def steps(self, step: str) -> list[dict[str, Any]]:
        return [e for e in self.events() if e["step"] == step]

    def last(self, step: str) -> dict[str, Any] | None:
        found = self.steps(step)
        return found[-1] if found else None


def ensure_log_indexes(evidence: Any) -> None:
    evidence[RECOVERY_LOG].create_index([("incidentId", 1), ("sequence", 1)], unique=True)
    evidence[INCIDENT_REGISTRY].create_index("sequence", unique=True)


def trail_hash(events: list[dict[str, Any]]) -> str:
    """SHA-256 of the incident's steps as recorded, so the registry record pins the trail it summarizes."""
    return hashlib.sha256(canonical_json(events, sort_keys=True).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Incident:
    """What `recover restore` opened: the plan, the recovery cluster and its reader."""

    incident_id: str
    opened: dict[str, Any]

    @property
    def plan(self) -> dict[str, Any]:
        plan: dict[str, Any] = self.opened["plan"]
        return plan

    @property
    def loss(self) -> str:
        return str(self.plan["loss"]["type"])

    @property
    def database(self) -> str:
        return str(self.plan["loss"]["database"])

    @property
    def collection(self) -> str | None:
        value = self.plan["loss"].get("collection")
        return str(value) if value else None

    @property
    def stack(self) -> str:
        return str(self.plan["stack"])

    @property
    def recovery(self) -> dict[str, Any]:
        recovery: dict[str, Any] = self.opened["recovery"]
        return recovery

    @property
    def stack_name(self) -> str:
        return str(self.recovery["stackName"])


def load_incident(
    evidence: Any, incident_id: str, clock: Callable[[], datetime]
) -> tuple[Incident, IncidentLog]:
    log = IncidentLog(evidence, incident_id, clock)
    opened = log.last("opened")
    if opened is None:
        raise EvidenceError(
            f"{RECOVERY_LOG}: no incident {incident_id} (the id `backstop recover restore` printed)"
        )
    return Incident(incident_id, opened), log
