"""How a MongoDB document is written down and hashed: the same in manifests, evidence and recovery logs.

Manifests (the clients layer), the evidence store (report) and the recovery log (operations) all hash
documents and stamp times; one definition here keeps their hashes comparable across layers.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from bson import json_util

# System databases are never tenant databases, whatever the pattern says.
SYSTEM_DATABASES = frozenset({"admin", "local", "config"})

_CANONICAL = json_util.CANONICAL_JSON_OPTIONS


def utc_iso(value: datetime) -> str:
    """`2026-05-18T06:00:00.123Z`: millisecond precision survives a BSON round trip, and sorts as text."""
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def canonical_json(value: Any, *, sort_keys: bool) -> str:
    """Canonical Extended JSON v2, no whitespace, UTF-8 text."""
    return json_util.dumps(
        value, json_options=_CANONICAL, sort_keys=sort_keys, separators=(",", ":"), ensure_ascii=False
    )


def document_hash(document: Mapping[str, Any]) -> str:
    """SHA-256 of one document's canonical Extended JSON in its own field order (BSON order is content)."""
    return hashlib.sha256(canonical_json(document, sort_keys=False).encode("utf-8")).hexdigest()
