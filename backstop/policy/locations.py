"""Where the user acts on a finding: the line to edit, attached after evaluation (rules stay pure).

`backstop check` reads documents in which Pulumi records each resource's `sourcePosition` (the program line
that registered it, `project:///index.ts#5,20` relative to the project, or `file:///abs/path#5,20`).
`backstop plan` runs backstop's own program, whose every value comes from `Pulumi.<stack>.yaml`: there a
finding points at the key of the stack file that decides it (`backstop:atlas.backup.restoreWindowDays`),
found by reading the YAML with positions. A key left to its default points at the deepest section the
file does have, so the line is always one the user can open.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml

from backstop.ground.resources import name_of
from backstop.policy.core import Report, SourceLocation, Violation

_POSITION = re.compile(r"^(?P<scheme>project|file)://(?P<path>/[^#]*)#(?P<line>\d+)(?:,(?P<column>\d+))?$")

# The stack file key each rule's finding comes from, as a path under `config:` (`[]`: the item of a list
# whose `name` the resource's name contains). Rules not listed point at their area's section.
RULE_KEYS: Mapping[str, str] = {
    "atlas-pitr-window": "backstop:atlas.backup.restoreWindowDays",
    "atlas-hourly-snapshot-rpo": "backstop:atlas.backup.hourlyIntervalHours",
    "atlas-snapshot-retention": "backstop:atlas.backup",
    "atlas-copy-retention": "backstop:atlas.backup",
    "atlas-cross-region-copy": "backstop:atlas.backup.copyRegion",
    "atlas-backup-schedule-present": "backstop:atlas.backup",
    "atlas-compliance-policy": "backstop:atlas.compliancePolicy",
    "atlas-backup-alerts": "backstop:atlas.alerts",
    "atlas-replica-set-size": "backstop:atlas.clusters[].electableNodes",
    "atlas-cloud-backup-enabled": "backstop:atlas.clusters[]",
    "atlas-cluster-keeps-backups": "backstop:atlas.clusters[]",
    "atlas-backup-roles-restricted": "backstop:access.projectRoles",
    "atlas-restore-target-not-prod": "backstop:drill",
    "kms-deletion-window": "backstop:aws.kmsDeletionWindowDays",
    "kms-replica-deletion-window": "backstop:aws.kmsDeletionWindowDays",
    "s3-lifecycle-retention": "backstop:aws.noncurrentVersionDays",
    "s3-cross-region-replication": "backstop:aws.replicaRegion",
    "azure-storage-geo-redundant": "backstop:azure.storage.sku",
    "azure-blob-soft-delete": "backstop:azure.storage.blobSoftDeleteDays",
    "azure-blob-recovery-scope": "backstop:azure.storage",
    "servicebus-queue-dead-lettering": "backstop:azure.serviceBus.queues[]",
    "servicebus-delivery-window": "backstop:azure.serviceBus.queues[]",
    "servicebus-dead-letter-alert": "backstop:azure.serviceBus.deadLetterAlert",
    "app-service-plan-zone-redundant": "backstop:app.plan",
    "app-web-app-health-check": "backstop:app.apps[].healthCheckPath",
    "app-web-app-deployment-slot": "backstop:app.apps[].stagingSlot",
    "app-web-app-always-on": "backstop:app.apps[]",
    "acr-geo-replicated": "backstop:app.registry.replicaLocations",
    "acr-retention-keeps-tagged-images": "backstop:app.registry.untaggedRetentionDays",
    "acr-release-tags-locked": "backstop:app.registry",
    "acr-admin-user-disabled": "backstop:app.registry",
    "cloudflare-widget-edge-cache": "backstop:cloudflare",
}
# The section of the stack file a rule's resources come from, by the rule id's prefix.
AREA_KEYS: Sequence[tuple[str, str]] = (
    ("atlas-", "backstop:atlas"),
    ("kms-", "backstop:aws"),
    ("s3-", "backstop:aws"),
    ("azure-", "backstop:azure"),
    ("servicebus-", "backstop:azure.serviceBus"),
    ("app-", "backstop:app"),
    ("acr-", "backstop:app.registry"),
    ("cloudflare-", "backstop:cloudflare"),
)


def parse_source_position(text: Any, project: str = ".") -> SourceLocation | None:
    """`project:///index.ts#5,20` -> `index.ts` (under `project`, the project directory as the user gave
    it), line 5, column 20; `file:///abs#5` keeps its URI; None for anything else."""
    match = _POSITION.match(text) if isinstance(text, str) else None
    if match is None or int(match["line"]) < 1:
        return None
    path = match["path"]
    local = match["scheme"] == "project"
    uri = (Path(project) / path.lstrip("/")).as_posix() if local else f"file://{path}"
    column = int(match["column"]) if match["column"] else None
    return SourceLocation(uri, int(match["line"]), column or None)


def _relocate(report: Report, where: Any) -> Report:
    def located(v: Violation) -> Violation:
        location = where(v)
        return v if location is None else replace(v, location=location)

    return replace(
        report,
        violations=[located(v) for v in report.violations],
        suppressed=[replace(s, violation=located(s.violation)) for s in report.suppressed],
    )


def locate_in_program(report: Report, positions: Mapping[str, str], project: str = ".") -> Report:
    """Point each finding at the program line Pulumi recorded for its resource (`sourcePosition`)."""
    parsed = {urn: parse_source_position(text, project) for urn, text in positions.items()}
    return _relocate(report, lambda v: parsed.get(v.urn))


# --- stack files ----------------------------------------------------------------------------------------


def _config_node(path: Path) -> yaml.MappingNode | None:
    try:
        root = yaml.compose(path.read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None
    if not isinstance(root, yaml.MappingNode):
        return None
    for key, value in root.value:
        if isinstance(key, yaml.ScalarNode) and key.value == "config" and isinstance(value, yaml.MappingNode):
            return value
    return None


def _child(node: yaml.Node, name: str) -> tuple[yaml.Node, yaml.Node] | None:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value == name:
                return key, value
    return None


def _item_for(node: yaml.Node, resource: str) -> tuple[yaml.Node, str] | None:
    """The item of a list whose `name` the resource's logical name contains, the longest such name."""
    if not isinstance(node, yaml.SequenceNode):
        return None
    found: list[tuple[int, yaml.Node, str]] = []
    for index, item in enumerate(node.value):
        named = _child(item, "name")
        if named is not None and isinstance(named[1], yaml.ScalarNode) and named[1].value in resource:
            found.append((len(named[1].value), item, f"[{index}]"))
    if not found:
        return None
    _, item, where = max(found, key=lambda f: f[0])
    return item, where


