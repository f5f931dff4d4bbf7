"""Ephemeral drill stacks through the Pulumi Automation API, behind a small interface tests can fake."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from backstop.drill.program import DRILL_PROJECT, DRILL_STACK_PREFIX


@dataclass(frozen=True)
class DrillStackInfo:
    name: str
    expires_at: datetime | None


class DrillStacks(Protocol):
    """Create, destroy and list drill stacks."""

    def up(
        self, stack_name: str, program: Callable[[], None], on_output: Callable[[str], Any]
    ) -> dict[str, Any]: ...

    def destroy(self, stack_name: str, on_output: Callable[[str], Any]) -> None: ...

    def list(self) -> list[DrillStackInfo]: ...


def parse_expiry(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


class AutomationDrillStacks:
    """The real thing: `pulumi.automation` with an inline program, in its own project `backstop-drill`.

    Needs the Pulumi CLI, a backend (`PULUMI_BACKEND_URL` or `pulumi login`), Atlas credentials in the
    environment and, for a DIY backend, `PULUMI_CONFIG_PASSPHRASE`.
    """

    def __init__(self, project_name: str = DRILL_PROJECT) -> None:
        self.project_name = project_name

    def _workspace_opts(self) -> Any:
        from pulumi import automation as auto

        return auto.LocalWorkspaceOptions(
            project_settings=auto.ProjectSettings(name=self.project_name, runtime="python")
        )

    def up(
        self, stack_name: str, program: Callable[[], None], on_output: Callable[[str], Any]
    ) -> dict[str, Any]:
        from pulumi import automation as auto

        stack = auto.create_or_select_stack(
            stack_name=stack_name,
            project_name=self.project_name,
            program=program,
            opts=self._workspace_opts(),
        )
        result = stack.up(on_output=on_output)
        return {key: output.value for key, output in result.outputs.items()}

    def destroy(self, stack_name: str, on_output: Callable[[str], Any]) -> None:
        from pulumi import automation as auto

        stack = auto.select_stack(
            stack_name=stack_name,
            project_name=self.project_name,
            program=lambda: None,
            opts=self._workspace_opts(),
        )
        stack.destroy(on_output=on_output, remove=True)

    def list(self) -> list[DrillStackInfo]:
        from pulumi import automation as auto

        workspace = auto.LocalWorkspace(
            project_settings=auto.ProjectSettings(name=self.project_name, runtime="python")
        )
        infos = []
        for summary in workspace.list_stacks():
            if not summary.name.split("/")[-1].startswith(DRILL_STACK_PREFIX):
                continue
            outputs = workspace.stack_outputs(summary.name)
            expiry = outputs.get("expiresAt")
            infos.append(DrillStackInfo(summary.name, parse_expiry(expiry.value if expiry else None)))
        return infos
