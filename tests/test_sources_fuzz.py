"""Fuzz the document loaders through `backstop check`: never a traceback; unusable input is exit 2, one line.

Small budgets keep the suite fast; the strategies mutate the real shapes (preview steps, export states,
checkpoints) so most examples get past the first key and into the states and the rules.
"""

from __future__ import annotations

import contextlib
import io
import json
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backstop.cli import main
from backstop.ground import tokens
from backstop.policy.sources import GONE_OPS, KNOWN_OPS

FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
    st.sampled_from(["04da6b54-80e4-46f7-96ec-b56ff0331ba9", "[secret]", "Enabled", "Standard_LRS"]),
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
types = st.sampled_from(
    [
        tokens.S3_BUCKET,
        tokens.S3_VERSIONING,
        tokens.AZ_SB_QUEUE,
        tokens.AZC_SB_SUBSCRIPTION,
        tokens.AZC_STORAGE_ACCOUNT,
        tokens.ATLAS_ADVANCED_CLUSTER,
        tokens.ATLAS_BACKUP_SCHEDULE,
        tokens.AZ_METRIC_ALERT,
        "aws:rds/instance:Instance",
    ]
)
names = st.sampled_from(["a", "b", "media", "bus"])


@st.composite
def states(draw: st.DrawFn) -> Any:
    state: dict[str, Any] = {
        "urn": f"urn:pulumi:{draw(st.sampled_from(['prod', 'dev']))}::p::{draw(types)}::{draw(names)}",
        "custom": draw(st.booleans()),
        "type": draw(types),
    }
    for key in ("inputs", "outputs"):
        if draw(st.booleans()):
            state[key] = draw(
                st.dictionaries(
                    st.sampled_from(["bucket", "sku", "maxDeliveryCount", "x"]), json_values, max_size=3
                )
            )
    for key in (
        "id",
        "protect",
        "delete",
        "external",
        "parent",
        "provider",
        "dependencies",
        "propertyDependencies",
    ):
        if draw(st.integers(0, 3)) == 0:
            state[key] = draw(json_values)
    return draw(st.one_of(st.just(state), json_values)) if draw(st.integers(0, 9)) == 0 else state


@st.composite
def documents(draw: st.DrawFn) -> Any:
    kind = draw(st.sampled_from(["preview", "export", "checkpoint", "other"]))
    if kind == "preview":
        steps = [
            {
                "op": draw(st.sampled_from(sorted(KNOWN_OPS | {"bogus"}))),
                "urn": draw(st.text(max_size=5)),
                **({"newState": draw(states())} if draw(st.booleans()) else {}),
                **({"oldState": draw(states())} if draw(st.booleans()) else {}),
            }
            for _ in range(draw(st.integers(0, 4)))
        ]
        document: dict[str, Any] = {"steps": steps}
        if draw(st.booleans()):
            document["changeSummary"] = {"same": draw(st.integers(0, 5))}
        if draw(st.integers(0, 4)) == 0:
            document["diagnostics"] = draw(json_values)
        return document
    deployment = {"manifest": {}, "resources": draw(st.lists(states(), max_size=4))}
    if draw(st.integers(0, 3)) == 0:
        deployment["pending_operations"] = [
            {"resource": draw(states()), "type": draw(st.sampled_from(["creating", "updating", "x"]))}
        ]
    version = draw(st.one_of(st.integers(0, 5), json_values))
    if kind == "export":
        return {"version": version, "deployment": deployment}
    if kind == "checkpoint":
        return {
            "version": version,
            "checkpoint": {"stack": "s", **({"latest": deployment} if draw(st.booleans()) else {})},
        }
    return draw(json_values)


def _check(data: bytes, *argv: str) -> tuple[int, str]:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "doc.json"
        path.write_bytes(data)
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(["check", str(path), "--format", "json", *argv])
        return code, err.getvalue()


def _assert_clean(code: int, err: str) -> None:
    assert code in (0, 1, 2)
    if code == 2:
        assert len(err.strip().splitlines()) == 1, err
        assert err.startswith("backstop: ")
    else:
        assert err == ""


@FUZZ
@given(st.binary(max_size=120))
def test_any_bytes(data: bytes) -> None:
    code, err = _check(data)
    _assert_clean(code, err)


@FUZZ
@given(documents(), st.sampled_from(["utf-8", "utf-8-sig", "utf-16"]))
def test_mutated_documents(document: Any, encoding: str) -> None:
    code, err = _check(json.dumps(document).encode(encoding))
    _assert_clean(code, err)


@FUZZ
@given(documents(), st.integers(0, 400))
def test_truncated_documents_are_exit_2(document: Any, cut: int) -> None:
    text = json.dumps(document).encode()
    if cut < len(text):
        code, err = _check(text[:cut])
        assert code == 2
        _assert_clean(code, err)


def test_every_gone_op_is_a_known_op() -> None:
    assert GONE_OPS <= KNOWN_OPS


@st.composite
def event_streams(draw: st.DrawFn) -> str:
    """Lines of engine events as the streaming `--json` form writes them, some of them broken."""
    lines = [json.dumps({"sequence": 0, "timestamp": 1, "preludeEvent": {"config": {}}})]
    for number in range(draw(st.integers(0, 4))):
        kind = draw(
            st.sampled_from(["resourcePreEvent", "diagnosticEvent", "summaryEvent", "resOpFailedEvent"])
        )
        payload: Any = {
            "metadata": {
                "op": draw(st.sampled_from(sorted(KNOWN_OPS | {"bogus"}))),
                "urn": draw(st.text(max_size=5)),
                "new": draw(st.one_of(st.none(), states())),
            }
        }
        if kind == "summaryEvent":
            payload = {"resourceChanges": {"same": draw(st.integers(0, 3))}}
        elif kind == "diagnosticEvent":
            payload = {
                "message": draw(st.text(max_size=10)),
                "severity": draw(st.sampled_from(["error", "info"])),
            }
        if draw(st.integers(0, 5)) == 0:
            payload = draw(json_values)
        lines.append(json.dumps({"sequence": number + 1, "timestamp": 1, kind: payload}))
    if draw(st.integers(0, 5)) == 0:
        lines.append(draw(st.text(max_size=10)))
    return "\n".join(lines) + "\n"


@FUZZ
@given(event_streams())
def test_event_streams(stream: str) -> None:
    code, err = _check(stream.encode("utf-8", "surrogatepass"))
    _assert_clean(code, err)
