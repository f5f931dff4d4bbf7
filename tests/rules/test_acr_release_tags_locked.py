"""acr-release-tags-locked: a registry that purges untagged manifests keeps prior releases only where release
images are locked, which no Pulumi resource declares: unknown (never a pass) until attested."""

from __future__ import annotations

from typing import Any

import pytest

from backstop.ground import tokens
from backstop.ground.resources import UNKNOWN
from backstop.policy.targets import PolicyTargets
from backstop.program.mocks import ProgramRun
from tests.policy_support import SHAPES, failing, findings, levels, mutate, res, shape_of, undecided

RULE = "acr-release-tags-locked"
PROD = PolicyTargets.for_environment("prod")
STAGING = PolicyTargets.for_environment("staging")
ATTESTED = PolicyTargets.for_environment("prod", release_tags_locked=True)
REGISTRY = "images"


def test_the_shipped_prod_registry_purges_untagged_manifests_so_prior_releases_are_unproven(
    prod_run: ProgramRun, staging_run: ProgramRun
) -> None:
    """Prod keeps untagged manifests 30 days; staging has no retention policy, so nothing is purged."""
    assert undecided(RULE, prod_run.resources) == {REGISTRY}
    assert failing(RULE, prod_run.resources) == set()
    assert levels(RULE, prod_run.resources, PROD) == {(REGISTRY, "advisory")}
    strict = PolicyTargets.for_environment("prod", unknown_is_violation=True)
    assert levels(RULE, prod_run.resources, strict) == {(REGISTRY, "mandatory")}
    (finding,) = findings(RULE, prod_run.resources)
    assert finding.message.startswith("untagged manifests are purged after 30 days, and a release tag")
    assert undecided(RULE, staging_run.resources, STAGING) == set() == failing(RULE, staging_run.resources)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(
    ("changes", "targets", "expected"),
    [
        pytest.param({}, PROD, {REGISTRY}, id="purge-on"),
        pytest.param({}, ATTESTED, set(), id="purge-on-tags-locked-attested"),
        pytest.param({"policies.retentionPolicy.status": "disabled"}, PROD, set(), id="purge-off"),
        pytest.param({"policies.retentionPolicy.status": UNKNOWN}, PROD, {REGISTRY}, id="status-unknown"),
    ],
)
def test_variants(
    prod_run: ProgramRun, shape: str, changes: dict[str, Any], targets: PolicyTargets, expected: set[str]
) -> None:
    loaded = shape_of(mutate(prod_run.resources, REGISTRY, changes), shape)
    assert undecided(RULE, loaded, targets) == expected
    assert failing(RULE, loaded, targets) == set()


def test_classic_registry_retention_days() -> None:
    purging = res(tokens.AZC_REGISTRY, "purging", {"sku": "Premium", "retentionPolicyInDays": 7})
    keeping = res(tokens.AZC_REGISTRY, "keeping", {"sku": "Premium"})
    assert undecided(RULE, [purging, keeping]) == {"purging"}


def test_tag_locking_is_not_declarable_in_the_installed_sdks() -> None:
    """Why the rule cannot look for the lock: neither SDK's registry has a tag, repository or manifest
    lock property (ACR sets `writeEnabled`/`deleteEnabled` per image on its data plane)."""
    import pulumi_azure
    import pulumi_azure_native

    native = set(pulumi_azure_native.containerregistry.RegistryArgs.__init__.__code__.co_varnames)
    classic = set(pulumi_azure.containerservice.RegistryArgs.__init__.__code__.co_varnames)
    policies = set(pulumi_azure_native.containerregistry.PoliciesArgs.__init__.__code__.co_varnames)
    for names in (native, classic, policies):
        assert not {n for n in names if "lock" in n or "write_enabled" in n or "immutab" in n}
    assert "retention_policy" in policies
