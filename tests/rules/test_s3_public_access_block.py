"""s3-public-access-block: every bucket has a BucketPublicAccessBlock with all four flags true."""

from __future__ import annotations

from typing import Any

import pytest

from backstop.ground import tokens
from backstop.ground.resources import UNKNOWN
from backstop.policy.rules.s3_public_access_block import FLAGS
from backstop.policy.targets import PolicyTargets
from backstop.policy.values import MISSING
from backstop.program.mocks import ProgramRun
from tests.docs_examples import EXAMPLES, run_example
from tests.policy_support import (
    SHAPES,
    TOKEN_SETS,
    declared,
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

RULE = "s3-public-access-block"
PROD = PolicyTargets.for_environment("prod")
STAGING = PolicyTargets.for_environment("staging")
BUCKETS = {"media", "media-replica", "atlas-exports", "atlas-exports-replica"}


def test_shipped_stacks_pass(prod_run: ProgramRun, staging_run: ProgramRun) -> None:
    assert failing(RULE, prod_run.resources) == set()
    assert undecided(RULE, prod_run.resources) == set()
    assert failing(RULE, staging_run.resources, STAGING) == set()
    assert undecided(RULE, staging_run.resources, STAGING) == set()


def test_the_four_flags_are_the_sdk_wire_names() -> None:
    import pulumi._types as pulumi_types
    import pulumi_aws

    wire = set(pulumi_types.input_type_py_to_pulumi_names(pulumi_aws.s3.BucketPublicAccessBlockArgs).values())
    assert set(FLAGS) <= wire
    assert len(FLAGS) == 4


@pytest.mark.parametrize("token_set", TOKEN_SETS)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(
    ("name", "changes", "expected"),
    [
        *[
            pytest.param("media-public-access-block", {flag: False}, {"media"}, id=f"{flag}-false")
            for flag in FLAGS
        ],
        *[
            pytest.param(
                "atlas-exports-replica-public-access-block",
                {flag: MISSING},
                {"atlas-exports-replica"},
                id=f"{flag}-unset",
            )
            for flag in FLAGS
        ],
        pytest.param(
            "atlas-exports-public-access-block",
            {flag: False for flag in FLAGS},
            {"atlas-exports"},
            id="all-false",
        ),
    ],
)
def test_variants(
    prod_run: ProgramRun, token_set: str, shape: str, name: str, changes: dict[str, Any], expected: set[str]
) -> None:
    loaded = shape_of(mutate(declared(prod_run, token_set), name, changes), shape)
    assert failing(RULE, loaded) == expected
    assert undecided(RULE, loaded) == set()


@pytest.mark.parametrize("token_set", TOKEN_SETS)
@pytest.mark.parametrize("shape", SHAPES)
def test_missing_block_fails_only_its_bucket(prod_run: ProgramRun, token_set: str, shape: str) -> None:
    loaded = shape_of(without(declared(prod_run, token_set), "media-replica-public-access-block"), shape)
    assert failing(RULE, loaded) == {"media-replica"}


def test_message_names_the_flags_left_off(prod_run: ProgramRun) -> None:
    changed = mutate(prod_run.resources, "media-public-access-block", {"ignorePublicAcls": False})
    (finding,) = findings(RULE, changed)
    assert "ignorePublicAcls" in finding.message and "blockPublicAcls" not in finding.message


def test_a_block_on_another_bucket_does_not_count() -> None:
    flags = dict.fromkeys(FLAGS, True)
    resources = [
        res(tokens.S3_BUCKET_V2, "logs", {"bucket": "acme-logs"}),
        res(tokens.S3_BUCKET_V2, "data", {"bucket": "acme-data"}),
        res(tokens.S3_PUBLIC_ACCESS_BLOCK, "data-pab", {"bucket": "acme-data", **flags}),
    ]
    assert failing(RULE, resources) == {"logs"}


def test_joins_by_bucket_name_without_property_dependencies(prod_run: ProgramRun) -> None:
    resources = without_dependencies(prod_run.resources)
    assert failing(RULE, resources) == set()
    assert failing(RULE, mutate(resources, "media-public-access-block", {"blockPublicPolicy": False})) == {
        "media"
    }


@pytest.mark.parametrize("shape", SHAPES)
def test_unknown_flag_is_undecided_never_a_pass(prod_run: ProgramRun, shape: str) -> None:
    loaded = shape_of(
        mutate(prod_run.resources, "media-public-access-block", {"restrictPublicBuckets": UNKNOWN}), shape
    )
    assert undecided(RULE, loaded) == {"media"}
    assert failing(RULE, loaded) == set()
    assert levels(RULE, loaded, PROD) == {("media", "advisory")}
    strict = PolicyTargets.for_environment("prod", unknown_is_violation=True)
    assert levels(RULE, loaded, strict) == {("media", "mandatory")}


def test_first_preview(prod_preview_run: ProgramRun) -> None:
    for loaded in shapes(prod_preview_run.resources).values():
        assert failing(RULE, loaded) == set()
        assert undecided(RULE, loaded) == set()
    stripped = without_dependencies(prod_preview_run.resources)
    assert undecided(RULE, stripped) == BUCKETS
    assert failing(RULE, stripped) == set()


def test_staging_targets_make_violations_advisory(staging_run: ProgramRun) -> None:
    opened = mutate(staging_run.resources, "media-public-access-block", {"blockPublicPolicy": False})
    assert levels(RULE, opened, STAGING) == {("media", "advisory")}
    assert levels(RULE, opened, PROD) == {("media", "mandatory")}


ALL_ON = dict.fromkeys(FLAGS, True)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(
    ("account", "removed", "expected"),
    [
        pytest.param(ALL_ON, BUCKETS, set(), id="account-block-covers-buckets-without-their-own"),
        pytest.param(
            {**ALL_ON, "ignorePublicAcls": False},
            {"media-public-access-block"},
            {"media"},
            id="account-flag-off",
        ),
        # A bucket block with a flag off is overridden by the account's flag: S3 applies the stricter.
        pytest.param(ALL_ON, set(), set(), id="account-and-bucket-blocks"),
    ],
)
def test_account_level_block(
    prod_run: ProgramRun, shape: str, account: dict[str, Any], removed: set[str], expected: set[str]
) -> None:
    pab = {name for name in removed if name.endswith("-public-access-block")} or {
        f"{bucket}-public-access-block" for bucket in removed
    }
    resources = [
        *without(prod_run.resources, *pab),
        res(tokens.S3_ACCOUNT_PUBLIC_ACCESS_BLOCK, "account", account),
    ]
    loaded = shape_of(resources, shape)
    assert failing(RULE, loaded) == expected
    assert undecided(RULE, loaded) == set()


def test_account_flag_completes_a_bucket_block(prod_run: ProgramRun) -> None:
    opened = mutate(prod_run.resources, "media-public-access-block", {"blockPublicPolicy": False})
    assert failing(RULE, opened) == {"media"}
    account = res(tokens.S3_ACCOUNT_PUBLIC_ACCESS_BLOCK, "account", {"blockPublicPolicy": True})
    assert failing(RULE, [*opened, account]) == set()


def test_unknown_account_flag_is_undecided() -> None:
    bucket = res(tokens.S3_BUCKET, "data", {"bucket": "acme-data"})
    account = res(
        tokens.S3_ACCOUNT_PUBLIC_ACCESS_BLOCK, "account", {**ALL_ON, "restrictPublicBuckets": UNKNOWN}
    )
    assert undecided(RULE, [bucket, account]) == {"data"}


@pytest.mark.parametrize("shape", SHAPES)
def test_pulumi_aws_documented_account_block_example(shape: str) -> None:
    """The provider's example sets only two flags: the other two leave the bucket open."""
    assert "account_public_access_block.py" in EXAMPLES["account_public_access_block_example"]
    loaded = shape_of(run_example("account_public_access_block_example").resources, shape)
    (finding,) = findings(RULE, loaded)
    assert finding.urn.endswith("::data")
    assert finding.message == (
        "the account's public access block leaves ignorePublicAcls, restrictPublicBuckets off and the bucket "
        "has none"
    )


def test_account_block_flags_are_sdk_wire_names() -> None:
    import pulumi._types as pulumi_types
    import pulumi_aws

    wire = set(
        pulumi_types.input_type_py_to_pulumi_names(pulumi_aws.s3.AccountPublicAccessBlockArgs).values()
    )
    assert set(FLAGS) <= wire
