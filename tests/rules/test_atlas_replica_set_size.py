"""atlas-replica-set-size: at least 3 electable nodes per replication spec (shard), across its regions."""

from __future__ import annotations

from typing import Any

import pytest

from backstop.ground import tokens
from backstop.ground.resources import UNKNOWN, Resource
from backstop.policy.targets import PolicyTargets
from tests.policy_support import SHAPES, failing, findings, levels, mutate, named, res, shape_of, undecided

RULE = "atlas-replica-set-size"
CLUSTER = "atlas-cartie-prod"
NODES = "replicationSpecs[0].regionConfigs[0].electableSpecs.nodeCount"
PROD = PolicyTargets.for_environment("prod")


def _region(region: str, nodes: Any = None, priority: int = 7) -> dict[str, Any]:
    config: dict[str, Any] = {"providerName": "AWS", "regionName": region, "priority": priority}
    if nodes is not None:
        config["electableSpecs"] = {"instanceSize": "M40", "nodeCount": nodes}
    else:
        config["readOnlySpecs"] = {"instanceSize": "M40", "nodeCount": 2}
    return config


def test_shipped_stacks_pass(prod_run: Any, staging_run: Any, prod_preview_run: Any) -> None:
    assert failing(RULE, prod_run.resources) == set()
    assert failing(RULE, staging_run.resources, PolicyTargets.for_environment("staging")) == set()
    assert findings(RULE, prod_preview_run.resources) == []


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({NODES: 1}, {CLUSTER}),
        ({NODES: 2.0}, {CLUSTER}),
        ({NODES: 5}, set()),
        ({"replicationSpecs[0].regionConfigs": [_region("US_EAST_1", 2), _region("US_WEST_2", 1)]}, set()),
        (
            {"replicationSpecs[0].regionConfigs": [_region("US_EAST_1", 2), _region("US_WEST_2", None, 0)]},
            {CLUSTER},
        ),
        ({"replicationSpecs[0].regionConfigs[0].electableSpecs": {"instanceSize": "M40"}}, {CLUSTER}),
        ({"replicationSpecs": []}, {CLUSTER}),
    ],
    ids=[
        "one-node",
        "two-nodes",
        "five-nodes",
        "three-across-regions",
        "read-only-region",
        "unset",
        "no-specs",
    ],
)
def test_electable_nodes(prod_run: Any, shape: str, changes: dict[str, Any], expected: set[str]) -> None:
    assert failing(RULE, shape_of(mutate(prod_run.resources, CLUSTER, changes), shape)) == expected


@pytest.mark.parametrize("shape", SHAPES)
def test_each_shard_is_counted_on_its_own(prod_run: Any, shape: str) -> None:
    first = named(prod_run.resources, CLUSTER).props["replicationSpecs"][0]
    shards = [first, {"zoneName": "second", "regionConfigs": [_region("US_EAST_1", 1)]}]
    broken = mutate(prod_run.resources, CLUSTER, {"replicationSpecs": shards})
    assert failing(RULE, shape_of(broken, shape)) == {CLUSTER}
    [finding] = findings(RULE, broken)
    assert finding.message.startswith("replicationSpecs[1] (zone 'second') has 1 electable node(s)")


def test_floats_from_mocks_and_ints_from_json_read_the_same() -> None:
    def cluster(name: str, nodes: Any) -> Resource:
        spec = {"regionConfigs": [_region("US_EAST_1", nodes)]}
        return res(tokens.ATLAS_ADVANCED_CLUSTER, name, {"replicationSpecs": [spec]})

    stack = [cluster("float-3", 3.0), cluster("int-3", 3), cluster("float-1", 1.0), cluster("int-1", 1)]
    assert failing(RULE, stack) == {"float-1", "int-1"}


@pytest.mark.parametrize("shape", SHAPES)
def test_legacy_cluster_replication_factor_and_regions_configs(shape: str) -> None:
    def legacy(name: str, props: dict[str, Any]) -> Resource:
        return res(tokens.ATLAS_LEGACY_CLUSTER, name, {"cloudBackup": True, **props})

    stack = [
        legacy("default-factor", {}),  # Atlas default replicationFactor is 3
        legacy("factor-5", {"replicationFactor": 5}),
        legacy("factor-1", {"replicationFactor": 1}),
        legacy(
            "regions-3",
            {
                "replicationSpecs": [
                    {
                        "numShards": 1,
                        "regionsConfigs": [
                            {"regionName": "US_EAST_1", "electableNodes": 2, "priority": 7},
                            {"regionName": "US_WEST_2", "electableNodes": 1, "priority": 6},
                        ],
                    }
                ]
            },
        ),
        legacy(
            "regions-1",
            {
                "replicationSpecs": [
                    {
                        "numShards": 2,
                        "regionsConfigs": [
                            {"regionName": "US_EAST_1", "electableNodes": 1, "priority": 7},
                        ],
                    }
                ]
            },
        ),
        legacy("spec-uses-factor", {"replicationFactor": 1, "replicationSpecs": [{"numShards": 1}]}),
    ]
    assert failing(RULE, shape_of(stack, shape)) == {"factor-1", "regions-1", "spec-uses-factor"}


def test_min_electable_nodes_is_tunable(prod_run: Any) -> None:
    assert failing(
        RULE, prod_run.resources, PolicyTargets.for_environment("prod", min_electable_nodes=5)
    ) == {CLUSTER}
    weaker = PolicyTargets.for_environment("prod").with_config({"minElectableNodes": 1})
    assert failing(RULE, mutate(prod_run.resources, CLUSTER, {NODES: 1}), weaker) == set()


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(
    "changes",
    [
        {NODES: UNKNOWN},
        {"replicationSpecs": UNKNOWN},
        {"replicationSpecs[0].regionConfigs": [_region("US_EAST_1", 2), _region("US_WEST_2", UNKNOWN)]},
    ],
    ids=["node-count", "specs", "second-region"],
)
def test_unknown_counts_are_undecided(prod_run: Any, shape: str, changes: dict[str, Any]) -> None:
    resources = shape_of(mutate(prod_run.resources, CLUSTER, changes), shape)
    assert undecided(RULE, resources) == {CLUSTER}
    assert failing(RULE, resources) == set()
    assert levels(RULE, resources, PolicyTargets.for_environment("prod", unknown_is_violation=True)) == {
        (CLUSTER, "mandatory")
    }


def test_enough_known_nodes_decide_despite_an_unknown_region(prod_run: Any) -> None:
    configs = [_region("US_EAST_1", 3), _region("US_WEST_2", UNKNOWN)]
    resources = mutate(prod_run.resources, CLUSTER, {"replicationSpecs[0].regionConfigs": configs})
    assert findings(RULE, resources) == []


def test_staging_targets_make_it_advisory(staging_run: Any) -> None:
    broken = mutate(staging_run.resources, "atlas-cartie-staging", {NODES: 1})
    assert levels(RULE, broken, PolicyTargets.for_environment("staging")) == {
        ("atlas-cartie-staging", "advisory")
    }
    assert levels(RULE, broken, PROD) == {("atlas-cartie-staging", "mandatory")}
