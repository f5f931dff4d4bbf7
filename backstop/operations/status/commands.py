"""`backstop status`: the live estate measured against every objective, right now.

It reads the deployed stack (`--state` export file, else `pulumi stack export`) to find the live
resources, asks Atlas, AWS, Azure and the evidence store about each (concurrently, with a bound), and
prints one row per objective. Exit 0 when every objective was measured and holds, 1 when any is breached
or could not be measured (an unknown is never ok), 2 on unusable input. It never writes anywhere.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Generic, TypeVar

from backstop.config import Environment
from backstop.ground.errors import UsageError
from backstop.ground.files import PROJECT_DIR_HELP, write_output
from backstop.ground.logs import progress
from backstop.operations.status.probe import DEFAULT_WORKERS, Probe, run_probes
from backstop.operations.status.rows import FORMATS, StatusReport, render, rows_in_order
from backstop.policy.targets import PolicyTargets

T = TypeVar("T")
logger = logging.getLogger(__name__)


class Lazy(Generic[T]):
    """A client made on first use, once, whichever thread asks first; a failure is raised to each asker
    (so every probe of that cloud becomes unknown with the same reason)."""

    def __init__(self, make: Callable[[], T]) -> None:
        self._make = make
        self._lock = threading.Lock()
        self._value: T | None = None
        self._error: BaseException | None = None

    def __call__(self) -> T:
        with self._lock:
            if self._value is None and self._error is None:
                try:
                    self._value = self._make()
                except Exception as error:
                    self._error = error
            if self._error is not None:
                raise self._error
            assert self._value is not None
            return self._value


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Runtime:
    """What the command reaches outside itself; tests replace it (a fake Atlas, moto, a fake ARM)."""

    environ: Mapping[str, str] = field(default_factory=lambda: os.environ)
    clock: Callable[[], datetime] = _utc_now
    sleep: Callable[[float], None] | None = None
    connect_evidence: Callable[[str], Any] | None = None
    export: Callable[[str], str] | None = None
    # GET an app's health check URL: its status code (tests route it to the fake ARM's apps).
    health_probe: Callable[[str], int] | None = None


RUNTIME = Runtime()


def _pulumi_export(stack: str) -> str:
    """`pulumi stack export --stack NAME`: read-only; the CLI must be installed and logged in."""
    try:
        done = subprocess.run(
            ["pulumi", "stack", "export", "--stack", stack], capture_output=True, text=True, timeout=300
        )
    except FileNotFoundError:
        raise UsageError(
            "--state: not given, and the Pulumi CLI is not installed to run `pulumi stack export`"
        ) from None
    if done.returncode != 0:
        first = (done.stderr.strip().splitlines() or ["no output"])[0]
        raise UsageError(f"pulumi stack export --stack {stack}: {first}")
    return done.stdout


def _stack_settings(project: Path, stack: str) -> tuple[Environment, int, str]:
    """The environment, dead-letter threshold and evidence database of `stack`'s Pulumi.<stack>.yaml,
    or the defaults for a stack without one (named prod or staging)."""
    from backstop.config import stack_file_name
    from backstop.config.stackfile import read_stack_file

    if not (project / stack_file_name(stack)).is_file():
        environment: Environment = "staging" if stack == "staging" else "prod"
        return environment, 0, "backstop"
    cfg = read_stack_file(project, stack).stack_config()
    return cfg.environment, cfg.azure.service_bus.dead_letter_alert.threshold, cfg.drill.evidence_database


def _atlas_client(runtime: Runtime) -> Any:
    from backstop.clients.atlas import AtlasClient, RetryPolicy

    options: dict[str, Any] = {
        "retry": RetryPolicy(max_attempts=4, max_wait=60.0),
        "progress": progress(logger, step="status"),
    }
    if runtime.sleep is not None:
        options["sleep"] = runtime.sleep
    return AtlasClient.from_env(runtime.environ, **options)


def _evidence(runtime: Runtime, database: str) -> Any:
    from backstop.report.evidence import ENV_EVIDENCE_URI, connect, env_uri

    uri = env_uri(ENV_EVIDENCE_URI, runtime.environ)
    client = (runtime.connect_evidence or (lambda u: connect(u, serverSelectionTimeoutMS=5000)))(uri)
    return client[database]


def _arm(runtime: Runtime) -> Any:
    from backstop.clients.alert_channels import arm_token
    from backstop.clients.arm import ARM_ENDPOINT, ArmReader

    endpoint = runtime.environ.get("BACKSTOP_ARM_ENDPOINT") or ARM_ENDPOINT
    options: dict[str, Any] = {}
    if runtime.sleep is not None:
        options["sleep"] = runtime.sleep
    return ArmReader(endpoint, lambda: arm_token(runtime.environ, endpoint), **options)


def collect(
    resources: list[Any],
    stack: str,
    targets: PolicyTargets,
    settings: tuple[Environment, int, str],
    runtime: Runtime,
    workers: int = DEFAULT_WORKERS,
    show_progress: bool = True,
) -> StatusReport:
    """Every objective's row for the live resources of one stack."""
    # The clouds' clients load only when `status` runs, not with every `backstop` command.
    from backstop.clients.arm import health_status
    from backstop.clients.aws import AwsReader
    from backstop.operations.status import atlas, aws, azure, evidence

    _, dead_letter_threshold, database = settings
    now = runtime.clock
    probes: list[Probe] = []
    probes += atlas.probes(atlas.clusters(resources), Lazy(lambda: _atlas_client(runtime)), targets, now)
    probes += aws.probes(resources, Lazy(lambda: AwsReader(runtime.environ)), now)
    probes += azure.probes(
        resources,
        Lazy(lambda: _arm(runtime)),
        dead_letter_threshold,
        now,
        runtime.health_probe or health_status,
    )
    if not probes:
        raise UsageError(
            f"stack {stack}: no Atlas cluster, KMS key, S3 bucket or Azure resource with a known id in it: "
            "nothing to measure"
        )
    probes += evidence.probes(Lazy(lambda: _evidence(runtime, database)), now)
    rows = run_probes(probes, workers=workers, progress=show_progress)
    return StatusReport(stack, now(), rows_in_order(rows))


