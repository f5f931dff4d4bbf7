"""s3-encryption-kms: every bucket defaults to SSE-KMS under a customer-managed key."""

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

RULE = "s3-encryption-kms"
PROD = PolicyTargets.for_environment("prod")
STAGING = PolicyTargets.for_environment("staging")
ALGORITHM = "rules[0].applyServerSideEncryptionByDefault.sseAlgorithm"
KEY = "rules[0].applyServerSideEncryptionByDefault.kmsMasterKeyId"
BUCKETS = {"media", "media-replica", "atlas-exports", "atlas-exports-replica"}


def test_shipped_stacks_pass(prod_run: ProgramRun, staging_run: ProgramRun) -> None:
    assert failing(RULE, prod_run.resources) == set()
    assert undecided(RULE, prod_run.resources) == set()
    assert failing(RULE, staging_run.resources, STAGING) == set()
    assert undecided(RULE, staging_run.resources, STAGING) == set()


@pytest.mark.parametrize("token_set", TOKEN_SETS)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(
    ("name", "changes", "expected"),
    [
        pytest.param("media-sse", {ALGORITHM: "AES256"}, {"media"}, id="sse-s3"),
        pytest.param("media-sse", {KEY: MISSING}, {"media"}, id="aws-managed-key"),
        pytest.param("media-sse", {KEY: "alias/aws/s3"}, {"media"}, id="aws-s3-alias"),
        pytest.param(
            "atlas-exports-replica-sse",
            {KEY: "arn:aws:kms:us-west-2:111122223333:alias/aws/s3"},
            {"atlas-exports-replica"},
            id="aws-s3-alias-arn",
        ),
        pytest.param("media-sse", {"rules": []}, {"media"}, id="no-rules"),
        pytest.param("media-sse", {ALGORITHM: MISSING}, {"media"}, id="no-algorithm"),
        pytest.param("atlas-exports-sse", {ALGORITHM: "aws:kms:dsse"}, set(), id="dsse-passes"),
        pytest.param("media-sse", {KEY: "alias/backstop-backups"}, set(), id="customer-alias-passes"),
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
def test_missing_encryption_resource_fails_only_its_bucket(
    prod_run: ProgramRun, token_set: str, shape: str
) -> None:
    loaded = shape_of(without(declared(prod_run, token_set), "atlas-exports-sse"), shape)
    assert failing(RULE, loaded) == {"atlas-exports"}


def test_messages_say_what_is_wrong(prod_run: ProgramRun) -> None:
    (aes,) = findings(RULE, mutate(prod_run.resources, "media-sse", {ALGORITHM: "AES256"}))
    assert "'AES256'" in aes.message
    (managed,) = findings(RULE, mutate(prod_run.resources, "media-sse", {KEY: MISSING}))
    assert "aws/s3" in managed.message


@pytest.mark.parametrize(
    ("bucket_type", "inline", "expected"),
    [
        pytest.param(
            tokens.S3_BUCKET,
            {
                "serverSideEncryptionConfiguration": {
                    "rule": {
                        "applyServerSideEncryptionByDefault": {
                            "sseAlgorithm": "aws:kms",
                            "kmsMasterKeyId": "arn:aws:kms:us-east-1:111122223333:key/k",
                        }
                    }
                }
            },
            set(),
            id="bucket-inline-kms",
        ),
        pytest.param(
            tokens.S3_BUCKET,
            {
                "serverSideEncryptionConfiguration": {
                    "rule": {"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}
                }
            },
            {"data"},
            id="bucket-inline-aes",
        ),
        pytest.param(
            tokens.S3_BUCKET_V2,
            {
                "serverSideEncryptionConfigurations": [
                    {
                        "rules": [
                            {
                                "applyServerSideEncryptionByDefaults": [
                                    {
                                        "sseAlgorithm": "aws:kms",
                                        "kmsMasterKeyId": "arn:aws:kms:us-east-1:111122223333:key/k",
                                    }
                                ]
                            }
                        ]
                    }
                ]
            },
            set(),
            id="bucketv2-inline-kms",
        ),
        pytest.param(
            tokens.S3_BUCKET_V2,
            {
                "serverSideEncryptionConfigurations": [
                    {"rules": [{"applyServerSideEncryptionByDefaults": [{"sseAlgorithm": "aws:kms"}]}]}
                ]
            },
            {"data"},
            id="bucketv2-inline-aws-managed",
        ),
        pytest.param(tokens.S3_BUCKET, {}, {"data"}, id="nothing"),
    ],
)
def test_deprecated_inline_encryption_block(
    bucket_type: str, inline: dict[str, Any], expected: set[str]
) -> None:
    assert failing(RULE, [res(bucket_type, "data", {"bucket": "acme-data", **inline})]) == expected


def test_an_encryption_of_another_bucket_does_not_count() -> None:
    kms = {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": "arn:aws:kms:us-east-1:111122223333:key/k"}
    resources = [
        res(tokens.S3_BUCKET, "logs", {"bucket": "acme-logs"}),
        res(tokens.S3_BUCKET, "data", {"bucket": "acme-data"}),
        res(
            tokens.S3_SSE,
            "data-sse",
            {"bucket": "acme-data", "rules": [{"applyServerSideEncryptionByDefault": kms}]},
        ),
    ]
    assert failing(RULE, resources) == {"logs"}


@pytest.mark.parametrize("shape", SHAPES)
def test_unknown_algorithm_is_undecided_never_a_pass(prod_run: ProgramRun, shape: str) -> None:
    loaded = shape_of(mutate(prod_run.resources, "media-sse", {ALGORITHM: UNKNOWN}), shape)
    assert undecided(RULE, loaded) == {"media"}
    assert failing(RULE, loaded) == set()
    assert levels(RULE, loaded, PROD) == {("media", "advisory")}
    strict = PolicyTargets.for_environment("prod", unknown_is_violation=True)
    assert levels(RULE, loaded, strict) == {("media", "mandatory")}


def test_unknown_key_computed_from_a_stack_kms_key_passes(prod_run: ProgramRun) -> None:
    resources = mutate(prod_run.resources, "media-sse", {KEY: UNKNOWN})
    assert failing(RULE, resources) == set()
    assert undecided(RULE, resources) == set()
    # Without the dependency naming the KMS key, an unknown key could be anything.
    assert undecided(RULE, without_dependencies(resources)) == {"media"}


def test_first_preview_passes_through_property_dependencies(prod_preview_run: ProgramRun) -> None:
    for loaded in shapes(prod_preview_run.resources).values():
        assert failing(RULE, loaded) == set()
        assert undecided(RULE, loaded) == set()
    aes = mutate(prod_preview_run.resources, "media-replica-sse", {ALGORITHM: "AES256"})
    assert failing(RULE, aes) == {"media-replica"}


def test_first_preview_without_dependencies_is_undecided(prod_preview_run: ProgramRun) -> None:
    resources = without_dependencies(prod_preview_run.resources)
    assert undecided(RULE, resources) == BUCKETS
    assert failing(RULE, resources) == set()
    strict = PolicyTargets.for_environment("prod", unknown_is_violation=True)
    assert levels(RULE, resources, strict) == {(name, "mandatory") for name in BUCKETS}


def test_staging_targets_make_violations_advisory(staging_run: ProgramRun) -> None:
    aes = mutate(staging_run.resources, "media-sse", {ALGORITHM: "AES256"})
    assert levels(RULE, aes, STAGING) == {("media", "advisory")}
    assert levels(RULE, aes, PROD) == {("media", "mandatory")}
