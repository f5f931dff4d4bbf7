"""A container registry keeps its admin user disabled.

The admin user is one shared username and password with push and delete rights on every repository: anyone
holding it can overwrite a release tag or delete the images a rollback needs, and no identity is recorded.
Apps pull with a managed identity (AcrPull) instead. azure-native spells it `adminUserEnabled`, classic
pulumi-azure `adminEnabled`; both default to false.
"""

from __future__ import annotations

from collections.abc import Iterator

from backstop.ground import seeds, tokens
from backstop.ground.resources import Resource, is_unknown
from backstop.policy.core import Finding, Severity, resource_rule, unknown, violation
from backstop.policy.targets import PolicyTargets
from backstop.policy.values import MISSING, get, is_true


@resource_rule(
    id="acr-admin-user-disabled",
    types=tokens.AZ_REGISTRIES,
    description=(
        f"{seeds.SEED_WISER}, Application Layer: 'Prior deployment images retained in the registry and "
        "redeployable at any time', and Backup Strategy: 'Access control — Backup access restricted to "
        "Security Officer and Engineering Lead only'. The registry's admin user is a shared credential "
        "that can delete or overwrite those images without naming who did."
    ),
    severity=Severity.HIGH,
    remediation=(
        "Set admin_user_enabled=False on azure_native.containerregistry.Registry (classic pulumi-azure: "
        "admin_enabled=False) and pull with a managed identity granted AcrPull; the target in force is "
        "an admin user that is disabled."
    ),
)
def check(resource: Resource, targets: PolicyTargets) -> Iterator[Finding]:
    key = "adminUserEnabled" if resource.type == tokens.AZ_REGISTRY else "adminEnabled"
    value = get(resource.props, key)
    if is_unknown(value):
        yield unknown(resource, key)
    elif value is not MISSING and is_true(value):
        yield violation(
            resource, f"{key} is true: a shared admin credential can delete or overwrite release images"
        )
