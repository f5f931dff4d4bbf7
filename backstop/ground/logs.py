"""Progress and diagnostics through `logging`, so a long command's stderr is a timeline.

Every module logs to `logging.getLogger(__name__)` (all under the `backstop` logger); the command line
configures that logger once (`configure`): UTC ISO-8601 timestamps, `-q` warnings only, `-v` debug (each
HTTP call), `--log-format json` one JSON object per line for incident timelines a machine reads. Results
(tables, JSON documents, verdicts) never go through here: they are stdout. The one-line error contract
(`backstop: <file>: <key>: ...`, exit 2) is printed by the command line, not logged, so it reads the same
whatever the log format.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Literal, TextIO

ROOT = "backstop"
LogFormat = Literal["text", "json"]
LOG_FORMATS: tuple[LogFormat, ...] = ("text", "json")

# Attributes every LogRecord has: anything else on a record came from `extra=` and is a structured field.
_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


def timestamp(record: logging.LogRecord) -> str:
    """The record's time, UTC, ISO-8601 to the millisecond (`2026-05-18T03:00:00.000Z`), as Atlas writes."""
    moment = datetime.fromtimestamp(record.created, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def extras(record: logging.LogRecord) -> dict[str, Any]:
    """The structured fields a call site attached (`incident`, `step`, `cluster`, ...)."""
    return {k: v for k, v in record.__dict__.items() if k not in _STANDARD and not k.startswith("_")}


class TextFormatter(logging.Formatter):
    """`2026-05-18T03:00:00.000Z INFO message`: the message as it always read, behind a time and a level."""

    def format(self, record: logging.LogRecord) -> str:
        line = f"{timestamp(record)} {record.levelname} {record.getMessage().rstrip()}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class JsonFormatter(logging.Formatter):
    """One JSON object per line: `ts`, `level`, `logger`, `message`, then the call site's extras."""

    def format(self, record: logging.LogRecord) -> str:
        document: dict[str, Any] = {
            "ts": timestamp(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage().rstrip(),
        }
        for key, value in extras(record).items():
            document.setdefault(key, value)
        if record.exc_info:
            document["exception"] = self.formatException(record.exc_info)
        return json.dumps(document, default=str, ensure_ascii=False)


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever `sys.stderr` is at the moment of the record (a test's capture, a redirect)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        pass


def level_for(verbose: int, quiet: bool) -> int:
    """`-q` wins over `-v`: a quiet run asked for warnings and errors only."""
    if quiet:
        return logging.WARNING
    return logging.DEBUG if verbose > 0 else logging.INFO


def configure(level: int = logging.INFO, log_format: LogFormat = "text") -> None:
    """The `backstop` logger's one handler, replaced on every call (`main` runs many times in a test)."""
    logger = logging.getLogger(ROOT)
    for handler in list(logger.handlers):
        if isinstance(handler, _StderrHandler):
            logger.removeHandler(handler)
    handler = _StderrHandler()
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False  # a root handler someone else configured would print every line twice


def progress(logger: logging.Logger, **fields: Any) -> Callable[[str], None]:
    """A progress callback for the layers below (`io.progress(line)`): each line an INFO record with these
    structured fields (`incident=`, `step=`, `cluster=` ...), dropped ones that are None."""
    extra = {k: v for k, v in fields.items() if v is not None}

    def say(line: str) -> None:
        logger.info(line.rstrip(), extra=extra)

    return say
