"""The drill's world (fake Atlas over HTTP, mongomock clusters, one clock) plus what a recovery needs:
recovery stacks of their own (the drill's fake, whose outputs hold the reader's secret password), a
production connection that may write (for the cutover), and a way to break production after a backup."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from backstop.operations.recover.steps import ENV_CUTOVER_URI
from tests.fakes.drill_stacks import FakeDrillStacks
from tests.fakes.drill_world import DrillWorld, set_prod_config
from tests.fakes.mongo import OptionsMongoClient, copy_databases

# The cutover's writer: another user on the same production cluster (the SRV host Atlas lists for it).
CUTOVER_URI = "mongodb+srv://writer@cartie-prod.6a000.mongodb.net/?retryWrites=true"


class RecoverWorld(DrillWorld):
    def __init__(self, tmp_path: Path, drill: dict[str, Any] | None = None) -> None:
        super().__init__(tmp_path, drill)
        # Clusters that keep collection options (validators), as a restore and a cutover carry them.
        self.mongo.client_class = OptionsMongoClient
        # Poll the fake's 45-minute restores every 10 minutes of its clock, as the drill world does: the same
        # requests in the same order, one poll where there were twenty (times come from `finishedAt`).
        set_prod_config(self.project_dir, "backstop:recover", {"pollInterval": "10m"})
        self.recovery_stacks = FakeDrillStacks(self.atlas)
        # What the cluster held just before the loss: what Atlas restores from.
        self.backup: Any = None
        self.production_wrapper: Callable[[Any], Any] | None = None
        # The deployed application stack's outputs (`pulumi stack output`), as `recover cleanup` reads them.
        self.deployed: dict[str, Any] = {
            "applicationDatabase": {"projectId": "6a0000000000000000000001", "clusterName": "cartie-prod"}
        }

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
        values: dict[str, Any] = {
            "recovery_stacks": lambda: self.recovery_stacks,
            "deployed_outputs": self.deployed_outputs,
        }
        values.update(overrides)
        return super().runtime(**values)

    def deployed_outputs(self, project_dir: str, stack: str) -> dict[str, Any]:
        if isinstance(self.deployed, BaseException):
            raise self.deployed
        return self.deployed

    def recovery_client(self, stack_name: str) -> Any:
        cluster = next(c for (_, name), c in self.atlas.clusters.items() if name == stack_name)
        return self.mongo.client(cluster["connectionStrings"]["standardSrv"])
