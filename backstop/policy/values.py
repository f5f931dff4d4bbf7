"""Reading wire-named properties safely: paths, numbers that arrive as floats, and unknowns.

Rules never index props directly: `get` walks a dotted path and reports `MISSING` or `UNKNOWN` instead of
raising, so no input can crash a rule, and an unknown can never be mistaken for a compliant value.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from typing import Any

from backstop.ground.resources import UNKNOWN, is_unknown


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


MISSING: Any = _Missing()

_PATH_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


@functools.lru_cache(maxsize=4096)
def _parts(path: str) -> tuple[str | int, ...]:
    """A dotted path's keys and indexes, parsed once per path (rules read the same few paths again and
    again over every resource of an estate)."""
    return tuple(int(index) if index else key for key, index in _PATH_PART.findall(path))


def get(props: Any, path: str) -> Any:
    """`get(props, "copySettings[0].regionName")`: the value, `MISSING` or `UNKNOWN`."""
    current = props
    for part in _parts(path):
        if current is UNKNOWN:
            return UNKNOWN
        if isinstance(part, int):
            # `type(…) is` first: ABC checks are slow and props are plain lists and dicts.
            sequence = type(current) is list or (
                isinstance(current, Sequence) and not isinstance(current, str)
            )
            if not sequence or part >= len(current):
                return MISSING
            current = current[part]
        else:
            if not (type(current) is dict or isinstance(current, Mapping)) or part not in current:
                return MISSING
            current = current[part]
        if current is None:
            return MISSING
    return current


def number(value: Any) -> float | None:
    """A number (ints arrive from mocks as floats), or None for anything else; check `is_unknown` first."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                return None
        return None
    return float(value)


def items(value: Any) -> list[Any]:
    """A list property as a list (missing -> empty); an unknown list stays `UNKNOWN`."""
    if is_unknown(value):
        return UNKNOWN
    if isinstance(value, list | tuple):
        return list(value)
    return []


def is_true(value: Any) -> bool:
    """Strictly `True` (or the string "true", as provider configs are stringly typed)."""
    return value is True or (isinstance(value, str) and value.lower() == "true")


def fmt(value: Any) -> str:
    """A value as it should read in a message: floats from mocks print as integers when whole."""
    if is_unknown(value):
        return "unknown"
    if value is MISSING:
        return "not set"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return repr(value) if isinstance(value, str) else str(value)
