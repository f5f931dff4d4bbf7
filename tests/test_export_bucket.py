"""The Atlas export bucket is finished before Atlas writes into it, and accepts Atlas's uploads.

Registering an export bucket and enabling exports make Atlas upload `/exported_snapshots/.permissioncheck`
(Atlas docs, "How Atlas Exports Snapshots"); both wait explicitly for the bucket's Object Lock, encryption,
policy and other settings so the first `pulumi up` has no race. S3 refuses an upload without a Content-MD5
or checksum header into a bucket with a default retention, so only the replica has one by default.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pulumi
import pytest

from backstop.ground import tokens
from tests.test_program import MockedStack, _checked, mock_stack


@pytest.fixture(params=["prod", "staging"])
def mocked(request: pytest.FixtureRequest) -> Iterator[MockedStack]:
    yield from _checked(mock_stack(request.param))


@pulumi.runtime.test
def test_export_registration_and_settings_wait_for_the_finished_bucket(mocked: MockedStack) -> Any:
    posture = mocked.posture
    source = posture.exports.source

    @mocked.check
    def check(v: dict[str, Any]) -> None:
        settings = {v["lock"], v["sse"], v["policy"], v["block"], v["versioning"], v["lifecycle"]}
        registration = mocked.reg(v["registration"])
        assert settings | {v["replication"]} <= set(registration.dependencies)
        [schedule_urn] = v["schedules"]
        schedule = mocked.reg(schedule_urn)
        assert settings | {v["replication"], v["registration"]} <= set(schedule.dependencies)
        # The media bucket is not what Atlas writes into: nothing of it is waited for.
        assert not set(v["media"]) & set(registration.dependencies)
        assert mocked.reg(v["lock"]).type == tokens.S3_OBJECT_LOCK

    assert source.object_lock is not None
    return pulumi.Output.all(
        registration=posture.atlas.export_bucket.urn,
        schedules=pulumi.Output.all(*[s.urn for s in posture.atlas.schedules.values()]),
        lock=source.object_lock.urn,
        sse=source.encryption.urn,
        policy=source.tls_only_policy.urn,
        block=source.public_access_block.urn,
        versioning=source.versioning.urn,
        lifecycle=source.lifecycle.urn,
        replication=posture.exports.replication.urn,
        media=pulumi.Output.all(*[r.urn for r in posture.media.source.settings()]),
    ).apply(check)


@pytest.fixture
def prod_with_source_retention() -> Iterator[MockedStack]:
    stack = mock_stack("prod")
    aws_section = stack.cfg.aws.model_dump(by_alias=True)
    aws_section["exportObjectLock"]["sourceDefaultRetention"] = True
    yield from _checked(mock_stack("prod", {"backstop:aws": json.dumps(aws_section)}))


@pulumi.runtime.test
def test_source_default_retention_is_an_explicit_choice(prod_with_source_retention: MockedStack) -> Any:
    mocked = prod_with_source_retention
    posture = mocked.posture
    assert mocked.cfg.aws.export_object_lock.source_default_retention is True

    @mocked.check
    def check(v: dict[str, Any]) -> None:
        for urn in (v["source"], v["target"]):
            lock = mocked.reg(urn).inputs
            assert lock["rule"] == {"defaultRetention": {"mode": "COMPLIANCE", "days": 400.0}}

    assert posture.exports.source.object_lock is not None and posture.exports.target.object_lock is not None
    return pulumi.Output.all(
        source=posture.exports.source.object_lock.urn, target=posture.exports.target.object_lock.urn
    ).apply(check)
