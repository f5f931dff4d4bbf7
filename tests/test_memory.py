"""The cyclic collector is paused only while a document is read and checked, and always resumed."""

from __future__ import annotations

import gc
import json
from pathlib import Path

import pytest

from backstop.ground.memory import gc_paused
from backstop.policy.core import evaluate
from backstop.policy.sources import SourceError, read_document
from backstop.policy.targets import PolicyTargets


def test_paused_inside_resumed_after_even_when_nested_or_failing() -> None:
    assert gc.isenabled()
    with gc_paused():
        assert not gc.isenabled()
        with gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the outer pause still holds
    assert gc.isenabled()
    with pytest.raises(RuntimeError), gc_paused():
        raise RuntimeError("boom")
    assert gc.isenabled()


def test_a_caller_that_paused_it_keeps_it_paused() -> None:
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_reading_and_checking_leave_the_collector_running(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{", encoding="utf-8")
    with pytest.raises(SourceError):
        read_document(bad)
    assert gc.isenabled()
    good = tmp_path / "preview.json"
    good.write_text(json.dumps({"steps": []}), encoding="utf-8")
    document = read_document(good)
    assert gc.isenabled()
    evaluate(document.resources, PolicyTargets.for_environment("prod"))
    assert gc.isenabled()
