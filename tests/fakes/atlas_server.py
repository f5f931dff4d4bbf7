"""A local fake of the MongoDB Atlas Administration API v2, over real HTTP, for the audit and drill tests.

It follows the documented request and response shapes (the v2 OpenAPI spec as published in
`go.mongodb.org/atlas-sdk`: `Group`, `ClusterDescription20240805`, paginated `DiskBackupReplicaSet`,
`DiskBackupSnapshotRestoreJob`, `ApiError`), checks HTTP Digest authentication the way Atlas challenges it
(`realm="MMS Public API"`, `qop="auth"`, MD5) or a service account's bearer token from `POST
/api/oauth/token`, insists on the versioned `Accept` header each resource documents, and records every
request so tests can assert exactly what was called.

Restore jobs finish at the first poll where at least `finish_after_polls` polls happened and the clock has
passed `createdAt + restore_duration`; `finishedAt` is then exactly that instant. `on_restore` is the
restore itself: it gets the job and copies data into the target cluster's stand-in, as a real restore does.
Error codes the fake invents where the spec names none are marked as its own.
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
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar
from urllib.parse import parse_qs, unquote, urlsplit

REALM = "MMS Public API"
V20230101 = "application/vnd.atlas.2023-01-01+json"
V20240805 = "application/vnd.atlas.2024-08-05+json"


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
    error_code: str | None
    detail: str

    def body(self) -> dict[str, Any]:
        reasons = {
            400: "Bad Request",
            401: "Unauthorized",
            404: "Not Found",
            406: "Not Acceptable",
            409: "Conflict",
        }
        reasons[415] = "Unsupported Media Type"
        body: dict[str, Any] = {"detail": self.detail, "error": self.status, "parameters": []}
        body["reason"] = reasons.get(self.status, "Error")
        if self.error_code:
            body["errorCode"] = self.error_code
        return body


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
    on_restore: Callable[[dict[str, Any]], None] | None = None

    def __post_init__(self) -> None:
        self.projects: dict[str, dict[str, Any]] = {}
        self.clusters: dict[tuple[str, str], dict[str, Any]] = {}
        self.snapshots: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.jobs: dict[str, RestoreJobState] = {}
        self.requests: list[RecordedRequest] = []
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

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,), daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()

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
    ) -> dict[str, Any]:
        host = f"{name.lower()}.{group_id[:5]}.mongodb.net"
        cluster = {
            "id": object_id(),
            "name": name,
            "groupId": group_id,
            "clusterType": "REPLICASET",
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
            "replicationSpecs": [
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
            ],
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
    ) -> str:
        snapshot_id = object_id()
        snapshot = {
            "id": snapshot_id,
            "cloudProvider": "AWS",
            "copyRegions": ["US_WEST_2"],
            "createdAt": iso(created_at),
            "expiresAt": iso(expires_at or created_at + timedelta(days=7)),
            "frequencyType": frequency_type,
            "masterKeyUUID": "72659f08-8b3c-4913-bb4e-a8a68bee0b9d",
            "mongodVersion": "8.0.4",
            "policyItems": [object_id()],
            "replicaSetName": f"{cluster_name}-shard-0",
            "snapshotType": "scheduled",
            "status": status,
            "storageSizeBytes": 1_048_576,
            "type": "replicaSet",
            "links": [],
        }
        with self._lock:
            self.snapshots.setdefault((group_id, cluster_name), []).append(snapshot)
        return snapshot_id

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
        authenticated = self._authenticated(handler.command, handler.path, headers)
        with self._lock:
            self.requests.append(
                RecordedRequest(
                    handler.command, parts.path, parse_qs(parts.query), headers, body, authenticated
                )
            )
        if not authenticated:
            nonce = secrets.token_hex(16)
            with self._lock:
                self.nonces.add(nonce)
            challenge = (
                f'Digest realm="{REALM}", domain="", nonce="{nonce}", algorithm=MD5, qop="auth", stale=false'
            )
            self._send(
                handler,
                401,
                ApiFailure(401, None, "You are not authorized for this resource.").body(),
                {"WWW-Authenticate": challenge},
            )
            return
        try:
            status, payload, version = self._route(
                handler.command, parts.path, parse_qs(parts.query), body, headers
            )
        except ApiFailure as failure:
            self._send(handler, failure.status, failure.body())
            return
        self._send(handler, status, payload, content_type=version)

    def _send(
        self,
        handler: BaseHTTPRequestHandler,
        status: int,
        payload: Any,
        extra: dict[str, str] | None = None,
        content_type: str = "application/json",
    ) -> None:
        data = b"" if payload is None else json.dumps(payload).encode()
        handler.send_response(status)
        if payload is not None:
            handler.send_header("Content-Type", f"{content_type};charset=utf-8")
        handler.send_header("Content-Length", str(len(data)))
        for key, value in (extra or {}).items():
            handler.send_header(key, value)
        handler.end_headers()
        handler.wfile.write(data)

    def _token(self, handler: BaseHTTPRequestHandler, headers: dict[str, str], body: Any) -> None:
        expected = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        ok = self.client_id is not None and headers.get("Authorization") == f"Basic {expected}"
        with self._lock:
            self.requests.append(RecordedRequest("POST", "/api/oauth/token", {}, headers, body, ok))
        if not ok or "grant_type=client_credentials" not in str(body):
            self._send(handler, 401, {"error": "invalid_client"})
            return
        token = secrets.token_urlsafe(24)
        with self._lock:
            self.tokens.add(token)
        self._send(handler, 200, {"access_token": token, "token_type": "Bearer", "expires_in": 3600})

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

    _ROUTES: ClassVar[list[tuple[str, re.Pattern[str], str, str]]] = [
        ("GET", re.compile(r"^/api/atlas/v2/groups/byName/(?P<name>[^/]+)$"), "project_by_name", V20230101),
        ("GET", re.compile(r"^/api/atlas/v2/groups/(?P<group>[0-9a-f]{24})$"), "project", V20230101),
        (
            "GET",
            re.compile(r"^/api/atlas/v2/groups/(?P<group>[0-9a-f]{24})/clusters/(?P<cluster>[^/]+)$"),
            "cluster",
            V20240805,
        ),
        (
            "GET",
            re.compile(
                r"^/api/atlas/v2/groups/(?P<group>[0-9a-f]{24})/clusters/(?P<cluster>[^/]+)/backup/snapshots$"
            ),
            "snapshots",
            V20230101,
        ),
        (
            "POST",
            re.compile(
                r"^/api/atlas/v2/groups/(?P<group>[0-9a-f]{24})/clusters/(?P<cluster>[^/]+)/backup/restoreJobs$"
            ),
            "create_job",
            V20230101,
        ),
        (
            "GET",
            re.compile(
                r"^/api/atlas/v2/groups/(?P<group>[0-9a-f]{24})/clusters/(?P<cluster>[^/]+)"
                r"/backup/restoreJobs/(?P<job>[0-9a-f]{24})$"
            ),
            "get_job",
            V20230101,
        ),
        (
            "DELETE",
            re.compile(
                r"^/api/atlas/v2/groups/(?P<group>[0-9a-f]{24})/clusters/(?P<cluster>[^/]+)"
                r"/backup/restoreJobs/(?P<job>[0-9a-f]{24})$"
            ),
            "cancel_job",
            V20230101,
        ),
    ]

    def _route(
        self, method: str, path: str, query: dict[str, list[str]], body: Any, headers: dict[str, str]
    ) -> tuple[int, Any, str]:
        for route_method, pattern, name, version in self._ROUTES:
            match = pattern.match(path)
            if match and route_method == method:
                accept = headers.get("Accept", "")
                if version not in [part.strip() for part in accept.split(",")]:
                    raise ApiFailure(
                        406, "INVALID_VERSION_DATE", f"this resource is served as {version} (fake)"
                    )
                if method == "POST" and headers.get("Content-Type", "").split(";")[0] != version:
                    raise ApiFailure(415, "INVALID_MEDIA_TYPE", f"send the body as {version} (fake)")
                args = {key: unquote(value) for key, value in match.groupdict().items()}
                with self._lock:
                    status, payload = getattr(self, f"_r_{name}")(query=query, body=body, **args)
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

    def _r_project_by_name(self, name: str, **_: Any) -> tuple[int, Any]:
        for project in self.projects.values():
            if project["name"] == name:
                return 200, project
        raise ApiFailure(404, "GROUP_NAME_NOT_FOUND", f'No group with name "{name}" exists.')

    def _r_project(self, group: str, **_: Any) -> tuple[int, Any]:
        return 200, self._project(group)

    def _r_cluster(self, group: str, cluster: str, **_: Any) -> tuple[int, Any]:
        return 200, self._cluster(group, cluster)

    def _r_snapshots(
        self, group: str, cluster: str, query: dict[str, list[str]], **_: Any
    ) -> tuple[int, Any]:
        self._cluster(group, cluster)
        items = sorted(self.snapshots.get((group, cluster), []), key=lambda s: s["createdAt"], reverse=True)
        page = int(query.get("pageNum", ["1"])[0])
        per_page = min(int(query.get("itemsPerPage", ["100"])[0]), self.page_size_cap)
        start = (page - 1) * per_page
        results = items[start : start + per_page]
        base = f"{self.base_url}/api/atlas/v2/groups/{group}/clusters/{cluster}/backup/snapshots"
        links = [{"href": f"{base}?pageNum={page}&itemsPerPage={per_page}", "rel": "self"}]
        if start + per_page < len(items):
            links.append({"href": f"{base}?pageNum={page + 1}&itemsPerPage={per_page}", "rel": "next"})
        if page > 1:
            links.append({"href": f"{base}?pageNum={page - 1}&itemsPerPage={per_page}", "rel": "previous"})
        body: dict[str, Any] = {"links": links, "results": results}
        if query.get("includeCount", ["true"])[0] == "true":
            body["totalCount"] = len(items)
        return 200, body

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
        self._cluster(str(target_group), str(target_name))
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
        state.doc["cancelled"] = True
        return 204, None
