"""Load resources from `pulumi preview --json` output or a `pulumi stack export` file.

Both carry `apitype.ResourceV3` states (urn, type, inputs, outputs, protect, parent, dependencies,
propertyDependencies). A preview describes the stack as it *will be*: steps that delete a resource are
left out and every other step contributes its new state. An export describes the stack as it *is*;
resources pending deletion are left out.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from backstop.errors import BackstopError
from backstop.resources import Resource

# Preview steps after which the resource no longer exists.
_GONE_OPS = frozenset({"delete", "delete-replaced", "discard", "discard-replaced", "remove-pending-replace"})


class SourceError(BackstopError):
    """A document backstop cannot read, as one line naming the file and the key."""


def _state_to_resource(state: Mapping[str, Any], where: str, source: str) -> Resource:
    for key in ("urn", "type"):
        if not isinstance(state.get(key), str) or not state.get(key):
            raise SourceError(f"{source}: {where}.{key}: expected a non-empty string")
    props = state.get("inputs")
    if props is None:
        props = state.get("outputs")
    if props is not None and not isinstance(props, Mapping):
        raise SourceError(f"{source}: {where}.inputs: expected an object")
    deps = state.get("propertyDependencies") or {}
    if not isinstance(deps, Mapping):
        raise SourceError(f"{source}: {where}.propertyDependencies: expected an object")
    return Resource.build(
        urn=state["urn"],
        type=state["type"],
        props=props or {},
        id=state.get("id"),
        protect=bool(state.get("protect", False)),
        parent=state.get("parent"),
        provider=state.get("provider"),
        dependencies=[d for d in state.get("dependencies") or [] if isinstance(d, str)],
        property_dependencies={
            str(k): [d for d in v if isinstance(d, str)] for k, v in deps.items() if isinstance(v, list)
        },
        custom=bool(state.get("custom", True)),
    )


def resources_from_preview(document: Mapping[str, Any], source: str) -> list[Resource]:
    steps = document.get("steps")
    if not isinstance(steps, list):
        raise SourceError(f"{source}: steps: expected a list of preview steps")
    resources: list[Resource] = []
    for index, step in enumerate(steps):
        where = f"steps[{index}]"
        if not isinstance(step, Mapping):
            raise SourceError(f"{source}: {where}: expected an object")
        op = step.get("op")
        if op in _GONE_OPS:
            continue
        state = step.get("newState") or step.get("oldState")
        key = "newState" if step.get("newState") else "oldState"
        if state is None:
            continue
        if not isinstance(state, Mapping):
            raise SourceError(f"{source}: {where}.{key}: expected an object")
        resources.append(_state_to_resource(state, f"{where}.{key}", source))
    return resources


def resources_from_export(document: Mapping[str, Any], source: str) -> list[Resource]:
    deployment: Any = document
    if "deployment" in document:
        version = document.get("version")
        if version != 3:
            raise SourceError(f"{source}: version: expected deployment schema version 3 (got {version!r})")
        deployment = document["deployment"]
    if not isinstance(deployment, Mapping):
        raise SourceError(f"{source}: deployment: expected an object")
    states = deployment.get("resources", [])
    if not isinstance(states, list):
        raise SourceError(f"{source}: deployment.resources: expected a list")
    resources: list[Resource] = []
    for index, state in enumerate(states):
        where = f"deployment.resources[{index}]"
        if not isinstance(state, Mapping):
            raise SourceError(f"{source}: {where}: expected an object")
        if state.get("delete"):
            continue
        resources.append(_state_to_resource(state, where, source))
    return resources


def load_document(path: Path) -> tuple[str, list[Resource]]:
    """Read a preview or export file; return its kind (`preview` | `export`) and its resources."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise SourceError(f"{source}: cannot read: {exc.strerror or exc}") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SourceError(f"{source}: not JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    if not isinstance(document, Mapping):
        raise SourceError(
            f"{source}: expected a JSON object from `pulumi preview --json` or `pulumi stack export`"
        )
    if "steps" in document:
        return "preview", resources_from_preview(document, source)
    if "deployment" in document or ("resources" in document and "manifest" in document):
        return "export", resources_from_export(document, source)
    raise SourceError(
        f"{source}: neither `pulumi preview --json` output (no `steps`) "
        "nor a `pulumi stack export` (no `deployment`)"
    )


def stack_name(resources: list[Resource]) -> str:
    """The stack the resources belong to, from their URNs."""
    for resource in resources:
        if resource.stack:
            return resource.stack
    return ""
