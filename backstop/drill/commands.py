"""`backstop audit`, `backstop audit verify`, `backstop drill` and `backstop drill sweep`.

Credentials come from the environment: a service account's `MONGODB_ATLAS_CLIENT_ID` /
`MONGODB_ATLAS_CLIENT_SECRET` (preferred whenever both are set), else the Atlas Administration API key
(`MONGODB_ATLAS_PUBLIC_KEY` / `MONGODB_ATLAS_PRIVATE_KEY`); `MONGODB_ATLAS_BASE_URL` overrides the
endpoint. The source cluster (`BACKSTOP_SOURCE_MONGODB_URI`, read only, for the audit) and the evidence
store (`BACKSTOP_EVIDENCE_MONGODB_URI`) too. Anything missing is one line and exit 2, before anything is
created.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from backstop.errors import EXIT_OK, EXIT_VIOLATIONS
from backstop.files import project_dir, write_output


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _automation_stacks() -> Any:
    from backstop.drill.stacks import AutomationDrillStacks

    return AutomationDrillStacks()


def _recovery_stacks() -> Any:
    from backstop.drill.stacks import AutomationDrillStacks
    from backstop.recover.stacks import RECOVER_PROJECT, RECOVER_STACK_PREFIX

    return AutomationDrillStacks(RECOVER_PROJECT, RECOVER_STACK_PREFIX)


def _deployed_outputs(project_dir: str, stack: str) -> dict[str, Any]:
    from backstop.recover.stacks import deployed_outputs

    return deployed_outputs(project_dir, stack)


def _connect(uri: str, **kwargs: Any) -> Any:
    from backstop.evidence import connect

    return connect(uri, **kwargs)


@dataclass
class Runtime:
    """The edges the commands reach: tests swap these for the fake Atlas, mongomock and Pulumi mocks."""

    stacks: Callable[[], Any] = _automation_stacks
    recovery_stacks: Callable[[], Any] = _recovery_stacks
    connect: Callable[..., Any] = _connect
    clock: Callable[[], datetime] = _utc_now
    sleep: Callable[[float], None] = time.sleep
    env: Mapping[str, str] = field(default_factory=lambda: os.environ)
    # The deployed application stack's outputs (`recover cleanup` keeps the cluster production uses).
    deployed_outputs: Callable[[str, str], Mapping[str, Any]] = _deployed_outputs


RUNTIME = Runtime()


def _configs(args: argparse.Namespace) -> tuple[Any, Any]:
    from backstop.stackfile import read_stack_file

    project = project_dir(args.project_dir)
    cfg = read_stack_file(project, args.stack).stack_config()
    prod = cfg if args.stack == "prod" else read_stack_file(project, "prod").stack_config()
    return cfg, prod


def _atlas(progress: Callable[[str], None] | None = None) -> Any:
    """The Atlas client, waiting on the runtime's clock and telling `progress` about rate limits."""
    from backstop.atlas_api import AtlasClient

    return AtlasClient.from_env(RUNTIME.env, sleep=RUNTIME.sleep, clock=RUNTIME.clock, progress=progress)


def _evidence(cfg: Any) -> Any:
    from backstop.evidence import ENV_EVIDENCE_URI, env_uri

    client = RUNTIME.connect(env_uri(ENV_EVIDENCE_URI, RUNTIME.env))
    return client[cfg.drill.evidence_database]


def _one_line_mongo_errors(
    handler: Callable[[argparse.Namespace], int],
) -> Callable[[argparse.Namespace], int]:
    """A driver error (unreachable server, bad credentials, a concurrent audit's sequence) is one line."""

    def run(args: argparse.Namespace) -> int:
        from pymongo.errors import DuplicateKeyError, PyMongoError

        from backstop.atlas_api import one_line
        from backstop.evidence import EvidenceError

        try:
            return handler(args)
        except DuplicateKeyError:
            raise EvidenceError(
                "MongoDB: another audit appended to backup_audit_log at the same time"
            ) from None
        except PyMongoError as exc:
            raise EvidenceError(f"MongoDB: {one_line(exc)}") from None

    return run


def _progress(quiet: bool) -> Callable[[str], None]:
    def say(line: str) -> None:
        if not quiet:
            print(f"[backstop] {line.rstrip()}", file=sys.stderr, flush=True)

    return say


# --- audit ----------------------------------------------------------------------------------------------