def _cmd_status(args: argparse.Namespace) -> int:
    from backstop.policy.sources import SourceError, export_document, kind_of, read_document

    runtime = RUNTIME
    project = Path(args.project_dir)
    settings = _stack_settings(project, args.stack)
    try:
        if args.state:
            document = read_document(Path(args.state))
            source = args.state
        else:
            source = f"pulumi stack export --stack {args.stack}"
            text = (runtime.export or _pulumi_export)(args.stack)
            try:
                loaded = json.loads(text)
            except json.JSONDecodeError as exc:
                raise UsageError(f"{source}: not JSON (line {exc.lineno}: {exc.msg})") from None
            if kind_of(loaded, source) != "export":
                raise UsageError(f"{source}: not a stack export")
            document = export_document(loaded, source)
    except SourceError as error:
        raise UsageError(str(error)) from None
    if document.kind == "preview":
        raise UsageError(f"{source}: a preview, not a stack export: status measures what is deployed")
    targets = PolicyTargets.for_environment(settings[0])
    report = collect(document.resources, args.stack, targets, settings, runtime, args.workers)
    output = render(report, args.format)
    unwritten: UsageError | None = None
    if args.output:
        # Its directories are made (the hourly workflow writes evidence/status.json in a clean clone).
        try:
            write_output(args.output, output + "\n")
        except UsageError as error:
            unwritten = UsageError(f"--output {error}")
        print(render(report, "text").splitlines()[0])
    else:
        print(output)
    if args.post_to_slack:
        _post_to_slack(report, runtime)  # the breaches still reach Slack when the file could not be written
    if unwritten is not None:
        raise unwritten
    return report.exit_code


SLACK_WEBHOOK_ENV = "BACKSTOP_SLACK_WEBHOOK_URL"
SLACK_ROWS = 20


def slack_text(report: StatusReport) -> str | None:
    """One message naming every breach and unknown (the first 20), or None when every objective holds."""
    bad = [row for row in report.rows if row.verdict != "ok"]
    if not bad:
        return None
    head = (
        f"[backstop status] stack {report.stack}: {report.count('breach')} breach, "
        f"{report.count('unknown')} unknown, {report.count('ok')} ok"
    )
    lines = [
        f"• {row.verdict.upper()} {row.objective} {row.resource}: {row.measured or '-'} (target {row.target})"
        + (f": {row.reason}" if row.reason else "")
        for row in bad[:SLACK_ROWS]
    ]
    if len(bad) > SLACK_ROWS:
        lines.append(f"… and {len(bad) - SLACK_ROWS} more: see the run's status.json")
    return "\n".join([head, *lines])


def _post_to_slack(report: StatusReport, runtime: Runtime) -> None:
    """Post the breaches and unknowns to the Slack relay (an incoming webhook); nothing when all is ok.
    A webhook that is unset or refuses is one line on stderr and the exit code says so (2)."""
    from backstop.clients.alert_channels import http_session, send_slack

    text = slack_text(report)
    if text is None:
        return
    webhook = runtime.environ.get(SLACK_WEBHOOK_ENV)
    if not webhook:
        raise UsageError(f"--post-to-slack: {SLACK_WEBHOOK_ENV} is not set")
    result = send_slack(webhook, text, http_session())
    if result.status != "delivered":
        raise UsageError(f"--post-to-slack: {result.detail}")


def _workers(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if not 1 <= value <= 64:
        raise argparse.ArgumentTypeError(f"must be 1 to 64, got {value}")
    return value


def register(subparsers: Any) -> None:
    """Add `backstop status` to the `backstop` parser's subcommands."""
    status = subparsers.add_parser(
        "status",
        help="measure the live estate against every objective (read-only)",
        description=(__doc__ or "").splitlines()[0],
    )
    status.add_argument("--stack", default="prod", help="the deployed stack (default: prod)")
    status.add_argument("--state", help="its `pulumi stack export` file (default: run `pulumi stack export`)")
    status.add_argument("--format", choices=FORMATS, default="text")
    status.add_argument(
        "--output",
        help="write the output to this file, its directories created (the summary line still goes to stdout)",
    )
    status.add_argument(
        "--workers",
        type=_workers,
        default=DEFAULT_WORKERS,
        help=f"calls in flight at once (default {DEFAULT_WORKERS})",
    )
    status.add_argument(
        "--post-to-slack",
        action="store_true",
        help=f"post breaches and unknowns to the Slack webhook in {SLACK_WEBHOOK_ENV} (nothing when all ok)",
    )
    status.add_argument("--project-dir", help=PROJECT_DIR_HELP)
    # With --state, a deployed stack is measured without its project: the defaults of its environment.
    status.set_defaults(handler=_cmd_status, project_dir_optional=True)
