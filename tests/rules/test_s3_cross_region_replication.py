"""s3-cross-region-replication: every non-replica bucket copies to a bucket in another region."""

from __future__ import annotations

from typing import Any

import pytest

from backstop.ground import tokens
from backstop.ground.resources import UNKNOWN, Resource
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
    named,
    res,
    shape_of,
    shapes,
    undecided,
    without,
    without_dependencies,
)

RULE = "s3-cross-region-replication"
PROD = PolicyTargets.for_environment("prod")
STAGING = PolicyTargets.for_environment("staging")
STATUS = "rules[0].status"
DESTINATION = "rules[0].destination.bucket"


def test_shipped_stacks_pass(prod_run: ProgramRun, staging_run: ProgramRun) -> None:
    assert failing(RULE, prod_run.resources) == set()
    assert undecided(RULE, prod_run.resources) == set()
    assert failing(RULE, staging_run.resources, STAGING) == set()
    assert undecided(RULE, staging_run.resources, STAGING) == set()


@pytest.mark.parametrize("token_set", TOKEN_SETS)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        pytest.param({"media-replication": {STATUS: "Disabled"}}, {"media"}, id="rule-disabled"),
        pytest.param({"media-replica": {"region": "us-east-1"}}, {"media"}, id="replica-same-region"),
        pytest.param(
            {"atlas-exports": {"region": "us-west-2"}}, {"atlas-exports"}, id="source-moved-to-replica-region"
        ),
        pytest.param(
            {"media": {"region": MISSING}, "media-replica": {"region": MISSING}},
            {"media"},
            id="both-in-default-region",
        ),
        pytest.param({"media": {"region": MISSING}}, set(), id="source-in-default-region-passes"),
        pytest.param({"media-replication": {"rules": []}}, {"media", "media-replica"}, id="no-rules"),
    ],
)
def test_variants(
    prod_run: ProgramRun,
    token_set: str,
    shape: str,
    changes: dict[str, dict[str, Any]],
    expected: set[str],
) -> None:
    resources = declared(prod_run, token_set)
    for name, change in changes.items():
        resources = mutate(resources, name, change)
    loaded = shape_of(resources, shape)
    assert failing(RULE, loaded) == expected
    assert undecided(RULE, loaded) == set()


@pytest.mark.parametrize("token_set", TOKEN_SETS)
@pytest.mark.parametrize("shape", SHAPES)
def test_without_replication_the_source_and_its_former_replica_fail(
    prod_run: ProgramRun, token_set: str, shape: str
) -> None:
    loaded = shape_of(without(declared(prod_run, token_set), "atlas-exports-replication"), shape)
    assert failing(RULE, loaded) == {"atlas-exports", "atlas-exports-replica"}


def test_same_region_message_names_the_replica(prod_run: ProgramRun) -> None:
    (finding,) = findings(RULE, mutate(prod_run.resources, "media-replica", {"region": "us-east-1"}))
    assert "media-replica" in finding.message and "us-east-1" in finding.message


def test_the_stack_default_region_is_a_tunable(prod_run: ProgramRun) -> None:
    resources = mutate(prod_run.resources, "media", {"region": MISSING})
    west = PolicyTargets.for_environment("prod", default_aws_region="us-west-2")
    assert failing(RULE, resources, west) == {"media"}
    assert failing(RULE, resources, PROD) == set()


def test_destination_outside_the_stack_is_undecided(prod_run: ProgramRun) -> None:
    # A literal ARN depends on no resource of the stack.
    replication = named(prod_run.resources, "media-replication")
    resources = mutate(
        prod_run.resources,
        "media-replication",
        {DESTINATION: "arn:aws:s3:::someone-elses-bucket"},
        property_dependencies={**replication.property_dependencies, "rules": ()},
    )
    assert undecided(RULE, resources) == {"media"}
    # media-replica no longer receives anything, and replicates nowhere itself.
    assert failing(RULE, resources) == {"media-replica"}
    (finding,) = [f for f in findings(RULE, resources) if f.unknown]
    assert "someone-elses-bucket" in finding.message


def _provider(name: str, region: str | None) -> Resource:
    return Resource.build(
        urn=f"urn:pulumi:prod::backstop::pulumi:providers:aws::{name}",
        type=tokens.AWS_PROVIDER,
        props={"region": region} if region else {},
        id=f"{name}-id",
    )


def _bucket(name: str, provider: str | None = None, **props: Any) -> Resource:
    return Resource.build(
        urn=f"urn:pulumi:prod::backstop::{tokens.S3_BUCKET}::{name}",
        type=tokens.S3_BUCKET,
        props={"bucket": f"acme-{name}", **props},
        provider=provider,
    )


def _replication(source: str, destination: str) -> Resource:
    rule = {"status": "Enabled", "destination": {"bucket": f"arn:aws:s3:::acme-{destination}"}}
    return res(tokens.S3_REPLICATION, f"{source}-replication", {"bucket": f"acme-{source}", "rules": [rule]})


WEST_REF = "urn:pulumi:prod::backstop::pulumi:providers:aws::west::west-id"


