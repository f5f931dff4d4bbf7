"""One resource model for every front end: mocks, CrossGuard, `preview --json` and `stack export`.

Each source spells unknown and secret values its own way (`pulumi.output.Unknown` objects in mocks, UUID
sentinel strings in JSON and in the analyzer, `"[secret]"` in preview JSON, a signature envelope in mocks
and exports). `normalize` turns all of them into two markers, so rules only ever see plain JSON values,
`UNKNOWN`, or the decrypted value of a secret.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d"
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
UNKNOWN_SENTINELS = frozenset(
    {
        "04da6b54-80e4-46f7-96ec-b56ff0331ba9",  # string
        "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7",  # bool
        "3eeb2bf0-c639-47a8-9e75-3b44932eb421",  # number
        "6a19a0b0-7e62-4c92-b797-7f8e31da9cc2",  # array
        "dd056dcd-154b-4c76-9bd3-c8f88648b5ff",  # object
        "030794c1-ac77-496b-92df-f27374a8bd58",  # asset
        "e48ece36-62e2-4504-bad9-02848725956a",  # archive
    }
)
PREVIEW_SECRET = "[secret]"


class _Unknown:
    """A value the engine cannot know yet (preview) or cannot show (an encrypted secret)."""

    _instance: _Unknown | None = None

    def __new__(cls) -> _Unknown:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNKNOWN"

    def __bool__(self) -> bool:
        raise TypeError("an unknown value has no truth value; check `is UNKNOWN` first")


UNKNOWN: Any = _Unknown()


def is_unknown(value: Any) -> bool:
    return value is UNKNOWN


_UNKNOWN_STRINGS = UNKNOWN_SENTINELS | {PREVIEW_SECRET}


def normalize(value: Any) -> Any:
    """Plain JSON values with every unknown or unreadable secret replaced by `UNKNOWN`."""
    # Exact JSON types first, without ABC checks: a whole estate's document goes through here.
    kind = type(value)
    if kind is str:
        return UNKNOWN if value in _UNKNOWN_STRINGS else value
    if kind is dict:
        if SECRET_SIG_KEY not in value:
            return {k if type(k) is str else str(k): normalize(v) for k, v in value.items()}
    elif kind is list:
        return [normalize(v) for v in value]
    elif value is None or kind is bool or kind is int or kind is float:
        return value
    return _normalize_other(value)


def normalize_owned(value: dict[str, Any]) -> Any:
    """`normalize` of a JSON object this caller owns (just parsed, read by nothing else afterwards), made in
    place: its dicts and lists are kept with the unknowns and secrets replaced, instead of copied, which
    spares allocating a second copy of every state's properties. Same value as `normalize` gives."""
    if SECRET_SIG_KEY in value:
        return _normalize_other(value)
    _normalize_dict_in_place(value)
    return value


def _normalize_dict_in_place(value: dict[str, Any]) -> None:
    for key, item in value.items():
        kind = type(item)
        if kind is str:
            if item in _UNKNOWN_STRINGS:
                value[key] = UNKNOWN
        elif kind is dict:
            if SECRET_SIG_KEY in item:
                value[key] = _normalize_other(item)
            else:
                _normalize_dict_in_place(item)
        elif kind is list:
            _normalize_list_in_place(item)
        elif not (item is None or kind is bool or kind is int or kind is float):
            value[key] = _normalize_other(item)


def _normalize_list_in_place(value: list[Any]) -> None:
    for index, item in enumerate(value):
        kind = type(item)
        if kind is str:
            if item in _UNKNOWN_STRINGS:
                value[index] = UNKNOWN
        elif kind is dict:
            if SECRET_SIG_KEY in item:
                value[index] = _normalize_other(item)
            else:
                _normalize_dict_in_place(item)
        elif kind is list:
            _normalize_list_in_place(item)
        elif not (item is None or kind is bool or kind is int or kind is float):
            value[index] = _normalize_other(item)


