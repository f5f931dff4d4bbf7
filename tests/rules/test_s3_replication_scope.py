"""s3-replication-scope: the cross-region copy covers the whole bucket, SSE-KMS objects included, with no
higher-priority rule narrowing it, into a versioned replica."""

from __future__ import annotations

from typing import Any

import pytest

from backstop.ground import tokens
from backstop.ground.resources import UNKNOWN
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
    undecided,
)

RULE = "s3-replication-scope"
PROD = PolicyTargets.for_environment("prod")
STAGING = PolicyTargets.for_environment("staging")
RULE0 = "rules[0]"


def test_shipped_stacks_pass(
    prod_run: ProgramRun, staging_run: ProgramRun, prod_preview_run: ProgramRun
) -> None:
    assert findings(RULE, prod_run.resources) == []
    assert findings(RULE, staging_run.resources, STAGING) == []
    assert findings(RULE, prod_preview_run.resources) == []


def _second_rule(**overrides: Any) -> dict[str, Any]:
    """A narrower rule beside the shipped whole-bucket one, to the same replica."""
    return {
        "id": "thumbnails",
        "status": "Enabled",
        "priority": 2,
        "filter": {"prefix": "thumbnails/"},
        "deleteMarkerReplication": {"status": "Enabled"},
        "destination": {"bucket": "arn:aws:s3:::cartie-prod-media-us-west-2"},
        **overrides,
    }


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(
    ("name", "changes", "expected", "words"),
    [
        pytest.param(
            "media-replication",
            {f"{RULE0}.filter.prefix": "thumbnails/", f"{RULE0}.id": "media-all"},
            {"media"},
            "rule `media-all` replicates only objects under `thumbnails/`",
            id="prefix-narrows",
        ),
        pytest.param(
            "atlas-exports-replication",
            {f"{RULE0}.filter": {"tag": {"key": "tier", "value": "gold"}}},
            {"atlas-exports"},
            "replicates only objects tagged tier=gold",
            id="tag-narrows",
        ),
        pytest.param(
            "media-replication",
            {f"{RULE0}.filter": {"and": {"prefix": "a/", "tags": {"k": "v"}}}},
            {"media"},
            "objects under `a/` and tagged k=v",
            id="and-narrows",
        ),
        pytest.param(
            "media-replication",
            {f"{RULE0}.filter": MISSING, f"{RULE0}.prefix": "logs/"},
            {"media"},
            "replicates only objects under `logs/`",
            id="v1-prefix-narrows",
        ),
        pytest.param(
            "media-replication",
            {f"{RULE0}.sourceSelectionCriteria": MISSING},
            {"media"},
            "objects encrypted with SSE-KMS are not replicated by rule `copy-region`: set "
            "sourceSelectionCriteria.sseKmsEncryptedObjects.status to Enabled",
            id="sse-kms-not-opted-in",
        ),
        pytest.param(
            "media-replication",
            {f"{RULE0}.sourceSelectionCriteria.sseKmsEncryptedObjects.status": "Disabled"},
            {"media"},
            "objects encrypted with SSE-KMS are not replicated",
            id="sse-kms-disabled",
        ),
        pytest.param(
            "atlas-exports-replication",
            {f"{RULE0}.destination.encryptionConfiguration": MISSING},
            {"atlas-exports"},
            "destination.encryptionConfiguration.replicaKmsKeyId",
            id="no-replica-key",
        ),
        pytest.param(
            "media-replica-versioning",
            {"versioningConfiguration.status": "Suspended"},
            {"media"},
            "replicates into media-replica, which is not versioned",
            id="replica-not-versioned",
        ),
        pytest.param(
            "media-replication",
            {"rules[1]": _second_rule()},
            {"media"},
            "rule `thumbnails` (priority 2) outranks `copy-region` (priority 0) for objects under "
            "`thumbnails/` "
            "and does not replicate objects encrypted with SSE-KMS",
            id="higher-priority-rule-without-sse-kms",
        ),
        pytest.param(
            "media-replication",
            {"rules[1]": _second_rule(priority=-1)},
            set(),
            "",
            id="lower-priority-narrow-rule-is-harmless",
        ),
        pytest.param(
            "media-replication",
            {"rules[1]": _second_rule(status="Disabled")},
            set(),
            "",
            id="disabled-narrow-rule-is-harmless",
        ),
        pytest.param(
            "media-replication",
            {f"{RULE0}.filter": {}},
            set(),
            "",
            id="empty-filter-is-whole-bucket",
        ),
    ],
)
def test_variants(
    prod_run: ProgramRun,
    shape: str,
    name: str,
    changes: dict[str, Any],
    expected: set[str],
    words: str,
) -> None:
    resources = mutate(prod_run.resources, name, changes)
    loaded = shape_of(resources, shape)
    assert failing(RULE, loaded) == expected
    assert undecided(RULE, loaded) == set()
    for finding in findings(RULE, loaded):
        assert words in finding.message


