"""The StackView indexes every stack rule joins through: each accessor returns exactly the resources a
pairwise comparison would, in stack order, including across many Atlas projects that reuse a cluster name.

The differential guard is `test_indexed_joins_match_pairwise`: every index answer is compared with the
pairwise `points_at` / `same_project` definition over a stack with repeated names and unknowns.
"""

from __future__ import annotations

from backstop.ground import tokens
from backstop.ground.resources import UNKNOWN, Resource
from backstop.policy.stackview import StackView
from tests.policy_support import UNKNOWN_STRING, res

NS_ID = "/subscriptions/s1/resourceGroups/rg-east/providers/Microsoft.ServiceBus/namespaces/orders-ns"


def _urn(type_: str, name: str) -> str:
    return f"urn:pulumi:prod::backstop::{type_}::{name}"


def _atlas_estate(projects: int) -> list[Resource]:
    """`projects` projects, each with a cluster named "main" and its schedule, joined only by value."""
    out: list[Resource] = []
    for n in range(projects):
        out.append(res(tokens.ATLAS_PROJECT, f"project-{n}", {"name": f"team-{n}"}, id=f"pid-{n}"))
        out.append(
            res(tokens.ATLAS_ADVANCED_CLUSTER, f"cluster-{n}", {"name": "main", "projectId": f"pid-{n}"})
        )
        out.append(
            res(
                tokens.ATLAS_BACKUP_SCHEDULE,
                f"schedule-{n}",
                {"clusterName": "main", "projectId": f"pid-{n}"},
            )
        )
    return out


def test_schedules_and_clusters_join_within_their_project() -> None:
    view = StackView(_atlas_estate(5))
    for n in range(5):
        cluster = next(r for r in view.resources if r.name == f"cluster-{n}")
        schedule = next(r for r in view.resources if r.name == f"schedule-{n}")
        assert view.schedules_for(cluster) == ([schedule], False)
        assert view.cluster_for(schedule) == (cluster, False)
        assert view.atlas_project(cluster) == _urn(tokens.ATLAS_PROJECT, f"project-{n}")
    assert [c.name for c in view.clusters_named("main")] == [f"cluster-{n}" for n in range(5)]
    project_3 = _urn(tokens.ATLAS_PROJECT, "project-3")
    assert [c.name for c in view.clusters_named("main", project_3)] == ["cluster-3"]
    assert [r.name for r in view.in_project(tokens.ATLAS_BACKUP_SCHEDULE, project_3)] == ["schedule-3"]


def test_a_schedule_in_an_unknown_project_may_back_any_same_named_cluster() -> None:
    resources = _atlas_estate(3)
    floating = res(
        tokens.ATLAS_BACKUP_SCHEDULE, "floating", {"clusterName": "main", "projectId": UNKNOWN_STRING}
    )
    view = StackView([*resources, floating])
    clusters = [r for r in view.resources if r.type == tokens.ATLAS_ADVANCED_CLUSTER]
    # It may back every cluster named "main", and is listed for each of them; it is in no known project.
    for cluster in clusters:
        assert floating in view.schedules_for(cluster)[0]
    assert view.cluster_for(floating) == (clusters[0], False)
    assert view.in_project(tokens.ATLAS_BACKUP_SCHEDULE, UNKNOWN) == [floating]


def test_an_unknown_cluster_name_without_dependency_is_undecided() -> None:
    resources = _atlas_estate(2)
    unknown_name = res(tokens.ATLAS_BACKUP_SCHEDULE, "pending", {"clusterName": UNKNOWN_STRING})
    view = StackView([*resources, unknown_name])
    assert view.cluster_for(unknown_name) == (None, True)
    cluster = next(r for r in view.resources if r.name == "cluster-1")
    # The same schedule, with the engine's dependency on cluster-1, is decided.
    by_dependency = res(
        tokens.ATLAS_BACKUP_SCHEDULE,
        "pending",
        {"clusterName": UNKNOWN_STRING},
        property_dependencies={"clusterName": [cluster.urn]},
    )
    view = StackView([*resources, by_dependency])
    assert view.cluster_for(by_dependency) == (cluster, False)
    assert by_dependency in view.schedules_for(cluster)[0]


def test_buckets_by_name_and_arn() -> None:
    logs = res(
        tokens.S3_BUCKET, "logs", {"bucket": "acme-logs", "arn": "arn:aws:s3:::acme-logs"}, id="acme-logs"
    )
    exports = res(tokens.S3_BUCKET_V2, "exports", {"bucket": "acme-exports"}, id="acme-exports")
    versioning = res(tokens.S3_VERSIONING, "exports-versioning", {"bucket": "arn:aws:s3:::acme-exports"})
    view = StackView([logs, exports, versioning])
    assert view.buckets_named("acme-logs") == [logs]
    assert view.buckets_named("arn:aws:s3:::acme-logs") == [logs]
    assert view.buckets_named("arn:aws:s3:::acme-exports") == [exports]
    assert view.buckets_named("acme-other") == []
    assert view.bucket_settings(exports, tokens.S3_VERSIONINGS) == ([versioning], False)
    assert view.bucket_settings(logs, tokens.S3_VERSIONINGS) == ([], False)


