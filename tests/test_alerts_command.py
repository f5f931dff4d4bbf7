"""`backstop alerts test` against local fakes of Slack's incoming webhook and Azure Resource Manager."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import requests

from backstop.cli import main as cli_main
from backstop.clients.alert_channels import ATLAS_RESULT, AzureMonitor
from backstop.operations.alerts.commands import run_tests
from tests.conftest import ROOT
from tests.fakes.alert_endpoints import (
    GONE_WEBHOOK_PATH,
    GOOD_WEBHOOK_PATH,
    SUBSCRIPTION,
    TOKEN,
    AlertEndpointsServer,
    action_group,
)
from tests.json_documents import assert_valid

GROUP = "rg-wiser-prod-backup"  # Pulumi.prod.yaml's azure.resourceGroupName
CALLBACK = "https://prod-00.eastus.logic.azure.com/workflows/abc/triggers/azure-monitor-alert/paths/invoke?sig=s3cr3t"
SLACK_GROUP = action_group(
    "slack-alerts-action-group",
    logicAppReceivers=[
        {
            "name": "slack-relay",
            "resourceId": "/subscriptions/x/workflows/relay",
            "callbackUrl": CALLBACK,
            "useCommonAlertSchema": True,
        }
    ],
)
DLQ_GROUP = action_group(
    "messaging-dlq-action-group",
    emailReceivers=[
        {
            "name": "engineering",
            "emailAddress": "engineering-alerts@example.com",
            "useCommonAlertSchema": True,
            "status": "Enabled",
        }
    ],
)
NOW = datetime(2026, 11, 30, 20, 0, tzinfo=UTC)


@pytest.fixture
def fake() -> Iterator[AlertEndpointsServer]:
    with AlertEndpointsServer() as server:
        server.state.action_groups[GROUP] = [
            SLACK_GROUP,
            DLQ_GROUP,
            action_group(
                "someone-elses",
                emailReceivers=[{"name": "x", "emailAddress": "x@example.com"}],
                managed=False,
            ),
        ]
        yield server


def _environ(fake: AlertEndpointsServer, **changes: str | None) -> dict[str, str]:
    environ = {
        "BACKSTOP_SLACK_WEBHOOK_URL": fake.url + GOOD_WEBHOOK_PATH,
        "AZURE_SUBSCRIPTION_ID": SUBSCRIPTION,
        "AZURE_ACCESS_TOKEN": TOKEN,
        "BACKSTOP_ARM_ENDPOINT": fake.url,
    }
    environ.update({k: v for k, v in changes.items() if v is not None})
    return {k: v for k, v in environ.items() if changes.get(k, "") is not None}


def _lines(results: list[Any]) -> list[str]:
    return [r.line() for r in results]


def test_every_channel_answers_and_atlas_is_reported_as_untestable(fake: AlertEndpointsServer) -> None:
    results = run_tests("prod", GROUP, _environ(fake), now=lambda: NOW)
    assert _lines(results) == [
        "slack-webhook: delivered (Slack answered 200 ok)",
        "azure-action-group:messaging-dlq-action-group: delivered (Email engineering: Succeeded)",
        "azure-action-group:slack-alerts-action-group: delivered (LogicApp slack-relay: Succeeded)",
        ATLAS_RESULT.line(),
    ]
    assert ATLAS_RESULT.status == "not-supported"
    [message] = fake.state.slack_messages
    assert message == {
        "text": "[backstop test] Test notification from `backstop alerts test --stack prod` at "
        "2026-11-30 20:00:00 UTC. If you read this in the alerts channel, delivery works; "
        "nothing needs doing."
    }
    posts = [r for r in fake.state.requests if r.path.endswith("/createNotifications")]
    assert [p.path.split("/")[-2] for p in posts] == [
        "messaging-dlq-action-group",
        "slack-alerts-action-group",
    ]
    assert posts[0].body == {
        "alertType": "metricstaticthreshold",
        "emailReceivers": [
            {
                "name": "engineering",
                "emailAddress": "engineering-alerts@example.com",
                "useCommonAlertSchema": True,
            }
        ],
    }
    assert posts[1].body["logicAppReceivers"][0]["callbackUrl"] == CALLBACK
    assert {
        r.headers["Authorization"] for r in fake.state.requests if not r.path.startswith("/services/")
    } == {f"Bearer {TOKEN}"}
    # Each test notification was followed until Azure reported it done (202, then 200).
    assert sorted(fake.state.polls.values()) == [2, 2]


def test_the_cli_prints_each_answer_and_never_a_secret(
    fake: AlertEndpointsServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for key, value in _environ(fake).items():
        monkeypatch.setenv(key, value)
    code = cli_main(["alerts", "test", "--stack", "prod", "--project-dir", str(ROOT), "--format", "json"])
    out, err = capsys.readouterr()
    assert (code, err) == (0, "")
    document = assert_valid(out, "alerts test")
    assert document["stack"] == "prod"
    assert [(c["channel"], c["status"]) for c in document["channels"]] == [
        ("slack-webhook", "delivered"),
        ("azure-action-group:messaging-dlq-action-group", "delivered"),
        ("azure-action-group:slack-alerts-action-group", "delivered"),
        ("atlas", "not-supported"),
    ]
    assert GOOD_WEBHOOK_PATH not in out and "s3cr3t" not in out and TOKEN not in out


@pytest.mark.parametrize(
    ("changes", "failing", "expected"),
    [
        (
            {"BACKSTOP_SLACK_WEBHOOK_URL": "GONE"},
            set(),
            {"slack-webhook: failed (Slack answered 404 no_service)"},
        ),
        (
            {},
            {"slack-relay"},
            {
                "azure-action-group:slack-alerts-action-group: failed (LogicApp slack-relay: Failed "
                "(callback returned 500))"
            },
        ),
        (
            {"AZURE_ACCESS_TOKEN": "expired"},
            set(),
            {"azure-action-groups: failed (Azure answered 401 InvalidAuthenticationToken: bad token)"},
        ),
        (
            {"BACKSTOP_SLACK_WEBHOOK_URL": "http://127.0.0.1:9/services/closed"},
            set(),
            {"slack-webhook: failed (could not reach 127.0.0.1: ConnectionError)"},
        ),
    ],
    ids=["webhook-removed", "relay-fails", "bad-token", "slack-unreachable"],
)
def test_a_failing_channel_is_named_with_its_answer(
    fake: AlertEndpointsServer, changes: dict[str, str], failing: set[str], expected: set[str]
) -> None:
    if changes.get("BACKSTOP_SLACK_WEBHOOK_URL") == "GONE":
        changes = {**changes, "BACKSTOP_SLACK_WEBHOOK_URL": fake.url + GONE_WEBHOOK_PATH}
    fake.state.failing_receivers |= failing
    results = run_tests("prod", GROUP, _environ(fake, **changes), now=lambda: NOW)
    failed = {r.line() for r in results if r.status == "failed"}
    assert failed == expected


def test_missing_settings_are_skipped_and_fail_unless_allowed(
    fake: AlertEndpointsServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for key in ("BACKSTOP_SLACK_WEBHOOK_URL", "AZURE_SUBSCRIPTION_ID", "ARM_SUBSCRIPTION_ID"):
        monkeypatch.delenv(key, raising=False)
    code = cli_main(["alerts", "test", "--stack", "staging", "--project-dir", str(ROOT)])
    out, _ = capsys.readouterr()
    assert code == 1
    assert out.splitlines()[:3] == [
        "backstop alerts test: stack staging",
        "  slack-webhook: skipped (BACKSTOP_SLACK_WEBHOOK_URL is not set)",
        "  azure-action-groups: skipped (AZURE_SUBSCRIPTION_ID or ARM_SUBSCRIPTION_ID is not set)",
    ]
    assert (
        cli_main(["alerts", "test", "--stack", "staging", "--project-dir", str(ROOT), "--allow-skipped"]) == 0
    )


def test_no_managed_action_group_is_a_failure(fake: AlertEndpointsServer) -> None:
    fake.state.action_groups[GROUP] = []
    results = run_tests("prod", GROUP, _environ(fake), now=lambda: NOW)
    assert (
        "azure-action-groups: failed (no action group managed by backstop in rg-wiser-prod-backup)"
        in _lines(results)
    )


def test_retry_after_is_honoured_and_a_test_that_never_finishes_times_out(fake: AlertEndpointsServer) -> None:
    fake.state.retry_after = "1"
    fake.state.never_finish = True
    now = [0.0]
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    monitor = AzureMonitor(
        endpoint=fake.url,
        subscription_id=SUBSCRIPTION,
        token=TOKEN,
        session=requests.Session(),
        timeout_seconds=3,
        sleep=sleep,
        clock=lambda: now[0],
    )
    result = monitor.test_action_group(GROUP, DLQ_GROUP)
    assert result.line() == (
        "azure-action-group:messaging-dlq-action-group: failed (the test notification was not done after 3 s)"
    )
    assert waits == [1.0, 1.0, 1.0]


def test_a_bad_stack_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    code = cli_main(["alerts", "test", "--stack", "nope", "--project-dir", str(ROOT)])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert err.startswith("backstop: Pulumi.nope.yaml: no such stack file") and err.count("\n") == 1


@pytest.mark.parametrize("spelling", ["camel", "pascal"])
@pytest.mark.parametrize("failing", [set(), {"slack-relay"}], ids=["all-succeed", "relay-fails"])
def test_the_finished_status_is_read_in_either_spelling(
    fake: AlertEndpointsServer, spelling: str, failing: set[str]
) -> None:
    """The 2022-06-01 spec's example answers `State`, `CompletedTime` (.NET's empty date) and
    `ActionDetails` in PascalCase; camelCase answers are read the same way."""
    fake.state.status_spelling = spelling
    fake.state.failing_receivers |= failing
    results = run_tests("prod", GROUP, _environ(fake), now=lambda: NOW)
    relay = (
        "failed (LogicApp slack-relay: Failed (callback returned 500))"
        if failing
        else "delivered (LogicApp slack-relay: Succeeded)"
    )
    assert _lines(results)[1:3] == [
        "azure-action-group:messaging-dlq-action-group: delivered (Email engineering: Succeeded)",
        f"azure-action-group:slack-alerts-action-group: {relay}",
    ]
    assert sorted(fake.state.polls.values()) == [2, 2]
