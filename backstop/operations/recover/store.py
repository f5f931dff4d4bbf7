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
from backstop.report.evidence import (
    GENESIS_HASH,
    INCIDENT_REGISTRY,
    RECOVERY_LOG,
    EvidenceError,
    record_hash,
)


class IncidentLog:
    """Append-only steps of one incident, numbered per incident (a unique index refuses a fork) and
    hash-chained per incident like `backup_audit_log`, so an edited step (a `verified` list naming another
    collection, a removed `cutover-switch`) is refused instead of acted on."""

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
            "previousHash": str(last[0].get("recordHash", "")) if last else GENESIS_HASH,
        }
        document["recordHash"] = record_hash(document)
        self.collection.insert_one(dict(document))
        return document

    def verify(self) -> None:
        """Refuse a trail that was changed after writing: every step's hash and its link to the one before."""
        previous = GENESIS_HASH
        for expected, event in enumerate(
            self.collection.find({"incidentId": self.incident_id}).sort("sequence", 1), start=1
        ):
            where = f"{RECOVERY_LOG} step #{event.get('sequence')} of incident {self.incident_id}"
            if event.get("sequence") != expected:
                raise EvidenceError(f"{where}: expected #{expected} (a step was removed or inserted)")
            if record_hash(event) != event.get("recordHash"):
                raise EvidenceError(
                    f"{where}: its content does not match its recordHash (changed after writing)"
                )
            if event.get("previousHash") != previous:
                raise EvidenceError(
                    f"{where}: previousHash does not match the step before it (removed or moved)"
                )
            previous = str(event["recordHash"])

    def events(self) -> list[dict[str, Any]]:
        return list(
            self.collection.find(
                {"incidentId": self.incident_id}, {"_id": 0, "previousHash": 0, "recordHash": 0}
            ).sort("sequence", 1)
        )

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
    log.verify()
    return Incident(incident_id, opened), log


def incident_for_loss(evidence: Any, stack: str, loss: dict[str, Any]) -> str | None:
    """The newest incident opened for the same loss (stack, type, database, collection, time) whose restore
    did not fail or get refused: what a rerun of `recover restore` resumes (or finds finished)."""
    collection = evidence[RECOVERY_LOG]
    query = {
        "step": "opened",
        "plan.stack": stack,
        "plan.loss.type": loss["type"],
        "plan.loss.database": loss["database"],
        "plan.loss.collection": loss.get("collection"),
        "plan.loss.at": loss["at"],
    }
    for opened in collection.find(query, {"incidentId": 1}).sort("at", -1):
        incident_id = str(opened["incidentId"])
        dead = collection.find_one(
            {
                "incidentId": incident_id,
                "$or": [
                    {"step": "refused"},
                    {"step": "restore-ended", "state": {"$nin": ["running", "finished"]}},
                ],
            }
        )
        if dead is None:
            return incident_id
    return None


RECOVERY_LOCKS = "recovery_locks"


class StepLock:
    """One `recover restore|verify|cutover` of an incident at a time: a document whose `_id` names the
    incident and step, inserted before the step starts and removed when it ends (however it ends). A
    second run finds it and stops in one line, before reading or writing anything. A lock left by a killed
    process is broken with `--break-lock`, never by a timeout (a long cutover must keep it)."""

    def __init__(
        self,
        evidence: Any,
        incident_id: str,
        step: str,
        clock: Callable[[], datetime],
        *,
        force: bool = False,
    ) -> None:
        import os
        import socket

        self.collection = evidence[RECOVERY_LOCKS]
        self.key = f"{incident_id}:{step}"
        self.incident_id, self.step, self.force = incident_id, step, force
        self.holder = {"host": socket.gethostname(), "pid": os.getpid(), "since": utc_iso(clock())}

    def __enter__(self) -> StepLock:
        from pymongo.errors import DuplicateKeyError

        if self.force:
            self.collection.delete_one({"_id": self.key})
        try:
            self.collection.insert_one({"_id": self.key, **self.holder})
        except DuplicateKeyError:
            held = self.collection.find_one({"_id": self.key}) or {}
            raise EvidenceError(
                f"incident {self.incident_id}: another `backstop recover {self.step}` has held its lock "
                f"since {held.get('since')} ({held.get('host')}, pid {held.get('pid')}); nothing was done "
                "(if that process is gone, run again with --break-lock)"
            ) from None
        return self

    def __exit__(self, *exc: object) -> None:
        self.collection.delete_one({"_id": self.key, **self.holder})
