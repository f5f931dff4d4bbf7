"""atlas-backup-roles-restricted: backup-capable project roles only for the listed principals."""

from __future__ import annotations

import pytest

from backstop.ground import tokens
from backstop.ground.resources import UNKNOWN
from backstop.policy.targets import PolicyTargets, prod_inventory
from backstop.program.mocks import ProgramRun
from tests.conftest import ROOT
from tests.policy_support import SHAPES, failing, findings, levels, mutate, res, shape_of, undecided

RULE = "atlas-backup-roles-restricted"
INVENTORY = prod_inventory(ROOT)
PROD = PolicyTargets.for_environment("prod").with_config(INVENTORY)
STAGING = PolicyTargets.for_environment("staging").with_config(INVENTORY)
OFFICER = "backup-access-security-officer-example-com"
LEAD = "backup-access-engineering-lead-example-com"


def test_principals_come_from_the_prod_stack() -> None:
    assert INVENTORY["backupPrincipals"] == ["security-officer@example.com", "engineering-lead@example.com"]


def test_shipped_stacks_pass(prod_run: ProgramRun, staging_run: ProgramRun) -> None:
    assert failing(RULE, prod_run.resources, PROD) == set() == undecided(RULE, prod_run.resources, PROD)
    assert failing(RULE, staging_run.resources, STAGING) == set()
    # Without a list of principals every backup-capable grant is undecided: advisory, never a pass.
    bare = PolicyTargets.for_environment("prod")
    assert failing(RULE, prod_run.resources, bare) == set()
    assert undecided(RULE, prod_run.resources, bare) == {OFFICER, LEAD}
    assert levels(RULE, prod_run.resources, bare.model_copy(update={"unknown_is_violation": True})) == {
        (OFFICER, "mandatory"),
        (LEAD, "mandatory"),
    }


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(
    ("username", "roles", "expected"),
    [
        ("developer@example.com", ["GROUP_BACKUP_MANAGER"], {OFFICER}),
        ("developer@example.com", ["GROUP_CLUSTER_MANAGER"], {OFFICER}),
        # The split backup roles: restore jobs and exports (Recovery/Export Operator), snapshots (Creator).
        ("developer@example.com", ["GROUP_BACKUP_RECOVERY_OPERATOR"], {OFFICER}),
        ("developer@example.com", ["GROUP_BACKUP_EXPORT_OPERATOR"], {OFFICER}),
        ("developer@example.com", ["GROUP_BACKUP_CREATOR"], {OFFICER}),
        ("developer@example.com", ["GROUP_READ_ONLY", "GROUP_DATA_ACCESS_READ_ONLY"], set()),
        ("Security-Officer@example.com", ["GROUP_OWNER"], set()),  # Atlas usernames ignore case
    ],
)
def test_user_assignment_variants(
    prod_run: ProgramRun, shape: str, username: str, roles: list[str], expected: set[str]
) -> None:
    loaded = shape_of(mutate(prod_run.resources, OFFICER, {"username": username, "roles": roles}), shape)
    assert failing(RULE, loaded, PROD) == expected


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("path", ["username", "roles"])
def test_unknown_is_undecided_never_a_pass(prod_run: ProgramRun, shape: str, path: str) -> None:
    loaded = shape_of(mutate(prod_run.resources, OFFICER, {path: UNKNOWN}), shape)
    assert undecided(RULE, loaded, PROD) == {OFFICER} and failing(RULE, loaded, PROD) == set()
    assert levels(RULE, loaded, PROD) == {(OFFICER, "advisory")}


def test_teams_invitations_api_keys_and_project_teams() -> None:
    team = res(tokens.ATLAS_TEAM_PROJECT_ASSIGNMENT, "team", {"teamId": "t1", "roleNames": ["GROUP_OWNER"]})
    invite = res(
        tokens.ATLAS_PROJECT_INVITATION, "invite", {"username": "x@y.z", "roles": ["GROUP_BACKUP_MANAGER"]}
    )
    key = res(
        tokens.ATLAS_API_KEY_PROJECT_ASSIGNMENT, "key", {"apiKeyId": "k1", "roles": ["GROUP_READ_ONLY"]}
    )
    project = res(
        tokens.ATLAS_PROJECT,
        "project",
        {"name": "p", "teams": [{"teamId": "t2", "roleNames": ["GROUP_OWNER"]}]},
    )
    assert failing(RULE, [team, invite, key, project], PROD) == {"team", "invite", "project"}
    listed = PROD.with_config({"backupPrincipals": ["t1", "t2", "x@y.z"]})
    assert failing(RULE, [team, invite, key, project], listed) == set()


