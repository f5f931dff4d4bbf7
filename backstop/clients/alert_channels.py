"""The channels a test notification goes through, and what each one answered.

- The Slack incoming webhook, directly: Slack answers `200 ok`, or an error code in plain text
  (`invalid_payload`, `no_service`, `channel_not_found`, ...).
- Each Azure Monitor action group backstop manages, through the test-notifications API of Azure Monitor
  (`POST .../actionGroups/{name}/createNotifications`, then `GET .../notificationStatus/{id}` until it is
  done): Azure sends a test alert to every receiver (e-mail, and the Logic App that relays to Slack) and
  reports each receiver's result.
- Atlas: the Atlas Admin API has no endpoint that sends a test notification for an alert configuration,
  so nothing is sent and the result says so.

No secret (webhook URL, token, callback URL) ever appears in a result.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

import requests

Status = Literal["delivered", "failed", "skipped", "not-supported"]
logger = logging.getLogger(__name__)

TEST_MARK = "[backstop test]"
# A bearer token for ARM handed in by the caller (CI), used before any Azure identity is tried.
ARM_TOKEN_ENV = "AZURE_ACCESS_TOKEN"
# Azure Monitor's action group API version with the test-notifications operations: GA, and one the installed
# pulumi-azure-native lists for monitor.ActionGroup.
ACTION_GROUPS_API_VERSION = "2022-06-01"
# The alert type Azure Monitor renders the test as: the metric alert schema of the Service Bus DLQ alert.
TEST_ALERT_TYPE = "metricstaticthreshold"
MANAGED_TAG = ("managed-by", "backstop")
_DONE_STATES = {"complete", "completed", "failed", "succeeded"}
_RECEIVER_OK = {"succeeded", "success", "complete", "completed", "sent"}


@dataclass(frozen=True)
class ChannelResult:
    channel: str
    status: Status
    detail: str

    def line(self) -> str:
        return f"{self.channel}: {self.status} ({self.detail})"

    def as_dict(self) -> dict[str, str]:
        return {"channel": self.channel, "status": self.status, "detail": self.detail}


def test_text(stack: str, when: str) -> str:
    return (
        f"{TEST_MARK} Test notification from `backstop alerts test --stack {stack}` at {when}. "
        "If you read this in the alerts channel, delivery works; nothing needs doing."
    )


def _short(text: str, limit: int = 120) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def send_slack(url: str, text: str, session: requests.Session, timeout: float = 10.0) -> ChannelResult:
    """POST `{"text": ...}` to a Slack incoming webhook and report Slack's answer (never the URL)."""
    channel = "slack-webhook"
    try:
        response = session.post(url, json={"text": text}, timeout=timeout)
    except requests.RequestException as exc:
        return ChannelResult(
            channel, "failed", f"could not reach {urlsplit(url).hostname}: {type(exc).__name__}"
        )
    answer = _short(response.text or "")
    if response.status_code == 200 and answer == "ok":
        return ChannelResult(channel, "delivered", "Slack answered 200 ok")
    return ChannelResult(channel, "failed", f"Slack answered {response.status_code} {answer or '(empty)'}")


class ArmError(Exception):
    """An Azure Resource Manager answer that stops the test of one action group."""


@dataclass
class AzureMonitor:
    """The Azure Resource Manager calls of the test-notifications API, with an injectable clock."""

    endpoint: str
    subscription_id: str
    token: str
    session: requests.Session
    timeout_seconds: float = 300.0
    poll_seconds: float = 5.0
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic

    def _url(self, path: str) -> str:
        return f"{self.endpoint.rstrip('/')}/subscriptions/{self.subscription_id}{path}"

    def _request(self, method: str, url: str, body: Any = None) -> requests.Response:
        params = None if "api-version=" in url else {"api-version": ACTION_GROUPS_API_VERSION}
        headers = {"Authorization": f"Bearer {self.token}"}
        try:
            response = self.session.request(
                method, url, params=params, json=body, headers=headers, timeout=30
            )
        except requests.RequestException as exc:
            raise ArmError(f"could not reach Azure Resource Manager: {type(exc).__name__}") from None
        path = urlsplit(url).path
        logger.debug(
            "Azure %s %s: HTTP %s",
            method,
            path,
            response.status_code,
            extra={"method": method, "path": path, "status": response.status_code},
        )
        if response.status_code >= 400:
            raise ArmError(f"Azure answered {response.status_code} {_arm_error(response)}")
        return response

    def action_groups(self, resource_group: str) -> list[dict[str, Any]]:
        """The enabled action groups of `resource_group` that backstop manages (tag managed-by=backstop)."""
        groups: list[dict[str, Any]] = []
        url: str | None = self._url(
            f"/resourceGroups/{resource_group}/providers/Microsoft.Insights/actionGroups"
        )
        while url:
            page = self._request("GET", url).json()
            groups.extend(page.get("value") or [])
            url = page.get("nextLink")
        key, value = MANAGED_TAG
        return sorted(
            (g for g in groups if (g.get("tags") or {}).get(key) == value),
            key=lambda g: str(g.get("name")),
        )

    def test_action_group(self, resource_group: str, group: Mapping[str, Any]) -> ChannelResult:
        name = str(group.get("name"))
        channel = f"azure-action-group:{name}"
        properties = group.get("properties") or {}
        if properties.get("enabled") is False:
            return ChannelResult(channel, "failed", "the action group is disabled: no alert reaches anyone")
        receivers = dict(_receivers(properties))
        if not receivers:
            return ChannelResult(channel, "failed", "the action group has no receivers")
        body = {"alertType": TEST_ALERT_TYPE, **receivers}
        base = f"/resourceGroups/{resource_group}/providers/Microsoft.Insights/actionGroups/{name}"
        try:
            started = self._request("POST", self._url(f"{base}/createNotifications"), body)
            status = self._wait(started)
        except ArmError as exc:
            return ChannelResult(channel, "failed", str(exc))
        return _verdict(channel, status)

    def _wait(self, response: requests.Response) -> dict[str, Any]:
        """Follow the long-running operation (202 + Location) until Azure reports the test done."""
        deadline = self.clock() + self.timeout_seconds
        while True:
            if response.status_code == 200:
                status = response.json()
                if _done(status):
                    return dict(status)
            location = response.headers.get("Location") or response.headers.get("Azure-AsyncOperation")
            if not location:
                raise ArmError(f"Azure answered {response.status_code} without a Location to follow")
            if self.clock() >= deadline:
                raise ArmError(f"the test notification was not done after {self.timeout_seconds:g} s")
            wait = response.headers.get("Retry-After")
            self.sleep(float(wait) if wait and wait.isdigit() else self.poll_seconds)
            response = self._request("GET", location)


