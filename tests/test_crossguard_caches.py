"""What the pack keeps between calls, and that keeping it changes no answer.

It validates a policy's config with `PolicyTargets` once per (config, stack), not on every `Analyze`: the
same targets come back for the same config, a changed config is validated afresh, and a bad config is
refused on every call, never remembered as good. Its stack policies share one `StackView` while the
resources are equal, and its fast unwrapping of the SDK's proxies gives what `serialize_properties` gives.
"""

from __future__ import annotations

import pulumi
import pytest
from pulumi_policy.deserialize import serialize_properties
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, unknown_checking_proxy

from backstop.ground import tokens
from backstop.policy.core import load_rules
from backstop.policy.crossguard import _plain_props, _shared_view, _TargetsCache
from backstop.policy.targets import PolicyConfigError
from tests.policy_support import mutate, res


def test_targets_are_validated_once_per_config_and_stack() -> None:
    rule = load_rules().get("azure-blob-soft-delete")
    targets_of = _TargetsCache(rule, {})
    first = targets_of({"minBlobSoftDeleteDays": 14}, "prod")
    assert first.min_blob_soft_delete_days == 14
    assert targets_of({"minBlobSoftDeleteDays": 14}, "prod") is first
    assert len(targets_of.kept) == 1
    # Another value, or a staging stack, is validated on its own.
    assert targets_of({"minBlobSoftDeleteDays": 30}, "prod").min_blob_soft_delete_days == 30
    staging = targets_of({}, "staging")
    assert staging.environment == "staging"
    assert targets_of({}, "prod").environment == "prod"
    assert len(targets_of.kept) == 4


def test_a_bad_config_is_refused_every_time() -> None:
    rule = load_rules().get("azure-blob-soft-delete")
    targets_of = _TargetsCache(rule, {})
    for _ in range(2):
        with pytest.raises(PolicyConfigError, match="minBlobSoftDeleteDays"):
            targets_of({"minBlobSoftDeleteDays": 0}, "prod")
    assert targets_of.kept == {}


def test_the_cache_stays_bounded() -> None:
    rule = load_rules().get("azure-blob-soft-delete")
    targets_of = _TargetsCache(rule, {})
    for days in range(1, _TargetsCache.LIMIT + 10):
        assert targets_of({"minBlobSoftDeleteDays": days}, "prod").min_blob_soft_delete_days == days
    assert len(targets_of.kept) <= _TargetsCache.LIMIT


def test_stack_policies_share_one_view_while_the_resources_are_equal() -> None:
    resources = [
        res(tokens.S3_BUCKET, "exports", {"bucket": "acme-exports"}),
        res(tokens.S3_VERSIONING, "exports-versioning", {"bucket": "acme-exports"}),
    ]
    view = _shared_view(resources)
    assert _shared_view(list(resources)) is view  # another policy's equal copy
    changed = mutate(resources, "exports", {"bucket": "acme-other"})
    other = _shared_view(changed)
    assert other is not view
    assert other.bucket_settings(other.of(tokens.S3_BUCKET)[0], tokens.S3_VERSIONINGS) == ([], False)


def test_unwrapping_the_proxy_gives_what_serialize_properties_gives() -> None:
    props = {
        "bucket": "acme",
        "count": 3.0,
        "enabled": True,
        "missing": None,
        "region": UNKNOWN_STRING_VALUE,
        "rules": [{"status": "Enabled", "destination": {"bucket": UNKNOWN_STRING_VALUE}}, [1, "x"]],
        "tags": {"team": "platform"},
    }
    proxy = unknown_checking_proxy(props)
    assert _plain_props(proxy) == dict(serialize_properties(proxy)) == props
    with_asset = unknown_checking_proxy({"code": pulumi.StringAsset("print(1)"), "name": "f"})
    assert _plain_props(with_asset) == dict(serialize_properties(with_asset))
