"""Property-based: no input, however malformed or unknown, crashes any rule, and findings are well-formed.

Props are drawn from JSON-like values over the wire names the rules read, mixed with the engine's unknown
sentinels, preview secrets, floats where ints are expected and wrong types everywhere.
"""

from __future__ import annotations

import re
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backstop.ground import tokens
from backstop.ground.resources import UNKNOWN_SENTINELS, Resource
from backstop.policy.core import Finding, load_rules
from backstop.policy.stackview import StackView
from backstop.policy.targets import PolicyTargets

RULES_DIR = Path(__file__).resolve().parent.parent / "backstop" / "policy" / "rules"


def _wire_names() -> list[str]:
    """Every camelCase name a rule module spells in a string, so generated props hit real paths."""
    names: set[str] = {"bucket", "name", "status", "sku", "scopes", "rules", "region", "enabled"}
    for path in RULES_DIR.glob("*.py"):
        for literal in re.findall(r'"([A-Za-z][A-Za-z0-9.\[\]]*)"', path.read_text(encoding="utf-8")):
            names.update(part for part in re.split(r"[.\[\]0-9]+", literal) if part)
    return sorted(names)


WIRE_NAMES = _wire_names()
# Every resource type backstop knows (all of tokens.py), so stack rules' joins across the split-out S3
# settings, Blob service properties, metric alerts and export buckets are fuzzed too.
TYPES = sorted(
    {t for rule in load_rules() for t in rule.resource_types}
    | {
        value
        for name, value in vars(tokens).items()
        if name.isupper() and isinstance(value, str) and value.count(":") >= 2
    }
)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**6), max_value=10**6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(
        [*sorted(UNKNOWN_SENTINELS), "[secret]", "Enabled", "aws:kms", "US_WEST_2", "Standard_LRS"]
    ),
)
values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.sampled_from(WIRE_NAMES), children, max_size=6)
    ),
    max_leaves=25,
)
props = st.dictionaries(st.sampled_from(WIRE_NAMES), values, max_size=10)


@st.composite
def resources(draw: st.DrawFn) -> Resource:
    type_ = draw(st.sampled_from(TYPES))
    name = draw(st.sampled_from(["a", "b", "c"]))
    deps = draw(st.dictionaries(st.sampled_from(WIRE_NAMES), st.lists(st.just(f"urn:x::{name}"), max_size=2)))
    return Resource.build(
        urn=f"urn:pulumi:{draw(st.sampled_from(['prod', 'staging']))}::backstop::{type_}::{name}",
        type=type_,
        props=draw(props),
        id=draw(st.one_of(st.none(), st.text(max_size=6), st.sampled_from(sorted(UNKNOWN_SENTINELS)))),
        protect=draw(st.booleans()),
        property_dependencies=deps,
    )


def _assert_well_formed(findings: list[Finding]) -> None:
    for finding in findings:
        assert isinstance(finding, Finding)
        assert isinstance(finding.urn, str)
        assert isinstance(finding.message, str) and finding.message


TARGETS = [PolicyTargets.for_environment("prod"), PolicyTargets.for_environment("staging")]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(resource=resources(), targets=st.sampled_from(TARGETS))
def test_no_resource_rule_crashes(resource: Resource, targets: PolicyTargets) -> None:
    for rule in load_rules():
        if rule.scope == "resource" and resource.type in rule.resource_types:
            _assert_well_formed(list(rule.check(resource, targets)))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stack=st.lists(resources(), max_size=8), targets=st.sampled_from(TARGETS))
def test_no_stack_rule_crashes(stack: list[Resource], targets: PolicyTargets) -> None:
    view = StackView(stack)
    urns = {r.urn for r in stack}
    for rule in load_rules():
        if rule.scope == "stack":
            findings = list(rule.check(view, targets))
            _assert_well_formed(findings)
            assert {f.urn for f in findings} <= urns | {""}
