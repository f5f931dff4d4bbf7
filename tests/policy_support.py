"""Helpers for rule tests: build resources, mutate a real mock run, and re-shape it as the CLI documents.

`to_preview` / `to_export` write the exact JSON shapes of `pulumi preview --json` (a `PreviewDigest`) and
`pulumi stack export` (`UntypedDeployment`, version 3), with unknowns as the engine's sentinel strings and
secrets as the engine writes them, so every rule is exercised through the real loaders too.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from backstop.ground import tokens
from backstop.ground.resources import UNKNOWN, Resource
from backstop.policy.core import Finding, RuleRegistry, evaluate, findings_for, load_rules
from backstop.policy.sources import resources_from_export, resources_from_preview
from backstop.policy.targets import PolicyTargets
from backstop.policy.values import MISSING
from backstop.program.mocks import ProgramRun

UNKNOWN_STRING = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"


def res(
    type_: str,
    name: str,
    props: Mapping[str, Any] | None = None,
    *,
    stack: str = "prod",
    parent_type: str | None = None,
    protect: bool = False,
    id: Any = None,
    property_dependencies: Mapping[str, Iterable[str]] | None = None,
) -> Resource:
    qualified = f"{parent_type}${type_}" if parent_type else type_
    return Resource.build(
        urn=f"urn:pulumi:{stack}::backstop::{qualified}::{name}",
        type=type_,
        name=name,
        props=props or {},
        id=id,
        protect=protect,
        property_dependencies=property_dependencies,
    )


def named(resources: Sequence[Resource], name: str) -> Resource:
    matches = [r for r in resources if r.name == name]
    if len(matches) > 1:  # a component and its main resource share a name; tests mean the resource
        matches = [r for r in matches if r.custom]
    assert len(matches) == 1, f"expected exactly one resource named {name!r}, found {len(matches)}"
    return matches[0]


def _set_path(props: Any, path: str, value: Any) -> None:
    from backstop.policy.values import _parts

    parts = _parts(path)
    current = props
    for part in parts[:-1]:
        current = current[part]
    last = parts[-1]
    if value is MISSING:
        del current[last]
    elif isinstance(current, list) and last == len(current):
        current.append(value)  # `rules[1]` on a one-rule list adds a second rule
    else:
        current[last] = value


def mutate(
    resources: Sequence[Resource], name: str, changes: Mapping[str, Any], **fields: Any
) -> list[Resource]:
    """A copy of `resources` where the resource `name` has `changes` (dotted path -> value) applied.

    A value of `MISSING` deletes the key; `fields` replace dataclass fields such as `protect`.
    """
    target = named(resources, name)
    props = copy.deepcopy(dict(target.props))
    for path, value in changes.items():
        _set_path(props, path, value)
    replaced = Resource(**{**target.__dict__, "props": props, **fields})
    return [replaced if r is target else r for r in resources]


def without(resources: Sequence[Resource], *names: str) -> list[Resource]:
    return [r for r in resources if r.name not in names]


# Current token -> the deprecated alias programs still declare (pulumi-aws v7 `*V2`, azure-native `insights`).
DEPRECATED_TOKENS = {
    tokens.S3_BUCKET: tokens.S3_BUCKET_V2,
    tokens.S3_VERSIONING: tokens.S3_VERSIONING_V2,
    tokens.S3_SSE: tokens.S3_SSE_V2,
    tokens.S3_LIFECYCLE: tokens.S3_LIFECYCLE_V2,
    tokens.S3_OBJECT_LOCK: tokens.S3_OBJECT_LOCK_V2,
    tokens.AZ_METRIC_ALERT: tokens.AZ_METRIC_ALERT_V2_ALIAS,
}


# A program as written with today's tokens, and as written with the deprecated aliases users still have.
TOKEN_SETS = ("current", "deprecated-aliases")


def declared(run: ProgramRun, token_set: str) -> list[Resource]:
    """The resources of a mock run under one of `TOKEN_SETS`."""
    return (
        retype(run.resources, DEPRECATED_TOKENS) if token_set == "deprecated-aliases" else list(run.resources)
    )


def retype(resources: Sequence[Resource], mapping: Mapping[str, str]) -> list[Resource]:
    """The same resources with types rewritten (e.g. to the deprecated `*V2` tokens a program may still
    use), and every URN that spells a rewritten type changed alike, in parents and dependencies too."""

    def urn(value: str) -> str:
        parts = value.split("::")
        if len(parts) < 4:
            return value
        chain = parts[2].split("$")
        parts[2] = "$".join(mapping.get(t, t) for t in chain)
        return "::".join(parts)

    return [
        Resource(
            **{
                **r.__dict__,
                "urn": urn(r.urn),
                "type": mapping.get(r.type, r.type),
                "parent": urn(r.parent) if r.parent else r.parent,
                "dependencies": tuple(urn(d) for d in r.dependencies),
                "property_dependencies": {
                    k: tuple(urn(d) for d in v) for k, v in r.property_dependencies.items()
                },
            }
        )
        for r in resources
    ]


def without_dependencies(resources: Sequence[Resource]) -> list[Resource]:
    """The resources as a source without `propertyDependencies` gives them: joins must go by value."""
    return [Resource(**{**r.__dict__, "property_dependencies": {}}) for r in resources]


def findings(
    rule_id: str, resources: Sequence[Resource], targets: PolicyTargets | None = None
) -> list[Finding]:
    rule = load_rules().get(rule_id)
    return findings_for(rule, resources, targets or PolicyTargets.for_environment("prod"))


def failing(rule_id: str, resources: Sequence[Resource], targets: PolicyTargets | None = None) -> set[str]:
    """Names of the resources with a definite violation of `rule_id`."""
    return {f.urn.split("::")[-1] for f in findings(rule_id, resources, targets) if not f.unknown}


def undecided(rule_id: str, resources: Sequence[Resource], targets: PolicyTargets | None = None) -> set[str]:
    """Names of the resources the rule could not decide (unknown values)."""
    return {f.urn.split("::")[-1] for f in findings(rule_id, resources, targets) if f.unknown}


def levels(rule_id: str, resources: Sequence[Resource], targets: PolicyTargets) -> set[tuple[str, str]]:
    """(resource name, level) of each violation `evaluate` reports for `rule_id` alone under `targets`."""
    registry = RuleRegistry()
    registry.add(load_rules().get(rule_id))
    report = evaluate(resources, targets, registry=registry)
    return {(v.urn.split("::")[-1], v.level) for v in report.violations}


# --- engine-shaped documents ----------------------------------------------------------------------------


def _wire(value: Any) -> Any:
    if value is UNKNOWN:
        return UNKNOWN_STRING
    if isinstance(value, Mapping):
        return {k: _wire(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_wire(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)  # the CLI writes JSON numbers; whole numbers print without a fraction
    return value


def _state(resource: Resource) -> dict[str, Any]:
    state: dict[str, Any] = {
        "urn": resource.urn,
        "custom": resource.custom,
        "type": resource.type,
        "inputs": _wire(dict(resource.props)),
    }
    if resource.id not in (None, UNKNOWN):
        state["id"] = resource.id
    if resource.protect:
        state["protect"] = True
    if resource.parent:
        state["parent"] = resource.parent
    if resource.provider:
        state["provider"] = resource.provider
    if resource.dependencies:
        state["dependencies"] = list(resource.dependencies)
    if resource.property_dependencies:
        state["propertyDependencies"] = {k: list(v) for k, v in resource.property_dependencies.items()}
    return state


def to_preview(resources: Sequence[Resource], op: str = "create") -> dict[str, Any]:
    stack = resources[0].stack if resources else "prod"
    root = f"urn:pulumi:{stack}::backstop::pulumi:pulumi:Stack::backstop-{stack}"
    steps: list[dict[str, Any]] = [
        {
            "op": op,
            "urn": root,
            "newState": {"urn": root, "custom": False, "type": "pulumi:pulumi:Stack"},
            "detailedDiff": None,
        }
    ]
    for resource in resources:
        state = _state(resource)
        state.setdefault("parent", root)
        steps.append({"op": op, "urn": resource.urn, "newState": state, "detailedDiff": None})
    return {
        "config": {"aws:region": "us-east-1"},
        "steps": steps,
        "duration": 2113000000,
        "changeSummary": {op: len(steps)},
    }


def to_export(resources: Sequence[Resource]) -> dict[str, Any]:
    stack = resources[0].stack if resources else "prod"
    root = f"urn:pulumi:{stack}::backstop::pulumi:pulumi:Stack::backstop-{stack}"
    states = [{"urn": root, "custom": False, "type": "pulumi:pulumi:Stack", "outputs": {}}]
    for resource in resources:
        state = _state(resource)
        state.setdefault("parent", root)
        state["outputs"] = copy.deepcopy(state["inputs"])
        state.setdefault("id", resource.name + "-id")
        states.append(state)
    return {
        "version": 3,
        "deployment": {
            "manifest": {"time": "2026-11-23T10:00:00.000000Z", "magic": "0" * 64, "version": "v3.272.0"},
            "secrets_providers": {"type": "passphrase", "state": {"salt": "v1:AAAA"}},
            "resources": states,
        },
    }


SHAPES = ("mocks", "preview", "export")


def shapes(resources: Sequence[Resource]) -> dict[str, list[Resource]]:
    """The same resources as the mocks recorded them and as read back through the real loaders of a
    `pulumi preview --json` document and a `pulumi stack export` file (JSON text, so floats and
    sentinels go through the same bytes the CLI writes)."""
    preview = json.loads(json.dumps(to_preview(resources)))
    export = json.loads(json.dumps(to_export(resources)))
    return {
        "mocks": list(resources),
        "preview": resources_from_preview(preview, "preview.json"),
        "export": resources_from_export(export, "export.json"),
    }


def shape_of(resources: Sequence[Resource], shape: str) -> list[Resource]:
    """One of `shapes(resources)`, without building the other two (parametrized tests ask for one)."""
    if shape == "mocks":
        return list(resources)
    if shape == "preview":
        return resources_from_preview(json.loads(json.dumps(to_preview(resources))), "preview.json")
    return resources_from_export(json.loads(json.dumps(to_export(resources))), "export.json")
