"""`backstop recover plan|restore|verify|cutover|record|cleanup`: the operator emergency runbook.

The edges (Atlas, Pulumi stacks, MongoDB connections, the clock) are `backstop.restore.runtime.RUNTIME`, as
for the drill and the audit, so tests swap them once for the fake Atlas, mongomock and the Pulumi SDK's
mocks. Every refusal is one line and exit 2 before anything is created or written.

This module parses the arguments; each step's handler has its own module (`step_restore`, `step_verify`,
`step_cutover`, `step_record`, `step_cleanup`), and what they share is in `steps`.
"""

from __future__ import annotations

import argparse
from typing import Any

from backstop.operations.recover.step_cleanup import cmd_cleanup, cmd_status
from backstop.operations.recover.step_cutover import cmd_cutover
from backstop.operations.recover.step_record import cmd_record, cmd_verify_registry
from backstop.operations.recover.step_restore import cmd_plan, cmd_restore
from backstop.operations.recover.step_verify import cmd_verify
from backstop.operations.recover.steps import LOSS_CHOICES
from backstop.restore import runtime


def _loss_arguments(parser: argparse.ArgumentParser, required: bool = True) -> None:
    parser.add_argument("--loss", choices=LOSS_CHOICES, required=required, help="what was lost")
    parser.add_argument("--database", required=required, help="the affected (tenant) database")
    parser.add_argument("--collection", help="the affected collection (required for --loss collection)")
    parser.add_argument(
        "--at", required=required, help="when the loss happened, ISO 8601 with Z or an offset"
    )
    parser.add_argument("--detected-at", help="when the loss was detected (default: now)")


def _incident_argument(parser: argparse.ArgumentParser, required: bool = True) -> None:
    parser.add_argument("--incident", required=required, help="the incident id `recover restore` printed")


def register(subparsers: Any) -> None:
    """Add `recover` and its steps to the `backstop` command."""
    recover = subparsers.add_parser(
        "recover", help="the operator emergency runbook: plan, restore, verify, cut over, record"
    )
    steps = recover.add_subparsers(dest="recover_command", required=True)
    guarded = runtime.one_line_mongo_errors

    plan = steps.add_parser("plan", help="step 1: what the runbook prescribes for this loss; creates nothing")
    runtime.common_arguments(plan)
    _loss_arguments(plan)
    plan.add_argument("--format", choices=["text", "json"], default="text")
    plan.set_defaults(handler=guarded(cmd_plan))

    restore = steps.add_parser(
        "restore", help="step 2: restore into a recovery cluster (never production); it is kept"
    )
    runtime.common_arguments(restore)
    _loss_arguments(restore, required=False)
    _incident_argument(restore, required=False)
    restore.add_argument(
        "--new", action="store_true", help="open a new incident even if one for this loss is unfinished"
    )
    restore.add_argument("--poll-interval", type=float, help="seconds between restore job polls")
    restore.add_argument("--quiet", action="store_true", help="no progress on stderr")
    restore.add_argument(
        "--break-lock", action="store_true", help="take over the lock a killed run of this step left"
    )
    restore.add_argument("--format", choices=["text", "json"], default="text")
    restore.set_defaults(handler=guarded(cmd_restore))

    verify = steps.add_parser(
        "verify", help="step 2: compare the recovery cluster with production and the manifest"
    )
    runtime.common_arguments(verify)
    _incident_argument(verify)
    verify.add_argument(
        "--ignore-audit-chain",
        action="store_true",
        help="go on when backup_audit_log's chain is broken (no manifest used, so the verdict needs "
        "--accept-mismatch; recorded in the incident)",
    )
    verify.add_argument(
        "--accept-mismatch",
        metavar="REASON",
        help="let a cutover go on despite a mismatch with the manifest, or without one; the reason is "
        "recorded",
    )
    verify.add_argument(
        "--break-lock", action="store_true", help="take over the lock a killed run of this step left"
    )
    verify.add_argument("--format", choices=["text", "json"], default="text")
    verify.set_defaults(handler=guarded(cmd_verify))

    cutover = steps.add_parser(
        "cutover", help="step 2: write back what verify listed, or switch the connection target (dry run)"
    )
    runtime.common_arguments(cutover)
    _incident_argument(cutover)
    cutover.add_argument("--replace-changed", action="store_true", help="also replace changed documents")
    cutover.add_argument(
        "--id",
        action="append",
        help="write back only this document (its _id as verify prints it; repeatable)",
    )
    cutover.add_argument(
        "--filter", help="write back only listed documents matching this Extended JSON query (recovery copy)"
    )
    cutover.add_argument("--execute", action="store_true", help="write (default: a dry run)")
    cutover.add_argument("--confirm", help="the incident's database name, required with --execute")
    cutover.add_argument("--quiet", action="store_true", help="no progress on stderr")
    cutover.add_argument(
        "--break-lock", action="store_true", help="take over the lock a killed run of this step left"
    )
    cutover.add_argument("--format", choices=["text", "json"], default="text")
    cutover.set_defaults(handler=guarded(cmd_cutover))

    record = steps.add_parser(
        "record", help="step 3: append the incident to incident_registry; write the post-mortem skeleton"
    )
    runtime.common_arguments(record)
    _incident_argument(record)
    record.add_argument("--tenants-notified-at", help="when affected tenants were notified (ISO 8601)")
    record.add_argument("--postmortem", help="also write the Markdown post-mortem skeleton to this file")
    record.add_argument("--result-json", help="also write the registry record as JSON")
    record.add_argument("--format", choices=["text", "json"], default="text")
    record.set_defaults(handler=guarded(cmd_record))

    registry = steps.add_parser(
        "verify-registry", help="check incident_registry's hash chain (and a published head)"
    )
    runtime.common_arguments(registry)
    registry.add_argument("--head", help="a head hash published earlier: it must still be in the chain")
    registry.add_argument("--format", choices=["text", "json"], default="text")
    registry.set_defaults(handler=guarded(cmd_verify_registry))

    status = steps.add_parser(
        "status", help="every incident: steps done, next command, deadlines, recovery clusters"
    )
    runtime.common_arguments(status)
    _incident_argument(status, required=False)
    status.add_argument("--format", choices=["text", "json"], default="text")
    status.set_defaults(handler=guarded(cmd_status))

    cleanup = steps.add_parser("cleanup", help="destroy a recovery cluster (--incident) or every expired one")
    runtime.common_arguments(cleanup)
    _incident_argument(cleanup, required=False)
    cleanup.add_argument("--dry-run", action="store_true", help="list, destroy nothing")
    cleanup.add_argument("--quiet", action="store_true", help="no Pulumi output on stderr")
    cleanup.add_argument("--format", choices=["text", "json"], default="text")
    cleanup.set_defaults(handler=cmd_cleanup)
