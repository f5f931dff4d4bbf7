"""Reading what a command logged on stderr: `2026-05-18T03:00:00.000Z INFO message` lines."""

from __future__ import annotations

import re

LINE = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) (DEBUG|INFO|WARNING|ERROR|CRITICAL) (.*)$")


def logged(err: str, level: str = "INFO") -> list[str]:
    """The messages of the log lines at `level` in `err`, in order, without their time and level."""
    return [m.group(3) for m in map(LINE.match, err.splitlines()) if m and m.group(2) == level]
