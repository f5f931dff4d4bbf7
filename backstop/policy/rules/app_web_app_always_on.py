"""A web app and each of its deployment slots keep Always On set, so App Service never unloads them.

An app that is unloaded after 20 idle minutes answers its first request (and the health check probe)
with a cold start, and a swapped-in slot is cold too: the 1-3 minute automatic restart and the 5-15 minute
slot-swap rollback the seed promises assume a loaded app. A slot is judged like its site. Always On is
slot specific by default ("When you swap slots, these settings aren't swapped: ... Always On"), so a
`staging` slot without it is unloaded while it holds the previous release that a rollback swaps back; and
with `WEBSITE_OVERRIDE_PRESERVE_DEFAULT_STICKY_SLOT_SETTINGS=0` (the legacy swap) the setting follows the
content, so the slot's "off" becomes production's on the next swap. Either way the requirement fails.

azure-native leaves `siteConfig.alwaysOn` false when unset (`WebApp` and `WebAppSlot`); classic
pulumi-azure's `LinuxWebApp`/`WindowsWebApp` and their `*Slot` resources default it to true. Only these
resources can declare it: the installed pulumi-azure-native (3.29) has no separate site-configuration
resource (the REST API's `sites/config/web` and `sites/slots/config/web` are not Pulumi resources; its
`WebAppSlotConfigurationNames` only lists which settings stick to a slot), and classic pulumi-azure has
none either, so a site's own `siteConfig` is the whole declaration.
"""

from __future__ import annotations

from collections.abc import Iterator

from backstop.ground import seeds, tokens
from backstop.ground.resources import Resource, is_unknown
from backstop.policy.core import Finding, Severity, resource_rule, unknown, violation
from backstop.policy.targets import PolicyTargets
from backstop.policy.values import MISSING, fmt, get, is_true

# Classic pulumi-azure documents `always_on` "Defaults to `true`" on these (and `false` on the legacy
# `appservice.Slot`, which backstop does not read).
_DEFAULTS_ON = frozenset(
    {
        tokens.AZC_LINUX_WEB_APP,
        tokens.AZC_WINDOWS_WEB_APP,
        tokens.AZC_LINUX_WEB_APP_SLOT,
        tokens.AZC_WINDOWS_WEB_APP_SLOT,
    }
)


@resource_rule(
    id="app-web-app-always-on",
    types=tokens.AZ_WEB_APPS | tokens.AZ_WEB_APP_SLOTS,
    description=(
        f"{seeds.SEED_WISER}, Recovery Capabilities: 'Crashed container — Azure App Services health checks "
        "trigger automatic container restart — 1-3 minutes (automatic)' and 'Faulty deployment — Rollback "
        "to previous Docker image via Azure App Services deployment slot swap — 5-15 minutes'. An app or "
        "slot without Always On is unloaded when idle, so it meets a probe, a swap or an outage cold; a "
        "slot without it holds the release a rollback swaps back (and passes it on under the legacy swap)."
    ),
    severity=Severity.MEDIUM,
    remediation=(
        "Set site_config=SiteConfigArgs(always_on=True) on azure_native.web.WebApp and on each "
        "azure_native.web.WebAppSlot (classic pulumi-azure: site_config={'always_on': True} on the app and "
        "its slots, their default); the target in force is always_on = true."
    ),
)
def check(resource: Resource, targets: PolicyTargets) -> Iterator[Finding]:
    value = get(resource.props, "siteConfig.alwaysOn")
    if is_unknown(value):
        yield unknown(resource, "siteConfig.alwaysOn")
    elif value is MISSING and resource.type in _DEFAULTS_ON:
        return
    elif not is_true(value):
        what = "the slot" if resource.type in tokens.AZ_WEB_APP_SLOTS else "the app"
        swapped = " (the rollback target between swaps)" if resource.type in tokens.AZ_WEB_APP_SLOTS else ""
        yield violation(
            resource,
            f"siteConfig.alwaysOn is {fmt(value)}: App Service unloads {what}{swapped} when it is idle",
        )
