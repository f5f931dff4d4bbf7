"""azure-storage-public-access-off: allowBlobPublicAccess is declared false."""

from __future__ import annotations

from typing import Any

import pytest

from backstop.ground.resources import UNKNOWN
from backstop.policy.targets import PolicyTargets
from backstop.policy.values import MISSING
from backstop.program.mocks import ProgramRun
from tests.policy_support import SHAPES, failing, findings, levels, mutate, shape_of, shapes, undecided

RULE = "azure-storage-public-access-off"
PROD = PolicyTargets.for_environment("prod")
STAGING = PolicyTargets.for_environment("staging")
ACCOUNT = "media-blobs"


def test_shipped_stacks_pass(prod_run: ProgramRun, staging_run: ProgramRun) -> None:
    assert failing(RULE, prod_run.resources) == set()
    assert undecided(RULE, prod_run.resources) == set()
    assert failing(RULE, staging_run.resources, STAGING) == set()


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(True, {ACCOUNT}, id="allowed"),
        pytest.param(MISSING, {ACCOUNT}, id="unset"),
        pytest.param("true", {ACCOUNT}, id="string-true"),
        pytest.param(False, set(), id="off"),
        pytest.param("false", set(), id="string-false"),
    ],
)
def test_variants(prod_run: ProgramRun, shape: str, value: Any, expected: set[str]) -> None:
    loaded = shape_of(mutate(prod_run.resources, ACCOUNT, {"allowBlobPublicAccess": value}), shape)
    assert failing(RULE, loaded) == expected
    assert undecided(RULE, loaded) == set()


def test_unset_value_is_flagged_with_the_reason(prod_run: ProgramRun) -> None:
    (finding,) = findings(RULE, mutate(prod_run.resources, ACCOUNT, {"allowBlobPublicAccess": MISSING}))
    assert "not set" in finding.message and "API version" in finding.message


def test_sdk_default_is_what_the_rule_documents() -> None:
    import inspect

    from pulumi_azure_native import storage

    doc = inspect.getdoc(storage.StorageAccountArgs.allow_blob_public_access) or ""
    assert "The default interpretation is false for this property." in doc


@pytest.mark.parametrize("shape", SHAPES)
def test_unknown_is_undecided_never_a_pass(prod_run: ProgramRun, shape: str) -> None:
    loaded = shape_of(mutate(prod_run.resources, ACCOUNT, {"allowBlobPublicAccess": UNKNOWN}), shape)
    assert undecided(RULE, loaded) == {ACCOUNT}
    assert failing(RULE, loaded) == set()
    assert levels(RULE, loaded, PROD) == {(ACCOUNT, "advisory")}
    strict = PolicyTargets.for_environment("prod", unknown_is_violation=True)
    assert levels(RULE, loaded, strict) == {(ACCOUNT, "mandatory")}


def test_first_preview(prod_preview_run: ProgramRun) -> None:
    for loaded in shapes(prod_preview_run.resources).values():
        assert failing(RULE, loaded) == set()
        assert undecided(RULE, loaded) == set()


def test_staging_targets_make_violations_advisory(staging_run: ProgramRun) -> None:
    public = mutate(staging_run.resources, ACCOUNT, {"allowBlobPublicAccess": True})
    assert levels(RULE, public, STAGING) == {(ACCOUNT, "advisory")}
    assert levels(RULE, public, PROD) == {(ACCOUNT, "mandatory")}