@pytest.mark.parametrize("shape", SHAPES)
def test_unknown_filter_is_undecided_never_a_pass(prod_run: ProgramRun, shape: str) -> None:
    loaded = shape_of(
        mutate(prod_run.resources, "media-replication", {f"{RULE0}.filter.prefix": UNKNOWN}), shape
    )
    assert undecided(RULE, loaded) == {"media"}
    assert failing(RULE, loaded) == set()
    assert levels(RULE, loaded, PROD) == {("media", "advisory")}
    strict = PolicyTargets.for_environment("prod", unknown_is_violation=True)
    assert levels(RULE, loaded, strict) == {("media", "mandatory")}


def test_a_bucket_without_any_copy_is_left_to_the_cross_region_rule(prod_run: ProgramRun) -> None:
    resources = mutate(
        prod_run.resources,
        "media-replication",
        {f"{RULE0}.status": "Disabled", f"{RULE0}.filter.prefix": "x/"},
    )
    assert failing(RULE, resources) == set()
    assert failing("s3-cross-region-replication", resources) == {"media"}


@pytest.mark.parametrize(
    ("bucket_type", "rule", "expected"),
    [
        (
            tokens.S3_BUCKET,
            {"status": "Enabled", "prefix": "logs/", "destination": {"bucket": "arn:aws:s3:::acme-copy"}},
            {"data"},
        ),
        (
            tokens.S3_BUCKET,
            {
                "status": "Enabled",
                "filter": {"prefix": ""},
                "sourceSelectionCriteria": {"sseKmsEncryptedObjects": {"enabled": True}},
                "destination": {
                    "bucket": "arn:aws:s3:::acme-copy",
                    "replicaKmsKeyId": "arn:aws:kms:us-west-2:1:key/k",
                },
            },
            set(),
        ),
        (
            tokens.S3_BUCKET,
            {
                "status": "Enabled",
                "filter": {"prefix": ""},
                "destination": {"bucket": "arn:aws:s3:::acme-copy"},
            },
            {"data"},
        ),
    ],
)
def test_deprecated_inline_block_on_bucket(
    bucket_type: str, rule: dict[str, Any], expected: set[str]
) -> None:
    source = res(
        bucket_type,
        "data",
        {
            "bucket": "acme-data",
            "region": "us-east-1",
            "versioning": {"enabled": True},
            "replicationConfiguration": {"rules": [rule]},
        },
    )
    copy = res(
        bucket_type, "copy", {"bucket": "acme-copy", "region": "us-west-2", "versioning": {"enabled": True}}
    )
    assert failing(RULE, [source, copy]) == expected


def test_deprecated_inline_block_on_bucket_v2() -> None:
    rule = {
        "status": "Enabled",
        "filters": [{"prefix": "media/"}],
        "sourceSelectionCriterias": [{"sseKmsEncryptedObjects": [{"enabled": True}]}],
        "destinations": [
            {"bucket": "arn:aws:s3:::acme-copy", "replicaKmsKeyId": "arn:aws:kms:us-west-2:1:key/k"}
        ],
    }
    source = res(
        tokens.S3_BUCKET_V2,
        "data",
        {"bucket": "acme-data", "region": "us-east-1", "replicationConfigurations": [{"rules": [rule]}]},
    )
    copy = res(
        tokens.S3_BUCKET_V2,
        "copy",
        {"bucket": "acme-copy", "region": "us-west-2", "versionings": [{"enabled": True}]},
    )
    (finding,) = findings(RULE, [source, copy])
    assert "replicates only objects under `media/`" in finding.message
    rule["filters"] = [{"prefix": ""}]
    whole = res(
        tokens.S3_BUCKET_V2,
        "data",
        {"bucket": "acme-data", "region": "us-east-1", "replicationConfigurations": [{"rules": [rule]}]},
    )
    assert findings(RULE, [whole, copy]) == []


@pytest.mark.parametrize("shape", SHAPES)
def test_pulumi_aws_documented_replication_example(shape: str) -> None:
    """The provider's own example replicates only `example`-prefixed keys (across regions)."""
    assert "bucket_replication_config.py" in EXAMPLES["replication_prefix_example"]
    loaded = shape_of(run_example("replication_prefix_example").resources, shape)
    assert failing("s3-cross-region-replication", loaded) == set()
    (finding,) = findings(RULE, loaded)
    assert finding.urn.endswith("::source")
    assert "rule `examplerule` replicates only objects under `example`" in finding.message


