"""The drill's world (fake Atlas over HTTP, mongomock clusters, one clock) plus what a recovery needs:
recovery stacks that keep their outputs (the reader's password, as the real stack's secret output), a
production connection that may write (for the cutover), and helpers to break production."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from backstop import tokens
from backstop.drill.stacks import STACK_EXPIRY_TAG, DrillStackInfo, parse_expiry
from backstop.mocks import ProgramRun, run_with_mocks, use_mocks
from backstop.recover.commands import ENV_CUTOVER_URI
from tests.fakes.atlas_server import FakeAtlas
from tests.fakes.drill_world import DrillWorld
from tests.fakes.mongo import copy_databases

# The cutover's writer: another user on the same production cluster.
CUTOVER_URI = "mongodb+srv://writer@cartie-prod.fake.mongodb.net"


class FakeRecoveryStacks:
    """`RecoveryStacks` under the Pulumi SDK's mocks; what `up` creates appears in the fake Atlas."""

    def __init__(self, atlas: FakeAtlas, *, fail_destroy: BaseException | None = None) -> None:
        self.atlas = atlas
        self.fail_destroy = fail_destroy
        # Runs after the cluster exists, before `up` returns (a test can make Atlas report something else).
        self.after_up: Callable[[str], None] | None = None
        self.calls: list[tuple[str, str]] = []
        self.runs: dict[str, ProgramRun] = {}
        self.tags: dict[str, dict[str, str]] = {}
        self.secrets: dict[str, dict[str, Any]] = {}
        self.stacks: dict[str, DrillStackInfo] = {}

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
        secrets: dict[str, Any] = {}
        for registration in monitor.registrations:
            if registration.type == tokens.ATLAS_DATABASE_USER:
                secrets["databasePassword"] = registration.inputs["password"]["value"]
        self.secrets[stack_name] = secrets
        on_output(f"+ {len(run.resources)} resources created")
        for resource in run.resources:
            if resource.type == tokens.ATLAS_ADVANCED_CLUSTER:
                props = resource.props
                self.atlas.add_cluster(
                    str(props["projectId"]),
                    str(props["name"]),
                    pit_enabled=bool(props.get("pitEnabled")),
                    backup_enabled=bool(props.get("backupEnabled")),
                    major_version=str(props.get("mongoDbMajorVersion") or "8.0"),
                    tags=dict(props.get("tags") or {}),
                    termination_protection=bool(props.get("terminationProtectionEnabled")),
                )
        if self.after_up is not None:
            self.after_up(stack_name)
        return self.outputs(stack_name)

    def outputs(self, stack_name: str) -> dict[str, Any]:
        return {**self.runs[stack_name].outputs, **self.secrets[stack_name]}

    def destroy(self, stack_name: str, on_output: Callable[[str], Any]) -> None:
        self.calls.append(("destroy", stack_name))
        if self.fail_destroy is not None:
            raise self.fail_destroy
        for resource in self.runs[stack_name].resources if stack_name in self.runs else []:
            if resource.type == tokens.ATLAS_ADVANCED_CLUSTER:
                self.atlas.clusters.pop((str(resource.props["projectId"]), str(resource.props["name"])), None)
        self.stacks.pop(stack_name, None)
        on_output(f"- {stack_name} destroyed")

    def list(self) -> list[DrillStackInfo]:
        return list(self.stacks.values())

    def destroyed(self) -> list[str]:
        return [name for call, name in self.calls if call == "destroy"]


class RecoverWorld(DrillWorld):
    def __init__(self, tmp_path: Path, drill: dict[str, Any] | None = None) -> None:
        super().__init__(tmp_path, drill)
        self.recovery_stacks = FakeRecoveryStacks(self.atlas)
        # What the cluster held just before the loss: what Atlas restores from.
        self.backup: Any = None
        self.production_wrapper: Callable[[Any], Any] | None = None

    def env(self) -> dict[str, str]:
        return dict(super().env(), **{ENV_CUTOVER_URI: CUTOVER_URI})

    def connect(self, uri: str, **kwargs: Any) -> Any:
        if uri == CUTOVER_URI:
            self.mongo.connections.append((uri, kwargs))
            client = self.source
            return self.production_wrapper(client) if self.production_wrapper is not None else client
        return super().connect(uri, **kwargs)

    def lose(self, damage: Callable[[Any], None]) -> None:
        """Keep what production holds as the backup, then damage production."""
        import mongomock

        self.backup = mongomock.MongoClient()
        copy_databases(self.source, self.backup)
        damage(self.source)

    def _restore(self, job: dict[str, Any]) -> None:
        if self.backup is None:
            super()._restore(job)
            return
        copy_databases(self.backup, self.target_client(job))

    def runtime(self, **overrides: Any) -> Any:
        values: dict[str, Any] = {"recovery_stacks": lambda: self.recovery_stacks}
        values.update(overrides)
        return super().runtime(**values)

    def recovery_client(self, stack_name: str) -> Any:
        cluster = next(c for (_, name), c in self.atlas.clusters.items() if name == stack_name)
        return self.mongo.client(cluster["connectionStrings"]["standardSrv"])
