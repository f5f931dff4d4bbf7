"""Collection options a dropped collection or database loses with its documents: the recovery copy's
`validator`, `validationLevel` and `validationAction`, put back in production by `recover cutover` before
any document is written back (an insert into a missing collection would create it without them)."""

from __future__ import annotations

from typing import Any

from backstop.ground.documents import canonical_json
from backstop.operations.recover.store import IncidentLog

COLLECTION_OPTIONS = ("validator", "validationLevel", "validationAction")


def _options_by_name(db: Any) -> dict[str, dict[str, Any]]:
    return {
        str(c["name"]): dict(c.get("options") or {})
        for c in db.list_collections()
        if c.get("type", "collection") == "collection"
    }


def missing_collection_options(
    names: list[str], *, recovery_db: Any, production_db: Any
) -> list[tuple[str, str, dict[str, Any]]]:
    """(collection, "create" or "collMod", options) for each of `names` whose recovery copy has a validator
    production lacks: the collection is gone from production (created with it), or there without one
    (given it). A validator production has, even a different one, is production's own: left alone."""
    source = _options_by_name(recovery_db)
    target = _options_by_name(production_db)
    todo: list[tuple[str, str, dict[str, Any]]] = []
    for name in names:
        options = {k: v for k, v in source.get(name, {}).items() if k in COLLECTION_OPTIONS}
        if "validator" not in options:
            continue
        if name not in target:
            todo.append((name, "create", options))
        elif "validator" not in target[name]:
            todo.append((name, "collMod", options))
    return todo


def restore_collection_options(
    names: list[str], *, recovery_db: Any, production_db: Any, execute: bool, log: IncidentLog | None
) -> tuple[list[str], list[str], set[str]]:
    """Before any document is written back (an insert into a missing collection creates it without a
    validator): create each collection production lacks with the recovery copy's validator, or `collMod`
    one that has none. Each is logged before it is sent and once acknowledged. (done or to do, failed,
    the collections whose options failed: nothing is written back to those.)"""
    from pymongo.errors import PyMongoError

    done: list[str] = []
    failed: list[str] = []
    blocked: set[str] = set()
    for name, action, options in missing_collection_options(
        names, recovery_db=recovery_db, production_db=production_db
    ):
        text = f"`{name}` {action} {canonical_json(options, sort_keys=False)}"
        if execute:
            logged = canonical_json(options, sort_keys=False)
            if log is not None:
                log.append("cutover-options-writing", collection=name, action=action, options=logged)
            try:
                if action == "create":
                    production_db.create_collection(name, **options)
                else:
                    production_db.command("collMod", name, **options)
            except PyMongoError as exc:
                failed.append(f"{text}: {' '.join(str(exc).split())}")
                blocked.add(name)
                continue
            if log is not None:
                log.append("cutover-options-write", collection=name, action=action, options=logged)
        done.append(text)
    return done, failed, blocked
