"""The drill stack's inline program under the Pulumi SDK's mocks: what a drill cluster may and may not be."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pulumi
from pulumi.runtime import mocks as pulumi_mocks

from backstop.ground import tokens
from backstop.ground.resources import SECRET_SIG, SECRET_SIG_KEY
from backstop.program.ephemeral import DrillClusterSpec, drill_program
from backstop.program.mocks import run_with_mocks
from backstop.restore.stacks import created_from_name, stack_name_for

EXPIRES = datetime(2026, 5, 18, 9, 0, tzinfo=UTC)
SPEC = DrillClusterSpec(
    project_id="6a0000000000000000000002",
    cluster_name="drill-20260518-030000-abcdef",
    instance_size="M10",
    region="US_EAST_1",
    expires_at=EXPIRES,
    source_cluster="cartie-prod",
    drill_id="abcdef",
    mongo_db_major_version="8.0",
    database_username="backstop-drill-abcdef",
    database_password="correct-horse-battery-staple",
)
USER = tokens.ATLAS_DATABASE_USER


class _RawInputs(pulumi.runtime.Mocks):
    """Keeps the inputs exactly as the engine receives them, secret envelopes included."""

    def __init__(self) -> None:
        self.inputs: dict[str, dict[str, Any]] = {}

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        self.inputs[args.typ] = dict(args.inputs)
        return f"{args.name}_id", dict(args.inputs)

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], None]:
        return {}, None


def test_the_drill_cluster_is_throwaway_tagged_with_its_expiry_and_in_the_staging_project() -> None:
    run = run_with_mocks(drill_program(SPEC), stack=SPEC.cluster_name)
    by_type = {r.type: r for r in run.resources}
    assert set(by_type) == {tokens.ATLAS_ADVANCED_CLUSTER, USER}
    cluster = by_type[tokens.ATLAS_ADVANCED_CLUSTER].props
    assert cluster["projectId"] == "6a0000000000000000000002"
    assert cluster["tags"] == {
        "purpose": "restore-drill",
        "drill-id": "abcdef",
        "source-cluster": "cartie-prod",
        "expires-at": "2026-05-18T09:00:00+00:00",
    }
    assert (cluster["backupEnabled"], cluster["pitEnabled"], cluster["terminationProtectionEnabled"]) == (
        False,
        False,
        False,
    )
    assert cluster["deleteOnCreateTimeout"] is True
    assert cluster["replicationSpecs"][0]["regionConfigs"][0]["electableSpecs"] == {
        "instanceSize": "M10",
        "nodeCount": 3.0,
    }
    user = by_type[USER]
    assert user.props["scopes"] == [{"name": SPEC.cluster_name, "type": "CLUSTER"}]
    assert user.props["roles"] == [{"roleName": "readAnyDatabase", "databaseName": "admin"}]
    assert by_type[tokens.ATLAS_ADVANCED_CLUSTER].urn in user.dependencies


def test_the_database_password_reaches_the_engine_only_as_a_secret() -> None:
    mocks = _RawInputs()
    pulumi.runtime.settings.reset_options(project="backstop-drill", stack=SPEC.cluster_name)
    pulumi.runtime.set_mocks(mocks, project="backstop-drill", stack=SPEC.cluster_name)
    pulumi_mocks.test(drill_program(SPEC))()
    password = mocks.inputs[USER]["password"]
    assert password == {SECRET_SIG_KEY: SECRET_SIG, "value": "correct-horse-battery-staple"}
    assert "correct-horse" not in repr(SPEC)


def test_without_credentials_no_database_user_is_declared() -> None:
    spec = DrillClusterSpec(**{**SPEC.__dict__, "database_username": None, "database_password": None})
    run = run_with_mocks(drill_program(spec), stack=spec.cluster_name)
    assert [r.type for r in run.resources] == [tokens.ATLAS_ADVANCED_CLUSTER]


def test_stack_names_carry_their_creation_time() -> None:
    name = stack_name_for(datetime(2026, 5, 18, 3, 0, 1, tzinfo=UTC), "abc123")
    assert name == "drill-20260518-030001-abc123"
    assert created_from_name(name) == datetime(2026, 5, 18, 3, 0, 1, tzinfo=UTC)
    assert created_from_name("org/backstop-drill/" + name) == datetime(2026, 5, 18, 3, 0, 1, tzinfo=UTC)
    assert created_from_name("drill-by-hand") is None
