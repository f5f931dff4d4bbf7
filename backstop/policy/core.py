"""Rules, the registry that collects them, and the evaluation every front end shares.

A rule is one small unit: an id, a description citing its basis in the seeds, a severity, a remediation
hint, the policy settings it reads, and a pure check function. Resource rules look at one resource (they
run in CrossGuard's `Analyze`, per resource, even at preview); stack rules join across resources (they run
in `AnalyzeStack`) and always name the URN of the resource at fault.
"""

from __future__ import annotations

import importlib
import pkgutil
import string
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Literal

from backstop.ground.memory import gc_paused
from backstop.ground.resources import Resource
from backstop.policy.targets import LevelName, PolicyTargets

if TYPE_CHECKING:
    from backstop.policy.stackview import StackView


class Severity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


@dataclass(frozen=True)
class Finding:
    """What a check says about one resource. `unknown`: the value cannot be known yet (preview)."""

    urn: str
    message: str
    unknown: bool = False


def violation(resource: Resource, message: str) -> Finding:
    return Finding(resource.urn, message)


def unknown(resource: Resource, what: str) -> Finding:
    return Finding(resource.urn, f"{what} is not known until the resource is created", unknown=True)


ResourceCheck = Callable[[Resource, PolicyTargets], Iterable[Finding]]
StackCheck = Callable[["StackView", PolicyTargets], Iterable[Finding]]


@dataclass(frozen=True)
class Rule:
    id: str
    description: str
    severity: Severity
    remediation: str
    scope: Literal["resource", "stack"]
    check: Callable[..., Iterable[Finding]]
    resource_types: frozenset[str] = frozenset()
    tunables: tuple[str, ...] = ()

    def remediation_for(self, targets: PolicyTargets) -> str:
        """The remediation with the targets in force: `$min_restore_window_days` reads `14` when tuned to 14,
        so a fix never asks for the seed's default when a stricter (or looser) target is configured."""
        return string.Template(self.remediation).safe_substitute(
            {name: target_text(getattr(targets, name)) for name in PolicyTargets.model_fields}
        )

    def run(self, subject: Any, targets: PolicyTargets) -> list[Finding]:
        """Run the check. A rule that raises fails closed: its error is a definite finding at the rule's
        level (mandatory in prod), never an unknown, so a broken rule cannot make a gate greener."""
        try:
            return list(self.check(subject, targets))
        except Exception as exc:  # a rule bug must surface as a failing finding, not a crash or a pass
            urn = subject.urn if isinstance(subject, Resource) else ""
            return [Finding(urn, f"rule {self.id} could not evaluate: {type(exc).__name__}: {exc}")]