def key_position(config: yaml.MappingNode, path: str, resource: str) -> tuple[str, int] | None:
    """(the deepest key of `path` the file has, its 1-based line); `[]` picks the list item by name."""
    first, *rest = path.split(".")
    found = _child(config, first)
    if found is None:
        return None
    key_node, node = found
    written, line = first, key_node.start_mark.line + 1
    for part in rest:
        name, pick = part.removesuffix("[]"), part.endswith("[]")
        child = _child(node, name)
        if child is None:
            break
        key_node, node = child
        written, line = f"{written}.{name}", key_node.start_mark.line + 1
        if pick:
            item = _item_for(node, resource)
            if item is None:
                break
            node, index = item
            written, line = f"{written}{index}", node.start_mark.line + 1
    return written, line


def rule_key(rule_id: str) -> str | None:
    if rule_id in RULE_KEYS:
        return RULE_KEYS[rule_id]
    return next((key for prefix, key in AREA_KEYS if rule_id.startswith(prefix)), None)


def locate_in_stack_file(report: Report, stack_file: Path, uri: str | None = None) -> Report:
    """Point each finding of `backstop plan` at the key of `stack_file` that decides it."""
    config = _config_node(stack_file)
    if config is None:
        return report
    shown = uri or stack_file.name

    def where(v: Violation) -> SourceLocation | None:
        path = rule_key(v.policy)
        found = key_position(config, path, name_of(v.urn)) if path else None
        return SourceLocation(shown, found[1], None, found[0]) if found else None

    return _relocate(report, where)
