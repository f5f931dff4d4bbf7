"""Backup-capable Atlas project roles are held only by the listed principals.

Project Owner, Project Backup Manager and Project Cluster Manager can restore or delete backups (Owner and
Backup Manager hold the Cloud Backup write operations of the Atlas Admin API, per its `x-rolesRequirements`).
Read from user assignments (`CloudUserProjectAssignment.roles`), invitations, team assignments
(`roleNames`, the team by `teamId`), API key assignments and a project's deprecated `teams[]` block.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from backstop.ground import seeds, tokens
from backstop.ground.resources import Resource, is_unknown
from backstop.policy.core import Finding, Severity, resource_rule, unknown, violation
from backstop.policy.targets import PolicyTargets
from backstop.policy.values import get, items

# (roles property, principal property) per assignment type.
_GRANTS = {
    tokens.ATLAS_USER_PROJECT_ASSIGNMENT: ("roles", "username"),
    tokens.ATLAS_PROJECT_INVITATION: ("roles", "username"),
    tokens.ATLAS_TEAM_PROJECT_ASSIGNMENT: ("roleNames", "teamId"),
    tokens.ATLAS_API_KEY_PROJECT_ASSIGNMENT: ("roles", "apiKeyId"),
}


def _grants(resource: Resource) -> list[tuple[Any, Any]]:
    """(principal, roles) pairs a resource grants."""
    if resource.type == tokens.ATLAS_PROJECT:
        teams = items(get(resource.props, "teams"))
        if is_unknown(teams):
            return [(teams, teams)]
        return [(get(team, "teamId"), get(team, "roleNames")) for team in teams]
    roles_prop, principal_prop = _GRANTS[resource.type]
    return [(get(resource.props, principal_prop), get(resource.props, roles_prop))]


@resource_rule(
    id="atlas-backup-roles-restricted",
    types=[*_GRANTS, tokens.ATLAS_PROJECT],
    description=(
        f"{seeds.SEED_WISER}, Backup Strategy: 'Access control — Backup access restricted to Security "
        "Officer and Engineering Lead only'."
    ),
    severity=Severity.HIGH,
    remediation=(
        "Give backup-capable roles (GROUP_OWNER, GROUP_BACKUP_MANAGER, GROUP_CLUSTER_MANAGER) only to the "
        "principals in backupPrincipals (backstop:access.backupPrincipals); others get e.g. GROUP_READ_ONLY."
    ),
    tunables=("backup_principals", "backup_capable_roles"),
)
def check(resource: Resource, targets: PolicyTargets) -> Iterator[Finding]:
    allowed = {p.lower() for p in targets.backup_principals}
    capable = set(targets.backup_capable_roles)
    for principal, roles in _grants(resource):
        listed = items(roles)
        if is_unknown(listed):
            yield unknown(resource, "the roles granted")
            continue
        risky = sorted(capable & {r for r in listed if isinstance(r, str)})
        if not risky:
            continue
        if is_unknown(principal):
            yield unknown(resource, f"who is granted {risky[0]}")
        elif not allowed:
            # Without the list (`backupPrincipals`, from backstop:access in Pulumi.prod.yaml) nobody can
            # tell: reported as unknown, never passed.
            yield unknown(
                resource, f"whether {principal} may hold {risky[0]} (no backupPrincipals configured)"
            )
        elif not isinstance(principal, str) or principal.lower() not in allowed:
            yield violation(
                resource,
                f"{principal} is granted {', '.join(risky)}, which can restore or delete backups, but is not "
                "one of backupPrincipals",
            )
