"""A client for the MongoDB Atlas Administration API v2: the calls the audit and the drill need.

Only operations and shapes the official OpenAPI specification documents (its backup excerpt is vendored in
`tests/contract/`, and the tests validate every request this client sends against it):

| call | operation | media-type version |
|---|---|---|
| project by name / id | `GET /api/atlas/v2/groups/byName/{groupName}`, `GET /groups/{groupId}` | 2023-01-01 |
| cluster | `GET /groups/{groupId}/clusters/{clusterName}` (`ClusterDescription20240805`) | 2024-08-05 |
| replica-set snapshots | `GET .../clusters/{clusterName}/backup/snapshots` | 2023-01-01 |
| sharded snapshots | `GET .../clusters/{clusterName}/backup/snapshots/shardedClusters` | 2023-01-01 |
| snapshot contents | `GET .../snapshots/{snapshotId}/databases[/{databaseName}/collections]` | 2025-03-12 |
| restore jobs | `GET`, `POST .../backup/restoreJobs`; `GET`, `DELETE .../restoreJobs/{id}` | 2023-01-01 |
| backup schedule | `GET .../clusters/{clusterName}/backup/schedule` (`restoreWindowDays`) | 2024-08-05 |
| on-demand snapshot | `POST .../backup/snapshots`, `GET .../backup/snapshots/{snapshotId}` | 2023-01-01 |

What the real API does and this client survives:
- every HTTP call has a (connect, read) timeout;
- 429 and 503 are retried after `Retry-After` (seconds or an HTTP date; exponential backoff when absent);
- 500, 502, 504, timeouts and dropped connections are retried on reads with bounded exponential backoff
  and jitter; one call never waits longer than `RetryPolicy.max_wait` in total, then fails in one line;
- a restore job is never created blindly twice: after an unclear failure of the `POST` (dropped
  connection, timeout, 5xx) the client looks for the job its request created before it posts again;
- lists are read page by page following `links` `rel: next` (or until an empty page), never by
  `totalCount`, which the spec calls an estimate.

Authentication is a service account's OAuth 2.0 client credentials (`POST /api/oauth/token`, the spec's
recommended method) or, the legacy way, a programmatic API key over HTTP Digest. Every failure becomes one
`AtlasApiError` line naming the call, the HTTP status and Atlas's `errorCode`/`detail`, so the CLI can
print it and exit 2.

Long because it is the one client of the Atlas Administration API: its retries, pagination, idempotent
restore requests and every call the spec is checked against belong together, and splitting the calls from
the transport would only spread one contract over two files.
"""

from __future__ import annotations

import logging
import os
import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

import requests
from requests.auth import AuthBase, HTTPBasicAuth, HTTPDigestAuth

from backstop.ground.errors import BackstopError

logger = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://cloud.mongodb.com"
API_PREFIX = "/api/atlas/v2"
TOKEN_PATH = "/api/oauth/token"
VERSION_DEFAULT = "2023-01-01"
VERSION_CLUSTERS = "2024-08-05"
# The snapshot-contents operations exist in this one version only.
VERSION_SNAPSHOT_CONTENTS = "2025-03-12"
VERSION_SCHEDULE = "2024-08-05"
PAGE_SIZE = 100
MAX_PAGES = 10_000
# (connect, read) seconds: a hung TCP handshake or a server that never answers cannot stall a drill.
DEFAULT_TIMEOUT: tuple[float, float] = (10.0, 60.0)

ENV_PUBLIC_KEY = "MONGODB_ATLAS_PUBLIC_KEY"
ENV_PRIVATE_KEY = "MONGODB_ATLAS_PRIVATE_KEY"
ENV_CLIENT_ID = "MONGODB_ATLAS_CLIENT_ID"
ENV_CLIENT_SECRET = "MONGODB_ATLAS_CLIENT_SECRET"
ENV_BASE_URL = "MONGODB_ATLAS_BASE_URL"

RATE_LIMIT_STATUSES = frozenset({429, 503})
RETRIED_READ_STATUSES = frozenset({500, 502, 504})
CLOCK_ATLAS = "atlas"
CLOCK_LOCAL = "local"

