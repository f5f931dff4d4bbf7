"""What drills and recoveries share about a restore: its modes, the production guard, durations.

Both restore into a cluster created for the purpose and must never touch production: `refuse_prod_targets`
decides before anything is created, `guard_restore_target` checks what Atlas reports right before the POST.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from backstop.config import StackConfig
from backstop.ground.errors import BackstopError

EXIT_INTERRUPTED = 130
MODE_POINT_IN_TIME = "pointInTime"
MODE_SNAPSHOT = "snapshot"
MECHANISMS = {MODE_POINT_IN_TIME: "oplog_replay", MODE_SNAPSHOT: "snapshot_restore"}
# A point-in-time restore needs its target comfortably inside the window, not at its edge.
PITR_MARGIN = timedelta(hours=1)


class RefusedTarget(BackstopError):
    """The drill would restore into something the prod stack declares."""


def refuse_prod_targets(
    target_project_id: str,
    target_project: dict[str, Any],
    cluster_name: str,
    prod_cfg: StackConfig,
    prod_project_id: str,
    setting: str = "backstop:drill.stagingProjectId",
) -> None:
    """Before anything is created: the target project is not prod's (by id or name), nor the cluster."""
    prod_name = prod_cfg.atlas.project_name
    if target_project_id == prod_project_id:
        raise RefusedTarget(
            f"refusing to restore into project {target_project_id}: it is the prod project {prod_name} "
            f"declared in Pulumi.prod.yaml ({setting} must name a staging project)"
        )
    if target_project.get("name") == prod_name:
        raise RefusedTarget(
            f"refusing to restore into project {target_project_id}: it is named {prod_name}, the prod "
            "project declared in Pulumi.prod.yaml"
        )
    prod_clusters = {c.name for c in prod_cfg.atlas.clusters}
    if cluster_name in prod_clusters:
        raise RefusedTarget(f"refusing to restore into cluster {cluster_name}: Pulumi.prod.yaml declares it")


def duration_text(value: timedelta | None) -> str:
    if value is None:
        return "n/a"
    seconds = round(value.total_seconds())
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{hours} h"] if hours else []
    parts += [f"{minutes} min"] if minutes else []
    parts += [f"{secs} s"] if secs or not parts else []
    return " ".join(parts)


def guard_restore_target(
    cluster: dict[str, Any],
    *,
    project_id: str,
    cluster_name: str,
    prod_project_ids: frozenset[str],
    prod_cluster_names: frozenset[str],
    role: str = "drill",
) -> None:
    """Right before the POST: the cluster Atlas reports is the one created for this restore, in its
    project, and not prod's."""
    group = str(cluster.get("groupId", project_id))
    if group in prod_project_ids or cluster.get("name") in prod_cluster_names:
        raise RefusedTarget(
            f"refusing to restore into {cluster.get('name')} in project {group}: prod declares it"
        )
    if group != project_id or cluster.get("name") != cluster_name:
        raise RefusedTarget(
            f"refusing to restore: Atlas reports cluster {cluster.get('name')} in project {group}, "
            f"not the {role} cluster {cluster_name} in {project_id}"
        )


def connection_string(cluster: dict[str, Any]) -> str:
    strings = cluster.get("connectionStrings") or {}
    uri = strings.get("standardSrv") or strings.get("standard")
    if not isinstance(uri, str) or not uri:
        raise RuntimeError(f"Atlas reports no connection string for cluster {cluster.get('name')}")
    return uri
