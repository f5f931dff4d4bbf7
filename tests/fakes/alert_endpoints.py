"""Local fakes of the endpoints `backstop alerts test` talks to, on one HTTP server.

- A Slack incoming webhook (`POST /services/...`): like Slack, `400 invalid_payload` without a `text`,
  `404 no_service` for a webhook that was removed, else `200 ok`.
- Azure Resource Manager's action groups (list, `createNotifications` answered `202` + `Location`, then
  `notificationStatus` answered `202` once and `200` with PascalCase `actionDetails`, the status itself in
  camelCase or, with `status_spelling="pascal"`, in PascalCase as the spec's example), with bearer tokens
  checked (`401 InvalidAuthenticationToken`).
"""

from __future__ import annotations

import json
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

TOKEN = "test-token"
SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"
GOOD_WEBHOOK_PATH = "/services/T0BACKSTOP/B0BACKSTOP/fake"
GONE_WEBHOOK_PATH = "/services/T0BACKSTOP/B0GONE/fake"


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any


@dataclass
class AlertEndpoints:
    """State of the fakes: action groups per resource group, receivers that fail, what was received."""

    action_groups: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    failing_receivers: set[str] = field(default_factory=set)
    requests: list[Recorded] = field(default_factory=list)
    slack_messages: list[dict[str, Any]] = field(default_factory=list)
    notifications: dict[str, dict[str, Any]] = field(default_factory=dict)
    polls: dict[str, int] = field(default_factory=dict)
    never_finish: bool = False
    retry_after: str = "0"
    base_url: str = ""
    # How the finished status is spelled: "camel" (`state`, `actionDetails`) or "pascal" (`State`,
    # `CompletedTime`, `ActionDetails`, as the 2022-06-01 spec's getTestNotifications example answers).
    status_spelling: str = "camel"


def action_group(name: str, *, managed: bool = True, **receivers: list[dict[str, Any]]) -> dict[str, Any]:
    """An action group as ARM returns it (e-mail receivers carry a read-only `status`)."""
    tags = {"managed-by": "backstop", "environment": "prod"} if managed else {}
    return {
        "id": f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg/providers/microsoft.insights/"
        f"actionGroups/{name}",
        "name": name,
        "type": "Microsoft.Insights/ActionGroups",
        "location": "Global",
        "tags": tags,
        "properties": {"groupShortName": name[:12], "enabled": True, **receivers},
    }