def test_staging_levels(staging_run: ProgramRun) -> None:
    loaded = mutate(staging_run.resources, LEAD, {"username": "developer@example.com"})
    assert levels(RULE, loaded, STAGING) == {(LEAD, "advisory")}
    assert levels(RULE, loaded, PROD) == {(LEAD, "mandatory")}


# The Atlas "Atlas User Roles" page: the API name of each project role the spec's x-rolesRequirements name.
ROLE_API_NAMES = {
    "Project Owner": "GROUP_OWNER",
    "Project Backup Manager": "GROUP_BACKUP_MANAGER",
    "Project Backup Export Operator": "GROUP_BACKUP_EXPORT_OPERATOR",
    "Project Backup Recovery Operator": "GROUP_BACKUP_RECOVERY_OPERATOR",
    "Project Backup Creator": "GROUP_BACKUP_CREATOR",
}


def test_every_role_the_spec_lets_write_backups_is_backup_capable() -> None:
    """Each role the official spec names for a Cloud Backup write (restore jobs, exports, snapshots,
    schedules, export buckets, the compliance policy) is one the rule and the config refuse for anyone but
    the listed principals."""
    from backstop.config.app import BACKUP_CAPABLE_ROLES
    from tests.contract.spec import spec_document

    named = {
        role
        for path, ops in spec_document()["paths"].items()
        if "/backup" in path
        for method, op in ops.items()
        if method in ("post", "delete", "patch", "put")
        for role in op.get("x-rolesRequirements") or []
    }
    assert named == set(ROLE_API_NAMES)
    assert {ROLE_API_NAMES[role] for role in named} <= set(BACKUP_CAPABLE_ROLES)
    assert PolicyTargets.for_environment("prod").backup_capable_roles == list(
        tokens.ATLAS_BACKUP_CAPABLE_ROLES
    )


PROJECT_ID = "6f0a1b2c3d4e5f6a7b8c9d0e"

# Every other way pulumi-mongodbatlas grants a project role: (token, props granting GROUP_OWNER to "dev").
OTHER_GRANTS = [
    pytest.param(
        tokens.ATLAS_SERVICE_ACCOUNT_PROJECT_ASSIGNMENT,
        {"clientId": "mdb_sa_id_dev", "projectId": PROJECT_ID, "roles": ["GROUP_OWNER"]},
        "mdb_sa_id_dev",
        id="ServiceAccountProjectAssignment",
    ),
    pytest.param(
        tokens.ATLAS_PROJECT_SERVICE_ACCOUNT,
        {"name": "ci", "description": "ci", "projectId": PROJECT_ID, "roles": ["GROUP_BACKUP_MANAGER"]},
        "ci",
        id="ProjectServiceAccount",
    ),
    pytest.param(
        tokens.ATLAS_PROJECT_API_KEY,
        {
            "description": "ci",
            "apiKeyId": "key-ci",
            "projectAssignments": [
                {"projectId": PROJECT_ID, "roleNames": ["GROUP_READ_ONLY"]},
                {"projectId": PROJECT_ID, "roleNames": ["GROUP_BACKUP_RECOVERY_OPERATOR"]},
            ],
        },
        "key-ci",
        id="ProjectApiKey.projectAssignments",
    ),
    pytest.param(
        tokens.ATLAS_PROJECT_API_KEY,
        {
            "description": "ci",
            "apiKeyId": "key-ci",
            "projectAssignments": [{"projectId": PROJECT_ID, "roleNames": ["GROUP_REPLICA_SET_MANAGER"]}],
        },
        "key-ci",
        id="replica-set-manager",
    ),
    pytest.param(
        tokens.ATLAS_FEDERATED_ROLE_MAPPING,
        {
            "externalGroupName": "idp-developers",
            "roleAssignments": [{"groupId": PROJECT_ID, "roles": ["GROUP_CLUSTER_MANAGER"]}],
        },
        "idp-developers",
        id="FederatedSettingsOrgRoleMapping",
    ),
    pytest.param(
        tokens.ATLAS_ORG_INVITATION,
        {"orgId": "o", "username": "dev@example.com", "roles": ["ORG_OWNER"]},
        "dev@example.com",
        id="OrgInvitation-ORG_OWNER",
    ),
    pytest.param(
        tokens.ATLAS_USER_ORG_ASSIGNMENT,
        {
            "orgId": "o",
            "username": "dev@example.com",
            "roles": {
                "orgRoles": ["ORG_MEMBER"],
                "projectRoleAssignments": [{"projectId": PROJECT_ID, "projectRoles": ["GROUP_OWNER"]}],
            },
        },
        "dev@example.com",
        id="CloudUserOrgAssignment",
    ),
    pytest.param(
        tokens.ATLAS_API_KEY,
        {"orgId": "o", "description": "ci", "apiKeyId": "key-org", "roleNames": ["ORG_OWNER"]},
        "key-org",
        id="ApiKey-ORG_OWNER",
    ),
    pytest.param(
        tokens.ATLAS_SERVICE_ACCOUNT,
        {"orgId": "o", "description": "ci", "clientId": "mdb_sa_org", "roles": ["ORG_OWNER"]},
        "mdb_sa_org",
        id="ServiceAccount-ORG_OWNER",
    ),
]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(("token", "props", "principal"), OTHER_GRANTS)
def test_every_way_atlas_grants_a_project_role_is_read(
    shape: str, token: str, props: dict[str, object], principal: str
) -> None:
    granted = res(token, "grant", props)
    loaded = shape_of([granted], shape)
    assert failing(RULE, loaded, PROD) == {"grant"}
    (finding,) = findings(RULE, loaded, PROD)
    assert finding.message.startswith(f"{principal} is granted ")
    listed = PROD.with_config({"backupPrincipals": [*PROD.backup_principals, principal]})
    assert failing(RULE, loaded, listed) == set() == undecided(RULE, loaded, listed)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(
    ("token", "props"),
    [
        (tokens.ATLAS_PROJECT_SERVICE_ACCOUNT, {"description": "ci", "roles": ["GROUP_OWNER"]}),
        (tokens.ATLAS_PROJECT_API_KEY, {"description": "ci", "projectAssignments": UNKNOWN}),
        (
            tokens.ATLAS_SERVICE_ACCOUNT_PROJECT_ASSIGNMENT,
            {"clientId": UNKNOWN, "projectId": PROJECT_ID, "roles": ["GROUP_OWNER"]},
        ),
    ],
)
def test_a_principal_or_roles_known_only_after_creation_is_undecided(
    shape: str, token: str, props: dict[str, object]
) -> None:
    """A service account's clientId and an API key's id are outputs: unknown at preview, never a pass."""
    loaded = shape_of([res(token, "grant", props)], shape)
    assert undecided(RULE, loaded, PROD) == {"grant"}
    assert failing(RULE, loaded, PROD) == set()


