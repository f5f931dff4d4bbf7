"""Shared fixtures: one mock run per stack per session, because a run takes a couple of seconds."""

from __future__ import annotations

from pathlib import Path

import pytest

from backstop.mocks import ProgramRun, run_stack

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def project_dir() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def prod_run() -> ProgramRun:
    return run_stack(ROOT, "prod")


@pytest.fixture(scope="session")
def staging_run() -> ProgramRun:
    return run_stack(ROOT, "staging")


@pytest.fixture(scope="session")
def prod_preview_run() -> ProgramRun:
    """The prod program as a first `pulumi preview` sees it: ids and computed outputs unknown."""
    return run_stack(ROOT, "prod", preview=True)
