"""A small client for the MongoDB Atlas Administration API v2: the calls the audit and the drill need.

Only documented resources and shapes (the v2 OpenAPI spec, as published in `go.mongodb.org/atlas-sdk`):

| call | resource | Accept version |
|---|---|---|
| project by name / id | `GET /api/atlas/v2/groups/byName/{groupName}`, `GET /groups/{groupId}` | 2023-01-01 |
| cluster | `GET /groups/{groupId}/clusters/{clusterName}` (`ClusterDescription20240805`) | 2024-08-05 |
| snapshots | `GET .../clusters/{clusterName}/backup/snapshots` (`DiskBackupReplicaSet` pages) | 2023-01-01 |
| restore jobs | `POST`, `GET`, `DELETE .../backup/restoreJobs[/{restoreJobId}]` | 2023-01-01 |

Authentication is HTTP Digest with a programmatic API key, or a service account's OAuth 2.0 client
credentials (`POST /api/oauth/token`). Every failure becomes one `AtlasApiError` line naming the call, the
HTTP status and Atlas's `errorCode`/`detail`, so the CLI can print it and exit 2.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import quote

import requests
from requests.auth import AuthBase, HTTPBasicAuth, HTTPDigestAuth

from backstop.errors import BackstopError

DEFAULT_BASE_URL = "https://cloud.mongodb.com"
API_PREFIX = "/api/atlas/v2"
TOKEN_PATH = "/api/oauth/token"
VERSION_DEFAULT = "2023-01-01"
VERSION_CLUSTERS = "2024-08-05"
PAGE_SIZE = 100

ENV_PUBLIC_KEY = "MONGODB_ATLAS_PUBLIC_KEY"
ENV_PRIVATE_KEY = "MONGODB_ATLAS_PRIVATE_KEY"
ENV_CLIENT_ID = "MONGODB_ATLAS_CLIENT_ID"
ENV_CLIENT_SECRET = "MONGODB_ATLAS_CLIENT_SECRET"
ENV_BASE_URL = "MONGODB_ATLAS_BASE_URL"


class AtlasApiError(BackstopError):
    """An Atlas Administration API call that failed; the text is one line."""

    def __init__(self, message: str, status: int | None = None, error_code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.error_code = error_code


class MissingCredentials(BackstopError):
    """No Atlas API key or service account in the environment."""


def one_line(text: Any, limit: int = 300) -> str:
    """Collapse whitespace so a remote message can never break the one-line error contract."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def parse_time(value: Any) -> datetime | None:
    """Atlas timestamps are ISO 8601 in UTC (`2026-05-18T06:00:00Z`); anything else is None."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


class ServiceAccountAuth(AuthBase):
    """Bearer tokens from a service account's client credentials, renewed a minute before they expire."""

    def __init__(self, base_url: str, client_id: str, client_secret: str, timeout: float = 30.0) -> None:
        self.token_url = base_url.rstrip("/") + TOKEN_PATH
        self.client_id = client_id
        self.client_secret = client_secret
        self.timeout = timeout
        self._token: str | None = None
        self._expires = 0.0
        self._lock = threading.Lock()

    def _fetch(self) -> str:
        try:
            response = requests.post(
                self.token_url,
                auth=HTTPBasicAuth(self.client_id, self.client_secret),
                data={"grant_type": "client_credentials"},
                headers={"Accept": "application/json"},
                timeout=self.timeout,
            )
        except requests.RequestException as exc:
            raise AtlasApiError(f"Atlas service account token: cannot connect: {one_line(exc)}") from None
        if response.status_code != 200:
            raise AtlasApiError(
                f"Atlas service account token: HTTP {response.status_code} "
                f"(check {ENV_CLIENT_ID} / {ENV_CLIENT_SECRET})",
                status=response.status_code,
            )
        body = response.json()
        token = body.get("access_token")
        if not isinstance(token, str):
            raise AtlasApiError("Atlas service account token: the response has no access_token")
        self._expires = time.monotonic() + float(body.get("expires_in", 3600)) - 60
        return token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        with self._lock:
            if self._token is None or time.monotonic() >= self._expires:
                self._token = self._fetch()
            request.headers["Authorization"] = f"Bearer {self._token}"
        return request


