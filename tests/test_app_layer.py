"""The application layer as declared under Pulumi's mocks: named resources with the seed's values.

Prod: a zone-redundant Linux plan of 3 instances, the app with a health check path, always-on and a staging
slot, a warm standby in the secondary region, a Premium zone-redundant registry replicated there that only
ever expires untagged manifests, a cache without persistence, availability alerts on every web app, the
cache and the storage account, the Cloudflare edge cache with serve-stale and a DNS-only origin fallback,
and Atlas backup roles only for the Security Officer and the Engineering Lead.
Staging: the same shape, cheaper.
"""

from __future__ import annotations

from typing import Any

import pytest

from backstop.ground import tokens
from backstop.ground.resources import Resource
from backstop.program.mocks import ProgramRun
from tests.policy_support import named

SUBSCRIPTION = "/subscriptions/00000000-0000-0000-0000-000000000000"


def of_type(run: ProgramRun, token: str) -> dict[str, Resource]:
    return {r.name: r for r in run.resources if r.type == token}


def test_prod_plan_is_linux_and_zone_redundant_with_three_instances(prod_run: ProgramRun) -> None:
    plans = of_type(prod_run, tokens.AZ_APP_SERVICE_PLAN)
    assert set(plans) == {"asp-wiser-prod", "asp-wiser-prod-centralus"}
    primary = plans["asp-wiser-prod"].props
    assert primary["kind"] == "linux" and primary["reserved"] is True
    assert primary["zoneRedundant"] is True
    assert primary["sku"] == {"name": "P1v3", "capacity": 3.0}
    assert primary["location"] == "eastus"
    standby = plans["asp-wiser-prod-centralus"].props
    assert standby["location"] == "centralus" and standby["sku"] == {"name": "P1v3", "capacity": 2.0}
    assert standby["zoneRedundant"] is True


@pytest.mark.parametrize("site", ["wiser-prod-app", "wiser-prod-app-secondary"])
def test_prod_apps_run_the_registry_image_with_health_check_and_always_on(
    prod_run: ProgramRun, site: str
) -> None:
    app = of_type(prod_run, tokens.AZ_WEB_APP)[site]
    config = app.props["siteConfig"]
    assert config["linuxFxVersion"] == "DOCKER|wiserprodacr.azurecr.io/wiserreview/app:2026.12.05-1"
    assert config["healthCheckPath"] == "/healthz"
    assert config["alwaysOn"] is True
    assert config["acrUseManagedIdentityCreds"] is True
    assert {"name": "WEBSITES_PORT", "value": "8080"} in config["appSettings"]
    assert app.props["kind"] == "app,linux,container"
    assert app.props["httpsOnly"] is True
    assert app.props["identity"] == {
        "type": "UserAssigned",
        "userAssignedIdentities": [
            f"{SUBSCRIPTION}/resourceGroups/rg-wiser-prod-app/providers/Microsoft.ManagedIdentity/"
            "userAssignedIdentities/id-app-acr-pull"
        ],
    }


def test_prod_app_has_a_staging_slot_on_the_same_plan(prod_run: ProgramRun) -> None:
    slots = of_type(prod_run, tokens.AZ_WEB_APP_SLOT)
    assert set(slots) == {"wiser-prod-app-staging", "wiser-prod-app-secondary-staging"}
    slot = slots["wiser-prod-app-staging"]
    assert slot.props["name"] == "wiser-prod-app" and slot.props["slot"] == "staging"
    assert slot.props["serverFarmId"].endswith("/Microsoft.Web/serverfarms/asp-wiser-prod")
    assert slot.props["siteConfig"]["healthCheckPath"] == "/healthz"
    # The slot follows its app by the engine's dependency, not by a copied string.
    assert [u.split("::")[-1] for u in slot.property_dependencies["name"]] == ["wiser-prod-app"]


def test_every_site_pulls_images_with_the_one_pull_identity(prod_run: ProgramRun) -> None:
    pulls = of_type(prod_run, tokens.AZ_ROLE_ASSIGNMENT)
    assert set(pulls) == {"id-app-acr-pull-grant"}
    [assignment] = pulls.values()
    assert assignment.props["roleDefinitionId"].endswith(f"/roleDefinitions/{tokens.ACR_PULL_ROLE_ID}")
    assert assignment.props["scope"].endswith("/Microsoft.ContainerRegistry/registries/wiserprodacr")
    assert assignment.props["principalType"] == "ServicePrincipal"


