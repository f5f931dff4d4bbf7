"""The application layer's `StackConfig` sections: shipped values, and one exact line per bad value."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from backstop.cli import main as cli_main
from backstop.config import ConfigError, load_stack_config
from backstop.config.stackfile import read_stack_file
from tests.test_config import shipped, write_project

ROOT = Path(__file__).resolve().parent.parent


def sections(stack: str) -> dict[str, Any]:
    return read_stack_file(ROOT, stack).backstop_sections()


def test_shipped_values_are_the_seeds() -> None:
    prod = load_stack_config(sections("prod"), "Pulumi.prod.yaml")
    assert prod.app is not None and prod.cloudflare is not None and prod.access is not None
    assert (prod.app.plan.sku, prod.app.plan.instance_count, prod.app.plan.zone_redundant) == (
        "P1v3",
        3,
        True,
    )
    assert prod.app.registry.replica_locations == ["centralus"]
    assert prod.app.registry.untagged_retention_days == 30
    assert [a.health_check_path for a in prod.app.apps] == ["/healthz"]
    assert prod.access.backup_principals == ["security-officer@example.com", "engineering-lead@example.com"]
    staging = load_stack_config(sections("staging"), "Pulumi.staging.yaml")
    assert staging.app is not None and staging.app.registry.soft_delete_days == 7
    assert staging.app.plan.zone_redundant is False


def _with(stack: str, path: str, value: Any) -> dict[str, Any]:
    data = copy.deepcopy(sections(stack))
    head, *rest = path.split(".")
    target: Any = data[head]
    for part in rest[:-1]:
        target = target[int(part)] if part.isdigit() else target[part]
    last = rest[-1]
    if value is None and last.endswith("!"):
        del target[last[:-1]]
    else:
        target[int(last) if last.isdigit() else last] = value
    return data


BAD = [
    (
        "prod",
        "app.plan.zoneRedundant",
        False,
        "Pulumi.prod.yaml: backstop:app.plan.zoneRedundant: a prod plan must be zone redundant",
    ),
    (
        "prod",
        "app.plan.instanceCount",
        1,
        "Pulumi.prod.yaml: backstop:app.plan: zoneRedundant needs at least 2 instances (got instanceCount 1)",
    ),
    (
        "staging",
        "app.plan.zoneRedundant",
        True,
        "Pulumi.staging.yaml: backstop:app.plan: zoneRedundant needs a Premium v2/v3/v4 or Isolated v2 SKU "
        "such as P1v3 (got S1)",
    ),
    (
        "staging",
        "app.plan.sku",
        "B1",
        "Pulumi.staging.yaml: backstop:app: deployment slots need a Standard or higher plan SKU "
        "(plan.sku is B1)",
    ),
    (
        "prod",
        "app.apps.0.stagingSlot",
        False,
        "Pulumi.prod.yaml: backstop:app.apps[0].stagingSlot: prod app wiser-prod-app needs a staging slot",
    ),
    (
        "prod",
        "app.apps.0.healthCheckPath",
        "healthz",
        "Pulumi.prod.yaml: backstop:app.apps[0].healthCheckPath: String should match pattern '^/[^\\s]*$' "
        "(got 'healthz')",
    ),
    (
        "prod",
        "app.registry.replicaLocations",
        [],
        "Pulumi.prod.yaml: backstop:app: secondary.location centralus has no registry replica: list it in "
        "registry.replicaLocations so the standby pulls images in its own region",
    ),
    (
        "prod",
        "app.registry.softDeleteDays",
        7,
        "Pulumi.prod.yaml: backstop:app.registry: Azure offers no soft delete on a geo-replicated registry; "
        "drop softDeleteDays",
    ),
    (
        "staging",
        "app.registry.untaggedRetentionDays",
        30,
        "Pulumi.staging.yaml: backstop:app.registry: untaggedRetentionDays needs the Premium SKU "
        "(got Standard)",
    ),
    (
        "prod",
        "app.registry.replicaLocations",
        ["centralus", "eastus"],
        "Pulumi.prod.yaml: backstop:app: registry.replicaLocations lists the home location eastus",
    ),
    (
        "prod",
        "cloudflare.widgetHost",
        "widget.example.org",
        "Pulumi.prod.yaml: backstop:cloudflare: widgetHost widget.example.org is not in zone wiserreview.com",
    ),
    (
        "prod",
        "cloudflare.zoneId",
        "not-hex",
        "Pulumi.prod.yaml: backstop:cloudflare.zoneId: String should match pattern '^[0-9a-f]{32}$' "
        "(got 'not-hex')",
    ),
    (
        "prod",
        "access.projectRoles.0.username",
        "developer@example.com",
        "Pulumi.prod.yaml: backstop:access: developer@example.com would hold GROUP_BACKUP_MANAGER, which can "
        "restore or delete backups, but is not in backupPrincipals",
    ),
    (
        "prod",
        "access.projectRoles.1.roles",
        ["Project Owner"],
        "Pulumi.prod.yaml: backstop:access.projectRoles[1].roles: expected an Atlas project role such as "
        "GROUP_READ_ONLY (got 'Project Owner')",
    ),
]


@pytest.mark.parametrize(("stack", "path", "value", "line"), BAD, ids=[f"{b[0]}-{b[1]}" for b in BAD])
def test_bad_value_is_one_line_naming_file_and_key(stack: str, path: str, value: Any, line: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_stack_config(_with(stack, path, value), f"Pulumi.{stack}.yaml")
    assert str(raised.value) == line


def test_prod_app_layer_without_cloudflare_is_refused() -> None:
    data = copy.deepcopy(sections("prod"))
    del data["cloudflare"]
    with pytest.raises(ConfigError, match=r"^Pulumi.prod.yaml: backstop:cloudflare: a prod app layer needs"):
        load_stack_config(data, "Pulumi.prod.yaml")


def test_plan_refuses_a_bad_app_value_before_declaring_anything(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document = shipped("prod")
    document["config"]["backstop:app"]["plan"]["instanceCount"] = 1
    project = write_project(tmp_path, "prod", document)
    code = cli_main(["plan", "--stack", "prod", "--project-dir", str(project)])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert err.strip() == (
        "backstop: Pulumi.prod.yaml: backstop:app.plan: zoneRedundant needs at least 2 instances "
        "(got instanceCount 1)"
    )
