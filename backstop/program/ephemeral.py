"""The inline Pulumi program of a drill stack: one throwaway cluster in the staging project.

The cluster carries its expiry in its tags and in the stack outputs, so `backstop drill sweep` can remove
drill stacks that a crashed drill left behind. It has no backup of its own, no termination protection and
no compliance policy: it exists only to be restored into and destroyed. It runs the source cluster's major
version, because Atlas restores only into the same or a later major version, and has the source's topology
(a replica set, or a sharded cluster with the same number of shards: one replication spec per shard).

A temporary read-only database user, scoped to this one cluster, lets the drill read the restored data;
its password is generated per drill and only ever handled as a Pulumi secret.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import pulumi
import pulumi_mongodbatlas as mongodbatlas

DRILL_STACK_PREFIX = "drill-"
DRILL_PROJECT = "backstop-drill"
EXPIRY_TAG = "expires-at"


@dataclass(frozen=True)
class DrillClusterSpec:
    project_id: str
    cluster_name: str
    instance_size: str
    region: str
    expires_at: datetime
    source_cluster: str
    drill_id: str
    mongo_db_major_version: str | None = None
    database_username: str | None = None
    database_password: str | None = field(default=None, repr=False)
    # The source's topology: Atlas restores a sharded snapshot only into as many shards.
    cluster_type: str = "REPLICASET"
    shards: int = 1
    # A recovery cluster (`backstop recover`) reuses this program: tagged as such, and with Cloud Backup
    # on when it is to carry production after a cluster swap.
    purpose: str = "restore-drill"
    id_tag: str = "drill-id"
    backup_enabled: bool = False
    # A recovery cluster is read again by later commands: its reader's password is a secret stack output.
    export_password: bool = False
    # Set on a recovery cluster before it carries production (`recover cutover` of a cluster swap).
    termination_protection: bool = False

    def tags(self) -> dict[str, str]:
        return {
            "purpose": self.purpose,
            self.id_tag: self.drill_id,
            "source-cluster": self.source_cluster,
            EXPIRY_TAG: self.expires_at.isoformat(),
        }


def drill_program(spec: DrillClusterSpec) -> Callable[[], None]:
    """A `PulumiFn` for the Automation API's inline program."""

    def program() -> None:
        cluster = mongodbatlas.AdvancedCluster(
            spec.cluster_name,
            project_id=spec.project_id,
            name=spec.cluster_name,
            cluster_type=spec.cluster_type,
            backup_enabled=spec.backup_enabled,
            pit_enabled=spec.backup_enabled,
            termination_protection_enabled=spec.termination_protection,
            delete_on_create_timeout=True,
            mongo_db_major_version=spec.mongo_db_major_version,
            replication_specs=[
                mongodbatlas.AdvancedClusterReplicationSpecArgs(
                    region_configs=[
                        mongodbatlas.AdvancedClusterReplicationSpecRegionConfigArgs(
                            provider_name="AWS",
                            region_name=spec.region,
                            priority=7,
                            electable_specs=mongodbatlas.AdvancedClusterReplicationSpecRegionConfigElectableSpecsArgs(
                                instance_size=spec.instance_size, node_count=3
                            ),
                        )
                    ]
                )
                for _ in range(spec.shards if spec.cluster_type != "REPLICASET" else 1)
            ],
            tags=spec.tags(),
        )
        if spec.database_username and spec.database_password:
            mongodbatlas.DatabaseUser(
                f"{spec.cluster_name}-reader",
                project_id=spec.project_id,
                auth_database_name="admin",
                username=spec.database_username,
                password=pulumi.Output.secret(spec.database_password),
                roles=[mongodbatlas.DatabaseUserRoleArgs(role_name="readAnyDatabase", database_name="admin")],
                scopes=[mongodbatlas.DatabaseUserScopeArgs(name=spec.cluster_name, type="CLUSTER")],
                description=f"backstop {spec.purpose} {spec.drill_id}, expires {spec.expires_at.isoformat()}",
                opts=pulumi.ResourceOptions(depends_on=[cluster]),
            )
            pulumi.export("databaseUsername", spec.database_username)
            if spec.export_password:
                pulumi.export("databasePassword", pulumi.Output.secret(spec.database_password))
        pulumi.export("clusterName", cluster.name)
        pulumi.export("projectId", cluster.project_id)
        pulumi.export("expiresAt", spec.expires_at.isoformat())
        pulumi.export("drillId", spec.drill_id)

    return program
