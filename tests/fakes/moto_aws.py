"""moto in server mode on a free 127.0.0.1 port: the real AWS wire protocols (KMS JSON, S3 REST-XML,
CloudWatch JSON 1.0) answered by moto's models, reached by boto3 exactly as it reaches AWS.

moto answers every call it models; it has no way to refuse one. `fault_proxy` puts a local endpoint in
front of it that answers chosen calls with AWS's own errors (AccessDeniedException, SlowDown, Throttling)
in each protocol's wire shape, so botocore parses and retries them as it would AWS's."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3

CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def moto_server() -> Iterator[dict[str, str]]:
    """A running moto server; yields the environment `backstop status` needs to reach it."""
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield {**CREDENTIALS, "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}"}
    finally:
        server.stop()


def client(env: dict[str, str], service: str, region: str) -> Any:
    """A boto3 client for the test's own setup calls against the same server."""
    from botocore.config import Config

    return boto3.client(
        service,
        region_name=region,
        endpoint_url=env["AWS_ENDPOINT_URL"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        config=Config(s3={"addressing_style": "path"}),
    )


@dataclass
class Fault:
    """An AWS error answered, instead of moto, to every request `matches` picks, in the wire shape of its
    protocol; `seen` counts them (botocore's retries included)."""

    matches: Callable[[str, str, Mapping[str, str]], bool]
    status: int
    body: bytes
    headers: dict[str, str]
    seen: int = 0


def kms_denied(operation: str, action: str) -> Fault:
    """KMS (JSON 1.1 over `X-Amz-Target: TrentService.<operation>`): 400 AccessDeniedException, as IAM
    answers a caller without `action`."""
    message = (
        f"User: arn:aws:iam::123456789012:user/status is not authorized to perform: {action} because no "
        f"identity-based policy allows the {action} action"
    )
    return Fault(
        lambda method, path, headers: headers.get("X-Amz-Target") == f"TrentService.{operation}",
        400,
        json.dumps({"__type": "AccessDeniedException", "message": message}).encode(),
        {"Content-Type": "application/x-amz-json-1.1", "x-amzn-RequestId": "denied-0001"},
    )


def s3_slow_down(bucket: str, query: str) -> Fault:
    """S3 (REST-XML): 503 SlowDown on `GET /<bucket>?...<query>...` (path-style), S3's throttling answer."""
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDown</Code>'
        "<Message>Please reduce your request rate.</Message><RequestId>slow-0001</RequestId></Error>"
    )
    return Fault(
        lambda method, path, headers: (
            method == "GET" and path.split("?")[0] == f"/{bucket}" and query in path.partition("?")[2]
        ),
        503,
        body.encode(),
        {"Content-Type": "application/xml", "x-amz-request-id": "slow-0001"},
    )


def cloudwatch_throttled(operation: str) -> Fault:
    """CloudWatch as botocore speaks it (AWS JSON 1.0, `X-Amz-Target: GraniteServiceVersion20100801.<op>`,
    query-compatible): 400 Throttling, with the `x-amzn-query-error` header AWS sends beside it."""
    target = f"GraniteServiceVersion20100801.{operation}"
    return Fault(
        lambda method, path, headers: headers.get("X-Amz-Target") == target,
        400,
        json.dumps({"__type": "com.amazonaws.cloudwatch#Throttling", "message": "Rate exceeded"}).encode(),
        {
            "Content-Type": "application/x-amz-json-1.0",
            "x-amzn-query-error": "Throttling;Sender",
            "x-amzn-RequestId": "throttled-0001",
        },
    )


@contextmanager
def fault_proxy(env: dict[str, str], faults: list[Fault]) -> Iterator[dict[str, str]]:
    """A local endpoint in front of the moto server: each request a fault picks gets that fault's answer,
    every other one is forwarded to moto unchanged. Yields the environment that points boto3 at it."""
    import http.client
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from urllib.parse import urlsplit

    upstream = urlsplit(env["AWS_ENDPOINT_URL"])
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {key: value for key, value in self.headers.items()}
            fault = next((f for f in faults if f.matches(self.command, self.path, headers)), None)
            if fault is not None:
                with lock:
                    fault.seen += 1
                status, answer, reply_headers = fault.status, fault.body, dict(fault.headers)
            else:
                connection = http.client.HTTPConnection(upstream.hostname, upstream.port, timeout=30)
                try:
                    connection.request(self.command, self.path, body=body, headers=headers)
                    response = connection.getresponse()
                    status, answer = response.status, response.read()
                    skip = {"content-length", "transfer-encoding", "connection"}
                    reply_headers = {k: v for k, v in response.getheaders() if k.lower() not in skip}
                finally:
                    connection.close()
            self.send_response(status)
            for key, value in reply_headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(answer)

        do_GET = do_POST = do_PUT = do_HEAD = do_DELETE = _answer

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield {**env, "AWS_ENDPOINT_URL": f"http://127.0.0.1:{server.server_address[1]}"}
    finally:
        server.shutdown()
        server.server_close()
