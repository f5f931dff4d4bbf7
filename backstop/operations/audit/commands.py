"""`backstop audit` and `backstop audit verify`: the seed's weekly Tier-2 attestation, and its chain check."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from typing import Any

from backstop.ground.envelope import json_document
from backstop.ground.errors import EXIT_OK, EXIT_VIOLATIONS
from backstop.ground.files import write_output
from backstop.ground.logs import progress
from backstop.restore import runtime
from backstop.restore.runtime import (
    atlas_client,
    common_arguments,
    evidence_database,
    one_line_mongo_errors,
    stack_configs,
)

logger = logging.getLogger(__name__)


def _cmd_audit(args: argparse.Namespace) -> int:
    from backstop.operations.audit.run import run_audit
    from backstop.report.evidence import ENV_SOURCE_URI, env_uri

    cfg, _ = stack_configs(args)
    say = progress(logger, step="audit", stack=args.stack)
    atlas = atlas_client(say)
    source_uri = env_uri(ENV_SOURCE_URI, runtime.RUNTIME.env)
    evidence = evidence_database(cfg)
    source = runtime.RUNTIME.connect(source_uri)
    report = run_audit(
        cfg,
        stack=args.stack,
        atlas=atlas,
        source=source,
        evidence=evidence,
        clock=runtime.RUNTIME.clock,
        cluster_name=args.cluster,
        sample_size=args.sample_size,
        notice=say,
    )
    text = report.as_markdown()
    write_output(args.summary, text)
    if args.result_json:
        write_output(args.result_json, json.dumps(report.as_json_document(), indent=2) + "\n")
    print(json_document("audit", report.as_json_document()) if args.format == "json" else text.rstrip())
    return report.exit_code


def _cmd_audit_verify(args: argparse.Namespace) -> int:
    from backstop.report.evidence import AUDIT_COLLECTION, verify_chain

    cfg, _ = stack_configs(args)
    evidence = evidence_database(cfg)
    status = verify_chain(evidence[AUDIT_COLLECTION], expected_head=args.head)
    if args.format == "json":
        print(json_document("audit verify", status.as_dict(AUDIT_COLLECTION)))
    if status.broken is not None:
        print(f"backstop: TAMPERED: {status.broken.line()}", file=sys.stderr)
        if args.format == "json":
            return EXIT_VIOLATIONS
        print(f"FAILED: {AUDIT_COLLECTION} chain broken at record #{status.broken.sequence}")
        return EXIT_VIOLATIONS
    if args.format == "json":
        return EXIT_OK
    print(
        f"PASSED: {AUDIT_COLLECTION} chain intact, {status.records} record(s), head #{status.head_sequence} "
        f"{status.head_hash}"
    )
    return EXIT_OK


def register(subparsers: Any) -> None:
    """Add `audit` (with `audit verify`) to the `backstop` command."""
    audit = subparsers.add_parser(
        "audit", help="attest every tenant database in a snapshot; append manifests to backup_audit_log"
    )
    common_arguments(audit)
    audit.add_argument("--summary", help="also write the Markdown evidence to this file")
    audit.add_argument(
        "--result-json",
        help="also write the attestation counts and per-tenant results "
        "(for `backstop report --audit-results`)",
    )
    audit.add_argument("--cluster", help="source cluster (default: backstop:drill.sourceCluster)")
    audit.add_argument(
        "--sample-size",
        type=int,
        help="documents hashed per tenant (default: backstop:drill.manifestSampleSize)",
    )
    audit.add_argument(
        "--format", choices=["text", "json"], default="text", help="json: the --result-json document"
    )
    audit.set_defaults(handler=one_line_mongo_errors(_cmd_audit))
    audit_sub = audit.add_subparsers(dest="audit_command")
    verify = audit_sub.add_parser(
        "verify", help="recompute the backup_audit_log hash chain; exit 1 on tampering"
    )
    common_arguments(verify)
    verify.add_argument(
        "--head", help="a head hash published earlier (audit summary): it must still be there"
    )
    verify.add_argument("--format", choices=["text", "json"], default="text")
    verify.set_defaults(handler=one_line_mongo_errors(_cmd_audit_verify))
