"""Names that are global across every customer of a cloud: S3 buckets, Azure storage accounts, Service
Bus namespaces, App Service apps (`<name>.azurewebsites.net`), container registries (`<name>.azurecr.io`)
and Redis caches (`<name>.redis.cache.windows.net`). Each checker returns why a name breaks its cloud's
naming rules, or None.

The rules are the clouds' own: AWS "General purpose bucket naming rules"; Azure "Naming rules and
restrictions for Azure resources": storage accounts 3-24 lowercase letters and digits; Service Bus
namespaces 6-50 characters, a letter first, letters, digits and hyphens, not ending in `-`, `-sb` or
`-mgmt`; sites 2-60 letters, digits and hyphens, no hyphen first or last; registries 5-50 letters and
digits; Redis caches 1-63 letters, digits and hyphens, a letter or digit first and last. Even a valid name
can be taken by someone else, which only the cloud can tell; `nameSuffix` makes a collision with another
organisation using the same example names impossible.
"""

from __future__ import annotations

import hashlib
import re

_S3_CHARS = re.compile(r"^[a-z0-9.-]+$")
_IPV4 = re.compile(r"^\d{1,3}(\.\d{1,3}){3}$")
S3_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
S3_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")
_STORAGE_ACCOUNT = re.compile(r"^[a-z0-9]{3,24}$")
_SERVICE_BUS = re.compile(r"^[A-Za-z][A-Za-z0-9-]*$")
SERVICE_BUS_RESERVED_SUFFIXES = ("-", "-sb", "-mgmt")
# Letters, digits and '-', a letter or digit first and last: App Service apps and Redis caches alike.
_HYPHENATED = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$")
_REGISTRY = re.compile(r"^[A-Za-z0-9]{5,50}$")
_SUFFIX = re.compile(r"^[a-z0-9]{1,8}$")
AUTO_SUFFIX = "auto"


def s3_bucket_problem(name: str) -> str | None:
    if not 3 <= len(name) <= 63:
        return f"{name!r} is {len(name)} characters; S3 bucket names have 3-63"
    if not _S3_CHARS.match(name):
        return f"{name!r}: S3 bucket names hold only lowercase letters, digits, '.' and '-'"
    if not (name[0].isalnum() and name[-1].isalnum()):
        return f"{name!r}: an S3 bucket name begins and ends with a letter or digit"
    if ".." in name:
        return f"{name!r}: an S3 bucket name has no two adjacent periods"
    if _IPV4.match(name):
        return f"{name!r}: an S3 bucket name must not look like an IP address"
    for prefix in S3_RESERVED_PREFIXES:
        if name.startswith(prefix):
            return f"{name!r}: S3 reserves the prefix {prefix!r}"
    for suffix in S3_RESERVED_SUFFIXES:
        if name.endswith(suffix):
            return f"{name!r}: S3 reserves the suffix {suffix!r}"
    return None


def storage_account_problem(name: str) -> str | None:
    if not _STORAGE_ACCOUNT.match(name):
        return f"{name!r}: storage account names have 3-24 lowercase letters and digits only"
    return None


def service_bus_namespace_problem(name: str) -> str | None:
    if not 6 <= len(name) <= 50:
        return f"{name!r} is {len(name)} characters; Service Bus namespace names have 6-50"
    if not _SERVICE_BUS.match(name):
        return (
            f"{name!r}: a Service Bus namespace name starts with a letter and holds letters, digits and '-'"
        )
    for suffix in SERVICE_BUS_RESERVED_SUFFIXES:
        if name.endswith(suffix):
            return f"{name!r}: a Service Bus namespace name must not end with {suffix!r}"
    return None


def web_app_problem(name: str) -> str | None:
    if not 2 <= len(name) <= 60:
        return f"{name!r} is {len(name)} characters; App Service app names have 2-60"
    if not _HYPHENATED.match(name):
        return f"{name!r}: an App Service app name holds letters, digits and '-', not first or last"
    return None


def container_registry_problem(name: str) -> str | None:
    if not _REGISTRY.match(name):
        return f"{name!r}: container registry names have 5-50 letters and digits only"
    return None


def redis_cache_problem(name: str) -> str | None:
    if not 1 <= len(name) <= 63:
        return f"{name!r} is {len(name)} characters; Redis cache names have 1-63"
    if not _HYPHENATED.match(name):
        return f"{name!r}: a Redis cache name holds letters, digits and '-', not first or last"
    return None


def suffix_problem(suffix: str) -> str | None:
    if suffix != AUTO_SUFFIX and not _SUFFIX.match(suffix):
        return f"{suffix!r}: expected 1-8 lowercase letters and digits, or {AUTO_SUFFIX!r}"
    return None


def resolve_suffix(suffix: str, *seeds: str) -> str:
    """`auto` becomes 6 hex characters of a hash of `seeds` (the Atlas org id and the environment): stable
    for one organisation's stack, different for every other organisation."""
    if suffix != AUTO_SUFFIX:
        return suffix
    return hashlib.sha256("/".join(seeds).encode()).hexdigest()[:6]


def with_suffix(name: str, suffix: str | None, *, separator: str = "-") -> str:
    return f"{name}{separator}{suffix}" if suffix else name
