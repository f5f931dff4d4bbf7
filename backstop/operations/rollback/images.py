"""Whether `backstop drill rollback` would test anything: the two slots' images compared by manifest digest.

App Service says which image a slot runs as `linuxFxVersion` (`DOCKER|<registry>/<repository>:<tag>` or
`...@sha256:...`). Two slots on one manifest digest make a swap that exchanges an image for itself, so the
drill fails without swapping; a tag whose digest cannot be found leaves the question open and the drill
fails too, rather than swap on a guess. The registry is asked through the `digest_of` edge the drill is
given (`clients/registry.py` in production).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from backstop.clients.registry import RegistryError

STAGING_SLOT = "staging"


def one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return f"{type(exc).__name__}: {text}"[:300]


def image_reference(linux_fx_version: str | None) -> str:
    """`linuxFxVersion` as one comparable reference: the kind (`DOCKER|`) and registry host in one case
    (both are case-insensitive), a bare repository as Docker reads it (`:latest`); tags and digests are
    compared exactly."""
    text = (linux_fx_version or "").strip()
    kind, bar, image = text.partition("|")
    if not bar:
        kind, image = "", text
    first, slash, rest = image.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        image = f"{first.lower()}/{rest}"
    last = image.rsplit("/", 1)[-1]
    if image and ":" not in last and "@" not in last:
        image += ":latest"
    return f"{kind.upper()}|{image}" if bar else image


@dataclass(frozen=True)
class ImageName:
    """A container image reference as Docker reads it: registry host, repository, tag and/or digest."""

    registry: str
    repository: str
    tag: str | None
    digest: str | None


def image_name(linux_fx_version: str | None) -> ImageName | None:
    """`DOCKER|<registry>/<repository>[:tag][@digest]` read as an image, or None when `linuxFxVersion` names
    no container image (empty, or another kind such as `PYTHON|3.11`). A bare repository is Docker Hub's
    (`docker.io/library/<name>`), a missing tag `latest`."""
    text = (linux_fx_version or "").strip()
    kind, bar, image = text.partition("|")
    if not bar:
        kind, image = "DOCKER", text
    image = image.strip()
    if kind.upper() != "DOCKER" or not image or any(c.isspace() for c in image):
        return None
    image, at, digest = image.partition("@")
    first, slash, rest = image.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        registry, path = first.lower(), rest
    else:
        registry, path = "docker.io", image if "/" in image else f"library/{image}"
    repository, colon, tag = path.rpartition(":") if ":" in path.rsplit("/", 1)[-1] else (path, "", "")
    if not repository or (at and not digest) or (colon and not tag):
        return None
    return ImageName(registry, repository, tag if colon else None if at else "latest", digest or None)


@dataclass(frozen=True)
class ImageComparison:
    """Whether a swap would test a rollback: `nothing_to_roll_back` (both slots run one image) or
    `not_compared` (the drill cannot tell), each one line; neither when the slots run different digests."""

    nothing_to_roll_back: str | None = None
    not_compared: str | None = None
    production_digest: str | None = None
    staged_digest: str | None = None


def compare_images(
    production: str | None, staged: str | None, digest_of: Callable[[str, str, str], str]
) -> ImageComparison:
    """Compare the two slots' images by manifest digest. One reference in both slots (a moving tag such as
    `:stable` pushed to both) is one image without asking the registry; a reference by digest is its
    digest; a tag is resolved with `digest_of`. Any tag that cannot be resolved leaves the question open."""
    if image_reference(production) == image_reference(staged):
        if not (production or "").strip():
            return ImageComparison(
                "neither production nor the staging slot reports an image (linuxFxVersion is empty)"
            )
        return ImageComparison(
            f"production and the {STAGING_SLOT} slot both run {production}: there is nothing to roll back "
            "to (deploy each release to the slot under its own tag or digest)"
        )
    digests: list[str] = []
    for where, reference in (("production", production), (f"the {STAGING_SLOT} slot", staged)):
        name = image_name(reference)
        why: str | None = None
        if name is None:
            why = f"{where} runs no container image ({reference or 'empty linuxFxVersion'})"
        elif name.digest is not None:
            digests.append(name.digest)
            continue
        else:
            try:
                digests.append(digest_of(name.registry, name.repository, name.tag or "latest"))
                continue
            except RegistryError as exc:
                why = str(exc)
            except Exception as exc:  # a resolver's own failure is an open question, not a crash
                why = one_line(exc)
        return ImageComparison(
            not_compared=f"cannot tell whether production ({production}) and the {STAGING_SLOT} slot "
            f"({staged}) run different images: {why}; the drill swaps only slots known to differ (grant "
            "the drill's identity AcrPull on the registry, or deploy both by digest)"
        )
    before, after = digests
    if before == after:
        return ImageComparison(
            nothing_to_roll_back=f"production ({production}) and the {STAGING_SLOT} slot ({staged}) run the "
            f"same image {before}: there is nothing to roll back to (deploy another release to the slot)",
            production_digest=before,
            staged_digest=after,
        )
    return ImageComparison(production_digest=before, staged_digest=after)
