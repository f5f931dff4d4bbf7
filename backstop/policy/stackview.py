"""A stack's resources indexed for joins: which schedule backs which cluster, which versioning which bucket.

pulumi-aws v7 splits a bucket's settings over separate resources (`BucketVersioning`, …) that point at the
bucket by name or id. At preview those pointers are often unknown, so a join first trusts the engine's
property dependencies (the URN a property was computed from), then falls back to comparing values.

One `StackView` is built per evaluation and shared by every stack rule. Every join goes through an index
that is built the first time it is asked for and kept for the life of the view, so checking a whole estate
stays linear in its size: no rule scans pairs of resources. The indexes, and the accessors that read them:

- by type and URN: `of`, `by_urn`, `urns_of`;
- by property dependency: `dependencies` (what a property was computed from), `dependents` (the reverse);
- by the value or dependency one resource uses to name another: `attached` (who points at a target),
  `referenced` (what a source points at);
- by S3 bucket name/ARN: `buckets_named`, `bucket_settings`, `replication_rules`, `replication_targets`;
- by Azure storage account: `storage_accounts_named`, `storage_account_settings`;
- by Service Bus namespace id or name: `namespaces_named`, `metric_alerts_scoped_to`;
- by any resource an alert's scopes name, and by action group id: `metric_alerts_on`,
  `action_groups_notified`;
- by Logic App workflow id, name or trigger URL: `logic_workflows_named`;
- by Atlas project: `atlas_project` (memoised), `in_project`, `clusters_named`, `schedules_for`,
  `cluster_for`, `same_project`.

A rule that needs a join not listed here adds an index to this module rather than a loop over pairs.

Long because every index lives here, next to the others it is built with, so that no rule grows a join of
its own.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from backstop.ground import tokens
from backstop.ground.resources import UNKNOWN, Resource, is_unknown, name_of
from backstop.policy.values import MISSING, get, items

# An ARM id naming a Service Bus namespace ends in `…/providers/microsoft.servicebus/namespaces/<name>`.
_SB_NAMESPACE_MARKER = f"/providers/{tokens.SB_METRIC_NAMESPACE.lower()}/"

# A top-level resource's ARM id, lower case: its resource group, provider type and name.
_ARM_ID = re.compile(r"^/subscriptions/[^/]+/resourcegroups/([^/]+)/providers/([^/]+/[^/]+)/([^/]+)$")

# The ARM provider type of each resource an alert may be scoped to, and the property holding its ARM name.
_ARM_TYPES: dict[str, tuple[str, str]] = {
    tokens.AZ_WEB_APP: ("microsoft.web/sites", "name"),
    tokens.AZC_LINUX_WEB_APP: ("microsoft.web/sites", "name"),
    tokens.AZC_WINDOWS_WEB_APP: ("microsoft.web/sites", "name"),
    tokens.AZ_REDIS: ("microsoft.cache/redis", "name"),
    tokens.AZC_REDIS: ("microsoft.cache/redis", "name"),
    tokens.AZ_MANAGED_REDIS: ("microsoft.cache/redisenterprise", "clusterName"),
    tokens.AZC_MANAGED_REDIS: ("microsoft.cache/redisenterprise", "name"),
    tokens.AZ_STORAGE_ACCOUNT: ("microsoft.storage/storageaccounts", "accountName"),
    tokens.AZC_STORAGE_ACCOUNT: ("microsoft.storage/storageaccounts", "name"),
}


@dataclass(frozen=True)
class ReplicationRule:
    """One S3 replication rule: `owner` declares it (a `BucketReplicationConfig`, or the bucket itself for
    the deprecated inline block) under the top-level property `prop`, whose dependencies name the
    destination bucket while its ARN is still unknown."""

    owner: Resource
    prop: str
    status: Any
    destination: Any
    rule: Any = None  # the rule block as written, for what it copies (filter, SSE-KMS opt-in, priority)
    destination_block: Any = None  # its destination block (replica KMS key, RTC)
    index: int = 0  # its position in its configuration, to name a rule without an id


@dataclass(frozen=True)
class AlertScopes:
    """The metric alerts whose `scopes` cover one Service Bus namespace (see `metric_alerts_scoped_to`).

    `covering`: alerts that certainly cover it, in stack order. `floating`: alerts whose scopes are not
    known yet and that no dependency settles, so they may cover any namespace; the same list for every
    namespace (an alert in both lists covers this namespace for certain).
    """

    covering: list[Resource]
    floating: list[Resource]


def _scalar(value: Any) -> bool:
    """Only scalars can name a resource (a malformed dict or list must not crash a lookup)."""
    return isinstance(value, str | int | float)


class _References:
    """Where the `prop` of each source points: by dependency URN and by scalar value. A source whose value
    is unknown and that has no dependencies could point anywhere, so it makes every join undecided. With
    `project_of`, values are also indexed per Atlas project (a cluster name is unique only in its project)."""

    def __init__(
        self, sources: list[Resource], prop: str, project_of: Callable[[Resource], Any] | None = None
    ) -> None:
        self.sources = sources
        self.by_dependency: dict[str, list[int]] = defaultdict(list)
        self.by_value: dict[Any, list[int]] = defaultdict(list)
        self.in_project: dict[tuple[Any, str], list[int]] = defaultdict(list)
        self.anywhere: dict[Any, list[int]] = defaultdict(list)
        self.undecided = False
        for position, source in enumerate(sources):
            deps = source.property_dependencies.get(prop) or ()
            for urn in deps:
                self.by_dependency[urn].append(position)
            value = get(source.props, prop)
            if is_unknown(value):
                self.undecided = self.undecided or not deps
            elif _scalar(value):
                self.by_value[value].append(position)
                project = project_of(source) if project_of is not None else None
                if isinstance(project, str):
                    self.in_project[(value, project)].append(position)
                else:
                    self.anywhere[value].append(position)

    def find(self, urn: str, names: Iterable[Any], project: Any = None) -> list[Resource]:
        """Sources that depend on `urn` or whose value is one of `names`, in stack order; with `project`
        (a str), value matches known to be in another project are left out."""
        positions = set(self.by_dependency.get(urn, ()))
        for name in names:
            if isinstance(project, str):
                positions.update(self.in_project.get((name, project), ()))
                positions.update(self.anywhere.get(name, ()))
            else:
                positions.update(self.by_value.get(name, ()))
        return [self.sources[i] for i in sorted(positions)]


class _Targets:
    """Resources of some types by URN and by every value that names them (`identities`, and their id
    unless `with_id` is false), with their positions so a join returns them in stack order. With
    `project_of`, names are also indexed per Atlas project: a cluster name is unique only in its project."""

    def __init__(
        self,
        targets: list[Resource],
        identities: Callable[[Resource], Iterable[Any]],
        with_id: bool,
        project_of: Callable[[Resource], Any] | None = None,
    ) -> None:
        self.targets = targets
        # Stack order by object: results gathered from several lookups are sorted back into it.
        self.position: dict[int, int] = {id(target): i for i, target in enumerate(targets)}
        self.by_urn: dict[str, list[int]] = defaultdict(list)
        self.by_name: dict[Any, list[int]] = defaultdict(list)
        # (name, project) for targets in a known project; name alone for those whose project is not.
        self.in_project: dict[tuple[Any, str], list[int]] = defaultdict(list)
        self.anywhere: dict[Any, list[int]] = defaultdict(list)
        for position, target in enumerate(targets):
            self.by_urn[target.urn].append(position)
            names = {v for v in ((target.id,) if with_id else ()) + tuple(identities(target)) if _scalar(v)}
            project = project_of(target) if project_of is not None else None
            for name in names:
                self.by_name[name].append(position)
                if isinstance(project, str):
                    self.in_project[(name, project)].append(position)
                else:
                    self.anywhere[name].append(position)

    def find(self, urns: Iterable[str] = (), name: Any = MISSING, project: Any = None) -> list[Resource]:
        """The targets with one of `urns` or named `name`, in stack order. With `project` (a key from
        `StackView.atlas_project`), named targets known to be in another project are left out."""
        positions = {i for urn in urns for i in self.by_urn.get(urn, ())}
        if _scalar(name):
            if isinstance(project, str):
                positions.update(self.in_project.get((name, project), ()))
                positions.update(self.anywhere.get(name, ()))
            else:
                positions.update(self.by_name.get(name, ()))
        return [self.targets[i] for i in sorted(positions)]


class _AlertIndex:
    """Metric alerts by what their `scopes` name: a dependency URN, an exact ARM id, a namespace name at
    the end of an id, or (multi-resource alerts on Service Bus namespaces) a resource group or
    subscription id that holds namespaces."""

    def __init__(self, alerts: list[Resource]) -> None:
        self.alerts = alerts
        self.by_dependency: dict[str, set[int]] = defaultdict(set)
        self.by_id: dict[str, set[int]] = defaultdict(set)
        self.by_namespace_name: dict[str, set[int]] = defaultdict(set)
        self.by_container: dict[str, set[int]] = defaultdict(set)
        # (provider type, name) of a literal top-level ARM id -> (alert position, resource group).
        self.by_type_name: dict[tuple[str, str], list[tuple[int, str]]] = defaultdict(list)
        self.by_type: dict[str, list[tuple[int, str]]] = defaultdict(list)
        self.position: dict[int, int] = {id(alert): i for i, alert in enumerate(alerts)}
        floating: list[int] = []
        for position, alert in enumerate(alerts):
            deps = alert.property_dependencies.get("scopes", ())
            for urn in deps:
                self.by_dependency[urn].add(position)
            scopes = items(get(alert.props, "scopes"))
            if is_unknown(scopes):
                if not deps:
                    floating.append(position)
                continue
            if any(is_unknown(s) for s in scopes) and not deps:
                floating.append(position)
            target_type = get(alert.props, "targetResourceType")
            multi_resource = (
                isinstance(target_type, str) and target_type.lower() == tokens.SB_METRIC_NAMESPACE.lower()
            )
            for scope in scopes:
                if not isinstance(scope, str):
                    continue
                scope = scope.lower().rstrip("/")
                self.by_id[scope].add(position)
                literal = _ARM_ID.match(scope)
                if literal:
                    group, provider, name = literal.groups()
                    self.by_type_name[(provider, name)].append((position, group))
                    self.by_type[provider].append((position, group))
                if multi_resource:
                    self.by_container[scope].add(position)
                start = scope.find(_SB_NAMESPACE_MARKER)
                while start != -1:
                    self.by_namespace_name[scope[start + len(_SB_NAMESPACE_MARKER) :]].add(position)
                    start = scope.find(_SB_NAMESPACE_MARKER, start + 1)
        self.floating = [alerts[i] for i in floating]

    def covering(self, namespace: Resource, name: str | None) -> list[Resource]:
        positions = set(self.by_dependency.get(namespace.urn, ()))
        if name is not None:
            positions |= self.by_namespace_name.get(name.lower(), set())
        if isinstance(namespace.id, str) and namespace.id:
            namespace_id = namespace.id.lower()
            positions |= self.by_id.get(namespace_id, set())
            # Every prefix of the id that ends before a "/" is a container (resource group, subscription).
            slash = namespace_id.find("/")
            while slash != -1:
                positions |= self.by_container.get(namespace_id[:slash], set())
                slash = namespace_id.find("/", slash + 1)
        return [self.alerts[i] for i in sorted(positions)]

    def by_arm_name(self, provider: str, name: Any, group: Any) -> tuple[set[int], set[int]]:
        """Alerts whose literal ARM id names a resource by provider type, name and resource group (a
        resource being created has no id to compare yet): (certainly it, perhaps it while its name or
        resource group is not known)."""
        if isinstance(name, str):
            candidates = self.by_type_name.get((provider, name.lower()), [])
        else:
            candidates = self.by_type.get(provider, []) if is_unknown(name) else []
        certain: set[int] = set()
        maybe: set[int] = set()
        for position, scope_group in candidates:
            if isinstance(group, str) and scope_group != group.lower():
                continue  # another resource group: not this resource, whatever its name
            if isinstance(group, str) and isinstance(name, str):
                certain.add(position)
            elif is_unknown(group) or is_unknown(name):
                maybe.add(position)
        return certain, maybe - certain


class StackView:
    """The resources of one stack and the indexes every stack rule joins through (see the module doc)."""

    def __init__(self, resources: Sequence[Resource]) -> None:
        self.resources = list(resources)
        self._by_type: dict[str, list[Resource]] = defaultdict(list)
        self._by_urn: dict[str, Resource] = {}
        self._project_ids: dict[str, str] | None = None
        self._projects: dict[tuple[int, str], tuple[Resource, Any]] = {}
        self._members: dict[frozenset[str], tuple[dict[str, list[Resource]], list[Resource]]] = {}
        self._references: dict[tuple[frozenset[str], str], _References] = {}
        self._targets: dict[str, _Targets] = {}
        self._urns: dict[frozenset[str], frozenset[str]] = {}
        self._dependents: dict[str, list[tuple[Resource, str]]] | None = None
        self._alerts: dict[frozenset[str], _AlertIndex] = {}
        self._export_buckets: list[Resource] | None = None
        self._unnamed_workflows: tuple[list[Resource], list[Resource]] | None = None
        self._schedules: _References | None = None
        self._positions: dict[int, int] | None = None
        self._attached: dict[tuple[Any, ...], list[Resource]] = {}
        self._replication_rules: dict[int, tuple[Resource, list[ReplicationRule], bool]] = {}
        # Every type a rule asked for: the report's "N of M resources are of a type backstop checks".
        self.types_read: set[str] = set()
        for resource in self.resources:
            self._by_type[resource.type].append(resource)
            self._by_urn[resource.urn] = resource

    # --- by type, URN and property dependency -----------------------------------------------------------

    def of(self, types: Iterable[str] | str) -> list[Resource]:
        """The resources of `types`, type by type in the order given, each type in stack order."""
        wanted = [types] if isinstance(types, str) else list(types)
        self.types_read.update(wanted)
        return [r for t in wanted for r in self._by_type.get(t, [])]

    def in_order(self, types: Iterable[str]) -> list[Resource]:
        """The resources of `types` in stack order (not type by type, as `of` lists them)."""
        if self._positions is None:
            self._positions = {id(r): i for i, r in enumerate(self.resources)}
        positions = self._positions
        return sorted(self.of(types), key=lambda r: positions[id(r)])

    def by_urn(self, urn: str) -> Resource | None:
        """The resource with this URN (the last one, should a document repeat a URN)."""
        return self._by_urn.get(urn)

    def urns_of(self, types: Iterable[str] | str) -> frozenset[str]:
        """The URNs of the resources of `types`, for membership tests (built once per set of types)."""
        key = frozenset([types] if isinstance(types, str) else types)
        found = self._urns.get(key)
        if found is None:
            found = self._urns[key] = frozenset(r.urn for r in self.of(key))
        return found

    @property
    def stack(self) -> str:
        return self.resources[0].stack if self.resources else ""

    def dependencies(
        self, resource: Resource, prop: str, types: Iterable[str] | None = None
    ) -> list[Resource]:
        """The declared resources (of `types`, if given) that the engine says `resource.props[prop]` was
        computed from, in dependency order. URNs of resources not in this stack are left out."""
        wanted = None if types is None else frozenset(types)
        if wanted is not None:
            self.types_read.update(wanted)
        found = [self._by_urn.get(urn) for urn in resource.property_dependencies.get(prop, ())]
        return [r for r in found if r is not None and (wanted is None or r.type in wanted)]

    def dependents(
        self, target: Resource, types: Iterable[str] | None = None, prop: str | None = None
    ) -> list[Resource]:
        """The resources (of `types`, and only through `prop`, if given) with a property the engine says
        was computed from `target`, in stack order: the reverse of `dependencies`, from one index."""
        if self._dependents is None:
            self._dependents = defaultdict(list)
            for resource in self.resources:
                for key, urns in resource.property_dependencies.items():
                    for urn in dict.fromkeys(urns):
                        self._dependents[urn].append((resource, key))
        wanted = None if types is None else frozenset(types)
        if wanted is not None:
            self.types_read.update(wanted)
        found: dict[int, Resource] = {}
        for resource, key in self._dependents.get(target.urn, ()):
            if (prop is None or key == prop) and (wanted is None or resource.type in wanted):
                found.setdefault(id(resource), resource)
        return list(found.values())

    # --- generic joins ----------------------------------------------------------------------------------

    def points_at(self, source: Resource, prop: str, target: Resource, *identities: Any) -> bool | Any:
        """Does `source.props[prop]` refer to `target`? True, False, or `UNKNOWN` when it cannot be told.

        `identities` are the values that name the target (its id, name, ARN…); the target's id is always one.
        For one pair only: joins over many resources use `attached` or `referenced`, which are indexed.
        """
        deps = source.property_dependencies.get(prop)
        if deps and target.urn in deps:
            return True
        value = get(source.props, prop)
        if value is MISSING:
            return False
        names = {v for v in (target.id, *identities) if _scalar(v)}
        if is_unknown(value):
            # Known dependencies that name a different resource settle it; otherwise we cannot tell.
            if deps:
                return False
            return UNKNOWN
        return _scalar(value) and value in names

    def attached(
        self, types: Iterable[str], target: Resource, prop: str, *identities: Any
    ) -> tuple[list[Resource], bool]:
        """Resources of `types` whose `prop` refers to `target` (as `points_at` decides), in stack order,
        and whether some could not be resolved (an unknown `prop` with no dependency may be any target).
        Indexed once per (types, prop), so joining every bucket of a big stack stays linear."""
        key = (frozenset([types] if isinstance(types, str) else types), prop)
        refs = self._references.get(key)
        if refs is None:
            refs = self._references[key] = _References(self.of(key[0]), prop)
        names = frozenset(v for v in (target.id, *identities) if _scalar(v))
        # Several rules join the same bucket or account: answer each question once.
        asked = (key, target.urn, names)  # all `find` depends on
        found = self._attached.get(asked)
        if found is None:
            found = self._attached[asked] = refs.find(target.urn, names)
        return list(found), refs.undecided

    def referenced(self, source: Resource, prop: str, kind: str) -> tuple[list[Resource], bool]:
        """The resources of index `kind` ("clusters", "buckets", "storage accounts", "namespaces") that
        `source.props[prop]` refers to (as `points_at` decides, the reverse of `attached`), in stack order,
        and whether that is undecided: the value is unknown and no dependency settles it, so it may be any
        of them (undecided only when there is at least one)."""
        index = self._index(kind)
        deps = source.property_dependencies.get(prop) or ()
        value = get(source.props, prop)
        if is_unknown(value):
            return index.find(deps), not deps and bool(index.targets)
        return index.find(deps, value), False

    def _index(self, kind: str) -> _Targets:
        index = self._targets.get(kind)
        if index is None:
            types, identities, with_id = _KINDS[kind]
            project_of = self.atlas_project if types & tokens.ATLAS_CLUSTERS else None
            index = self._targets[kind] = _Targets(self.of(types), identities, with_id, project_of)
        return index

    # --- S3 buckets, by name and ARN --------------------------------------------------------------------

    def bucket_identities(self, bucket: Resource) -> tuple[Any, ...]:
        """The values other resources use to name an S3 bucket: its name (= id in pulumi-aws) and ARN."""
        return _bucket_identities(bucket)

    def buckets_named(self, name: Any) -> list[Resource]:
        """The declared S3 buckets (v7 and V2) that `name` names: their id, name or ARN, in stack order."""
        return self._index("buckets").find(name=name)

    def bucket_settings(self, bucket: Resource, types: Iterable[str]) -> tuple[list[Resource], bool]:
        """The split-out v7 (and deprecated V2) setting resources attached to `bucket`."""
        return self.attached(types, bucket, "bucket", *_bucket_identities(bucket))

    def replication_rules(self, bucket: Resource) -> tuple[list[ReplicationRule], bool]:
        """The replication rules whose source is `bucket`, from `BucketReplicationConfig`s and from the
        deprecated inline block (`replicationConfiguration.rules[]` on Bucket,
        `replicationConfigurations[].rules[].destinations[]` on BucketV2), and whether some could not be
        read or joined yet."""
        kept = self._replication_rules.get(id(bucket))
        if kept is not None and kept[0] is bucket:  # the bucket is kept alive, so its id is not reused
            return list(kept[1]), kept[2]
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
            for index, rule in enumerate([] if is_unknown(listed) else listed):
                status = get(rule, "status")
                if prop == "replicationConfigurations":
                    targets = items(get(rule, "destinations"))
                    undecided = undecided or is_unknown(targets)
                    for target in [] if is_unknown(targets) else targets:
                        found.append(
                            ReplicationRule(owner, prop, status, get(target, "bucket"), rule, target, index)
                        )
                else:
                    destination = get(rule, "destination")
                    found.append(
                        ReplicationRule(
                            owner, prop, status, get(rule, "destination.bucket"), rule, destination, index
                        )
                    )
        self._replication_rules[id(bucket)] = (bucket, found, undecided)
        return list(found), undecided

    def replication_targets(self, rule: ReplicationRule, source: Resource) -> list[Resource]:
        """The declared buckets `rule` copies to: the one its destination names, else (the ARN is unknown
        at first preview, or spelled differently) the buckets the rule's property was computed from."""
        index = self._index("buckets")
        if isinstance(rule.destination, str):
            named = [b for b in index.find(name=rule.destination) if b.urn != source.urn]
            if named:
                return named
        deps = rule.owner.property_dependencies.get(rule.prop, ())
        return [b for b in index.find(deps) if b.urn != source.urn]

    def export_buckets(self) -> list[Resource]:
        """S3 buckets that hold Atlas snapshot exports, and the replicas they copy to (computed once)."""
        if self._export_buckets is not None:
            return list(self._export_buckets)
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
        self._export_buckets = result
        return list(result)

    def export_targets_of(self, bucket: Resource) -> tuple[list[Resource], bool]:
        """Atlas export targets (`CloudBackupSnapshotExportBucket`) whose `bucketName` is this S3 bucket."""
        return self.attached([tokens.ATLAS_EXPORT_BUCKET], bucket, "bucketName", *_bucket_identities(bucket))

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

    # --- Azure storage accounts and Service Bus namespaces ----------------------------------------------

    def storage_account_name(self, account: Resource) -> Any:
        """A storage account's name: its `accountName`, else the Pulumi resource name (auto-naming)."""
        return _account_name(account)

    def storage_accounts_named(self, name: Any) -> list[Resource]:
        """The declared storage accounts `name` names (their account name or ARM id), in stack order."""
        return self._index("storage accounts").find(name=name)

    def storage_account_settings(
        self, account: Resource, types: Iterable[str], prop: str = "accountName"
    ) -> tuple[list[Resource], bool]:
        """Resources of `types` (`BlobServiceProperties`, containers…) whose `prop` names `account`, by
        dependency or by its name or id, and whether an unknown `prop` left that undecided."""
        return self.attached(types, account, prop, _account_name(account))

    def namespace_name(self, namespace: Resource) -> str:
        """A Service Bus namespace's name: its `namespaceName` (classic pulumi-azure: `name`), else the
        Pulumi resource name."""
        return _namespace_name(namespace)

    def namespaces_named(self, name: Any) -> list[Resource]:
        """The declared Service Bus namespaces (azure-native and classic) `name` names (their ARM id or
        name), in stack order."""
        return self._index("namespaces").find(name=name)

    def metric_alerts_scoped_to(
        self, namespace: Resource, types: Iterable[str] = tokens.AZ_METRIC_ALERTS
    ) -> AlertScopes:
        """The metric alerts (of `types`) whose `scopes` include a Service Bus namespace.

        An alert covers the namespace when the engine says its `scopes` were computed from it, or a scope
        is the namespace's ARM id or ends in `/providers/Microsoft.ServiceBus/namespaces/<name>`, or (a
        multi-resource alert with `targetResourceType` `Microsoft.ServiceBus/namespaces`) a scope is the
        resource group or subscription id that holds it. Case and a trailing "/" are ignored, as in ARM.
        """
        key = frozenset(types)
        index = self._alerts.get(key)
        if index is None:
            index = self._alerts[key] = _AlertIndex(self.of(key))
        return AlertScopes(index.covering(namespace, _namespace_name(namespace)), index.floating)

    def metric_alerts_on(
        self, resource: Resource, types: Iterable[str] = tokens.AZ_METRIC_ALERTS
    ) -> AlertScopes:
        """The metric alerts (of `types`) whose `scopes` name `resource` itself, any kind of resource (a web
        app, a cache, a storage account): by the engine's dependency or by its ARM id (case and a trailing
        "/" ignored), or by the resource group, provider type and name a literal ARM id spells (a resource
        being created has no id yet); while its name or resource group is unknown, such an alert is only
        `floating` (perhaps it), never a definite miss. Same index as `metric_alerts_scoped_to`."""
        key = frozenset(types)
        index = self._alerts.get(key)
        if index is None:
            index = self._alerts[key] = _AlertIndex(self.of(key))
        covering = index.covering(resource, None)
        arm = _ARM_TYPES.get(resource.type)
        if arm is None:
            return AlertScopes(covering, index.floating)
        name, group = get(resource.props, arm[1]), self._resource_group(resource)
        if name is MISSING:
            name = UNKNOWN  # auto-named: the provider appends a random suffix when it creates it
        certain, maybe = index.by_arm_name(arm[0], name, group)
        certain |= {index.position[id(a)] for a in covering}
        covering = [index.alerts[i] for i in sorted(certain)]
        floating = index.floating + [index.alerts[i] for i in sorted(maybe - certain)]
        return AlertScopes(covering, floating)

    def _resource_group(self, resource: Resource) -> Any:
        """A resource's resource group name: its `resourceGroupName`, else (computed) the name of the
        declared resource group it was computed from; `UNKNOWN` when neither tells."""
        value = get(resource.props, "resourceGroupName")
        if not is_unknown(value):
            return value
        for urn in resource.property_dependencies.get("resourceGroupName", ()):
            group = self._by_urn.get(urn)
            if group is not None and group.type in (tokens.AZ_RESOURCE_GROUP, tokens.AZC_RESOURCE_GROUP):
                name = get(
                    group.props, "resourceGroupName" if group.type == tokens.AZ_RESOURCE_GROUP else "name"
                )
                if isinstance(name, str):
                    return name
        return UNKNOWN

    def action_groups_notified(self, alert: Resource) -> tuple[list[Resource], bool]:
        """The declared action groups an alert's `actions[].actionGroupId` name, in stack order, and
        whether some action could name any of them. Groups are found by the engine's dependencies of
        `actions`, and by id as ARM compares them (case and a trailing "/" ignored) or by the group name at
        the end of the id (a CrossGuard resource carries no id); an unknown id with no dependency to settle
        it is undecided."""
        index = self._index("action groups")
        deps = alert.property_dependencies.get("actions") or ()
        actions = items(get(alert.props, "actions"))
        if is_unknown(actions):
            return index.find(deps), not deps and bool(index.targets)
        found = {id(g): g for g in index.find(deps)}
        unresolved = False
        for action in actions:
            group_id = get(action, "actionGroupId")
            if isinstance(group_id, str):
                key = group_id.lower().rstrip("/")
                for name in (
                    (key, "name:" + key.rsplit("/actiongroups/", 1)[-1])
                    if "/actiongroups/" in key
                    else (key,)
                ):
                    for group in index.find((), name):
                        found.setdefault(id(group), group)
            elif is_unknown(group_id):
                unresolved = True
        order = index.position
        return sorted(found.values(), key=lambda g: order[id(g)]), unresolved and not deps and bool(
            index.targets
        )

    def logic_workflows_named(self, value: str) -> tuple[list[Resource], list[Resource]]:
        """The declared Logic App workflows (azure-native and classic) a receiver's `value` names, in
        stack order, and those it may name while their own id, name or endpoint is not known yet (a first
        preview).

        `value` is an ARM id (compared as ARM does: case and a trailing "/" ignored), a literal id spelling
        `.../providers/Microsoft.Logic/workflows/<workflowName>`, or a trigger URL (a callback URL such as
        `https://prod-27.eastus.logic.azure.com:443/workflows/<key>/triggers/...`), which starts with the
        workflow's `accessEndpoint`; or the workflow's id exactly as the stack records it."""
        index = self._index("logic workflows")
        key = value.lower().rstrip("/")
        found: dict[int, Resource] = {}
        maybe: list[Resource] = []
        if self._unnamed_workflows is None:
            by_id, by_url = [], []
            for workflow in index.targets:
                if _arm_id(workflow) is None and not isinstance(_workflow_name(workflow), str):
                    by_id.append(workflow)
                if not isinstance(get(workflow.props, "accessEndpoint"), str):
                    by_url.append(workflow)
            self._unnamed_workflows = (by_id, by_url)
        for workflow in index.find((), key):
            found.setdefault(id(workflow), workflow)
        if _LOGIC_WORKFLOW_MARKER in key:
            name = key.split(_LOGIC_WORKFLOW_MARKER, 1)[1].split("/", 1)[0]
            for workflow in index.find((), "name:" + name):
                found.setdefault(id(workflow), workflow)
            maybe = self._unnamed_workflows[0]
        elif key.startswith("https://") and "/workflows/" in key:
            endpoint = _endpoint(key.split("/triggers/", 1)[0])
            for workflow in index.find((), "endpoint:" + endpoint):
                found.setdefault(id(workflow), workflow)
            host = (urlsplit(key).hostname or "").lower()
            if any(host.endswith(suffix) for suffix in _LOGIC_HOSTS):
                maybe = self._unnamed_workflows[1]
        order = index.position
        named = sorted(found.values(), key=lambda w: order[id(w)])
        return named, [w for w in maybe if id(w) not in found]

    # --- Atlas: projects and clusters -------------------------------------------------------------------

    def cluster_name(self, cluster: Resource) -> Any:
        """A cluster's Atlas name: its `name`, else the Pulumi resource name."""
        return _cluster_name(cluster)

    def clusters_named(self, name: Any, project: Any = None) -> list[Resource]:
        """The declared clusters (advanced and legacy) whose Atlas name is `name`, in stack order. A name is
        unique only within a project: with `project` (a key from `atlas_project`), clusters known to be in
        another project are left out (those whose project is not known stay in)."""
        return self._index("cluster names").find(name=name, project=project)

    def schedules_for(self, cluster: Resource) -> tuple[list[Resource], bool]:
        """Cloud Backup schedules whose `clusterName` is this cluster's (by dependency or by value), in the
        cluster's project when both are known: a cluster name is unique only within its project."""
        if self._schedules is None:
            schedules = self.of(tokens.ATLAS_BACKUP_SCHEDULE)
            self._schedules = _References(schedules, "clusterName", self.atlas_project)
        names = {v for v in (cluster.id, _cluster_name(cluster)) if _scalar(v)}
        matches = self._schedules.find(cluster.urn, names, self.atlas_project(cluster))
        return [s for s in matches if self.same_project(s, cluster) is not False], self._schedules.undecided

    def cluster_for(self, schedule: Resource) -> tuple[Resource | None, bool]:
        """The declared cluster a schedule backs up (the reverse of `schedules_for`), and whether an
        unknown `clusterName` left that undecided."""
        index = self._index("clusters")
        deps = schedule.property_dependencies.get("clusterName") or ()
        value = get(schedule.props, "clusterName")
        if is_unknown(value):
            clusters, undecided = index.find(deps), not deps and bool(index.targets)
        else:
            clusters, undecided = index.find(deps, value, self.atlas_project(schedule)), False
        for cluster in clusters:
            if self.same_project(schedule, cluster) is not False:
                return cluster, False
        return None, undecided

    def atlas_project(self, resource: Resource, prop: str = "projectId") -> Any:
        """The Atlas project `resource` belongs to: the URN of the declared `Project`, else the project id
        as written; `UNKNOWN` when it cannot be told yet, None when `prop` is not set. Memoised.

        A `projectId` is often another resource's output (a schedule takes its cluster's), so the engine's
        dependencies are followed through resources that carry a `projectId` of their own.
        """
        key = (id(resource), prop)
        kept = self._projects.get(key)
        if kept is None or kept[0] is not resource:  # kept alive with its answer, so its id is not reused
            kept = self._projects[key] = (resource, self._atlas_project(resource, prop, set()))
        return kept[1]

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

    def in_project(self, types: Iterable[str] | str, project: Any) -> list[Resource]:
        """The resources of `types` whose `atlas_project` is `project` (a key `atlas_project` returned), in
        stack order; `in_project(types, UNKNOWN)` lists those whose project is not known yet."""
        key = frozenset([types] if isinstance(types, str) else types)
        members = self._members.get(key)
        if members is None:
            by_project: dict[str, list[Resource]] = defaultdict(list)
            floating: list[Resource] = []
            for resource in self.of(key):
                found = self.atlas_project(resource)
                if isinstance(found, str):
                    by_project[found].append(resource)
                elif is_unknown(found):
                    floating.append(resource)
            members = self._members[key] = (by_project, floating)
        else:
            self.types_read.update(key)
        if is_unknown(project):
            return list(members[1])
        return list(members[0].get(project, ())) if isinstance(project, str) else []