def test_storage_accounts_and_their_settings() -> None:
    east = res(
        tokens.AZ_STORAGE_ACCOUNT, "east", {"accountName": "acmeeast"}, id="/subscriptions/s1/sa/acmeeast"
    )
    west = res(tokens.AZ_STORAGE_ACCOUNT, "west", {"accountName": "acmewest"})
    service = res(tokens.AZ_BLOB_SERVICE, "east-blobs", {"accountName": "acmeeast"})
    pending = res(
        tokens.AZ_BLOB_SERVICE,
        "west-blobs",
        {"accountName": UNKNOWN_STRING},
        property_dependencies={"accountName": [west.urn]},
    )
    view = StackView([east, west, service, pending])
    assert view.storage_accounts_named("acmeeast") == [east]
    assert view.storage_accounts_named("/subscriptions/s1/sa/acmeeast") == [east]
    assert view.storage_account_settings(east, [tokens.AZ_BLOB_SERVICE]) == ([service], False)
    assert view.storage_account_settings(west, [tokens.AZ_BLOB_SERVICE]) == ([pending], False)


def _alert(name: str, props: dict[str, object], deps: list[str] | None = None) -> Resource:
    return res(
        tokens.AZ_METRIC_ALERT,
        name,
        props,
        property_dependencies={"scopes": deps} if deps else None,
    )


def test_metric_alerts_scoped_to_a_namespace() -> None:
    namespace = res(tokens.AZ_SB_NAMESPACE, "orders", {"namespaceName": "orders-ns"}, id=NS_ID)
    other = res(
        tokens.AZ_SB_NAMESPACE,
        "billing",
        {"namespaceName": "billing-ns"},
        id=NS_ID.replace("orders", "billing"),
    )
    exact = _alert("exact", {"scopes": [NS_ID.upper() + "/"]})
    by_name = _alert("by-name", {"scopes": ["/x/providers/microsoft.servicebus/namespaces/ORDERS-NS"]})
    group = _alert(
        "group",
        {
            "scopes": ["/subscriptions/s1/resourceGroups/rg-east"],
            "targetResourceType": "Microsoft.ServiceBus/namespaces",
        },
    )
    group_wrong_type = _alert("group-wrong-type", {"scopes": ["/subscriptions/s1/resourceGroups/rg-east"]})
    by_dependency = _alert("by-dependency", {"scopes": [UNKNOWN_STRING]}, deps=[namespace.urn])
    floating = _alert("floating", {"scopes": UNKNOWN_STRING})
    view = StackView([namespace, other, exact, by_name, group, group_wrong_type, by_dependency, floating])
    scoped = view.metric_alerts_scoped_to(namespace)
    assert [a.name for a in scoped.covering] == ["exact", "by-name", "group", "by-dependency"]
    assert [a.name for a in scoped.floating] == ["floating"]
    assert [a.name for a in view.metric_alerts_scoped_to(other).covering] == ["group"]
    assert view.namespaces_named("orders-ns") == [namespace]
    assert view.namespaces_named(NS_ID) == [namespace]


def test_dependencies_and_dependents() -> None:
    key = res(tokens.KMS_KEY, "key")
    role = res(tokens.IAM_ROLE, "role")
    config = res(
        tokens.ATLAS_ENCRYPTION_AT_REST,
        "ear",
        {"awsKmsConfig": UNKNOWN_STRING},
        property_dependencies={"awsKmsConfig": [key.urn, role.urn, "urn:pulumi:prod::backstop::x::gone"]},
    )
    sse = res(tokens.S3_SSE, "sse", {"rules": UNKNOWN_STRING}, property_dependencies={"rules": [key.urn]})
    view = StackView([key, role, config, sse])
    assert view.dependencies(config, "awsKmsConfig") == [key, role]
    assert view.dependencies(config, "awsKmsConfig", tokens.KMS_KEYS) == [key]
    assert view.dependents(key) == [config, sse]
    assert view.dependents(key, [tokens.S3_SSE]) == [sse]
    assert view.dependents(key, prop="awsKmsConfig") == [config]
    assert view.urns_of(tokens.KMS_KEYS) == {key.urn}


def test_indexed_joins_match_pairwise() -> None:
    """Every index answer equals the pairwise definition, over names reused across projects and unknowns."""
    resources = _atlas_estate(4)
    resources.append(
        res(tokens.ATLAS_BACKUP_SCHEDULE, "u1", {"clusterName": UNKNOWN_STRING, "projectId": "pid-1"})
    )
    resources.append(
        res(tokens.ATLAS_BACKUP_SCHEDULE, "u2", {"clusterName": "main", "projectId": UNKNOWN_STRING})
    )
    resources.append(res(tokens.ATLAS_BACKUP_SCHEDULE, "u3", {"clusterName": "main"}))
    resources.append(res(tokens.ATLAS_LEGACY_CLUSTER, "legacy", {"name": "main"}, id="main"))
    view = StackView(resources)
    clusters = view.of(tokens.ATLAS_CLUSTERS)
    schedules = view.of(tokens.ATLAS_BACKUP_SCHEDULE)
    for cluster in clusters:
        expected = [
            s
            for s in schedules
            if view.points_at(s, "clusterName", cluster, view.cluster_name(cluster)) is True
            and view.same_project(s, cluster) is not False
        ]
        assert view.schedules_for(cluster)[0] == expected
    for schedule in schedules:
        verdicts = [view.points_at(schedule, "clusterName", c, view.cluster_name(c)) for c in clusters]
        matches = [
            c
            for c, v in zip(clusters, verdicts, strict=True)
            if v is True and view.same_project(schedule, c) is not False
        ]
        expected_cluster = matches[0] if matches else None
        expected_undecided = not matches and any(v is UNKNOWN for v in verdicts)
        assert view.cluster_for(schedule) == (expected_cluster, expected_undecided)
