"""backup-resources-protected: in prod, keys, export buckets (+ replicas), schedules and the compliance
policy carry `protect`; staging targets turn the requirement off."""

from __future__ import annotations

import pytest

from backstop.ground import tokens
from backstop.ground.resources import UNKNOWN, Resource
from backstop.policy.targets import PolicyTargets
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
    without_dependencies,
)

RULE = "backup-resources-protected"
PROD = PolicyTargets.for_environment("prod")
STAGING = PolicyTargets.for_environment("staging")
PROD_CRITICAL = {
    "backup-key-key",
    "backup-key-replica",
    "atlas-exports",
    "atlas-exports-replica",
    "atlas-cartie-prod-backup-schedule",
    "atlas-backup-compliance-policy",
}


def _unprotect(resources: list[Resource], *names: str) -> list[Resource]:
    for name in names:
        resources = mutate(resources, name, {}, protect=False)
    return resources


def test_shipped_stacks_pass(prod_run: ProgramRun, staging_run: ProgramRun) -> None:
    assert failing(RULE, prod_run.resources) == set()
    assert undecided(RULE, prod_run.resources) == set()
    assert findings(RULE, staging_run.resources, STAGING) == []


def test_prod_targets_on_staging_name_every_backup_critical_resource(staging_run: ProgramRun) -> None:
    # Staging declares no Backup Compliance Policy; everything else backup-critical is there, unprotected.
    assert failing(RULE, staging_run.resources, PROD) == {
        "backup-key-key",
        "backup-key-replica",
        "atlas-exports",
        "atlas-exports-replica",
        "atlas-cartie-staging-backup-schedule",
    }


@pytest.mark.parametrize("token_set", TOKEN_SETS)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("name", sorted(PROD_CRITICAL))
def test_each_unprotected_critical_resource_fails_alone(
    prod_run: ProgramRun, token_set: str, shape: str, name: str
) -> None:
    loaded = shape_of(_unprotect(declared(prod_run, token_set), name), shape)
    assert failing(RULE, loaded) == {name}
    assert undecided(RULE, loaded) == set()


@pytest.mark.parametrize("shape", SHAPES)
def test_buckets_that_hold_no_exports_need_no_protect(prod_run: ProgramRun, shape: str) -> None:
    loaded = shape_of(_unprotect(prod_run.resources, "media", "media-replica"), shape)
    assert failing(RULE, loaded) == set()


def test_message_says_what_the_resource_is(prod_run: ProgramRun) -> None:
    (finding,) = findings(RULE, _unprotect(prod_run.resources, "atlas-exports-replica"))
    assert "export bucket" in finding.message and "not protected" in finding.message


def test_export_bucket_found_by_bucket_name_without_dependencies(prod_run: ProgramRun) -> None:
    resources = without_dependencies(_unprotect(prod_run.resources, "atlas-exports", "atlas-exports-replica"))
    assert failing(RULE, resources) == {"atlas-exports", "atlas-exports-replica"}


def test_replica_reached_through_an_unknown_destination_by_dependencies(prod_run: ProgramRun) -> None:
    resources = mutate(
        _unprotect(prod_run.resources, "atlas-exports-replica"),
        "atlas-exports-replication",
        {"rules[0].destination.bucket": UNKNOWN},
    )
    assert failing(RULE, resources) == {"atlas-exports-replica"}


def test_protect_requirement_is_a_tunable(prod_run: ProgramRun) -> None:
    resources = _unprotect(prod_run.resources, *PROD_CRITICAL)
    assert failing(RULE, resources) == PROD_CRITICAL
    relaxed = PolicyTargets.for_environment("prod", require_protect=False)
    assert findings(RULE, resources, relaxed) == []


def test_unknown_export_target_is_undecided_while_an_unprotected_bucket_could_be_it() -> None:
    unknown_target = res(tokens.ATLAS_EXPORT_BUCKET, "export", {"bucketName": UNKNOWN})
    protected = res(tokens.S3_BUCKET, "exports", {"bucket": "acme-exports"}, protect=True)
    unprotected = res(tokens.S3_BUCKET, "scratch", {"bucket": "acme-scratch"})
    assert undecided(RULE, [unknown_target, protected, unprotected]) == {"export"}
    assert failing(RULE, [unknown_target, protected, unprotected]) == set()
    assert findings(RULE, [unknown_target, protected]) == []
    strict = PolicyTargets.for_environment("prod", unknown_is_violation=True)
    assert levels(RULE, [unknown_target, protected, unprotected], strict) == {("export", "mandatory")}
    assert levels(RULE, [unknown_target, protected, unprotected], PROD) == {("export", "advisory")}


def test_first_preview(prod_preview_run: ProgramRun) -> None:
    for loaded in shapes(prod_preview_run.resources).values():
        assert failing(RULE, loaded) == set()
        assert undecided(RULE, loaded) == set()
    # The replica's ARN is unknown; the replication's dependencies still lead to it.
    assert failing(RULE, _unprotect(prod_preview_run.resources, "atlas-exports-replica")) == {
        "atlas-exports-replica"
    }
    # Without them the replica cannot be found, and an unprotected bucket (media) might be it.
    stripped = without_dependencies(prod_preview_run.resources)
    assert undecided(RULE, stripped) == {"atlas-exports"}
    assert failing(RULE, stripped) == set()


def test_staging_targets_make_violations_advisory(staging_run: ProgramRun) -> None:
    required = PolicyTargets.for_environment("staging", require_protect=True)
    assert levels(RULE, staging_run.resources, required) == {
        (name, "advisory")
        for name in (
            "backup-key-key",
            "backup-key-replica",
            "atlas-exports",
            "atlas-exports-replica",
            "atlas-cartie-staging-backup-schedule",
        )
    }


def test_export_bucket_with_a_computed_name_is_still_found(prod_preview_run: ProgramRun) -> None:
    unnamed = mutate(
        _unprotect(prod_preview_run.resources, "atlas-exports"), "atlas-exports", {"bucket": UNKNOWN}
    )
    assert failing(RULE, unnamed) == {"atlas-exports"}
