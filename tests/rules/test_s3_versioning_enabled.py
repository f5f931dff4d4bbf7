"""s3-versioning-enabled: every bucket has an Enabled BucketVersioning (v7 or deprecated V2 token)."""

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
    TOKEN_SETS,
    declared,
    failing,
    levels,
    mutate,
    named,
    res,
    shape_of,
    shapes,
    undecided,
    without,
    without_dependencies,
)

RULE = "s3-versioning-enabled"
PROD = PolicyTargets.for_environment("prod")
STAGING = PolicyTargets.for_environment("staging")


def test_shipped_stacks_pass(prod_run: ProgramRun, staging_run: ProgramRun) -> None:
    assert failing(RULE, prod_run.resources) == set()
    assert undecided(RULE, prod_run.resources) == set()
    assert failing(RULE, staging_run.resources, STAGING) == set()
    assert undecided(RULE, staging_run.resources, STAGING) == set()


@pytest.mark.parametrize("token_set", TOKEN_SETS)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(
    ("change", "expected"),
    [
        pytest.param(
            {"media-versioning": {"versioningConfiguration.status": "Suspended"}}, {"media"}, id="suspended"
        ),
        pytest.param(
            {"atlas-exports-replica-versioning": {"versioningConfiguration.status": "Disabled"}},
            {"atlas-exports-replica"},
            id="replica-disabled",
        ),
        pytest.param(
            {"media-versioning": {"versioningConfiguration.status": MISSING}}, {"media"}, id="no-status"
        ),
        pytest.param({"media-versioning": {"versioningConfiguration": MISSING}}, {"media"}, id="no-config"),
        pytest.param(
            {
                "media-versioning": {"versioningConfiguration.status": "Suspended"},
                "atlas-exports-versioning": {"versioningConfiguration.status": "Suspended"},
            },
            {"media", "atlas-exports"},
            id="two-suspended",
        ),
    ],
)
def test_non_compliant_variants(
    prod_run: ProgramRun, token_set: str, shape: str, change: dict[str, dict[str, Any]], expected: set[str]
) -> None:
    resources = declared(prod_run, token_set)
    for name, changes in change.items():
        resources = mutate(resources, name, changes)
    loaded = shape_of(resources, shape)
    assert failing(RULE, loaded) == expected
    assert undecided(RULE, loaded) == set()


@pytest.mark.parametrize("token_set", TOKEN_SETS)
@pytest.mark.parametrize("shape", SHAPES)
def test_missing_versioning_resource_fails_only_its_bucket(
    prod_run: ProgramRun, token_set: str, shape: str
) -> None:
    loaded = shape_of(
        without(declared(prod_run, token_set), "media-versioning", "media-replica-versioning"), shape
    )
    assert failing(RULE, loaded) == {"media", "media-replica"}


@pytest.mark.parametrize("token_set", TOKEN_SETS)
def test_joins_by_bucket_name_without_property_dependencies(prod_run: ProgramRun, token_set: str) -> None:
    resources = without_dependencies(declared(prod_run, token_set))
    assert failing(RULE, resources) == set()
    suspended = mutate(resources, "media-versioning", {"versioningConfiguration.status": "Suspended"})
    assert failing(RULE, suspended) == {"media"}


def test_a_versioning_of_another_bucket_does_not_count() -> None:
    resources = [
        res(tokens.S3_BUCKET, "logs", {"bucket": "acme-logs"}),
        res(tokens.S3_BUCKET, "data", {"bucket": "acme-data"}),
        res(
            tokens.S3_VERSIONING,
            "data-versioning",
            {"bucket": "acme-data", "versioningConfiguration": {"status": "Enabled"}},
        ),
    ]
    assert failing(RULE, resources) == {"logs"}


@pytest.mark.parametrize(
    ("bucket_type", "inline", "expected"),
    [
        (tokens.S3_BUCKET, {"versioning": {"enabled": True}}, set()),
        (tokens.S3_BUCKET, {"versioning": {"enabled": False}}, {"data"}),
        (tokens.S3_BUCKET_V2, {"versionings": [{"enabled": True}]}, set()),
        (tokens.S3_BUCKET_V2, {"versionings": [{"enabled": False}]}, {"data"}),
    ],
)
def test_deprecated_inline_versioning_block(
    bucket_type: str, inline: dict[str, Any], expected: set[str]
) -> None:
    bucket = res(bucket_type, "data", {"bucket": "acme-data", **inline})
    assert failing(RULE, [bucket]) == expected


@pytest.mark.parametrize("shape", SHAPES)
def test_unknown_status_is_undecided_never_a_pass(prod_run: ProgramRun, shape: str) -> None:
    loaded = shape_of(
        mutate(prod_run.resources, "media-versioning", {"versioningConfiguration.status": UNKNOWN}), shape
    )
    assert undecided(RULE, loaded) == {"media"}
    assert failing(RULE, loaded) == set()
    assert levels(RULE, loaded, PROD) == {("media", "advisory")}
    strict = PolicyTargets.for_environment("prod", unknown_is_violation=True)
    assert levels(RULE, loaded, strict) == {("media", "mandatory")}


def test_first_preview_joins_by_property_dependencies(prod_preview_run: ProgramRun) -> None:
    for loaded in shapes(prod_preview_run.resources).values():
        assert failing(RULE, loaded) == set()
        assert undecided(RULE, loaded) == set()
    suspended = mutate(
        prod_preview_run.resources, "media-versioning", {"versioningConfiguration.status": "Suspended"}
    )
    assert failing(RULE, suspended) == {"media"}


def test_first_preview_without_dependencies_is_undecided(prod_preview_run: ProgramRun) -> None:
    resources = without_dependencies(prod_preview_run.resources)
    buckets = {"media", "media-replica", "atlas-exports", "atlas-exports-replica"}
    assert undecided(RULE, resources) == buckets
    assert failing(RULE, resources) == set()
    strict = PolicyTargets.for_environment("prod", unknown_is_violation=True)
    assert levels(RULE, resources, strict) == {(name, "mandatory") for name in buckets}


def test_staging_targets_make_violations_advisory(staging_run: ProgramRun) -> None:
    suspended = mutate(
        staging_run.resources, "media-versioning", {"versioningConfiguration.status": "Suspended"}
    )
    assert levels(RULE, suspended, STAGING) == {("media", "advisory")}
    assert levels(RULE, suspended, PROD) == {("media", "mandatory")}


def test_deprecated_token_fixture_really_uses_the_v2_tokens(prod_run: ProgramRun) -> None:
    types = {r.type for r in declared(prod_run, "deprecated-aliases")}
    assert {tokens.S3_BUCKET_V2, tokens.S3_VERSIONING_V2} <= types
    assert not {tokens.S3_BUCKET, tokens.S3_VERSIONING} & types
    media = named(declared(prod_run, "deprecated-aliases"), "media")
    assert media.urn.endswith(f"${tokens.S3_BUCKET_V2}::media")


def test_bucket_with_a_computed_name_joins_by_dependencies(prod_preview_run: ProgramRun) -> None:
    # A bucket named from another output (or by bucketPrefix) has no name until it is created.
    unnamed = mutate(prod_preview_run.resources, "media", {"bucket": UNKNOWN})
    assert failing(RULE, unnamed) == set()
    assert undecided(RULE, unnamed) == set()
    assert "media" in undecided(RULE, without_dependencies(unnamed))
