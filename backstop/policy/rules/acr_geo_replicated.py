"""Every prod container registry keeps a replica in another region."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from backstop.ground import seeds, tokens
from backstop.ground.resources import UNKNOWN, Resource, is_unknown
from backstop.policy.core import Finding, Severity, stack_rule, unknown, violation
from backstop.policy.stackview import StackView
from backstop.policy.targets import PolicyTargets
from backstop.policy.values import get, items

_REPLICATIONS = frozenset({tokens.AZ_REGISTRY_REPLICATION})


def _location(value: Any) -> Any:
    """Azure locations compare without case or spaces (`West US` is `westus`)."""
    return value.replace(" ", "").lower() if isinstance(value, str) else value


def replica_locations(stack: StackView, registry: Resource) -> tuple[set[str], bool]:
    """The locations a registry is replicated to: native `Replication`s naming it in `registryName`, or
    classic `georeplications[].location`; and whether some could not be read."""
    if registry.type == tokens.AZC_REGISTRY:
        blocks = items(get(registry.props, "georeplications"))
        if is_unknown(blocks):
            return set(), True
        found = {_location(get(b, "location")) for b in blocks}
        return {x for x in found if isinstance(x, str)}, any(is_unknown(x) for x in found)
    name = get(registry.props, "registryName")
    replications, undecided = stack.attached(
        _REPLICATIONS, registry, "registryName", name if isinstance(name, str) else registry.name
    )
    locations = {_location(get(r.props, "location")) for r in replications}
    undecided = undecided or any(is_unknown(x) for x in locations)
    return {x for x in locations if isinstance(x, str)}, undecided


@stack_rule(
    id="acr-geo-replicated",
    description=(
        f"{seeds.SEED_WISER}, Application Layer: 'All Docker images stored in Azure Container Registry' and "
        "Disaster Recovery Scenarios: 'Full Azure region outage — Failover to secondary Azure region'. The "
        "images to redeploy from must survive the loss of the registry's region."
    ),
    severity=Severity.HIGH,
    remediation=(
        "Use sku={'name': 'Premium'} and declare azure_native.containerregistry.Replication(registry_name="
        "<registry>.name, location='<another region>') (classic: georeplications=[{'location': ...}])."
    ),
    tunables=("require_registry_geo_replication",),
)
def check(stack: StackView, targets: PolicyTargets) -> Iterator[Finding]:
    if not targets.require_registry_geo_replication:
        return
    for registry in stack.of(tokens.AZ_REGISTRIES):
        home = _location(get(registry.props, "location"))
        locations, undecided = replica_locations(stack, registry)
        elsewhere = {x for x in locations if x != home} if not is_unknown(home) else UNKNOWN
        if is_unknown(elsewhere):
            yield unknown(registry, "the registry's location")
        elif elsewhere:
            continue
        elif undecided:
            yield unknown(registry, "where this registry is replicated")
        else:
            where = f" (only {', '.join(sorted(locations))})" if locations else ""
            yield violation(registry, f"no replica in another region{where}: its images die with its region")
