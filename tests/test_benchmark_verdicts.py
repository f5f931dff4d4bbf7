"""The benchmark's verdicts: a miss fails the run; a target held above only by the import floor does not."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_check", ROOT / "benchmarks" / "bench_check.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    saved = list(sys.path)
    sys.modules["bench_check"] = module  # dataclasses look their module up while the class is built
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path[:] = saved
        del sys.modules["bench_check"]
    return module


def test_a_miss_fails_and_a_target_held_by_the_import_floor_does_not(bench, capsys) -> None:
    held = bench.Verdicts()
    held.add("check rate", "22,182", ">= 20,000", True)
    held.add("plan --stack prod", "3.61 s", "<= 2.5 s (imports alone: 2.81 s)", False, held=True)
    held.print()
    assert held.ok
    out = capsys.readouterr().out
    assert "  HELD plan --stack prod" in out and "  ok   check rate" in out

    missed = bench.Verdicts()
    missed.add("plan --stack prod", "3.61 s", "<= 2.5 s (imports alone: 2.10 s)", False, held=False)
    missed.add("plan / bare import of its modules", "1.72x", "<= 2x", True)
    missed.print()
    assert not missed.ok
    assert "  MISS plan --stack prod" in capsys.readouterr().out
