"""Names from a database or a command line, printed safely: a control character (an ANSI escape, a
carriage return, a newline in a collection name) is shown as an escape, never acted on by the terminal
or taken for a line of the report."""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CONTROL_NOT_LAYOUT = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _escape(match: re.Match[str]) -> str:
    return f"\\x{ord(match.group(0)):02x}"


def shown(value: object) -> str:
    """One name on one line: every control character escaped (`\\x1b`, `\\x0a`)."""
    return _CONTROL.sub(_escape, str(value))


def terminal_safe(text: str) -> str:
    """A whole report: its own newlines and tabs kept, every other control character escaped."""
    return _CONTROL_NOT_LAYOUT.sub(_escape, text)
