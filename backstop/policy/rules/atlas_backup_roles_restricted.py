"""Backup-capable Atlas project roles are held only by the listed principals.

Project Owner, Project Backup Manager and Project Cluster Manager can restore or delete backups (Owner and
Backup Manager hold the Cloud Backup write operations of the Atlas Admin API, per its `x-rolesRequirements`).
Read from every way the installed pulumi-mongodbatlas grants a project role: user assignments
(`CloudUserProjectAssignment.roles`), invitations, team assignments (`roleNames`, the team by `teamId`), API
key assignments, a project's deprecated `teams[]` block, service accounts (`ServiceAccountProjectAssignment`
by `clientId`, `ProjectServiceAccount`), project API keys (`ProjectApiKey.projectAssignments[].roleNames`),
federated role mappings (`roleAssignments[].roles`, by `externalGroupName`), and the organization grants whose
`ORG_OWNER` is "Project Owner access to all projects in the organization" (`OrgInvitation`,
`CloudUserOrgAssignment`, `ApiKey`, `ServiceAccount`, federated mappings).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from backstop.ground import seeds, tokens
from backstop.ground.resources import UNKNOWN, Resource, is_unknown
from backstop.policy.core import Finding, Severity, resource_rule, unknown, violation
from backstop.policy.targets import PolicyTargets
from backstop.policy.values import MISSING, get, items

# (roles property, principal properties, first known wins) per resource that holds one grant.
_GRANTS: dict[str, tuple[str, tuple[str, ...]]] = {
    tokens.ATLAS_USER_PROJECT_ASSIGNMENT: ("roles", ("username",)),
    tokens.ATLAS_PROJECT_INVITATION: ("roles", ("username",)),
    tokens.ATLAS_TEAM_PROJECT_ASSIGNMENT: ("roleNames", ("teamId",)),
    tokens.ATLAS_API_KEY_PROJECT_ASSIGNMENT: ("roles", ("apiKeyId",)),
    tokens.ATLAS_SERVICE_ACCOUNT_PROJECT_ASSIGNMENT: ("roles", ("clientId",)),
    tokens.ATLAS_PROJECT_SERVICE_ACCOUNT: ("roles", ("clientId", "name")),
    tokens.ATLAS_ORG_INVITATION: ("roles", ("username",)),
    tokens.ATLAS_API_KEY: ("roleNames", ("apiKeyId", "publicKey")),
    tokens.ATLAS_SERVICE_ACCOUNT: ("roles", ("clientId", "name")),
}
_TYPES = [
    *_GRANTS,
    tokens.ATLAS_PROJECT,
    tokens.ATLAS_PROJECT_API_KEY,
    tokens.ATLAS_FEDERATED_ROLE_MAPPING,
    tokens.ATLAS_USER_ORG_ASSIGNMENT,
]


def _principal(resource: Resource, props: tuple[str, ...]) -> Any:
    """The first of `props` that names the principal; `UNKNOWN` while the first one set is unknown (a
    service account's `clientId`, a key's `apiKeyId` are outputs)."""
    for prop in props:
        value = get(resource.props, prop)
        if is_unknown(value):
            return UNKNOWN
        if isinstance(value, str) and value:
            return value
    return UNKNOWN


def _joined(blocks: Any, roles_key: str) -> Any:
    """Every role of a list of blocks (`projectAssignments[].roleNames`, ...), `UNKNOWN` if any is."""
    listed = items(blocks)
    if is_unknown(listed):
        return UNKNOWN
    roles: list[Any] = []
    for block in listed:
        named = items(get(block, roles_key)) if not is_unknown(block) else UNKNOWN
        if is_unknown(named):
            return UNKNOWN
        roles.extend(named)
    return roles


def _grants(resource: Resource) -> list[tuple[Any, Any]]:
    """(principal, roles) pairs a resource grants."""
    props = resource.props
    if resource.type == tokens.ATLAS_PROJECT:
        teams = items(get(props, "teams"))
        if is_unknown(teams):
            return [(teams, teams)]
        return [(get(team, "teamId"), get(team, "roleNames")) for team in teams]
    if resource.type == tokens.ATLAS_PROJECT_API_KEY:
        key = _principal(resource, ("apiKeyId", "publicKey"))
        return [(key, _joined(get(props, "projectAssignments"), "roleNames"))]
    if resource.type == tokens.ATLAS_FEDERATED_ROLE_MAPPING:
        return [(get(props, "externalGroupName"), _joined(get(props, "roleAssignments"), "roles"))]
    if resource.type == tokens.ATLAS_USER_ORG_ASSIGNMENT:
        org_roles = items(get(props, "roles.orgRoles"))
        project_roles = _joined(get(props, "roles.projectRoleAssignments"), "projectRoles")
        both = UNKNOWN if is_unknown(org_roles) or is_unknown(project_roles) else org_roles + project_roles
        if is_unknown(get(props, "roles")):
            both = UNKNOWN
        return [(get(props, "username"), both)]
    roles_prop, principal_props = _GRANTS[resource.type]
    principal = _principal(resource, principal_props)
    if len(principal_props) == 1 and get(props, principal_props[0]) is MISSING:
        principal = MISSING
    return [(principal, get(props, roles_prop))]


@resource_rule(
    id="atlas-backup-roles-restricted",
    types=_TYPES,
    description=(
        f"{seeds.SEED_WISER}, Backup Strategy: 'Access control — Backup access restricted to Security "
        "Officer and Engineering Lead only'."
    ),
    severity=Severity.HIGH,
    remediation=(
        "Give backup-capable roles ($backup_capable_roles; and ORG_OWNER, which is Project Owner of every "
        "project) only to the principals in backupPrincipals ($backup_principals; "
        "backstop:access.backupPrincipals), through users, teams, API keys, service accounts or federated "
        "role mappings alike; others get e.g. GROUP_READ_ONLY."
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
        held = {r for r in listed if isinstance(r, str)}
        risky = sorted(capable & held)
        if tokens.ATLAS_ORG_OWNER in held and "GROUP_OWNER" in capable:
            risky.append(f"{tokens.ATLAS_ORG_OWNER} (Project Owner of every project)")
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