def _handler(state: AlertEndpoints) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return

        def _body(self) -> Any:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                return json.loads(raw) if raw else None
            except ValueError:
                return raw.decode(errors="replace")

        def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
            data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/plain" if isinstance(body, str) else "application/json")
            self.send_header("Content-Length", str(len(data)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)

        def _record(self, body: Any) -> tuple[str, dict[str, list[str]]]:
            parts = urlsplit(self.path)
            query = parse_qs(parts.query)
            state.requests.append(Recorded(self.command, parts.path, query, dict(self.headers), body))
            return parts.path, query

        def do_POST(self) -> None:
            body = self._body()
            path, query = self._record(body)
            if path.startswith("/services/"):
                self._slack(path, body)
            else:
                self._arm("POST", path, query, body)

        def do_GET(self) -> None:
            path, query = self._record(None)
            self._arm("GET", path, query, None)

        def _slack(self, path: str, body: Any) -> None:
            if path == GONE_WEBHOOK_PATH:
                self._send(404, "no_service")
            elif not isinstance(body, dict) or not isinstance(body.get("text"), str) or not body["text"]:
                self._send(400, "invalid_payload")
            else:
                state.slack_messages.append(body)
                self._send(200, "ok")

        def _arm(self, method: str, path: str, query: dict[str, list[str]], body: Any) -> None:
            if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                self._send(401, {"error": {"code": "InvalidAuthenticationToken", "message": "bad token"}})
                return
            if query.get("api-version") != ["2022-06-01"]:
                self._send(400, {"error": {"code": "InvalidApiVersionParameter", "message": "api-version"}})
                return
            parts = path.strip("/").split("/")
            # subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.Insights/actionGroups[/{name}/...]
            if (
                len(parts) < 7
                or parts[0] != "subscriptions"
                or parts[5:7] != ["Microsoft.Insights", "actionGroups"]
            ):
                self._send(404, {"error": {"code": "NotFound", "message": path}})
                return
            group_name = parts[3]
            groups = {g["name"]: g for g in state.action_groups.get(group_name, [])}
            if method == "GET" and len(parts) == 7:
                self._send(200, {"value": list(groups.values())})
            elif method == "POST" and len(parts) == 9 and parts[8] == "createNotifications":
                self._create(parts[7], groups, body)
            elif method == "GET" and len(parts) == 10 and parts[8] == "notificationStatus":
                self._status(parts[9])
            else:
                self._send(404, {"error": {"code": "NotFound", "message": path}})

        def _create(self, name: str, groups: dict[str, Any], body: Any) -> None:
            if name not in groups:
                self._send(404, {"error": {"code": "ResourceNotFound", "message": name}})
                return
            if not isinstance(body, dict) or body.get("alertType") != "metricstaticthreshold":
                self._send(400, {"error": {"code": "BadRequest", "message": "alertType"}})
                return
            details = []
            for key, receivers in body.items():
                if not key.endswith("Receivers"):
                    continue
                for receiver in receivers:
                    if "status" in receiver:
                        self._send(400, {"error": {"code": "BadRequest", "message": "status is read-only"}})
                        return
                    failing = receiver["name"] in state.failing_receivers
                    details.append(
                        {
                            "MechanismType": {"emailReceivers": "Email", "logicAppReceivers": "LogicApp"}.get(
                                key, key
                            ),
                            "Name": receiver["name"],
                            "Status": "Failed" if failing else "Succeeded",
                            "SubState": "Default",
                            "SendTime": "2026-11-30T20:00:00Z",
                            "Detail": "callback returned 500" if failing else "",
                        }
                    )
            notification_id = str(uuid.uuid4().int)[:12]
            state.notifications[notification_id] = {"group": name, "actionDetails": details}
            location = (
                f"{state.base_url}/subscriptions/{SUBSCRIPTION}/resourceGroups/x/providers/Microsoft.Insights/"
                f"actionGroups/{name}/notificationStatus/{notification_id}?api-version=2022-06-01"
            )
            self._send(202, {}, {"Location": location, "Retry-After": state.retry_after})

        def _status(self, notification_id: str) -> None:
            notification = state.notifications.get(notification_id)
            if notification is None:
                self._send(404, {"error": {"code": "NotFound", "message": notification_id}})
                return
            state.polls[notification_id] = state.polls.get(notification_id, 0) + 1
            if state.never_finish or state.polls[notification_id] < 2:
                self._send(
                    202, {}, {"Location": f"{state.base_url}{self.path}", "Retry-After": state.retry_after}
                )
                return
            if state.status_spelling == "pascal":
                self._send(
                    200,
                    {
                        "Context": {
                            "NotificationSource": "Microsoft.Insights/TestNotification",
                            "ContextType": "Test",
                        },
                        "State": "Completed",
                        "CompletedTime": "0001-01-01T00:00:00+00:00",
                        "CreatedTime": "2026-11-30T20:00:00+00:00",
                        "ActionDetails": notification["actionDetails"],
                    },
                )
                return
            self._send(
                200,
                {
                    "context": {
                        "notificationSource": "Microsoft.Insights/TestNotification",
                        "contextType": "Test",
                    },
                    "state": "Complete",
                    "createdTime": "2026-11-30T20:00:00Z",
                    "completedTime": "2026-11-30T20:00:05Z",
                    "actionDetails": notification["actionDetails"],
                },
            )

    return Handler


class AlertEndpointsServer:
    """`with AlertEndpointsServer() as fake:` serves on 127.0.0.1 at `fake.url`."""

    def __init__(self) -> None:
        self.state = AlertEndpoints()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self.state))
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self.state.base_url = self.url
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,), daemon=True)

    def __enter__(self) -> AlertEndpointsServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