def _receivers(properties: Mapping[str, Any]) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """Every non-empty receiver list of the action group, without the read-only `status` field."""
    for key, value in properties.items():
        if key.endswith("Receivers") and isinstance(value, list) and value:
            yield key, [{k: v for k, v in r.items() if k != "status"} for r in value if isinstance(r, dict)]


def _value(document: Mapping[str, Any], name: str) -> Any:
    """A field of a test-notification status in either spelling: the 2022-06-01 spec declares `State`,
    `CompletedTime`, `ActionDetails` (and each detail's `MechanismType`, `Status`) in PascalCase, its
    SDKs and older answers use camelCase (`state`, `actionDetails`)."""
    if name in document:
        return document[name]
    for key, value in document.items():
        if key.lower() == name.lower():
            return value
    return None


def _field(detail: Mapping[str, Any], name: str) -> str:
    value = _value(detail, name)
    return "" if value is None else str(value)


def _done(status: Mapping[str, Any]) -> bool:
    """Done when the state says so, or a completion time is set: the spec's example answers
    `0001-01-01T00:00:00` (.NET's empty date) for a test that has not completed, which is no time."""
    if _field(status, "state").lower() in _DONE_STATES:
        return True
    completed = _field(status, "completedTime")
    return bool(completed) and not completed.startswith("0001-01-01")


def _verdict(channel: str, status: Mapping[str, Any]) -> ChannelResult:
    listed = _value(status, "actionDetails")
    details = [d for d in listed if isinstance(d, Mapping)] if isinstance(listed, list) else []
    if not details:
        return ChannelResult(
            channel, "failed", f"Azure reported state {_value(status, 'state')!r} and no receiver"
        )
    parts = []
    ok = True
    for detail in details:
        receiver_status = _field(detail, "Status")
        ok = ok and receiver_status.lower() in _RECEIVER_OK
        text = f"{_field(detail, 'MechanismType')} {_field(detail, 'Name')}: {receiver_status}"
        extra = _field(detail, "Detail")
        parts.append(
            f"{text} ({_short(extra, 80)})" if extra and receiver_status.lower() not in _RECEIVER_OK else text
        )
    return ChannelResult(channel, "delivered" if ok else "failed", "; ".join(parts))


def _arm_error(response: requests.Response) -> str:
    try:
        error = response.json().get("error") or {}
    except ValueError:
        return _short(response.text or "(empty)")
    return _short(f"{error.get('code', '')}: {error.get('message', '')}".strip(": ")) or "(no error body)"


ATLAS_RESULT = ChannelResult(
    "atlas",
    "not-supported",
    "the Atlas Admin API has no endpoint that sends a test notification for an alert configuration; "
    "nothing was sent. The backup alerts' Slack delivery shows the first time one fires",
)


def http_session() -> requests.Session:
    """One connection pool for every channel a test run sends through."""
    return requests.Session()


def arm_token(environ: Mapping[str, str], endpoint: str) -> str:
    """A bearer token for ARM: `AZURE_ACCESS_TOKEN` when set, else the environment's Azure identity."""
    token = environ.get(ARM_TOKEN_ENV)
    if token:
        return token
    from azure.identity import DefaultAzureCredential

    return str(DefaultAzureCredential().get_token(f"{endpoint.rstrip('/')}/.default").token)
