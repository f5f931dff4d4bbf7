"""Recovery stacks: the drill's Automation API wrapper in a Pulumi project of their own.

A recovery cluster is kept after the restore (the operator still has to verify and cut over), so it lives
in project `backstop-recover`, where `backstop drill sweep` never looks, under a name that carries its
creation time like a drill stack's: `recover-20260518-031500-1a2b3c`. Its expiry is a stack tag, a stack
output and a cluster tag; `backstop recover cleanup` removes it.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any, Protocol

from backstop.restore.stacks import DrillStacks

RECOVER_PROJECT = "backstop-recover"
RECOVER_STACK_PREFIX = "recover-"
_STACK_NAME = re.compile(r"^recover-(\d{8})-(\d{6})-([0-9a-f]+)$")


class RecoveryStacks(DrillStacks, Protocol):
    """The drill's stacks, plus reading a stack's outputs back (secrets decrypted) in a later command."""

    def outputs(self, stack_name: str) -> dict[str, Any]: ...


def incident_id_for(created: datetime, short_id: str) -> str:
    return f"{created.astimezone(UTC):%Y%m%d-%H%M%S}-{short_id}"


def stack_name_for(incident_id: str) -> str:
    return f"{RECOVER_STACK_PREFIX}{incident_id}"


def created_from_name(stack_name: str) -> datetime | None:
    match = _STACK_NAME.match(stack_name.rsplit("/", 1)[-1])
    if not match:
        return None
    return datetime.strptime(match.group(1) + match.group(2), "%Y%m%d%H%M%S").replace(tzinfo=UTC)


def deployed_outputs(project_dir: str, stack: str) -> dict[str, Any]:
    """The outputs of the application's own deployed stack (`pulumi stack output` in the project
    directory): `applicationDatabase` names the cluster production connects to."""
    from pulumi import automation as auto

    selected = auto.select_stack(stack_name=stack, work_dir=project_dir)
    return {key: output.value for key, output in selected.outputs().items()}
