"""Read `pulumi preview --json` output, `pulumi stack export` files and DIY-backend checkpoints.

The formats are those of pulumi/pulumi (`/work/shared/reference/pulumi-document-formats.md` cites file and
line): a preview is a `PreviewDigest` of steps; an export an `UntypedDeployment` of schema version 1 to 4; a
checkpoint a `VersionedCheckpoint` whose `latest` deployment is the stack (none: an empty stack). Each carries
`apitype.ResourceV3` states.

How a state becomes the resource the rules judge:

* **Exports and checkpoints are judged on what is deployed.** `outputs` are the provider's view after the
  last update or refresh; `inputs` are what the program asked for. Each property is read from the outputs,
  and from the inputs only where the outputs do not have it, so a value that is deployed is never reported
  missing. Where the program declares a different value than the one deployed (drift), the declared value
  is judged too: the next `pulumi up` applies it. `declared` holds those resources, only when there is such
  drift, and the checker reports a rule broken by either view.
* **Previews are judged on what the update will leave.** Each step's `newState` inputs, with its outputs
  filling what the inputs leave out. Steps after which a resource is gone (`delete`, `delete-replaced`,
  `discard`, `discard-replaced`, `remove-pending-replace`) are not judged, and a replacement shown as several
  steps (`--show-replacement-steps`) is one resource.
* **A preview that hides resources is incomplete.** Plain `pulumi preview --json` leaves unchanged
  resources out of `steps` but counts them in `changeSummary.same`. Such a preview is refused unless the
  stack's current state is given (`state`): then its steps are applied over that export.
* Resources the stack only reads (`read`/`read-replacement` steps, `external: true` states) are kept for
  joins but marked `external`: the checker never fails the stack on them.
* `delete: true` states are old copies pending deletion next to their replacement: not judged.
  `pending_operations` are operations the CLI was running when it stopped: they are listed as notes, and a
  resource being created or imported that the state does not hold yet is judged, since it may exist.

The streaming form of a preview (one engine event per line) is read as the digest it stands for. Anything
unusable (bytes that are not UTF-8 or UTF-16 with a BOM, JSON nested too deep, integers too long, a failed
preview, features Pulumi does not know, a `pulumi preview --save-plan` file, which holds changes rather than
the stack) is a `SourceError`: one line naming the file and what is wrong.

Long because the three formats share one reading of a resource state (outputs over inputs, secrets,
unknowns, drift); keeping them together keeps that reading single.
"""

from __future__ import annotations

import codecs
import json
import mmap
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from backstop.ground import tokens
from backstop.ground.errors import BackstopError
from backstop.ground.memory import gc_paused
from backstop.ground.resources import Resource, assemble, name_of, normalize, normalize_owned, stack_of

DocumentKind = Literal["preview", "export", "checkpoint"]

# Preview steps after which the resource no longer exists (pkg/resource/deploy/step.go).
GONE_OPS = frozenset({"delete", "delete-replaced", "discard", "discard-replaced", "remove-pending-replace"})
# Steps of a resource the stack reads but does not manage.
READ_OPS = frozenset({"read", "read-replacement"})
# Every op the engine writes (step.go L2236-2252); any other is refused rather than guessed at.
KNOWN_OPS = (
    GONE_OPS
    | READ_OPS
    | {
        "same",
        "create",
        "update",
        "replace",
        "create-replacement",
        "refresh",
        "import",
        "import-replacement",
        "diff",
        "extend-parameterize",
    }
)
# Deployment schema versions Pulumi's own reader accepts (sdk/go/common/apitype/core.go L81-87).
DEPLOYMENT_VERSIONS = (1, 2, 3, 4)
# Deployment features Pulumi's reader supports (pkg/resource/stack/deployment.go `supportedFeatures`); a
# version 4 document needing any other is refused, as Pulumi refuses it.
SUPPORTED_FEATURES = frozenset(
    {
        "refreshBeforeUpdate",
        "views",
        "hooks",
        "taint",
        "replaceWith",
        "snippets-prototype",
        "extensionParameterization",
        "byteString",
    }
)
# Checkpoint versions `UnmarshalVersionedCheckpointToLatestCheckpoint` reads (0: the unversioned form).
CHECKPOINT_VERSIONS = (0, 1, 2, 3, 4)
# Pending operations that may have left a resource the state does not hold yet.
PENDING_MAY_EXIST = frozenset({"creating", "importing"})

