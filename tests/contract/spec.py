"""The official Atlas Administration API specification as the contract of the client and of the fake.

`atlas-admin-api-v2-backup.yaml` beside this file is the backup part of the official OpenAPI 3.0 spec,
vendored unchanged; its `info.x-backstop-source` names where it comes from (mongodb/mongodb-atlas-cli
`tools/internal/specs/spec.yaml` at commit 8ddea41a, Apache-2.0). Two adaptations, both made here at load time
and nowhere else:

- the versioned media types (`application/vnd.atlas.YYYY-MM-DD+json`) are JSON, which openapi-core has to be
  told;
- the one `pattern` that uses Unicode property classes (`Group.name`, `^[\\p{L}\\p{N}\\-_.(),:&@+']{1,64}$`),
  which Python's `re` cannot compile, has `\\p{L}\\p{N}` replaced by `\\w`: inside that class, which already
  holds `_`, `\\w` (Unicode letters, numbers and `_`) accepts exactly the same names;
- a polymorphic base schema (`CloudRegionConfig20240805`, `ClusterProviderSettings`, ...) lists its subtypes
  under `oneOf` + `discriminator`, and each subtype is `allOf` the base again. OpenAPI resolves that cycle
  through the discriminator; a JSON Schema validator recurses forever. So each such subtype's `allOf` points
  at a copy of the base without `oneOf`;
- `regionName` (`CloudRegionConfig20240805` and its kin) is declared `type: object` beside a `oneOf` of
  string enums, a slip in the spec: Atlas answers a string such as `US_EAST_1`. Where every alternative of
  a `oneOf` is a string, a sibling `type: object` is dropped;
- every `oneOf` is checked as `anyOf`: the spec's alternatives overlap (an `M10` hardware spec is valid for
  AWS, Azure and GCP alike; `US_WEST_2` is an AWS and an Azure region), and what picks one is the
  discriminator or `providerName`, not exclusivity. A value must still match at least one alternative.

The spec's security schemes (OAuth 2.0 client credentials, HTTP Digest) are not checked by openapi-core;
`check_request` checks that every API request carries one of the two.
"""

from __future__ import annotations

import json
import re
import warnings
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

SPEC_PATH = Path(__file__).with_name("atlas-admin-api-v2-backup.yaml")
SERVER = "https://cloud.mongodb.com"
UNICODE_CLASSES = r"\p{L}\p{N}"


@lru_cache(maxsize=1)
def spec_document() -> dict[str, Any]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    document: dict[str, Any] = yaml.load(SPEC_PATH.read_text(encoding="utf-8"), Loader=loader)
    return document


def media_types() -> list[str]:
    return sorted(set(re.findall(r"application/vnd\.atlas\.\d{4}-\d{2}-\d{2}\+json", SPEC_PATH.read_text())))


def _python_patterns(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            key: value.replace(UNICODE_CLASSES, r"\w")
            if key == "pattern" and isinstance(value, str)
            else _python_patterns(value)
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_python_patterns(item) for item in node]
    return node


def _acyclic_polymorphism(document: dict[str, Any]) -> dict[str, Any]:
    schemas = document["components"]["schemas"]
    for name in [n for n, schema in schemas.items() if "oneOf" in schema and "discriminator" in schema]:
        base = schemas[name]
        own_ref = f"#/components/schemas/{name}"
        subtypes = [option["$ref"].rsplit("/", 1)[-1] for option in base["oneOf"] if "$ref" in option]
        if not any({"$ref": own_ref} in schemas[sub].get("allOf", []) for sub in subtypes):
            continue
        plain = f"{name}__base"
        schemas[plain] = {key: value for key, value in base.items() if key not in ("oneOf", "discriminator")}
        for sub in subtypes:
            schemas[sub]["allOf"] = [
                {"$ref": f"#/components/schemas/{plain}"} if part == {"$ref": own_ref} else part
                for part in schemas[sub].get("allOf", [])
            ]
        base.pop("discriminator")
    return _one_of_as_any_of(document)


