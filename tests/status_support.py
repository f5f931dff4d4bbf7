"""Shared pieces of the `backstop status` tests: a clock, stack exports of chosen resources, the evidence
store in mongomock, and running the command in-process against the local fakes."""

from __future__ import annotations

import io
import json
from collections.abc import Mapping, Sequence
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import mongomock

from backstop.cli import main
from backstop.ground import tokens
from backstop.ground.documents import utc_iso
from backstop.ground.resources import Resource
from backstop.operations.status import commands
from backstop.report.evidence import append_drill_result
from tests.policy_support import to_export

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
GROUP = "81b5028d12e2c250fcb898ca"
CLUSTER = "cartie-prod"
EVIDENCE_URI = "mongodb://evidence.example:27017"


def urn(kind: str, name: str) -> str:
    return f"urn:pulumi:prod::backstop::{kind}::{name}"


def atlas_cluster(name: str = CLUSTER, group: str = GROUP) -> Resource:
    return Resource.build(
        urn=urn(tokens.ATLAS_ADVANCED_CLUSTER, f"atlas-{name}"),
        type=tokens.ATLAS_ADVANCED_CLUSTER,
        props={"projectId": group, "name": name, "backupEnabled": True, "pitEnabled": True},
        id="32b3b70b3734b03985ed66ea",
    )


def write_export(directory: Path, resources: Sequence[Resource]) -> Path:
    path = directory / "prod.export.json"
    path.write_text(json.dumps(to_export(list(resources))), encoding="utf-8")
    return path


def evidence_store(
    *,
    audit_age: timedelta | None = timedelta(days=2),
    drill_age: timedelta | None = timedelta(days=30),
    now: datetime = NOW,
) -> Any:
    """A mongomock client whose `backstop` database holds an attestation and a drill result of these ages."""
    client = mongomock.MongoClient()
    database = client["backstop"]
    if audit_age is not None:
        database["backup_audit_log"].insert_one(
            {"sequence": 1, "recordedAt": utc_iso(now - audit_age), "tenantDatabase": "tenant_a"}
        )
    if drill_age is not None:
        append_drill_result(
            database,
            {"drillId": "d1", "finishedAt": utc_iso(now - drill_age), "tenantDatabase": "tenant_a"},
            now=now,
        )
    return client


@dataclass
class Outcome:
    code: int
    stdout: str
    stderr: str

    def json(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.stdout)
        return loaded

    def rows(self) -> dict[tuple[str, str], dict[str, Any]]:
        return {(row["objective"], row["resource"]): row for row in self.json()["rows"]}


def run_status(
    monkeypatch: Any,
    export: Path,
    environ: Mapping[str, str],
    *,
    evidence: Any = None,
    fmt: str = "json",
    extra: Sequence[str] = (),
    sleeps: list[float] | None = None,
    now: datetime = NOW,
    health_probe: Any = None,
) -> Outcome:
    """`backstop status --stack prod --state EXPORT` in-process, against the fakes in `environ`."""
    store = evidence if evidence is not None else evidence_store(now=now)
    env = {"BACKSTOP_EVIDENCE_MONGODB_URI": EVIDENCE_URI, **environ}
    recorded = sleeps if sleeps is not None else []
    runtime = commands.Runtime(
        environ=env,
        clock=lambda: now,
        sleep=recorded.append,
        connect_evidence=lambda uri: store,
        health_probe=health_probe,
    )
    monkeypatch.setattr(commands, "RUNTIME", runtime)
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(
            [
                "status",
                "--stack",
                "prod",
                "--state",
                str(export),
                "--format",
                fmt,
                "--project-dir",
                str(export.parent),
                *extra,
            ]
        )
    return Outcome(code, out.getvalue(), err.getvalue())
