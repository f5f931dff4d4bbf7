"""A local fake of an Azure Container Registry's data plane over HTTPS, as `backstop drill rollback` uses it.

It answers as ACR's Azure AD integration (<https://azure.github.io/acr/AAD-OAuth.html>) and the OCI
Distribution Specification's manifest pull describe: `POST /oauth2/exchange` (form `grant_type=access_token`,
`service`, `access_token`) gives a refresh token for an Azure AD token it accepts; `POST /oauth2/token`
(form `grant_type=refresh_token`, `service`, `scope=repository:<repo>:pull`, `refresh_token`) gives an
access token for that repository; `HEAD /v2/<repo>/manifests/<tag>` with that token as `Bearer` answers 200
with `Docker-Content-Digest`, `Content-Type` and `Content-Length` and no body, 404 for a tag it does not
hold, and 401 with a `WWW-Authenticate: Bearer realm=...,service=...,scope=...` challenge without a token
(or with one for another repository). Errors carry the registry's `{"errors": [{code, message}]}` body.

Faults: `forbidden` holds the steps (`exchange`, `token`, `manifest`) that answer 403 `DENIED`, as a
registry does for an identity without a pull role.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs

from tests.fakes.arm_server import LocalTlsServer

_MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"


@dataclass
class RegistryRequest:
    method: str
    path: str
    form: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)


class FakeRegistry(LocalTlsServer):
    """One registry (`name`, its login server) holding `tags`: (repository, tag) → digest."""

    def __init__(
        self, name: str, tags: dict[tuple[str, str], str], *, aad_token: str = "drill-token"
    ) -> None:
        self.name = name
        self.tags = dict(tags)
        self.aad_token = aad_token
        self.forbidden: set[str] = set()
        self.requests: list[RegistryRequest] = []
        self._refresh_tokens: set[str] = set()
        self._access_tokens: dict[str, str] = {}  # token → the repository it may pull
        self._lock = threading.Lock()
        self._start_tls()

    def calls(self) -> list[tuple[str, str]]:
        return [(r.method, r.path) for r in self.requests]

    # --- answers: (status, JSON body or None, headers) -----------------------------------------------

    @staticmethod
    def _error(status: int, code: str, message: str) -> tuple[int, Any, dict[str, str]]:
        return status, {"errors": [{"code": code, "message": message}]}, {}

    def _exchange(self, form: dict[str, str]) -> tuple[int, Any, dict[str, str]]:
        if "exchange" in self.forbidden:
            return self._error(403, "DENIED", "the identity may not access this registry")
        if form.get("grant_type") != "access_token" or form.get("service") != self.name:
            return self._error(400, "UNSUPPORTED", "grant_type=access_token and this registry's service")
        if form.get("access_token") != self.aad_token:
            return self._error(401, "UNAUTHORIZED", "the Azure AD token is not valid")
        token = f"refresh-{len(self._refresh_tokens) + 1}"
        self._refresh_tokens.add(token)
        return 200, {"refresh_token": token}, {}

    def _token(self, form: dict[str, str]) -> tuple[int, Any, dict[str, str]]:
        if "token" in self.forbidden:
            return self._error(403, "DENIED", "requested access to the resource is denied")
        scope = form.get("scope") or ""
        kind, _, rest = scope.partition(":")
        repository, _, actions = rest.rpartition(":")
        if (
            form.get("grant_type") != "refresh_token"
            or form.get("service") != self.name
            or kind != "repository"
            or "pull" not in actions.split(",")
        ):
            return self._error(400, "UNSUPPORTED", "grant_type=refresh_token, service and a repository scope")
        if form.get("refresh_token") not in self._refresh_tokens:
            return self._error(401, "UNAUTHORIZED", "the refresh token is not valid")
        token = f"access-{len(self._access_tokens) + 1}"
        self._access_tokens[token] = repository
        return 200, {"access_token": token}, {}

    def _manifest(self, path: str, authorization: str) -> tuple[int, Any, dict[str, str]]:
        repository, _, reference = path.removeprefix("/v2/").rpartition("/manifests/")
        token = authorization.removeprefix("Bearer ") if authorization.startswith("Bearer ") else ""
        if self._access_tokens.get(token) != repository:
            challenge = (
                f'Bearer realm="https://{self.name}/oauth2/token",service="{self.name}",'
                f'scope="repository:{repository}:pull"'
            )
            status, body, _ = self._error(401, "UNAUTHORIZED", "authentication required")
            return status, body, {"WWW-Authenticate": challenge}
        if "manifest" in self.forbidden:
            return self._error(403, "DENIED", "requested access to the resource is denied")
        digest = self.tags.get((repository, reference))
        if digest is None:
            return self._error(404, "MANIFEST_UNKNOWN", "manifest tagged by reference is not found")
        return 200, None, {"Docker-Content-Digest": digest, "Content-Type": _MANIFEST_TYPE}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                return

            def _send(self, status: int, body: Any, headers: dict[str, str], *, head: bool = False) -> None:
                data = json.dumps(body).encode() if body is not None else b""
                self.send_response(status)
                self.send_header("Content-Type", headers.pop("Content-Type", "application/json"))
                self.send_header("Content-Length", str(len(data) if not head or data else 528))
                self.send_header("Docker-Distribution-Api-Version", "registry/2.0")
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()
                if not head:
                    self.wfile.write(data)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode()
                form = {key: values[0] for key, values in parse_qs(raw).items()}
                with fake._lock:
                    fake.requests.append(RegistryRequest("POST", self.path, form, dict(self.headers)))
                    if self.path == "/oauth2/exchange":
                        answer = fake._exchange(form)
                    elif self.path == "/oauth2/token":
                        answer = fake._token(form)
                    else:
                        answer = fake._error(404, "NOT_FOUND", self.path)
                self._send(*answer)

            def do_HEAD(self) -> None:
                with fake._lock:
                    fake.requests.append(RegistryRequest("HEAD", self.path, {}, dict(self.headers)))
                    if self.path.startswith("/v2/") and "/manifests/" in self.path:
                        answer = fake._manifest(self.path, self.headers.get("Authorization") or "")
                    else:
                        answer = fake._error(404, "NOT_FOUND", self.path)
                self._send(*answer, head=True)

        return Handler
