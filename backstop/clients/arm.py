"""Read-only Azure Resource Manager GETs for `backstop status`, over `requests`, with a bounded retry.

ARM answers 429 with `Retry-After` when a subscription's read budget is spent; a GET is retried after it
(or after an exponential backoff) at most `max_attempts` times and never waits longer than `max_wait`
in total, then fails as `CloudCallError(kind="throttled")`. 401/403 are `denied`, naming the ARM error
code (`AuthorizationFailed` says which action was missing). Nothing here writes.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import requests

from backstop.clients.cloud import CloudCallError, kind_of_status

logger = logging.getLogger(__name__)

ARM_ENDPOINT = "https://management.azure.com"


class ArmReader:
    def __init__(
        self,
        endpoint: str,
        token: Callable[[], str],
        *,
        session: requests.Session | None = None,
        max_attempts: int = 4,
        max_wait: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
        timeout: tuple[float, float] = (5.0, 30.0),
    ) -> None:
        self.endpoint = endpoint.rstrip("/")
        self._token_source = token
        self._token: str | None = None
        self._lock = threading.Lock()
        self.session = session or requests.Session()
        self.max_attempts = max_attempts
        self.max_wait = max_wait
        self.sleep = sleep
        self.timeout = timeout

    def _bearer(self) -> str:
        with self._lock:
            if self._token is None:
                try:
                    self._token = self._token_source()
                except Exception as error:  # azure.identity raises many kinds; all mean "no token"
                    first = " ".join(str(error).split())[:200]
                    raise CloudCallError(
                        f"Azure: no usable credential ({first}); run `az login` or set AZURE_ACCESS_TOKEN",
                        "no-credentials",
                    ) from None
            return self._token

    def get(self, path: str, api_version: str, params: Mapping[str, str] | None = None) -> dict[str, Any]:
        """`GET {endpoint}{path}?api-version=...`: the JSON body, or one `CloudCallError` line."""
        query = {"api-version": api_version, **(params or {})}
        call = f"Azure GET {path}"
        waited, attempt = 0.0, 0
        while True:
            attempt += 1
            try:
                response = self.session.get(
                    self.endpoint + path,
                    params=query,
                    headers={"Authorization": f"Bearer {self._bearer()}"},
                    timeout=self.timeout,
                )
            except requests.RequestException as error:
                raise CloudCallError(
                    f"{call}: cannot connect: {type(error).__name__}", "unreachable"
                ) from None
            status = response.status_code
            logger.debug(
                "Azure GET %s: HTTP %s", path, status, extra={"method": "GET", "path": path, "status": status}
            )
            if status < 400:
                body: dict[str, Any] = response.json() if response.content else {}
                return body
            if status in (429, 503) and attempt < self.max_attempts:
                delay = _retry_after(response.headers.get("Retry-After"), attempt)
                if waited + delay <= self.max_wait:
                    self.sleep(delay)
                    waited += delay
                    continue
            kind = kind_of_status(status)
            detail = _arm_error(response)
            if kind == "throttled":
                detail = f"still throttled after {attempt} attempt(s) and {waited:g} s of waiting ({detail})"
            raise CloudCallError(f"{call}: HTTP {status} {detail}", kind, status)

    def list(self, path: str, api_version: str) -> list[dict[str, Any]]:
        """Every item of an ARM list, following `nextLink`."""
        items: list[dict[str, Any]] = []
        body = self.get(path, api_version)
        for _ in range(1000):
            items.extend(item for item in body.get("value", []) if isinstance(item, dict))
            link = body.get("nextLink")
            if not isinstance(link, str) or not link:
                return items
            relative = link.split("://", 1)[-1]
            relative = relative[relative.find("/") :]
            path_only, _, query = relative.partition("?")
            params = dict(part.split("=", 1) for part in query.split("&") if "=" in part)
            params.pop("api-version", None)
            body = self.get(path_only, api_version, params)
        return items


def health_status(url: str, timeout: float = 10.0) -> int:
    """The status code an app's health check URL answers (redirects not followed: a health check answers
    itself); a connection that fails is `CloudCallError(kind="unreachable")`."""
    try:
        return requests.get(url, timeout=timeout, allow_redirects=False).status_code
    except requests.RequestException as error:
        raise CloudCallError(f"GET {url}: cannot connect: {type(error).__name__}", "unreachable") from None


def _retry_after(value: str | None, attempt: int) -> float:
    try:
        return max(float(value), 0.0) if value is not None else float(min(2**attempt, 30))
    except ValueError:
        return float(min(2**attempt, 30))


def _arm_error(response: requests.Response) -> str:
    try:
        error = response.json().get("error") or {}
    except (ValueError, AttributeError):
        return " ".join((response.text or "(empty)").split())[:200]
    text = f"{error.get('code', '')}: {error.get('message', '')}".strip(": ")
    return " ".join(text.split())[:200] or "(no error body)"
