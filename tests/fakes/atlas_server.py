"""A local fake of the MongoDB Atlas Administration API v2, over real HTTP, for the audit and drill tests.

It answers only what the official specification documents (`tests/contract/atlas-admin-api-v2-backup.yaml`):
every request it receives and every answer it gives is recorded as an `Exchange`, and on leaving the
`with` block all of them are validated against the spec (`tests/contract/spec.py`): the request's method,
path, parameters, version and body, the answer's status, headers and body. Where the spec is silent the
fake does what is listed in `SPEC_SILENT`, the one place its own choices are written down; answers made
under such a choice are marked and not validated.

Restore jobs finish at the first poll where at least `finish_after_polls` polls happened and the clock has
passed the acceptance time + `restore_duration`; `finishedAt` is then exactly that instant, and the `Date`
header of every answer is the same clock. `on_restore` is the restore itself: it gets the job and copies
data into the target cluster's stand-in, as a real restore does.

`inject()` makes the N-th matching call answer 429 (with `Retry-After`), 503, 500/502/504, or drop the
connection without an answer, before or after doing the work.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar
from urllib.parse import parse_qs, unquote, urlsplit

from tests.contract.spec import Exchange

REALM = "MMS Public API"
V20230101 = "application/vnd.atlas.2023-01-01+json"
V20240805 = "application/vnd.atlas.2024-08-05+json"
V20250312 = "application/vnd.atlas.2025-03-12+json"

# Everything the fake does that the spec does not say. One place, so nobody mistakes it for Atlas.
SPEC_SILENT: dict[str, str] = {
    "digest-realm": f'HTTP Digest challenges use realm "{REALM}", qop "auth", MD5 (what Atlas sends today)',
    "401-error-code": "a failed authentication answers errorCode UNAUTHORIZED (the spec requires one, "
    "names none for this case)",
    "error-codes": "USER_UNAUTHORIZED (an injected 403), "
    "GROUP_NAME_NOT_FOUND, CLUSTER_NOT_FOUND, SNAPSHOT_NOT_FOUND, RESTORE_JOB_NOT_FOUND, "
    "INVALID_RESTORE_TARGET, PIT_NOT_ENABLED, MISSING_ATTRIBUTE, INVALID_ENUM_VALUE, INVALID_JSON and "
    "CANNOT_CANCEL_RESTORE_JOB, SNAPSHOT_IN_PROGRESS and BACKUP_NOT_ENABLED are the fake's own names; "
    "the spec documents the statuses, not these codes",
    "versions": "each route serves the one documented version whose shape it implements; any other Accept "
    "or Content-Type answers 406/415 (statuses the spec does not document)",
    "unknown-path": "a path the fake does not serve answers 404 RESOURCE_NOT_FOUND",
    "503": "503 is not in the spec; the Retry-After header says it 'might be returned for 429 or 503', so "
    "an injected 503 carries an ApiError body with errorCode SERVICE_UNAVAILABLE",
    "502-504": "an injected 502/504 comes from a gateway in front of Atlas: a plain-text body",
    "dropped-connection": "an injected drop closes the connection without any answer",
    "sharded-restore-target": "an automated restore of a sharded snapshot into a cluster without the same "
    "shard count answers 400 (Atlas documents the rule; the spec does not)",
    "snapshot-contents": "the snapshot-contents operations answer for replica-set snapshots; with "
    "`snapshot_contents=False` their paths are unknown (404), as for an API without them",
}


def iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def object_id() -> str:
    return secrets.token_hex(12)


class FakeClock:
    """A clock the drill and the fake share; `sleep` advances it instead of waiting."""

    def __init__(self, start: datetime | None = None) -> None:
        self.current = start or datetime(2026, 5, 18, 6, 0, 0, tzinfo=UTC)
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self.current

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self.current += timedelta(seconds=seconds)

    def advance(self, **kwargs: float) -> None:
        with self._lock:
            self.current += timedelta(**kwargs)


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any
    authenticated: bool


@dataclass
class ApiFailure(Exception):
    status: int
    error_code: str
    detail: str
    headers: dict[str, str] = field(default_factory=dict)

    REASONS: ClassVar[dict[int, str]] = {
        400: "Bad Request",
        401: "Unauthorized",
        403: "Forbidden",
        404: "Not Found",
        405: "Method Not Allowed",
        406: "Not Acceptable",
        409: "Conflict",
        415: "Unsupported Media Type",
        429: "Too Many Requests",
        500: "Internal Server Error",
        503: "Service Unavailable",
    }

    def body(self) -> dict[str, Any]:
        """An `ApiError`: `error` and `errorCode` are required by the spec."""
        return {
            "detail": self.detail,
            "error": self.status,
            "errorCode": self.error_code,
            "parameters": [],
            "reason": self.REASONS.get(self.status, "Error"),
        }


@dataclass
class Fault:
    """Answer the `on_call`-th to `on_call + times - 1`-th authenticated call matching method and path with
    `kind`: 429, 503, 500, 502, 504, `drop` (no answer, nothing done) or `drop-after` (done, no answer)."""

    kind: str
    on_call: int
    times: int = 1
    method: str | None = None
    path_contains: str = ""
    retry_after: str | None = None
    seen: int = 0
    fired: int = 0

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method == method) and self.path_contains in path

    def count(self) -> bool:
        """Count one matching call; whether this fault is due on it."""
        self.seen += 1
        return self.on_call <= self.seen < self.on_call + self.times


@dataclass
class RestoreJobState:
    doc: dict[str, Any]
    group_id: str
    cluster_name: str
    created_at: datetime
    polls: int = 0
    restored: bool = False


@dataclass
class FakeAtlas:
    public_key: str = "fake-public-key"
    private_key: str = "fake-private-key"
    client_id: str | None = None
    client_secret: str | None = None
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    finish_after_polls: int = 2
    restore_duration: timedelta = timedelta(minutes=45)
    restore_fails: bool = False
    page_size_cap: int = 100
    # `totalCount` is an estimate in the spec; tests make it wrong on purpose.
    total_count_skew: int = 0
    snapshot_contents: bool = True
    # `links` is optional in the spec: without it a client must read on until an empty page.
    page_links: bool = True
    on_restore: Callable[[dict[str, Any]], None] | None = None
    # Validate every exchange against the spec when the `with` block ends.
    check_contract: bool = True
    # On-demand snapshots are `queued`, then `inProgress`, and `completed` at the first read at or after
    # `createdAt + snapshot_duration`; `on_snapshot` sees each one complete.
    snapshot_duration: timedelta = timedelta(minutes=10)
    on_snapshot: Callable[[dict[str, Any]], None] | None = None

    def __post_init__(self) -> None:
        self.projects: dict[str, dict[str, Any]] = {}
        self.clusters: dict[tuple[str, str], dict[str, Any]] = {}
        self.snapshots: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.contents: dict[str, dict[str, list[str]]] = {}
        self.jobs: dict[str, RestoreJobState] = {}
        self.schedules: dict[tuple[str, str], dict[str, Any]] = {}
        self.requests: list[RecordedRequest] = []
        self.exchanges: list[tuple[Exchange, str | None]] = []
        self.faults: list[Fault] = []
        self.tokens: set[str] = set()
        self.nonces: set[str] = set()
        self._lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ---------------------------------------------------------------------------------------

    def __enter__(self) -> FakeAtlas:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                fake._handle(self)

            def do_POST(self) -> None:
                fake._handle(self)

            def do_DELETE(self) -> None:
                fake._handle(self)

            def date_time_string(self, timestamp: float | None = None) -> str:
                return format_datetime(fake.clock().astimezone(UTC), usegmt=True)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,), daemon=True)
        self._thread.start()
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()
        if exc_type is None and self.check_contract:
            self.assert_contract()

    def assert_contract(self) -> None:
        """Every request received and every documented answer given, validated against the spec."""
        from tests.contract.spec import check_request, check_response

        problems: list[str] = []
        for exchange, silent in list(self.exchanges):
            key = _shape_key(exchange, silent)
            if key in _VALIDATED:
                continue
            try:
                check_request(exchange)
                if silent is None:
                    check_response(exchange)
            except Exception as exc:
                problems.append(f"{exchange.method} {exchange.path} -> {exchange.status}: {exc}")
            else:
                _VALIDATED.add(key)
        if problems:
            raise AssertionError("the fake or the client broke the spec:\n" + "\n".join(problems))

    @property
    def base_url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def env(self) -> dict[str, str]:
        """The environment a backstop command needs to talk to this fake."""
        return {
            "MONGODB_ATLAS_BASE_URL": self.base_url,
            "MONGODB_ATLAS_PUBLIC_KEY": self.public_key,
            "MONGODB_ATLAS_PRIVATE_KEY": self.private_key,
        }

    # --- state -------------------------------------------------------------------------------------------

    def inject(
        self,
        kind: str,
        *,
        on_call: int = 1,
        times: int = 1,
        method: str | None = None,
        path_contains: str = "",
        retry_after: str | None = None,
    ) -> Fault:
        assert kind in ("403", "429", "503", "500", "502", "504", "drop", "drop-after"), kind
        fault = Fault(kind, on_call, times, method, path_contains, retry_after)
        with self._lock:
            self.faults.append(fault)
        return fault

    def add_project(
        self, name: str, project_id: str | None = None, org_id: str = "5f0a1b2c3d4e5f6a7b8c9d0e"
    ) -> str:
        project_id = project_id or object_id()
        with self._lock:
            self.projects[project_id] = {
                "id": project_id,
                "name": name,
                "orgId": org_id,
                "clusterCount": 0,
                "created": iso(self.clock() - timedelta(days=400)),
                "links": [{"href": f"{self.base_url}/api/atlas/v2/groups/{project_id}", "rel": "self"}],
            }
        return project_id

    def add_cluster(
        self,
        group_id: str,
        name: str,
        *,
        pit_enabled: bool = True,
        backup_enabled: bool = True,
        major_version: str = "8.0",
        state: str = "IDLE",
        tags: dict[str, str] | None = None,
        termination_protection: bool = True,
        cluster_type: str = "REPLICASET",
        shards: int = 1,
    ) -> dict[str, Any]:
        host = f"{name.lower()}.{group_id[:5]}.mongodb.net"
        specs = [
            {
                "id": object_id(),
                "zoneId": object_id(),
                "zoneName": "Zone 1",
                "regionConfigs": [
                    {
                        "providerName": "AWS",
                        "regionName": "US_EAST_1",
                        "priority": 7,
                        "electableSpecs": {"instanceSize": "M10", "nodeCount": 3},
                    }
                ],
            }
            for _ in range(shards if cluster_type != "REPLICASET" else 1)
        ]
        cluster = {
            "id": object_id(),
            "name": name,
            "groupId": group_id,
            "clusterType": cluster_type,
            "stateName": state,
            "mongoDBMajorVersion": major_version,
            "mongoDBVersion": f"{major_version}.4",
            "backupEnabled": backup_enabled,
            "pitEnabled": pit_enabled,
            "terminationProtectionEnabled": termination_protection,
            "connectionStrings": {
                "standard": f"mongodb://{name.lower()}-shard-00-00.{group_id[:5]}.mongodb.net:27017/?ssl=true",
                "standardSrv": f"mongodb+srv://{host}",
            },
            "replicationSpecs": specs,
            "tags": [{"key": k, "value": v} for k, v in (tags or {}).items()],
            "createDate": iso(self.clock()),
            "links": [],
        }
        with self._lock:
            self.clusters[(group_id, name)] = cluster
            self.projects[group_id]["clusterCount"] += 1
        return cluster

    def add_snapshot(
        self,
        group_id: str,
        cluster_name: str,
        created_at: datetime,
        *,
        status: str = "completed",
        frequency_type: str = "hourly",
        expires_at: datetime | None = None,
        databases: dict[str, list[str]] | None = None,
        copy_regions: tuple[str, ...] = ("US_WEST_2",),
        snapshot_type: str = "scheduled",
    ) -> str:
        """A snapshot in the list the cluster's topology lives in; `databases` is what it holds;
        `copy_regions` where Atlas copied it (a failed copy is a region missing from it)."""
        snapshot_id = object_id()
        cluster = self.clusters[(group_id, cluster_name)]
        common = {
            "id": snapshot_id,
            "createdAt": iso(created_at),
            "expiresAt": iso(expires_at or created_at + timedelta(days=7)),
            "frequencyType": frequency_type,
            "masterKeyUUID": "72659f08-8b3c-4913-bb4e-a8a68bee0b9d",
            "mongodVersion": "8.0.4",
            "policyItems": [object_id()],
            "snapshotType": snapshot_type,
            "status": status,
            "storageSizeBytes": 1_048_576,
            "links": [],
        }
        if cluster["clusterType"] == "REPLICASET":
            snapshot = dict(
                common,
                cloudProvider="AWS",
                copyRegions=list(copy_regions),
                replicaSetName=f"{cluster_name}-shard-0",
                type="replicaSet",
            )
        else:
            members = [
                {"cloudProvider": "AWS", "id": object_id(), "replicaSetName": f"{cluster_name}-shard-{i}"}
                for i in range(len(cluster["replicationSpecs"]))
            ]
            members.append(
                {"cloudProvider": "AWS", "id": object_id(), "replicaSetName": f"{cluster_name}-config-0"}
            )
            snapshot = dict(
                common,
                configServerType="DEDICATED",
                members=members,
                snapshotIds=[m["id"] for m in members],
                type="shardedCluster",
            )
        with self._lock:
            self.snapshots.setdefault((group_id, cluster_name), []).append(snapshot)
            self.contents[snapshot_id] = {db: list(names) for db, names in (databases or {}).items()}
        return snapshot_id

    def set_schedule(
        self,
        group_id: str,
        cluster_name: str,
        *,
        restore_window_days: int = 7,
        copy_regions: tuple[str, ...] | None = None,
    ) -> None:
        """Override the schedule's `restoreWindowDays`; `copy_regions` adds `copySettings` (one per region,
        in the cluster's zone, oplogs copied)."""
        with self._lock:
            schedule: dict[str, Any] = {"restoreWindowDays": restore_window_days}
            if copy_regions is not None:
                schedule["copyRegions"] = tuple(copy_regions)
            self.schedules[(group_id, cluster_name)] = schedule

    def calls(self, method: str | None = None, path_contains: str = "") -> list[RecordedRequest]:
        with self._lock:
            return [
                r
                for r in self.requests
                if (method is None or r.method == method) and path_contains in r.path and r.authenticated
            ]

    # --- HTTP --------------------------------------------------------------------------------------------

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        headers = {k: v for k, v in handler.headers.items()}
        try:
            body: Any = json.loads(raw) if raw and "json" in headers.get("Content-Type", "") else raw.decode()
        except ValueError:
            body = raw.decode(errors="replace")
        if parts.path == "/api/oauth/token" and handler.command == "POST":
            self._token(handler, headers, body)
            return
        query = parse_qs(parts.query)
        flat_query = {key: values[-1] for key, values in query.items()}
        authenticated = self._authenticated(handler.command, handler.path, headers)
        with self._lock:
            self.requests.append(
                RecordedRequest(handler.command, parts.path, query, headers, body, authenticated)
            )

        def answer(
            status: int, payload: Any, extra: dict[str, str] | None = None, *, ctype: str, silent: str | None
        ) -> None:
            sent_headers = self._send(handler, status, payload, extra, ctype)
            data = b"" if payload is None else (payload if isinstance(payload, bytes) else _dump(payload))
            exchange = Exchange(
                handler.command, parts.path, flat_query, headers, raw, status, sent_headers, data
            )
            with self._lock:
                self.exchanges.append((exchange, silent))

        if not authenticated:
            nonce = secrets.token_hex(16)
            with self._lock:
                self.nonces.add(nonce)
            challenge = (
                f'Digest realm="{REALM}", domain="", nonce="{nonce}", algorithm=MD5, qop="auth", stale=false'
            )
            failure = ApiFailure(401, "UNAUTHORIZED", "You are not authorized for this resource.")
            answer(
                401, failure.body(), {"WWW-Authenticate": challenge}, ctype="application/json", silent=None
            )
            return
        fault = self._fault(handler.command, parts.path)
        if fault is not None and fault.kind == "drop":
            self._drop(handler)
            return
        if fault is not None and fault.kind != "drop-after":
            status, payload, extra, silent = self._fault_answer(fault)
            ctype = "text/plain" if isinstance(payload, bytes) else "application/json"
            answer(status, payload, extra, ctype=ctype, silent=silent)
            return
        try:
            status, payload, version = self._route(handler.command, parts.path, query, body, headers)
        except ApiFailure as failure:
            silent = "versions" if failure.status in (406, 415) else None
            answer(failure.status, failure.body(), failure.headers, ctype="application/json", silent=silent)
            return
        if fault is not None:  # drop-after: the work is done, the answer is lost
            self._drop(handler)
            return
        answer(status, payload, ctype=version, silent=None)

    def _fault(self, method: str, path: str) -> Fault | None:
        """The first fault due on this call; every matching fault counts the call."""
        with self._lock:
            due = [fault for fault in self.faults if fault.matches(method, path) and fault.count()]
            if due:
                due[0].fired += 1
        return due[0] if due else None

    @staticmethod
    def _fault_answer(fault: Fault) -> tuple[int, Any, dict[str, str], str | None]:
        if fault.kind == "429":
            extra = {"RateLimit-Limit": "100", "RateLimit-Remaining": "0"}
            if fault.retry_after is not None:
                extra["Retry-After"] = fault.retry_after
            failure = ApiFailure(429, "RATE_LIMITED", "Too many requests: the rate limit was exceeded.")
            return 429, failure.body(), extra, None
        if fault.kind == "503":
            extra = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
            failure = ApiFailure(503, "SERVICE_UNAVAILABLE", "The service is temporarily unavailable.")
            return 503, failure.body(), extra, "503"
        if fault.kind == "403":
            failure = ApiFailure(403, "USER_UNAUTHORIZED", "The API key lacks the role this resource needs.")
            return 403, failure.body(), {}, None
        if fault.kind == "500":
            failure = ApiFailure(500, "UNEXPECTED_ERROR", "Unexpected error.")
            return 500, failure.body(), {}, None
        reason = b"502 Bad Gateway" if fault.kind == "502" else b"504 Gateway Timeout"
        return int(fault.kind), reason, {}, "502-504"

    @staticmethod
    def _drop(handler: BaseHTTPRequestHandler) -> None:
        handler.close_connection = True  # nothing is written: the socket closes when the handler returns

    def _send(
        self,
        handler: BaseHTTPRequestHandler,
        status: int,
        payload: Any,
        extra: dict[str, str] | None,
        content_type: str,
    ) -> dict[str, str]:
        data = b"" if payload is None else (payload if isinstance(payload, bytes) else _dump(payload))
        headers: dict[str, str] = {}
        if payload is not None:
            headers["Content-Type"] = (
                content_type if content_type == "text/plain" else f"{content_type};charset=utf-8"
            )
        headers["Content-Length"] = str(len(data))
        headers.update(extra or {})
        handler.send_response(status)
        for key, value in headers.items():
            handler.send_header(key, value)
        handler.end_headers()
        handler.wfile.write(data)
        headers["Date"] = handler.date_time_string()
        return headers

    def _token(self, handler: BaseHTTPRequestHandler, headers: dict[str, str], body: Any) -> None:
        fault = self._fault("POST", "/api/oauth/token")
        if fault is not None and fault.kind == "drop":
            self._drop(handler)
            return
        if fault is not None and fault.kind != "drop-after":
            status, payload, extra, _ = self._fault_answer(fault)
            self._send(
                handler,
                status,
                payload,
                extra,
                "text/plain" if isinstance(payload, bytes) else "application/json",
            )
            return
        expected = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        ok = self.client_id is not None and headers.get("Authorization") == f"Basic {expected}"
        with self._lock:
            self.requests.append(RecordedRequest("POST", "/api/oauth/token", {}, headers, body, ok))
        if not ok or "grant_type=client_credentials" not in str(body):
            self._send(handler, 401, {"error": "invalid_client"}, None, "application/json")
            return
        token = secrets.token_urlsafe(24)
        with self._lock:
            self.tokens.add(token)
        self._send(
            handler,
            200,
            {"access_token": token, "token_type": "Bearer", "expires_in": 3600},
            None,
            "application/json",
        )

    def _authenticated(self, method: str, uri: str, headers: dict[str, str]) -> bool:
        header = headers.get("Authorization", "")
        if header.startswith("Bearer "):
            return header[len("Bearer ") :] in self.tokens
        if not header.startswith("Digest "):
            return False
        pairs = re.findall(r'(\w+)=(?:"([^"]*)"|([^,\s]*))', header[len("Digest ") :])
        fields = {key: quoted or bare for key, quoted, bare in pairs}
        if fields.get("username") != self.public_key or fields.get("realm") != REALM:
            return False
        if fields.get("nonce") not in self.nonces or fields.get("uri") != uri:
            return False
        ha1 = hashlib.md5(f"{self.public_key}:{REALM}:{self.private_key}".encode()).hexdigest()
        ha2 = hashlib.md5(f"{method}:{fields['uri']}".encode()).hexdigest()
        expected = hashlib.md5(
            f"{ha1}:{fields['nonce']}:{fields.get('nc')}:{fields.get('cnonce')}:{fields.get('qop')}:{ha2}".encode()
        ).hexdigest()
        return fields.get("qop") == "auth" and fields.get("response") == expected

    # --- routes ------------------------------------------------------------------------------------------

    _CLUSTER = r"^/api/atlas/v2/groups/(?P<group>[0-9a-f]{24})/clusters/(?P<cluster>[^/]+)"
    _ROUTES: ClassVar[list[tuple[str, re.Pattern[str], str, str]]] = [
        ("GET", re.compile(r"^/api/atlas/v2/groups/byName/(?P<name>[^/]+)$"), "project_by_name", V20230101),
        ("GET", re.compile(r"^/api/atlas/v2/groups/(?P<group>[0-9a-f]{24})$"), "project", V20230101),
        ("GET", re.compile(_CLUSTER + "$"), "cluster", V20240805),
        ("GET", re.compile(_CLUSTER + "/backup/snapshots$"), "snapshots", V20230101),
        ("GET", re.compile(_CLUSTER + "/backup/snapshots/shardedClusters$"), "sharded_snapshots", V20230101),
        (
            "GET",
            re.compile(_CLUSTER + "/backup/snapshots/(?P<snapshot>[0-9a-f]{24})/databases$"),
            "snapshot_databases",
            V20250312,
        ),
        (
            "GET",
            re.compile(
                _CLUSTER + "/backup/snapshots/(?P<snapshot>[0-9a-f]{24})/databases/(?P<db>[^/]+)/collections$"
            ),
            "snapshot_collections",
            V20250312,
        ),
        ("POST", re.compile(_CLUSTER + "/backup/snapshots$"), "take_snapshot", V20230101),
        (
            "GET",
            re.compile(_CLUSTER + "/backup/snapshots/(?P<snapshot>[0-9a-f]{24})$"),
            "get_snapshot",
            V20230101,
        ),
        ("GET", re.compile(_CLUSTER + "/backup/schedule$"), "schedule", V20240805),
        ("GET", re.compile(_CLUSTER + "/backup/restoreJobs$"), "list_jobs", V20230101),
        ("POST", re.compile(_CLUSTER + "/backup/restoreJobs$"), "create_job", V20230101),
        ("GET", re.compile(_CLUSTER + "/backup/restoreJobs/(?P<job>[0-9a-f]{24})$"), "get_job", V20230101),
        (
            "DELETE",
            re.compile(_CLUSTER + "/backup/restoreJobs/(?P<job>[0-9a-f]{24})$"),
            "cancel_job",
            V20230101,
        ),
    ]

    def _route(
        self, method: str, path: str, query: dict[str, list[str]], body: Any, headers: dict[str, str]
    ) -> tuple[int, Any, str]:
        for route_method, pattern, name, version in self._ROUTES:
            match = pattern.match(path)
            if not (match and route_method == method):
                continue
            if name.startswith("snapshot_") and not self.snapshot_contents:
                break
            accept = headers.get("Accept", "")
            if version not in [part.strip() for part in accept.split(",")]:
                raise ApiFailure(406, "INVALID_VERSION_DATE", f"this resource is served as {version} (fake)")
            if method == "POST" and headers.get("Content-Type", "").split(";")[0] != version:
                raise ApiFailure(415, "INVALID_MEDIA_TYPE", f"send the body as {version} (fake)")
            args = {key: unquote(value) for key, value in match.groupdict().items()}
            with self._lock:
                status, payload = getattr(self, f"_r_{name}")(query=query, body=body, path=path, **args)
            return status, payload, version
        raise ApiFailure(404, "RESOURCE_NOT_FOUND", f"Cannot find resource {path}.")

    def _project(self, group: str) -> dict[str, Any]:
        if group not in self.projects:
            raise ApiFailure(404, "GROUP_NOT_FOUND", f"No group with ID {group} exists.")
        return self.projects[group]

    def _cluster(self, group: str, cluster: str) -> dict[str, Any]:
        self._project(group)
        if (group, cluster) not in self.clusters:
            raise ApiFailure(404, "CLUSTER_NOT_FOUND", f"No cluster named {cluster} exists in group {group}.")
        return self.clusters[(group, cluster)]

    def _page(self, items: list[dict[str, Any]], query: dict[str, list[str]], path: str) -> dict[str, Any]:
        """One page with `self`/`next`/`previous` links; `totalCount` off by `total_count_skew`."""
        page = int(query.get("pageNum", ["1"])[0])
        per_page = min(int(query.get("itemsPerPage", ["100"])[0]), self.page_size_cap)
        start = (page - 1) * per_page
        results = items[start : start + per_page]
        base = f"{self.base_url}{path}"
        links = [{"href": f"{base}?pageNum={page}&itemsPerPage={per_page}", "rel": "self"}]
        if start + per_page < len(items):
            links.append({"href": f"{base}?pageNum={page + 1}&itemsPerPage={per_page}", "rel": "next"})
        if page > 1:
            links.append({"href": f"{base}?pageNum={page - 1}&itemsPerPage={per_page}", "rel": "previous"})
        body: dict[str, Any] = (
            {"links": links, "results": results} if self.page_links else {"results": results}
        )
        if query.get("includeCount", ["true"])[0] == "true":
            body["totalCount"] = max(len(items) + self.total_count_skew, 0)
        return body

    def _r_project_by_name(self, name: str, **_: Any) -> tuple[int, Any]:
        for project in self.projects.values():
            if project["name"] == name:
                return 200, project
        raise ApiFailure(404, "GROUP_NAME_NOT_FOUND", f'No group with name "{name}" exists.')

    def _r_project(self, group: str, **_: Any) -> tuple[int, Any]:
        return 200, self._project(group)

    def _r_cluster(self, group: str, cluster: str, **_: Any) -> tuple[int, Any]:
        return 200, self._cluster(group, cluster)

    def _snapshots_of(self, group: str, cluster: str, kind: str) -> list[dict[str, Any]]:
        items = [s for s in self.snapshots.get((group, cluster), []) if s["type"] == kind]
        return sorted(items, key=lambda s: s["createdAt"], reverse=True)

    def _r_snapshots(
        self, group: str, cluster: str, query: dict[str, list[str]], path: str, **_: Any
    ) -> tuple[int, Any]:
        self._cluster(group, cluster)
        return 200, self._page(self._snapshots_of(group, cluster, "replicaSet"), query, path)

    def _r_sharded_snapshots(
        self, group: str, cluster: str, query: dict[str, list[str]], path: str, **_: Any
    ) -> tuple[int, Any]:
        self._cluster(group, cluster)
        return 200, self._page(self._snapshots_of(group, cluster, "shardedCluster"), query, path)

    def _replica_set_snapshot(self, group: str, cluster: str, snapshot: str) -> dict[str, Any]:
        self._cluster(group, cluster)
        for item in self._snapshots_of(group, cluster, "replicaSet"):
            if item["id"] == snapshot:
                return item
        raise ApiFailure(404, "SNAPSHOT_NOT_FOUND", f"No snapshot with ID {snapshot} exists.")

    def _r_snapshot_databases(
        self, group: str, cluster: str, snapshot: str, query: dict[str, list[str]], path: str, **_: Any
    ) -> tuple[int, Any]:
        self._replica_set_snapshot(group, cluster, snapshot)
        names = sorted(self.contents.get(snapshot, {}))
        return 200, self._page([{"name": name} for name in names], query, path)

    def _r_snapshot_collections(
        self,
        group: str,
        cluster: str,
        snapshot: str,
        db: str,
        query: dict[str, list[str]],
        path: str,
        **_: Any,
    ) -> tuple[int, Any]:
        self._replica_set_snapshot(group, cluster, snapshot)
        held = self.contents.get(snapshot, {})
        if db not in held:
            raise ApiFailure(404, "RESOURCE_NOT_FOUND", f"No database {db} in snapshot {snapshot}.")
        return 200, self._page([{"name": name} for name in sorted(held[db])], query, path)

    # --- recovery: schedule (DiskBackupSnapshotSchedule20240805) and on-demand snapshots ------------------

    def _r_schedule(self, group: str, cluster: str, **_: Any) -> tuple[int, Any]:
        info = self._cluster(group, cluster)
        if not info["backupEnabled"]:
            raise ApiFailure(404, "BACKUP_NOT_ENABLED", f"Cloud Backup is off for cluster {cluster}.")
        overrides = self.schedules.get((group, cluster), {})
        policy_item = {
            "id": object_id(),
            "frequencyInterval": 6,
            "frequencyType": "hourly",
            "retentionUnit": "days",
            "retentionValue": 7,
        }
        zone = info["replicationSpecs"][0]["zoneId"]
        copies = [
            {
                "cloudProvider": "AWS",
                "frequencies": ["HOURLY", "DAILY", "WEEKLY", "MONTHLY"],
                "regionName": region,
                "shouldCopyOplogs": True,
                "zoneId": zone,
            }
            for region in overrides.get("copyRegions", ())
        ]
        return 200, {
            **({"copySettings": copies} if copies else {}),
            "clusterId": info["id"],
            "clusterName": cluster,
            "nextSnapshot": iso(self.clock() + timedelta(hours=1)),
            "policies": [{"id": object_id(), "policyItems": [policy_item]}],
            "referenceHourOfDay": 3,
            "referenceMinuteOfHour": 0,
            "restoreWindowDays": overrides.get("restoreWindowDays", 7),
            "useOrgAndGroupNamesInExportPrefix": False,
            "links": [],
        }

    def _r_take_snapshot(self, group: str, cluster: str, body: Any, **_: Any) -> tuple[int, Any]:
        info = self._cluster(group, cluster)
        if not isinstance(body, dict):
            raise ApiFailure(400, "INVALID_JSON", "The request body must be a JSON object.")
        if not info["backupEnabled"]:
            raise ApiFailure(400, "BACKUP_NOT_ENABLED", f"Cloud Backup is off for cluster {cluster}.")
        pending = [
            s
            for s in self.snapshots.get((group, cluster), [])
            if s["snapshotType"] == "onDemand" and s["status"] in ("queued", "inProgress")
        ]
        if pending:
            # The spec: "If an on-demand snapshot with a status of queued or inProgress exists, before
            # taking another snapshot, wait until Atlas completes processing [it]".
            raise ApiFailure(400, "SNAPSHOT_IN_PROGRESS", "An on-demand snapshot is still being taken.")
        created = self.clock()
        retention = int(body.get("retentionInDays", 1))
        snapshot = {
            "id": object_id(),
            "cloudProvider": "AWS",
            "copyRegions": [],
            "createdAt": iso(created),
            "description": str(body.get("description", "")),
            "expiresAt": iso(created + timedelta(days=retention)),
            "frequencyType": "hourly",
            "mongodVersion": "8.0.4",
            "replicaSetName": f"{cluster}-shard-0",
            "snapshotType": "onDemand",
            "status": "queued",
            "type": "replicaSet",
            "links": [],
        }
        self.snapshots.setdefault((group, cluster), []).append(snapshot)
        self.contents[snapshot["id"]] = {}
        return 200, dict(snapshot)

    def _r_get_snapshot(self, group: str, cluster: str, snapshot: str, **_: Any) -> tuple[int, Any]:
        found = self._replica_set_snapshot(group, cluster, snapshot)
        if found["status"] in ("queued", "inProgress"):
            created = datetime.fromisoformat(found["createdAt"].replace("Z", "+00:00"))
            if self.clock() >= created + self.snapshot_duration:
                found["status"] = "completed"
                if self.on_snapshot is not None:
                    self.on_snapshot(dict(found, groupId=group, clusterName=cluster))
            else:
                found["status"] = "inProgress"
        return 200, dict(found)

    def _r_list_jobs(
        self, group: str, cluster: str, query: dict[str, list[str]], path: str, **_: Any
    ) -> tuple[int, Any]:
        self._cluster(group, cluster)
        jobs = [
            dict(state.doc)
            for state in self.jobs.values()
            if (state.group_id, state.cluster_name) == (group, cluster)
        ]
        return 200, self._page(jobs, query, path)

    def _r_create_job(self, group: str, cluster: str, body: Any, **_: Any) -> tuple[int, Any]:
        source = self._cluster(group, cluster)
        if not isinstance(body, dict):
            raise ApiFailure(400, "INVALID_JSON", "The request body must be a JSON object.")
        delivery = body.get("deliveryType")
        if delivery not in ("automated", "download", "pointInTime"):
            raise ApiFailure(
                400, "INVALID_ENUM_VALUE", f"Invalid enumeration value {delivery} for deliveryType."
            )
        if delivery == "download":
            raise ApiFailure(400, "INVALID_ATTRIBUTE", "download restores are not served by this fake")
        target_group, target_name = body.get("targetGroupId"), body.get("targetClusterName")
        if not target_group or not target_name:
            raise ApiFailure(400, "MISSING_ATTRIBUTE", "targetGroupId and targetClusterName are required.")
        target = self._cluster(str(target_group), str(target_name))
        source_shards = len(source["replicationSpecs"]) if source["clusterType"] != "REPLICASET" else 0
        target_shards = len(target["replicationSpecs"]) if target["clusterType"] != "REPLICASET" else 0
        if source_shards != target_shards:
            raise ApiFailure(
                400,
                "INVALID_RESTORE_TARGET",
                f"{cluster} has {source_shards or 'no'} shards and {target_name} {target_shards or 'none'}: "
                "a sharded snapshot restores only into a cluster with the same number of shards.",
            )
        doc: dict[str, Any] = {
            "id": object_id(),
            "deliveryType": delivery,
            "targetClusterName": target_name,
            "targetGroupId": target_group,
            "cancelled": False,
            "expired": False,
            "failed": False,
            "links": [],
        }
        if delivery == "automated":
            snapshot = next(
                (s for s in self.snapshots.get((group, cluster), []) if s["id"] == body.get("snapshotId")),
                None,
            )
            if snapshot is None or snapshot["status"] != "completed":
                raise ApiFailure(
                    404, "SNAPSHOT_NOT_FOUND", f"No snapshot with ID {body.get('snapshotId')} exists."
                )
            doc["snapshotId"] = snapshot["id"]
            doc["timestamp"] = snapshot["createdAt"]
        else:
            if not source["pitEnabled"]:
                raise ApiFailure(
                    400, "PIT_NOT_ENABLED", f"Continuous Cloud Backup is off for {cluster} (fake)."
                )
            if "oplogTs" in body:
                if "oplogInc" not in body:
                    raise ApiFailure(400, "MISSING_ATTRIBUTE", "oplogInc is required with oplogTs.")
                doc["oplogTs"], doc["oplogInc"] = int(body["oplogTs"]), int(body["oplogInc"])
            elif "pointInTimeUTCSeconds" in body:
                doc["pointInTimeUTCSeconds"] = int(body["pointInTimeUTCSeconds"])
            else:
                raise ApiFailure(
                    400, "MISSING_ATTRIBUTE", "pointInTimeUTCSeconds or oplogTs/oplogInc is required."
                )
        self.jobs[doc["id"]] = RestoreJobState(doc, group, cluster, self.clock())
        return 200, dict(doc)

    def _job(self, group: str, cluster: str, job: str) -> RestoreJobState:
        self._cluster(group, cluster)
        state = self.jobs.get(job)
        if state is None or (state.group_id, state.cluster_name) != (group, cluster):
            raise ApiFailure(404, "RESTORE_JOB_NOT_FOUND", f"No restore job with ID {job} exists.")
        return state

    def _r_get_job(self, group: str, cluster: str, job: str, **_: Any) -> tuple[int, Any]:
        state = self._job(group, cluster, job)
        doc = state.doc
        running = not (doc["cancelled"] or doc["failed"] or "finishedAt" in doc)
        if running:
            state.polls += 1
            due = state.created_at + self.restore_duration
            if state.polls >= self.finish_after_polls and self.clock() >= due:
                if self.restore_fails:
                    doc["failed"] = True
                else:
                    if self.on_restore is not None and not state.restored:
                        state.restored = True
                        try:
                            self.on_restore(dict(doc, sourceGroupId=group, sourceClusterName=cluster))
                        except Exception:
                            doc["failed"] = True
                            return 200, dict(doc)
                    doc["finishedAt"] = iso(due)
        return 200, dict(doc)

    def _r_cancel_job(self, group: str, cluster: str, job: str, **_: Any) -> tuple[int, Any]:
        state = self._job(group, cluster, job)
        delivery = state.doc["deliveryType"]
        if delivery in ("automated", "pointInTime"):
            raise ApiFailure(
                405,
                "CANNOT_CANCEL_RESTORE_JOB",
                f"{'Automated' if delivery == 'automated' else 'Point in time'} restore cannot be cancelled.",
            )
        state.doc["cancelled"] = True
        return 204, None


# Exchanges already validated in this test session, by shape: ids and digits blanked, so the hundred polls
# of one restore job, or the same answer in another test, are validated once. Validation is structural.
_VALIDATED: set[str] = set()
_HEX_ID = re.compile(r"[0-9a-f]{24}")
_DIGITS = re.compile(r"[0-9]")


def _shape_key(exchange: Exchange, silent: str | None) -> str:
    parts = [
        exchange.method,
        exchange.path,
        json.dumps(exchange.query, sort_keys=True),
        exchange.request_headers.get("Accept", ""),
        exchange.request_headers.get("Content-Type", ""),
        exchange.request_headers.get("Authorization", "").split(" ")[0],
        exchange.request_body.decode(errors="replace"),
        str(exchange.status),
        str(silent),
        json.dumps({k: v for k, v in exchange.response_headers.items() if k != "Date"}, sort_keys=True),
        exchange.response_body.decode(errors="replace"),
    ]
    return _DIGITS.sub("0", _HEX_ID.sub("X", "\x00".join(parts)))


def _dump(payload: Any) -> bytes:
    return json.dumps(payload).encode()
