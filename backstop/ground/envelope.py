"""The envelope every `--format json` document of the `backstop` command carries.

`schemaVersion` says which JSON Schema the document follows (shipped in the package: `schema_text`),
`toolVersion` which backstop wrote it, `kind` which command. One helper here, below every layer, so a
command cannot emit a JSON document without them. The version policy (docs/json-output.md): a change that
only adds keys keeps `schemaVersion`; one that removes, renames or retypes a key bumps it.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from importlib import resources
from typing import Any

# An integer: `backstop status` shipped `"schemaVersion": 1` before every document carried it.
SCHEMA_VERSION = 1
# Where the schemas live when a document's own command package does not ship one beside it.
_SCHEMAS = ("backstop", "schemas")


@functools.cache
def tool_version() -> str:
    """The installed distribution's version (pyproject.toml's, through package metadata)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("backstop")
    except PackageNotFoundError:
        return "0+unknown"


def envelope(kind: str, body: Mapping[str, Any]) -> dict[str, Any]:
    """`body` under the three envelope keys, first, so a reader sees what it holds before it reads it."""
    return {"schemaVersion": SCHEMA_VERSION, "toolVersion": tool_version(), "kind": kind, **body}


def json_document(kind: str, body: Mapping[str, Any]) -> str:
    """The document as the commands print it: two-space indent, values JSON cannot spell as text."""
    return json.dumps(envelope(kind, body), indent=2, default=str)


def schema_text(kind: str) -> str:
    """The JSON Schema of documents of `kind`, as shipped in the package (`backstop/schemas/`)."""
    package, folder = _SCHEMAS
    return resources.files(package).joinpath(folder, f"{kind}.schema.json").read_text("utf-8")
