"""One row of the RPO/RTO report: a scenario, its targets, what the declared resources achieve, and why.

The database, storage and queue scenarios (`objectives`) and the application scenarios (`app_scenarios`)
build their rows the same way here, so neither imports the other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any


@dataclass(frozen=True)
class ScenarioResult:
    key: str
    title: str
    target_rpo: timedelta
    target_rto: timedelta
    achieved_rpo: timedelta | None
    achieved_rto: timedelta | None
    mechanism: str
    rto_basis: str
    evidence: list[str] = field(default_factory=list)

    @property
    def rpo_met(self) -> bool:
        return self.achieved_rpo is not None and self.achieved_rpo <= self.target_rpo

    @property
    def rto_met(self) -> bool:
        return self.achieved_rto is not None and self.achieved_rto <= self.target_rto

    @property
    def met(self) -> bool:
        return self.rpo_met and self.rto_met

    def as_dict(self) -> dict[str, Any]:
        def seconds(value: timedelta | None) -> float | None:
            return None if value is None else value.total_seconds()

        return {
            "scenario": self.key,
            "title": self.title,
            "rpoTargetSeconds": seconds(self.target_rpo),
            "rpoAchievedSeconds": seconds(self.achieved_rpo),
            "rtoTargetSeconds": seconds(self.target_rto),
            "rtoAchievedSeconds": seconds(self.achieved_rto),
            "rpoMet": self.rpo_met,
            "rtoMet": self.rto_met,
            "met": self.met,
            "mechanism": self.mechanism,
            "rtoBasis": self.rto_basis,
            "evidence": self.evidence,
        }


def scenario_row(
    key: str,
    title: str,
    objective: Any,
    rpo: timedelta | None,
    rto: timedelta | None,
    mechanism: str,
    basis: str,
    evidence: list[str],
) -> ScenarioResult:
    """One scenario's row against its `objective` (`rpo`, `rto`): with no mechanism declared (`rpo` None)
    nothing is achieved, and the row says which mechanism is missing."""
    if rpo is None:
        rto = None
        mechanism = f"none declared ({mechanism} missing)"
    return ScenarioResult(
        key, title, objective.rpo, objective.rto, rpo, rto, mechanism, basis, sorted(evidence)
    )