# Deeper than any real state; well inside Python's recursion limit for the decoder, `normalize` and rules.
MAX_DEPTH = 200
# Integers a float can hold; beyond this a rule could not compare them.
MAX_INT = 2**1023
# Keys of the streaming engine events (`PULUMI_ENABLE_STREAMING_JSON_PREVIEW`, apitype/events.go).
_EVENT_KEYS = frozenset(
    {
        "sequence",
        "timestamp",
        "cancelEvent",
        "stdoutEvent",
        "diagnosticEvent",
        "preludeEvent",
        "summaryEvent",
        "resourcePreEvent",
        "resOutputsEvent",
        "resOpFailedEvent",
        "policyEvent",
        "engineEvent",
    }
)
_COLOR_TAGS = re.compile(r"<\{%[^%]*%\}>|\x1b\[[0-9;]*m")
# A `\u` escape. The regular expression finds it (or its absence) in a third of the time of `"\\u" in
# text`: the string search steps through every backslash of the escaped quotes real documents are full of.
_U_ESCAPE = re.compile(r"\\u")


class SourceError(BackstopError):
    """A document backstop cannot read, as one line naming the file and the key."""


@dataclass(frozen=True)
class Document:
    """What a document says about a stack, ready to be checked."""

    kind: DocumentKind
    resources: list[Resource]
    # Resources as declared where the program's inputs differ from what is deployed (exports only).
    declared: list[Resource] | None = None
    notes: list[str] = field(default_factory=list)
    # URN -> the `sourcePosition` Pulumi recorded for it (`project:///index.ts#5,20`), where it did.
    positions: dict[str, str] = field(default_factory=dict)

    @property
    def stack(self) -> str:
        return stack_name(self.resources)


# --- reading bytes --------------------------------------------------------------------------------------