# The Admin API operations (the spec's operationIds) each command calls; the role table of
# docs/atlas-access.md is checked against the spec's `x-rolesRequirements` for exactly these, and the tests
# against what the commands call.
OPERATIONS_BY_COMMAND: dict[str, tuple[str, ...]] = {
    "audit": (
        "getGroupByName",
        "getGroupCluster",
        "listGroupClusterBackupSnapshots",
        "listGroupClusterBackupSnapshotShardedClusters",
        "listGroupClusterBackupSnapshotDatabases",
        "listGroupClusterBackupSnapshotDatabaseCollections",
    ),
    "drill": (
        "getGroupByName",
        "getGroup",
        "getGroupCluster",
        "listGroupClusterBackupSnapshots",
        "listGroupClusterBackupSnapshotShardedClusters",
        "listGroupClusterBackupRestoreJobs",
        "createGroupClusterBackupRestoreJob",
        "getGroupClusterBackupRestoreJob",
    ),
    "recover": (
        "getGroupByName",
        "getGroup",
        "getGroupCluster",
        "listGroupClusterBackupSnapshots",
        "listGroupClusterBackupSnapshotShardedClusters",
        "getGroupClusterBackupSchedule",
        "listGroupClusterBackupSnapshotDatabases",
        "listGroupClusterBackupRestoreJobs",
        "createGroupClusterBackupRestoreJob",
        "getGroupClusterBackupRestoreJob",
        "takeGroupClusterBackupSnapshots",
        "getGroupClusterBackupSnapshot",
    ),
    "status": (
        "getGroupCluster",
        "listGroupClusterBackupSnapshots",
        "listGroupClusterBackupSnapshotShardedClusters",
        "getGroupClusterBackupSchedule",
        "listGroupClusterBackupRestoreJobs",
    ),
}

# Which delivery types Atlas never cancels (MongoDB's Terraform provider: "Automated restore cannot be
# cancelled", "Point in time restore cannot be cancelled"); the spec documents 405 for such a DELETE.
NON_CANCELLABLE_DELIVERY = frozenset({"automated", "pointInTime"})