def _cmd_audit(args: argparse.Namespace) -> int:
    from backstop.audit import run_audit
    from backstop.evidence import ENV_SOURCE_URI, env_uri

    cfg, _ = _configs(args)
    say = _progress(False)
    atlas = _atlas(say)
    source_uri = env_uri(ENV_SOURCE_URI, RUNTIME.env)
    evidence = _evidence(cfg)
    source = RUNTIME.connect(source_uri)
    report = run_audit(
        cfg,
        stack=args.stack,
        atlas=atlas,
        source=source,
        evidence=evidence,
        clock=RUNTIME.clock,
        cluster_name=args.cluster,
        sample_size=args.sample_size,
        notice=say,
    )
    text = report.as_markdown()
    write_output(args.summary, text)
    if args.result_json:
        write_output(args.result_json, json.dumps(report.as_json_document(), indent=2) + "\n")
    print(text.rstrip())
    return report.exit_code


def _cmd_audit_verify(args: argparse.Namespace) -> int:
    from backstop.evidence import AUDIT_COLLECTION, verify_chain

    cfg, _ = _configs(args)
    evidence = _evidence(cfg)
    status = verify_chain(evidence[AUDIT_COLLECTION], expected_head=args.head)
    if status.broken is not None:
        print(f"backstop: TAMPERED: {status.broken.line()}", file=sys.stderr)
        print(f"FAILED: {AUDIT_COLLECTION} chain broken at record #{status.broken.sequence}")
        return EXIT_VIOLATIONS
    print(
        f"PASSED: {AUDIT_COLLECTION} chain intact, {status.records} record(s), head #{status.head_sequence} "
        f"{status.head_hash}"
    )
    return EXIT_OK


# --- drill ----------------------------------------------------------------------------------------------


def _cmd_drill(args: argparse.Namespace) -> int:
    from backstop.drill.run import (
        DrillIO,
        DrillOptions,
        execute_drill,
        exit_code,
        plan_drill,
        result_document,
        summary_markdown,
    )
    from backstop.evidence import DRILL_RESULTS_COLLECTION

    cfg, prod = _configs(args)
    say = _progress(args.quiet)
    atlas = _atlas(say)
    evidence = _evidence(cfg)
    options = DrillOptions(
        database=args.database,
        seed=args.seed,
        mode=args.mode,
        poll_interval=timedelta(seconds=args.poll_interval) if args.poll_interval is not None else None,
        settle_wait=timedelta(seconds=args.settle_wait) if args.settle_wait is not None else None,
    )
    plan = plan_drill(
        cfg, prod, stack=args.stack, atlas=atlas, evidence=evidence, clock=RUNTIME.clock, options=options
    )
    say(f"drill {plan.stack_name}: tenant {plan.tenant}, {plan.mode} restore from {plan.source_cluster}")
    io = DrillIO(
        atlas=atlas,
        stacks=RUNTIME.stacks(),
        connect=RUNTIME.connect,
        clock=RUNTIME.clock,
        sleep=RUNTIME.sleep,
        progress=say,
    )
    outcome = execute_drill(plan, io)
    document = result_document(plan, outcome)
    recorded = True
    try:
        evidence[DRILL_RESULTS_COLLECTION].insert_one(dict(document))
    except Exception as exc:
        recorded = False
        print(f"backstop: drill result NOT recorded in {DRILL_RESULTS_COLLECTION}: {exc}", file=sys.stderr)
    text = summary_markdown(plan, outcome)
    write_output(args.summary, text)
    if args.result_json:
        write_output(args.result_json, json.dumps(document, indent=2, default=str) + "\n")
    print(text.rstrip())
    if outcome.left_for_sweep:
        print(
            f"backstop: drill stack {plan.stack_name} LEFT FOR `backstop drill sweep`: "
            f"{outcome.left_for_sweep}, and Atlas cannot cancel it "
            f"(it expires {plan.expires_at.isoformat()})",
            file=sys.stderr,
        )
    if outcome.teardown_error:
        print(
            f"backstop: TEARDOWN FAILED for drill stack {plan.stack_name}: {outcome.teardown_error}; "
            f"remove it with `backstop drill sweep` (it expires {plan.expires_at.isoformat()})",
            file=sys.stderr,
        )
    code = exit_code(plan, outcome)
    return code if recorded or code != EXIT_OK else EXIT_VIOLATIONS