def _normalize_other(value: Any) -> Any:
    if value is UNKNOWN:
        return UNKNOWN
    if isinstance(value, str):
        return UNKNOWN if value in UNKNOWN_SENTINELS or value == PREVIEW_SECRET else value
    if isinstance(value, Mapping):
        if value.get(SECRET_SIG_KEY) == SECRET_SIG:
            if "value" in value:
                return normalize(value["value"])
            if "plaintext" in value:
                return _decode_plaintext(value["plaintext"])
            return UNKNOWN
        return {str(k): normalize(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [normalize(v) for v in value]
    if value is None or isinstance(value, bool | int | float):
        return value
    if type(value).__name__ == "Unknown":  # pulumi.output.Unknown, seen in preview-mode mocks
        return UNKNOWN
    if hasattr(value, "value") and type(value).__name__ == "Secret":  # pulumi_policy.Secret
        return normalize(value.value)
    return str(value)


def _decode_plaintext(plaintext: Any) -> Any:
    import json

    if not isinstance(plaintext, str):
        return normalize(plaintext)
    try:
        return normalize(json.loads(plaintext))
    except json.JSONDecodeError:
        return plaintext


def stack_of(urn: str) -> str:
    """`urn:pulumi:prod::backstop::type::name` -> `prod`."""
    parts = urn.split("::")
    head = parts[0]
    return head.split(":", 2)[2] if head.startswith("urn:pulumi:") and head.count(":") >= 2 else ""


def name_of(urn: str) -> str:
    return urn.split("::")[-1] if "::" in urn else urn


@dataclass(frozen=True)
class Resource:
    """A resource as every rule sees it: wire (camelCase) property names and normalized values."""

    urn: str
    type: str
    props: Mapping[str, Any]
    name: str = ""
    id: Any = None
    protect: bool = False
    parent: str | None = None
    provider: str | None = None
    dependencies: tuple[str, ...] = ()
    property_dependencies: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    custom: bool = True
    # Read by the stack (`read` step, `.get`, `external: true`), not managed by it.
    external: bool = False

    @classmethod
    def build(
        cls,
        *,
        urn: str,
        type: str,
        props: Mapping[str, Any] | None,
        name: str | None = None,
        id: Any = None,
        protect: bool = False,
        parent: str | None = None,
        provider: str | None = None,
        dependencies: Iterable[str] = (),
        property_dependencies: Mapping[str, Iterable[str]] | None = None,
        custom: bool = True,
        external: bool = False,
    ) -> Resource:
        """Normalize values from any source into a `Resource`."""
        return cls(
            urn=urn,
            type=type,
            props=normalize(props if isinstance(props, dict) else dict(props or {})),
            name=name or name_of(urn),
            id=normalize(id) if id not in (None, "") else None,
            protect=bool(protect),
            parent=parent or None,
            provider=provider or None,
            dependencies=tuple(dependencies),
            property_dependencies={k: tuple(v) for k, v in (property_dependencies or {}).items()},
            custom=custom,
            external=external,
        )

    @property
    def stack(self) -> str:
        return stack_of(self.urn)


_new_object = object.__new__


def assemble(
    urn: str,
    type: str,
    props: Mapping[str, Any],
    name: str,
    id: Any,
    protect: bool,
    parent: str | None,
    provider: str | None,
    dependencies: tuple[str, ...],
    property_dependencies: Mapping[str, tuple[str, ...]],
    custom: bool,
    external: bool,
) -> Resource:
    """The `Resource` of these fields, every one given and already in its final form, without the frozen
    dataclass's `__init__`: it sets each field through `object.__setattr__`, a fifth of the time to read an
    estate's states. The same instance dictionary, in the same order, as `Resource(...)` builds (tested)."""
    resource = _new_object(Resource)
    fields = resource.__dict__
    fields["urn"] = urn
    fields["type"] = type
    fields["props"] = props
    fields["name"] = name
    fields["id"] = id
    fields["protect"] = protect
    fields["parent"] = parent
    fields["provider"] = provider
    fields["dependencies"] = dependencies
    fields["property_dependencies"] = property_dependencies
    fields["custom"] = custom
    fields["external"] = external
    return resource


def by_type(resources: Sequence[Resource], types: Iterable[str]) -> list[Resource]:
    wanted = set(types)
    return [r for r in resources if r.type in wanted]
