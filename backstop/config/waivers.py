"""The reviewed waivers file, `backstop-waivers.yaml` beside `Pulumi.yaml`: each justified exception.

A waiver names one rule, the resources it covers (a URN or a URN glob), who owns the exception, the ticket
it was reviewed in, why, and the day it stops applying: an exception without an owner and an end date is a
rule turned off. The file is validated here (the JSON Schema shipped beside this module is generated from
the same model) and every problem is reported, one line each, naming the file and the key.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Collection
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from backstop.config.common import ConfigError

WAIVERS_FILE = "backstop-waivers.yaml"
SCHEMA_FILE = "waivers.schema.json"
EXPIRY_WARNING_DAYS = 14  # issue 23: a waiver expiring within 14 days (14 included) warns
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


class _Loader(yaml.SafeLoader):
    """`yaml.SafeLoader` reading timestamps as text: PyYAML builds an unquoted `2027-02-30` with
    `datetime.date` while loading, and its `ValueError` names neither the entry nor the key. As text, the
    `expires` validator refuses it with both."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


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
        """A date only, `2026-12-31` (read as text, see `_Loader`); a timestamp or a number is not an expiry
        day, nor is a date that no calendar has (`2027-02-30`, `2026-13-01`)."""
        if isinstance(value, str):
            try:
                return dt.date.fromisoformat(value)
            except ValueError:
                if _DAY.fullmatch(value):
                    raise ValueError(f"{value!r} is not a day of the calendar (YYYY-MM-DD)") from None
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


def _unknown_rules(document: dict[str, Any], rule_ids: Collection[str], source: str) -> list[tuple[int, str]]:
    """(entry index, line) for each entry whose `rule` is text naming no registered rule: checked on the
    document as written, so a file with schema errors too gets every problem in one pass."""
    entries = document.get("waivers")
    if not isinstance(entries, list):
        return []
    return [
        (i, f"{source}: waivers[{i}].rule: no rule {entry['rule']!r} (`backstop rules` lists them)")
        for i, entry in enumerate(entries)
        if isinstance(entry, dict)
        and isinstance(entry.get("rule"), str)
        and entry["rule"]
        and entry["rule"] not in rule_ids
    ]


def parse_waivers(text: str, source: str, rule_ids: Collection[str] | None = None) -> WaiversFile:
    """Validate a waivers document; `ConfigError` with one line per problem, each naming `source` and key.
    With `rule_ids` (the registry's), a waiver naming no rule is one of those problems, reported in the same
    pass as the schema's, in entry order."""
    try:
        document = yaml.load(text, Loader=_Loader)  # a SafeLoader, timestamps as text
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise ConfigError(f"{source}: not valid YAML{where}") from None
    except ValueError as exc:  # an explicitly tagged value PyYAML cannot build (`!!timestamp 2027-02-30`)
        raise ConfigError(f"{source}: not valid YAML ({exc})") from None
    if document is None:
        return WaiversFile()
    if not isinstance(document, dict):
        raise ConfigError(f"{source}: expected a mapping with a `waivers:` list")
    problems = _unknown_rules(document, rule_ids, source) if rule_ids is not None else []
    try:
        waivers = WaiversFile.model_validate(document)
    except ValidationError as exc:
        for error in exc.errors():
            loc = tuple(error.get("loc", ()))
            index = loc[1] if len(loc) > 1 and isinstance(loc[1], int) else -1
            problems.append((index, _error_line(source, error)))
    if problems:
        # Entry order; within an entry, the rule first, then the schema's errors in key order.
        raise ConfigError("\n".join(line for _, line in sorted(problems, key=lambda p: p[0])))
    return waivers


def read_waivers(project_dir: Path, rule_ids: Collection[str] | None = None) -> WaiversFile | None:
    """The project's waivers file, or None when it has none; `rule_ids` as in `parse_waivers`."""
    path = Path(project_dir) / WAIVERS_FILE
    if not path.is_file():
        return None
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{WAIVERS_FILE}: cannot read: {exc}") from None
    return parse_waivers(text, WAIVERS_FILE, rule_ids)