def test_prod_registry_keeps_every_tagged_image_and_a_replica(prod_run: ProgramRun) -> None:
    registry = named(prod_run.resources, "images").props
    assert registry["registryName"] == "wiserprodacr"
    assert registry["sku"] == {"name": "Premium"}
    assert registry["adminUserEnabled"] is False
    assert registry["zoneRedundancy"] == "Enabled"
    # Azure's retention policy only ever purges untagged manifests, here after 30 days.
    assert registry["policies"]["retentionPolicy"] == {"status": "enabled", "days": 30.0}
    # Azure offers no soft delete on a geo-replicated registry.
    assert registry["policies"]["softDeletePolicy"]["status"] == "disabled"
    replicas = of_type(prod_run, tokens.AZ_REGISTRY_REPLICATION)
    assert set(replicas) == {"images-centralus"}
    replica = replicas["images-centralus"].props
    assert replica["location"] == "centralus" and replica["zoneRedundancy"] == "Enabled"
    assert not [r for r in prod_run.resources if r.type == tokens.AZ_REGISTRY_TASK]


def test_cache_is_managed_redis_without_persistence_and_tls_only(
    prod_run: ProgramRun, staging_run: ProgramRun
) -> None:
    prod = named(prod_run.resources, "cache")
    assert prod.type == tokens.AZ_MANAGED_REDIS  # Azure Cache for Redis retires on 2028-09-30
    assert prod.props["clusterName"] == "wiser-prod-cache"
    assert prod.props["sku"] == {"name": "Balanced_B1"}
    assert prod.props["highAvailability"] == "Enabled" and prod.props["minimumTlsVersion"] == "1.2"
    database = named(prod_run.resources, "cache-database")
    assert database.type == tokens.AZ_MANAGED_REDIS_DATABASE
    assert (database.props["databaseName"], database.props["clientProtocol"]) == ("default", "Encrypted")
    assert database.property_dependencies["clusterName"] == (prod.urn,)
    # No RDB/AOF persistence: rebuilt from the database.
    assert database.props["persistence"] == {"aofEnabled": False, "rdbEnabled": False}
    assert database.props["evictionPolicy"] == "AllKeysLRU"
    assert not [r for r in prod_run.resources if r.type == tokens.AZ_REDIS]
    staging = named(staging_run.resources, "cache").props
    assert staging["sku"] == {"name": "Balanced_B0"} and staging["highAvailability"] == "Disabled"


EXPECTED_ALERTS = {
    "wiser-prod-app-healthcheckstatus-alert": (
        "Microsoft.Web/sites/wiser-prod-app",
        "HealthCheckStatus",
        "LessThan",
        100.0,
    ),
    "wiser-prod-app-http5xx-alert": ("Microsoft.Web/sites/wiser-prod-app", "Http5xx", "GreaterThan", 10.0),
    "wiser-prod-app-secondary-healthcheckstatus-alert": (
        "Microsoft.Web/sites/wiser-prod-app-secondary",
        "HealthCheckStatus",
        "LessThan",
        100.0,
    ),
    "wiser-prod-app-secondary-http5xx-alert": (
        "Microsoft.Web/sites/wiser-prod-app-secondary",
        "Http5xx",
        "GreaterThan",
        10.0,
    ),
    "wiser-prod-cache-serverload-alert": (
        "Microsoft.Cache/redisEnterprise/wiser-prod-cache",
        "serverLoad",
        "GreaterThan",
        90.0,
    ),
    "wiserprodmedia-availability-alert": (
        "Microsoft.Storage/storageAccounts/wiserprodmedia",
        "Availability",
        "LessThan",
        99.9,
    ),
}


def test_availability_alerts_watch_every_app_the_cache_and_storage(prod_run: ProgramRun) -> None:
    alerts = {
        name: alert
        for name, alert in of_type(prod_run, tokens.AZ_METRIC_ALERT).items()
        if name != "messaging-dead-letter-alert"
    }
    assert set(alerts) == set(EXPECTED_ALERTS)
    engineering = named(prod_run.resources, "messaging-dlq-action-group").id
    slack = named(prod_run.resources, "slack-alerts-action-group").id
    for name, (scope, metric, operator, threshold) in EXPECTED_ALERTS.items():
        props: Any = alerts[name].props
        assert props["scopes"] == [f"{SUBSCRIPTION}/resourceGroups/rg-wiser-{_rg(scope)}/providers/{scope}"]
        [criterion] = props["criteria"]["allOf"]
        assert (criterion["metricName"], criterion["operator"], criterion["threshold"]) == (
            metric,
            operator,
            threshold,
        )
        assert criterion["metricNamespace"] == scope.rsplit("/", 1)[0]
        assert props["enabled"] is True and props["severity"] == 1.0
        # The engineering e-mail group and the Slack relay group (the offline plan takes the secret
        # `slackWebhookUrl` as set at deploy time).
        assert props["actions"] == [{"actionGroupId": engineering}, {"actionGroupId": slack}]


def _rg(scope: str) -> str:
    return "prod-backup" if "storageAccounts" in scope else "prod-app"


