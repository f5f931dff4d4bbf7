"""atlas-encryption-at-rest: clusters use the customer key their project's EncryptionAtRest sets."""

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

RULE = "atlas-encryption-at-rest"
CLUSTER = "atlas-cartie-prod"
EAR = "atlas-encryption-at-rest"
KEY_ID = "awsKmsConfig.customerMasterKeyId"
PROD = PolicyTargets.for_environment("prod")
PROJECT_ID = "5f0000000000000000000001"


def test_shipped_stacks_pass(prod_run: Any, staging_run: Any) -> None:
    assert failing(RULE, prod_run.resources) == set()
    assert failing(RULE, staging_run.resources, PolicyTargets.for_environment("staging")) == set()


def test_first_preview_passes_through_the_engine_dependency_on_the_kms_key(prod_preview_run: Any) -> None:
    ear = named(prod_preview_run.resources, EAR)
    assert ear.props["awsKmsConfig"]["customerMasterKeyId"] is UNKNOWN  # computed from the new KMS key
    assert findings(RULE, prod_preview_run.resources) == []


CLUSTER_CASES = [
    ("provider-none", {"encryptionAtRestProvider": "NONE"}),
    ("provider-unset", {"encryptionAtRestProvider": MISSING}),
    ("provider-azure-not-accepted", {"encryptionAtRestProvider": "AZURE"}),
]
EAR_CASES = [
    ("kms-disabled", {"awsKmsConfig.enabled": False}),
    ("kms-enabled-unset", {"awsKmsConfig.enabled": MISSING}),
    ("no-key-id", {KEY_ID: MISSING}),
    ("blank-key-id", {KEY_ID: " "}),
    ("no-kms-config", {"awsKmsConfig": MISSING}),
]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(
    ("name", "changes"),
    [(CLUSTER, c[1]) for c in CLUSTER_CASES] + [(EAR, c[1]) for c in EAR_CASES],
    ids=[c[0] for c in CLUSTER_CASES + EAR_CASES],
)
def test_the_resource_at_fault_fails(prod_run: Any, shape: str, name: str, changes: dict[str, Any]) -> None:
    assert failing(RULE, shape_of(mutate(prod_run.resources, name, changes), shape)) == {name}


@pytest.mark.parametrize("shape", SHAPES)
def test_project_without_encryption_at_rest_fails_the_cluster(prod_run: Any, shape: str) -> None:
    resources = shape_of(without(prod_run.resources, EAR), shape)
    assert failing(RULE, resources) == {CLUSTER}
    [finding] = findings(RULE, resources)
    assert finding.message == "its project has no EncryptionAtRest resource configuring a customer AWS key"


@pytest.mark.parametrize("shape", SHAPES)
def test_encryption_at_rest_of_another_project_does_not_count(prod_run: Any, shape: str) -> None:
    elsewhere = mutate(
        prod_run.resources, EAR, {"projectId": "5f00000000000000000000ff"}, property_dependencies={}
    )
    assert failing(RULE, shape_of(elsewhere, shape)) == {CLUSTER}


def test_accepted_providers_are_tunable() -> None:
    project = {"projectId": PROJECT_ID}
    azure_key = {
        "enabled": True,
        "keyIdentifier": "https://vault.vault.azure.net/keys/atlas/1",
        "keyVaultName": "v",
    }
    stack = [
        res(tokens.ATLAS_ADVANCED_CLUSTER, "on-azure", {"encryptionAtRestProvider": "AZURE", **project}),
        res(tokens.ATLAS_ENCRYPTION_AT_REST, "azure-key", {"azureKeyVaultConfig": azure_key, **project}),
    ]
    assert failing(RULE, stack) == {"on-azure"}  # the seed's AWS KMS keys only, by default
    azure = PolicyTargets.for_environment("prod").with_config({"encryptionAtRestProviders": ["AWS", "AZURE"]})
    assert failing(RULE, stack, azure) == set()
    no_key = [
        stack[0],
        res(
            tokens.ATLAS_ENCRYPTION_AT_REST,
            "azure-key",
            {"azureKeyVaultConfig": {"enabled": True}, **project},
        ),
    ]
    assert failing(RULE, no_key, azure) == {"azure-key"}


@pytest.mark.parametrize("shape", SHAPES)
def test_legacy_cluster_joins_its_project_by_value(shape: str) -> None:
    project = {"projectId": PROJECT_ID}
    key = {"enabled": True, "customerMasterKeyId": "mrk-1234", "region": "US_EAST_1"}
    stack = [
        res(tokens.ATLAS_LEGACY_CLUSTER, "legacy-ok", {"encryptionAtRestProvider": "AWS", **project}),
        res(
            tokens.ATLAS_LEGACY_CLUSTER,
            "legacy-other-project",
            {"encryptionAtRestProvider": "AWS", "projectId": "x"},
        ),
        res(tokens.ATLAS_ENCRYPTION_AT_REST, "key", {"awsKmsConfig": key, **project}),
    ]
    assert failing(RULE, shape_of(stack, shape)) == {"legacy-other-project"}


def test_one_finding_per_encryption_resource_however_many_clusters(prod_run: Any) -> None:
    second = res(
        tokens.ATLAS_ADVANCED_CLUSTER,
        "second-cluster",
        {"encryptionAtRestProvider": "AWS", "projectId": named(prod_run.resources, "atlas-project").id},
    )
    broken = mutate([*prod_run.resources, second], EAR, {"awsKmsConfig.enabled": False})
    assert [f.urn.split("::")[-1] for f in findings(RULE, broken)] == [EAR]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(
    ("name", "changes", "fields"),
    [
        (CLUSTER, {"encryptionAtRestProvider": UNKNOWN}, {}),
        (EAR, {KEY_ID: UNKNOWN}, {"property_dependencies": {}}),  # no dependency on a KMS key to trust
        (EAR, {"awsKmsConfig.enabled": UNKNOWN}, {}),
    ],
    ids=["provider", "key-id-without-dependency", "enabled"],
)
def test_unknowns_are_undecided(
    prod_run: Any, shape: str, name: str, changes: dict[str, Any], fields: dict[str, Any]
) -> None:
    resources = shape_of(mutate(prod_run.resources, name, changes, **fields), shape)
    assert undecided(RULE, resources) == {name}
    assert failing(RULE, resources) == set()
    assert levels(RULE, resources, PolicyTargets.for_environment("prod", unknown_is_violation=True)) == {
        (name, "mandatory")
    }


def test_encryption_at_rest_with_unknown_project_is_undecided(prod_run: Any) -> None:
    resources = mutate(prod_run.resources, EAR, {"projectId": UNKNOWN}, property_dependencies={})
    assert undecided(RULE, resources) == {CLUSTER}
    assert failing(RULE, resources) == set()


def test_staging_targets_make_it_advisory(staging_run: Any) -> None:
    broken = mutate(staging_run.resources, "atlas-cartie-staging", {"encryptionAtRestProvider": "NONE"})
    assert levels(RULE, broken, PolicyTargets.for_environment("staging")) == {
        ("atlas-cartie-staging", "advisory")
    }
    assert levels(RULE, broken, PROD) == {("atlas-cartie-staging", "mandatory")}
