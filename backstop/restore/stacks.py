"""Ephemeral drill stacks through the Pulumi Automation API, behind a small interface tests can fake."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from backstop.program.ephemeral import DRILL_PROJECT, DRILL_STACK_PREFIX

STACK_EXPIRY_TAG = "backstop:expiresAt"
# drill-20260518-060000-1a2b3c: the UTC creation time is in the name, so even a stack whose `up` failed
# before it had outputs still tells sweep how old it is.
_STACK_NAME = re.compile(r"^drill-(\d{8})-(\d{6})-[0-9a-f]+$")


@dataclass(frozen=True)
class DrillStackInfo:
    name: str
    expires_at: datetime | None


class DrillStacks(Protocol):
    """Create, destroy and list drill stacks."""

    def up(
        self,
        stack_name: str,
        program: Callable[[], None],
        on_output: Callable[[str], Any],
        tags: Mapping[str, str] | None = None,
    ) -> dict[str, Any]: ...

    def destroy(self, stack_name: str, on_output: Callable[[str], Any]) -> None: ...

    def list(self) -> list[DrillStackInfo]: ...


def parse_expiry(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def stack_name_for(created: datetime, short_id: str) -> str:
    return f"{DRILL_STACK_PREFIX}{created.astimezone(UTC):%Y%m%d-%H%M%S}-{short_id}"


def created_from_name(stack_name: str) -> datetime | None:
    match = _STACK_NAME.match(stack_name.rsplit("/", 1)[-1])
    if not match:
        return None
    return datetime.strptime(match.group(1) + match.group(2), "%Y%m%d%H%M%S").replace(tzinfo=UTC)


def effective_expiry(
    info: DrillStackInfo,
    ttl: timedelta,
    created_from: Callable[[str], datetime | None] = created_from_name,
) -> datetime | None:
    """The recorded expiry, else the creation time in the stack's name (`created_from`: drill names by
    default, recovery names for `recover cleanup`) plus the configured TTL."""
    if info.expires_at is not None:
        return info.expires_at
    created = created_from(info.name)
    return created + ttl if created is not None else None


def destroy_stack(stacks: DrillStacks, info: DrillStackInfo, on_output: Callable[[str], Any]) -> bool:
    """Destroy one expired or chosen stack, as `drill sweep` and `recover cleanup` do: a failure is one line
    on stderr and False, so one stuck stack does not keep the others."""
    try:
        stacks.destroy(info.name, on_output)
    except Exception as exc:
        print(f"backstop: could not destroy {info.name}: {' '.join(str(exc).split())}", file=sys.stderr)
        return False
    return True


class AutomationDrillStacks:
    """The real thing: `pulumi.automation` with an inline program, in its own project `backstop-drill`.

    Needs the Pulumi CLI, a backend (`PULUMI_BACKEND_URL` or `pulumi login`), Atlas credentials in the
    environment and, for a DIY backend, `PULUMI_CONFIG_PASSPHRASE`.
    """

    def __init__(self, project_name: str = DRILL_PROJECT, prefix: str = DRILL_STACK_PREFIX) -> None:
        self.project_name = project_name
        self.prefix = prefix

    def _workspace_opts(self) -> Any:
        from pulumi import automation as auto

        return auto.LocalWorkspaceOptions(
            project_settings=auto.ProjectSettings(name=self.project_name, runtime="python")
        )

    def up(
        self,
        stack_name: str,
        program: Callable[[], None],
        on_output: Callable[[str], Any],
        tags: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        from importlib.metadata import version

        from pulumi import automation as auto

        # create_stack, not create_or_select: a drill never reuses (or adopts) somebody else's stack.
        stack = auto.create_stack(
            stack_name=stack_name,
            project_name=self.project_name,
            program=program,
            opts=self._workspace_opts(),
        )
        for key, value in (tags or {}).items():
            try:
                stack.set_tag(key, value)
            except auto.CommandError:
                on_output(f"stack tag {key} not set (backend without stack tags); expiry is in the outputs")
        stack.workspace.install_plugin("mongodbatlas", "v" + version("pulumi_mongodbatlas"))
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

    def outputs(self, stack_name: str) -> dict[str, Any]:
        """The stack's outputs, secrets decrypted (`pulumi stack output --show-secrets`)."""
        from pulumi import automation as auto

        stack = auto.select_stack(
            stack_name=stack_name,
            project_name=self.project_name,
            program=lambda: None,
            opts=self._workspace_opts(),
        )
        return {key: output.value for key, output in stack.outputs().items()}

    def list(self) -> list[DrillStackInfo]:
        from pulumi import automation as auto

        workspace = auto.LocalWorkspace(
            project_settings=auto.ProjectSettings(name=self.project_name, runtime="python")
        )
        infos = []
        for summary in workspace.list_stacks():
            if not summary.name.split("/")[-1].startswith(self.prefix):
                continue
            outputs = workspace.stack_outputs(summary.name)
            expiry = outputs.get("expiresAt")
            infos.append(DrillStackInfo(summary.name, parse_expiry(expiry.value if expiry else None)))
        return infos
