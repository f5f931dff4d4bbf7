"""A `DrillStacks` that runs the drill program under the Pulumi SDK's mocks instead of the Automation API.

What a real `pulumi up` would make in Atlas (the cluster, with its tags and connection strings) is added
to the fake Atlas, and `destroy` removes it again, so the drill sees the same world it would in Atlas.
`outputs` answers as `pulumi stack output --show-secrets` would (a recovery cluster's reader password is a
secret output), and `after_up` lets a test change what Atlas reports once the cluster exists.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from backstop.ground import tokens
from backstop.program.mocks import ProgramRun, run_with_mocks, use_mocks
from backstop.restore.stacks import STACK_EXPIRY_TAG, DrillStackInfo, parse_expiry
from tests.fakes.atlas_server import FakeAtlas


class FakeDrillStacks:
    def __init__(
        self,
        atlas: FakeAtlas | None = None,
        *,
        fail_up: BaseException | None = None,
        fail_destroy: BaseException | None = None,
        existing: list[DrillStackInfo] | None = None,
    ) -> None:
        self.atlas = atlas
        self.fail_up = fail_up
        self.fail_destroy = fail_destroy
        self.calls: list[tuple[str, str]] = []
        self.runs: dict[str, ProgramRun] = {}
        self.tags: dict[str, dict[str, str]] = {}
        self.stacks: dict[str, DrillStackInfo] = {info.name: info for info in existing or []}
        self.secrets: dict[str, dict[str, Any]] = {}
        self.after_up: Callable[[str], None] | None = None

    def up(
        self,
        stack_name: str,
        program: Callable[[], None],
        on_output: Callable[[str], Any],
        tags: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        self.calls.append(("up", stack_name))
        self.tags[stack_name] = dict(tags or {})
        self.stacks[stack_name] = DrillStackInfo(stack_name, parse_expiry((tags or {}).get(STACK_EXPIRY_TAG)))
        monitor = use_mocks(stack=stack_name)
        run = run_with_mocks(program, stack=stack_name, monitor=monitor)
        self.runs[stack_name] = run
        users = [r for r in monitor.registrations if r.type == tokens.ATLAS_DATABASE_USER]
        self.secrets[stack_name] = {"databasePassword": users[0].inputs["password"]["value"]} if users else {}
        on_output(f"+ {len(run.resources)} resources created")
        if self.fail_up is not None:
            raise self.fail_up
        outputs: dict[str, Any] = {}
        for resource in run.resources:
            if resource.type != tokens.ATLAS_ADVANCED_CLUSTER:
                continue
            props = resource.props
            if self.atlas is not None:
                self.atlas.add_cluster(
                    str(props["projectId"]),
                    str(props["name"]),
                    pit_enabled=bool(props.get("pitEnabled")),
                    backup_enabled=bool(props.get("backupEnabled")),
                    major_version=str(props.get("mongoDbMajorVersion") or "8.0"),
                    tags=dict(props.get("tags") or {}),
                    termination_protection=bool(props.get("terminationProtectionEnabled")),
                    cluster_type=str(props.get("clusterType") or "REPLICASET"),
                    shards=len(props.get("replicationSpecs") or [None]),
                )
            outputs.update(clusterName=props["name"], projectId=props["projectId"])
        if self.after_up is not None:
            self.after_up(stack_name)
        return outputs

    def outputs(self, stack_name: str) -> dict[str, Any]:
        return {**self.runs[stack_name].outputs, **self.secrets[stack_name]}

    def destroy(self, stack_name: str, on_output: Callable[[str], Any]) -> None:
        self.calls.append(("destroy", stack_name))
        if self.fail_destroy is not None:
            raise self.fail_destroy
        run = self.runs.get(stack_name)
        if self.atlas is not None and run is not None:
            for resource in run.resources:
                if resource.type == tokens.ATLAS_ADVANCED_CLUSTER:
                    self.atlas.clusters.pop(
                        (str(resource.props["projectId"]), str(resource.props["name"])), None
                    )
        self.stacks.pop(stack_name, None)
        on_output(f"- {stack_name} destroyed")

    def list(self) -> list[DrillStackInfo]:
        return list(self.stacks.values())

    def destroyed(self) -> list[str]:
        return [name for call, name in self.calls if call == "destroy"]
