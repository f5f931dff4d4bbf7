"""atlas-restore-target-not-prod: "NEVER restore directly over production" — restore jobs target staging."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pulumi
import pulumi_mongodbatlas as mongodbatlas
import pytest

from backstop.ground import tokens
from backstop.ground.resources import UNKNOWN
from backstop.policy.targets import PolicyTargets, prod_inventory
from backstop.program.mocks import ProgramRun, run_with_mocks
from tests.policy_support import SHAPES, failing, findings, levels, mutate, named, res, shape_of, undecided

RULE = "atlas-restore-target-not-prod"
SNAPSHOT_JOB = "restore"
COLLECTION_JOB = "restore-collection"
BOTH = {SNAPSHOT_JOB, COLLECTION_JOB}


def restore_program(
    target_cluster: Callable[[mongodbatlas.AdvancedCluster], pulumi.Input[str]],
    target_project: Callable[[mongodbatlas.Project], pulumi.Input[str]],
    project_name: str = "cartie-staging",
) -> Callable[[], None]:
    """A drill-shaped program: a project, a fresh cluster, and a snapshot and a collection restore of prod."""

    def program() -> None:
        project = mongodbatlas.Project("drill-project", org_id="5f0a1b2c3d4e5f6a7b8c9d0e", name=project_name)
        cluster = mongodbatlas.AdvancedCluster(
            "drill-cluster",
            project_id=project.id,
            name="drill-20260518",
            cluster_type="REPLICASET",
            backup_enabled=False,
            replication_specs=[
                {
                    "region_configs": [
                        {
                            "provider_name": "AWS",
                            "region_name": "US_EAST_1",
                            "priority": 7,
                            "electable_specs": {"instance_size": "M10", "node_count": 3},
                        }
                    ]
                }
            ],
        )
        mongodbatlas.CloudBackupSnapshotRestoreJob(
            SNAPSHOT_JOB,
            project_id="81b5028d12e2c250fcb898ca",
            cluster_name="cartie-prod",
            snapshot_id="6650c0ffee0000000000000a",
            delivery_type_config={
                "automated": True,
                "target_cluster_name": target_cluster(cluster),
                "target_project_id": target_project(project),
            },
        )
        mongodbatlas.CloudBackupCollectionRestoreJob(
            COLLECTION_JOB,
            project_id="81b5028d12e2c250fcb898ca",
            cluster_name="cartie-prod",
            snapshot_id="6650c0ffee0000000000000a",
            target_cluster_name=target_cluster(cluster),
            target_project_id=target_project(project),
            write_strategy="NEW_ONLY",
            index_strategy="ALL",
            databases=[{"database_name": "tenant_42"}],
        )

    return program


def _run(program: Callable[[], None], stack: str = "drill-20260518", preview: bool = False) -> ProgramRun:
    return run_with_mocks(program, stack=stack, preview=preview)


def _fresh_cluster(preview: bool = False, stack: str = "drill-20260518") -> ProgramRun:
    return _run(restore_program(lambda c: c.name, lambda p: p.id), stack=stack, preview=preview)


@pytest.fixture(scope="module")
def staging_with_inventory(project_dir: Path) -> PolicyTargets:
    """What `backstop check` uses for a drill stack: staging targets plus what Pulumi.prod.yaml declares."""
    return PolicyTargets.for_environment("staging").with_config(
        prod_inventory(project_dir), "Pulumi.prod.yaml"
    )


def test_the_inventory_comes_from_the_prod_stack_file(staging_with_inventory: PolicyTargets) -> None:
    assert staging_with_inventory.prod_cluster_names == ["cartie-prod"]
    assert staging_with_inventory.prod_project_names == ["cartie-prod"]


def test_shipped_stacks_declare_no_restore_over_prod(
    prod_run: Any, staging_run: Any, prod_preview_run: Any
) -> None:
    assert findings(RULE, prod_run.resources) == []
    assert findings(RULE, staging_run.resources, PolicyTargets.for_environment("staging")) == []
    assert findings(RULE, prod_preview_run.resources) == []


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("preview", [False, True], ids=["deployed", "first-preview"])
def test_drill_restoring_into_a_fresh_staging_cluster_passes(
    staging_with_inventory: PolicyTargets, shape: str, preview: bool
) -> None:
    resources = shape_of(_fresh_cluster(preview).resources, shape)
    # at first preview the target project id is unknown; the engine's dependency on the cluster decides
    assert findings(RULE, resources, staging_with_inventory) == []


@pytest.mark.parametrize("shape", SHAPES)
def test_drill_restoring_over_the_prod_cluster_fails(
    staging_with_inventory: PolicyTargets, shape: str
) -> None:
    run = _run(restore_program(lambda c: "cartie-prod", lambda p: "81b5028d12e2c250fcb898ca"))
    resources = shape_of(run.resources, shape)
    assert failing(RULE, resources, staging_with_inventory) == BOTH
    messages = {f.message for f in findings(RULE, resources, staging_with_inventory)}
    assert messages == {
        "restores directly over production: cluster 'cartie-prod' is a prod cluster. Restore to staging first"
    }


@pytest.mark.parametrize("shape", SHAPES)
def test_a_project_named_like_prod_fails(staging_with_inventory: PolicyTargets, shape: str) -> None:
    run = _run(restore_program(lambda c: "scratch", lambda p: p.id, project_name="cartie-prod"))
    assert failing(RULE, shape_of(run.resources, shape), staging_with_inventory) == BOTH


def test_prod_project_ids_are_tunable(staging_with_inventory: PolicyTargets) -> None:
    run = _run(restore_program(lambda c: "scratch", lambda p: "5f00000000000000000000aa"))
    assert failing(RULE, run.resources, staging_with_inventory) == set()
    with_ids = staging_with_inventory.with_config({"prodProjectIds": ["5f00000000000000000000aa"]})
    assert failing(RULE, run.resources, with_ids) == BOTH


@pytest.mark.parametrize("shape", SHAPES)
def test_in_a_prod_stack_its_own_clusters_and_projects_are_prod(shape: str) -> None:
    # no inventory at all: the prod stack's own declarations are enough
    resources = shape_of(_fresh_cluster(stack="prod").resources, shape)
    assert failing(RULE, resources, PolicyTargets.for_environment("prod")) == BOTH
    [message] = {f.message for f in findings(RULE, resources)}
    assert "project 'cartie-staging' is declared by this prod stack" in message
    assert "cluster 'drill-20260518' is declared by this prod stack" in message


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ({"targetClusterName": "cartie-prod"}, {SNAPSHOT_JOB}),  # the prod cluster, by name
        ({"targetClusterName": "restore-check"}, {SNAPSHOT_JOB}),  # a new cluster, but in the prod project
        ({"targetClusterName": "restore-check", "targetProjectId": "5f00000000000000000000bb"}, set()),
    ],
    ids=["prod-cluster", "prod-project", "other-project"],
)
def test_restore_job_added_to_the_prod_stack(
    prod_run: Any, shape: str, target: dict[str, Any], expected: set[str]
) -> None:
    config = {"automated": True, "targetProjectId": named(prod_run.resources, "atlas-project").id, **target}
    job = res(
        tokens.ATLAS_RESTORE_JOB, SNAPSHOT_JOB, {"clusterName": "cartie-prod", "deliveryTypeConfig": config}
    )
    assert failing(RULE, shape_of([*prod_run.resources, job], shape)) == expected


def test_a_download_restores_into_no_cluster(prod_run: Any) -> None:
    config = {"download": True}
    job = res(
        tokens.ATLAS_RESTORE_JOB, SNAPSHOT_JOB, {"clusterName": "cartie-prod", "deliveryTypeConfig": config}
    )
    assert findings(RULE, [*prod_run.resources, job]) == []


@pytest.mark.parametrize("shape", SHAPES)
def test_unknown_target_is_undecided(staging_with_inventory: PolicyTargets, shape: str) -> None:
    unknown = mutate(
        _fresh_cluster().resources,
        SNAPSHOT_JOB,
        {"deliveryTypeConfig.targetClusterName": UNKNOWN, "deliveryTypeConfig.targetProjectId": UNKNOWN},
        property_dependencies={},
    )
    resources = shape_of(unknown, shape)
    assert undecided(RULE, resources, staging_with_inventory) == {SNAPSHOT_JOB}
    assert failing(RULE, resources, staging_with_inventory) == set()
    strict = staging_with_inventory.model_copy(update={"unknown_is_violation": True})
    assert levels(RULE, resources, strict) == {(SNAPSHOT_JOB, "mandatory")}


def test_restoring_over_prod_stays_mandatory_in_staging(staging_with_inventory: PolicyTargets) -> None:
    run = _run(restore_program(lambda c: "cartie-prod", lambda p: "81b5028d12e2c250fcb898ca"))
    assert levels(RULE, run.resources, staging_with_inventory) == {(n, "mandatory") for n in BOTH}
    # every other rule is advisory in staging; this one can still be relaxed explicitly
    relaxed = staging_with_inventory.with_config({"levels": {RULE: "advisory"}})
    assert levels(RULE, run.resources, relaxed) == {(n, "advisory") for n in BOTH}
