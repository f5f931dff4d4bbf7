"""Read-only AWS calls `backstop status` makes, over boto3: KMS, S3 and CloudWatch.

Credentials and endpoints come from boto3's own chain (environment, profile, SSO, instance role;
`AWS_ENDPOINT_URL` for a local stand-in). Each call runs under botocore's standard retry mode with a
bounded number of attempts, so a throttled API costs at most that many tries; past them the call fails
as `CloudCallError(kind="throttled")`. Every other failure is one line naming the call and the IAM action
it needs, never a traceback. Nothing here writes.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from backstop.clients.cloud import CloudCallError, FailureKind

# Standard retry mode: exponential backoff with jitter, throttling errors retried, at most this many tries
# in all, the first included (botocore's `total_max_attempts`; its `max_attempts` counts retries only).
MAX_ATTEMPTS = 4
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 20.0
_THROTTLED = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestLimitExceeded",
        "SlowDown",
        "TooManyRequestsException",
        "RequestThrottled",
        "RequestThrottledException",
    }
)
_DENIED = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "UnauthorizedOperation",
        "InvalidClientTokenId",
        "ExpiredToken",
        "ExpiredTokenException",
        "SignatureDoesNotMatch",
        "UnrecognizedClientException",
    }
)
_NOT_FOUND = frozenset({"NotFoundException", "NoSuchBucket", "NoSuchKey", "ResourceNotFoundException"})


class AwsReader:
    """One boto3 session; a client per (service, region), made on first use and shared by the threads
    (boto3 clients are thread-safe; sessions are not, so they are only made under the lock)."""

    def __init__(self, env: Mapping[str, str] | None = None, max_attempts: int = MAX_ATTEMPTS) -> None:
        import threading

        import boto3

        env = os.environ if env is None else env
        self._session = boto3.session.Session(
            aws_access_key_id=env.get("AWS_ACCESS_KEY_ID") or None,
            aws_secret_access_key=env.get("AWS_SECRET_ACCESS_KEY") or None,
            aws_session_token=env.get("AWS_SESSION_TOKEN") or None,
            profile_name=env.get("AWS_PROFILE") or None,
        )
        # A local stand-in (moto) or a VPC endpoint; boto3 reads the same variable from os.environ.
        self._endpoint = env.get("AWS_ENDPOINT_URL") or None
        self._clients: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()
        self.max_attempts = max_attempts

    def client(self, service: str, region: str) -> Any:
        from botocore.config import Config

        with self._lock:
            key = (service, region)
            if key not in self._clients:
                config = Config(
                    region_name=region,
                    retries={"mode": "standard", "total_max_attempts": self.max_attempts},
                    connect_timeout=CONNECT_TIMEOUT,
                    read_timeout=READ_TIMEOUT,
                    s3={"addressing_style": "path"} if self._endpoint else None,
                )
                self._clients[key] = self._session.client(service, config=config, endpoint_url=self._endpoint)
            return self._clients[key]

    def call(self, service: str, region: str, operation: str, action: str, **params: Any) -> dict[str, Any]:
        """`client.operation(**params)`; failures become one `CloudCallError` line naming `action`."""
        from botocore.exceptions import (
            BotoCoreError,
            ClientError,
            EndpointConnectionError,
            NoCredentialsError,
            PartialCredentialsError,
        )

        what = f"AWS {action} ({region})"
        try:
            answer: dict[str, Any] = getattr(self.client(service, region), operation)(**params)
            return answer
        except ClientError as error:
            code = str(error.response.get("Error", {}).get("Code", ""))
            status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            message = " ".join(str(error.response.get("Error", {}).get("Message", "")).split())[:200]
            kind: FailureKind = "error"
            if code in _THROTTLED or status == 429:
                kind = "throttled"
                message = f"still throttled after {self.max_attempts} attempts ({code})"
            elif code in _DENIED or status == 403:
                kind = "denied"
                message = f"{code}: needs IAM permission {action}"
            elif code in _NOT_FOUND or status == 404:
                kind = "not-found"
            raise CloudCallError(f"{what}: {message or code}", kind, status) from None
        except (NoCredentialsError, PartialCredentialsError) as error:
            raise CloudCallError(f"{what}: no AWS credentials: {error}", "no-credentials") from None
        except EndpointConnectionError as error:
            raise CloudCallError(f"{what}: cannot connect: {error}", "unreachable") from None
        except BotoCoreError as error:
            raise CloudCallError(f"{what}: {' '.join(str(error).split())[:200]}", "unreachable") from None


def as_datetime(value: Any) -> datetime | None:
    """boto3 parses timestamps into aware datetimes already; anything else is None."""
    return value if isinstance(value, datetime) else None
