"""What a cloud call that gave no usable answer was: denied, throttled past its budget, unreachable.

`backstop status` turns each into an `unknown` row with this reason, never into an ok one. Every client
that reads the live estate for it raises `CloudCallError` with one of these kinds, so the command can
count and name them without knowing which SDK failed.
"""

from __future__ import annotations

from typing import Literal

from backstop.ground.errors import BackstopError

FailureKind = Literal["denied", "throttled", "unreachable", "not-found", "no-credentials", "error"]


class CloudCallError(BackstopError):
    """One line: the call, what went wrong, and what to do where that is known."""

    def __init__(self, message: str, kind: FailureKind = "error", status: int | None = None) -> None:
        super().__init__(message)
        self.kind: FailureKind = kind
        self.status = status


def kind_of_status(status: int | None) -> FailureKind:
    if status in (401, 403):
        return "denied"
    if status in (429, 503):
        return "throttled"
    if status == 404:
        return "not-found"
    return "error"
