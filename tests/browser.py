"""A page as a person sees it: headless Chromium (Debian's `chromium`) driven over the DevTools protocol.

`look(path)` opens a local file with the network cut off, and returns what a reader would meet: every
console error and uncaught exception, every request the page tried to make (a self-contained page makes
none beyond itself), the DOM after scripts ran, values measured in the page, and a screenshot of the first
screen.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import websocket

WIDTH, HEIGHT = 1280, 900


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@dataclass
class PageView:
    console_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    dom: str = ""
    measured: Any = None
    screenshot: bytes = b""


class _Session:
    def __init__(self, url: str) -> None:
        self.socket = websocket.create_connection(url, timeout=30, suppress_origin=True)
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        self.socket.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv())
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                result: dict[str, Any] = message.get("result", {})
                return result
            self.events.append(message)

    def wait_for(self, event: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        if any(e.get("method") == event for e in self.events):
            return
        while time.monotonic() < deadline:
            message = json.loads(self.socket.recv())
            self.events.append(message)
            if message.get("method") == event:
                return
        raise TimeoutError(event)


def look(page: Path, expression: str, *, full_page: bool = False) -> PageView:
    """Open `page`; `expression` (JavaScript) is evaluated once it has loaded, its value `measured`. The
    screenshot is the first screen, or with `full_page` the whole page at the same width."""
    binary = chromium()
    assert binary is not None, "chromium is not installed (apt-get install -y chromium)"
    profile = tempfile.mkdtemp(prefix="backstop-chromium-")
    process = subprocess.Popen(
        [
            binary,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--no-first-run",
            "--remote-debugging-port=0",
            f"--user-data-dir={profile}",
            f"--window-size={WIDTH},{HEIGHT}",
            # No network at view time: any host the page names resolves nowhere.
            "--host-resolver-rules=MAP * ~NOTFOUND",
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        port_file = Path(profile) / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not (port_file.is_file() and port_file.read_text().strip()):
            assert time.monotonic() < deadline, "chromium did not open its DevTools port"
            time.sleep(0.05)
        port = port_file.read_text().split()[0]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as answer:
            targets = json.load(answer)
        target = next(t for t in targets if t.get("type") == "page")
        session = _Session(target["webSocketDebuggerUrl"])
        for domain in ("Runtime", "Log", "Network", "Page"):
            session.call(f"{domain}.enable")
        session.call(
            "Emulation.setDeviceMetricsOverride",
            width=WIDTH,
            height=HEIGHT,
            deviceScaleFactor=1,
            mobile=False,
        )
        session.events.clear()
        session.call("Page.navigate", url=page.resolve().as_uri())
        session.wait_for("Page.loadEventFired")
        view = PageView()
        value = session.call("Runtime.evaluate", expression=expression, returnByValue=True)
        view.measured = value.get("result", {}).get("value")
        dom = session.call(
            "Runtime.evaluate", expression="document.documentElement.outerHTML", returnByValue=True
        )
        view.dom = dom["result"]["value"]
        import base64

        if full_page:
            metrics = session.call("Page.getLayoutMetrics")
            height = int(metrics["cssContentSize"]["height"])
            session.call(
                "Emulation.setDeviceMetricsOverride",
                width=WIDTH,
                height=height,
                deviceScaleFactor=1,
                mobile=False,
            )
        shot = session.call("Page.captureScreenshot", format="png")
        view.screenshot = base64.b64decode(shot["data"])
        for event in session.events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                view.console_errors.append(" ".join(str(a.get("value")) for a in params.get("args", [])))
            elif method == "Runtime.exceptionThrown":
                details = params.get("exceptionDetails", {})
                view.console_errors.append(str(details.get("exception", {}).get("description") or details))
            elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
                view.console_errors.append(str(params["entry"].get("text")))
            elif method == "Network.requestWillBeSent":
                view.requests.append(str(params.get("request", {}).get("url")))
        session.socket.close()
        return view
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        shutil.rmtree(profile, ignore_errors=True)


def required() -> bool:
    """CI installs chromium (.ci/run) and must run the page check; elsewhere a missing browser skips it."""
    return os.environ.get("CI", "") not in ("", "0", "false")
