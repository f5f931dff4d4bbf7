"""Reporting periods: calendar quarters (`2026Q4`), and the audit weeks inside them.

The seed's drill is quarterly, so a bundle covers one quarter; its Tier-2 attestation runs every Sunday at
03:00 UTC, so the quarter is cut into the Monday-to-Monday weeks of its Sundays, each of which must hold
one attestation per tenant.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from backstop.ground.errors import UsageError

_QUARTER = re.compile(r"^(\d{4})Q([1-4])$")


@dataclass(frozen=True)
class Period:
    label: str
    start: datetime
    end: datetime  # exclusive

    def holds(self, at: datetime | None) -> bool:
        return at is not None and self.start <= at < self.end

    def previous(self) -> Period:
        year, quarter = int(self.label[:4]), int(self.label[5])
        return quarter_period(year - 1, 4) if quarter == 1 else quarter_period(year, quarter - 1)


@dataclass(frozen=True)
class Week:
    label: str  # ISO week, `2026-W40`
    start: datetime
    end: datetime


def quarter_period(year: int, quarter: int) -> Period:
    start = datetime(year, 3 * quarter - 2, 1, tzinfo=UTC)
    end = (
        datetime(year + 1, 1, 1, tzinfo=UTC)
        if quarter == 4
        else datetime(year, 3 * quarter + 1, 1, tzinfo=UTC)
    )
    return Period(f"{year}Q{quarter}", start, end)


def parse_period(value: str) -> Period:
    """`2026Q4`; anything else is one line naming the option."""
    match = _QUARTER.match(value.strip())
    if match is None:
        raise UsageError(f"--period: expected a calendar quarter like 2026Q4 (got {value!r})")
    return quarter_period(int(match.group(1)), int(match.group(2)))


def history(period: Period, before: int = 4) -> list[Period]:
    """The period and the `before` periods preceding it, oldest first."""
    periods = [period]
    for _ in range(before):
        periods.append(periods[-1].previous())
    return list(reversed(periods))


def weeks(period: Period) -> list[Week]:
    """The audit weeks of the period: Monday 00:00 UTC to Monday, one per Sunday inside the period (the
    weekly audit's run day), so each week holds exactly one Sunday 03:00 run and belongs to one period."""
    sunday = period.start + timedelta(days=(6 - period.start.weekday()) % 7)
    found = []
    while sunday < period.end:
        start = sunday - timedelta(days=6)
        year, number, _ = start.isocalendar()
        found.append(Week(f"{year}-W{number:02d}", start, start + timedelta(days=7)))
        sunday += timedelta(days=7)
    return found


def parse_time(value: object) -> datetime | None:
    """An evidence timestamp (`2026-05-18T03:00:00.000Z`, or a BSON datetime), else None."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
