"""What `backstop recover` must never do, checked before it does anything.

- Destroy a cluster that serves production: an incident whose trail records a connection-target switch to
  it, or the deployed stack output `applicationDatabase` naming it, keeps it (`serving_reasons`).
- Write to a cluster other than the incident's source: the cutover URI's hosts must be hosts of the source
  cluster as Atlas lists them in its connection strings (`check_cutover_uri`).
- Write more than was lost: `--id` / `--filter` narrow the write-back to named documents (`Selection`), and
  only collections in the incident's scope are written (`in_scope`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from backstop.clients.mongo_manifest import format_id
from backstop.ground.errors import UsageError
from backstop.operations.recover.store import RECOVERY_LOG


class CutoverTargetRefused(UsageError):
    """The cutover's connection string does not name the incident's source cluster."""


def uri_hosts(uri: str) -> tuple[bool, list[str]]:
    """(is SRV, the host names) of a `mongodb://` or `mongodb+srv://` URI, credentials and ports dropped."""
    text = uri.strip()
    srv = text.startswith("mongodb+srv://")
    if srv:
        rest = text[len("mongodb+srv://") :]
    elif text.startswith("mongodb://"):
        rest = text[len("mongodb://") :]
    else:
        return False, []
    rest = rest.split("/", 1)[0].split("?", 1)[0]
    rest = rest.rsplit("@", 1)[-1]
    hosts = []
    for part in rest.split(","):
        host = part.strip()
        host = host[1:].split("]", 1)[0] if host.startswith("[") else host.split(":", 1)[0]
        if host:
            hosts.append(host.lower())
    return srv, hosts


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def cluster_hosts(cluster: Mapping[str, Any]) -> set[str]:
    """Every host named in the cluster's `connectionStrings` (standard, SRV, private, private endpoints)."""
    hosts: set[str] = set()
    for text in _strings(cluster.get("connectionStrings") or {}):
        hosts.update(uri_hosts(text)[1])
    return hosts


def check_cutover_uri(uri: str, env_name: str, cluster: Mapping[str, Any]) -> None:
    """Refuse, in one line, a cutover URI whose hosts are not the source cluster's."""
    name = cluster.get("name", "?")
    _, hosts = uri_hosts(uri)
    allowed = cluster_hosts(cluster)
    if not hosts:
        raise CutoverTargetRefused(f"{env_name}: not a mongodb:// or mongodb+srv:// connection string")
    foreign = [host for host in hosts if host not in allowed]
    if foreign or not allowed:
        raise CutoverTargetRefused(
            f"{env_name} names {', '.join(foreign or hosts)}, not a host of the source cluster {name} "
            f"(Atlas lists {', '.join(sorted(allowed)) or 'no connection strings'}); nothing was written"
        )


def serving_reasons(
    cluster_name: str, evidence: Any | None, deployed: Mapping[str, Any] | None, stack: str
) -> list[str]:
    """Why `cluster_name` may be serving production; empty when nothing says so."""
    reasons: list[str] = []
    if evidence is not None:
        for event in evidence[RECOVERY_LOG].find(
            {"step": "cutover-switch", "target.clusterName": cluster_name}, {"_id": 0, "incidentId": 1}
        ):
            reasons.append(
                f"incident {event.get('incidentId')} switched the application's connection target to it"
            )
    target = (deployed or {}).get("applicationDatabase")
    if isinstance(target, Mapping) and target.get("clusterName") == cluster_name:
        reasons.append(f"the deployed stack {stack} exports it as applicationDatabase")
    return reasons


def parse_id(text: str) -> Any:
    """An `_id` as `recover verify` prints it (canonical Extended JSON), or a bare string."""
    from bson import json_util

    try:
        return json_util.loads(text)
    except (ValueError, TypeError):
        return text


@dataclass
class Selection:
    """`--id` / `--filter`: the documents the operator names as lost; None selects everything listed."""

    ids: list[str] = field(default_factory=list)
    filter: dict[str, Any] | None = None

    @classmethod
    def from_args(cls, ids: list[str] | None, filter_text: str | None) -> Selection | None:
        from bson import json_util

        if not ids and not filter_text:
            return None
        parsed: dict[str, Any] | None = None
        if filter_text:
            try:
                value = json_util.loads(filter_text)
            except (ValueError, TypeError) as exc:
                raise UsageError(f"--filter {filter_text}: not an Extended JSON query ({exc})") from None
            if not isinstance(value, dict):
                raise UsageError(f"--filter {filter_text}: not a query document (a JSON object)")
            parsed = value
        return cls([format_id(parse_id(i)) for i in ids or []], parsed)

    def pick(self, recovery_collection: Any, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The listed items this selection names (by `_id`, or matching the filter in the recovery copy)."""
        chosen = [item for item in items if format_id(item["id"]) in self.ids]
        if self.filter is not None:
            listed = {format_id(item["id"]): item for item in items}
            query = {"$and": [self.filter, {"_id": {"$in": [item["id"] for item in items]}}]}
            for document in recovery_collection.find(query, {"_id": 1}):
                item = listed.get(format_id(document["_id"]))
                if item is not None and item not in chosen:
                    chosen.append(item)
        return chosen


def in_scope(collections: list[dict[str, Any]], collection: str | None) -> list[dict[str, Any]]:
    """The verified collections the incident covers: its collection, or every one of its database."""
    if collection is None:
        return collections
    return [c for c in collections if c.get("collection") == collection]
