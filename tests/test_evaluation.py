"""Evaluation as every front end shares it: a rule that raises fails closed, and the report says how much
of the document any rule could see."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from backstop.cli import main
from backstop.ground import tokens
from backstop.ground.resources import Resource
from backstop.policy import crossguard
from backstop.policy.core import RuleRegistry, Severity, evaluate, resource_rule, stack_rule
from backstop.policy.formats import render
from backstop.policy.targets import PolicyTargets
from tests.policy_support import res, to_preview


def _broken_registry() -> RuleRegistry:
    registry = RuleRegistry()

    @resource_rule(
        id="broken-resource-rule",
        types=[tokens.S3_BUCKET],
        description="a rule with a bug",
        severity=Severity.HIGH,
        remediation="fix the rule",
        registry=registry,
    )
    def _resource(resource, targets):
        raise KeyError("versioning")

    @stack_rule(
        id="broken-stack-rule",
        description="a stack rule with a bug",
        severity=Severity.MEDIUM,
        remediation="fix the rule",
        registry=registry,
    )
    def _stack(stack, targets):
        stack.of(tokens.AZ_SB_NAMESPACE)
        raise ZeroDivisionError("division by zero")

    return registry


BUCKET = res(tokens.S3_BUCKET, "media")


def test_a_rule_that_raises_is_mandatory_in_prod_and_fails_the_gate() -> None:
    report = evaluate([BUCKET], PolicyTargets.for_environment("prod"), registry=_broken_registry())
    assert {(v.policy, v.urn, v.level, v.unknown) for v in report.violations} == {
        ("broken-resource-rule", BUCKET.urn, "mandatory", False),
        ("broken-stack-rule", "", "mandatory", False),
    }
    assert report.exit_code == 1
    messages = {v.policy: v.message for v in report.violations}
    assert messages["broken-resource-rule"] == (
        "rule broken-resource-rule could not evaluate: KeyError: 'versioning'"
    )


def test_a_rule_that_raises_keeps_the_rules_level_in_staging() -> None:
    report = evaluate([BUCKET], PolicyTargets.for_environment("staging"), registry=_broken_registry())
    assert {v.level for v in report.violations} == {"advisory"}
    assert report.exit_code == 0


def test_a_rule_that_raises_is_a_violation_in_crossguard_too() -> None:
    rule = _broken_registry().get("broken-resource-rule")
    reported: list[tuple[str, str | None]] = []
    crossguard.report(
        rule,
        rule.run(BUCKET, PolicyTargets.for_environment("prod")),
        PolicyTargets.for_environment("prod"),
        lambda message, urn=None: reported.append((message.splitlines()[0], urn)),
    )
    assert reported == [("rule broken-resource-rule could not evaluate: KeyError: 'versioning'", BUCKET.urn)]


ECS_RDS_STACK = [
    res("aws:ecs/cluster:Cluster", "app"),
    res("aws:ecs/service:Service", "web"),
    res("aws:rds/instance:Instance", "db", {"backupRetentionPeriod": 0}),
    res("aws:ec2/securityGroup:SecurityGroup", "db-sg"),
]


def test_scope_counts_resources_of_a_type_some_rule_reads() -> None:
    resources = [
        *ECS_RDS_STACK,
        res(tokens.S3_BUCKET, "media"),
        res(tokens.S3_VERSIONING, "media-versioning", {"bucket": "media"}),
        res(tokens.AZ_SB_NAMESPACE, "bus"),
    ]
    report = evaluate(resources, PolicyTargets.for_environment("prod"))
    assert (report.checked_count, report.resource_count) == (3, 7)
    assert report.summary()["resourcesChecked"] == 3


def test_a_document_backstop_cannot_see_into_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    path = tmp_path / "ecs-rds.json"
    path.write_text(json.dumps(to_preview(ECS_RDS_STACK)), encoding="utf-8")
    code = main(["check", str(path)])
    out = capsys.readouterr().out
    assert code == 0
    lines = out.splitlines()
    # The stack resource is a resource of the document too: 5 in all, none of them checked.
    assert lines[1] == (
        "  0 of 5 resources are of a type backstop checks: nothing in this document was checked, "
        "so a pass here proves nothing"
    )
    assert lines[-1].endswith("; 0/5 resources checked")
    assert json.loads(render(evaluate([], PolicyTargets()), "json", "x"))["summary"]["resourcesChecked"] == 0
    assert "0 of 0 resources are of a type backstop checks" in render(
        evaluate([], PolicyTargets()), "markdown", "x"
    )


def test_the_prod_program_reports_its_scope(prod_run) -> None:
    report = evaluate(prod_run.resources, PolicyTargets.for_environment("prod"))
    assert report.exit_code == 0
    assert 0 < report.checked_count < report.resource_count == len(prod_run.resources)
    assert report.summary()["resourcesChecked"] == report.checked_count
    # Component resources are never of a type a rule reads; Atlas clusters always are.
    components = [r for r in prod_run.resources if r.type in tokens.COMPONENTS]
    clusters = [r for r in prod_run.resources if r.type == tokens.ATLAS_ADVANCED_CLUSTER]
    assert evaluate(components, PolicyTargets()).checked_count == 0 < len(components)
    assert evaluate(clusters, PolicyTargets()).checked_count == len(clusters) > 0


# --- remediation states the target in force -----------------------------------------------------------


def test_a_boolean_target_is_stated_as_config_spells_it() -> None:
    """`releaseTagsLocked: true` is what the user writes, so the fix says `true`, never Python's `True`."""
    from backstop.policy.core import load_rules

    rule = load_rules().get("acr-release-tags-locked")
    prod = PolicyTargets.for_environment("prod")
    assert "(now: false)" in rule.remediation_for(prod)
    assert "(now: true)" in rule.remediation_for(prod.with_config({"releaseTagsLocked": True}, "test"))


