"""s3-lifecycle-retention: lifecycle expiration keeps exports for the retention window, never expires
replicated file storage, and never makes a replica delete sooner than its source."""

from __future__ import annotations

from typing import Any

import pytest

from backstop.ground import seeds, tokens
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

RULE = "s3-lifecycle-retention"
PROD = PolicyTargets.for_environment("prod")
STAGING = PolicyTargets.for_environment("staging")
NONCURRENT = "rules[0].noncurrentVersionExpiration.noncurrentDays"


def test_shipped_stacks_pass(
    prod_run: ProgramRun, staging_run: ProgramRun, prod_preview_run: ProgramRun
) -> None:
    assert findings(RULE, prod_run.resources) == []
    assert findings(RULE, staging_run.resources, STAGING) == []
    assert findings(RULE, prod_preview_run.resources) == []


def test_window_is_the_seeds_thirteen_months() -> None:
    assert PROD.min_export_retention_days == seeds.BACKUP_RETENTION_WINDOW_DAYS == round(13 * 365 / 12)
    assert STAGING.min_export_retention_days == seeds.STAGING_EXPORT_RETENTION_DAYS == 7


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(
    ("changes", "expected", "words"),
    [
        pytest.param(
            {"atlas-exports-lifecycle": {"rules[0].expiration": {"days": 30}}},
            {"atlas-exports"},
            "lifecycle rule `expire-noncurrent-versions` expires current exports after 30 days, within the "
            "395-day window",
            id="export-current-expiry",
        ),
        pytest.param(
            {"atlas-exports-replica-lifecycle": {"rules[0].expiration": {"date": "2027-01-01T00:00:00Z"}}},
            {"atlas-exports-replica"},
            "expires every current export on 2027-01-01T00:00:00Z",
            id="export-replica-date-expiry",
        ),
        pytest.param(
            {"atlas-exports-lifecycle": {"rules[0].expiration": {"days": 400}}},
            set(),
            "",
            id="export-current-expiry-beyond-window",
        ),
        pytest.param(
            {"atlas-exports-lifecycle": {"rules[0].expiration": {"expiredObjectDeleteMarker": True}}},
            set(),
            "",
            id="expired-delete-markers-are-harmless",
        ),
        pytest.param(
            # The export bucket itself has no default retention (Atlas's uploads carry no documented
            # Content-MD5); give it one to see a 400-day lock hold what the lifecycle would delete.
            {
                "atlas-exports-lifecycle": {NONCURRENT: 30},
                "atlas-exports-object-lock": {
                    "rule": {"defaultRetention": {"mode": "COMPLIANCE", "days": 400}}
                },
            },
            set(),
            "",
            id="export-noncurrent-30-held-by-a-400-day-lock",
        ),
        pytest.param(
            {
                "atlas-exports-lifecycle": {NONCURRENT: 30},
                "atlas-exports-object-lock": {
                    "rule": {"defaultRetention": {"mode": "COMPLIANCE", "days": 7}}
                },
            },
            {"atlas-exports"},
            "deletes an export for good 30 days after it is deleted or overwritten, and Object Lock holds "
            "versions only 7 days",
            id="export-noncurrent-30-lock-7",
        ),
        pytest.param(
            {"atlas-exports-lifecycle": {"rules[0].status": "Disabled", "rules[0].expiration": {"days": 1}}},
            set(),
            "",
            id="disabled-rule-is-ignored",
        ),
        pytest.param(
            {"media-lifecycle": {"rules[0].expiration": {"days": 90}}},
            {"media"},
            "lifecycle rule `expire-noncurrent-versions` expires current objects after 90 days: nothing "
            "in the "
            "seeds or the stack config asks file storage to expire",
            id="media-unrequested-expiry",
        ),
        pytest.param(
            {
                "media-replica-lifecycle": {
                    "rules[0].filter.prefix": "videos/",
                    "rules[0].expiration": {"days": 3650},
                }
            },
            {"media-replica"},
            "(objects under `videos/`) expires current objects after 3650 days",
            id="media-replica-expiry-with-prefix",
        ),
        pytest.param(
            {"media-replica-lifecycle": {NONCURRENT: 30}},
            {"media-replica"},
            "the replica deletes noncurrent versions after 30 days while its source media keeps them "
            "400 days",
            id="replica-deletes-sooner-than-source",
        ),
        pytest.param(
            {"media-lifecycle": {NONCURRENT: 30}},
            set(),
            "",
            id="replica-keeping-longer-is-fine",
        ),
    ],
)
def test_variants(
    prod_run: ProgramRun,
    shape: str,
    changes: dict[str, dict[str, Any]],
    expected: set[str],
    words: str,
) -> None:
    resources = list(prod_run.resources)
    for name, change in changes.items():
        resources = mutate(resources, name, change)
    loaded = shape_of(resources, shape)
    assert failing(RULE, loaded) == expected
    assert undecided(RULE, loaded) == set()
    for finding in findings(RULE, loaded):
        assert words in finding.message


def test_source_without_noncurrent_expiry_makes_any_replica_expiry_too_short(prod_run: ProgramRun) -> None:
    resources = mutate(
        prod_run.resources, "media-lifecycle", {"rules[0].noncurrentVersionExpiration": MISSING}
    )
    (finding,) = findings(RULE, resources)
    assert finding.urn.endswith("::media-replica")
    assert "keeps them forever" in finding.message