@pytest.mark.parametrize(
    ("provider_region", "expected_failing", "expected_undecided"),
    [
        ("us-west-2", set(), set()),
        ("us-east-1", {"data"}, set()),
        (None, {"data"}, set()),  # a provider without a region falls back to the stack's aws:region
    ],
)
def test_region_of_an_explicit_provider(
    provider_region: str | None, expected_failing: set[str], expected_undecided: set[str]
) -> None:
    resources = [
        _provider("west", provider_region),
        _bucket("data"),
        _bucket("copy", provider=WEST_REF),
        _replication("data", "copy"),
    ]
    assert failing(RULE, resources) == expected_failing
    assert undecided(RULE, resources) == expected_undecided


def test_provider_not_in_the_stack() -> None:
    explicit = [_bucket("data"), _bucket("copy", provider=WEST_REF), _replication("data", "copy")]
    assert undecided(RULE, explicit) == {"data"}
    assert failing(RULE, explicit) == set()
    default_ref = "urn:pulumi:prod::backstop::pulumi:providers:aws::default_7_51_1::abc"
    defaulted = [_bucket("data"), _bucket("copy", provider=default_ref), _replication("data", "copy")]
    assert failing(RULE, defaulted) == {"data"}  # the default provider is in the stack's aws:region


@pytest.mark.parametrize(
    ("bucket_type", "inline"),
    [
        (
            tokens.S3_BUCKET,
            {
                "replicationConfiguration": {
                    "rules": [{"status": "Enabled", "destination": {"bucket": "arn:aws:s3:::acme-copy"}}]
                }
            },
        ),
        (
            tokens.S3_BUCKET_V2,
            {
                "replicationConfigurations": [
                    {"rules": [{"status": "Enabled", "destinations": [{"bucket": "arn:aws:s3:::acme-copy"}]}]}
                ]
            },
        ),
    ],
)
def test_deprecated_inline_replication_block(bucket_type: str, inline: dict[str, Any]) -> None:
    source = res(bucket_type, "data", {"bucket": "acme-data", "region": "us-east-1", **inline})
    copy = res(bucket_type, "copy", {"bucket": "acme-copy", "region": "us-west-2"})
    assert failing(RULE, [source, copy]) == set()
    same_region = res(bucket_type, "copy", {"bucket": "acme-copy", "region": "us-east-1"})
    assert failing(RULE, [source, same_region]) == {"data"}


@pytest.mark.parametrize("shape", SHAPES)
def test_unknown_status_is_undecided_never_a_pass(prod_run: ProgramRun, shape: str) -> None:
    loaded = shape_of(mutate(prod_run.resources, "media-replication", {STATUS: UNKNOWN}), shape)
    assert undecided(RULE, loaded) == {"media"}
    assert failing(RULE, loaded) == set()
    assert levels(RULE, loaded, PROD) == {("media", "advisory")}
    strict = PolicyTargets.for_environment("prod", unknown_is_violation=True)
    assert levels(RULE, loaded, strict) == {("media", "mandatory")}


@pytest.mark.parametrize("shape", SHAPES)
def test_unknown_replica_region_is_undecided(prod_run: ProgramRun, shape: str) -> None:
    loaded = shape_of(mutate(prod_run.resources, "atlas-exports-replica", {"region": UNKNOWN}), shape)
    assert undecided(RULE, loaded) == {"atlas-exports"}
    assert failing(RULE, loaded) == set()


def test_destination_spelled_differently_resolves_by_property_dependencies(prod_run: ProgramRun) -> None:
    alias = mutate(prod_run.resources, "media-replication", {DESTINATION: "cartie-prod-media-replica-alias"})
    assert failing(RULE, alias) == set()
    assert undecided(RULE, alias) == set()
    same_region = mutate(alias, "media-replica", {"region": "us-east-1"})
    assert failing(RULE, same_region) == {"media"}


def test_unknown_destination_resolves_by_property_dependencies(prod_run: ProgramRun) -> None:
    resources = mutate(prod_run.resources, "media-replication", {DESTINATION: UNKNOWN})
    assert failing(RULE, resources) == set()
    assert undecided(RULE, resources) == set()
    stripped = without_dependencies(resources)
    # Neither the destination nor whether media-replica is that destination can be told.
    assert undecided(RULE, stripped) == {"media", "media-replica"}
    assert failing(RULE, stripped) == set()


def test_first_preview(prod_preview_run: ProgramRun) -> None:
    for loaded in shapes(prod_preview_run.resources).values():
        assert failing(RULE, loaded) == set()
        assert undecided(RULE, loaded) == set()
    same = mutate(prod_preview_run.resources, "media-replica", {"region": "us-east-1"})
    assert failing(RULE, same) == {"media"}
    stripped = without_dependencies(prod_preview_run.resources)
    assert undecided(RULE, stripped) == {"media", "media-replica", "atlas-exports", "atlas-exports-replica"}
    assert failing(RULE, stripped) == set()


def test_staging_targets_make_violations_advisory(staging_run: ProgramRun) -> None:
    disabled = mutate(staging_run.resources, "media-replication", {STATUS: "Disabled"})
    assert levels(RULE, disabled, STAGING) == {("media", "advisory")}
    assert levels(RULE, disabled, PROD) == {("media", "mandatory")}
