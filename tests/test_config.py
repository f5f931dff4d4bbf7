"""Stack configuration: shipped stacks validate, a bad value stops all with one line, secrets stay secret.

Every bad value is written into a real stack file and fed through each way the program is started: the
Pulumi program entry point under backstop's mocks (the recording monitor must see no registration at all),
`infra/__main__.py` (a `pulumi.RunError`, which the engine prints without a traceback) and `backstop plan`
(exit 2, the line on stderr, nothing on stdout).
"""

from __future__ import annotations

import copy
import json
import re
import runpy
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml

from backstop.cli import main as cli_main
from backstop.config import ConfigError, from_pulumi_config
from backstop.config.stackfile import OFFLINE_SECRET, read_stack_file
from backstop.ground import seeds, tokens
from backstop.ground.resources import SECRET_SIG, SECRET_SIG_KEY, UNKNOWN
from backstop.program.mocks import RecordingMonitor, run_stack, run_with_mocks, use_mocks
from backstop.program.stack import main as program_main

ROOT = Path(__file__).resolve().parent.parent
INFRA_MAIN = ROOT / "infra" / "__main__.py"
CIPHERTEXT = "v1:ZmFrZWNpcGhlcnRleHQ=:bm90LWEtcmVhbC1zZWNyZXQ="
SKUS = (
    "'Standard_LRS', 'Standard_ZRS', 'Standard_GRS', 'Standard_RAGRS', 'Standard_GZRS', 'Standard_RAGZRS', "
    "'Premium_LRS', 'Premium_ZRS', 'StandardV2_LRS', 'StandardV2_GRS', 'StandardV2_ZRS', 'StandardV2_GZRS', "
    "'PremiumV2_LRS' or 'PremiumV2_ZRS'"
)


def shipped(stack: str) -> dict[str, Any]:
    return yaml.load((ROOT / f"Pulumi.{stack}.yaml").read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)


def write_project(directory: Path, stack: str, document: dict[str, Any] | str) -> Path:
    """A project directory holding the real `Pulumi.yaml` and the given stack file."""
    shutil.copy(ROOT / "Pulumi.yaml", directory / "Pulumi.yaml")
    text = document if isinstance(document, str) else yaml.safe_dump(document, sort_keys=False)
    (directory / f"Pulumi.{stack}.yaml").write_text(text, encoding="utf-8")
    return directory


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """A change to the stack's `config:` at `path` (`backstop:atlas.backup.x`, `[0]` for list items)."""

    def change(config: dict[str, Any]) -> None:
        head, _, rest = path.partition(".")
        parts: list[Any] = [head] if not rest else [head, *re.findall(r"[^.\[\]]+", rest)]
        parts = [int(p) if isinstance(p, str) and p.isdigit() else p for p in parts]
        target: Any = config
        for part in parts[:-1]:
            target = target[part]
        if value is _DELETE:
            del target[parts[-1]]
        else:
            target[parts[-1]] = value

    return change


