"""Every prod web app has a deployment slot, so a faulty deployment can be swapped back."""

from __future__ import annotations

from collections.abc import Iterator

from backstop.ground import seeds, tokens
from backstop.ground.resources import Resource
from backstop.policy.core import Finding, Severity, stack_rule, unknown, violation
from backstop.policy.stackview import StackView
from backstop.policy.targets import PolicyTargets
from backstop.policy.values import get

_NATIVE_SLOTS = frozenset({tokens.AZ_WEB_APP_SLOT})
_CLASSIC_SLOTS = tokens.AZ_WEB_APP_SLOTS - _NATIVE_SLOTS


def _slots(stack: StackView, app: Resource) -> tuple[list[Resource], bool]:
    """Native slots name their app in `name` (a site name is unique in its resource group, so a slot of
    another group with the same name is not this app's); classic slots name it by `appServiceId`."""
    if app.type != tokens.AZ_WEB_APP:
        return stack.attached(_CLASSIC_SLOTS, app, "appServiceId")
    name = get(app.props, "name")
    found, undecided = stack.attached(_NATIVE_SLOTS, app, "name", name if isinstance(name, str) else app.name)
    group = get(app.props, "resourceGroupName")

    def same_group(slot: Resource) -> bool:
        other = get(slot.props, "resourceGroupName")
        return bool(slot.property_dependencies.get("name")) or not (
            isinstance(group, str) and isinstance(other, str) and other.lower() != group.lower()
        )

    return [s for s in found if same_group(s)], undecided


@stack_rule(
    id="app-web-app-deployment-slot",
    description=(
        f"{seeds.SEED_WISER}, Application Layer: 'Rollback — Azure App Services supports deployment slot "
        "swapping for instant rollback to previous version', and Recovery Capabilities: 'Faulty "
        "deployment — deployment slot swap — 5-15 minutes'. Without a slot there is nothing to swap back."
    ),
    severity=Severity.HIGH,
    remediation=(
        "Declare azure_native.web.WebAppSlot(name=<app>.name, slot='staging', server_farm_id=<plan>.id, ...) "
        "(classic: azure.appservice.LinuxWebAppSlot(app_service_id=<app>.id, ...))."
    ),
    tunables=("require_deployment_slots",),
)
def check(stack: StackView, targets: PolicyTargets) -> Iterator[Finding]:
    if not targets.require_deployment_slots:
        return
    for app in stack.of(tokens.AZ_WEB_APPS):
        slots, undecided = _slots(stack, app)
        if slots:
            continue
        if undecided:
            yield unknown(app, "whether a deployment slot belongs to this web app")
        else:
            yield violation(app, "no deployment slot: a faulty deployment cannot be swapped back")
