"""Benchmark: `backstop check` on a large preview document, and `backstop plan` end to end.

Targets (a platform team's whole estate, checked on every pull request on a 2-core runner):
- check: a preview of 100 copies of the prod stack (~7,300 resources) loads and is evaluated against
  every rule in under 20 s, with peak traced memory under 512 MiB;
- plan: the prod program under mocks plus every rule in under 15 s.

Run: .venv/bin/python benchmarks/bench_check.py [--copies N]; exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from backstop.mocks import run_stack  # noqa: E402
from backstop.policy.core import evaluate, load_rules  # noqa: E402
from backstop.policy.sources import load_document  # noqa: E402
from backstop.policy.targets import PolicyTargets  # noqa: E402
from backstop.resources import Resource  # noqa: E402
from tests.policy_support import to_preview  # noqa: E402

CHECK_SECONDS = 20.0
CHECK_PEAK_MIB = 512.0
PLAN_SECONDS = 15.0


def _copies(resources: list[Resource], copies: int) -> list[Resource]:
    """`copies` independent replicas of a stack: every URN, name and id made unique per copy."""
    out: list[Resource] = []
    for n in range(copies):

        def rename(value: object, n: int = n) -> object:
            if isinstance(value, str) and (value.startswith("urn:pulumi:") or value in names):
                return f"{value}-{n}"
            if isinstance(value, dict):
                return {k: rename(v) for k, v in value.items()}
            if isinstance(value, list):
                return [rename(v) for v in value]
            return value

        for r in resources:
            out.append(
                Resource.build(
                    urn=f"{r.urn}-{n}",
                    type=r.type,
                    name=f"{r.name}-{n}",
                    props=rename(dict(r.props)),  # type: ignore[arg-type]
                    id=rename(r.id),
                    protect=r.protect,
                    parent=f"{r.parent}-{n}" if r.parent else None,
                    property_dependencies={
                        k: [f"{u}-{n}" for u in v] for k, v in r.property_dependencies.items()
                    },
                )
            )
    return out


names: set[str] = set()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=100)
    args = parser.parse_args()
    load_rules()

    started = time.perf_counter()
    run = run_stack(ROOT, "prod")
    report = evaluate(run.resources, PolicyTargets.for_environment("prod"), stack="prod")
    plan_seconds = time.perf_counter() - started
    names.update(str(r.id) for r in run.resources if r.id)
    names.update(str(r.props.get("bucket")) for r in run.resources if isinstance(r.props.get("bucket"), str))

    resources = _copies(run.resources, args.copies)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "preview.json"
        path.write_text(json.dumps(to_preview(resources)), encoding="utf-8")
        tracemalloc.start()
        started = time.perf_counter()
        _kind, loaded = load_document(path)
        big = evaluate(loaded, PolicyTargets.for_environment("prod"), stack="prod")
        check_seconds = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()

    peak_mib = peak / 2**20
    rows = [
        (
            "plan prod (program + rules)",
            f"{plan_seconds:.2f} s",
            f"< {PLAN_SECONDS:.0f} s",
            plan_seconds < PLAN_SECONDS,
        ),
        (
            f"check {len(loaded)} resources",
            f"{check_seconds:.2f} s",
            f"< {CHECK_SECONDS:.0f} s",
            check_seconds < CHECK_SECONDS,
        ),
        (
            "check peak memory",
            f"{peak_mib:.0f} MiB",
            f"< {CHECK_PEAK_MIB:.0f} MiB",
            peak_mib < CHECK_PEAK_MIB,
        ),
    ]
    for label, measured, target, ok in rows:
        print(f"{'ok  ' if ok else 'MISS'} {label:<34} {measured:>10}  target {target}")
    print(
        f"rules: {len(report.rules)}; mandatory violations: "
        f"plan {len(report.mandatory)}, check {len(big.mandatory)}"
    )
    return 0 if all(ok for *_, ok in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