@pytest.mark.parametrize("shape", SHAPES)
def test_unknown_days_are_undecided_never_a_pass(prod_run: ProgramRun, shape: str) -> None:
    loaded = shape_of(
        mutate(prod_run.resources, "atlas-exports-lifecycle", {"rules[0].expiration": {"days": UNKNOWN}}),
        shape,
    )
    assert undecided(RULE, loaded) == {"atlas-exports"}
    assert failing(RULE, loaded) == set()
    assert levels(RULE, loaded, PROD) == {("atlas-exports", "advisory")}


def test_staging_window_is_a_week(staging_run: ProgramRun) -> None:
    week = mutate(staging_run.resources, "atlas-exports-lifecycle", {"rules[0].expiration": {"days": 7}})
    assert failing(RULE, week, STAGING) == set()
    # Held to prod's 395 days, staging's 30-day noncurrent expiry and 7-day lock fail on both buckets.
    assert failing(RULE, week, PROD) == {"atlas-exports", "atlas-exports-replica"}
    short = mutate(staging_run.resources, "atlas-exports-lifecycle", {"rules[0].expiration": {"days": 3}})
    assert levels(RULE, short, STAGING) == {("atlas-exports", "advisory")}


def test_deprecated_inline_lifecycle_rules() -> None:
    export = res(tokens.ATLAS_EXPORT_BUCKET, "target", {"bucketName": "acme-exports"})
    bucket = res(
        tokens.S3_BUCKET,
        "exports",
        {"bucket": "acme-exports", "lifecycleRules": [{"enabled": True, "expiration": {"days": 30}}]},
    )
    (finding,) = findings(RULE, [export, bucket])
    assert "expires current exports after 30 days" in finding.message
    v2 = res(
        tokens.S3_BUCKET_V2,
        "exports",
        {
            "bucket": "acme-exports",
            "lifecycleRules": [
                {"enabled": True, "id": "old", "noncurrentVersionExpirations": [{"days": 10}]}
            ],
        },
    )
    (finding,) = findings(RULE, [export, v2])
    assert "lifecycle rule `old` deletes an export for good 10 days after" in finding.message
    off = res(
        tokens.S3_BUCKET,
        "exports",
        {"bucket": "acme-exports", "lifecycleRules": [{"enabled": False, "expiration": {"days": 1}}]},
    )
    assert findings(RULE, [export, off]) == []


@pytest.mark.parametrize("shape", SHAPES)
def test_pulumi_aws_documented_lifecycle_example(shape: str) -> None:
    """The provider's 'bucket with versioning' example, with both buckets made Atlas export targets."""
    assert "bucket_lifecycle_configuration.py" in EXAMPLES["lifecycle_versioning_example"]
    loaded = shape_of(run_example("lifecycle_versioning_example").resources, shape)
    messages = {f.urn.rsplit("::", 1)[-1]: f.message for f in findings(RULE, loaded)}
    assert set(messages) == {"bucket", "versioning_bucket"}
    assert (
        "lifecycle rule `log` (objects under `log/` and tagged autoclean=true, rule=log) expires "
        "current exports after 90 days" in messages["bucket"]
    )
    assert (
        "lifecycle rule `tmp` (objects under `tmp/`) expires every current export on 2023-01-13T00:00:00Z"
        in messages["bucket"]
    )
    assert (
        "lifecycle rule `config` (objects under `config/`) deletes an export for good 90 days"
        in messages["versioning_bucket"]
    )
    assert "no Object Lock holds them" in messages["versioning_bucket"]


def test_the_read_settings_are_sdk_wire_names() -> None:
    import pulumi._types as pulumi_types
    import pulumi_aws

    def wire(cls: type) -> set[str]:
        return set(pulumi_types.input_type_py_to_pulumi_names(cls).values())

    s3 = pulumi_aws.s3
    assert {"expiration", "noncurrentVersionExpiration", "filter", "status", "id"} <= wire(
        s3.BucketLifecycleConfigurationRuleArgs
    )
    assert {"days", "date", "expiredObjectDeleteMarker"} <= wire(
        s3.BucketLifecycleConfigurationRuleExpirationArgs
    )
    assert "noncurrentDays" in wire(s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs)
    assert {"enabled", "expiration", "noncurrentVersionExpiration", "prefix"} <= wire(
        s3.BucketLifecycleRuleArgs
    )
    assert {"expirations", "noncurrentVersionExpirations"} <= wire(s3.BucketV2LifecycleRuleArgs)
    assert {"days", "years"} <= wire(s3.BucketObjectLockConfigurationRuleDefaultRetentionArgs)


@pytest.mark.parametrize("token_set", TOKEN_SETS)
def test_deprecated_token_aliases(prod_run: ProgramRun, token_set: str) -> None:
    """`BucketLifecycleConfigurationV2` and `BucketV2` read as the v7 tokens do."""
    resources = declared(prod_run, token_set)
    assert findings(RULE, resources) == []
    short = mutate(resources, "atlas-exports-lifecycle", {"rules[0].expiration": {"days": 30}})
    assert failing(RULE, short) == {"atlas-exports"}
