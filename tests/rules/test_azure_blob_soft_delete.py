"""azure-blob-soft-delete: every storage account's BlobServiceProperties keep deleted blobs >= 7 days."""

from __future__ import annotations

from typing import Any

import pytest

from backstop.ground import tokens
from backstop.ground.resources import UNKNOWN
from backstop.policy.targets import PolicyTargets
from backstop.policy.values import MISSING
from backstop.program.mocks import ProgramRun
from tests.policy_support import (
    SHAPES,
    failing,
    findings,
    levels,
    mutate,
    res,
    shape_of,
    shapes,
    undecided,
    without,
    without_dependencies,
)

RULE = "azure-blob-soft-delete"
PROD = PolicyTargets.for_environment("prod")
STAGING = PolicyTargets.for_environment("staging")
ACCOUNT = "media-blobs"
SERVICE = "media-blobs-blob-service"


def test_shipped_stacks_pass(prod_run: ProgramRun, staging_run: ProgramRun) -> None:
    assert failing(RULE, prod_run.resources) == set()
    assert undecided(RULE, prod_run.resources) == set()
    assert failing(RULE, staging_run.resources, STAGING) == set()
    assert undecided(RULE, staging_run.resources, STAGING) == set()


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        pytest.param({"deleteRetentionPolicy.enabled": False}, {ACCOUNT}, id="off"),
        pytest.param({"deleteRetentionPolicy.enabled": MISSING}, {ACCOUNT}, id="enabled-unset"),
        pytest.param({"deleteRetentionPolicy": MISSING}, {ACCOUNT}, id="no-policy"),
        pytest.param({"deleteRetentionPolicy.days": 3}, {ACCOUNT}, id="3-days"),
        pytest.param({"deleteRetentionPolicy.days": 6.0}, {ACCOUNT}, id="6-days-float"),
        pytest.param({"deleteRetentionPolicy.days": MISSING}, {ACCOUNT}, id="days-unset"),
        pytest.param({"deleteRetentionPolicy.days": 7}, set(), id="7-days-int"),
        pytest.param({"deleteRetentionPolicy.days": 7.0}, set(), id="7-days-float"),
        pytest.param(
            {"containerDeleteRetentionPolicy": MISSING}, set(), id="container-policy-is-not-blob-policy"
        ),
    ],
)
def test_variants(prod_run: ProgramRun, shape: str, changes: dict[str, Any], expected: set[str]) -> None:
    loaded = shape_of(mutate(prod_run.resources, SERVICE, changes), shape)
    assert failing(RULE, loaded) == expected
    assert undecided(RULE, loaded) == set()


@pytest.mark.parametrize("shape", SHAPES)
def test_account_without_blob_service_properties_fails(prod_run: ProgramRun, shape: str) -> None:
    loaded = shape_of(without(prod_run.resources, SERVICE), shape)
    assert failing(RULE, loaded) == {ACCOUNT}


def test_message_names_the_service_and_days(prod_run: ProgramRun) -> None:
    (finding,) = findings(RULE, mutate(prod_run.resources, SERVICE, {"deleteRetentionPolicy.days": 3.0}))
    assert SERVICE in finding.message and "3 days" in finding.message and "7-day" in finding.message


def test_minimum_is_a_tunable(prod_run: ProgramRun) -> None:
    month = PolicyTargets.for_environment("prod", min_blob_soft_delete_days=30)
    assert failing(RULE, prod_run.resources, month) == {ACCOUNT}


def test_joins_by_account_name_without_property_dependencies(prod_run: ProgramRun) -> None:
    resources = without_dependencies(prod_run.resources)
    assert failing(RULE, resources) == set()
    other = mutate(resources, SERVICE, {"accountName": "someotheraccount"})
    assert failing(RULE, other) == {ACCOUNT}


def test_each_account_needs_its_own_service() -> None:
    policy = {"enabled": True, "days": 14}
    resources = [
        res(
            tokens.AZ_STORAGE_ACCOUNT,
            "photos",
            {"accountName": "acmephotos", "sku": {"name": "Standard_GRS"}},
        ),
        res(
            tokens.AZ_STORAGE_ACCOUNT,
            "videos",
            {"accountName": "acmevideos", "sku": {"name": "Standard_GRS"}},
        ),
        res(
            tokens.AZ_BLOB_SERVICE,
            "photos-blob",
            {"accountName": "acmephotos", "deleteRetentionPolicy": policy},
        ),
    ]
    assert failing(RULE, resources) == {"videos"}


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("path", ["deleteRetentionPolicy.days", "deleteRetentionPolicy.enabled"])
def test_unknown_is_undecided_never_a_pass(prod_run: ProgramRun, shape: str, path: str) -> None:
    loaded = shape_of(mutate(prod_run.resources, SERVICE, {path: UNKNOWN}), shape)
    assert undecided(RULE, loaded) == {ACCOUNT}
    assert failing(RULE, loaded) == set()
    assert levels(RULE, loaded, PROD) == {(ACCOUNT, "advisory")}
    strict = PolicyTargets.for_environment("prod", unknown_is_violation=True)
    assert levels(RULE, loaded, strict) == {(ACCOUNT, "mandatory")}


def test_first_preview(prod_preview_run: ProgramRun) -> None:
    for loaded in shapes(prod_preview_run.resources).values():
        assert failing(RULE, loaded) == set()
        assert undecided(RULE, loaded) == set()
    stripped = without_dependencies(prod_preview_run.resources)
    assert undecided(RULE, stripped) == {ACCOUNT}
    assert failing(RULE, stripped) == set()


def test_staging_targets_make_violations_advisory(staging_run: ProgramRun) -> None:
    off = mutate(staging_run.resources, SERVICE, {"deleteRetentionPolicy.enabled": False})
    assert levels(RULE, off, STAGING) == {(ACCOUNT, "advisory")}
    assert levels(RULE, off, PROD) == {(ACCOUNT, "mandatory")}
