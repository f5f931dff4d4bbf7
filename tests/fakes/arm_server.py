"""A local fake of the Azure Resource Manager endpoints `backstop drill rollback` calls, over HTTPS.

It keeps one web app with a production slot and a `staging` slot, each running an image, and serves:
`GET .../sites/{name}` (the site, with `defaultHostName`), `GET .../sites/{name}/config/web` and
`GET .../sites/{name}/slots/{slot}/config/web` (the slot's `linuxFxVersion` and `healthCheckPath`), and
`POST .../sites/{name}/slotsswap`, the long-running operation as azure-mgmt-web's
`_swap_slot_with_production_initial` reads it (200 or 202; on 202 the `Location` and `Retry-After`
headers) and azure-core's `LocationPolling` follows it: `GET` the `Location`
(`.../sites/{name}/operationresults/{id}`) answers 202 with `Location` and `Retry-After` while the swap
runs, 200 when it succeeded, and an HTTP error with an ARM error body when it failed. It also answers the
app's health check path for whichever image production runs (`/_app/{host}{path}`). Requests without a
bearer token are refused, as ARM refuses them.

Faults, to test the drill: `unhealthy_images` (the health check answers 503 for them), `fail_swaps` (the
n-th swap operation fails: its `Location` answers `failed_swap_status`; with `half_applied` the images are
exchanged anyway, as an interrupted swap may leave them), `fail_requests` (the n-th swap request is
answered `fail_request_status`, 500 unless set, at once).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import ssl
import tempfile
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Self

_SITE = re.compile(
    r"^/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)/providers/Microsoft\.Web/sites/(?P<name>[^/?]+)"
    r"(?P<rest>/[^?]*)?$"
)


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, written as PEM files (the client trusts it explicitly)."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "arm.pem", directory / "arm.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


class LocalTlsServer:
    """An HTTPS server on 127.0.0.1 with its own self-signed certificate (`cert`, for the client to
    trust), serving the handler `_handler()` builds on a thread while the fake is entered."""

    def _start_tls(self) -> None:
        self._dir = tempfile.TemporaryDirectory()
        self.cert, key = self_signed_certificate(Path(self._dir.name))
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert, key)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.base_url = f"https://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        raise NotImplementedError

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._dir.cleanup()


@dataclass
class FakeWebApp:
    subscription: str
    resource_group: str
    name: str
    production_image: str
    staging_image: str
    health_check_path: str = "/healthz"
    unhealthy_images: set[str] = field(default_factory=set)
    fail_swaps: set[int] = field(default_factory=set)
    fail_requests: set[int] = field(default_factory=set)
    half_applied: bool = False
    # A failed swap's answer on its `Location`: a status the SDK's retry policy does not retry.
    failed_swap_status: int = 409
    # The answer to a swap request in `fail_requests` (500 is retried by the SDK's retry policy).
    fail_request_status: int = 500
    # What happened, for the tests to assert on.
    swap_requests: list[dict[str, Any]] = field(default_factory=list)
    # Each poll of a swap's `Location`: (operation id, the status answered).
    operation_polls: list[tuple[str, int]] = field(default_factory=list)
    health_probes: list[str] = field(default_factory=list)
    unauthenticated: int = 0

    @property
    def host(self) -> str:
        return f"{self.name}.azurewebsites.net"


class FakeArm(LocalTlsServer):
    """The server and the one app it hosts; `base_url` for the client, `cert` for its trust store."""

    def __init__(self, app: FakeWebApp, *, polls_before_done: int = 1, retry_after: int = 0) -> None:
        self.app = app
        self.polls_before_done = polls_before_done
        self.retry_after = retry_after
        self._operations: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        # More of the estate, for `backstop status`: ARM id path → the resource's GET body, in the shape
        # of its REST spec (storage account with geoReplicationStats, blob service, Service Bus queue or
        # subscription with countDetails, registry replication with status). `failures`: path → the
        # (status, body, headers) every GET of it answers (403 AuthorizationFailed, 429 throttling).
        self.resources: dict[str, dict[str, Any]] = {}
        self.failures: dict[str, tuple[int, dict[str, Any], dict[str, str]]] = {}
        self.gets: list[tuple[str, str]] = []
        self._start_tls()

    def app_url(self, url: str) -> str:
        """Where the fake answers the app's own URL (`https://{host}{path}`)."""
        return f"{self.base_url}/_app/{url.removeprefix('https://')}"

    # --- request handling ----------------------------------------------------------------------------

    def _site(self) -> dict[str, Any]:
        app = self.app
        return {
            "id": f"/subscriptions/{app.subscription}/resourceGroups/{app.resource_group}/providers/"
            f"Microsoft.Web/sites/{app.name}",
            "name": app.name,
            "type": "Microsoft.Web/sites",
            "location": "East US",
            "kind": "app,linux,container",
            "properties": {"defaultHostName": app.host, "state": "Running", "enabled": True},
        }

    def _config(self, slot: str | None) -> dict[str, Any]:
        app = self.app
        image = app.production_image if slot is None else app.staging_image
        suffix = "" if slot is None else f"/slots/{slot}"
        return {
            "id": f"{self._site()['id']}{suffix}/config/web",
            "name": "web",
            "type": "Microsoft.Web/sites/config",
            "properties": {
                "linuxFxVersion": image,
                "healthCheckPath": app.health_check_path,
                "alwaysOn": True,
            },
        }

    def _location(self, operation: str) -> dict[str, str]:
        """The headers of a 202: where to poll and after how many seconds."""
        url = f"{self.base_url}{self._site()['id']}/operationresults/{operation}?api-version=2025-05-01"
        return {"Location": url, "Retry-After": str(self.retry_after)}

    def _start_swap(self, body: dict[str, Any]) -> tuple[int, Any, dict[str, str]]:
        with self._lock:
            self.app.swap_requests.append(body)
            number = len(self.app.swap_requests)
            if number in self.app.fail_requests:
                error = {"code": "Conflict", "message": "swap could not start"}
                return self.app.fail_request_status, {"error": error}, {}
            operation = f"op{number}"
            self._operations[operation] = {"number": number, "polls": 0, "done": False}
        return 202, None, self._location(operation)

    def _poll(self, operation: str) -> tuple[int, Any, dict[str, str]]:
        with self._lock:
            state = self._operations.get(operation)
            if state is None:
                return 404, {"error": {"code": "NotFound", "message": operation}}, {}
            state["polls"] += 1
            if state["polls"] <= self.polls_before_done:
                self.app.operation_polls.append((operation, 202))
                return 202, None, self._location(operation)
            failed = state["number"] in self.app.fail_swaps
            if not state["done"]:
                state["done"] = True
                if not failed or self.app.half_applied:
                    app = self.app
                    app.production_image, app.staging_image = app.staging_image, app.production_image
            if failed:
                self.app.operation_polls.append((operation, self.app.failed_swap_status))
                return (
                    self.app.failed_swap_status,
                    {"error": {"code": "Conflict", "message": "the swap was interrupted"}},
                    {},
                )
            self.app.operation_polls.append((operation, 200))
            return 200, None, {}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                return

            def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
                data = json.dumps(body).encode() if body is not None else b""
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

            def _authorized(self) -> bool:
                if self.path.startswith("/_app/"):
                    return True
                if (self.headers.get("Authorization") or "").startswith("Bearer "):
                    return True
                fake.app.unauthenticated += 1
                self._send(401, {"error": {"code": "AuthenticationFailed", "message": "no bearer token"}})
                return False

            def do_GET(self) -> None:
                if not self._authorized():
                    return
                path, _, query = self.path.partition("?")
                fake.gets.append((path, query))
                if path in fake.failures:
                    self._send(*fake.failures[path])
                    return
                if path in fake.resources:
                    self._send(200, fake.resources[path])
                    return
                staging = f"/_app/{fake.app.name}-staging.azurewebsites.net{fake.app.health_check_path}"
                if path == staging:  # the staging slot's own host, running the staging image
                    healthy = fake.app.staging_image not in fake.app.unhealthy_images
                    self._send(200 if healthy else 503, {"image": fake.app.staging_image})
                    return
                if path.startswith("/_app/"):
                    fake.app.health_probes.append(path)
                    expected = f"/_app/{fake.app.host}{fake.app.health_check_path}"
                    healthy = fake.app.production_image not in fake.app.unhealthy_images
                    status = 200 if path == expected and healthy else 503 if path == expected else 404
                    self._send(status, {"image": fake.app.production_image})
                    return
                match = _SITE.match(path)
                if match is None or match["name"] != fake.app.name:
                    self._send(404, {"error": {"code": "ResourceNotFound", "message": path}})
                    return
                rest = match["rest"] or ""
                if rest.startswith("/operationresults/"):
                    status, body, headers = fake._poll(rest.rsplit("/", 1)[-1])
                    self._send(status, body, headers)
                elif rest == "":
                    self._send(200, fake._site())
                elif rest == "/config/web":
                    self._send(200, fake._config(None))
                elif rest == "/slots/staging/config/web":
                    self._send(200, fake._config("staging"))
                else:
                    self._send(404, {"error": {"code": "NotFound", "message": rest}})

            def do_POST(self) -> None:
                if not self._authorized():
                    return
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                match = _SITE.match(self.path.split("?", 1)[0])
                if match is None or match["rest"] != "/slotsswap" or match["name"] != fake.app.name:
                    self._send(404, {"error": {"code": "NotFound", "message": self.path}})
                    return
                status, payload, headers = fake._start_swap(body)
                self._send(status, payload, headers)

        return Handler
