"""The manual (docs/, MkDocs with the Material theme): it builds under `--strict`, its rules pages follow the
registry, and the catalogue of settings that look protected names its rules and cites its sources."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

DOCS = ROOT / "docs"


def test_the_rules_page_lists_every_registered_rule_with_its_severity() -> None:
    from backstop.policy.core import load_rules

    text = (DOCS / "rules.md").read_text(encoding="utf-8")
    listed = dict(re.findall(r"^\| `([a-z0-9-]+)` \| (\w+) \|", text, re.M))
    assert listed == {rule.id: str(rule.severity) for rule in load_rules()}


def test_what_looks_protected_names_its_rules_and_cites_documentation() -> None:
    section = (DOCS / "what-looks-protected.md").read_text(encoding="utf-8")
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


# --- the rules reference, generated from the registry ------------------------------------------------------


def test_the_committed_rules_reference_is_the_one_the_registry_generates() -> None:
    from backstop.policy.core import load_rules
    from backstop.policy.reference import COMMAND, render

    committed = (DOCS / "rules-reference.md").read_text(encoding="utf-8")
    assert committed == render(load_rules()), f"regenerate it: {COMMAND}"


def test_the_reference_shows_a_rule_s_severity_levels_seed_fix_and_settings() -> None:
    from backstop.policy.core import RuleRegistry, Severity, resource_rule
    from backstop.policy.reference import render

    registry = RuleRegistry()
    resource_rule(
        id="demo-window",
        types=["mongodbatlas:index/cloudBackupSchedule:CloudBackupSchedule"],
        description="Seed: 'within last 7 days'. Applies to <schedules> and *_POLICY items.",
        severity=Severity.HIGH,
        remediation="Set restore_window_days to $min_restore_window_days; `--name <registry>` stays code.",
        tunables=("min_restore_window_days", "require_geo_redundant_storage"),
        registry=registry,
    )(lambda resource, targets: iter(()))
    page = render(registry)

    assert "| [`demo-window`](#demo-window) | high | mandatory | advisory | each resource |" in page
    section = page.split("\n## `demo-window`\n", 1)[1]
    assert "**high** · prod: mandatory · staging: advisory" in section
    assert "`mongodbatlas:index/cloudBackupSchedule:CloudBackupSchedule` (`Analyze`)" in section
    # Markdown would swallow `<schedules>` as a tag and `*_` as emphasis; code spans are shown as written.
    assert "Applies to &lt;schedules&gt; and \\*_POLICY items." in section
    assert "**Fix** (prod): Set restore_window_days to 7; `--name <registry>` stays code." in section
    assert "| `minRestoreWindowDays` | `7` | `7` |" in section
    assert "| `requireGeoRedundantStorage` | `true` | `false` |" in section


def test_the_generator_refuses_a_stale_page_and_rewrites_it(tmp_path: Path) -> None:
    from backstop.policy.core import load_rules
    from backstop.policy.reference import main, render

    page = tmp_path / "rules-reference.md"
    page.write_text("# Rules reference\n\nhand-edited\n", encoding="utf-8")
    assert main([str(page), "--check"]) == 1
    assert main([str(page)]) == 0
    assert page.read_text(encoding="utf-8") == render(load_rules())
    assert main([str(page), "--check"]) == 0


# --- the site -----------------------------------------------------------------------------------------------


def _hooks():  # type: ignore[no-untyped-def]
    import importlib.util

    spec = importlib.util.spec_from_file_location("backstop_mkdocs_hooks", ROOT / "tools" / "mkdocs_hooks.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_docs_build_warns_on_a_stale_rules_reference(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    hooks = _hooks()
    (tmp_path / "rules-reference.md").write_text("# Rules reference\n", encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="mkdocs"):
        hooks.on_pre_build({"docs_dir": str(tmp_path)})
    assert [r.getMessage() for r in caplog.records] == [
        "rules-reference.md is out of date with the rule registry; regenerate it: "
        ".venv/bin/python -m backstop.policy.reference docs/rules-reference.md"
    ]
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="mkdocs"):
        hooks.on_pre_build({"docs_dir": str(DOCS)})
    assert caplog.records == []


def test_the_home_page_is_the_readme_with_its_links_made_relative_to_docs() -> None:
    home = _hooks().home_page("[Rules](docs/rules.md), [shot](docs/evidence/first-screen.png), `docs/x`")
    assert home == "[Rules](rules.md), [shot](evidence/first-screen.png), `docs/x`"
    # A page links the README as GitHub resolves it; on the site that is the home page.
    link = _hooks().readme_links_to_home
    assert link("see [the top](../README.md)", "policy-pack.md") == "see [the top](index.md)"
    assert link("[top](../../README.md#backstop)", "commands/plan.md") == "[top](../index.md#backstop)"
    assert link("[other](../README.md)", "commands/plan.md") == "[other](../README.md)"


def test_mkdocs_build_strict_builds_every_page(tmp_path: Path) -> None:
    site = tmp_path / "site"
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},  # Material's end-of-life notice, printed every build
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "WARNING" not in done.stderr
    home = (site / "index.html").read_text(encoding="utf-8")
    assert 'href="commands/recover/"' in home  # the README's docs/ links, relative to the site
    recover = (site / "commands" / "recover" / "index.html").read_text(encoding="utf-8")
    assert "Step 1 — identify the loss." in recover
    reference = (site / "rules-reference" / "index.html").read_text(encoding="utf-8")
    assert 'id="atlas-pitr-window"' in reference
    # The sample evidence bundle is published as it is, next to the page that shows it.
    assert (site / "evidence" / "evidence-prod-2026Q2" / "index.html").is_file()
    assert (site / "evidence" / "first-screen.png").is_file()
