"""What every config section shares: the namespace, secret keys, the strict model and checked names."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
)

from backstop.config import names as global_names
from backstop.config.types import (
    ConfigModel,
    parse_duration,
    parse_iso_timespan,
)
from backstop.ground.errors import BackstopError

NAMESPACE = "backstop"
SECTIONS = (
    "environment",
    "nameSuffix",
    "atlas",
    "aws",
    "azure",
    "objectives",
    "drill",
    "app",
    "cloudflare",
    "access",
    "recover",
)
# Secret-only keys and what their value must look like: the Slack incoming webhook (Azure Monitor alerts,
# through the Logic App relay, and `backstop alerts test`) and the Slack bot token Atlas posts with.
SECRET_KEYS = ("slackWebhookUrl", "slackApiToken")
_SECRET_FORMS = {
    "slackWebhookUrl": (("https://",), "an https:// URL"),
    "slackApiToken": (("xoxb-", "xoxp-"), "a Slack bot or user token (xoxb-... or xoxp-...)"),
}
# What an encrypted (`secure: v1:...`) value reads as offline, where it cannot be decrypted.
OFFLINE_SECRET = "[secret]"

Environment = Literal["prod", "staging"]

AzureStorageSku = Literal[
    "Standard_LRS",
    "Standard_ZRS",
    "Standard_GRS",
    "Standard_RAGRS",
    "Standard_GZRS",
    "Standard_RAGZRS",
    "Premium_LRS",
    "Premium_ZRS",
    "StandardV2_LRS",
    "StandardV2_GRS",
    "StandardV2_ZRS",
    "StandardV2_GZRS",
    "PremiumV2_LRS",
    "PremiumV2_ZRS",
]

# Every model below is strict, immutable and camelCase outside (see `backstop.config.types`).
_Model = ConfigModel


class ConfigError(BackstopError):
    """A stack configuration problem, always a single line naming the file and the key path."""


def _service_bus_lock(value: str) -> str:
    """Service Bus refuses a peek-lock longer than 5 minutes."""
    if parse_duration(value) > SERVICE_BUS_MAX_LOCK:
        raise ValueError(f"Service Bus allows a lock of at most PT5M (got {value})")
    return value


_ATLAS_REGION_RE = re.compile(r"^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+$")
_AWS_REGION_RE = re.compile(r"^[a-z]{2}(?:-[a-z]+)+-\d+$")


def _atlas_region(value: str) -> str:
    """Atlas names regions in upper snake case; `us-east-1` would never equal `US_EAST_1` in a comparison."""
    if not _ATLAS_REGION_RE.match(value):
        raise ValueError(f"expected an Atlas region name such as US_EAST_1 (got {value!r})")
    return value


def _aws_region(value: str) -> str:
    if not _AWS_REGION_RE.match(value):
        raise ValueError(f"expected an AWS region code such as us-east-1 (got {value!r})")
    return value


def _checked_name(check: Any) -> Any:
    def validate(value: str) -> str:
        problem = check(value)
        if problem is not None:
            raise ValueError(problem)
        return value

    return AfterValidator(validate)


S3BucketName = Annotated[str, _checked_name(global_names.s3_bucket_problem)]
StorageAccountName = Annotated[str, _checked_name(global_names.storage_account_problem)]
ServiceBusNamespaceName = Annotated[str, _checked_name(global_names.service_bus_namespace_problem)]
NameSuffix = Annotated[str, _checked_name(global_names.suffix_problem)]
AtlasRegion = Annotated[str, AfterValidator(_atlas_region)]
AwsRegion = Annotated[str, AfterValidator(_aws_region)]
# AWS regions where Atlas can place a replica set in only two availability zones (it uses three wherever
# the region has them), so a 3-node replica set there keeps two nodes in one zone.
ATLAS_TWO_ZONE_AWS_REGIONS = frozenset({"US_WEST_1"})
SERVICE_BUS_MAX_LOCK = timedelta(minutes=5)
LockDuration = Annotated[str, AfterValidator(parse_iso_timespan), AfterValidator(_service_bus_lock)]