def _one_of_as_any_of(node: Any) -> Any:
    if isinstance(node, dict):
        options = node.get("oneOf")
        if (
            node.get("type") == "object"
            and isinstance(options, list)
            and all(isinstance(o, dict) and o.get("type") == "string" for o in options)
        ):
            node = {key: value for key, value in node.items() if key != "type"}
        return {("anyOf" if key == "oneOf" else key): _one_of_as_any_of(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_one_of_as_any_of(item) for item in node]
    return node


@lru_cache(maxsize=1)
def openapi() -> Any:
    from openapi_core import Config, OpenAPI

    config = Config(
        spec_validator_cls=None,
        extra_media_type_deserializers={media: json.loads for media in media_types()},
    )
    return OpenAPI.from_dict(_acyclic_polymorphism(_python_patterns(spec_document())), config=config)


def operation(method: str, template: str) -> dict[str, Any]:
    """The spec's operation object, by method and path template (`/api/atlas/v2/groups/{groupId}`)."""
    result: dict[str, Any] = spec_document()["paths"][template][method.lower()]
    return result


def response_versions(method: str, template: str, status: str = "200") -> list[str]:
    """The media-type versions the spec lists for an operation's response."""
    content = operation(method, template)["responses"].get(status, {}).get("content", {})
    return sorted(content)


@dataclass(frozen=True)
class Exchange:
    """One request the client sent and the answer the fake gave, as the fake recorded them."""

    method: str
    path: str
    query: dict[str, str]
    request_headers: dict[str, str]
    request_body: bytes
    status: int
    response_headers: dict[str, str]
    response_body: bytes


def _request(exchange: Exchange) -> Any:
    from openapi_core.testing import MockRequest

    content_type = exchange.request_headers.get("Content-Type", "application/json").split(";")[0].strip()
    return MockRequest(
        SERVER,
        exchange.method.lower(),
        exchange.path,
        args=exchange.query,
        headers=exchange.request_headers,
        data=exchange.request_body or None,
        content_type=content_type,
    )


def check_request(exchange: Exchange) -> None:
    """Method, path, parameters, media-type version and body of one request, against the spec."""
    auth = exchange.request_headers.get("Authorization", "")
    first_digest_try = not auth  # HTTP Digest's first request carries no credentials, by design
    if not (first_digest_try or auth.startswith(("Digest ", "Bearer "))):
        raise AssertionError(f"{exchange.method} {exchange.path}: Authorization is neither Digest nor Bearer")
    accept = exchange.request_headers.get("Accept", "")
    template, op = find_operation(exchange.method, exchange.path)
    versions = response_versions(exchange.method, template, _success_status(op))
    if accept not in versions:
        raise AssertionError(
            f"{exchange.method} {exchange.path}: Accept {accept!r} is not a version the spec lists "
            f"({', '.join(versions)})"
        )
    if exchange.request_body:
        body_versions = sorted(op.get("requestBody", {}).get("content", {}))
        content_type = exchange.request_headers.get("Content-Type", "")
        if content_type not in body_versions:
            raise AssertionError(f"{exchange.method} {exchange.path}: Content-Type {content_type!r}")
    with warnings.catch_warnings():
        # openapi-core cannot check HTTP Digest or OAuth 2.0; the Authorization check above does.
        warnings.filterwarnings("ignore", message="Unsupported scheme type")
        openapi().validate_request(_request(exchange))


def check_response(exchange: Exchange) -> None:
    """Status, headers and body of one answer, against the spec's response for that status."""
    from openapi_core.testing import MockResponse

    content_type = exchange.response_headers.get("Content-Type", "").split(";")[0].strip()
    response = MockResponse(
        exchange.response_body,
        status_code=exchange.status,
        headers=exchange.response_headers,
        content_type=content_type or None,
    )
    _, op = find_operation(exchange.method, exchange.path)
    if str(exchange.status) not in op["responses"]:
        raise AssertionError(f"{exchange.method} {exchange.path}: HTTP {exchange.status} is not documented")
    if not exchange.response_body:
        return  # 204: nothing to validate beyond the documented status
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Unsupported scheme type")
        openapi().validate_response(_request(exchange), response)


def _success_status(op: dict[str, Any]) -> str:
    return next(status for status in op["responses"] if status.startswith("2"))


@lru_cache(maxsize=1)
def _templates() -> list[tuple[re.Pattern[str], str]]:
    compiled = []
    for template in spec_document()["paths"]:
        regex = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$"
        compiled.append((re.compile(regex), template))
    # The literal segments win over parameters (`/snapshots/shardedClusters` over `/snapshots/{snapshotId}`).
    compiled.sort(key=lambda item: item[1].count("{"))
    return compiled


def find_operation(method: str, path: str) -> tuple[str, dict[str, Any]]:
    for pattern, template in _templates():
        if pattern.match(path) and method.lower() in spec_document()["paths"][template]:
            return template, operation(method, template)
    raise AssertionError(f"{method} {path}: no such operation in the spec")
