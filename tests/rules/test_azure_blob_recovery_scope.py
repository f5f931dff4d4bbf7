"""azure-blob-recovery-scope: container soft delete, versioning and a restore window soft delete can serve."""

from __future__ import annotations

from typing import Any

import pytest

from backstop.ground import tokens
from backstop.ground.resources import UNKNOWN
from backstop.policy.targets import PolicyTargets
from backstop.policy.values import MISSING
from backstop.program.mocks import ProgramRun
from tests.policy_support import SHAPES, failing, findings, levels, mutate, res, shape_of, undecided

RULE = "azure-blob-recovery-scope"
PROD = PolicyTargets.for_environment("prod")
STAGING = PolicyTargets.for_environment("staging")
ACCOUNT = "media-blobs"
SERVICE = "media-blobs-blob-service"


def test_shipped_stacks_pass(
    prod_run: ProgramRun, staging_run: ProgramRun, prod_preview_run: ProgramRun
) -> None:
    assert findings(RULE, prod_run.resources) == []
    assert findings(RULE, staging_run.resources, STAGING) == []
    assert findings(RULE, prod_preview_run.resources) == []


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(
    ("changes", "words"),
    [
        pytest.param(
            {"containerDeleteRetentionPolicy.enabled": False},
            "container soft delete (containerDeleteRetentionPolicy) is off: deleting a container deletes its "
            "blobs for good",
            id="container-soft-delete-off",
        ),
        pytest.param(
            {"containerDeleteRetentionPolicy": MISSING}, "container soft delete", id="container-unset"
        ),
        pytest.param(
            {"containerDeleteRetentionPolicy.days": 2},
            "container soft delete (containerDeleteRetentionPolicy) is 2 days",
            id="container-2-days",
        ),
        pytest.param(
            {"isVersioningEnabled": False},
            "blob versioning (isVersioningEnabled) is off",
            id="versioning-off",
        ),
        pytest.param(
            {"restorePolicy.days": 14},
            "point-in-time restore keeps 14 days but blob soft delete only 14: the restore window must be at "
            "least one day shorter",
            id="restore-equals-soft-delete",
        ),
        pytest.param(
            {"deleteRetentionPolicy.days": 5},
            "point-in-time restore keeps 7 days but blob soft delete only 5",
            id="soft-delete-shorter-than-restore",
        ),
        pytest.param(
            {"changeFeed.enabled": False},
            "point-in-time restore needs the change feed (changeFeed.enabled), which is off",
            id="restore-without-change-feed",
        ),
    ],
)
def test_variants(prod_run: ProgramRun, shape: str, changes: dict[str, Any], words: str) -> None:
    loaded = shape_of(mutate(prod_run.resources, SERVICE, changes), shape)
    assert failing(RULE, loaded) == {ACCOUNT}
    (finding,) = findings(RULE, loaded)
    assert words in finding.message


def test_restore_off_needs_no_change_feed(prod_run: ProgramRun) -> None:
    changes = {"restorePolicy.enabled": False, "changeFeed.enabled": False}
    assert findings(RULE, mutate(prod_run.resources, SERVICE, changes)) == []


@pytest.mark.parametrize("shape", SHAPES)
def test_unknown_is_undecided(prod_run: ProgramRun, shape: str) -> None:
    loaded = shape_of(mutate(prod_run.resources, SERVICE, {"isVersioningEnabled": UNKNOWN}), shape)
    assert undecided(RULE, loaded) == {ACCOUNT}
    assert levels(RULE, loaded, PROD) == {(ACCOUNT, "advisory")}


CLASSIC_OK = {
    "deleteRetentionPolicy": {"days": 14},
    "containerDeleteRetentionPolicy": {"days": 14},
    "versioningEnabled": True,
    "changeFeedEnabled": True,
    "restorePolicy": {"days": 7},
}


@pytest.mark.parametrize(
    ("blob", "words"),
    [
        pytest.param(CLASSIC_OK, "", id="ok"),
        pytest.param(
            {**CLASSIC_OK, "containerDeleteRetentionPolicy": MISSING},
            "container soft delete (blobProperties.containerDeleteRetentionPolicy) is off",
            id="no-container-block",
        ),
        pytest.param(
            {**CLASSIC_OK, "containerDeleteRetentionPolicy": {}, "restorePolicy": MISSING},
            "",
            id="container-block-defaults-to-7-days",
        ),
        pytest.param(
            {**CLASSIC_OK, "versioningEnabled": False},
            "blob versioning (blobProperties.versioningEnabled) is off",
            id="versioning-off",
        ),
        pytest.param(
            {**CLASSIC_OK, "deleteRetentionPolicy": {}},
            "point-in-time restore keeps 7 days but blob soft delete only 7",
            id="default-soft-delete-7-equals-restore-7",
        ),
        pytest.param(
            {**CLASSIC_OK, "changeFeedEnabled": False},
            "needs the change feed (blobProperties.changeFeedEnabled)",
            id="no-change-feed",
        ),
    ],
)
def test_classic_account(blob: dict[str, Any], words: str) -> None:
    props = {k: v for k, v in blob.items() if v is not MISSING}
    account = res(tokens.AZC_STORAGE_ACCOUNT, "media", {"name": "media", "blobProperties": props})
    found = findings(RULE, [account])
    if not words:
        assert found == []
    else:
        (finding,) = found
        assert words in finding.message


def test_the_read_settings_are_sdk_wire_names() -> None:
    import pulumi._types as pulumi_types
    import pulumi_azure
    from pulumi_azure_native import storage

    def wire(cls: type) -> set[str]:
        return set(pulumi_types.input_type_py_to_pulumi_names(cls).values())

    assert {"containerDeleteRetentionPolicy", "isVersioningEnabled", "changeFeed", "restorePolicy"} <= wire(
        storage.BlobServicePropertiesArgs
    )
    assert {
        "containerDeleteRetentionPolicy",
        "versioningEnabled",
        "changeFeedEnabled",
        "restorePolicy",
    } <= wire(pulumi_azure.storage.AccountBlobPropertiesArgs)
