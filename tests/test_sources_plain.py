"""`sources._plain_state`, the fast reading of a state whose fields all have their JSON types, gives exactly
the resource the checked reading gives, and leaves every state it cannot vouch for to the checks.

The checked reading is `_state_to_resource` on the same state behind a read-only mapping proxy (not a
`dict`, so the fast path steps aside); resources are compared by value and by `repr`, so a tuple that became
a list or a float that became an int would show.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import FrozenInstanceError, fields
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest

from backstop.ground.resources import UNKNOWN, Resource, assemble, normalize, normalize_owned
from backstop.policy.sources import SourceError, _plain_state, _state_to_resource, read_document
from backstop.program.mocks import ProgramRun
from tests.policy_support import mutate, to_export, to_preview

PUBLISHED = Path(__file__).resolve().parent / "data" / "published"


def _states(document: Any) -> Iterator[dict[str, Any]]:
    """Every `ResourceV3`-shaped object of a preview, export or checkpoint."""
    if isinstance(document, dict):
        if isinstance(document.get("urn"), str) and "type" in document:
            yield document
        for value in document.values():
            yield from _states(value)
    elif isinstance(document, list):
        for value in document:
            yield from _states(value)


def _assert_same(state: dict[str, Any]) -> None:
    for prefer in ("inputs", "outputs"):
        plain = _plain_state(state, prefer)  # type: ignore[arg-type]
        checked = _state_to_resource(MappingProxyType(state), "x", "doc", prefer=prefer)  # type: ignore[arg-type]
        assert plain is not None, state.get("urn")
        assert plain == checked and repr(plain) == repr(checked), state.get("urn")


@pytest.mark.parametrize("name", sorted(p.name for p in PUBLISHED.glob("*.json")))
def test_every_published_state_reads_the_same(name: str) -> None:
    text = (PUBLISHED / name).read_text(encoding="utf-8")
    documents = (
        [json.loads(line) for line in text.splitlines() if line.strip()]
        if "events" in name
        else [json.loads(text)]
    )
    states = [s for d in documents for s in _states(d)]
    assert states or "events" in name
    for state in states:
        _assert_same(state)


def test_the_program_s_states_read_the_same(prod_run: ProgramRun, prod_preview_run: ProgramRun) -> None:
    odd = mutate(prod_run.resources, "atlas-cartie-prod", {"pitEnabled": UNKNOWN, "diskSizeGb": 10.5})
    for resources in (prod_run.resources, prod_preview_run.resources, odd):
        for document in (to_preview(resources), to_export(resources)):
            states = list(_states(json.loads(json.dumps(document))))
            assert len(states) > len(resources)
            for state in states:
                _assert_same(state)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("urn", ""),
        ("urn", 7),
        ("type", None),
        ("inputs", ["not", "an", "object"]),
        ("outputs", "text"),
        ("propertyDependencies", []),
        ("dependencies", "urn:pulumi:prod::p::t::n"),
        ("parent", 3),
        ("provider", {"urn": "x"}),
    ],
)
def test_a_state_with_a_field_of_the_wrong_type_is_left_to_the_checks(field: str, value: Any) -> None:
    state: dict[str, Any] = {
        "urn": "urn:pulumi:prod::p::aws:s3/bucketV2:BucketV2::b",
        "type": "t",
        "inputs": {},
    }
    state[field] = value
    assert _plain_state(state, "inputs") is None
    with pytest.raises(SourceError, match=f"^doc: x.{field}: expected"):
        _state_to_resource(state, "x", "doc", prefer="inputs")


def test_odd_but_valid_values_read_the_same() -> None:
    state = {
        "urn": "urn:pulumi:prod::p::aws:s3/bucketV2:BucketV2::b",
        "type": "aws:s3/bucketV2:BucketV2",
        "id": "",
        "inputs": {"a": 1, "b": "04da6b54-80e4-46f7-96ec-b56ff0331ba9"},
        "outputs": {
            "a": 2.0,
            "c": {
                "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270",
                "plaintext": '"secret"',
            },
        },
        "dependencies": ["urn:a", 5, None],
        "propertyDependencies": {"a": ["urn:a", 3], "b": "not a list", "c": []},
        "parent": "",
        "provider": None,
        "protect": "yes",
        "custom": 0,
        "external": True,
    }
    _assert_same(state)
    plain = _plain_state(state, "outputs")
    assert plain is not None
    assert plain.props == {"a": 2.0, "b": UNKNOWN, "c": "secret"}
    assert plain.dependencies == ("urn:a",) and plain.property_dependencies == {"a": ("urn:a",), "c": ()}
    assert plain.protect is False and plain.custom is True and plain.external is True and plain.parent is None


def test_assemble_builds_the_instance_the_dataclass_builds() -> None:
    """`assemble` (the fast path's constructor) sets every field, in field order, and nothing else: a field
    added to `Resource` but not to `assemble` fails here."""
    values: dict[str, Any] = {
        "urn": "urn:pulumi:prod::p::aws:s3/bucketV2:BucketV2::b",
        "type": "aws:s3/bucketV2:BucketV2",
        "props": {"bucket": "cartie-prod-b", "versioning": UNKNOWN},
        "name": "b",
        "id": "b-123",
        "protect": True,
        "parent": "urn:pulumi:prod::p::pulumi:pulumi:Stack::p-prod",
        "provider": None,
        "dependencies": ("urn:a",),
        "property_dependencies": {"bucket": ("urn:a",)},
        "custom": True,
        "external": False,
    }
    built, assembled = Resource(**values), assemble(**values)
    assert list(vars(assembled)) == [f.name for f in fields(Resource)] == list(vars(built))
    assert vars(assembled) == vars(built)
    assert assembled == built and repr(assembled) == repr(built)
    with pytest.raises(FrozenInstanceError):
        assembled.name = "other"  # type: ignore[misc]


def test_property_dependencies_keep_only_lists_of_urns() -> None:
    state = {
        "urn": "urn:pulumi:prod::p::aws:s3/bucketV2:BucketV2::b",
        "type": "aws:s3/bucketV2:BucketV2",
        "inputs": {"bucket": "b"},
        "propertyDependencies": {
            "bucket": ["urn:a", "urn:b"],
            "policy": [],
            "tags": ["urn:c", None, 4, {"urn": "urn:d"}],
            "region": "urn:e",
        },
    }
    plain = _plain_state(state, "inputs")
    assert plain is not None
    assert plain.property_dependencies == {"bucket": ("urn:a", "urn:b"), "policy": (), "tags": ("urn:c",)}
    assert all(type(urns) is tuple for urns in plain.property_dependencies.values())
    _assert_same(state)


_ENVELOPE = "4dabf18193072939515e22adb298388d"
_SIG = "1b47061264138c4ac30d75fd1eb44270"


def test_normalize_owned_gives_normalize_s_value_in_place() -> None:
    """The in-place normalization of a parsed document's properties (`normalize_owned`) gives the value
    `normalize` copies out, and keeps the document's own dicts and lists."""
    value: dict[str, Any] = {
        "name": "b",
        "unknown": "04da6b54-80e4-46f7-96ec-b56ff0331ba9",
        "hidden": "[secret]",
        "numbers": [1, 2.5, True, None, "3eeb2bf0-c639-47a8-9e75-3b44932eb421"],
        "nested": {"deeper": [{"a": "[secret]", "b": {"c": "kept"}}], "empty": {}},
        "secret": {_ENVELOPE: _SIG, "plaintext": '{"password": "[secret]", "user": "u"}'},
        "wrapped": {_ENVELOPE: _SIG, "value": ["x", "dd056dcd-154b-4c76-9bd3-c8f88648b5ff"]},
        "sealed": {_ENVELOPE: _SIG, "ciphertext": "AAAA"},
        "list_of_secrets": [{_ENVELOPE: _SIG, "plaintext": '"s3cr3t"'}],
    }
    expected = normalize(json.loads(json.dumps(value)))
    nested, deeper = value["nested"], value["nested"]["deeper"]
    owned = normalize_owned(value)
    assert owned == expected and repr(owned) == repr(expected)
    assert owned["nested"]["deeper"][0]["a"] is UNKNOWN and owned["secret"] == {
        "password": UNKNOWN,
        "user": "u",
    }
    assert owned is value and owned["nested"] is nested and owned["nested"]["deeper"] is deeper
    top = {_ENVELOPE: _SIG, "value": {"a": "[secret]"}}
    assert normalize_owned(json.loads(json.dumps(top))) == normalize(top) == {"a": UNKNOWN}


def test_reading_an_export_in_place_finds_no_drift_where_inputs_and_outputs_agree(tmp_path: Path) -> None:
    """Drift is judged on the document as written: the same `[secret]` nested in inputs and outputs is no
    drift, although reading the outputs replaces theirs with `UNKNOWN` in place."""
    state = {
        "urn": "urn:pulumi:prod::p::azure-native:servicebus:Queue::q",
        "type": "azure-native:servicebus:Queue",
        "id": "q",
        "inputs": {"queueName": "q", "settings": {"key": "[secret]"}},
        "outputs": {"queueName": "q", "settings": {"key": "[secret]"}},
    }
    path = tmp_path / "export.json"
    path.write_text(json.dumps({"version": 3, "deployment": {"resources": [state]}}), encoding="utf-8")
    document = read_document(path)
    assert document.declared is None
    assert [r.props for r in document.resources] == [{"queueName": "q", "settings": {"key": UNKNOWN}}]
