"""Recovery objectives: what the declared resources can actually achieve, scenario by scenario.

The RPO column is derived from declared resources, never from hand-written numbers: the point-in-time
window, the snapshot cadence, what is copied to another region and how often, how often snapshots leave
for the offsite export bucket, whether object storage replicates, whether queues dead-letter. The RTO
column is the estimate for the recovery mechanism the resources make available (the seed's "Achievement"
column, in `backstop:objectives.estimates`), replaced by the time a restore drill measured when one did.
A scenario with no mechanism at all is unbounded and always misses its target.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from backstop.config import ObjectivesConfig
from backstop.ground import seeds, tokens
from backstop.ground.envelope import json_document
from backstop.ground.resources import Resource, is_unknown
from backstop.policy.rules.atlas_common import cluster_regions, region_loss_rpo_hours
from backstop.policy.rules.azure_storage_geo_redundant import check as geo_redundant
from backstop.policy.rules.s3_common import replica_urns
from backstop.policy.rules.s3_replication_scope import coverage
from backstop.policy.rules.servicebus_common import NEVER_SECONDS, duration_seconds
from backstop.policy.stackview import StackView
from backstop.policy.targets import PolicyTargets
from backstop.policy.values import MISSING, get, is_true, items, number
from backstop.report.app_scenarios import app_scenarios
from backstop.report.rows import ScenarioResult, scenario_row

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
# Atlas snapshot frequency types, as spelled in copy policy items, deprecated copy frequencies and exports.
FREQUENCY_PERIODS = {
    "daily": DAY,
    "weekly": timedelta(days=7),
    "monthly": timedelta(days=31),
    "yearly": timedelta(days=366),
}
# Azure's stated typical RPO for geo-replicated storage (no SLA); LRS/ZRS do not survive a region loss.
AZURE_GEO_RPO = timedelta(minutes=15)
# The seeds' geo-redundant SKUs, as `azure-storage-geo-redundant` holds prod to them.
_GEO_TARGETS = PolicyTargets.for_environment("prod")

SCENARIOS: dict[str, str] = {
    "single_document": "Single-document corruption (operator deletes a wrong record)",
    "single_collection": "Single-collection corruption (logic bug wipes a table)",
    "whole_cluster": "Whole-cluster loss (region outage)",
    "total_loss": "Total catastrophic loss (Atlas data loss)",
    "object_storage": "Object storage (review photos and videos)",
    "queue_messages": "Queue messages (Service Bus)",
}


def human(value: timedelta | None) -> str:
    """Durations as the seeds write them: `0 min`, `30 min`, `6 h`, `7 d`; None is `unbounded`."""
    if value is None:
        return "unbounded"
    seconds = int(value.total_seconds())
    if seconds == 0:
        return "0 min"
    if seconds % 86400 == 0:
        return f"{seconds // 86400} d"
    if seconds % 3600 == 0:
        return f"{seconds // 3600} h"
    if seconds % 60 == 0:
        return f"{seconds // 60} min"
    return f"{seconds} s"


def _worst(values: Iterable[timedelta | None]) -> timedelta | None:
    collected = list(values)
    if not collected or any(v is None for v in collected):
        return None
    return max(v for v in collected if v is not None)


def _hours(value: Any) -> timedelta | None:
    n = None if is_unknown(value) else number(value)
    return None if n is None or n <= 0 else timedelta(hours=n)


# --- Atlas ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _ClusterBackup:
    cluster: Resource
    schedule: Resource | None
    regions: frozenset[str]

    @property
    def pitr(self) -> bool:
        window = get(self.schedule.props, "restoreWindowDays") if self.schedule else MISSING
        days = None if is_unknown(window) else number(window)
        return is_true(get(self.cluster.props, "pitEnabled")) and days is not None and days > 0

    def cadence(self) -> timedelta | None:
        """How often a snapshot is taken: the most frequent policy item."""
        if self.schedule is None:
            return None
        props = self.schedule.props
        hourly = _hours(get(props, "policyItemHourly.frequencyInterval"))
        if hourly is not None:
            return hourly
        if get(props, "policyItemDaily") is not MISSING:
            return DAY
        for key, period in (("policyItemWeeklies", "weekly"), ("policyItemMonthlies", "monthly")):
            listed = items(get(props, key))
            if not is_unknown(listed) and listed:
                return FREQUENCY_PERIODS[period]
        return None

    def copied_cadence(self) -> timedelta | None:
        """What a region loss loses when restoring from the copies (None: nothing is copied out of region).

        Read as Atlas reads copy settings (`atlas-cross-region-copy`): the tiers `copyPolicyItemsEnabled`
        selects that the schedule really takes, and zero when oplogs are copied too with point-in-time
        recovery on and a copied snapshot inside the restore window.
        """
        if self.schedule is None:
            return None
        best: timedelta | None = None
        pit = get(self.cluster.props, "pitEnabled")
        settings = items(get(self.schedule.props, "copySettings"))
        for setting in [] if is_unknown(settings) else settings:
            region = get(setting, "regionName")
            if not isinstance(region, str) or region in self.regions:
                continue
            hours, _ = region_loss_rpo_hours(self.schedule.props, setting, pit)
            if isinstance(hours, float):
                period = timedelta(hours=hours)
                if best is None or period < best:
                    best = period
        return best

    def export_period(self, stack: StackView) -> timedelta | None:
        """How often snapshots leave Atlas for the offsite export bucket."""
        if self.schedule is None or not is_true(get(self.schedule.props, "autoExportEnabled")):
            return None
        if not stack.of(tokens.ATLAS_EXPORT_BUCKET):
            return None
        frequency = get(self.schedule.props, "export.frequencyType")
        return FREQUENCY_PERIODS.get(frequency) if isinstance(frequency, str) else None


def _known_list(value: Any) -> list[Any]:
    listed = items(value)
    return [] if is_unknown(listed) else listed


def _cluster_backups(stack: StackView) -> list[_ClusterBackup]:
    result = []
    for cluster in stack.of(tokens.ATLAS_CLUSTERS):
        schedules, _ = stack.schedules_for(cluster)
        result.append(
            _ClusterBackup(cluster, schedules[0] if schedules else None, cluster_regions(cluster)[0])
        )
    return result


# --- the report -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ObjectivesReport:
    stack: str
    scenarios: list[ScenarioResult]

    @property
    def exit_code(self) -> int:
        return 0 if all(s.met for s in self.scenarios) else 1

    def as_json(self) -> str:
        return json_document(
            "report",
            {
                "stack": self.stack,
                "scenarios": [s.as_dict() for s in self.scenarios],
                "summary": {
                    "met": sum(s.met for s in self.scenarios),
                    "missed": sum(not s.met for s in self.scenarios),
                },
            },
        )

    def as_markdown(self) -> str:
        lines = [
            f"### Recovery objectives: stack `{self.stack}`",
            "",
            "| Scenario | RPO target | RPO achieved | RTO target | RTO achieved | Mechanism | Verdict |",
            "|---|---|---|---|---|---|---|",
        ]
        for s in self.scenarios:
            verdict = (
                "✅ met"
                if s.met
                else "❌ missed "
                + ("RPO and RTO" if not s.rpo_met and not s.rto_met else "RPO" if not s.rpo_met else "RTO")
            )
            rto = f"{human(s.achieved_rto)} ({s.rto_basis})" if s.achieved_rto is not None else "unbounded"
            lines.append(
                f"| {s.title} | {_target(s.target_rpo)} | {human(s.achieved_rpo)} | {_target(s.target_rto)} "
                f"| {rto} | {s.mechanism} | {verdict} |"
            )
        missed = [s.key for s in self.scenarios if not s.met]
        lines += ["", f"{len(self.scenarios) - len(missed)} of {len(self.scenarios)} objectives met."]
        return "\n".join(lines) + "\n"


def _target(value: timedelta) -> str:
    return human(value) if value.total_seconds() == 0 else f"≤ {human(value)}"


def measured_restore_times(drill_results: Sequence[Mapping[str, Any]]) -> dict[str, timedelta]:
    """The latest measured time-to-restore per mechanism, from `backstop drill` result documents."""
    measured: dict[str, tuple[str, timedelta]] = {}
    for result in drill_results:
        mechanism = result.get("mechanism")
        seconds = result.get("timeToRestoreSeconds")
        finished = str(result.get("finishedAt", ""))
        if (
            not isinstance(mechanism, str)
            or not isinstance(seconds, int | float)
            or isinstance(seconds, bool)
        ):
            continue
        if mechanism not in measured or finished > measured[mechanism][0]:
            measured[mechanism] = (finished, timedelta(seconds=seconds))
    return {mechanism: value for mechanism, (_, value) in measured.items()}


def derive(
    resources: Sequence[Resource],
    objectives: ObjectivesConfig,
    *,
    stack: str,
    measured: Mapping[str, timedelta] | None = None,
) -> ObjectivesReport:
    """Compare what the declared resources achieve with the objectives, one row per seed scenario."""
    view = StackView(resources)
    measured = dict(measured or {})
    estimates = objectives.estimates

    def rto(mechanism: str) -> tuple[timedelta, str]:
        if mechanism in measured:
            return measured[mechanism], "measured by drill"
        return getattr(estimates, mechanism), "estimate"

    backups = _cluster_backups(view)
    names = [b.cluster.name for b in backups]
    rows: list[ScenarioResult] = []

    # Single document: oplog replay inside the point-in-time window, else the last snapshot.
    pitr_all = bool(backups) and all(b.pitr for b in backups)
    doc_rpo = timedelta(0) if pitr_all else _worst(b.cadence() for b in backups) if backups else None
    doc_rto, doc_basis = rto("oplog_replay" if pitr_all else "snapshot_restore")
    rows.append(
        _row(
            "single_document",
            objectives,
            doc_rpo,
            doc_rto,
            "point-in-time restore (oplog replay)" if pitr_all else "snapshot restore",
            doc_basis,
            names,
        )
    )

    # Single collection: restore the last snapshot; the snapshot cadence bounds the loss.
    cadence = _worst(b.cadence() for b in backups) if backups else None
    col_rto, col_basis = rto("snapshot_restore")
    rows.append(_row("single_collection", objectives, cadence, col_rto, "snapshot restore", col_basis, names))

    # Whole cluster / region: promote the newest snapshot copied to another region.
    copied = _worst(b.copied_cadence() for b in backups) if backups else None
    region_rto, region_basis = rto("cross_region_restore")
    rows.append(
        _row(
            "whole_cluster",
            objectives,
            copied,
            region_rto if copied is not None else None,
            "cross-region snapshot copy" + (" with oplogs" if _oplogs_copied(backups) else ""),
            region_basis,
            names,
        )
    )

    # Total loss: the offsite export is what survives Atlas itself.
    exported = _worst(b.export_period(view) for b in backups) if backups else None
    export_rto, export_basis = rto("offsite_export_restore")
    rows.append(
        _row(
            "total_loss",
            objectives,
            exported,
            export_rto if exported is not None else None,
            "offsite export to S3",
            export_basis,
            [r.name for r in view.of(tokens.ATLAS_EXPORT_BUCKET)],
        )
    )

    storage_rpo, storage_evidence = _object_storage_rpo(view)
    storage_rto, storage_basis = rto("object_storage_failover")
    rows.append(
        _row(
            "object_storage",
            objectives,
            storage_rpo,
            storage_rto if storage_rpo is not None else None,
            "S3 cross-region replication, Azure geo-redundant storage",
            storage_basis,
            storage_evidence,
        )
    )

    queue_rpo, queue_evidence = _queue_rpo(view)
    queue_rto, queue_basis = rto("dead_letter_replay")
    rows.append(
        _row(
            "queue_messages",
            objectives,
            queue_rpo,
            queue_rto if queue_rpo is not None else None,
            "dead-letter queues, replay with `backstop dlq replay`",
            queue_basis,
            queue_evidence,
        )
    )
    rows.extend(app_scenarios(resources, view, objectives.app, measured))
    return ObjectivesReport(stack, rows)


def _row(
    key: str,
    objectives: ObjectivesConfig,
    rpo: timedelta | None,
    rto: timedelta | None,
    mechanism: str,
    basis: str,
    evidence: list[str],
) -> ScenarioResult:
    return scenario_row(key, SCENARIOS[key], getattr(objectives, key), rpo, rto, mechanism, basis, evidence)


def _oplogs_copied(backups: Sequence[_ClusterBackup]) -> bool:
    return bool(backups) and all(
        any(is_true(get(s, "shouldCopyOplogs")) for s in _known_list(get(b.schedule.props, "copySettings")))
        for b in backups
        if b.schedule is not None
    )


def _object_storage_rpo(view: StackView) -> tuple[timedelta | None, list[str]]:
    """The worst RPO over every bucket and storage account for a loss of their primary region.

    A bucket counts only through replication rules that copy all of it (`s3-replication-scope`): one that
    copies a prefix, skips SSE-KMS objects, is outranked or lands in an unversioned replica leaves the rest
    of the bucket with no cross-region copy, so no RPO.
    """
    rpos: list[timedelta | None] = []
    evidence: list[str] = []
    replicas, _ = replica_urns(view)
    for bucket in view.of(tokens.S3_BUCKETS):
        if bucket.urn in replicas:
            continue  # a replica: it is the copy, not a source of loss
        evidence.append(bucket.name)
        best: timedelta | None = None
        for rule in coverage(view, bucket, seeds.SOURCE_AWS_REGION).complete:
            block = rule.destination_block
            minutes = number(get(block, "replicationTime.time.minutes"))
            controlled = get(block, "replicationTime.status") == "Enabled" and minutes
            # Without Replication Time Control S3 gives no time bound; count the seed's 1 h as not met.
            candidate = timedelta(minutes=minutes) if controlled and minutes else None
            if candidate is not None and (best is None or candidate < best):
                best = candidate
        rpos.append(best)
    for account in view.of(tokens.AZ_STORAGE_ACCOUNTS):
        evidence.append(account.name)
        # Geo-redundant exactly when `azure-storage-geo-redundant` has nothing to say: a geo SKU (azure-native
        # `sku.name`, classic `accountReplicationType`) on an account kind that offers it, none unknown.
        geo = not any(geo_redundant(account, _GEO_TARGETS))
        rpos.append(AZURE_GEO_RPO if geo else None)
    return (_worst(rpos) if rpos else None), evidence


def _queue_rpo(view: StackView) -> tuple[timedelta | None, list[str]]:
    """Zero when no message can be dropped silently: every entity dead-letters and every namespace alerts.
    Both SDKs: classic pulumi-azure spells the subscription's filter flag
    `deadLetteringOnFilterEvaluationError`."""
    entities = view.of(tokens.AZ_SB_QUEUES | tokens.AZ_SB_SUBSCRIPTIONS)
    namespaces = view.of(tokens.AZ_SB_NAMESPACES)
    if not entities:
        return None, []
    evidence = [e.name for e in entities]
    # An entity deleted when idle takes its dead letters with it (`servicebus-auto-delete-on-idle`).
    for entity in view.of(tokens.AZ_SB_QUEUES | tokens.AZ_SB_TOPICS | tokens.AZ_SB_SUBSCRIPTIONS):
        idle = duration_seconds(get(entity.props, "autoDeleteOnIdle"))
        if isinstance(idle, float) and idle < NEVER_SECONDS:
            return None, evidence
    for entity in entities:
        if not is_true(get(entity.props, "deadLetteringOnMessageExpiration")):
            return None, evidence
        if entity.type in tokens.AZ_SB_SUBSCRIPTIONS and (
            get(entity.props, "deadLetteringOnFilterEvaluationExceptions") is False
            or get(entity.props, "deadLetteringOnFilterEvaluationError") is False
        ):
            return None, evidence
    alerts = view.of(tokens.AZ_METRIC_ALERTS)
    for namespace in namespaces:
        covered = any(
            namespace.urn in alert.property_dependencies.get("scopes", ())
            or (namespace.id is not None and namespace.id in _known_list(get(alert.props, "scopes")))
            for alert in alerts
        )
        if not covered:
            return None, evidence
    return timedelta(0), evidence
