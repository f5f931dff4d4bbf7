"""Probes: one question to one cloud about one live resource, run concurrently with a bound.

A probe names every objective it measures before it runs, so when its cloud does not answer (denied,
throttled past its budget, unreachable, no credentials) each of them still gets a row: `unknown`, with the
reason. Calls that do not depend on each other are separate probes (or, inside one, guarded apart with
`measured_or_unknown`), so one refused call leaves unknown only the rows it would have measured. A probe
never writes; it only reads.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from backstop.clients.cloud import CloudCallError
from backstop.ground.errors import BackstopError
from backstop.operations.status.rows import Row

logger = logging.getLogger(__name__)

DEFAULT_WORKERS = 16


@dataclass(frozen=True)
class Objective:
    """An objective a probe will report on: its id and its target, as the row shows it."""

    objective: str
    resource: str
    target: str
    basis: str = ""

    def unknown(self, reason: str) -> Row:
        return Row(self.objective, self.resource, "unknown", self.target, reason=reason, basis=self.basis)


@dataclass(frozen=True)
class Probe:
    cloud: str
    resource: str
    objectives: tuple[Objective, ...]
    run: Callable[[], list[Row]]


def bind(
    measure: Callable[..., list[Row]], client: Callable[[], Any], now: Callable[[], datetime], *args: Any
) -> Callable[[], list[Row]]:
    """`measure(client(), *args, now())`, run later in a worker: the client is made on first use."""

    def run() -> list[Row]:
        return measure(client(), *args, now())

    return run


def unknown_reason(error: BaseException) -> str:
    if isinstance(error, CloudCallError):
        return f"{error.kind}: {error}"
    if isinstance(error, BackstopError):
        status = getattr(error, "status", None)
        kind = "denied" if status in (401, 403) else "throttled" if "gave up" in str(error) else "error"
        return f"{kind}: {error}"
    return f"error: {type(error).__name__}: {' '.join(str(error).split())[:200]}"


def measured_or_unknown(
    objectives: Sequence[Objective], measure: Callable[..., Row | list[Row]], *args: Any
) -> list[Row]:
    """`measure(*args)`'s rows; when its call fails, an `unknown` row for each of `objectives`, with the
    reason. For a call inside a probe that the probe's other calls do not depend on: it fails alone."""
    try:
        measured = measure(*args)
        return measured if isinstance(measured, list) else [measured]
    except Exception as error:  # one call's failure is its own rows' unknown, never the probe's
        reason = unknown_reason(error)
        return [objective.unknown(reason) for objective in objectives]


def run_probes(
    probes: Sequence[Probe],
    *,
    workers: int = DEFAULT_WORKERS,
    progress: bool = True,
) -> list[Row]:
    """Every probe's rows; a probe that failed yields `unknown` rows for its objectives, with the reason.

    At most `workers` calls are in flight; progress (done / total per cloud) is logged at INFO when
    `progress` is true."""
    rows: list[Row] = []
    total = len(probes)
    if not total:
        return rows
    done: dict[str, int] = {}
    step = max(total // 20, 1)
    with ThreadPoolExecutor(max_workers=max(1, min(workers, total))) as pool:
        futures = {pool.submit(probe.run): probe for probe in probes}
        for count, future in enumerate(as_completed(futures), start=1):
            probe = futures[future]
            try:
                rows.extend(future.result())
            except Exception as error:  # each failure is one probe's unknown, never the whole run
                reason = unknown_reason(error)
                rows.extend(objective.unknown(reason) for objective in probe.objectives)
            done[probe.cloud] = done.get(probe.cloud, 0) + 1
            if progress and (count % step == 0 or count == total):
                clouds = ", ".join(f"{cloud} {n}" for cloud, n in sorted(done.items()))
                logger.info(f"asked {count} of {total} ({clouds})", extra={"step": "status"})
    return rows