def decode(data: bytes | mmap.mmap, source: str) -> str:
    """UTF-8 with or without a BOM, or UTF-16 LE/BE with a BOM (Windows PowerShell 5.1 writes UTF-16).
    `data` may be the file mapped into memory (`read_json`), decoded without a copy of its bytes."""
    head = bytes(data[:64])
    if head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        raise SourceError(f"{source}: UTF-32 text; save it as UTF-8")
    for bom, encoding in (
        (codecs.BOM_UTF8, "utf-8"),
        (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be"),
    ):
        if head.startswith(bom):
            try:
                with memoryview(data) as view:
                    return str(view[len(bom) :], encoding)
            except UnicodeDecodeError as exc:
                raise SourceError(
                    f"{source}: not valid {encoding.upper()} text (byte offset {exc.start + len(bom)})"
                ) from None
    try:
        text = str(data, "utf-8")
    except UnicodeDecodeError as exc:
        hint = "UTF-16 without a byte-order mark? " if b"\x00" in head else ""
        raise SourceError(
            f"{source}: not UTF-8 text (invalid byte 0x{data[exc.start]:02x} at offset {exc.start}); "
            f"{hint}save it as UTF-8, or UTF-16 with a BOM"
        ) from None
    if "\x00" in text:
        raise SourceError(
            f"{source}: NUL characters in the text: UTF-16 without a byte-order mark? save it as UTF-8, or "
            "UTF-16 with a BOM"
        )
    return text


def _looks_like_events(text: str) -> bool:
    first = next((line for line in text.splitlines() if line.strip()), "")
    try:
        event = json.loads(first)
    except (ValueError, RecursionError):
        return False
    return isinstance(event, dict) and bool(set(event) & _EVENT_KEYS) and "steps" not in event


def parse_json(text: str, source: str) -> Any:
    """The JSON value of `text`, or a one-line `SourceError` for anything Python or backstop cannot use."""
    try:
        document = json.loads(text)
    except RecursionError:
        raise SourceError(f"{source}: JSON nested too deeply to read") from None
    except json.JSONDecodeError as exc:
        if exc.msg == "Extra data" and _looks_like_events(text):
            return events_to_digest(text, source)
        raise SourceError(f"{source}: not JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    except ValueError as exc:  # integers longer than Python's digit limit
        raise SourceError(f"{source}: unusable JSON number: {str(exc).split(';')[0]}") from None
    # ASCII text without a \u escape can hold no unpaired surrogate: skip that check per string.
    _check_values(document, source, text_checked=text.isascii() and _U_ESCAPE.search(text) is None)
    if isinstance(document, dict) and "sequence" in document and set(document) & _EVENT_KEYS - {"sequence"}:
        return events_to_digest(text, source)  # a stream of a single event
    return document


def events_to_digest(text: str, source: str) -> dict[str, Any]:
    """The streaming form of `pulumi preview --json` (`PULUMI_ENABLE_STREAMING_JSON_PREVIEW`: one engine
    event per line, `ShowJSONEvents` in pkg/backend/display/json.go) as the digest it stands for. Every step
    is streamed, `same` ones included; `summaryEvent.resourceChanges` still counts them."""
    steps: list[dict[str, Any]] = []
    diagnostics: list[Any] = []
    summary: Any = None
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{source} (event line {number})"
        try:
            event = json.loads(line)
        except RecursionError:
            raise SourceError(f"{where}: JSON nested too deeply to read") from None
        except ValueError as exc:
            raise SourceError(f"{where}: not a JSON engine event ({str(exc).split(';')[0]})") from None
        _check_values(event, where)
        if not isinstance(event, dict):
            raise SourceError(f"{where}: expected an engine event object")
        pre = event.get("resourcePreEvent")
        if isinstance(pre, dict) and isinstance(pre.get("metadata"), dict):
            metadata = pre["metadata"]
            step: dict[str, Any] = {"op": metadata.get("op"), "urn": metadata.get("urn")}
            for key, target in (("new", "newState"), ("old", "oldState")):
                if metadata.get(key) is not None:
                    step[target] = metadata[key]
            steps.append(step)
        diagnostic = event.get("diagnosticEvent")
        if isinstance(diagnostic, dict):
            diagnostics.append(diagnostic)
        failed = event.get("resOpFailedEvent")
        if isinstance(failed, dict):
            failed_step = failed.get("metadata")
            if not isinstance(failed_step, dict):
                failed_step = {}
            diagnostics.append(
                {
                    "urn": failed_step.get("urn"),
                    "severity": "error",
                    "message": f"{failed_step.get('op')} failed",
                }
            )
        if isinstance(event.get("summaryEvent"), dict):
            summary = event["summaryEvent"].get("resourceChanges")
    digest: dict[str, Any] = {"steps": steps, "diagnostics": diagnostics, "streamed": True}
    if isinstance(summary, dict):
        digest["changeSummary"] = summary
    return digest


def _check_values(document: Any, source: str, *, text_checked: bool = False) -> None:
    """Refuse nesting deeper than `MAX_DEPTH`, integers no float can hold and unpaired surrogates, naming
    the key path, before any recursive code (normalisation, rules, output) meets them. `text_checked`:
    the document's text was ASCII without escapes, so no string can hold a surrogate."""
    if _clean(document, text_checked):
        return
    stack: list[tuple[Any, str, int]] = [(document, "", 0)]
    while stack:
        value, path, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise SourceError(f"{source}: {path or '(top)'}: nested more than {MAX_DEPTH} levels deep")
        if isinstance(value, dict):
            for key, item in value.items():
                if not key.isascii():
                    _check_text(key, path, source)
                if isinstance(item, dict | list | str | int) and not isinstance(item, bool):
                    stack.append((item, f"{path}.{key}" if path else key, depth + 1))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                if isinstance(item, dict | list | str | int) and not isinstance(item, bool):
                    stack.append((item, f"{path}[{index}]", depth + 1))
        elif isinstance(value, str):
            if not value.isascii():
                _check_text(value, path, source)
        elif isinstance(value, int) and not -MAX_INT < value < MAX_INT:
            raise SourceError(f"{source}: {path or '(top)'}: integer too large ({value.bit_length()} bits)")


def _clean(document: Any, text_checked: bool = False) -> bool:
    """The checks of `_check_values` without building a key path for every value: True when the document
    passes them all. Only a document that fails (or is not a JSON object or array) is walked again, with
    paths, to name the key, so a whole estate is read in one cheap pass."""
    if type(document) is not dict and type(document) is not list:
        return False
    stack: list[tuple[Any, int]] = [(document, 0)]
    while stack:
        value, depth = stack.pop()
        if depth >= MAX_DEPTH:
            return False  # its items are deeper than allowed (if it has any): let the slow walk tell
        if type(value) is dict:
            if not text_checked:
                for key in value:
                    if not key.isascii() and not _encodable(key):
                        return False
            values = value.values()
        else:
            values = value
        for item in values:
            kind = type(item)
            if kind is str:
                if not text_checked and not item.isascii() and not _encodable(item):
                    return False
            elif kind is dict or kind is list:
                stack.append((item, depth + 1))
            elif kind is int:
                if not -MAX_INT < item < MAX_INT:
                    return False
            elif kind is not float and kind is not bool and item is not None:
                return False
    return True


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _check_text(text: str, path: str, source: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise SourceError(f"{source}: {path or '(top)'}: string with an unpaired UTF-16 surrogate") from None


def read_json(path: Path) -> Any:
    """The JSON value of the file. A regular file is mapped into memory and decoded from there: reading
    it into a bytes object first copies the whole file (84 MB for a 60,000-resource estate) into memory
    touched for nothing else."""
    source = str(path)
    try:
        with open(path, "rb") as handle:
            try:
                mapped = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
            except (OSError, ValueError):  # an empty file, a pipe, a terminal: read it
                text = decode(handle.read(), source)
            else:
                with mapped:
                    text = decode(mapped, source)
    except OSError as exc:
        raise SourceError(f"{source}: cannot read: {exc.strerror or exc}") from None
    return parse_json(text, source)


# --- states ---------------------------------------------------------------------------------------------


def _mapping(state: Mapping[str, Any], key: str, where: str, source: str) -> Mapping[str, Any] | None:
    value = state.get(key)
    if value is not None and not isinstance(value, Mapping):
        raise SourceError(f"{source}: {where}.{key}: expected an object")
    return value


def _optional_str(state: Mapping[str, Any], key: str, where: str, source: str) -> str | None:
    value = state.get(key)
    if value is not None and not isinstance(value, str):
        raise SourceError(f"{source}: {where}.{key}: expected a string")
    return value or None


def _plain_state(
    state: dict[str, Any], prefer: Literal["inputs", "outputs"], *, owned: bool = False
) -> Resource | None:
    """`_state_to_resource` of a state whose every field already has its JSON type (all of them, in a
    document from the CLI), without its checks and without `Resource.build` converting again what is
    built here once (about a sixth of `check`'s reading of an estate). None: let the checks speak.
    `owned`: the document was parsed for this reading alone, so its properties are normalized in place
    (`normalize_owned`) rather than copied."""
    urn, type_ = state.get("urn"), state.get("type")
    if type(urn) is not str or not urn or type(type_) is not str or not type_:
        return None
    inputs, outputs, deps = state.get("inputs"), state.get("outputs"), state.get("propertyDependencies")
    dependencies = state.get("dependencies") or []
    parent, provider = state.get("parent"), state.get("provider")
    if (
        (inputs is not None and type(inputs) is not dict)
        or (outputs is not None and type(outputs) is not dict)
        or (deps is not None and type(deps) is not dict)
        or type(dependencies) is not list
        or (parent is not None and type(parent) is not str)
        or (provider is not None and type(provider) is not str)
    ):
        return None
    if not outputs:
        props = inputs or {}
    elif not inputs:
        props = outputs
    else:
        props = {**inputs, **outputs} if prefer == "outputs" else {**outputs, **inputs}
    id_ = state.get("id")
    return assemble(
        urn,
        type_,
        normalize_owned(props) if owned else normalize(props),
        name_of(urn),
        normalize(id_) if id_ not in (None, "") else None,
        state.get("protect") is True,
        parent or None,
        provider or None,
        tuple([d for d in dependencies if type(d) is str]),
        _plain_property_dependencies(deps) if deps else {},
        state.get("custom", True) is not False,
        state.get("external") is True,
    )


_STRINGS_ONLY = frozenset({str})


def _plain_property_dependencies(deps: dict[str, Any]) -> dict[str, tuple[str, ...]]:
    """`propertyDependencies` as tuples of URNs, the non-strings dropped, as `Resource.build` keeps them.
    A list of nothing but strings (all of them, from the CLI) is copied whole, without a comprehension per
    property (0.15 s of CPU at 60,000 resources, now 0.10 s)."""
    found: dict[str, tuple[str, ...]] = {}
    for key, urns in deps.items():
        if type(urns) is list:
            found[key] = (
                tuple(urns)
                if not urns or {*map(type, urns)} <= _STRINGS_ONLY
                else tuple([d for d in urns if type(d) is str])
            )
    return found


def _state_to_resource(
    state: Any, where: str, source: str, *, prefer: Literal["inputs", "outputs"], owned: bool = False
) -> Resource:
    """One `ResourceV3` as a `Resource`: properties from `prefer`, the other filling keys it lacks."""
    if type(state) is dict:
        plain = _plain_state(state, prefer, owned=owned)
        if plain is not None:
            return plain
    if not isinstance(state, Mapping):
        raise SourceError(f"{source}: {where}: expected an object")
    for key in ("urn", "type"):
        if not isinstance(state.get(key), str) or not state.get(key):
            raise SourceError(f"{source}: {where}.{key}: expected a non-empty string")
    inputs = _mapping(state, "inputs", where, source) or {}
    outputs = _mapping(state, "outputs", where, source) or {}
    props = {**inputs, **outputs} if prefer == "outputs" else {**outputs, **inputs}
    deps = _mapping(state, "propertyDependencies", where, source) or {}
    dependencies = state.get("dependencies") or []
    if not isinstance(dependencies, list):
        raise SourceError(f"{source}: {where}.dependencies: expected a list")
    return Resource.build(
        urn=state["urn"],
        type=state["type"],
        props=props,
        id=state.get("id"),
        protect=state.get("protect") is True,
        parent=_optional_str(state, "parent", where, source),
        provider=_optional_str(state, "provider", where, source),
        dependencies=[d for d in dependencies if isinstance(d, str)],
        property_dependencies={
            str(k): [d for d in v if isinstance(d, str)] for k, v in deps.items() if isinstance(v, list)
        },
        custom=state.get("custom", True) is not False,
        external=state.get("external") is True,
    )


def _drifted(state: Mapping[str, Any]) -> bool:
    """Does the program declare a value that differs from the deployed one?"""
    inputs, outputs = state.get("inputs"), state.get("outputs")
    if not isinstance(inputs, Mapping) or not isinstance(outputs, Mapping):
        return False
    return any(key in outputs and outputs[key] != value for key, value in inputs.items())


# --- previews -------------------------------------------------------------------------------------------


def _diagnostic_lines(document: Mapping[str, Any], severity: str) -> list[str]:
    lines: list[str] = []
    diagnostics = document.get("diagnostics")
    for diagnostic in diagnostics if isinstance(diagnostics, list) else []:
        if isinstance(diagnostic, Mapping) and diagnostic.get("severity") == severity:
            message = _COLOR_TAGS.sub("", str(diagnostic.get("message", ""))).strip()
            urn = diagnostic.get("urn")
            where = (
                f"{tokens.short_name(str(urn).split('::')[2])} {str(urn).split('::')[-1]}: "
                if (isinstance(urn, str) and urn.count("::") >= 3)
                else ""
            )
            lines.append(where + " ".join(message.split()))
    return [line for line in lines if line]


def _preview_steps(document: Mapping[str, Any], source: str) -> list[Mapping[str, Any]]:
    steps = document.get("steps")
    errors = _diagnostic_lines(document, "error")
    if errors:
        raise SourceError(f"{source}: the preview failed: {'; '.join(errors)}")
    if steps is None:
        steps = []
    if not isinstance(steps, list):
        raise SourceError(f"{source}: steps: expected a list of preview steps")
    for index, step in enumerate(steps):
        if not isinstance(step, Mapping):
            raise SourceError(f"{source}: steps[{index}]: expected an object")
        op = step.get("op")
        if op not in KNOWN_OPS:
            raise SourceError(f"{source}: steps[{index}].op: unknown step op {op!r}")
    return steps


def hidden_count(document: Mapping[str, Any], steps: Sequence[Mapping[str, Any]]) -> int:
    """How many unchanged resources `changeSummary.same` counts that `steps` leave out."""
    summary = document.get("changeSummary")
    same = summary.get("same") if isinstance(summary, Mapping) else None
    if not isinstance(same, int) or isinstance(same, bool):
        return 0
    shown = len({step.get("urn") for step in steps if step.get("op") == "same"})
    return max(0, same - shown)


def _apply_steps(
    steps: Sequence[Mapping[str, Any]], base: Mapping[str, Resource], source: str, *, owned: bool = False
) -> dict[str, Resource]:
    """The stack after the steps: `base` (by URN) with each step's new state, gone resources removed."""
    result = dict(base)
    live: set[str] = set()
    for index, step in enumerate(steps):
        op = step["op"]
        urn = step.get("urn")
        if op in GONE_OPS:
            if isinstance(urn, str) and urn not in live:
                result.pop(urn, None)
            continue
        state = step.get("newState")
        if state is None:
            continue  # `extend-parameterize`, a refresh that found the resource gone
        # The fast reading first: the key path an error names is only spelled out for a state that needs it.
        resource = _plain_state(state, "inputs", owned=owned) if type(state) is dict else None
        if resource is None:
            resource = _state_to_resource(state, f"steps[{index}].newState", source, prefer="inputs")
        if op in READ_OPS and not resource.external:
            resource = replace(resource, external=True)
        result[resource.urn] = resource
        live.add(resource.urn)
    return result


def resources_from_preview(
    document: Mapping[str, Any],
    source: str,
    state: Sequence[Resource] | None = None,
    *,
    owned: bool = False,
) -> list[Resource]:
    """The stack as the previewed update leaves it; with `state`, the steps applied over that export.
    `owned`: `document` was parsed for this reading alone and may be changed by it (`_plain_state`)."""
    steps = _preview_steps(document, source)
    hidden = hidden_count(document, steps)
    if hidden and state is None:
        raise SourceError(
            f"{source}: incomplete preview: {hidden} unchanged resource{'s' if hidden != 1 else ''} "
            "counted in changeSummary.same are not in steps; rerun `pulumi preview --json --show-sames` "
            "or pass the stack's state with --state EXPORT.json"
        )
    base = {r.urn: r for r in state or []}
    return list(_apply_steps(steps, base, source, owned=owned).values())


# --- exports and checkpoints ----------------------------------------------------------------------------


def _version(document: Mapping[str, Any], source: str, accepted: Sequence[int] = DEPLOYMENT_VERSIONS) -> int:
    version = document.get("version", 0 if 0 in accepted else None)
    if isinstance(version, bool) or version not in accepted:
        raise SourceError(
            f"{source}: version: expected a deployment schema version {accepted[0]} to {accepted[-1]}, as "
            f"Pulumi reads (got {version!r})"
        )
    if version == 4:
        features = document.get("features") or []
        if not isinstance(features, list):
            raise SourceError(f"{source}: features: expected a list")
        unsupported = [str(f) for f in features if f not in SUPPORTED_FEATURES]
        if unsupported:
            raise SourceError(
                f"{source}: features: this stack's deployment needs support for the following features: "
                f"{', '.join(unsupported)} (Pulumi refuses it too)"
            )
    return int(version)


def _deployment_document(deployment: Any, where: str, source: str, *, owned: bool = False) -> Document:
    if not isinstance(deployment, Mapping):
        raise SourceError(f"{source}: {where}: expected an object")
    states = deployment.get("resources")
    if states is None:
        states = []
    if not isinstance(states, list):
        raise SourceError(f"{source}: {where}.resources: expected a list")
    resources: dict[str, Resource] = {}
    declared: dict[str, Resource] = {}
    drift = False
    for index, state in enumerate(states):
        at = f"{where}.resources[{index}]"
        drifted = _drifted(state)  # before reading: an owned state's values are normalized in place
        resource = _state_to_resource(state, at, source, prefer="outputs", owned=owned)
        if state.get("delete") is True:
            continue  # the old copy of a replaced resource, deleted by the next update
        resources[resource.urn] = resource
        declared[resource.urn] = resource
        if drifted:
            drift = True
            declared[resource.urn] = _state_to_resource(state, at, source, prefer="inputs", owned=owned)
    notes: list[str] = []
    pending = deployment.get("pending_operations")
    if pending is not None and not isinstance(pending, list):
        raise SourceError(f"{source}: {where}.pending_operations: expected a list")
    interrupted: list[str] = []
    for index, operation in enumerate(pending or []):
        at = f"{where}.pending_operations[{index}]"
        if not isinstance(operation, Mapping):
            raise SourceError(f"{source}: {at}: expected an object")
        kind = operation.get("type")
        resource = _state_to_resource(
            operation.get("resource"), f"{at}.resource", source, prefer="outputs", owned=owned
        )
        interrupted.append(f"{kind} {resource.name}")
        if kind in PENDING_MAY_EXIST and resource.urn not in resources:
            resources[resource.urn] = declared[resource.urn] = resource
    if interrupted:
        notes.append(
            f"{len(interrupted)} operation{'s' if len(interrupted) != 1 else ''} interrupted "
            f"(pending_operations: {', '.join(interrupted)}); resources being created or imported are "
            "judged as declared; run `pulumi refresh` so the state matches the cloud"
        )
    external = [r.name for r in resources.values() if r.external]
    if external:
        notes.append(_external_note(external))
    return Document("export", list(resources.values()), list(declared.values()) if drift else None, notes)


def _external_note(names: Sequence[str]) -> str:
    return (
        f"{len(names)} resource{'s are' if len(names) != 1 else ' is'} only read by this stack, not managed "
        f"by it ({', '.join(names)}): never a mandatory violation of this stack"
    )


def export_document(document: Mapping[str, Any], source: str, *, owned: bool = False) -> Document:
    """A `pulumi stack export` (`{version, deployment}`) or a bare deployment (`{manifest, resources}`).
    `owned`: `document` was parsed for this reading alone and may be changed by it (`_plain_state`)."""
    if "deployment" in document:
        _version(document, source)
        return _deployment_document(document["deployment"], "deployment", source, owned=owned)
    return _deployment_document(document, "(deployment)", source, owned=owned)


def checkpoint_document(document: Mapping[str, Any], source: str, *, owned: bool = False) -> Document:
    """A DIY-backend checkpoint (`.pulumi/stacks/[project/]stack.json`): `latest` is the stack. The oldest,
    unversioned form holds `latest` (and `target`) at the top."""
    _version(document, source, CHECKPOINT_VERSIONS)
    checkpoint = document.get("checkpoint", document)
    if not isinstance(checkpoint, Mapping):
        raise SourceError(f"{source}: checkpoint: expected an object")
    latest = checkpoint.get("latest")
    if latest is None:
        return Document("checkpoint", [], None, ["the checkpoint has no `latest` deployment: an empty stack"])
    return replace(_deployment_document(latest, "checkpoint.latest", source, owned=owned), kind="checkpoint")


def resources_from_export(document: Mapping[str, Any], source: str) -> list[Resource]:
    return export_document(document, source).resources


# --- documents ------------------------------------------------------------------------------------------


def kind_of(document: Any, source: str) -> DocumentKind:
    if not isinstance(document, Mapping):
        raise SourceError(
            f"{source}: expected a JSON object from `pulumi preview --json`, `pulumi stack export` "
            "or a checkpoint file"
        )
    plan = document.get("plan")
    if "resourcePlans" in document or (isinstance(plan, Mapping) and "resourcePlans" in plan):
        # `apitype.DeploymentPlanV1` (or its `VersionedDeploymentPlan` wrapper): per-resource input diffs
        # and steps, not the stack's resources; read as an export it would be an empty stack that passes.
        raise SourceError(
            f"{source}: a `pulumi preview --save-plan` file (resourcePlans): it holds each resource's "
            "changes, not the stack; pass `pulumi preview --json --show-sames` output or "
            "`pulumi stack export`"
        )
    if "checkpoint" in document or ("latest" in document and "steps" not in document):
        return "checkpoint"
    if "deployment" in document or "manifest" in document:
        return "export"
    if "steps" in document or set(document) & {"changeSummary", "diagnostics", "duration"}:
        return "preview"
    raise SourceError(
        f"{source}: neither `pulumi preview --json` output (no `steps`), a `pulumi stack export` "
        "(no `deployment`) nor a checkpoint (no `checkpoint`)"
    )


def read_state(path: Path) -> list[Resource]:
    """The resources of an export or checkpoint given as a preview's current state."""
    return _read_state(path)[0]


def _read_state(path: Path) -> tuple[list[Resource], dict[str, str]]:
    """The state's resources and their recorded `sourcePosition`s, from one reading of the file."""
    source = str(path)
    document = read_json(path)
    kind = kind_of(document, source)
    if kind == "preview":
        raise SourceError(f"{source}: a preview, not a stack's state; pass `pulumi stack export` output")
    loaded = (
        export_document(document, source, owned=True)
        if kind == "export"
        else checkpoint_document(document, source, owned=True)
    )
    return loaded.resources, source_positions(document)


def _states(document: Mapping[str, Any]) -> list[Any]:
    """Every resource state of a preview (old before new), export or checkpoint, unvalidated."""
    steps = document.get("steps")
    if isinstance(steps, list):
        states: list[Any] = []
        for step in steps:
            if type(step) is dict or isinstance(step, Mapping):
                states += (step.get("oldState"), step.get("newState"))
        return states
    deployment: Any = document.get("deployment", document)
    checkpoint = document.get("checkpoint", document)
    if isinstance(checkpoint, Mapping) and isinstance(checkpoint.get("latest"), Mapping):
        deployment = checkpoint["latest"]
    resources = deployment.get("resources") if isinstance(deployment, Mapping) else None
    return resources if isinstance(resources, list) else []


def source_positions(document: Any) -> dict[str, str]:
    """URN -> `sourcePosition` for each state that records one (a later state's wins)."""
    if not isinstance(document, Mapping):
        return {}
    positions: dict[str, str] = {}
    for state in _states(document):
        # `type(…) is dict` before the ABC check, and the rarer key first: this visits every state.
        if type(state) is dict or isinstance(state, Mapping):
            position = state.get("sourcePosition")
            if isinstance(position, str):
                urn = state.get("urn")
                if isinstance(urn, str):
                    positions[urn] = position
    return positions


@gc_paused()
def read_document(path: Path, state: Path | None = None) -> Document:
    """Read a preview, export or checkpoint file; `state` is the export a partial preview applies to.
    Each resource's recorded `sourcePosition` is kept in `positions`."""
    source = str(path)
    document = read_json(path)
    loaded, state_positions = _read_document(document, source, state)
    positions = {**state_positions, **source_positions(document)}
    return replace(loaded, positions=positions) if positions else loaded


def _read_document(document: Any, source: str, state: Path | None) -> tuple[Document, dict[str, str]]:
    """The document, and the `sourcePosition`s of the state a preview was applied over (if any). The
    document was just parsed for this reading alone: it is read as owned (`_plain_state`)."""
    kind = kind_of(document, source)
    if kind == "export":
        return export_document(document, source, owned=True), {}
    if kind == "checkpoint":
        return checkpoint_document(document, source, owned=True), {}
    base, state_positions = _read_state(state) if state is not None else (None, {})
    if base is not None:
        stacks = {stack_of(r.urn) for r in base} - {""}
        steps = document.get("steps")
        urns = [s.get("urn") for s in steps if isinstance(s, Mapping)] if isinstance(steps, list) else []
        preview_stack = next((stack_of(u) for u in urns if isinstance(u, str) and stack_of(u)), "")
        if preview_stack and stacks and preview_stack not in stacks:
            raise SourceError(
                f"{state}: the state of stack {', '.join(sorted(stacks))}, not of the previewed stack "
                f"{preview_stack}"
            )
    resources = resources_from_preview(document, source, base, owned=True)
    notes: list[str] = []
    external = [r.name for r in resources if r.external]
    if external:
        notes.append(_external_note(external))
    warnings = _diagnostic_lines(document, "warning")
    if warnings:
        notes.append(f"the preview warned: {'; '.join(warnings)}")
    return Document("preview", resources, None, notes), state_positions


def stack_name(resources: Sequence[Resource]) -> str:
    """The stack the resources belong to, from their URNs."""
    for resource in resources:
        if resource.stack:
            return resource.stack
    return ""
