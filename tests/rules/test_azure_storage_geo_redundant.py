"""azure-storage-geo-redundant: with require_geo_redundant_storage (prod) the SKU is geo-redundant."""

from __future__ import annotations

from typing import Any

import pytest

from backstop.ground import tokens
from backstop.ground.resources import UNKNOWN
from backstop.policy.targets import PolicyTargets
from backstop.policy.values import MISSING
from backstop.program.mocks import ProgramRun
from tests.policy_support import SHAPES, failing, findings, levels, mutate, res, shape_of, shapes, undecided

RULE = "azure-storage-geo-redundant"
PROD = PolicyTargets.for_environment("prod")
STAGING = PolicyTargets.for_environment("staging")
ACCOUNT = "media-blobs"


def test_shipped_stacks_pass(prod_run: ProgramRun, staging_run: ProgramRun) -> None:
    assert failing(RULE, prod_run.resources) == set()
    assert undecided(RULE, prod_run.resources) == set()
    # Staging is LRS on purpose; its targets do not require geo-redundancy ...
    assert failing(RULE, staging_run.resources, STAGING) == set()
    # ... and prod targets would flag exactly its one account.
    assert failing(RULE, staging_run.resources, PROD) == {ACCOUNT}


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(
    ("sku", "expected"),
    [
        ("Standard_LRS", {ACCOUNT}),
        ("Standard_ZRS", {ACCOUNT}),
        ("Premium_LRS", {ACCOUNT}),
        ("Standard_GRS", set()),
        ("Standard_RAGRS", set()),
        ("Standard_GZRS", set()),
        ("Standard_RAGZRS", set()),
    ],
)
def test_sku_variants(prod_run: ProgramRun, shape: str, sku: str, expected: set[str]) -> None:
    loaded = shape_of(mutate(prod_run.resources, ACCOUNT, {"sku.name": sku}), shape)
    assert failing(RULE, loaded) == expected
    assert undecided(RULE, loaded) == set()


@pytest.mark.parametrize("changes", [{"sku.name": MISSING}, {"sku": MISSING}, {"sku.name": 3.0}])
def test_missing_or_malformed_sku_fails(prod_run: ProgramRun, changes: dict[str, Any]) -> None:
    assert failing(RULE, mutate(prod_run.resources, ACCOUNT, changes)) == {ACCOUNT}


def test_geo_redundant_skus_is_a_tunable(prod_run: ProgramRun) -> None:
    only_ragrs = PolicyTargets.for_environment("prod", geo_redundant_skus=["Standard_RAGRS"])
    assert failing(RULE, prod_run.resources, only_ragrs) == {ACCOUNT}


@pytest.mark.parametrize("shape", SHAPES)
def test_unknown_is_undecided_never_a_pass(prod_run: ProgramRun, shape: str) -> None:
    loaded = shape_of(mutate(prod_run.resources, ACCOUNT, {"sku.name": UNKNOWN}), shape)
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
    required = PolicyTargets.for_environment("staging", require_geo_redundant_storage=True)
    assert levels(RULE, staging_run.resources, required) == {(ACCOUNT, "advisory")}
    assert levels(RULE, staging_run.resources, PROD) == {(ACCOUNT, "mandatory")}


@pytest.mark.parametrize(
    ("token", "props", "words"),
    [
        pytest.param(
            tokens.AZ_STORAGE_ACCOUNT,
            {"sku": {"name": "Standard_GRS"}, "kind": "BlockBlobStorage"},
            "kind BlockBlobStorage offers only LRS, ZRS: sku.name Standard_GRS is not available for it",
            id="premium-block-blobs",
        ),
        pytest.param(
            tokens.AZ_STORAGE_ACCOUNT,
            {"sku": {"name": "Standard_RAGZRS"}, "kind": "Storage"},
            "kind Storage offers only GRS, LRS, RAGRS",
            id="general-purpose-v1-no-gzrs",
        ),
        pytest.param(
            tokens.AZ_STORAGE_ACCOUNT, {"sku": {"name": "Standard_GRS"}, "kind": "Storage"}, "", id="v1-grs"
        ),
        pytest.param(
            tokens.AZ_STORAGE_ACCOUNT, {"sku": {"name": "Standard_RAGZRS"}, "kind": "StorageV2"}, "", id="v2"
        ),
        pytest.param(
            tokens.AZC_STORAGE_ACCOUNT,
            {"accountReplicationType": "GRS", "accountTier": "Premium", "accountKind": "BlockBlobStorage"},
            "accountTier Premium offers only LRS and ZRS",
            id="classic-premium",
        ),
        pytest.param(
            tokens.AZC_STORAGE_ACCOUNT,
            {"accountReplicationType": "GZRS", "accountTier": "Standard", "accountKind": "BlobStorage"},
            "accountKind BlobStorage offers only GRS, LRS, RAGRS: accountReplicationType GZRS",
            id="classic-blob-storage-no-gzrs",
        ),
        pytest.param(
            tokens.AZC_STORAGE_ACCOUNT,
            {"accountReplicationType": "RAGZRS", "accountTier": "Standard"},
            "",
            id="classic-v2",
        ),
    ],
)
def test_the_account_kind_must_offer_the_geo_sku(token: str, props: dict[str, Any], words: str) -> None:
    account = res(token, "media", props)
    found = findings(RULE, [account])
    if not words:
        assert found == []
    else:
        (finding,) = found
        assert words in finding.message and not finding.unknown


def test_unknown_kind_is_undecided() -> None:
    account = res(tokens.AZ_STORAGE_ACCOUNT, "media", {"sku": {"name": "Standard_GRS"}, "kind": UNKNOWN})
    assert undecided(RULE, [account]) == {"media"}
