"""An image tag's manifest digest on an Azure Container Registry, read through the registry's data plane.

`backstop drill rollback` compares the two slots' images by digest: a release tag in production and the
same build deployed to the slot by digest are one image, and swapping them tests nothing. A tag is
resolved with the Docker Registry HTTP API v2 / OCI Distribution Specification: `HEAD
/v2/<repository>/manifests/<tag>` with an `Accept` listing the OCI index and manifest and the Docker
manifest list and v2 manifest media types; the digest is the `Docker-Content-Digest` response header
(OCI Distribution Spec, "Pulling manifests": a HEAD answers as the GET without a body, 404 for an unknown
tag; <https://github.com/opencontainers/distribution-spec/blob/main/spec.md#pulling-manifests>).

Signing in is ACR's Azure AD exchange (<https://azure.github.io/acr/AAD-OAuth.html>): an Azure AD access
token for `https://containerregistry.azure.net/.default` is exchanged at `POST https://<registry>/oauth2/exchange`
(form `grant_type=access_token`, `service=<registry>`, `access_token=<aad>`) for an ACR refresh token, and
that at `POST https://<registry>/oauth2/token` (`grant_type=refresh_token`, `service`,
`scope=repository:<repository>:pull`, `refresh_token`) for an access token sent as `Bearer`. The
identity needs AcrPull (or any role with pull) on the registry. Every failure is one `RegistryError` line
naming the registry, the step and the answer; nothing here writes.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported when a tag is resolved: every other command starts without requests
    import requests

# The Azure AD scope of ACR's data plane (the registry's own audience, not ARM's).
ACR_SCOPE = "https://containerregistry.azure.net/.default"
# Login servers of Azure Container Registry in Azure's public cloud, the audience above.
ACR_SUFFIX = ".azurecr.io"
MANIFEST_MEDIA_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v2+json",
)
_DIGEST = re.compile(r"^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$")


class RegistryError(Exception):
    """One line: which registry, which step, what it answered."""


def is_acr(registry: str) -> bool:
    return registry.lower().endswith(ACR_SUFFIX)


def _answer(response: requests.Response) -> str:
    """`403 DENIED: ...`: the status and the registry's first error (`{"errors": [{code, message}]}`)."""
    text = str(response.status_code)
    try:
        errors = response.json().get("errors") or []
        first = errors[0] if errors and isinstance(errors[0], dict) else {}
    except (ValueError, AttributeError):
        first = {}
    detail = " ".join(str(first.get(key) or "") for key in ("code", "message")).strip()
    return f"{text} {' '.join(detail.split())[:120]}".strip()


class AcrDigests:
    """`manifest_digest(registry, repository, tag)` against Azure Container Registries.

    `aad_token` returns an Azure AD access token for `ACR_SCOPE`; `endpoint` maps a login server to the
    base URL to call (the login server itself over HTTPS; tests point it at a local fake). One refresh
    token per registry and one access token per repository are kept for the life of the object.
    """

    def __init__(
        self,
        aad_token: Callable[[], str],
        *,
        endpoint: Callable[[str], str] = lambda registry: f"https://{registry}",
        session: requests.Session | None = None,
        verify: bool | str = True,
        timeout: tuple[float, float] = (5.0, 30.0),
    ) -> None:
        self._aad_token = aad_token
        self._endpoint = endpoint
        if session is None:
            import requests

            session = requests.Session()
        self.session = session
        self.verify = verify
        self.timeout = timeout
        self._lock = threading.Lock()
        self._refresh: dict[str, str] = {}
        self._access: dict[tuple[str, str], str] = {}

    def _call(self, method: str, registry: str, path: str, **kwargs: Any) -> requests.Response:
        import requests

        url = self._endpoint(registry).rstrip("/") + path
        try:
            return self.session.request(
                method, url, timeout=self.timeout, verify=self.verify, allow_redirects=False, **kwargs
            )
        except requests.RequestException as error:
            raise RegistryError(
                f"registry {registry}: {method} {path}: cannot connect ({type(error).__name__})"
            ) from None

    def _token_from(self, registry: str, path: str, form: dict[str, str], key: str) -> str:
        response = self._call("POST", registry, path, data=form)
        if response.status_code != 200:
            raise RegistryError(f"registry {registry}: POST {path} answered {_answer(response)}")
        try:
            token = response.json()[key]
        except (ValueError, KeyError, TypeError):
            token = None
        if not isinstance(token, str) or not token:
            raise RegistryError(f"registry {registry}: POST {path} answered 200 without a {key}")
        return token

    def _refresh_token(self, registry: str) -> str:
        if registry not in self._refresh:
            try:
                aad = self._aad_token()
            except Exception as error:  # azure.identity raises many kinds; all mean "no token"
                first = " ".join(str(error).split())[:160] or type(error).__name__
                raise RegistryError(
                    f"registry {registry}: no Azure AD token for {ACR_SCOPE} ({first})"
                ) from None
            form = {"grant_type": "access_token", "service": registry, "access_token": aad}
            self._refresh[registry] = self._token_from(registry, "/oauth2/exchange", form, "refresh_token")
        return self._refresh[registry]

    def _access_token(self, registry: str, repository: str) -> str:
        if (registry, repository) not in self._access:
            form = {
                "grant_type": "refresh_token",
                "service": registry,
                "scope": f"repository:{repository}:pull",
                "refresh_token": self._refresh_token(registry),
            }
            token = self._token_from(registry, "/oauth2/token", form, "access_token")
            self._access[registry, repository] = token
        return self._access[registry, repository]

    def manifest_digest(self, registry: str, repository: str, tag: str) -> str:
        """The digest `registry/repository:tag` names now (`sha256:...`), or one `RegistryError` line."""
        registry = registry.lower()
        if not is_acr(registry):
            raise RegistryError(
                f"registry {registry} is not an Azure Container Registry (*{ACR_SUFFIX}): "
                f"tag {tag} cannot be resolved to a digest"
            )
        with self._lock:
            bearer = self._access_token(registry, repository)
        path = f"/v2/{repository}/manifests/{tag}"
        response = self._call(
            "HEAD",
            registry,
            path,
            headers={"Accept": ", ".join(MANIFEST_MEDIA_TYPES), "Authorization": f"Bearer {bearer}"},
        )
        if response.status_code != 200:
            unknown = " (no such tag)" if response.status_code == 404 else ""
            raise RegistryError(f"registry {registry}: HEAD {path} answered {response.status_code}{unknown}")
        digest = (response.headers.get("Docker-Content-Digest") or "").strip()
        if not _DIGEST.match(digest):
            raise RegistryError(
                f"registry {registry}: HEAD {path} answered 200 without a Docker-Content-Digest digest"
            )
        return digest


def acr_digests() -> AcrDigests:
    """Resolution signed in with the credential the drill uses for Resource Manager."""
    from backstop.clients.azure_web import azure_credential

    credential = azure_credential()
    return AcrDigests(lambda: credential.get_token(ACR_SCOPE).token)