def target_text(value: Any) -> str:
    """A target as a fix states it, as the user writes it in config: whole floats as integers, lists
    comma-separated, booleans `true`/`false`."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ", ".join(target_text(v) for v in value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


class DuplicateRuleError(Exception):
    pass


class RuleRegistry:
    """Collects rules by id and refuses a second rule with an id already taken."""

    def __init__(self) -> None:
        self._rules: dict[str, Rule] = {}

    def add(self, rule: Rule) -> Rule:
        if rule.id in self._rules:
            raise DuplicateRuleError(f"rule id {rule.id!r} is registered twice")
        if not rule.description or not rule.remediation:
            raise ValueError(f"rule {rule.id!r} needs a description and a remediation hint")
        unknown_settings = set(rule.tunables) - set(PolicyTargets.model_fields)
        if unknown_settings:
            raise ValueError(f"rule {rule.id!r} names unknown policy settings {sorted(unknown_settings)}")
        placeholders = {
            named or braced
            for _, named, braced, _ in string.Template.pattern.findall(rule.remediation)
            if named or braced
        }
        unknown_placeholders = placeholders - set(PolicyTargets.model_fields)
        if unknown_placeholders:
            raise ValueError(
                f"rule {rule.id!r} remediation names unknown policy settings {sorted(unknown_placeholders)}"
            )
        self._rules[rule.id] = rule
        return rule

    def __iter__(self) -> Iterator[Rule]:
        return iter(sorted(self._rules.values(), key=lambda r: r.id))

    def __len__(self) -> int:
        return len(self._rules)

    def get(self, rule_id: str) -> Rule:
        return self._rules[rule_id]

    def ids(self) -> list[str]:
        return sorted(self._rules)


REGISTRY = RuleRegistry()


def resource_rule(
    *,
    id: str,
    types: Iterable[str],
    description: str,
    severity: Severity,
    remediation: str,
    tunables: Sequence[str] = (),
    registry: RuleRegistry | None = None,
) -> Callable[[ResourceCheck], ResourceCheck]:
    """Register a check of one resource of the given types."""

    def decorate(check: ResourceCheck) -> ResourceCheck:
        (REGISTRY if registry is None else registry).add(
            Rule(id, description, severity, remediation, "resource", check, frozenset(types), tuple(tunables))
        )
        return check

    return decorate


def stack_rule(
    *,
    id: str,
    description: str,
    severity: Severity,
    remediation: str,
    tunables: Sequence[str] = (),
    registry: RuleRegistry | None = None,
) -> Callable[[StackCheck], StackCheck]:
    """Register a check that joins across the resources of a whole stack."""

    def decorate(check: StackCheck) -> StackCheck:
        (REGISTRY if registry is None else registry).add(
            Rule(id, description, severity, remediation, "stack", check, frozenset(), tuple(tunables))
        )
        return check

    return decorate


_loaded = False


def load_rules() -> RuleRegistry:
    """Import every module of `backstop.policy.rules` once, so each rule file registers itself."""
    global _loaded
    if not _loaded:
        from backstop.policy import rules

        for module in pkgutil.iter_modules(rules.__path__):
            importlib.import_module(f"{rules.__name__}.{module.name}")
        _loaded = True
    return REGISTRY


# --- evaluation -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SourceLocation:
    """Where the user acts on a finding: the program line Pulumi recorded (`sourcePosition`), or the key of
    `Pulumi.<stack>.yaml` the finding comes from. `uri` is relative to the project unless absolute."""

    uri: str
    line: int
    column: int | None = None
    key: str | None = None  # the stack file's key path, e.g. `backstop:atlas.backup.restoreWindowDays`


@dataclass(frozen=True)
class Violation:
    policy: str
    level: LevelName
    severity: Severity
    urn: str
    message: str
    description: str
    remediation: str
    unknown: bool = False
    location: SourceLocation | None = None

    @property
    def fingerprint(self) -> str:
        """The stable identity of a finding (policy + URN): SARIF's `partialFingerprints`, baselines."""
        return f"{self.policy}:{self.urn}"

    def as_dict(self) -> dict[str, Any]:
        found: dict[str, Any] = {
            "policy": self.policy,
            "level": self.level,
            "severity": str(self.severity),
            "urn": self.urn,
            "message": self.message,
        }
        if self.location is not None:
            found["location"] = {k: v for k, v in vars(self.location).items() if v is not None}
        return found


@dataclass(frozen=True)
class Suppressed:
    """A finding that does not fail the run, kept in the report: waived by a reviewed waiver (`waiver` holds
    its owner, ticket, reason, expiry), or already in the baseline the run was given."""

    violation: Violation
    kind: Literal["waiver", "baseline"]
    justification: str
    waiver: dict[str, str] | None = None


SEVERITY_ORDER = (Severity.LOW, Severity.MEDIUM, Severity.HIGH, Severity.CRITICAL)


@dataclass(frozen=True)
class Report:
    """The outcome of one evaluation. `checked_count`: how many of the `resource_count` resources are of a
    type some rule looked at, so a clean pass can be told from a document backstop cannot see into."""

    stack: str
    environment: str
    resource_count: int
    rules: list[Rule]
    violations: list[Violation] = field(default_factory=list)
    checked_count: int = 0
    # What the reader of the report must know about the document (pending operations, read resources…).
    notes: list[str] = field(default_factory=list)
    # Findings waived or baselined (`backstop.policy.suppressions`): reported, never failing the run.
    suppressed: list[Suppressed] = field(default_factory=list)
    # Waivers that expired, expire soon or match nothing: (kind, text), kind expired|expiring|unmatched.
    waiver_notes: list[tuple[str, str]] = field(default_factory=list)
    # `--fail-on`: only mandatory findings of this severity or higher fail the run.
    fail_on: Severity | None = None

    @property
    def mandatory(self) -> list[Violation]:
        return [v for v in self.violations if v.level == "mandatory"]

    @property
    def advisory(self) -> list[Violation]:
        return [v for v in self.violations if v.level == "advisory"]

    def summary(self) -> dict[str, Any]:
        failed = {v.policy for v in self.violations}
        return {
            "stack": self.stack,
            "environment": self.environment,
            "resources": self.resource_count,
            "resourcesChecked": self.checked_count,
            "rules": len(self.rules),
            "rulesPassed": len([r for r in self.rules if r.id not in failed]),
            "mandatory": len(self.mandatory),
            "advisory": len(self.advisory),
            "unknown": len([v for v in self.violations if v.unknown]),
            "waived": len(self.waived),
            "baselined": len(self.baselined),
        }

    @property
    def waived(self) -> list[Suppressed]:
        return [s for s in self.suppressed if s.kind == "waiver"]

    @property
    def baselined(self) -> list[Suppressed]:
        return [s for s in self.suppressed if s.kind == "baseline"]

    @property
    def failing(self) -> list[Violation]:
        """The findings that fail the run: mandatory ones, at or above `fail_on` when it is set."""
        if self.fail_on is None:
            return self.mandatory
        floor = SEVERITY_ORDER.index(self.fail_on)
        return [v for v in self.mandatory if SEVERITY_ORDER.index(v.severity) >= floor]

    @property
    def exit_code(self) -> int:
        return 1 if self.failing else 0