def _bucket_identities(bucket: Resource) -> tuple[Any, ...]:
    name = get(bucket.props, "bucket")
    arn = get(bucket.props, "arn")
    # Only known, non-empty strings name a bucket (an unknown name has no truth value to test).
    candidates = (name, arn, f"arn:aws:s3:::{name}" if isinstance(name, str) else None)
    return tuple(v for v in candidates if isinstance(v, str) and v)


def _cluster_name(cluster: Resource) -> Any:
    name = get(cluster.props, "name")
    return cluster.name if name is MISSING else name


def _account_name(account: Resource) -> Any:
    name = get(account.props, "accountName")
    return account.name if name is MISSING else name


def _namespace_name(namespace: Resource) -> str:
    # azure-native names a namespace in `namespaceName`, classic pulumi-azure in `name`.
    name = get(namespace.props, "namespaceName" if namespace.type == tokens.AZ_SB_NAMESPACE else "name")
    return name if isinstance(name, str) and name else namespace.name


# Indexes `referenced` and the `…_named` accessors read: (types, the values naming one, is its id one).
_KINDS: dict[str, tuple[frozenset[str], Callable[[Resource], Iterable[Any]], bool]] = {
    "clusters": (tokens.ATLAS_CLUSTERS, lambda c: (_cluster_name(c),), True),
    "cluster names": (tokens.ATLAS_CLUSTERS, lambda c: (_cluster_name(c),), False),
    "buckets": (tokens.S3_BUCKETS, _bucket_identities, True),
    "storage accounts": (frozenset({tokens.AZ_STORAGE_ACCOUNT}), lambda a: (_account_name(a),), True),
    "namespaces": (tokens.AZ_SB_NAMESPACES, lambda n: (_namespace_name(n),), True),
    "action groups": (tokens.AZ_ACTION_GROUPS, lambda g: (_arm_id(g), _group_name(g)), False),
    "logic workflows": (tokens.AZ_LOGIC_WORKFLOWS, lambda w: _workflow_identities(w), False),
}

