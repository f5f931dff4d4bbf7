"""Who may touch backups: Atlas project roles declared for named users, backup roles only for the listed.

Seed basis (WiserReview, "Access control"): "Backup access restricted to Security Officer and Engineering
Lead only". `AccessConfig` refuses a backup-capable role for anyone else before anything is declared; the
`atlas-backup-roles-restricted` rule checks the same on any program, preview or export.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pulumi

from backstop.config.app import AccessConfig
from backstop.ground import tokens
from backstop.program.providers import provider

if TYPE_CHECKING:
    import pulumi_mongodbatlas as mongodbatlas
else:  # only the modules of the classes used, not the provider's root
    mongodbatlas = provider("pulumi_mongodbatlas")


def _slug(username: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", username.lower()).strip("-")


@dataclass(frozen=True)
class BackupAccessArgs:
    config: AccessConfig
    project_id: pulumi.Input[str]


class BackupAccess(pulumi.ComponentResource):
    """One `CloudUserProjectAssignment` per configured user of the Atlas project."""

    assignments: dict[str, mongodbatlas.CloudUserProjectAssignment]

    def __init__(self, name: str, args: BackupAccessArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(tokens.COMPONENT_BACKUP_ACCESS, name, None, opts)
        self.assignments = {
            entry.username: mongodbatlas.CloudUserProjectAssignment(
                f"{name}-{_slug(entry.username)}",
                project_id=args.project_id,
                username=entry.username,
                roles=sorted(entry.roles),
                opts=pulumi.ResourceOptions(parent=self),
            )
            for entry in args.config.project_roles
        }
        self.register_outputs({"users": sorted(self.assignments)})
