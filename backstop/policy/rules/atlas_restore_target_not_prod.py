"""No restore job (snapshot or collection) writes into a cluster or project that the prod stack declares."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from backstop.ground import seeds, tokens
from backstop.ground.resources import Resource, is_unknown
from backstop.policy.core import Finding, Severity, stack_rule, unknown, violation
from backstop.policy.stackview import StackView
from backstop.policy.targets import PolicyTargets
from backstop.policy.values import get, is_true

# Per restore job type: (target cluster path, target project path, the top-level key their dependencies
# are recorded under). A snapshot restore job nests its target in `deliveryTypeConfig`.
TARGETS = {
    tokens.ATLAS_RESTORE_JOB: (
        "deliveryTypeConfig.targetClusterName",
        "deliveryTypeConfig.targetProjectId",
        ("deliveryTypeConfig", "deliveryTypeConfig"),
    ),
    tokens.ATLAS_COLLECTION_RESTORE_JOB: (
        "targetClusterName",
        "targetProjectId",
        ("targetClusterName", "targetProjectId"),
    ),
}


@stack_rule(
    id="atlas-restore-target-not-prod",
    description=(
        f"{seeds.SEED_BACKUP}, operator runbook: 'Target: staging cluster first (NEVER restore directly over "
        "production)'; restoration drill: 'Trigger Atlas Cloud Backup restore to a fresh staging cluster'. "
        "Prod clusters and projects come from Pulumi.prod.yaml and, in a prod stack, from its own resources."
    ),
    severity=Severity.CRITICAL,
    remediation=(
        "Point delivery_type_config.target_cluster_name / target_project_id (or a collection restore's "
        "target_cluster_name / target_project_id) at a staging or drill cluster; swap into production only "
        "after the restored data is verified."
    ),
    tunables=("environment", "prod_cluster_names", "prod_project_names", "prod_project_ids"),
)
def check(stack: StackView, targets: PolicyTargets) -> Iterator[Finding]:
    for job in stack.of(tokens.ATLAS_RESTORE_JOBS):
        yield from _check_job(stack, job, targets)


def _declared(stack: StackView, job: Resource, key: str, types: frozenset[str]) -> list[Resource]:
    """Resources of `types` that the engine says `job.props[key]` was computed from."""
    return stack.dependencies(job, key, types)


def _check_job(stack: StackView, job: Resource, targets: PolicyTargets) -> Iterator[Finding]:
    cluster_path, project_path, (cluster_key, project_key) = TARGETS[job.type]
    if job.type == tokens.ATLAS_RESTORE_JOB and is_true(get(job.props, "deliveryTypeConfig.download")):
        return  # a download restores into no cluster
    cluster_name = get(job.props, cluster_path)
    project_id = get(job.props, project_path)

    # The target project: by dependency, else by id (the declared project's URN, or the id as written).
    projects = _declared(stack, job, project_key, frozenset({tokens.ATLAS_PROJECT}))
    target_project = projects[0].urn if projects else stack.atlas_project(job, project_path)
    if not projects and isinstance(target_project, str):
        projects = _declared_project(stack, target_project)
    # The target cluster: by dependency, else by name within the target project.
    clusters = _declared(stack, job, cluster_key, tokens.ATLAS_CLUSTERS)
    if not clusters and isinstance(cluster_name, str):
        clusters = stack.clusters_named(cluster_name, target_project)
    if not projects and clusters:
        # Atlas requires the target cluster to be in the target project, so its project is the target.
        projects = _declared_project(stack, stack.atlas_project(clusters[0]))

    reasons = _prod_reasons(stack, targets, cluster_name, project_id, clusters, projects)
    if reasons:
        yield violation(
            job, "restores directly over production: " + "; ".join(reasons) + ". Restore to staging first"
        )
    elif (is_unknown(cluster_name) and not clusters) or (
        is_unknown(project_id) and not (projects or clusters)
    ):
        yield unknown(job, "the restore target (cluster and project)")


def _declared_project(stack: StackView, key: Any) -> list[Resource]:
    """The declared `Project` a project key (from `StackView.atlas_project`) names, if any."""
    project = stack.by_urn(key) if isinstance(key, str) else None
    return [project] if project is not None and project.type == tokens.ATLAS_PROJECT else []


def _prod_reasons(
    stack: StackView,
    targets: PolicyTargets,
    cluster_name: Any,
    project_id: Any,
    clusters: list[Resource],
    projects: list[Resource],
) -> list[str]:
    prod_stack = targets.environment == "prod"
    reasons: list[str] = []
    names = [cluster_name] if isinstance(cluster_name, str) else []
    names += [n for n in (stack.cluster_name(c) for c in clusters) if isinstance(n, str)]
    for name in dict.fromkeys(names):
        if name in targets.prod_cluster_names:
            reasons.append(f"cluster {name!r} is a prod cluster")
    if isinstance(project_id, str) and project_id in targets.prod_project_ids:
        reasons.append(f"project {project_id} is a prod project")
    for project in projects:
        name = get(project.props, "name")
        label = repr(name) if isinstance(name, str) else project.name
        if isinstance(name, str) and name in targets.prod_project_names:
            reasons.append(f"project {label} is a prod project")
        elif prod_stack:
            reasons.append(f"project {label} is declared by this prod stack")
    if prod_stack:
        for cluster in clusters:
            name = stack.cluster_name(cluster)
            if not (isinstance(name, str) and name in targets.prod_cluster_names):
                label = repr(name) if isinstance(name, str) else cluster.name
                reasons.append(f"cluster {label} is declared by this prod stack")
    return reasons
