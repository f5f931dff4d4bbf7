"""A stack's resources indexed for joins: which schedule backs which cluster, which versioning which bucket.

pulumi-aws v7 splits a bucket's settings over separate resources (`BucketVersioning`, …) that point at the
bucket by name or id. At preview those pointers are often unknown, so a join first trusts the engine's
property dependencies (the URN a property was computed from), then falls back to comparing values.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from backstop import tokens
from backstop.policy.values import MISSING, get, items
from backstop.resources import UNKNOWN, Resource, is_unknown, name_of


@dataclass(frozen=True)
class ReplicationRule:
    """One S3 replication rule: `owner` declares it (a `BucketReplicationConfig`, or the bucket itself for
    the deprecated inline block) under the top-level property `prop`, whose dependencies name the
    destination bucket while its ARN is still unknown."""

    owner: Resource
    prop: str
    status: Any
    destination: Any


class _References:
    """Where the `prop` of each source points: by dependency URN and by scalar value. A source whose value
    is unknown and that has no dependencies could point anywhere, so it makes every join undecided."""

    def __init__(self, sources: list[Resource], prop: str) -> None:
        self.sources = sources
        self.by_dependency: dict[str, list[int]] = defaultdict(list)
        self.by_value: dict[Any, list[int]] = defaultdict(list)
        self.undecided = False
        for position, source in enumerate(sources):
            deps = source.property_dependencies.get(prop) or ()
            for urn in deps:
                self.by_dependency[urn].append(position)
            value = get(source.props, prop)
            if is_unknown(value):
                self.undecided = self.undecided or not deps
            elif isinstance(value, str | int | float):
                self.by_value[value].append(position)


class StackView:
    def __init__(self, resources: Sequence[Resource]) -> None:
        self.resources = list(resources)
        self._by_type: dict[str, list[Resource]] = defaultdict(list)
        self._by_urn: dict[str, Resource] = {}
        self._project_ids: dict[str, str] | None = None
        self._references: dict[tuple[frozenset[str], str], _References] = {}
        self._buckets_by_name: dict[str, list[Resource]] | None = None
        # Every type a rule asked for: the report's "N of M resources are of a type backstop checks".
        self.types_read: set[str] = set()
        for resource in self.resources:
            self._by_type[resource.type].append(resource)
            self._by_urn[resource.urn] = resource

    def of(self, types: Iterable[str] | str) -> list[Resource]:
        wanted = [types] if isinstance(types, str) else list(types)
        self.types_read.update(wanted)
        return [r for t in wanted for r in self._by_type.get(t, [])]

    def by_urn(self, urn: str) -> Resource | None:
        return self._by_urn.get(urn)

    @property
    def stack(self) -> str:
        return self.resources[0].stack if self.resources else ""

    def points_at(self, source: Resource, prop: str, target: Resource, *identities: Any) -> bool | Any:
        """Does `source.props[prop]` refer to `target`? True, False, or `UNKNOWN` when it cannot be told.

        `identities` are the values that name the target (its id, name, ARN…); the target's id is always one.
        """
        deps = source.property_dependencies.get(prop)
        if deps and target.urn in deps:
            return True
        value = get(source.props, prop)
        if value is MISSING:
            return False
        # Only scalar names can identify a resource (a malformed dict or list must not crash the lookup).
        names = {v for v in (target.id, *identities) if isinstance(v, str | int | float)}
        if is_unknown(value):
            # Known dependencies that name a different resource settle it; otherwise we cannot tell.
            if deps:
                return False
            return UNKNOWN
        return isinstance(value, str | int | float) and value in names

    def attached(
        self, types: Iterable[str], target: Resource, prop: str, *identities: Any
    ) -> tuple[list[Resource], bool]:
        """Resources of `types` whose `prop` refers to `target` (as `points_at` decides), and whether some
        could not be resolved. Indexed once per view, so joining every bucket of a big stack stays linear."""
        key = (frozenset([types] if isinstance(types, str) else types), prop)
        refs = self._references.get(key)
        if refs is None:
            refs = self._references[key] = _References(self.of(key[0]), prop)
        names = {v for v in (target.id, *identities) if isinstance(v, str | int | float)}
        positions = set(refs.by_dependency.get(target.urn, ()))
        for name in names:
            positions.update(refs.by_value.get(name, ()))
        return [refs.sources[i] for i in sorted(positions)], refs.undecided

    # --- domain joins used by several rules -------------------------------------------------------------

    def bucket_identities(self, bucket: Resource) -> tuple[Any, ...]:
        """The values other resources use to name an S3 bucket: its name (= id in pulumi-aws) and ARN."""
        name = get(bucket.props, "bucket")
        arn = get(bucket.props, "arn")
        # Only known, non-empty strings name a bucket (an unknown name has no truth value to test).
        candidates = (name, arn, f"arn:aws:s3:::{name}" if isinstance(name, str) else None)
        return tuple(v for v in candidates if isinstance(v, str) and v)

    def bucket_settings(self, bucket: Resource, types: Iterable[str]) -> tuple[list[Resource], bool]:
        """The split-out v7 (and deprecated V2) setting resources attached to `bucket`."""
        return self.attached(types, bucket, "bucket", *self.bucket_identities(bucket))

    def replication_rules(self, bucket: Resource) -> tuple[list[ReplicationRule], bool]:
        """The replication rules whose source is `bucket`, from `BucketReplicationConfig`s and from the
        deprecated inline block (`replicationConfiguration.rules[]` on Bucket,
        `replicationConfigurations[].rules[].destinations[]` on BucketV2), and whether some could not be
        read or joined yet."""
        configs, undecided = self.bucket_settings(bucket, [tokens.S3_REPLICATION])
        found: list[ReplicationRule] = []
        blocks: list[tuple[Resource, str, Any]] = [(c, "rules", get(c.props, "rules")) for c in configs]
        if bucket.type == tokens.S3_BUCKET:
            inline = get(bucket.props, "replicationConfiguration.rules")
            blocks.append((bucket, "replicationConfiguration", inline))
        else:
            legacy = items(get(bucket.props, "replicationConfigurations"))
            undecided = undecided or is_unknown(legacy)
            for block in [] if is_unknown(legacy) else legacy:
                blocks.append((bucket, "replicationConfigurations", get(block, "rules")))
        for owner, prop, rules in blocks:
            listed = items(rules)
            undecided = undecided or is_unknown(listed)
            for rule in [] if is_unknown(listed) else listed:
                status = get(rule, "status")
                if prop == "replicationConfigurations":
                    targets = items(get(rule, "destinations"))
                    undecided = undecided or is_unknown(targets)
                    for target in [] if is_unknown(targets) else targets:
                        found.append(ReplicationRule(owner, prop, status, get(target, "bucket")))
                else:
                    found.append(ReplicationRule(owner, prop, status, get(rule, "destination.bucket")))
        return found, undecided

    def replication_targets(self, rule: ReplicationRule, source: Resource) -> list[Resource]:
        """The declared buckets `rule` copies to: the one its destination names, else (the ARN is unknown
        at first preview, or spelled differently) the buckets the rule's property was computed from."""
        buckets = [b for b in self.of(tokens.S3_BUCKETS) if b.urn != source.urn]
        if isinstance(rule.destination, str):
            if self._buckets_by_name is None:
                self._buckets_by_name = defaultdict(list)
                for bucket in self.of(tokens.S3_BUCKETS):
                    names = {n for n in (bucket.id, *self.bucket_identities(bucket)) if isinstance(n, str)}
                    for name in names:
                        self._buckets_by_name[name].append(bucket)
            named = [b for b in self._buckets_by_name.get(rule.destination, []) if b.urn != source.urn]
            if named:
                return named
        deps = set(rule.owner.property_dependencies.get(rule.prop, ()))
        return [b for b in buckets if b.urn in deps]

    def aws_region(self, resource: Resource, default: str) -> Any:
        """The region an AWS resource lives in: its `region` input (pulumi-aws v7), else its explicit
        provider's `region`, else `default` (the stack's `aws:region`); `UNKNOWN` when it cannot be told."""
        region = get(resource.props, "region")
        if is_unknown(region) or (isinstance(region, str) and region):
            return region
        if not resource.provider:
            return default
        # A provider reference is "<provider URN>::<provider id>".
        urn = resource.provider if resource.provider in self._by_urn else resource.provider.rsplit("::", 1)[0]
        provider = self._by_urn.get(urn)
        if provider is None:
            return default if name_of(urn).startswith("default") else UNKNOWN
        region = get(provider.props, "region")
        if is_unknown(region) or (isinstance(region, str) and region):
            return region
        return default

    def cluster_name(self, cluster: Resource) -> Any:
        name = get(cluster.props, "name")
        return cluster.name if name is MISSING else name

    def schedules_for(self, cluster: Resource) -> tuple[list[Resource], bool]:
        """Cloud Backup schedules whose `clusterName` is this cluster's (by dependency or by value), in the
        cluster's project when both are known: a cluster name is unique only within its project."""
        matches, undecided = self.attached(
            [tokens.ATLAS_BACKUP_SCHEDULE], cluster, "clusterName", self.cluster_name(cluster)
        )
        return [s for s in matches if self.same_project(s, cluster) is not False], undecided

    def cluster_for(self, schedule: Resource) -> tuple[Resource | None, bool]:
        """The declared cluster a schedule backs up (the reverse of `schedules_for`), and whether an
        unknown `clusterName` left that undecided."""
        undecided = False
        for cluster in self.of(tokens.ATLAS_CLUSTERS):
            verdict = self.points_at(schedule, "clusterName", cluster, self.cluster_name(cluster))
            if verdict is True and self.same_project(schedule, cluster) is not False:
                return cluster, False
            undecided = undecided or is_unknown(verdict)
        return None, undecided

    def atlas_project(self, resource: Resource, prop: str = "projectId") -> Any:
        """The Atlas project `resource` belongs to: the URN of the declared `Project`, else the project id
        as written; `UNKNOWN` when it cannot be told yet, None when `prop` is not set.

        A `projectId` is often another resource's output (a schedule takes its cluster's), so the engine's
        dependencies are followed through resources that carry a `projectId` of their own.
        """
        return self._atlas_project(resource, prop, set())

    def _atlas_project(self, resource: Resource, prop: str, seen: set[str]) -> Any:
        seen.add(resource.urn)
        for urn in resource.property_dependencies.get(prop, ()):
            dep = self._by_urn.get(urn)
            if dep is None or dep.urn in seen:
                continue
            if dep.type == tokens.ATLAS_PROJECT:
                return dep.urn
            if get(dep.props, "projectId") is not MISSING:
                found = self._atlas_project(dep, "projectId", seen)
                if isinstance(found, str):
                    return found
        value = get(resource.props, prop)
        if is_unknown(value):
            return UNKNOWN
        if not isinstance(value, str) or not value:
            return None
        if self._project_ids is None:
            self._project_ids = {
                p.id: p.urn for p in self.of(tokens.ATLAS_PROJECT) if isinstance(p.id, str) and p.id
            }
        return self._project_ids.get(value, value)

    def same_project(self, a: Resource, b: Resource) -> bool | Any:
        """Are two Atlas resources in the same project? `UNKNOWN` unless both projects are known."""
        first, second = self.atlas_project(a), self.atlas_project(b)
        if isinstance(first, str) and isinstance(second, str):
            return first == second
        return UNKNOWN

    def export_buckets(self) -> list[Resource]:
        """S3 buckets that hold Atlas snapshot exports, and the replicas they copy to."""
        result: list[Resource] = []
        for bucket in self.of(tokens.S3_BUCKETS):
            exports, _ = self.export_targets_of(bucket)
            if exports:
                result.append(bucket)
        found = {bucket.urn for bucket in result}
        for source in list(result):
            for rule in self.replication_rules(source)[0]:
                for bucket in self.replication_targets(rule, source):
                    if bucket.urn not in found:
                        found.add(bucket.urn)
                        result.append(bucket)
        return result

    def export_targets_of(self, bucket: Resource) -> tuple[list[Resource], bool]:
        """Atlas export targets (`CloudBackupSnapshotExportBucket`) whose `bucketName` is this S3 bucket."""
        return self.attached(
            [tokens.ATLAS_EXPORT_BUCKET], bucket, "bucketName", *self.bucket_identities(bucket)
        )


__all__ = ["UNKNOWN", "ReplicationRule", "StackView"]
