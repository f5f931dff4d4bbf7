"""Every `--format json` document against the JSON Schema the package ships for its `command`."""

from __future__ import annotations

import json
from typing import Any

import jsonschema

from backstop.ground.envelope import SCHEMA_VERSION, schema_text, tool_version
from backstop.operations.status.rows import schema as status_schema


def schema_for(command: str) -> dict[str, Any]:
    if command == "status":  # shipped beside its command, before every document had a schema
        return status_schema()
    loaded: dict[str, Any] = json.loads(schema_text(command))
    return loaded


def assert_valid(text_or_document: str | dict[str, Any], command: str) -> dict[str, Any]:
    """The document, parsed, after checking its envelope and validating it against its command's schema."""
    document = json.loads(text_or_document) if isinstance(text_or_document, str) else text_or_document
    assert document["schemaVersion"] == SCHEMA_VERSION
    assert document["toolVersion"] == tool_version()
    assert document["command"] == command
    jsonschema.Draft202012Validator(
        schema_for(command), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    ).validate(document)
    return dict(document)
