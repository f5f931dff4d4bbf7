"""The envelope every `--format json` document of the `backstop` command carries.

`schemaVersion` says which JSON Schema the document follows (shipped in the package: `schema_text`),
`toolVersion` which backstop wrote it, `command` which command (`"recover verify"`). One helper here, below
every layer, so a command cannot emit a JSON document without them. The key is `command`, not `kind`:
records that commands print already carry a `kind` of their own (`incident`, `backstop-audit`) that the
evidence bundle reads. Version policy (docs/json-output.md): a change that only adds keys keeps
`schemaVersion`; one that removes, renames or retypes a key bumps it.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from importlib import resources
from typing import Any

# An integer: `backstop status` shipped `"schemaVersion": 1` before every document carried it.
SCHEMA_VERSION = 1
ENVELOPE_KEYS = ("schemaVersion", "toolVersion", "command")


@functools.cache
def tool_version() -> str:
    """The installed distribution's version (pyproject.toml's, through package metadata)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("backstop")
    except PackageNotFoundError:
        return "0+unknown"


def envelope(command: str, body: Mapping[str, Any]) -> dict[str, Any]:
    """`body` under the envelope keys, first, so a reader sees what it holds before it reads it."""
    clash = [key for key in ENVELOPE_KEYS if key in body]
    if clash:  # a programming error: the body would silently overwrite the envelope
        raise ValueError(f"{command}: its document already has {', '.join(clash)}")
    return {"schemaVersion": SCHEMA_VERSION, "toolVersion": tool_version(), "command": command, **body}


def json_document(command: str, body: Mapping[str, Any]) -> str:
    """The document as the commands print it: two-space indent, values JSON cannot spell as text."""
    return json.dumps(envelope(command, body), indent=2, default=str)


def schema_name(command: str) -> str:
    """`recover verify-registry` -> `recover-verify-registry.schema.json`."""
    return f"{command.replace(' ', '-')}.schema.json"


def schema_text(command: str) -> str:
    """The JSON Schema of the documents `command` prints, as shipped in the package
    (`backstop/ground/schemas/`)."""
    return resources.files("backstop.ground").joinpath("schemas", schema_name(command)).read_text("utf-8")
