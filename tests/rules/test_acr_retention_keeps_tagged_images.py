"""acr-retention-keeps-tagged-images: only untagged manifests expire, not too soon; no `acr purge` task."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from backstop.ground import tokens
from backstop.ground.resources import UNKNOWN
from backstop.policy.targets import PolicyTargets
from backstop.program.mocks import ProgramRun
from tests.policy_support import SHAPES, failing, mutate, res, shape_of, undecided

RULE = "acr-retention-keeps-tagged-images"
STAGING = PolicyTargets.for_environment("staging")
REGISTRY = "images"
PURGE = "version: v1.1.0\nsteps:\n  - cmd: acr purge --filter 'wiserreview/app:.*' --ago 30d --untagged\n"
BUILD = "version: v1.1.0\nsteps:\n  - build: -t wiserreview/app:{{.Run.ID}} .\n"


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_shipped_stacks_pass(prod_run: ProgramRun, staging_run: ProgramRun) -> None:
    assert failing(RULE, prod_run.resources) == set() == undecided(RULE, prod_run.resources)
    assert failing(RULE, staging_run.resources, STAGING) == set()


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"policies.retentionPolicy.days": 0.0}, {REGISTRY}),
        ({"policies.retentionPolicy.days": 6.0}, {REGISTRY}),
        ({"policies.retentionPolicy.days": 7.0}, set()),
        ({"policies.retentionPolicy.status": "disabled", "policies.retentionPolicy.days": 0.0}, set()),
    ],
)
def test_retention_policy_variants(
    prod_run: ProgramRun, shape: str, changes: dict[str, Any], expected: set[str]
) -> None:
    loaded = shape_of(mutate(prod_run.resources, REGISTRY, changes), shape)
    assert failing(RULE, loaded) == expected


def test_min_days_is_a_tunable(prod_run: ProgramRun) -> None:
    strict = PolicyTargets.for_environment("prod", min_untagged_retention_days=60)
    assert failing(RULE, prod_run.resources, strict) == {REGISTRY}


@pytest.mark.parametrize("shape", SHAPES)
def test_unknown_retention_is_undecided(prod_run: ProgramRun, shape: str) -> None:
    loaded = shape_of(
        mutate(prod_run.resources, REGISTRY, {"policies.retentionPolicy.status": UNKNOWN}), shape
    )
    assert undecided(RULE, loaded) == {REGISTRY} and failing(RULE, loaded) == set()


@pytest.mark.parametrize("shape", SHAPES)
def test_purge_tasks_fail_build_tasks_pass(shape: str) -> None:
    def task(name: str, content: str) -> Any:
        step = {"type": "EncodedTask", "encodedTaskContent": _b64(content)}
        return res(tokens.AZ_REGISTRY_TASK, name, {"registryName": "wiserprodacr", "step": step})

    dry = PURGE.replace("--untagged", "--untagged --dry-run")
    loaded = shape_of([task("purge", PURGE), task("build", BUILD), task("dry", dry)], shape)
    assert failing(RULE, loaded) == {"purge"}


def test_classic_registry_and_task() -> None:
    short = res(tokens.AZC_REGISTRY, "short", {"sku": "Premium", "retentionPolicyInDays": 1})
    long = res(tokens.AZC_REGISTRY, "long", {"sku": "Premium", "retentionPolicyInDays": 30})
    unset = res(tokens.AZC_REGISTRY, "unset", {"sku": "Standard"})
    purge = res(tokens.AZC_REGISTRY_TASK, "nightly-purge", {"encodedStep": {"taskContent": _b64(PURGE)}})
    later = res(tokens.AZC_REGISTRY_TASK, "later", {"encodedStep": {"taskContent": UNKNOWN}})
    resources = [short, long, unset, purge, later]
    assert failing(RULE, resources) == {"short", "nightly-purge"}
    assert undecided(RULE, resources) == {"later"}