def test_staging_targets_make_violations_advisory(staging_run: ProgramRun) -> None:
    narrowed = mutate(staging_run.resources, "media-replication", {f"{RULE0}.filter.prefix": "x/"})
    assert levels(RULE, narrowed, STAGING) == {("media", "advisory")}
    assert levels(RULE, narrowed, PROD) == {("media", "mandatory")}


def test_the_read_settings_are_sdk_wire_names() -> None:
    import pulumi._types as pulumi_types
    import pulumi_aws

    def wire(cls: type) -> set[str]:
        return set(pulumi_types.input_type_py_to_pulumi_names(cls).values())

    s3 = pulumi_aws.s3
    assert {"filter", "prefix", "priority", "sourceSelectionCriteria", "destination", "id"} <= wire(
        s3.BucketReplicationConfigRuleArgs
    )
    assert {"prefix", "tag", "and"} <= wire(s3.BucketReplicationConfigRuleFilterArgs)
    assert "sseKmsEncryptedObjects" in wire(s3.BucketReplicationConfigRuleSourceSelectionCriteriaArgs)
    assert "replicaKmsKeyId" in wire(s3.BucketReplicationConfigRuleDestinationEncryptionConfigurationArgs)
    assert {"filters", "sourceSelectionCriterias", "destinations"} <= wire(
        s3.BucketV2ReplicationConfigurationRuleArgs
    )
    assert "replicaKmsKeyId" in wire(s3.BucketReplicationConfigurationRuleDestinationArgs)


@pytest.mark.parametrize("token_set", TOKEN_SETS)
def test_deprecated_token_aliases(prod_run: ProgramRun, token_set: str) -> None:
    resources = declared(prod_run, token_set)
    assert findings(RULE, resources) == []
    narrowed = mutate(resources, "media-replication", {f"{RULE0}.filter.prefix": "x/"})
    assert failing(RULE, narrowed) == {"media"}


def _to_undeclared_replica(resources: list[Any]) -> list[Any]:
    """media's copy sent to a bucket another stack owns: its ARN only, no dependency on a declared bucket."""
    moved = mutate(
        resources, "media-replication", {f"{RULE0}.destination.bucket": "arn:aws:s3:::dr-account-media"}
    )
    return mutate(moved, "media-replication", {}, property_dependencies={})


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(
    ("changes", "words"),
    [
        pytest.param(
            {f"{RULE0}.filter.prefix": "thumbnails/"},
            "replicates only objects under `thumbnails/`",
            id="prefix-narrows",
        ),
        pytest.param(
            {f"{RULE0}.sourceSelectionCriteria": MISSING},
            "objects encrypted with SSE-KMS are not replicated by rule `copy-region`",
            id="sse-kms-not-opted-in",
        ),
    ],
)
def test_scope_is_judged_when_the_replica_is_not_declared(
    prod_run: ProgramRun, shape: str, changes: dict[str, Any], words: str
) -> None:
    """A prefix or a missing SSE-KMS opt-in copies part of the bucket whatever region the replica is in:
    a definite violation even though the cross-region rule cannot tell the replica's region."""
    resources = _to_undeclared_replica(mutate(prod_run.resources, "media-replication", changes))
    loaded = shape_of(resources, shape)
    assert undecided("s3-cross-region-replication", loaded) == {"media"}
    assert failing(RULE, loaded) == {"media"}
    (finding,) = [f for f in findings(RULE, loaded) if f.urn.endswith("::media")]
    assert words in finding.message


@pytest.mark.parametrize("shape", SHAPES)
def test_a_whole_bucket_copy_to_an_undeclared_replica_is_unknown_never_silent(
    prod_run: ProgramRun, shape: str
) -> None:
    loaded = shape_of(_to_undeclared_replica(prod_run.resources), shape)
    assert failing(RULE, loaded) == set()
    assert undecided(RULE, loaded) == {"media"}
    (finding,) = findings(RULE, loaded)
    assert "replica arn:aws:s3:::dr-account-media is not declared in this stack" in finding.message


def test_a_narrow_copy_into_the_buckets_own_region_is_still_narrow(prod_run: ProgramRun) -> None:
    """Region and scope are separate verdicts: both rules fail a same-region prefix copy."""
    same_region = mutate(
        prod_run.resources,
        "media-replica",
        {"region": "us-east-1"},
    )
    narrowed = mutate(same_region, "media-replication", {f"{RULE0}.filter.prefix": "x/"})
    assert failing("s3-cross-region-replication", narrowed) == {"media"}
    assert failing(RULE, narrowed) == {"media"}
    assert failing(RULE, same_region) == set()  # a whole-bucket copy: only the region is wrong
