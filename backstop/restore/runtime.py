"""The edges every restore command reaches (Atlas, Pulumi stacks, MongoDB, the clock), in one swappable place.

`backstop audit`, `drill` and `recover` share them; tests swap `RUNTIME` for the fake Atlas, mongomock and
Pulumi mocks. Credentials come from the environment: a service account's `MONGODB_ATLAS_CLIENT_ID` /
`MONGODB_ATLAS_CLIENT_SECRET` (preferred whenever both are set), else the Atlas Administration API key
(`MONGODB_ATLAS_PUBLIC_KEY` / `MONGODB_ATLAS_PRIVATE_KEY`); `MONGODB_ATLAS_BASE_URL` overrides the
endpoint. The source cluster (`BACKSTOP_SOURCE_MONGODB_URI`, read only, for the audit) and the evidence
store (`BACKSTOP_EVIDENCE_MONGODB_URI`) too. Anything missing is one line and exit 2, before anything is
created.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from backstop.ground.errors import UsageError
from backstop.ground.files import PROJECT_DIR_HELP, project_dir


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _automation_stacks() -> Any:
    from backstop.restore.stacks import AutomationDrillStacks

    return AutomationDrillStacks()


def _recovery_stacks() -> Any:
    from backstop.restore.recovery_stacks import RECOVER_PROJECT, RECOVER_STACK_PREFIX
    from backstop.restore.stacks import AutomationDrillStacks

    return AutomationDrillStacks(RECOVER_PROJECT, RECOVER_STACK_PREFIX)


def _deployed_outputs(project_dir: str, stack: str) -> dict[str, Any]:
    from backstop.restore.recovery_stacks import deployed_outputs

    return deployed_outputs(project_dir, stack)


def _connect(uri: str, **kwargs: Any) -> Any:
    from backstop.report.evidence import connect

    return connect(uri, **kwargs)


@dataclass
class Runtime:
    """The edges the commands reach: tests swap these for the fake Atlas, mongomock and Pulumi mocks."""

    stacks: Callable[[], Any] = _automation_stacks
    recovery_stacks: Callable[[], Any] = _recovery_stacks
    connect: Callable[..., Any] = _connect
    clock: Callable[[], datetime] = _utc_now
    sleep: Callable[[float], None] = time.sleep
    env: Mapping[str, str] = field(default_factory=lambda: os.environ)
    # The deployed application stack's outputs (`recover cleanup` keeps the cluster production uses).
    deployed_outputs: Callable[[str, str], Mapping[str, Any]] = _deployed_outputs


RUNTIME = Runtime()


def stack_configs(args: argparse.Namespace) -> tuple[Any, Any]:
    """The stack's config and prod's: the stack itself when its `backstop:environment` is prod, else the
    project's one stack file whose environment is prod (so any stack name works, and prod's projects and
    clusters are known to every refusal)."""
    from backstop.config.stackfile import read_stack_file

    project = project_dir(args.project_dir)
    cfg = read_stack_file(project, args.stack).stack_config()
    if cfg.is_prod:
        return cfg, cfg
    return cfg, read_stack_file(project, prod_stack_name(project)).stack_config()


def prod_stack_name(project: Path) -> str:
    """The one `Pulumi.<stack>.yaml` in `project` whose `backstop:environment` is prod."""
    from backstop.config.stackfile import read_stack_file

    names = sorted(path.name[len("Pulumi.") : -len(".yaml")] for path in project.glob("Pulumi.*.yaml"))
    prod = [
        name for name in names if read_stack_file(project, name).values.get("backstop:environment") == "prod"
    ]
    if len(prod) != 1:
        found = f"{len(prod)} ({', '.join(prod)})" if prod else "none"
        raise UsageError(
            f"{project.resolve()}: expected exactly one Pulumi.<stack>.yaml with backstop:environment: prod, "
            f"found {found}"
        )
    return prod[0]


def atlas_client(progress: Callable[[str], None] | None = None) -> Any:
    """The Atlas client, waiting on the runtime's clock and telling `progress` about rate limits."""
    from backstop.clients.atlas import AtlasClient

    return AtlasClient.from_env(RUNTIME.env, sleep=RUNTIME.sleep, clock=RUNTIME.clock, progress=progress)


def evidence_database(cfg: Any) -> Any:
    from backstop.report.evidence import ENV_EVIDENCE_URI, env_uri

    client = RUNTIME.connect(env_uri(ENV_EVIDENCE_URI, RUNTIME.env))
    return client[cfg.drill.evidence_database]


def one_line_mongo_errors(
    handler: Callable[[argparse.Namespace], int],
) -> Callable[[argparse.Namespace], int]:
    """A driver error (unreachable server, bad credentials, a concurrent audit's sequence) is one line."""

    def run(args: argparse.Namespace) -> int:
        from pymongo.errors import DuplicateKeyError, PyMongoError

        from backstop.clients.atlas import one_line
        from backstop.report.evidence import EvidenceError

        try:
            return handler(args)
        except DuplicateKeyError:
            raise EvidenceError(
                "MongoDB: another audit appended to backup_audit_log at the same time"
            ) from None
        except PyMongoError as exc:
            raise EvidenceError(f"MongoDB: {one_line(exc)}") from None

    return run


def common_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--stack",
        default="prod",
        help="stack whose config to use (any name; its backstop:environment says prod or staging)",
    )
    parser.add_argument("--project-dir", help=PROJECT_DIR_HELP)
