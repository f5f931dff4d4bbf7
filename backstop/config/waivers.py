"""The reviewed waivers file, `backstop-waivers.yaml` beside `Pulumi.yaml`: each justified exception.

A waiver names one rule, the resources it covers (a URN or a URN glob), who owns the exception, the ticket
it was reviewed in, why, and the day it stops applying: an exception without an owner and an end date is a
rule turned off. The file is validated here (the JSON Schema shipped beside this module is generated from
the same model) and every problem is reported, one line each, naming the file and the key.
"""

from __future__ import annotations

import datetime as dt
import json
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from backstop.config.common import ConfigError

WAIVERS_FILE = "backstop-waivers.yaml"
SCHEMA_FILE = "waivers.schema.json"
EXPIRY_WARNING_DAYS = 14  # issue 23: a waiver expiring within 14 days warns


class Waiver(BaseModel):
    """One exception: `rule` on the resources `urn` matches (`*`, `?` and `[...]` glob), until `expires`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rule: str = Field(
        min_length=1, description="The rule id the waiver exempts from, e.g. s3-versioning-enabled."
    )
    urn: str = Field(
        min_length=1,
        description="The URN of the resource at fault, or a glob over URNs (`*` any characters, `?` one).",
    )
    owner: str = Field(min_length=1, description="Who answers for the exception (a person or a team).")
    ticket: str = Field(
        min_length=1, description="Where the exception was reviewed (issue, change, risk id)."
    )
    reason: str = Field(min_length=1, description="Why the finding is accepted, as an auditor will read it.")
    expires: dt.date = Field(
        description="The last day the waiver applies (YYYY-MM-DD); the day after, the finding counts again."
    )

    @field_validator("expires", mode="before")
    @classmethod
    def _a_date(cls, value: Any) -> Any:
        """A date only: YAML reads `2026-12-31` as a date; a timestamp or a number is not an expiry day."""
        if isinstance(value, str):
            try:
                return dt.date.fromisoformat(value)
            except ValueError:
                raise ValueError(f"expected a date, YYYY-MM-DD (got {value[:40]!r})") from None
        if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
            raise ValueError("expected a date, YYYY-MM-DD")
        return value

    def days_left(self, today: dt.date) -> int:
        """Days until the waiver lapses: 0 on its last day, negative once expired."""
        return (self.expires - today).days

    def expired(self, today: dt.date) -> bool:
        return today > self.expires

    def label(self, index: int) -> str:
        return f"waivers[{index}] ({self.rule} on {self.urn}; owner {self.owner}, {self.ticket})"


class WaiversFile(BaseModel):
    """The whole file: `waivers:`, a list of entries (an empty file waives nothing)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    waivers: list[Waiver] = Field(default_factory=list)


@cache
def shipped_schema() -> dict[str, Any]:
    """The JSON Schema of the waivers file, shipped in the package for editors and CI linters."""
    text = resources.files("backstop.config").joinpath(SCHEMA_FILE).read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def generated_schema() -> dict[str, Any]:
    """The JSON Schema the model implies; the shipped file must equal it (a test holds them together)."""
    schema = WaiversFile.model_json_schema()
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://github.com/backstop-dr/backstop/schemas/backstop-waivers.schema.json",
        **schema,
    }


def _key(loc: tuple[Any, ...]) -> str:
    key = ""
    for part in loc:
        key += f"[{part}]" if isinstance(part, int) else (f".{part}" if key else str(part))
    return key or "(top level)"


def _error_line(source: str, error: Any) -> str:
    kind, message = error.get("type"), str(error.get("msg", "invalid value")).removeprefix("Value error, ")
    if kind == "missing":
        message = "is required"
    elif kind == "extra_forbidden":
        message = "is not a known key (a waiver has rule, urn, owner, ticket, reason, expires)"
    elif kind == "string_too_short":
        message = "must not be empty"
    return f"{source}: {_key(tuple(error.get('loc', ())))}: {message}"


def parse_waivers(text: str, source: str) -> WaiversFile:
    """Validate a waivers document; `ConfigError` with one line per problem, each naming `source` and key."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise ConfigError(f"{source}: not valid YAML{where}") from None
    if document is None:
        return WaiversFile()
    if not isinstance(document, dict):
        raise ConfigError(f"{source}: expected a mapping with a `waivers:` list")
    try:
        return WaiversFile.model_validate(document)
    except ValidationError as exc:
        raise ConfigError("\n".join(_error_line(source, e) for e in exc.errors())) from None


def read_waivers(project_dir: Path) -> WaiversFile | None:
    """The project's waivers file, or None when it has none."""
    path = Path(project_dir) / WAIVERS_FILE
    if not path.is_file():
        return None
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{WAIVERS_FILE}: cannot read: {exc}") from None
    return parse_waivers(text, WAIVERS_FILE)
