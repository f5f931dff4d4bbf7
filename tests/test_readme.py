"""The README opens with the two commands of a fresh machine, and CI runs the same test command."""

from __future__ import annotations

import re

from tests.conftest import ROOT


def _readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```sh\n(.*?)```", text, re.S)
    assert block is not None, "README must open with a sh code block"
    assert text.index(block.group(0)) < text.index("\n\n", text.index("# backstop") + 12) + 2
    return [line for line in block.group(1).splitlines() if line.strip()]


def test_readme_opens_with_exactly_the_main_job_and_the_tests() -> None:
    commands = _readme_commands()
    assert len(commands) == 2
    assert commands[0].endswith("backstop plan --stack prod")
    assert commands[1].endswith("python -m pytest -q")


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    ci_lines = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert _readme_commands()[1] in ci_lines


def test_the_readme_lists_every_registered_rule_with_its_severity() -> None:
    from backstop.policy.core import load_rules

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Rules\n", 1)[1].split("\n## ", 1)[0]
    listed = dict(re.findall(r"^\| `([a-z0-9-]+)` \| (\w+) \|", section, re.M))
    assert listed == {rule.id: str(rule.severity) for rule in load_rules()}


def test_what_looks_protected_names_its_rules_and_cites_documentation() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## What looks protected but is not\n", 1)[1].split("\n## ", 1)[0]
    from backstop.policy.core import load_rules

    registered = set(load_rules().ids())
    named = set(re.findall(r"`([a-z0-9]+(?:-[a-z0-9]+)+)`", section)) & registered
    assert {
        "s3-replication-scope",
        "s3-lifecycle-retention",
        "s3-public-access-block",
        "kms-key-enabled",
        "kms-key-policy-deletion",
        "kms-replica-deletion-window",
        "atlas-cross-region-copy",
        "atlas-copy-retention",
        "atlas-backup-alerts",
        "atlas-cluster-keeps-backups",
        "azure-blob-recovery-scope",
        "azure-storage-geo-redundant",
        "servicebus-auto-delete-on-idle",
        "servicebus-forwarding",
        "servicebus-delivery-window",
    } <= named
    # Every bullet cites the provider documentation it comes from.
    bullets = [b for b in re.split(r"\n- ", section)[1:]]
    assert bullets and all(
        "](https://" in b or "same page" in b or " spec" in b or "pulumi-" in b for b in bullets
    )
