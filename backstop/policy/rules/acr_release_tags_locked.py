"""A registry that purges untagged manifests only does so where release images are locked.

ACR's retention policy deletes a manifest once it has been untagged for its days, and a manifest becomes
untagged when a newer image is pushed with the same tag: a re-pushed release tag loses its earlier image, and
a slot that runs it by digest can no longer pull it ("If you have systems that pull images by manifest digest
... you should not set a retention policy for untagged manifests", ACR retention policy documentation). Only
a locked manifest (`writeEnabled`/`deleteEnabled` false) is spared, and that lock is set per image through the
registry's data plane (`az acr repository update`): neither azure-native nor classic pulumi-azure can declare
it. So with the policy on, whether prior releases survive is unknown, never a pass, until the policy setting
`releaseTagsLocked` attests that the release pipeline locks them; with the policy off nothing is purged.

Kept apart from `acr-retention-keeps-tagged-images` (what the registry's own settings delete) so that the
report's rebuild-from-source row, which needs no prior image, does not depend on this attestation.
"""

from __future__ import annotations

from collections.abc import Iterator

from backstop.ground import seeds, tokens
from backstop.ground.resources import Resource, is_unknown
from backstop.policy.core import Finding, Severity, resource_rule
from backstop.policy.rules.acr_retention_keeps_tagged import _retention_days
from backstop.policy.targets import PolicyTargets
from backstop.policy.values import MISSING, fmt


@resource_rule(
    id="acr-release-tags-locked",
    types=tokens.AZ_REGISTRIES,
    description=(
        f"{seeds.SEED_WISER}, Application Layer: 'Previous versions — Prior deployment images retained in "
        "the registry and redeployable at any time'. An untagged-manifest retention policy purges the "
        "earlier "
        "image of every re-pushed tag and every image a slot pulls by digest once it is untagged, unless "
        "release images are locked."
    ),
    severity=Severity.MEDIUM,
    remediation=(
        "Lock each release image as the pipeline pushes it (`az acr repository update --name <registry> "
        "--image <repo>:<release tag> --write-enabled false --delete-enabled false`) and set the policy "
        "setting releaseTagsLocked to true (now: $release_tags_locked); or set the registry's "
        "policies.retention_policy.status to 'disabled' (classic: drop retention_policy_in_days)."
    ),
    tunables=("release_tags_locked",),
)
def check(resource: Resource, targets: PolicyTargets) -> Iterator[Finding]:
    days = _retention_days(resource)
    if days is MISSING or targets.release_tags_locked:
        return
    if is_unknown(days):
        yield Finding(resource.urn, "the retention policy is not known until the resource is created", True)
        return
    yield Finding(
        resource.urn,
        f"untagged manifests are purged after {fmt(days)} days, and a release tag pushed again leaves its "
        "earlier image untagged: whether release images are locked (per image, `writeEnabled` false, which "
        "no Pulumi resource declares) cannot be read from the program; set releaseTagsLocked once the "
        "pipeline locks them, or disable the retention policy",
        unknown=True,
    )