# A literal ARM id of a Logic App workflow, lower case; the hosts of Logic App trigger URLs (Azure public,
# US Government and China clouds).
_LOGIC_WORKFLOW_MARKER = "/providers/microsoft.logic/workflows/"
_LOGIC_HOSTS = (".logic.azure.com", ".logic.azure.us", ".logic.azure.cn")


def _endpoint(url: str) -> str:
    """A Logic App endpoint as compared here: lower case, no trailing "/", no default `:443`."""
    return url.lower().rstrip("/").replace(":443/", "/")


def _workflow_name(workflow: Resource) -> Any:
    return get(workflow.props, "workflowName" if workflow.type == tokens.AZ_LOGIC_WORKFLOW else "name")


def _workflow_identities(workflow: Resource) -> tuple[Any, ...]:
    """What names a workflow: its ARM id, `name:<workflowName>` (classic: `name`) and
    `endpoint:<accessEndpoint>`."""
    name = _workflow_name(workflow)
    endpoint = get(workflow.props, "accessEndpoint")
    return (
        _arm_id(workflow),
        "name:" + name.lower() if isinstance(name, str) and name else None,
        "endpoint:" + _endpoint(endpoint) if isinstance(endpoint, str) and endpoint else None,
    )


def _group_name(group: Resource) -> str:
    """`name:<group name>` as an ARM id ends (`…/actionGroups/<name>`), lower case."""
    name = get(group.props, "actionGroupName")
    if not isinstance(name, str) or not name:
        name = get(group.props, "name") if group.type == tokens.AZC_ACTION_GROUP else MISSING
    return "name:" + (name if isinstance(name, str) and name else group.name).lower()


def _arm_id(resource: Resource) -> Any:
    """An ARM id as ARM compares them: lower case, no trailing "/"."""
    return resource.id.lower().rstrip("/") if isinstance(resource.id, str) else None


__all__ = ["UNKNOWN", "AlertScopes", "ReplicationRule", "StackView"]