def test_cloudflare_caches_widget_assets_and_serves_stale(prod_run: ProgramRun) -> None:
    expression = '(http.host eq "widget.wiserreview.com" and starts_with(http.request.uri.path, "/widget/"))'
    cache = named(prod_run.resources, "widget-edge-cache-rules").props
    assert (cache["kind"], cache["phase"], cache["zoneId"]) == (
        "zone",
        "http_request_cache_settings",
        "0a1b2c3d4e5f60718293a4b5c6d7e8f9",
    )
    [rule] = cache["rules"]
    assert rule["action"] == "set_cache_settings" and rule["expression"] == expression
    assert rule["actionParameters"] == {
        "cache": True,
        "edgeTtl": {"mode": "override_origin", "default": 2592000.0},
        "serveStale": {"disableStaleWhileUpdating": False},
    }
    response = named(prod_run.resources, "widget-edge-stale-if-error").props
    assert response["phase"] == "http_response_cache_settings"
    [rule] = response["rules"]
    assert rule["action"] == "set_cache_control" and rule["expression"] == expression
    assert rule["actionParameters"] == {
        "staleIfError": {"operation": "set", "value": 604800.0, "cloudflareOnly": True}
    }


def test_cloudflare_dns_widget_proxied_and_direct_fallback(prod_run: ProgramRun) -> None:
    records = {
        r.props["name"]: r.props
        for r in prod_run.resources
        if r.type == tokens.CF_DNS_RECORD and r.props["type"] == "CNAME"
    }
    assert set(records) == {"widget.wiserreview.com", "direct.wiserreview.com"}
    widget, direct = records["widget.wiserreview.com"], records["direct.wiserreview.com"]
    assert (widget["type"], widget["proxied"], widget["ttl"]) == ("CNAME", True, 1.0)
    assert (direct["type"], direct["proxied"], direct["ttl"]) == ("CNAME", False, 300.0)
    assert widget["content"] == direct["content"] == "wiser-prod-app.azurewebsites.net"


def test_backup_roles_only_for_security_officer_and_engineering_lead(prod_run: ProgramRun) -> None:
    assignments = {
        r.props["username"]: r.props["roles"]
        for r in prod_run.resources
        if r.type == tokens.ATLAS_USER_PROJECT_ASSIGNMENT
    }
    assert assignments == {
        "security-officer@example.com": ["GROUP_BACKUP_MANAGER", "GROUP_READ_ONLY"],
        "engineering-lead@example.com": ["GROUP_OWNER"],
    }
    project = named(prod_run.resources, "atlas-project")
    for r in prod_run.resources:
        if r.type == tokens.ATLAS_USER_PROJECT_ASSIGNMENT:
            assert r.property_dependencies["projectId"] == (project.urn,)


def test_staging_is_cheaper_in_the_same_shape(staging_run: ProgramRun) -> None:
    plan = of_type(staging_run, tokens.AZ_APP_SERVICE_PLAN)["asp-wiser-staging"].props
    assert plan["sku"] == {"name": "S1", "capacity": 1.0} and plan["zoneRedundant"] is False
    assert set(of_type(staging_run, tokens.AZ_WEB_APP_SLOT)) == {"wiser-staging-app-staging"}
    registry = named(staging_run.resources, "images").props
    assert registry["sku"] == {"name": "Standard"}
    assert registry["policies"]["softDeletePolicy"] == {"status": "enabled", "retentionDays": 7.0}
    assert registry["policies"]["retentionPolicy"]["status"] == "disabled"
    assert not of_type(staging_run, tokens.AZ_REGISTRY_REPLICATION)
    widget = named(staging_run.resources, "widget-edge-widget").props
    assert widget["name"] == "widget.staging.wiserreview.com"


def test_with_slack_every_availability_alert_also_notifies_the_slack_relay_group() -> None:
    from backstop.config.stackfile import read_stack_file
    from backstop.program.mocks import run_with_mocks, use_mocks
    from backstop.program.stack import main
    from tests.test_program import ROOT, SLACK_TOKEN, TOKEN_KEY, WEBHOOK, WEBHOOK_KEY

    stack_file = read_stack_file(ROOT, "prod")
    config = {**stack_file.engine_config(), WEBHOOK_KEY: WEBHOOK, TOKEN_KEY: SLACK_TOKEN}
    monitor = use_mocks(stack="prod", config=config, secret_keys=[WEBHOOK_KEY, TOKEN_KEY])
    run = run_with_mocks(main, stack="prod", monitor=monitor)
    engineering = named(run.resources, "messaging-dlq-action-group")
    slack = named(run.resources, "slack-alerts-action-group")
    alerts = [a for name, a in of_type(run, tokens.AZ_METRIC_ALERT).items() if name in EXPECTED_ALERTS]
    assert len(alerts) == len(EXPECTED_ALERTS)
    for alert in alerts:
        assert alert.props["actions"] == [{"actionGroupId": engineering.id}, {"actionGroupId": slack.id}]
        assert set(alert.property_dependencies["actions"]) == {engineering.urn, slack.urn}
