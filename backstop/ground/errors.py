"""Errors every `backstop` subcommand reports the same way: one line on stderr, exit code 2."""

from __future__ import annotations

EXIT_OK = 0
EXIT_VIOLATIONS = 1
EXIT_BAD_INPUT = 2


class BackstopError(Exception):
    """Input or an environment backstop cannot use. Its text is one line naming the file and key."""


class UsageError(BackstopError):
    """A command-line argument or file backstop cannot use."""
