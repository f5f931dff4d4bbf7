"""Which databases are tenants, and which cluster holds them: the audit, drills and recoveries agree here."""

from __future__ import annotations

import re
from collections.abc import Iterable

from backstop.config.common import ConfigError
from backstop.config.operations import DrillConfig
from backstop.config.stack import StackConfig, stack_file_name
from backstop.ground.documents import SYSTEM_DATABASES


def is_tenant_database(name: str, drill: DrillConfig) -> bool:
    return (
        name not in SYSTEM_DATABASES
        and name not in drill.excluded_databases
        and re.search(drill.tenant_database_pattern, name) is not None
    )


def tenant_databases(names: Iterable[str], drill: DrillConfig) -> list[str]:
    return sorted(name for name in names if is_tenant_database(name, drill))


def source_cluster_name(cfg: StackConfig, stack: str, override: str | None = None) -> str:
    """The cluster holding the tenants: `--cluster`, else `backstop:drill.sourceCluster`, else the only one
    the stack declares."""
    names = [c.name for c in cfg.atlas.clusters]
    chosen = override or cfg.drill.source_cluster
    source = stack_file_name(stack)
    if chosen is None:
        if len(names) != 1:
            raise ConfigError(
                f"{source}: backstop:drill.sourceCluster: is required when the stack declares "
                f"{len(names)} clusters ({', '.join(names)})"
            )
        return names[0]
    if chosen not in names:
        raise ConfigError(
            f"{source}: backstop:drill.sourceCluster: {chosen} is not a cluster of this stack "
            f"({', '.join(names)})"
        )
    return chosen
