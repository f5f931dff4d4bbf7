"""The seed's application and infrastructure recovery scenarios, derived from the declared resources.

Each scenario's mechanism is read from the resources through the rules that check it, so the report and
`backstop plan` can never disagree: a crashed container is restarted only where every web app has a health
check path (`app-web-app-health-check`), a faulty deployment is swapped back only where every web app has
a slot (`app-web-app-deployment-slot`), and so on. A scenario whose mechanism is missing is unbounded and
misses its target. The RTO is the seed's expected time (`backstop:objectives.app.estimates`), replaced by
what a drill measured (`backstop drill rollback` measures the slot swap).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

from backstop.config.app import AppObjectivesConfig
from backstop.ground import tokens
from backstop.ground.resources import Resource
from backstop.policy.core import findings_for, load_rules
from backstop.policy.stackview import StackView
from backstop.policy.targets import PolicyTargets
from backstop.policy.values import get
from backstop.report.rows import ScenarioResult, scenario_row

APP_SCENARIOS: dict[str, str] = {
    "crashed_container": "Crashed container",
    "faulty_deployment": "Faulty deployment",
    "full_service_rebuild": "Full service rebuild",
    "zone_outage": "Azure availability zone outage",
    "region_outage": "Full Azure region outage",
    "widget_delivery": "Cloudflare edge issue / widget delivery",
    "cache_failure": "Redis cache failure",
}
# The drill mechanism name (`backup_drill_results.mechanism`) that measures each estimate.
SLOT_SWAP = "slot_swap"
# The report holds the resources to the seed: every application-layer requirement on.
_SEED_TARGETS = PolicyTargets.for_environment("prod")


def _clean(rule_id: str, resources: Sequence[Resource], subjects: Sequence[Resource]) -> bool:
    """Did the rule find nothing (no violation, nothing undecided) on any of `subjects`?"""
    urns = {r.urn for r in subjects}
    found = findings_for(load_rules().get(rule_id), resources, _SEED_TARGETS)
    return not any(f.urn in urns for f in found)


def _location(resource: Resource) -> Any:
    value = get(resource.props, "location")
    return value.replace(" ", "").lower() if isinstance(value, str) else None


def _pulls_from_registry(app: Resource, login_servers: set[str], view: StackView) -> bool:
    """The app runs an image from a declared registry (by value, or computed from one)."""
    image = get(app.props, "siteConfig.linuxFxVersion")
    if isinstance(image, str) and any(server in image.lower() for server in login_servers):
        return True
    return bool(view.dependencies(app, "siteConfig", tokens.AZ_REGISTRIES))


def app_scenarios(
    resources: Sequence[Resource],
    view: StackView,
    objectives: AppObjectivesConfig,
    measured: Mapping[str, timedelta],
) -> list[ScenarioResult]:
    """One row per application and infrastructure scenario of the seed."""
    estimates = objectives.estimates
    apps = view.of(tokens.AZ_WEB_APPS)
    plans = view.of(tokens.AZ_APP_SERVICE_PLANS)
    registries = view.of(tokens.AZ_REGISTRIES)
    caches = view.of(tokens.AZ_REDIS_CACHES)
    records = [r for r in view.of(tokens.CF_DNS_RECORDS) if get(r.props, "proxied") is True]
    login_servers = {
        f"{name.lower()}.azurecr.io"
        for name in (get(r.props, "registryName") for r in registries)
        if isinstance(name, str)
    }
    app_names = [a.name for a in apps]
    rows: list[ScenarioResult] = []

    def row(
        key: str,
        present: bool,
        estimate: str,
        mechanism: str,
        evidence: list[str],
        measured_as: str | None = None,
    ) -> None:
        objective = getattr(objectives, key)
        rto: timedelta | None = getattr(estimates, estimate)
        basis = "estimate"
        if measured_as is not None and measured_as in measured:
            rto, basis = measured[measured_as], "measured by drill"
        # The application holds no data of record: a declared mechanism loses nothing.
        rpo = timedelta(0) if present else None
        rows.append(scenario_row(key, APP_SCENARIOS[key], objective, rpo, rto, mechanism, basis, evidence))

    def check(rule: str, subjects: Sequence[Resource]) -> bool:
        return bool(subjects) and _clean(rule, resources, subjects)

    row(
        "crashed_container",
        check("app-web-app-health-check", apps),
        "container_restart",
        "App Service health check restarts the container",
        app_names,
    )
    row(
        "faulty_deployment",
        check("app-web-app-deployment-slot", apps),
        "slot_swap",
        "deployment slot swap",
        app_names,
        measured_as=SLOT_SWAP,
    )
    rebuildable = (
        bool(apps)
        and check("acr-retention-keeps-tagged-images", registries)
        and all(_pulls_from_registry(a, login_servers, view) for a in apps)
    )
    row(
        "full_service_rebuild",
        rebuildable,
        "service_rebuild",
        "CI/CD: image in Container Registry (tagged images kept) redeployed to App Service",
        [r.name for r in registries] + app_names,
    )
    row(
        "zone_outage",
        check("app-service-plan-zone-redundant", plans),
        "zone_failover",
        "zone-redundant App Service plans",
        [p.name for p in plans],
    )
    locations = {_location(a) for a in apps} - {None}
    replicated = check("acr-geo-replicated", registries)
    row(
        "region_outage",
        replicated and len(locations) >= 2,
        "region_failover",
        "standby app in a secondary region, images from the registry's geo-replica",
        [r.name for r in registries] + app_names,
    )
    row(
        "widget_delivery",
        check("cloudflare-widget-edge-cache", records),
        "edge_cache",
        "Cloudflare edge cache with serve-stale and stale-if-error",
        [r.name for r in records],
    )
    databases = view.of(tokens.ATLAS_CLUSTERS)
    row(
        "cache_failure",
        bool(caches) and bool(databases),
        "cache_fallback",
        "application falls back to the database; the cache is rebuilt from it",
        [c.name for c in caches] + [d.name for d in databases],
    )
    return rows