class AtlasApiError(BackstopError):
    """An Atlas Administration API call that failed; the text is one line.

    `unclear` is set when a request that changes something may or may not have taken effect (the
    connection dropped after it was sent, a timeout, a 5xx): the caller must look before repeating it.
    """

    def __init__(
        self,
        message: str,
        status: int | None = None,
        error_code: str | None = None,
        *,
        unclear: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error_code = error_code
        self.unclear = unclear
        self.retry_after = retry_after


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


def parse_http_date(value: Any) -> datetime | None:
    """An HTTP `Date`/`Retry-After` date (RFC 9110 IMF-fixdate) as an aware UTC datetime, else None."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def retry_after_seconds(response: requests.Response) -> float | None:
    """`Retry-After` as seconds: the spec's integer, or an HTTP date measured against the `Date` header."""
    raw = response.headers.get("Retry-After")
    if raw is None:
        return None
    text = raw.strip()
    try:
        return max(float(int(text)), 0.0)
    except ValueError:
        pass
    when = parse_http_date(text)
    if when is None:
        return None
    now = parse_http_date(response.headers.get("Date")) or datetime.now(UTC)
    return max((when - now).total_seconds(), 0.0)


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class RetryPolicy:
    """How long one API call may keep trying: bounded, so a drill or audit never hangs on a sick API."""

    max_attempts: int = 8
    backoff_base: float = 1.0
    backoff_cap: float = 60.0
    # Total seconds one call may spend waiting between its attempts (Retry-After included).
    max_wait: float = 600.0
    # How many times a restore job POST whose outcome was unclear may be posted again after looking.
    create_attempts: int = 3

    def backoff(self, retry: int, jitter: float) -> float:
        """Exponential backoff with equal jitter: half the ceiling fixed, half random (jitter in [0, 1))."""
        ceiling = min(self.backoff_cap, self.backoff_base * (2**retry))
        return ceiling / 2 + jitter * ceiling / 2


class ServiceAccountAuth(AuthBase):
    """Bearer tokens from a service account's client credentials, renewed a minute before they expire.

    Asking for a token twice is harmless, so a 429/503 (after `Retry-After`), a 5xx or a dropped connection
    is retried like a read; `AtlasClient` hands it its retry policy, sleep, jitter and progress."""

    def __init__(
        self,
        base_url: str,
        client_id: str,
        client_secret: str,
        timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
    ) -> None:
        self.token_url = base_url.rstrip("/") + TOKEN_PATH
        self.client_id = client_id
        self.client_secret = client_secret
        self.timeout = timeout
        self.retry = RetryPolicy()
        self.sleep: Callable[[float], None] = time.sleep
        self.jitter: Callable[[], float] = random.random
        self.progress: Callable[[str], None] | None = None
        self._token: str | None = None
        self._expires = 0.0
        self._lock = threading.Lock()

    def _post(self) -> requests.Response:
        attempts, waited = 0, 0.0
        while True:
            attempts += 1
            retry_after: float | None = None
            try:
                response = requests.post(
                    self.token_url,
                    auth=HTTPBasicAuth(self.client_id, self.client_secret),
                    data={"grant_type": "client_credentials"},
                    headers={"Accept": "application/json"},
                    timeout=self.timeout,
                )
            except requests.RequestException as exc:
                last = f"cannot connect: {one_line(exc)}"
            else:
                status = response.status_code
                if status not in RATE_LIMIT_STATUSES | RETRIED_READ_STATUSES:
                    return response
                retry_after = retry_after_seconds(response) if status in RATE_LIMIT_STATUSES else None
                last = f"HTTP {status}"
            delay = (
                retry_after if retry_after is not None else self.retry.backoff(attempts - 1, self.jitter())
            )
            if attempts >= self.retry.max_attempts or waited + delay > self.retry.max_wait:
                raise AtlasApiError(
                    f"Atlas service account token: gave up after {attempts} attempt(s) and "
                    f"{_seconds(waited)} of waiting: last answer: {last}"
                )
            if self.progress is not None:
                self.progress(
                    f"Atlas service account token: {last}; waiting {_seconds(delay)} before attempt "
                    f"{attempts + 1} of {self.retry.max_attempts}"
                )
            self.sleep(delay)
            waited += delay

    def _fetch(self) -> str:
        response = self._post()
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
    """A service account when both halves are set (the spec's recommended method), else an API key over
    HTTP Digest, else a one-line error."""
    public, private = env.get(ENV_PUBLIC_KEY, ""), env.get(ENV_PRIVATE_KEY, "")
    client_id, client_secret = env.get(ENV_CLIENT_ID, ""), env.get(ENV_CLIENT_SECRET, "")
    if client_id and client_secret:
        return ServiceAccountAuth(base_url, client_id, client_secret)
    if public and private:
        return HTTPDigestAuth(public, private)
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


@dataclass(frozen=True)
class Topology:
    """A cluster's shape as `ClusterDescription20240805` gives it: one `replicationSpecs` item per shard."""

    cluster_type: str
    shards: int

    @property
    def sharded(self) -> bool:
        return self.cluster_type in ("SHARDED", "GEOSHARDED")

    def describe(self) -> str:
        if not self.sharded:
            return "a replica set"
        kind = "global (GEOSHARDED)" if self.cluster_type == "GEOSHARDED" else "sharded"
        return f"a {kind} cluster of {self.shards} shard(s)"


def cluster_topology(cluster: Mapping[str, Any]) -> Topology:
    kind = str(cluster.get("clusterType") or "REPLICASET")
    specs = cluster.get("replicationSpecs")
    shards = len(specs) if isinstance(specs, list) and specs else 1
    return Topology(kind, shards if kind != "REPLICASET" else 1)


@dataclass(frozen=True)
class RestoreSubmission:
    """A restore job Atlas accepted, and when: on Atlas's clock (the `Date` of the 200) where it said."""

    job: dict[str, Any]
    accepted_at: datetime
    clock: str
    adopted: bool = False

    @property
    def basis(self) -> str:
        if self.adopted:
            return "local clock: restore request sent (its answer was lost; the job was found afterwards)"
        if self.clock == CLOCK_ATLAS:
            return "Atlas clock: restore request accepted (Date header of the 200 response)"
        return "local clock: restore request sent (the response carried no Date header)"


def same_restore_request(job: Mapping[str, Any], request: Mapping[str, Any]) -> bool:
    """Whether a listed job is what `request` asks for: same delivery, target, and snapshot or time."""
    keys = ("deliveryType", "targetClusterName", "targetGroupId")
    if any(job.get(key) != request.get(key) for key in keys):
        return False
    for key in ("snapshotId", "pointInTimeUTCSeconds", "oplogTs", "oplogInc"):
        if key in request and job.get(key) != request[key]:
            return False
    return True


@dataclass
class _Attempts:
    attempts: int = 0
    waited: float = 0.0
    bursts: list[str] = field(default_factory=list)


class AtlasClient:
    """The Atlas Administration API calls backstop makes, over `requests`, with retries that end."""

    def __init__(
        self,
        auth: AuthBase,
        base_url: str = DEFAULT_BASE_URL,
        *,
        timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
        session: requests.Session | None = None,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] = random.random,
        progress: Callable[[str], None] | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.auth = auth
        self.timeout = timeout
        self.session = session or requests.Session()
        self.retry = retry or RetryPolicy()
        self.sleep = sleep
        self.jitter = jitter
        self.progress = progress
        self.clock = clock
        if isinstance(auth, ServiceAccountAuth):
            auth.retry, auth.sleep, auth.jitter = self.retry, sleep, jitter
            auth.progress = self._say

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **options: Any) -> AtlasClient:
        env = os.environ if env is None else env
        base_url = env.get(ENV_BASE_URL) or DEFAULT_BASE_URL
        return cls(auth_from_env(env, base_url), base_url, **options)

    # --- transport ------------------------------------------------------------------------------------

    def _say(self, line: str) -> None:
        """A retry or a wait: to the caller's progress callback, else to this module's logger, so a
        rate-limited recovery step says why it is waiting even when its command passed no callback."""
        if self.progress is not None:
            self.progress(line)
        else:
            logger.info(line)

    def _send(
        self,
        method: str,
        path: str,
        *,
        version: str,
        params: Mapping[str, Any] | None,
        body: Mapping[str, Any] | None,
    ) -> requests.Response:
        """One call with its retries. Reads retry everything transient; writes retry only a 429, which
        Atlas answers before doing anything, and report anything else as `unclear`."""
        url = self.base_url + API_PREFIX + path
        media_type = f"application/vnd.atlas.{version}+json"
        headers = {"Accept": media_type}
        if body is not None:
            headers["Content-Type"] = media_type
        call = f"Atlas Admin API {method} {API_PREFIX}{path}"
        read = method == "GET"
        policy = self.retry
        state = _Attempts()
        while True:
            state.attempts += 1
            retry_after: float | None = None
            last_status: int | None = None
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
                what = (
                    "timed out"
                    if isinstance(exc, requests.Timeout)
                    else f"cannot connect to {self.base_url}: {one_line(exc)}"
                )
                if not read:
                    raise AtlasApiError(f"{call}: {what}", unclear=True) from None
                last = what
            else:
                status = last_status = response.status_code
                logger.debug(
                    "Atlas %s %s%s: HTTP %s",
                    method,
                    API_PREFIX,
                    path,
                    status,
                    extra={"method": method, "path": API_PREFIX + path, "status": status},
                )
                if status in RATE_LIMIT_STATUSES:
                    retry_after = retry_after_seconds(response)
                    if status == 503 and not read:
                        raise self._error(call, response, unclear=True, retry_after=retry_after)
                elif not (read and status in RETRIED_READ_STATUSES):
                    if status >= 400:
                        raise self._error(call, response, unclear=not read and status >= 500)
                    return response
                last = str(self._error(call, response))[len(call) + 2 :]
            delay = (
                retry_after
                if retry_after is not None
                else policy.backoff(state.attempts - 1, min(max(self.jitter(), 0.0), 1.0))
            )
            if state.attempts >= policy.max_attempts or state.waited + delay > policy.max_wait:
                raise AtlasApiError(
                    f"{call}: gave up after {state.attempts} attempt(s) and {_seconds(state.waited)} of "
                    f"waiting (limit {policy.max_attempts} attempts, {_seconds(policy.max_wait)}): "
                    f"last answer: {last}",
                    last_status,
                )
            how = "Retry-After" if retry_after is not None else "backoff"
            self._say(
                f"Atlas {method} {API_PREFIX}{path}: {last}; waiting {_seconds(delay)} ({how}) before "
                f"attempt {state.attempts + 1} of {policy.max_attempts}"
            )
            self.sleep(delay)
            state.waited += delay

    def request(
        self,
        method: str,
        path: str,
        *,
        version: str = VERSION_DEFAULT,
        params: Mapping[str, Any] | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> Any:
        response = self._send(method, path, version=version, params=params, body=body)
        return self._json(f"Atlas Admin API {method} {API_PREFIX}{path}", response)

    @staticmethod
    def _json(call: str, response: requests.Response) -> Any:
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise AtlasApiError(
                f"{call}: HTTP {response.status_code} with a body that is not JSON", response.status_code
            ) from None

    @staticmethod
    def _error(
        call: str, response: requests.Response, *, unclear: bool = False, retry_after: float | None = None
    ) -> AtlasApiError:
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
        return AtlasApiError(
            ": ".join(parts) + hint, response.status_code, code, unclear=unclear, retry_after=retry_after
        )

    def paginate(
        self,
        path: str,
        *,
        version: str = VERSION_DEFAULT,
        params: Mapping[str, Any] | None = None,
        paged: bool = True,
    ) -> Iterator[dict[str, Any]]:
        """Every item of a paginated list, page after page by the `rel: next` link.

        Stops at an empty page, or at a page whose `links` name no `next`; a page without `links` at all
        is followed by the next `pageNum`. `totalCount` is never used: the spec calls it an estimate.
        `paged=False` is for operations that document no paging parameters: only `next` links are followed.
        """
        query: dict[str, Any] = {"pageNum": 1, "itemsPerPage": PAGE_SIZE} if paged else {}
        query.update(params or {})
        seen: set[tuple[tuple[str, str], ...]] = set()
        call = f"Atlas Admin API GET {API_PREFIX}{path}"
        for _ in range(MAX_PAGES):
            key = tuple(sorted((str(k), str(v)) for k, v in query.items()))
            if key in seen:
                raise AtlasApiError(f"{call}: the next page link points back to a page already read")
            seen.add(key)
            body = self.request("GET", path, version=version, params=query)
            results = body.get("results") if isinstance(body, dict) else None
            if not isinstance(results, list):
                raise AtlasApiError(f"{call}: the answer has no `results` list")
            yield from (item for item in results if isinstance(item, dict))
            if not results:
                return
            links = body.get("links")
            next_href = next(
                (
                    link.get("href")
                    for link in (links if isinstance(links, list) else [])
                    if isinstance(link, dict) and link.get("rel") == "next" and link.get("href")
                ),
                None,
            )
            if isinstance(next_href, str):
                query = dict(parse_qsl(urlsplit(next_href).query))
            elif isinstance(links, list) or not paged:
                return
            else:
                query = dict(query, pageNum=int(query.get("pageNum", 1)) + 1)
        raise AtlasApiError(f"{call}: more than {MAX_PAGES} pages")

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

    def _backup(self, group_id: str, cluster_name: str) -> str:
        return f"/groups/{_segment(group_id)}/clusters/{_segment(cluster_name)}/backup"

    def snapshots(self, group_id: str, cluster_name: str) -> list[dict[str, Any]]:
        """Every replica-set snapshot of the cluster, newest first."""
        items = list(self.paginate(self._backup(group_id, cluster_name) + "/snapshots"))
        return sorted(items, key=lambda s: str(s.get("createdAt", "")), reverse=True)

    def sharded_snapshots(self, group_id: str, cluster_name: str) -> list[dict[str, Any]]:
        """Every snapshot of a sharded cluster (`/backup/snapshots` lists replica sets only), newest first.

        The spec documents no paging parameters for this operation, so only `next` links are followed."""
        path = self._backup(group_id, cluster_name) + "/snapshots/shardedClusters"
        items = list(self.paginate(path, paged=False))
        return sorted(items, key=lambda s: str(s.get("createdAt", "")), reverse=True)

    def cluster_snapshots(self, group_id: str, cluster: Mapping[str, Any]) -> list[dict[str, Any]]:
        """The snapshots of a cluster read with `cluster()`, from the list its topology lives in."""
        name = str(cluster.get("name"))
        if cluster_topology(cluster).sharded:
            return self.sharded_snapshots(group_id, name)
        return self.snapshots(group_id, name)

    def snapshot_databases(self, group_id: str, cluster_name: str, snapshot_id: str) -> list[str]:
        """The databases Atlas lists in a snapshot (version 2025-03-12 only)."""
        path = self._backup(group_id, cluster_name) + f"/snapshots/{_segment(snapshot_id)}/databases"
        return [str(d.get("name")) for d in self.paginate(path, version=VERSION_SNAPSHOT_CONTENTS)]

    def snapshot_collections(
        self, group_id: str, cluster_name: str, snapshot_id: str, database: str
    ) -> list[str]:
        """The collections Atlas lists for one database in a snapshot (version 2025-03-12 only)."""
        path = (
            self._backup(group_id, cluster_name)
            + f"/snapshots/{_segment(snapshot_id)}/databases/{_segment(database)}/collections"
        )
        return [str(c.get("name")) for c in self.paginate(path, version=VERSION_SNAPSHOT_CONTENTS)]

    def restore_jobs(self, group_id: str, cluster_name: str) -> list[dict[str, Any]]:
        return list(self.paginate(self._backup(group_id, cluster_name) + "/restoreJobs"))

    def submit_restore_job(
        self, group_id: str, cluster_name: str, job: Mapping[str, Any]
    ) -> RestoreSubmission:
        """Create a restore job once: after an unclear failure, adopt the job the request created.

        The ids of the cluster's restore jobs are read first, so a job found after an unclear failure is
        known to be new, not an older restore of the same snapshot into the same target.
        """
        path = self._backup(group_id, cluster_name) + "/restoreJobs"
        before = {str(j.get("id")) for j in self.restore_jobs(group_id, cluster_name)}
        last: AtlasApiError | None = None
        for attempt in range(1, self.retry.create_attempts + 1):
            sent_at = self.clock()
            try:
                response = self._send("POST", path, version=VERSION_DEFAULT, params=None, body=job)
            except AtlasApiError as exc:
                if not exc.unclear:
                    raise
                last = exc
                self._say(
                    f"restore job request {attempt} of {self.retry.create_attempts} has an unclear outcome "
                    f"({exc}); looking for a job it created before posting again"
                )
                if exc.retry_after:
                    self.sleep(min(exc.retry_after, self.retry.max_wait))
                created = [
                    j
                    for j in self.restore_jobs(group_id, cluster_name)
                    if str(j.get("id")) not in before and same_restore_request(j, job)
                ]
                if created:
                    self._say(
                        f"found restore job {created[0].get('id')} created by that request; not posting again"
                    )
                    return RestoreSubmission(created[0], sent_at, CLOCK_LOCAL, adopted=True)
                continue
            result = self._json(f"Atlas Admin API POST {API_PREFIX}{path}", response)
            if not isinstance(result, dict) or not result.get("id"):
                raise AtlasApiError(
                    f"Atlas Admin API POST {API_PREFIX}{path}: the answer names no restore job"
                )
            accepted = parse_http_date(response.headers.get("Date"))
            return RestoreSubmission(result, accepted or sent_at, CLOCK_ATLAS if accepted else CLOCK_LOCAL)
        assert last is not None
        raise AtlasApiError(
            f"restore job not created after {self.retry.create_attempts} request(s), each with an unclear "
            f"outcome and no job found afterwards: {last}",
            last.status,
            last.error_code,
        )

    def create_restore_job(self, group_id: str, cluster_name: str, job: Mapping[str, Any]) -> dict[str, Any]:
        return self.submit_restore_job(group_id, cluster_name, job).job

    def restore_job(self, group_id: str, cluster_name: str, job_id: str) -> dict[str, Any]:
        path = self._backup(group_id, cluster_name) + f"/restoreJobs/{_segment(job_id)}"
        result: dict[str, Any] = self.request("GET", path)
        return result

    def cancel_restore_job(self, group_id: str, cluster_name: str, job_id: str) -> None:
        """Cancel a restore job. Atlas refuses (405) for `automated` and `pointInTime` restores: the drill
        never relies on this; it is here for `download` restores."""
        path = self._backup(group_id, cluster_name) + f"/restoreJobs/{_segment(job_id)}"
        self.request("DELETE", path)

    # --- recovery: the backup schedule (point-in-time window) and on-demand snapshots -----------------

    def backup_schedule(self, group_id: str, cluster_name: str) -> dict[str, Any]:
        """`DiskBackupSnapshotSchedule20240805`: `restoreWindowDays` is the point-in-time window."""
        path = self._backup(group_id, cluster_name) + "/schedule"
        result: dict[str, Any] = self.request("GET", path, version=VERSION_SCHEDULE)
        return result

    def take_snapshot(
        self, group_id: str, cluster_name: str, *, description: str, retention_days: int
    ) -> dict[str, Any]:
        """`POST .../backup/snapshots` (`DiskBackupOnDemandSnapshotRequest`): one on-demand snapshot."""
        path = self._backup(group_id, cluster_name) + "/snapshots"
        body = {"description": description, "retentionInDays": retention_days}
        result: dict[str, Any] = self.request("POST", path, body=body)
        return result

    def snapshot(self, group_id: str, cluster_name: str, snapshot_id: str) -> dict[str, Any]:
        path = self._backup(group_id, cluster_name) + f"/snapshots/{_segment(snapshot_id)}"
        result: dict[str, Any] = self.request("GET", path)
        return result


def _seconds(value: float) -> str:
    return f"{value:g} s"


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
