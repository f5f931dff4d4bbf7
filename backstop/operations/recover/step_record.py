"""`backstop recover record` and `recover verify-registry`: the incident's record and its chain."""

from __future__ import annotations

import argparse
import json
import sys

from backstop.ground.envelope import json_document
from backstop.ground.errors import EXIT_OK, EXIT_VIOLATIONS
from backstop.operations.recover.steps import incident_of
from backstop.operations.recover.text import terminal_safe
from backstop.restore import runtime


def cmd_record(args: argparse.Namespace) -> int:
    from backstop.ground.files import write_output
    from backstop.operations.recover.plan import parse_when
    from backstop.operations.recover.record import build_record, postmortem_markdown
    from backstop.operations.recover.store import INCIDENT_REGISTRY, ensure_log_indexes
    from backstop.report.evidence import EvidenceError, append_record, verify_chain

    cfg, _ = runtime.stack_configs(args)
    notified = (
        parse_when(args.tenants_notified_at, "--tenants-notified-at", now=runtime.RUNTIME.clock())
        if args.tenants_notified_at
        else None
    )
    evidence, incident, log = incident_of(args, cfg)
    registry = evidence[INCIDENT_REGISTRY]
    chain = verify_chain(registry, name=INCIDENT_REGISTRY, label="incidentId")
    if chain.broken is not None:
        raise EvidenceError(f"{chain.broken.line()}; not appending (the registry was changed)")
    ensure_log_indexes(evidence)
    previous = next(
        iter(registry.find({"incidentId": incident.incident_id}, {"_id": 0}).sort("sequence", -1).limit(1)),
        None,
    )
    record = build_record(
        incident, log, now=runtime.RUNTIME.clock(), tenants_notified_at=notified, previous=previous
    )
    linked = append_record(registry, record.document, previous=chain)
    text = postmortem_markdown(linked, log.events())
    write_output(args.postmortem, text)
    if args.format == "json":
        print(json_document("recover record", {k: v for k, v in linked.items() if k != "_id"}))
    else:
        print(terminal_safe(text.rstrip()))
        print(f"\n{INCIDENT_REGISTRY} head: #{linked['sequence']} {linked['recordHash']}")
    if args.result_json:
        write_output(
            args.result_json,
            json.dumps({k: v for k, v in linked.items() if k != "_id"}, indent=2, default=str) + "\n",
        )
    return EXIT_VIOLATIONS if record.missed else EXIT_OK


def cmd_verify_registry(args: argparse.Namespace) -> int:
    """`incident_registry`'s chain, as `audit verify` checks `backup_audit_log`'s (with `--head`)."""
    from backstop.operations.recover.store import INCIDENT_REGISTRY
    from backstop.report.evidence import verify_chain

    cfg, _ = runtime.stack_configs(args)
    evidence = runtime.evidence_database(cfg)
    status = verify_chain(
        evidence[INCIDENT_REGISTRY], expected_head=args.head, name=INCIDENT_REGISTRY, label="incidentId"
    )
    if args.format == "json":
        print(json_document("recover verify-registry", status.as_dict(INCIDENT_REGISTRY)))
    if status.broken is not None:
        print(f"backstop: TAMPERED: {terminal_safe(status.broken.line())}", file=sys.stderr)
        if args.format == "json":
            return EXIT_VIOLATIONS
        print(f"FAILED: {INCIDENT_REGISTRY} chain broken at record #{status.broken.sequence}")
        return EXIT_VIOLATIONS
    if args.format == "json":
        return EXIT_OK
    print(
        f"PASSED: {INCIDENT_REGISTRY} chain intact, {status.records} record(s), head "
        f"#{status.head_sequence} {status.head_hash}"
    )
    return EXIT_OK