def test_a_tuned_target_is_the_one_the_fix_asks_for(prod_run) -> None:
    """`minRestoreWindowDays: 14`: the fix says "14 or more", in the report, the text output, SARIF and
    the CrossGuard message, never the seed's 7."""
    from tests.policy_support import mutate

    schedule = next(r for r in prod_run.resources if r.type == tokens.ATLAS_BACKUP_SCHEDULE)
    resources = mutate(prod_run.resources, schedule.name, {"restoreWindowDays": 10.0})
    targets = PolicyTargets.for_environment("prod").with_config({"minRestoreWindowDays": 14})
    report = evaluate(resources, targets)
    found = [v for v in report.violations if v.policy == "atlas-pitr-window"]
    assert found and all("restore_window_days to 14 or more" in v.remediation for v in found)
    assert not any("7 or more" in v.remediation for v in found)
    assert "restore_window_days to 14 or more" in render(report, "text", "prog")
    sarif = json.loads(render(report, "sarif", "prog"))
    [rule] = [r for r in sarif["runs"][0]["tool"]["driver"]["rules"] if r["id"] == "atlas-pitr-window"]
    assert "restore_window_days to 14 or more" in rule["help"]["text"]
    from backstop.policy.core import load_rules

    pitr = load_rules().get("atlas-pitr-window")
    messages: list[str] = []
    crossguard.report(
        pitr,
        pitr.run(schedule_of(resources, schedule.name), targets),
        targets,
        lambda m, u=None: messages.append(m),
    )
    assert messages and all("Remediation: Set restore_window_days to 14 or more" in m for m in messages)


def schedule_of(resources: list[Resource], name: str) -> Resource:
    return next(r for r in resources if r.name == name and r.custom)


def _tuned(field: str, default: object) -> object:
    """A valid value for `field` that differs from its default and prints distinctly."""
    if field == "encryption_at_rest_providers":
        return ["AWS", "AZURE"]
    if isinstance(default, list):
        return default[-1:] if len(default) > 1 else None
    for candidate in (29, 23, 5, 3, 2):
        if candidate == default:
            continue
        try:
            PolicyTargets.for_environment("prod", **{field: candidate})
        except Exception:
            continue
        return candidate
    return None


def test_every_rule_states_each_numeric_and_closed_set_target_in_force() -> None:
    """Every rule's remediation names the target it runs with, for every number or closed set it reads."""
    from backstop.policy.core import load_rules, target_text

    base = PolicyTargets.for_environment("prod")
    checked = 0
    for rule in load_rules():
        for field in rule.tunables:
            default = getattr(base, field)
            if isinstance(default, bool) or not isinstance(default, int | float | list):
                continue
            if field in ("prod_cluster_names", "prod_project_names", "prod_project_ids", "widget_hosts"):
                continue  # inventories, not targets
            if field == "backup_principals":
                continue
            value = _tuned(field, default)
            assert value is not None, field
            tuned = base.model_copy(update={field: value})
            text = rule.remediation_for(tuned)
            assert target_text(value) in text, (rule.id, field, text)
            assert text != rule.remediation_for(base), (rule.id, field)
            assert "$" not in text, (rule.id, text)
            checked += 1
    assert checked >= 25
