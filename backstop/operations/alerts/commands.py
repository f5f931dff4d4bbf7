"""`backstop alerts test --stack NAME`: send a clearly marked test notification through every channel.

Channels and where their settings come from (the stack file for what is declared, the environment for
secrets, as in CI):

- the Slack incoming webhook: `BACKSTOP_SLACK_WEBHOOK_URL` (the secret `backstop:slackWebhookUrl`);
- every Azure Monitor action group tagged `managed-by: backstop` in the stack's resource group:
  `AZURE_SUBSCRIPTION_ID` (or `ARM_SUBSCRIPTION_ID`), a bearer token in `AZURE_ACCESS_TOKEN` or else
  `DefaultAzureCredential`; `BACKSTOP_ARM_ENDPOINT` for another cloud (or a local fake);
- Atlas: no test endpoint exists; reported as such, never as delivered.

Exit codes: 0 every channel delivered, 1 a channel failed or was skipped for want of settings (unless
`--allow-skipped`), 2 unusable input.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from backstop.ground.envelope import json_document
from backstop.ground.errors import EXIT_OK, EXIT_VIOLATIONS
from backstop.ground.files import PROJECT_DIR_HELP, project_dir

if TYPE_CHECKING:
    from backstop.clients.alert_channels import ChannelResult

SLACK_WEBHOOK_ENV = "BACKSTOP_SLACK_WEBHOOK_URL"
ARM_ENDPOINT_ENV = "BACKSTOP_ARM_ENDPOINT"
SUBSCRIPTION_ENVS = ("AZURE_SUBSCRIPTION_ID", "ARM_SUBSCRIPTION_ID")
ARM_ENDPOINT = "https://management.azure.com"


def run_tests(
    stack: str,
    resource_group: str,
    environ: Mapping[str, str],
    *,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    sleep: Callable[[float], None] | None = None,
    timeout_seconds: float = 300.0,
) -> list[ChannelResult]:
    """Send the test through each channel; one result per channel, in a fixed order."""
    from backstop.clients.alert_channels import (
        ATLAS_RESULT,
        ArmError,
        AzureMonitor,
        ChannelResult,
        arm_token,
        http_session,
        send_slack,
        test_text,
    )

    session = http_session()
    text = test_text(stack, now().strftime("%Y-%m-%d %H:%M:%S UTC"))
    results: list[ChannelResult] = []
    webhook = environ.get(SLACK_WEBHOOK_ENV)
    if webhook:
        results.append(send_slack(webhook, text, session))
    else:
        results.append(ChannelResult("slack-webhook", "skipped", f"{SLACK_WEBHOOK_ENV} is not set"))

    subscription = next((environ[name] for name in SUBSCRIPTION_ENVS if environ.get(name)), None)
    if subscription is None:
        results.append(
            ChannelResult("azure-action-groups", "skipped", f"{' or '.join(SUBSCRIPTION_ENVS)} is not set")
        )
    else:
        endpoint = environ.get(ARM_ENDPOINT_ENV) or ARM_ENDPOINT
        try:
            monitor = AzureMonitor(
                endpoint=endpoint,
                subscription_id=subscription,
                token=arm_token(environ, endpoint),
                session=session,
                timeout_seconds=timeout_seconds,
            )
            if sleep is not None:
                monitor.sleep = sleep
            groups = monitor.action_groups(resource_group)
        except ArmError as exc:
            results.append(ChannelResult("azure-action-groups", "failed", str(exc)))
        except Exception as exc:  # credential chains raise their own types; the line names the cause
            results.append(
                ChannelResult("azure-action-groups", "skipped", f"no Azure token: {type(exc).__name__}")
            )
        else:
            if not groups:
                results.append(
                    ChannelResult(
                        "azure-action-groups",
                        "failed",
                        f"no action group managed by backstop in {resource_group}",
                    )
                )
            results.extend(monitor.test_action_group(resource_group, group) for group in groups)
    results.append(ATLAS_RESULT)
    return results


def exit_code(results: list[ChannelResult], *, allow_skipped: bool) -> int:
    bad = {"failed"} if allow_skipped else {"failed", "skipped"}
    return EXIT_VIOLATIONS if any(r.status in bad for r in results) else EXIT_OK


def _cmd_test(args: argparse.Namespace) -> int:
    from backstop.config.stackfile import read_stack_file

    project = project_dir(args.project_dir)
    cfg = read_stack_file(project, args.stack).stack_config()
    results = run_tests(args.stack, cfg.azure.resource_group_name, os.environ, timeout_seconds=args.timeout)
    if args.format == "json":
        print(json_document("alerts test", {"stack": args.stack, "channels": [r.as_dict() for r in results]}))
    else:
        print(f"backstop alerts test: stack {args.stack}")
        for result in results:
            print(f"  {result.line()}")
    return exit_code(results, allow_skipped=args.allow_skipped)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    alerts = sub.add_parser("alerts", help="prove that alerts reach people")
    commands = alerts.add_subparsers(dest="alerts_command", required=True)
    test = commands.add_parser(
        "test",
        help="send a marked test notification through Slack, the Azure action groups and report Atlas",
    )
    test.add_argument(
        "--stack", required=True, help="the stack whose channels to test (reads Pulumi.<stack>.yaml)"
    )
    test.add_argument("--project-dir", help=PROJECT_DIR_HELP)
    test.add_argument("--format", choices=["text", "json"], default="text")
    test.add_argument(
        "--timeout",
        type=float,
        default=300.0,
        help="seconds to wait for Azure's test notifications (default 300)",
    )
    test.add_argument(
        "--allow-skipped", action="store_true", help="exit 0 when a channel was skipped for want of settings"
    )
    test.set_defaults(handler=_cmd_test)
