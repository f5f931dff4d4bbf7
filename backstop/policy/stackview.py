"""A stack's resources indexed for joins: which schedule backs which cluster, which versioning which bucket.

pulumi-aws v7 splits a bucket's settings over separate resources (`BucketVersioning`, …) that point at the
bucket by name or id. At preview those pointers are often unknown, so a join first trusts the engine's
property dependencies (the URN a property was computed from), then falls back to comparing values.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from backstop import tokens
from backstop.policy.values import MISSING, get, items
from backstop.resources import UNKNOWN, Resource, is_unknown


class StackView:
    def __init__(self, resources: Sequence[Resource]) -> None:
        self.resources = list(resources)
        self._by_type: dict[str, list[Resource]] = defaultdict(list)
        self._by_urn: dict[str, Resource] = {}
        for resource in self.resources:
            self._by_type[resource.type].append(resource)
            self._by_urn[resource.urn] = resource

    def of(self, types: Iterable[str] | str) -> list[Resource]:
        wanted = [types] if isinstance(types, str) else list(types)
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
        names = {
            v for v in (target.id, *identities) if v is not None and v is not MISSING and not is_unknown(v)
        }
        if is_unknown(value):
            # Known dependencies that name a different resource settle it; otherwise we cannot tell.
            if deps:
                return False
            return UNKNOWN
        return value in names

    def attached(
        self, types: Iterable[str], target: Resource, prop: str, *identities: Any
    ) -> tuple[list[Resource], bool]:
        """Resources of `types` whose `prop` refers to `target`, and whether some could not be resolved."""
        matches: list[Resource] = []
        undecided = False
        for source in self.of(types):
            verdict = self.points_at(source, prop, target, *identities)
            if verdict is True:
                matches.append(source)
            elif is_unknown(verdict):
                undecided = True
        return matches, undecided

    # --- domain joins used by several rules -------------------------------------------------------------

    def bucket_identities(self, bucket: Resource) -> tuple[Any, ...]:
        """The values other resources use to name an S3 bucket: its name (= id in pulumi-aws) and ARN."""
        name = get(bucket.props, "bucket")
        arn = get(bucket.props, "arn")
        return tuple(v for v in (name, arn, f"arn:aws:s3:::{name}" if isinstance(name, str) else None) if v)

    def bucket_settings(self, bucket: Resource, types: Iterable[str]) -> tuple[list[Resource], bool]:
        """The split-out v7 (and deprecated V2) setting resources attached to `bucket`."""
        return self.attached(types, bucket, "bucket", *self.bucket_identities(bucket))

    def cluster_name(self, cluster: Resource) -> Any:
        name = get(cluster.props, "name")
        return cluster.name if name is MISSING else name

    def schedules_for(self, cluster: Resource) -> tuple[list[Resource], bool]:
        """Cloud Backup schedules whose `clusterName` is this cluster's (by dependency or by value)."""
        return self.attached(
            [tokens.ATLAS_BACKUP_SCHEDULE], cluster, "clusterName", self.cluster_name(cluster)
        )

    def export_buckets(self) -> list[Resource]:
        """S3 buckets that hold Atlas snapshot exports, and the replicas they copy to."""
        export_targets = self.of(tokens.ATLAS_EXPORT_BUCKET)
        result: list[Resource] = []
        for bucket in self.of(tokens.S3_BUCKETS):
            identities = self.bucket_identities(bucket)
            if any(self.points_at(e, "bucketName", bucket, *identities) is True for e in export_targets):
                result.append(bucket)
        for source in list(result):
            replications, _ = self.bucket_settings(source, [tokens.S3_REPLICATION])
            for replication in replications:
                rules = items(get(replication.props, "rules"))
                for rule in [] if is_unknown(rules) else rules:
                    destination = get(rule, "destination.bucket")
                    for bucket in self.of(tokens.S3_BUCKETS):
                        if bucket not in result and destination in self.bucket_identities(bucket):
                            result.append(bucket)
        return result


__all__ = ["UNKNOWN", "StackView"]
