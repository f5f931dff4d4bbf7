"""Registry retention never removes a tagged image: only untagged manifests may expire, and not early."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator
from typing import Any

from backstop.ground import seeds, tokens
from backstop.ground.resources import Resource, is_unknown
from backstop.policy.core import Finding, Severity, resource_rule, unknown, violation
from backstop.policy.targets import PolicyTargets
from backstop.policy.values import MISSING, fmt, get, number

# `acr purge --filter <repo>:<regex> --ago <d>` deletes the tags the filter matches (and, with
# `--untagged`, the manifests left without one): a tagged image, a prior deployment, is gone.
_PURGE = re.compile(r"\bacr\s+purge\b(?![^\n]*--dry-run)")


def _task_content(task: Resource) -> Any:
    """The task definition an ACR task runs: the base64 `encodedTaskContent` (native `step`, type
    `EncodedTask`) or classic `encodedStep.taskContent`, decoded; MISSING for other kinds of step."""
    path = "encodedStep.taskContent" if task.type == tokens.AZC_REGISTRY_TASK else "step.encodedTaskContent"
    encoded = get(task.props, path)
    if is_unknown(encoded) or not isinstance(encoded, str):
        return encoded
    try:
        return base64.b64decode(encoded, validate=True).decode("utf-8", "replace")
    except (binascii.Error, ValueError):
        return encoded  # written in clear text


def _retention_days(registry: Resource) -> Any:
    """Days an untagged manifest is kept: native `policies.retentionPolicy` when enabled, classic
    `retentionPolicyInDays`; MISSING when no retention policy purges anything."""
    if registry.type == tokens.AZC_REGISTRY:
        return get(registry.props, "retentionPolicyInDays")
    status = get(registry.props, "policies.retentionPolicy.status")
    if is_unknown(status):
        return status
    if not (isinstance(status, str) and status.lower() == "enabled"):
        return MISSING
    days = get(registry.props, "policies.retentionPolicy.days")
    return 7.0 if days is MISSING else days  # Azure's default


@resource_rule(
    id="acr-retention-keeps-tagged-images",
    types=tokens.AZ_REGISTRIES | tokens.AZ_REGISTRY_TASKS,
    description=(
        f"{seeds.SEED_WISER}, Application Layer: 'Previous versions — Prior deployment images retained in "
        "the registry and redeployable at any time'. A purge of tagged manifests deletes the images a "
        "rollback or rebuild needs; a retention policy may only expire untagged ones, and not too soon."
    ),
    severity=Severity.HIGH,
    remediation=(
        "Remove `acr purge` tasks; keep only policies=PoliciesArgs(retention_policy=RetentionPolicyArgs("
        "status='enabled', days=$min_untagged_retention_days or more)), which only purges untagged manifests."
    ),
    tunables=("min_untagged_retention_days",),
)
def check(resource: Resource, targets: PolicyTargets) -> Iterator[Finding]:
    if resource.type in tokens.AZ_REGISTRY_TASKS:
        content = _task_content(resource)
        if is_unknown(content):
            yield unknown(resource, "the task's step content")
        elif isinstance(content, str) and _PURGE.search(content):
            yield violation(resource, "runs `acr purge`, which deletes tagged images (prior deployments)")
        return
    days = _retention_days(resource)
    if is_unknown(days):
        yield unknown(resource, "the retention policy")
    elif days is not MISSING:
        kept = number(days)
        if kept is not None and kept < targets.min_untagged_retention_days:
            yield violation(
                resource,
                f"untagged manifests are purged after {fmt(days)} days, sooner than "
                f"{targets.min_untagged_retention_days}",
            )
