"""A web app keeps Always On set, so App Service never unloads it when idle.

An app that is unloaded after 20 idle minutes answers its first request (and the health check probe)
with a cold start, and a swapped-in slot is cold too: the 1-3 minute automatic restart and the 5-15 minute
slot-swap rollback the seed promises assume a loaded app. azure-native leaves `siteConfig.alwaysOn` false
when unset; classic pulumi-azure's `LinuxWebApp`/`WindowsWebApp` default it to true.
"""

from __future__ import annotations

from collections.abc import Iterator

from backstop.ground import seeds, tokens
from backstop.ground.resources import Resource, is_unknown
from backstop.policy.core import Finding, Severity, resource_rule, unknown, violation
from backstop.policy.targets import PolicyTargets
from backstop.policy.values import MISSING, fmt, get, is_true

_DEFAULTS_ON = frozenset({tokens.AZC_LINUX_WEB_APP, tokens.AZC_WINDOWS_WEB_APP})


@resource_rule(
    id="app-web-app-always-on",
    types=tokens.AZ_WEB_APPS,
    description=(
        f"{seeds.SEED_WISER}, Recovery Capabilities: 'Crashed container — Azure App Services health checks "
        "trigger automatic container restart — 1-3 minutes (automatic)' and 'Faulty deployment — Rollback "
        "to previous Docker image via Azure App Services deployment slot swap — 5-15 minutes'. An app "
        "without Always On is unloaded when idle, so it meets a probe, a swap or an outage cold."
    ),
    severity=Severity.MEDIUM,
    remediation=(
        "Set site_config=SiteConfigArgs(always_on=True) on azure_native.web.WebApp (classic pulumi-azure: "
        "site_config={'always_on': True}, its default); the target in force is always_on = true."
    ),
)
def check(resource: Resource, targets: PolicyTargets) -> Iterator[Finding]:
    value = get(resource.props, "siteConfig.alwaysOn")
    if is_unknown(value):
        yield unknown(resource, "siteConfig.alwaysOn")
    elif value is MISSING and resource.type in _DEFAULTS_ON:
        return
    elif not is_true(value):
        yield violation(
            resource, f"siteConfig.alwaysOn is {fmt(value)}: App Service unloads the app when it is idle"
        )