def auth_from_env(env: Mapping[str, str], base_url: str) -> AuthBase:
    """An API key (HTTP Digest) when both halves are set, else a service account, else a one-line error."""
    public, private = env.get(ENV_PUBLIC_KEY, ""), env.get(ENV_PRIVATE_KEY, "")
    client_id, client_secret = env.get(ENV_CLIENT_ID, ""), env.get(ENV_CLIENT_SECRET, "")
    if public and private:
        return HTTPDigestAuth(public, private)
    if client_id and client_secret:
        return ServiceAccountAuth(base_url, client_id, client_secret)
    if public or private or client_id or client_secret:
        raise MissingCredentials(
            f"Atlas credentials are incomplete: set both {ENV_PUBLIC_KEY} and {ENV_PRIVATE_KEY}, "
            f"or both {ENV_CLIENT_ID} and {ENV_CLIENT_SECRET}"
        )
    raise MissingCredentials(
        f"no Atlas credentials: set {ENV_PUBLIC_KEY} and {ENV_PRIVATE_KEY} "
        f"(or a service account's {ENV_CLIENT_ID} and {ENV_CLIENT_SECRET})"
    )


def _segment(value: str) -> str:
    return quote(value, safe="")


class AtlasClient:
    """The Atlas Administration API calls backstop makes, over `requests`."""

    def __init__(
        self,
        auth: AuthBase,
        base_url: str = DEFAULT_BASE_URL,
        *,
        timeout: float = 30.0,
        session: requests.Session | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.auth = auth
        self.timeout = timeout
        self.session = session or requests.Session()

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> AtlasClient:
        env = os.environ if env is None else env
        base_url = env.get(ENV_BASE_URL) or DEFAULT_BASE_URL
        return cls(auth_from_env(env, base_url), base_url)

    # --- transport ------------------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        version: str = VERSION_DEFAULT,
        params: Mapping[str, Any] | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> Any:
        url = self.base_url + API_PREFIX + path
        media_type = f"application/vnd.atlas.{version}+json"
        headers = {"Accept": media_type}
        if body is not None:
            headers["Content-Type"] = media_type
        call = f"Atlas Admin API {method} {API_PREFIX}{path}"
        try:
            response = self.session.request(
                method,
                url,
                params=dict(params) if params else None,
                json=dict(body) if body is not None else None,
                headers=headers,
                auth=self.auth,
                timeout=self.timeout,
            )
        except requests.RequestException as exc:
            raise AtlasApiError(f"{call}: cannot connect to {self.base_url}: {one_line(exc)}") from None
        if response.status_code >= 400:
            raise self._error(call, response)
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise AtlasApiError(
                f"{call}: HTTP {response.status_code} with a body that is not JSON", response.status_code
            ) from None

    @staticmethod
    def _error(call: str, response: requests.Response) -> AtlasApiError:
        code: str | None = None
        detail = response.reason or ""
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict):
            code = body.get("errorCode") if isinstance(body.get("errorCode"), str) else None
            detail = str(body.get("detail") or body.get("reason") or detail)
        hint = ""
        if response.status_code == 401:
            hint = f" (check {ENV_PUBLIC_KEY}/{ENV_PRIVATE_KEY} or {ENV_CLIENT_ID}/{ENV_CLIENT_SECRET})"
        parts = [f"{call}: HTTP {response.status_code}"]
        if code:
            parts.append(code)
        if detail:
            parts.append(one_line(detail))
        return AtlasApiError(": ".join(parts) + hint, response.status_code, code)

    def paginate(self, path: str, *, version: str = VERSION_DEFAULT) -> Iterator[dict[str, Any]]:
        """Every item of a paginated list (`results`, `totalCount`, `links` with `rel: next`)."""
        page = 1
        seen = 0
        while True:
            body = self.request(
                "GET",
                path,
                version=version,
                params={"pageNum": page, "itemsPerPage": PAGE_SIZE, "includeCount": "true"},
            )
            results = body.get("results", []) if isinstance(body, dict) else []
            yield from results
            seen += len(results)
            total = body.get("totalCount") if isinstance(body, dict) else None
            has_next = any(
                isinstance(link, dict) and link.get("rel") == "next" for link in (body or {}).get("links", [])
            )
            if not results or (isinstance(total, int) and seen >= total) or (total is None and not has_next):
                return
            page += 1

    # --- resources ------------------------------------------------------------------------------------

    def project_by_name(self, name: str) -> dict[str, Any]:
        result: dict[str, Any] = self.request("GET", f"/groups/byName/{_segment(name)}")
        return result

    def project(self, group_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self.request("GET", f"/groups/{_segment(group_id)}")
        return result

    def cluster(self, group_id: str, cluster_name: str) -> dict[str, Any]:
        result: dict[str, Any] = self.request(
            "GET", f"/groups/{_segment(group_id)}/clusters/{_segment(cluster_name)}", version=VERSION_CLUSTERS
        )
        return result

    def snapshots(self, group_id: str, cluster_name: str) -> list[dict[str, Any]]:
        """Every replica-set snapshot of the cluster, newest first."""
        path = f"/groups/{_segment(group_id)}/clusters/{_segment(cluster_name)}/backup/snapshots"
        items = list(self.paginate(path))
        return sorted(items, key=lambda s: str(s.get("createdAt", "")), reverse=True)

    def create_restore_job(self, group_id: str, cluster_name: str, job: Mapping[str, Any]) -> dict[str, Any]:
        path = f"/groups/{_segment(group_id)}/clusters/{_segment(cluster_name)}/backup/restoreJobs"
        result: dict[str, Any] = self.request("POST", path, body=job)
        return result

    def restore_job(self, group_id: str, cluster_name: str, job_id: str) -> dict[str, Any]:
        path = (
            f"/groups/{_segment(group_id)}/clusters/{_segment(cluster_name)}/backup/restoreJobs/"
            f"{_segment(job_id)}"
        )
        result: dict[str, Any] = self.request("GET", path)
        return result

    def cancel_restore_job(self, group_id: str, cluster_name: str, job_id: str) -> None:
        path = (
            f"/groups/{_segment(group_id)}/clusters/{_segment(cluster_name)}/backup/restoreJobs/"
            f"{_segment(job_id)}"
        )
        self.request("DELETE", path)


def restore_job_state(job: Mapping[str, Any]) -> str:
    """`finished`, `failed`, `cancelled`, `expired` or `running`, from the documented job fields."""
    if job.get("failed") is True:
        return "failed"
    if job.get("cancelled") is True:
        return "cancelled"
    if job.get("expired") is True:
        return "expired"
    if parse_time(job.get("finishedAt")) is not None:
        return "finished"
    return "running"


def newest_completed_snapshot(
    snapshots: list[dict[str, Any]], at_or_before: datetime, now: datetime | None = None
) -> dict[str, Any] | None:
    """The newest `completed`, unexpired snapshot taken at or before `at_or_before`."""
    best: tuple[datetime, dict[str, Any]] | None = None
    for snapshot in snapshots:
        if snapshot.get("status") != "completed":
            continue
        created = parse_time(snapshot.get("createdAt"))
        if created is None or created > at_or_before:
            continue
        expires = parse_time(snapshot.get("expiresAt"))
        if now is not None and expires is not None and expires <= now:
            continue
        if best is None or created > best[0]:
            best = (created, snapshot)
    return best[1] if best else None
