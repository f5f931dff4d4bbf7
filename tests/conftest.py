"""Shared fixtures: one mock run per stack per session, because a run takes a couple of seconds.

Whole-program runs are also shared with the code under test: `backstop.program.mocks.run_stack` (what
`backstop plan`, `report` and the other commands call) answers a repeated run of the same stack file from the
first one. A run is a pure function of the stack's name, its engine config, its secret keys, the preview flag
and whether the deploy-time secrets are taken as set (the program reads nothing else), so that is the key;
every caller gets its own copy of the lists.
"""

from __future__ import annotations

import copy
import gc
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from backstop.config.stackfile import read_stack_file
from backstop.program import mocks
from backstop.program.mocks import ProgramRun, run_stack

ROOT = Path(__file__).resolve().parent.parent

# The Pulumi mocks allocate millions of short-lived objects per program run; at the default threshold
# (700) the cyclic collector runs so often that it costs a third of the suite's time. Collections still
# happen, just every 50,000 allocations.
gc.set_threshold(50_000, 50, 50)


@pytest.fixture(scope="session")
def project_dir() -> Path:
    return ROOT


# The stacks as `pulumi up` on the deploying machine declares them: the secret-only keys the stack files
# leave out (`backstop:slackWebhookUrl`, `backstop:slackApiToken`) set, as `backstop plan` reads them.
@pytest.fixture(scope="session")
def prod_run() -> ProgramRun:
    return _shared_run_stack(ROOT, "prod", assume_deploy_secrets=True)


@pytest.fixture(scope="session")
def staging_run() -> ProgramRun:
    return _shared_run_stack(ROOT, "staging", assume_deploy_secrets=True)


@pytest.fixture(scope="session")
def prod_preview_run() -> ProgramRun:
    """The prod program as a first `pulumi preview` sees it: ids and computed outputs unknown."""
    return _shared_run_stack(ROOT, "prod", preview=True, assume_deploy_secrets=True)


# The stack files alone, no secret set: Atlas and Azure Monitor alerts reach e-mail only.
@pytest.fixture(scope="session")
def prod_bare_run() -> ProgramRun:
    return _shared_run_stack(ROOT, "prod")


@pytest.fixture(scope="session")
def staging_bare_run() -> ProgramRun:
    return _shared_run_stack(ROOT, "staging")


@pytest.fixture(scope="session")
def prod_preview_bare_run() -> ProgramRun:
    return _shared_run_stack(ROOT, "prod", preview=True)


_RUNS: dict[tuple[str, str, tuple[str, ...], bool, bool], ProgramRun] = {}


def _shared_run_stack(
    project_dir: Path, stack: str, *, preview: bool = False, assume_deploy_secrets: bool = False
) -> ProgramRun:
    stack_file = read_stack_file(project_dir, stack)
    key = (
        stack,
        json.dumps(stack_file.engine_config(), sort_keys=True),
        tuple(stack_file.secret_keys),
        preview,
        assume_deploy_secrets,
    )
    run = _RUNS.get(key)
    if run is None:
        run = _RUNS[key] = run_stack(
            project_dir, stack, preview=preview, assume_deploy_secrets=assume_deploy_secrets
        )
    return ProgramRun(run.stack, list(run.resources), copy.deepcopy(run.outputs))


@pytest.fixture(autouse=True, scope="session")
def shared_program_runs() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(mocks, "run_stack", _shared_run_stack)
        yield