def _all(*changes: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    """Several changes to the stack's `config:`, in order."""

    def change(config: dict[str, Any]) -> None:
        for one in changes:
            one(config)

    return change


_DELETE = object()

# (id, stack, change to its `config:`, the exact line)
BAD_VALUES: list[tuple[str, str, Callable[[dict[str, Any]], None], str]] = [
    (
        "hourly-interval-not-atlas",
        "prod",
        _set("backstop:atlas.backup.hourlyIntervalHours", 5),
        "Pulumi.prod.yaml: backstop:atlas.backup.hourlyIntervalHours: "
        "must be one of 1, 2, 4, 6, 8, 12 (got 5)",
    ),
    (
        "daily-shorter-than-hourly",
        "prod",
        _set("backstop:atlas.backup.dailyRetentionDays", 3),
        "Pulumi.prod.yaml: backstop:atlas.backup.dailyRetentionDays: "
        "daily retention (3 d) is shorter than hourly retention (7 d)",
    ),
    (
        "weekly-shorter-than-daily",
        "prod",
        _set("backstop:atlas.backup.dailyRetentionDays", 30),
        "Pulumi.prod.yaml: backstop:atlas.backup.weeklyRetentionWeeks: "
        "weekly retention (4 w) is shorter than daily retention (30 d)",
    ),
    (
        "monthly-shorter-than-weekly",
        "staging",
        _set("backstop:atlas.backup.weeklyRetentionWeeks", 60),
        "Pulumi.staging.yaml: backstop:atlas.backup.monthlyRetentionMonths: "
        "monthly retention (12 mo) is shorter than weekly retention (60 w)",
    ),
    (
        "pitr-longer-than-hourly-retention",
        "prod",
        _set("backstop:atlas.backup.restoreWindowDays", 8),
        "Pulumi.prod.yaml: backstop:atlas.backup.restoreWindowDays: "
        "point-in-time window (8 d) is longer than hourly snapshot retention (7 d)",
    ),
    (
        "copy-region-is-the-source",
        "prod",
        _set("backstop:atlas.backup.copyRegion", "US_EAST_1"),
        "Pulumi.prod.yaml: backstop:atlas.clusters[0].region: "
        "cluster cartie-prod is in US_EAST_1, the same region as the snapshot copy",
    ),
    (
        "two-electable-nodes",
        "prod",
        _set("backstop:atlas.clusters[0].electableNodes", 2),
        "Pulumi.prod.yaml: backstop:atlas.clusters[0].electableNodes: "
        "a replica set needs at least 3 electable nodes (got 2)",
    ),
    (
        "negative-electable-nodes",
        "staging",
        _set("backstop:atlas.clusters[0].electableNodes", -3),
        "Pulumi.staging.yaml: backstop:atlas.clusters[0].electableNodes: "
        "a replica set needs at least 3 electable nodes (got -3)",
    ),
    (
        "even-electable-nodes",
        "prod",
        _set("backstop:atlas.clusters[0].electableNodes", 4),
        "Pulumi.prod.yaml: backstop:atlas.clusters[0].electableNodes: "
        "an even number of electable nodes cannot elect a primary reliably (got 4)",
    ),
    (
        "nodes-as-text",
        "prod",
        _set("backstop:atlas.clusters[0].electableNodes", "3"),
        "Pulumi.prod.yaml: backstop:atlas.clusters[0].electableNodes: "
        "Input should be a valid integer (got '3')",
    ),
    (
        "region-with-two-availability-zones",
        "prod",
        _set("backstop:atlas.clusters[0].region", "US_WEST_1"),
        "Pulumi.prod.yaml: backstop:atlas.clusters[0].region: "
        "Atlas spreads a replica set over only 2 availability zones in US_WEST_1; "
        "pick a region with 3 (such as US_EAST_1)",
    ),
    (
        "atlas-region-spelt-like-aws",
        "prod",
        _set("backstop:atlas.backup.copyRegion", "us-west-2"),
        "Pulumi.prod.yaml: backstop:atlas.backup.copyRegion: "
        "expected an Atlas region name such as US_EAST_1 (got 'us-west-2')",
    ),
    (
        "unknown-azure-sku",
        "staging",
        _set("backstop:azure.storage.sku", "Standard_XRS"),
        f"Pulumi.staging.yaml: backstop:azure.storage.sku: Input should be {SKUS} (got 'Standard_XRS')",
    ),
    (
        "locally-redundant-prod-storage",
        "prod",
        _set("backstop:azure.storage.sku", "Standard_LRS"),
        "Pulumi.prod.yaml: backstop:azure.storage.sku: prod storage must be geo-redundant "
        "(StandardV2_GRS, StandardV2_GZRS, Standard_GRS, Standard_GZRS, Standard_RAGRS, Standard_RAGZRS); "
        "got Standard_LRS",
    ),
    (
        "negative-max-delivery-count",
        "prod",
        _set("backstop:azure.serviceBus.queues[1].maxDeliveryCount", -1),
        "Pulumi.prod.yaml: backstop:azure.serviceBus.queues[1].maxDeliveryCount: "
        "Input should be greater than or equal to 3 (got -1)",
    ),
    (
        "zero-noncurrent-version-days",
        "staging",
        _set("backstop:aws.noncurrentVersionDays", 0),
        "Pulumi.staging.yaml: backstop:aws.noncurrentVersionDays: Input should be greater than 0 (got 0)",
    ),
    (
        "zero-object-lock-days",
        "prod",
        _set("backstop:aws.exportObjectLock.days", 0),
        "Pulumi.prod.yaml: backstop:aws.exportObjectLock.days: Input should be greater than 0 (got 0)",
    ),
    (
        "negative-dead-letter-threshold",
        "prod",
        _set("backstop:azure.serviceBus.deadLetterAlert.threshold", -1),
        "Pulumi.prod.yaml: backstop:azure.serviceBus.deadLetterAlert.threshold: "
        "Input should be greater than or equal to 0 (got -1)",
    ),
    (
        "kms-deletion-window-too-short",
        "prod",
        _set("backstop:aws.kmsDeletionWindowDays", 3),
        "Pulumi.prod.yaml: backstop:aws.kmsDeletionWindowDays: "
        "Input should be greater than or equal to 7 (got 3)",
    ),
    (
        "unknown-nested-key",
        "prod",
        _set("backstop:atlas.backup.hourlyInterval", 6),
        "Pulumi.prod.yaml: backstop:atlas.backup.hourlyInterval: is not a known key",
    ),
    (
        "unknown-top-level-key",
        "staging",
        _set("backstop:retention", {"days": 7}),
        "Pulumi.staging.yaml: backstop:retention: is not a known key",
    ),
    (
        "compliance-policy-in-staging",
        "staging",
        _set(
            "backstop:atlas.compliancePolicy", shipped("prod")["config"]["backstop:atlas"]["compliancePolicy"]
        ),
        "Pulumi.staging.yaml: backstop:atlas.compliancePolicy: "
        "a Backup Compliance Policy is prod-only: it would block drill and staging teardown",
    ),
    (
        "no-compliance-policy-in-prod",
        "prod",
        _set("backstop:atlas.compliancePolicy", _DELETE),
        "Pulumi.prod.yaml: backstop:atlas.compliancePolicy: prod needs a Backup Compliance Policy floor",
    ),
    (
        "replica-region-is-the-source",
        "prod",
        _set("backstop:aws.replicaRegion", "us-east-1"),
        "Pulumi.prod.yaml: backstop:aws.replicaRegion: "
        "the replica region must differ from the source region (both us-east-1)",
    ),
    (
        "structured-key-as-scalar",
        "prod",
        _set("backstop:azure", "rg-wiser-prod-backup"),
        "Pulumi.prod.yaml: backstop:azure: expected a structured (object) value (got 'rg-wiser-prod-backup')",
    ),
    (
        "nested-structured-key-as-scalar",
        "staging",
        _set("backstop:atlas.backup", 6),
        "Pulumi.staging.yaml: backstop:atlas.backup: expected a structured (object) value (got 6)",
    ),
    (
        "bad-duration",
        "prod",
        _set("backstop:drill.rto", "two hours"),
        "Pulumi.prod.yaml: backstop:drill.rto: expected a duration such as 30m, 6h or 7d (got 'two hours')",
    ),
    (
        "negative-duration",
        "prod",
        _set("backstop:drill.rto", "-2h"),
        "Pulumi.prod.yaml: backstop:drill.rto: expected a duration such as 30m, 6h or 7d (got '-2h')",
    ),
    (
        "bad-iso-timespan",
        "prod",
        _set("backstop:azure.serviceBus.queues[0].lockDuration", "1 minute"),
        "Pulumi.prod.yaml: backstop:azure.serviceBus.queues[0].lockDuration: "
        "expected an ISO-8601 duration above zero, such as PT1M or P14D (got '1 minute')",
    ),
    (
        "lock-longer-than-service-bus-allows",
        "staging",
        _set("backstop:azure.serviceBus.topics[0].subscriptions[1].lockDuration", "PT10M"),
        "Pulumi.staging.yaml: backstop:azure.serviceBus.topics[0].subscriptions[1].lockDuration: "
        "Service Bus allows a lock of at most PT5M (got PT10M)",
    ),
    (
        "alert-window-shorter-than-frequency",
        "prod",
        _set("backstop:azure.serviceBus.deadLetterAlert.windowSize", "PT1M"),
        "Pulumi.prod.yaml: backstop:azure.serviceBus.deadLetterAlert.windowSize: "
        "must be at least evaluationFrequency (PT5M); Azure requires it",
    ),
    (
        "dead-letter-alert-frequency-azure-refuses",
        "prod",
        _set("backstop:azure.serviceBus.deadLetterAlert.evaluationFrequency", "PT2M"),
        "Pulumi.prod.yaml: backstop:azure.serviceBus.deadLetterAlert.evaluationFrequency: Azure allows a "
        "metric alert evaluation frequency of PT1M, PT5M, PT15M, PT30M, PT1H (got 'PT2M')",
    ),
    (
        "dead-letter-alert-window-azure-refuses",
        "prod",
        _set("backstop:azure.serviceBus.deadLetterAlert.windowSize", "PT20M"),
        "Pulumi.prod.yaml: backstop:azure.serviceBus.deadLetterAlert.windowSize: Azure allows a "
        "metric alert window size of PT1M, PT5M, PT15M, PT30M, PT1H, PT6H, PT12H, P1D (got 'PT20M')",
    ),
    (
        "unknown-environment",
        "prod",
        _set("backstop:environment", "production"),
        "Pulumi.prod.yaml: backstop:environment: Input should be 'prod' or 'staging' (got 'production')",
    ),
    (
        "plaintext-slack-webhook",
        "prod",
        _set("backstop:slackWebhookUrl", "https://hooks.slack.com/services/T0/B0/plaintext"),
        "Pulumi.prod.yaml: backstop:slackWebhookUrl: must be stored as a secret "
        "(`pulumi config set --secret backstop:slackWebhookUrl ...`), not in plain text",
    ),
    (
        "bucket-like-an-ip-address",
        "prod",
        _set("backstop:aws.mediaBucket", "192.168.5.4"),
        "Pulumi.prod.yaml: backstop:aws.mediaBucket: '192.168.5.4': an S3 bucket name must not look like an "
        "IP address",
    ),
    (
        "bucket-reserved-suffix",
        "prod",
        _set("backstop:aws.exportBucket", "cartie-exports--ol-s3"),
        "Pulumi.prod.yaml: backstop:aws.exportBucket: 'cartie-exports--ol-s3': S3 "
        "reserves the suffix '--ol-s3'",
    ),
    (
        "bucket-replica-too-long",
        "prod",
        _set("backstop:aws.exportBucket", "cartie-production-atlas-cloud-backup-exports-offsite12"),
        "Pulumi.prod.yaml: backstop:aws.exportBucket: its copy-region replica "
        "'cartie-production-atlas-cloud-backup-exports-offsite12-us-west-2' is 64 "
        "characters; S3 bucket names "
        "have 3-63",
    ),
    (
        "storage-account-with-hyphens",
        "prod",
        _set("backstop:azure.storage.accountName", "wiser-prod-media"),
        "Pulumi.prod.yaml: backstop:azure.storage.accountName: 'wiser-prod-media': "
        "storage account names have "
        "3-24 lowercase letters and digits only",
    ),
    (
        "namespace-reserved-suffix",
        "prod",
        _set("backstop:azure.serviceBus.namespaceName", "wiser-prod-sb"),
        "Pulumi.prod.yaml: backstop:azure.serviceBus.namespaceName: 'wiser-prod-sb': a Service Bus namespace "
        "name must not end with '-sb'",
    ),
    (
        "suffix-makes-the-storage-account-too-long",
        "staging",
        _set("backstop:nameSuffix", "abcdefgh"),
        "Pulumi.staging.yaml: backstop:azure.storage.accountName: "
        "'wiserstagingmediaabcdefgh': storage account "
        "names have 3-24 lowercase letters and digits only (with nameSuffix)",
    ),
    (
        "suffix-makes-the-registry-name-too-long",
        "prod",
        _all(
            _set("backstop:nameSuffix", "abc"),
            _set("backstop:app.registry.name", "wiserprodregistry" + "x" * 31),
        ),
        "Pulumi.prod.yaml: backstop:app.registry.name: 'wiserprodregistry" + "x" * 31 + "abc': container "
        "registry names have 5-50 letters and digits only (with nameSuffix)",
    ),
    (
        "suffix-makes-the-standby-app-name-too-long",
        "prod",
        _all(_set("backstop:nameSuffix", "abc"), _set("backstop:app.apps[0].name", "wiser-" + "p" * 44)),
        "Pulumi.prod.yaml: backstop:app.apps[0].name: its standby 'wiser-"
        + "p" * 44
        + "-abc-secondary' is 64 "
        "characters; App Service app names have 2-60 (with nameSuffix)",
    ),
    (
        "suffix-with-capitals",
        "prod",
        _set("backstop:nameSuffix", "Prod1"),
        "Pulumi.prod.yaml: backstop:nameSuffix: 'Prod1': expected 1-8 lowercase letters "
        "and digits, or 'auto'",
    ),
    (
        "lifecycle-shorter-than-the-lock",
        "prod",
        _set("backstop:aws.noncurrentVersionDays", 30),
        "Pulumi.prod.yaml: backstop:aws.exportObjectLock: noncurrentVersionDays (30) is "
        "shorter than the lock "
        "(400 days): the lifecycle would expire export versions the lock is meant to keep",
    ),
    (
        "plaintext-slack-token",
        "prod",
        _set("backstop:slackApiToken", "xoxb-plaintext"),
        "Pulumi.prod.yaml: backstop:slackApiToken: must be stored as a secret "
        "(`pulumi config set --secret backstop:slackApiToken ...`), not in plain text",
    ),
    (
        "slack-channel-with-hash",
        "prod",
        _set("backstop:atlas.alerts.slackChannel", "#alerts"),
        "Pulumi.prod.yaml: backstop:atlas.alerts.slackChannel: write the channel name without '#' "
        "('alerts'); Atlas adds no '#'",
    ),
    (
        "snapshot-behind-fires-every-cycle",
        "prod",
        _set("backstop:atlas.alerts.snapshotBehindHours", 6),
        "Pulumi.prod.yaml: backstop:atlas.alerts.snapshotBehindHours: 6 h would fire before every "
        "6-hourly snapshot; use more than 6",
    ),
    (
        "snapshot-behind-after-the-rpo",
        "staging",
        _set("backstop:atlas.alerts.snapshotBehindHours", 168),
        "Pulumi.staging.yaml: backstop:atlas.alerts.snapshotBehindHours: 168 h fires after the snapshot RPO "
        "is long lost; at most 12 h (6 h snapshot interval + the snapshot RPO)",
    ),
    (
        "key-rotation-over-a-year",
        "prod",
        _set("backstop:atlas.alerts.keyRotationDays", 400),
        "Pulumi.prod.yaml: backstop:atlas.alerts.keyRotationDays: Input should be less than or equal to 365 "
        "(got 400)",
    ),
]
BAD_IDS = [case[0] for case in BAD_VALUES]


def _bad_document(stack: str, change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    document = copy.deepcopy(shipped(stack))
    change(document["config"])
    return document


def _mocked_engine(project: Path, stack: str) -> RecordingMonitor:
    """The Pulumi runtime pointed at fresh mocks, holding the stack file's config as the engine would."""
    stack_file = read_stack_file(project, stack)
    return use_mocks(stack=stack, config=stack_file.engine_config(), secret_keys=stack_file.secret_keys)


@pytest.mark.parametrize(("case", "stack", "change", "line"), BAD_VALUES, ids=BAD_IDS)
def test_program_entry_point_stops_before_registering_anything(
    tmp_path: Path, case: str, stack: str, change: Callable[[dict[str, Any]], None], line: str
) -> None:
    project = write_project(tmp_path, stack, _bad_document(stack, change))
    monitor = _mocked_engine(project, stack)
    with pytest.raises(ConfigError) as raised:
        run_with_mocks(program_main, stack=stack, monitor=monitor)
    assert str(raised.value) == line
    assert "\n" not in line
    assert monitor.registrations == []


@pytest.mark.parametrize(("case", "stack", "change", "line"), BAD_VALUES, ids=BAD_IDS)
def test_infra_main_raises_a_run_error_with_the_line(
    tmp_path: Path, case: str, stack: str, change: Callable[[dict[str, Any]], None], line: str
) -> None:
    project = write_project(tmp_path, stack, _bad_document(stack, change))
    monitor = _mocked_engine(project, stack)
    with pytest.raises(pulumi.RunError) as raised:
        run_with_mocks(
            lambda: runpy.run_path(str(INFRA_MAIN), run_name="__main__"), stack=stack, monitor=monitor
        )
    assert str(raised.value) == line
    assert monitor.registrations == []


@pytest.mark.parametrize(("case", "stack", "change", "line"), BAD_VALUES, ids=BAD_IDS)
def test_backstop_plan_exits_2_with_the_line_on_stderr_only(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    case: str,
    stack: str,
    change: Callable[[dict[str, Any]], None],
    line: str,
) -> None:
    project = write_project(tmp_path, stack, _bad_document(stack, change))
    code = cli_main(["plan", "--stack", stack, "--project-dir", str(project)])
    out, err = capsys.readouterr()
    assert (code, out, err) == (2, "", f"backstop: {line}\n")


@pytest.mark.parametrize(
    ("text", "line"),
    [
        (
            "config:\n  backstop:environment: prod\n  backstop:atlas: {orgId: x\n",
            "Pulumi.prod.yaml: not valid YAML (line 4)",
        ),
        ("- just\n- a list\n", "Pulumi.prod.yaml: expected a mapping with a `config:` key"),
        (
            "config:\n  environment: prod\n",
            "Pulumi.prod.yaml: config.environment: keys must be namespaced, like `backstop:atlas`",
        ),
    ],
    ids=["malformed-yaml", "not-a-mapping", "key-without-namespace"],
)
def test_a_stack_file_that_is_not_pulumi_config_is_one_line_too(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, line: str
) -> None:
    project = write_project(tmp_path, "prod", text)
    with pytest.raises(ConfigError, match=f"^{re.escape(line)}$"):
        read_stack_file(project, "prod")
    code = cli_main(["plan", "--stack", "prod", "--project-dir", str(project)])
    out, err = capsys.readouterr()
    assert (code, out, err) == (2, "", f"backstop: {line}\n")


# --- the shipped stacks -----------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", ["prod", "staging"])
def test_shipped_stack_files_validate_offline_and_through_the_sdk(stack: str) -> None:
    offline = read_stack_file(ROOT, stack).stack_config()
    _mocked_engine(ROOT, stack)
    assert from_pulumi_config() == offline
    assert offline.environment == stack
    backup = offline.atlas.backup
    # The seed numbers hold in both stacks (staging relies on the defaults for most of them).
    assert (backup.hourly_interval_hours, backup.restore_window_days) == (seeds.SNAPSHOT_INTERVAL_HOURS, 7)
    assert (backup.daily_retention_days, backup.weekly_retention_weeks, backup.monthly_retention_months) == (
        7,
        4,
        12,
    )
    assert (backup.copy_region, backup.copy_oplogs, backup.export_frequency) == ("US_WEST_2", True, "weekly")
    assert [c.electable_nodes for c in offline.atlas.clusters] == [3]
    assert (offline.aws.region, offline.aws.replica_region) == ("us-east-1", "us-west-2")
    assert (offline.atlas.compliance_policy is not None) is (stack == "prod")


SECRET_NAMES = re.compile(r"secret|password|passwd|token|webhook|private.?key|api.?key|credential", re.I)
SECRET_TEXT = [
    re.compile(r"hooks\.slack\.com"),
    re.compile(r"https?://[^\s]*(token|key|secret|sig)=", re.I),
    re.compile(r"AKIA[0-9A-Z]{16}"),
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    re.compile(r"xox[abpr]-[0-9A-Za-z-]+"),
    re.compile(r"(password|passwd|secret)\s*[:=]\s*\S", re.I),
]


def _secret_named_values(value: Any, path: str = "") -> list[tuple[str, Any]]:
    found: list[tuple[str, Any]] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if SECRET_NAMES.search(str(key)):
                found.append((f"{path}.{key}", item))
            else:
                found += _secret_named_values(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _secret_named_values(item, f"{path}[{index}]")
    return found


@pytest.mark.parametrize("path", sorted(ROOT.glob("Pulumi*.yaml")), ids=lambda p: p.name)
def test_project_and_stack_files_hold_no_plaintext_secrets(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    for line in text.splitlines():
        content = line.split("#", 1)[0]  # comments may show the `pulumi config set --secret` command
        for pattern in SECRET_TEXT:
            assert not pattern.search(content), f"{path.name}: {line.strip()}"
    document = yaml.safe_load(text)
    for key_path, value in _secret_named_values(document.get("config") or {}):
        if path.name == "Pulumi.yaml":  # the project file declares keys, it never holds values
            continue
        assert isinstance(value, dict) and set(value) == {"secure"}, (
            f"{path.name}: {key_path} is not `secure:`"
        )


def test_the_secret_scan_would_catch_a_plaintext_webhook(tmp_path: Path) -> None:
    document = copy.deepcopy(shipped("prod"))
    document["config"]["backstop:slackWebhookUrl"] = "https://hooks.slack.com/services/T0/B0/x"
    text = yaml.safe_dump(document)
    assert any(pattern.search(text) for pattern in SECRET_TEXT)
    [(key_path, value)] = _secret_named_values(document["config"])
    assert key_path == ".backstop:slackWebhookUrl" and not isinstance(value, dict)


# --- secrets in stack files -------------------------------------------------------------------------------


def _with_encrypted_webhook(directory: Path) -> Path:
    """The shipped prod stack with both Slack secrets stored as `pulumi config set --secret` writes them."""
    document = copy.deepcopy(shipped("prod"))
    document["config"]["backstop:slackWebhookUrl"] = {"secure": CIPHERTEXT}
    document["config"]["backstop:slackApiToken"] = {"secure": CIPHERTEXT}
    return write_project(directory, "prod", document)


def test_an_encrypted_value_is_read_offline_as_a_secret_not_as_text(tmp_path: Path) -> None:
    project = _with_encrypted_webhook(tmp_path)
    stack_file = read_stack_file(project, "prod")
    assert stack_file.values["backstop:slackWebhookUrl"] == OFFLINE_SECRET
    assert stack_file.secret_keys == ["backstop:slackWebhookUrl", "backstop:slackApiToken"]
    assert CIPHERTEXT not in json.dumps(stack_file.engine_config())
    stack_file.stack_config()  # encrypted Slack secrets are what the config asks for

    monitor = _mocked_engine(project, "prod")
    run = run_with_mocks(program_main, stack="prod", monitor=monitor)
    slack = [r for r in monitor.registrations if r.name.endswith("-slack")]
    assert len(slack) == 9
    for registration in slack:
        # Still a secret on the wire, its (undecryptable) value never the ciphertext.
        assert registration.inputs["notifications"][SECRET_SIG_KEY] == SECRET_SIG
        [notification] = registration.inputs["notifications"]["value"]
        assert (notification["typeName"], notification["apiToken"]) == ("SLACK", OFFLINE_SECRET)
    [relay] = [r for r in monitor.registrations if r.type == tokens.AZ_LOGIC_WORKFLOW]
    assert relay.inputs["parameters"][SECRET_SIG_KEY] == SECRET_SIG
    recorded = {r.name: r for r in run.resources}
    assert {recorded[r.name].props["notifications"] is UNKNOWN for r in slack} == {True}
    assert CIPHERTEXT not in json.dumps([dict(r.props) for r in run.resources], default=repr)


def test_plan_of_a_stack_with_an_encrypted_webhook_succeeds_without_showing_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = _with_encrypted_webhook(tmp_path)
    code = cli_main(["plan", "--stack", "prod", "--project-dir", str(project), "--format", "json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert CIPHERTEXT not in out and "hooks.slack.com" not in out


def test_run_stack_of_the_shipped_prod_declares_email_alerts_only() -> None:
    run = run_stack(ROOT, "prod")
    alerts = [r for r in run.resources if r.name.startswith("atlas-alert-")]
    assert len(alerts) == 9
    assert not [r for r in alerts if r.name.endswith("-slack")]
