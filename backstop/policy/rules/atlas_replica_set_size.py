"""Every replica set (each replication spec, i.e. each shard) has enough electable nodes to fail over."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

from backstop.ground import seeds, tokens
from backstop.ground.resources import UNKNOWN, Resource, is_unknown
from backstop.policy.core import Finding, Severity, resource_rule, unknown, violation
from backstop.policy.targets import PolicyTargets
from backstop.policy.values import MISSING, fmt, get, items, number

# Legacy Cluster: "The possible values are 3, 5, or 7. The default value is 3." (SDK docstring)
LEGACY_DEFAULT_REPLICATION_FACTOR = 3.0


@resource_rule(
    id="atlas-replica-set-size",
    types=tokens.ATLAS_CLUSTERS,
    description=(
        f"{seeds.SEED_WISER}: 'Minimum 3-node replica sets; automatic failover within seconds if primary "
        "node fails; zero data loss'. Counted per replication spec (shard), across its regions."
    ),
    severity=Severity.HIGH,
    remediation=(
        "Give every replication spec at least $min_electable_nodes electable nodes: AdvancedCluster "
        "replication_specs[].region_configs[].electable_specs.node_count (summed over regions), or the "
        "legacy Cluster's replication_factor / replication_specs[].regions_configs[].electable_nodes."
    ),
    tunables=("min_electable_nodes",),
)
def check(resource: Resource, targets: PolicyTargets) -> Iterator[Finding]:
    legacy = resource.type == tokens.ATLAS_LEGACY_CLUSTER
    specs = items(get(resource.props, "replicationSpecs"))
    if is_unknown(specs):
        yield unknown(resource, "replicationSpecs")
        return
    if not specs:
        if legacy:  # a legacy cluster without specs is one replica set of `replicationFactor` nodes
            yield from _verdict(resource, targets, "the replica set", _replication_factor(resource))
        else:
            yield violation(resource, "no replicationSpecs: the cluster declares no electable nodes")
        return
    for index, spec in enumerate(specs):
        where = f"replicationSpecs[{index}]"
        zone = get(spec, "zoneName")
        label = f"{where} (zone {zone!r})" if isinstance(zone, str) else where
        if is_unknown(spec):
            yield unknown(resource, f"the electable nodes of {where}")
            continue
        count = _legacy_spec_nodes(resource, spec) if legacy else _region_nodes(spec, "regionConfigs")
        yield from _verdict(resource, targets, label, count)


def _verdict(
    resource: Resource, targets: PolicyTargets, label: str, count: tuple[float, bool]
) -> Iterator[Finding]:
    nodes, undecided = count
    if nodes >= targets.min_electable_nodes:
        return
    if undecided:
        yield unknown(resource, f"the electable node count of {label}")
        return
    yield violation(
        resource,
        f"{label} has {fmt(nodes)} electable node(s); at least {targets.min_electable_nodes} are needed "
        "to elect a new primary when one fails",
    )


def _count(value: Any) -> float | Any:
    """A node count: `UNKNOWN`, or a non-negative number (anything unusable counts as no nodes)."""
    if is_unknown(value):
        return UNKNOWN
    n = number(value)
    return n if n is not None and math.isfinite(n) and n > 0 else 0.0


def _region_nodes(spec: Any, key: str, field: str = "electableSpecs.nodeCount") -> tuple[float, bool]:
    """Electable nodes summed over a spec's region configs, and whether some count is unknown."""
    configs = items(get(spec, key))
    if is_unknown(configs):
        return 0.0, True
    total, undecided = 0.0, False
    for config in configs:
        n = _count(get(config, field))
        if is_unknown(n):
            undecided = True
        else:
            total += n
    return total, undecided


def _replication_factor(resource: Resource) -> tuple[float, bool]:
    value = get(resource.props, "replicationFactor")
    if value is MISSING:
        return LEGACY_DEFAULT_REPLICATION_FACTOR, False
    n = _count(value)
    return (0.0, True) if is_unknown(n) else (n, False)


def _legacy_spec_nodes(resource: Resource, spec: Any) -> tuple[float, bool]:
    """Legacy spec: its regions' `electableNodes`, or the cluster's `replicationFactor` when it lists none."""
    configs = items(get(spec, "regionsConfigs"))
    if is_unknown(configs) or configs:
        return _region_nodes(spec, "regionsConfigs", "electableNodes")
    return _replication_factor(resource)
