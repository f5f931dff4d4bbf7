"""Globally unique names follow their cloud's rules, and `nameSuffix` keeps organisations apart."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backstop.config import load_stack_config
from backstop.config import names as global_names
from backstop.config.stackfile import read_stack_file
from backstop.program.mocks import run_with_mocks, use_mocks
from backstop.program.stack import main as program_main
from tests.conftest import ROOT

# The examples of AWS's "General purpose bucket naming rules".
VALID_BUCKETS = ["docexamplebucket1", "log-delivery-march-2020", "my-hosted-content", "example.com.logs"]
INVALID_BUCKETS = {
    "doc_example_bucket": "hold only lowercase letters",
    "DocExampleBucket": "hold only lowercase letters",
    "doc-example-bucket-": "begins and ends with a letter or digit",
    "ab": "is 2 characters",
    "a" * 64: "is 64 characters",
    "my..bucket": "no two adjacent periods",
    "192.168.5.4": "IP address",
    "xn--bucket": "reserves the prefix 'xn--'",
    "sthree-bucket": "reserves the prefix 'sthree-'",
    "amzn-s3-demo-bucket": "reserves the prefix 'amzn-s3-demo-'",
    "bucket-s3alias": "reserves the suffix '-s3alias'",
    "bucket.mrap": "reserves the suffix '.mrap'",
    "bucket--x-s3": "reserves the suffix '--x-s3'",
    "bucket--table-s3": "reserves the suffix '--table-s3'",
}


@pytest.mark.parametrize("name", VALID_BUCKETS)
def test_valid_bucket_names_pass(name: str) -> None:
    assert global_names.s3_bucket_problem(name) is None


@pytest.mark.parametrize(("name", "why"), INVALID_BUCKETS.items(), ids=list(INVALID_BUCKETS))
def test_invalid_bucket_names_say_why(name: str, why: str) -> None:
    problem = global_names.s3_bucket_problem(name)
    assert problem is not None and why in problem


@pytest.mark.parametrize(
    ("name", "ok"),
    [
        ("wiserprodmedia", True),
        ("abc", True),
        ("a" * 24, True),
        ("ab", False),
        ("a" * 25, False),
        ("Wiserprod", False),
        ("wiser-prod", False),
    ],
)
def test_storage_account_names(name: str, ok: bool) -> None:
    assert (global_names.storage_account_problem(name) is None) is ok


@pytest.mark.parametrize(
    ("name", "ok"),
    [
        ("wiser-prod-messaging", True),
        ("Abcdef", True),
        ("a" * 50, True),
        ("abcde", False),
        ("a" * 51, False),
        ("1abcdef", False),
        ("wiser_prod", False),
        ("wiser-prod-", False),
        ("wiser-prod-sb", False),
        ("wiser-prod-mgmt", False),
    ],
)
def test_service_bus_namespace_names(name: str, ok: bool) -> None:
    assert (global_names.service_bus_namespace_problem(name) is None) is ok


@pytest.mark.parametrize(
    ("name", "ok"),
    [
        ("wiser-prod-app", True),
        ("ab", True),
        ("a" * 60, True),
        ("a", False),
        ("a" * 61, False),
        ("-wiser", False),
        ("wiser-", False),
        ("wiser_app", False),
        ("wiser.app", False),
    ],
)
def test_web_app_names(name: str, ok: bool) -> None:
    assert (global_names.web_app_problem(name) is None) is ok


@pytest.mark.parametrize(
    ("name", "ok"),
    [
        ("wiserprodacr", True),
        ("Acr01", True),
        ("a" * 50, True),
        ("acr1", False),
        ("a" * 51, False),
        ("wiser-acr", False),
    ],
)
def test_container_registry_names(name: str, ok: bool) -> None:
    assert (global_names.container_registry_problem(name) is None) is ok


@pytest.mark.parametrize(
    ("name", "ok"),
    [
        ("wiser-prod-cache", True),
        ("c", True),
        ("a" * 63, True),
        ("a" * 64, False),
        ("-cache", False),
        ("cache-", False),
        ("wiser_cache", False),
    ],
)
def test_redis_cache_names(name: str, ok: bool) -> None:
    assert (global_names.redis_cache_problem(name) is None) is ok


def _looks_like_ipv4(name: str) -> bool:
    parts = name.split(".")
    return len(parts) == 4 and all(part.isdigit() and 1 <= len(part) <= 3 for part in parts)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789.-_A", max_size=70))
def test_a_bucket_name_passes_only_if_every_rule_holds(name: str) -> None:
    ok = (
        3 <= len(name) <= 63
        and set(name) <= set("abcdefghijklmnopqrstuvwxyz0123456789.-")
        and name[0].isalnum()
        and name[-1].isalnum()
        and ".." not in name
        and not _looks_like_ipv4(name)
        and not name.startswith(global_names.S3_RESERVED_PREFIXES)
        and not name.endswith(global_names.S3_RESERVED_SUFFIXES)
    )
    assert (global_names.s3_bucket_problem(name) is None) is ok


def _shipped(stack: str) -> dict[str, Any]:
    return copy.deepcopy(read_stack_file(ROOT, stack).backstop_sections())


@pytest.mark.parametrize("stack", ["prod", "staging"])
def test_auto_suffix_is_stable_per_organisation_and_differs_between_them(stack: str) -> None:
    raw = {**_shipped(stack), "nameSuffix": "auto"}
    first = load_stack_config(raw, f"Pulumi.{stack}.yaml").with_global_names()
    again = load_stack_config(raw, f"Pulumi.{stack}.yaml").with_global_names()
    other_org = copy.deepcopy(raw)
    other_org["atlas"]["orgId"] = "5f0a1b2c3d4e5f6a7b8c9dff"
    other = load_stack_config(other_org, f"Pulumi.{stack}.yaml").with_global_names()
    suffix = first.aws.media_bucket.rsplit("-", 1)[1]
    assert len(suffix) == 6
    assert first.aws.media_bucket == again.aws.media_bucket == f"cartie-{stack}-media-{suffix}"
    assert first.aws.export_bucket == f"cartie-{stack}-atlas-exports-{suffix}"
    assert first.azure.storage.account_name == f"wiser{stack}media{suffix}"
    assert first.azure.service_bus.namespace_name == f"wiser-{stack}-messaging-{suffix}"
    assert first.app is not None
    assert [app.name for app in first.app.apps] == [f"wiser-{stack}-app-{suffix}"]
    assert first.app.registry.name == f"wiser{stack}acr{suffix}"
    assert first.app.redis.name == f"wiser-{stack}-cache-{suffix}"
    assert other.aws.media_bucket != first.aws.media_bucket
    assert first.with_global_names() == first  # applied once


GLOBALLY_NAMED = {
    "media",
    "media-replica",
    "atlas-exports",
    "atlas-exports-replica",
    "media-blobs",
    "messaging",
    "wiser-staging-app-acme",  # an app's Pulumi name is its name as created
    "images",
    "cache",
}


def test_the_program_creates_the_suffixed_names() -> None:
    stack_file = read_stack_file(ROOT, "staging")
    config = {**stack_file.engine_config(), "backstop:nameSuffix": "acme"}
    monitor = use_mocks(stack="staging", config=config, secret_keys=stack_file.secret_keys)
    run = run_with_mocks(program_main, stack="staging", monitor=monitor)
    physical = {
        r.name: r.props.get("bucket")
        or r.props.get("accountName")
        or r.props.get("namespaceName")
        or r.props.get("registryName")
        or r.props.get("clusterName")
        or r.props.get("name")
        for r in run.resources
        if r.custom and r.name in GLOBALLY_NAMED
    }
    assert physical == {
        "media": "cartie-staging-media-acme",
        "media-replica": "cartie-staging-media-acme-us-west-2",
        "atlas-exports": "cartie-staging-atlas-exports-acme",
        "atlas-exports-replica": "cartie-staging-atlas-exports-acme-us-west-2",
        "media-blobs": "wiserstagingmediaacme",
        "messaging": "wiser-staging-messaging-acme",
        "wiser-staging-app-acme": "wiser-staging-app-acme",
        "images": "wiserstagingacracme",
        "cache": "wiser-staging-cache-acme",
    }