def _cmd_sweep(args: argparse.Namespace) -> int:
    from backstop.drill.program import DRILL_STACK_PREFIX
    from backstop.drill.stacks import effective_expiry

    cfg, _ = _configs(args)
    if not args.dry_run:
        _atlas()  # destroying needs the provider's credentials: fail early, with one line
    stacks = RUNTIME.stacks()
    now = RUNTIME.clock()
    ttl = timedelta(hours=cfg.drill.ttl_hours)
    say = _progress(args.quiet)
    failures = 0
    expired = 0
    for info in sorted(stacks.list(), key=lambda i: i.name):
        if not info.name.rsplit("/", 1)[-1].startswith(DRILL_STACK_PREFIX):
            continue
        expiry = effective_expiry(info, ttl)
        if expiry is None:
            print(f"keep   {info.name}: no expiry recorded or in its name; not touched")
            continue
        if expiry > now:
            print(f"keep   {info.name}: expires {expiry.isoformat()}")
            continue
        expired += 1
        if args.dry_run:
            print(f"expired {info.name}: expired {expiry.isoformat()} (dry run: not destroyed)")
            continue
        try:
            stacks.destroy(info.name, say)
            print(f"destroyed {info.name}: expired {expiry.isoformat()}")
        except Exception as exc:
            failures += 1
            print(f"backstop: could not destroy {info.name}: {' '.join(str(exc).split())}", file=sys.stderr)
    verb = "would destroy" if args.dry_run else "destroyed"
    print(f"{'FAILED' if failures else 'PASSED'}: {verb} {expired - failures} expired drill stack(s)")
    return EXIT_VIOLATIONS if failures else EXIT_OK


# --- argument parsing -----------------------------------------------------------------------------------


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--stack", choices=["prod", "staging"], default="prod", help="stack whose config to use"
    )
    parser.add_argument("--project-dir", default=".", help="directory holding Pulumi.yaml (default: .)")


def register(subparsers: Any) -> None:
    """Add `audit` and `drill` (with `audit verify` and `drill sweep`) to the `backstop` command."""
    audit = subparsers.add_parser(
        "audit", help="attest every tenant database in a snapshot; append manifests to backup_audit_log"
    )
    _common(audit)
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
    audit.set_defaults(handler=_one_line_mongo_errors(_cmd_audit))
    audit_sub = audit.add_subparsers(dest="audit_command")
    verify = audit_sub.add_parser(
        "verify", help="recompute the backup_audit_log hash chain; exit 1 on tampering"
    )
    _common(verify)
    verify.add_argument(
        "--head", help="a head hash published earlier (audit summary): it must still be there"
    )
    verify.set_defaults(handler=_one_line_mongo_errors(_cmd_audit_verify))

    drill = subparsers.add_parser(
        "drill", help="restore a random tenant into a throwaway staging cluster and verify it against the RTO"
    )
    _common(drill)
    drill.add_argument("--summary", help="also write the Markdown summary to this file")
    drill.add_argument(
        "--result-json", help="also write the result document (for `backstop report --drill-results`)"
    )
    drill.add_argument("--database", help="drill this tenant database instead of a random one")
    drill.add_argument(
        "--seed", type=int, help="seed of the random choices (tenant, spot checks), to repeat a drill"
    )
    drill.add_argument(
        "--mode",
        choices=["auto", "pointInTime", "snapshot"],
        help="restore to the manifest's point in time, or from its snapshot "
        "(default: backstop:drill.restoreMode)",
    )
    drill.add_argument("--poll-interval", type=float, help="seconds between restore job polls")
    drill.add_argument(
        "--settle-wait",
        type=float,
        help="seconds to wait for a still-running restore (Atlas cannot cancel it) before leaving the stack "
        "for `drill sweep` (default: 1800)",
    )
    drill.add_argument("--quiet", action="store_true", help="no progress on stderr")
    drill.set_defaults(handler=_one_line_mongo_errors(_cmd_drill))
    drill_sub = drill.add_subparsers(dest="drill_command")
    sweep = drill_sub.add_parser("sweep", help="destroy drill stacks whose expiry has passed")
    _common(sweep)
    sweep.add_argument(
        "--dry-run", action="store_true", help="list the expired drill stacks, destroy nothing"
    )
    sweep.add_argument("--quiet", action="store_true", help="no Pulumi output on stderr")
    sweep.set_defaults(handler=_cmd_sweep)
    from backstop.app.rollback import register as register_rollback

    register_rollback(drill_sub)
