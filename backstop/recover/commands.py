"""`backstop recover plan|restore|verify|cutover|record|cleanup`: the operator emergency runbook.

The edges (Atlas, Pulumi stacks, MongoDB connections, the clock) are the drill's `RUNTIME`, so tests swap
them once for the fake Atlas, mongomock and the Pulumi SDK's mocks. Every refusal is one line and exit 2
before anything is created or written.
"""

from __future__ import annotations

import argparse
from typing import Any

from backstop.drill import commands as drill
from backstop.errors import EXIT_OK

LOSS_CHOICES = ("record", "collection", "tenant", "cluster", "region")
# A user on the production cluster that may insert and replace in the affected database (cutover only).
ENV_CUTOVER_URI = "BACKSTOP_CUTOVER_MONGODB_URI"


def _drill_results(cfg: Any) -> list[dict[str, Any]] | None:
    """Drill measurements from the evidence store, or None when no evidence store is configured."""
    from backstop.evidence import DRILL_RESULTS_COLLECTION, ENV_EVIDENCE_URI

    if not drill.RUNTIME.env.get(ENV_EVIDENCE_URI):
        return None
    evidence = drill._evidence(cfg)
    return list(evidence[DRILL_RESULTS_COLLECTION].find({}, {"_id": 0}))


def _request(args: argparse.Namespace) -> Any:
    from backstop.recover.plan import LossRequest, parse_when

    return LossRequest(
        loss=args.loss,
        database=args.database,
        collection=args.collection,
        at=parse_when(args.at, "--at"),
        detected_at=parse_when(args.detected_at, "--detected-at") if args.detected_at else None,
    )


def _plan(args: argparse.Namespace, cfg: Any, prod: Any, atlas: Any) -> Any:
    from backstop.recover.plan import plan_recovery

    return plan_recovery(
        cfg,
        prod,
        stack=args.stack,
        request=_request(args),
        atlas=atlas,
        clock=drill.RUNTIME.clock,
        drill_results=_drill_results(cfg),
    )


def _cmd_plan(args: argparse.Namespace) -> int:
    cfg, prod = drill._configs(args)
    plan = _plan(args, cfg, prod, drill._atlas())
    print(plan.as_json() if args.format == "json" else plan.as_text())
    return EXIT_OK


# --- argument parsing -----------------------------------------------------------------------------------


def _loss_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--loss", choices=LOSS_CHOICES, required=True, help="what was lost")
    parser.add_argument("--database", required=True, help="the affected (tenant) database")
    parser.add_argument("--collection", help="the affected collection (required for --loss collection)")
    parser.add_argument(
        "--at", required=True, help="when the loss happened, ISO 8601 (UTC unless an offset is given)"
    )
    parser.add_argument("--detected-at", help="when the loss was detected (default: now)")


def _incident(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--incident", required=True, help="the incident id `recover restore` printed")


def register(subparsers: Any) -> None:
    """Add `recover` and its steps to the `backstop` command."""
    recover = subparsers.add_parser(
        "recover", help="the operator emergency runbook: plan, restore, verify, cut over, record"
    )
    steps = recover.add_subparsers(dest="recover_command", required=True)

    plan = steps.add_parser("plan", help="what the runbook prescribes for this loss; creates nothing")
    drill._common(plan)
    _loss_arguments(plan)
    plan.add_argument("--format", choices=["text", "json"], default="text")
    plan.set_defaults(handler=drill._one_line_mongo_errors(_cmd_plan))
