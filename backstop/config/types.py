"""The building blocks of every config model: the strict camelCase base model and duration types.

They live apart from `backstop.config` so that each area's config models (the app layer's in
`backstop.config.app`) can be their own module and still be composed into the one `StackConfig`.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict
from pydantic.alias_generators import to_camel

_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|min|h|d|w)\s*$")
_DURATION_UNITS = {"s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 604800}
_ISO_SPAN_RE = re.compile(r"^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$")
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+$"


class ConfigModel(BaseModel):
    """Strict, immutable, camelCase-on-the-outside config model."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        frozen=True,
        validate_default=True,
        strict=True,  # `electableNodes: true` or `"3"` is a typo in a stack file, not a number
    )


def parse_duration(value: Any) -> timedelta:
    """Accept `30m`, `6h`, `7d`, `2w`, a number of seconds, or an ISO-8601 span such as `PT6H`."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 30m, 6h or 7d")
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError("a duration cannot be negative")
        return timedelta(seconds=value)
    if isinstance(value, str):
        match = _DURATION_RE.match(value)
        if match:
            return timedelta(seconds=float(match.group(1)) * _DURATION_UNITS[match.group(2)])
        iso = _ISO_SPAN_RE.match(value.strip())
        if iso and any(iso.groups()):
            days, hours, minutes, seconds = (int(g or 0) for g in iso.groups())
            return timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
        if value.strip() == "0":
            return timedelta(0)
    raise ValueError(f"expected a duration such as 30m, 6h or 7d (got {value!r})")


def parse_iso_timespan(value: str) -> str:
    """Azure timespans (`PT1M`, `P14D`): ISO-8601 day/time durations longer than zero."""
    iso = _ISO_SPAN_RE.match(value)
    if iso is None or not any(iso.groups()) or parse_duration(value) <= timedelta(0):
        raise ValueError(f"expected an ISO-8601 duration above zero, such as PT1M or P14D (got {value!r})")
    return value


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]
IsoTimespan = Annotated[str, AfterValidator(parse_iso_timespan)]

# What Azure Monitor accepts for a metric alert (Microsoft.Insights/metricAlerts), as
# terraform-provider-azurerm's monitor_metric_alert resource validates them: anything else is refused by
# the API at `pulumi up`, long after the offline plan passed.
METRIC_ALERT_FREQUENCIES = ("PT1M", "PT5M", "PT15M", "PT30M", "PT1H")
METRIC_ALERT_WINDOWS = ("PT1M", "PT5M", "PT15M", "PT30M", "PT1H", "PT6H", "PT12H", "P1D")


def _one_of(allowed: tuple[str, ...], what: str) -> Any:
    spans = {parse_duration(a) for a in allowed}

    def check(value: str) -> str:
        if parse_duration(parse_iso_timespan(value)) not in spans:
            raise ValueError(f"Azure allows a metric alert {what} of {', '.join(allowed)} (got {value!r})")
        return value

    return AfterValidator(check)


MetricAlertFrequency = Annotated[str, _one_of(METRIC_ALERT_FREQUENCIES, "evaluation frequency")]
MetricAlertWindow = Annotated[str, _one_of(METRIC_ALERT_WINDOWS, "window size")]


def window_covers_frequency(window_size: str, frequency: str | None) -> str:
    """An Azure Monitor metric alert's `windowSize`, refused when shorter than `evaluationFrequency`."""
    if frequency is not None and parse_duration(window_size) < parse_duration(frequency):
        raise ValueError(f"must be at least evaluationFrequency ({frequency}); Azure requires it")
    return window_size