def level_of(finding: Finding, rule_level: LevelName, targets: PolicyTargets) -> LevelName:
    """Unknowns on a mandatory rule are advisory, unless the targets say to count them as violations."""
    if finding.unknown and rule_level == "mandatory" and not targets.unknown_is_violation:
        return "advisory"
    return rule_level


def findings_for(
    rule: Rule, resources: Sequence[Resource], targets: PolicyTargets, view: StackView | None = None
) -> list[Finding]:
    """The findings of one rule; rules run over `view` when given (one view per evaluation), so a resource
    rule visits only the resources of its types instead of the whole estate."""
    from backstop.policy.stackview import StackView

    if rule.scope == "resource":
        found: list[Finding] = []
        subjects = resources if view is None else view.in_order(rule.resource_types)
        for resource in subjects:
            if resource.type in rule.resource_types:
                found.extend(rule.run(resource, targets))
        return found
    return rule.run(view if view is not None else StackView(resources), targets)


def checked_types(rules: Iterable[Rule], view: StackView) -> set[str]:
    """Resource types some rule looked at: those a resource rule declares and those a stack rule asked
    `view` for while it ran."""
    types = set(view.types_read)
    for rule in rules:
        types.update(rule.resource_types)
    return types


EXTERNAL_SUFFIX = " (the stack only reads this resource, it does not manage it)"
DECLARED_SUFFIX = (
    " (as the program declares it; the deployed value differs and the next `pulumi up` applies this one)"
)


def _violations(
    rules: Sequence[Rule],
    resources: Sequence[Resource],
    targets: PolicyTargets,
    view: StackView,
) -> list[Violation]:
    external = {r.urn for r in resources if r.external}
    violations: list[Violation] = []
    for rule in rules:
        rule_level = targets.level_for(rule.id)
        rule_targets = targets.for_rule(rule.id)
        for finding in findings_for(rule, resources, rule_targets, view):
            level = level_of(finding, rule_level, rule_targets)
            message = finding.message
            if finding.urn in external:
                level = "advisory" if level == "mandatory" else level
                message += EXTERNAL_SUFFIX
            violations.append(
                Violation(
                    rule.id,
                    level,
                    rule.severity,
                    finding.urn,
                    message,
                    rule.description,
                    rule.remediation_for(rule_targets),
                    finding.unknown,
                )
            )
    return violations


@gc_paused()
def evaluate(
    resources: Sequence[Resource],
    targets: PolicyTargets,
    *,
    stack: str = "",
    registry: RuleRegistry | None = None,
    declared: Sequence[Resource] | None = None,
) -> Report:
    """Run every enabled rule over the resources of one stack.

    `declared`: the same stack as its program declares it, where that differs from what is deployed (a
    stack export with drift); a rule it breaks that the deployed resources do not is reported too.
    """
    from backstop.policy.stackview import StackView

    rules = list(load_rules() if registry is None else registry)
    enabled = [rule for rule in rules if targets.level_for(rule.id) != "disabled"]
    view = StackView(resources)
    violations = _violations(enabled, resources, targets, view)
    if declared is not None:
        seen = {(v.policy, v.urn) for v in violations}
        for v in _violations(enabled, declared, targets, StackView(declared)):
            if (v.policy, v.urn) not in seen:
                violations.append(replace(v, message=v.message + DECLARED_SUFFIX))
    violations.sort(key=lambda v: (v.level != "mandatory", v.policy, v.urn))
    types = checked_types(enabled, view)
    checked = sum(1 for resource in resources if resource.type in types)
    return Report(stack, targets.environment, len(resources), rules, violations, checked)