def test_org_roles_other_than_owner_are_not_project_grants() -> None:
    member = res(tokens.ATLAS_ORG_INVITATION, "m", {"username": "d@e.f", "roles": ["ORG_MEMBER"]})
    assert failing(RULE, [member], PROD) == set() == undecided(RULE, [member], PROD)


def test_the_read_settings_are_sdk_wire_names() -> None:
    import pulumi._types as pulumi_types
    import pulumi_mongodbatlas as atlas

    def wire(cls: type) -> set[str]:
        return set(pulumi_types.input_type_py_to_pulumi_names(cls).values())

    assert {"projectId", "roleNames"} <= wire(atlas.ProjectApiKeyProjectAssignmentArgs)
    assert {"groupId", "roles"} <= wire(atlas.FederatedSettingsOrgRoleMappingRoleAssignmentArgs)
    assert {"orgRoles", "projectRoleAssignments"} <= wire(atlas.CloudUserOrgAssignmentRolesArgs)
    assert "projectRoles" in wire(atlas.CloudUserOrgAssignmentRolesProjectRoleAssignmentArgs)
    for cls, names in [
        (atlas.ServiceAccountProjectAssignmentArgs, {"client_id", "roles"}),
        (atlas.ProjectServiceAccountArgs, {"name", "roles"}),
        (atlas.ProjectApiKeyArgs, {"project_assignments"}),
        (atlas.FederatedSettingsOrgRoleMappingArgs, {"external_group_name", "role_assignments"}),
        (atlas.OrgInvitationArgs, {"username", "roles"}),
        (atlas.CloudUserOrgAssignmentArgs, {"username", "roles"}),
        (atlas.ApiKeyArgs, {"role_names"}),
        (atlas.ServiceAccountArgs, {"name", "roles"}),
    ]:
        assert names <= set(cls.__init__.__code__.co_varnames), cls
    assert {"client_id"} <= set(atlas.ServiceAccount.get.__code__.co_varnames)
    assert {"api_key_id"} <= set(atlas.ProjectApiKey.get.__code__.co_varnames)
