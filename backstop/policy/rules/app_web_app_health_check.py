"""A web app declares the health check path App Service probes to restart a crashed container."""

from __future__ import annotations

from collections.abc import Iterator

from backstop.ground import seeds, tokens
from backstop.ground.resources import Resource, is_unknown
from backstop.policy.core import Finding, Severity, resource_rule, unknown, violation
from backstop.policy.targets import PolicyTargets
from backstop.policy.values import fmt, get


@resource_rule(
    id="app-web-app-health-check",
    types=tokens.AZ_WEB_APPS,
    description=(
        f"{seeds.SEED_WISER}, Recovery Capabilities: 'Crashed container — Azure App Services health checks "
        "trigger automatic container restart — 1-3 minutes (automatic)'. Without a health check path App "
        "Service never probes the container, so a hung one is never replaced."
    ),
    severity=Severity.HIGH,
    remediation=(
        "Set site_config=SiteConfigArgs(health_check_path='/healthz') on azure_native.web.WebApp (classic "
        "pulumi-azure: site_config={'health_check_path': '/healthz'} on LinuxWebApp/WindowsWebApp)."
    ),
)
def check(resource: Resource, targets: PolicyTargets) -> Iterator[Finding]:
    path = get(resource.props, "siteConfig.healthCheckPath")
    if is_unknown(path):
        yield unknown(resource, "siteConfig.healthCheckPath")
    elif not (isinstance(path, str) and path.startswith("/")):
        yield violation(resource, f"siteConfig.healthCheckPath is {fmt(path)}: App Service never probes it")
