"""`backstop recover verify`: compare the recovered copy with production and the attested manifest."""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any

from backstop.ground.envelope import json_document
from backstop.ground.errors import EXIT_OK, EXIT_VIOLATIONS
from backstop.ground.logs import progress
from backstop.operations.recover.steps import (
    incident_of,
    latest_manifest,
    recovery_database,
    restore_finished,
)
from backstop.operations.recover.text import shown, terminal_safe
from backstop.restore import runtime

logger = logging.getLogger(__name__)


def cmd_verify(args: argparse.Namespace) -> int:
    from backstop.operations.recover.store import StepLock

    cfg, _ = runtime.stack_configs(args)
    evidence, incident, log = incident_of(args, cfg)
    with StepLock(evidence, incident.incident_id, "verify", runtime.RUNTIME.clock, force=args.break_lock):
        return _verify(args, cfg, evidence, incident, log)


def _verify(args: argparse.Namespace, cfg: Any, evidence: Any, incident: Any, log: Any) -> int:
    from pymongo.errors import PyMongoError

    from backstop.clients.atlas import one_line
    from backstop.operations.recover.diffs import store_diffs
    from backstop.operations.recover.verify import (
        collections_in_scope,
        diff_collection,
        summary_lines,
        verdict_problems,
    )
    from backstop.report.evidence import ENV_SOURCE_URI, env_uri

    say = progress(logger, step="verify", stack=args.stack, incident=incident.incident_id)
    atlas = runtime.atlas_client(say)  # each 429/503 wait on stderr
    if not restore_finished(
        incident,
        log,
        atlas,
        f"backstop recover verify --stack {args.stack} --incident {incident.incident_id}",
    ):
        return EXIT_VIOLATIONS
    recovery_db = recovery_database(incident, atlas)
    manifest, record, broken_chain = latest_manifest(evidence, incident, args.ignore_audit_chain)
    if broken_chain is not None:
        print(
            f"backstop: WARNING: {broken_chain}: the audit log was changed; verifying against production "
            "only, without a manifest (--ignore-audit-chain, recorded in the incident): the verdict cannot "
            "pass without one, a cutover also needs --accept-mismatch REASON",
            file=sys.stderr,
        )
    production_db: Any = runtime.RUNTIME.connect(env_uri(ENV_SOURCE_URI, runtime.RUNTIME.env))[
        incident.database
    ]
    production_note = None
    names = collections_in_scope(recovery_db, incident.collection, manifest)
    try:
        diffs = [diff_collection(recovery_db, production_db, name, manifest) for name in names]
    except PyMongoError as exc:
        if incident.loss not in ("cluster", "region"):
            raise
        production_note = f"production unreachable ({one_line(exc)}): compared with the manifest only"
        diffs = [diff_collection(recovery_db, None, name, manifest) for name in names]
    problems = verdict_problems(diffs, incident.database, manifest)
    accepted = args.accept_mismatch if problems else None
    pointer = store_diffs(
        evidence,
        incident.incident_id,
        [(d.collection, {"missing": d.missing, "changed": d.changed}) for d in diffs],
    )
    log.append(
        "verified",
        verdict={"passed": not problems or accepted is not None, "problems": problems, "accepted": accepted},
        database=incident.database,
        collections=[d.as_document() for d in diffs],
        diffs=pointer,
        manifest=None
        if record is None
        else {
            "auditSequence": record["sequence"],
            "recordHash": record["recordHash"],
            "restorePoint": manifest.as_document()["capturedAt"] if manifest else None,
        },
        production=production_note or "compared",
        auditChain=None if broken_chain is None else {"ignored": True, "broken": broken_chain},
    )
    missing = sum(len(d.missing) for d in diffs)
    changed = sum(len(d.changed) for d in diffs)
    lines = [
        f"# Recovery verify `{incident.incident_id}`: `{shown(incident.database)}`"
        + (f".`{shown(incident.collection)}`" if incident.collection else ""),
        "",
        f"Recovery cluster `{incident.stack_name}` (restored to {incident.plan['restorePoint']['at']}) "
        "against production now and "
        + (
            f"the manifest of `backup_audit_log` #{record['sequence']}"
            if record
            else "no manifest ("
            + ("none attested" if broken_chain is None else "the audit chain is broken, ignored")
            + ")"
        )
        + ".",
        "",
        *summary_lines(diffs),
        "",
    ]
    if production_note:
        lines += [production_note, ""]
    if not problems:
        lines += ["Verdict: PASSED (counts and the manifest sample agree with the attested manifest).", ""]
    else:
        lines += [
            "Verdict: "
            + ("MISMATCH ACCEPTED" if accepted else "FAILED")
            + (
                " (the recovery copy does not match what was attested):"
                if manifest is not None
                else " (nothing attested to verify the recovery copy against):"
            ),
            *[f"- {p}" for p in problems],
            "",
        ]
        if accepted:
            lines += [f"Accepted by the operator: {accepted}", ""]
        else:
            lines += [
                "A cutover is refused until a verify passes (or the mismatch is explained with "
                "--accept-mismatch REASON, which the incident records).",
                "",
            ]
    lines.append(
        f"A cutover would insert {missing} missing document(s) and, with --replace-changed, replace "
        f"{changed} changed one(s); nothing else in production is touched. Written to the incident record."
    )
    if args.format == "json":
        print(
            json_document(
                "recover verify",
                {
                    "incidentId": incident.incident_id,
                    "verdict": {
                        "passed": not problems or accepted is not None,
                        "problems": problems,
                        "accepted": accepted,
                    },
                    "collections": [d.as_document() for d in diffs],
                    "production": production_note or "compared",
                    "auditChain": None if broken_chain is None else {"ignored": True, "broken": broken_chain},
                },
            )
        )
    else:
        print(terminal_safe("\n".join(lines)))
    return EXIT_VIOLATIONS if problems and not accepted else EXIT_OK
