"""The inline Pulumi program of a drill stack: one throwaway cluster in the staging project.

The cluster carries its expiry in its tags and in the stack outputs, so `backstop drill sweep` can remove
drill stacks that a crashed drill left behind. It has no backup of its own, no termination protection and
no compliance policy: it exists only to be restored into and destroyed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import pulumi
import pulumi_mongodbatlas as mongodbatlas

DRILL_STACK_PREFIX = "drill-"
DRILL_PROJECT = "backstop-drill"


@dataclass(frozen=True)
class DrillClusterSpec:
    project_id: str
    cluster_name: str
    instance_size: str
    region: str
    expires_at: datetime
    source_cluster: str
    drill_id: str


def drill_program(spec: DrillClusterSpec) -> Callable[[], None]:
    """A `PulumiFn` for the Automation API's inline program."""

    def program() -> None:
        cluster = mongodbatlas.AdvancedCluster(
            spec.cluster_name,
            project_id=spec.project_id,
            name=spec.cluster_name,
            cluster_type="REPLICASET",
            backup_enabled=False,
            pit_enabled=False,
            termination_protection_enabled=False,
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
            ],
            tags={
                "purpose": "restore-drill",
                "drill-id": spec.drill_id,
                "source-cluster": spec.source_cluster,
                "expires-at": spec.expires_at.isoformat(),
            },
        )
        pulumi.export("clusterName", cluster.name)
        pulumi.export("projectId", cluster.project_id)
        pulumi.export("expiresAt", spec.expires_at.isoformat())
        pulumi.export("drillId", spec.drill_id)

    return program
