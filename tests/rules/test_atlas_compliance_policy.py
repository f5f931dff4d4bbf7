"""atlas-compliance-policy: a Backup Compliance Policy floor per prod project, and none in staging."""

from __future__ import annotations

from typing import Any

import pytest

from backstop.ground import tokens
from backstop.ground.resources import UNKNOWN
from backstop.policy.targets import PolicyTargets
from backstop.policy.values import MISSING
from tests.policy_support import (
    SHAPES,
    failing,
    findings,
    levels,
    mutate,
    named,
    res,
    shape_of,
    undecided,
    without,
)

RULE = "atlas-compliance-policy"
PROJECT = "atlas-project"
CLUSTER = "atlas-cartie-prod"
POLICY = "atlas-backup-compliance-policy"
PROD = PolicyTargets.for_environment("prod")
STAGING = PolicyTargets.for_environment("staging")


def test_environments_set_the_expectation() -> None:
    assert PROD.compliance_policy == "required"
    assert STAGING.compliance_policy == "forbidden"


def test_shipped_stacks_pass(prod_run: Any, staging_run: Any, prod_preview_run: Any) -> None:
    assert failing(RULE, prod_run.resources, PROD) == set()
    assert failing(RULE, staging_run.resources, STAGING) == set()
    assert findings(RULE, prod_preview_run.resources, PROD) == []


@pytest.mark.parametrize("shape", SHAPES)
def test_prod_project_without_a_policy_fails(prod_run: Any, shape: str) -> None:
    resources = shape_of(without(prod_run.resources, POLICY), shape)
    assert failing(RULE, resources) == {PROJECT}


@pytest.mark.parametrize("shape", SHAPES)
def test_a_policy_of_another_project_does_not_count(prod_run: Any, shape: str) -> None:
    elsewhere = mutate(
        prod_run.resources, POLICY, {"projectId": "5f00000000000000000000ff"}, property_dependencies={}
    )
    assert failing(RULE, shape_of(elsewhere, shape)) == {PROJECT}


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(
    "changes",
    [
        {"pitEnabled": False},
        {"encryptionAtRestEnabled": MISSING},
        {"copyProtectionEnabled": False},
    ],
    ids=["pit-off", "encryption-unset", "copy-protection-off"],
)
def test_the_floor_locks_pit_encryption_and_copies(
    prod_run: Any, shape: str, changes: dict[str, Any]
) -> None:
    resources = shape_of(mutate(prod_run.resources, POLICY, changes), shape)
    assert failing(RULE, resources) == {POLICY}


@pytest.mark.parametrize("shape", SHAPES)
def test_staging_flags_a_policy_it_declares(staging_run: Any, prod_run: Any, shape: str) -> None:
    project = named(staging_run.resources, PROJECT)
    policy = named(prod_run.resources, POLICY)
    staged = res(
        tokens.ATLAS_COMPLIANCE_POLICY,
        "staging-floor",
        {**policy.props, "projectId": project.id},
        stack="staging",
        parent_type=tokens.COMPONENT_ATLAS,
    )
    resources = shape_of([*staging_run.resources, staged], shape)
    assert failing(RULE, resources, STAGING) == {"staging-floor"}
    [finding] = findings(RULE, resources, STAGING)
    assert "it would block restore drills and teardown" in finding.message


def test_allowed_checks_nothing(prod_run: Any) -> None:
    allowed = PROD.with_config({"compliancePolicy": "allowed"})
    assert findings(RULE, without(prod_run.resources, POLICY), allowed) == []


def test_a_project_declared_elsewhere_names_its_clusters(prod_run: Any) -> None:
    assert failing(RULE, without(prod_run.resources, PROJECT, POLICY)) == {CLUSTER}


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(
    ("changes", "fields", "expected"),
    [
        ({"pitEnabled": UNKNOWN}, {}, POLICY),
        ({"projectId": UNKNOWN}, {"property_dependencies": {}}, PROJECT),
    ],
    ids=["pit-flag", "policy-project"],
)
def test_unknowns_are_undecided(
    prod_run: Any, shape: str, changes: dict[str, Any], fields: dict[str, Any], expected: str
) -> None:
    resources = shape_of(mutate(prod_run.resources, POLICY, changes, **fields), shape)
    assert undecided(RULE, resources) == {expected}
    assert failing(RULE, resources) == set()
    assert levels(RULE, resources, PolicyTargets.for_environment("prod", unknown_is_violation=True)) == {
        (expected, "mandatory")
    }


def test_staging_targets_make_it_advisory(prod_run: Any) -> None:
    # checking the prod posture with staging targets: its compliance policy is flagged, as advisory
    assert levels(RULE, prod_run.resources, STAGING) == {(POLICY, "advisory")}
    assert levels(RULE, without(prod_run.resources, POLICY), PROD) == {(PROJECT, "mandatory")}


def test_cluster_with_unknown_project_is_undecided(prod_run: Any) -> None:
    resources = mutate(prod_run.resources, CLUSTER, {"projectId": UNKNOWN}, property_dependencies={})
    assert undecided(RULE, resources) == {CLUSTER}
    assert failing(RULE, resources) == set()
