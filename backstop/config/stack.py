"""`StackConfig`: the only place backstop reads stack configuration.

The stack files (`Pulumi.prod.yaml`, `Pulumi.staging.yaml`) hold structured values under the `backstop:`
namespace in camelCase, the way Pulumi users write config. Every default is the number the seed documents
write down (see `backstop.ground.seeds`), so an empty section still declares the audited posture. Invalid
values fail before any resource is registered, with one line naming the stack file and the key path.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from typing import Any

from pydantic import (
    ValidationError,
)
from pydantic.alias_generators import to_camel

from backstop.config import names as global_names
from backstop.config.app import AccessConfig, AppConfig, CloudflareConfig, prod_rules
from backstop.config.atlas import AtlasConfig
from backstop.config.aws import AwsConfig, replica_bucket_name
from backstop.config.azure import AzureConfig
from backstop.config.common import (
    _SECRET_FORMS,
    NAMESPACE,
    OFFLINE_SECRET,
    SECRET_KEYS,
    SECTIONS,
    ConfigError,
    Environment,
    NameSuffix,
)
from backstop.config.operations import DrillConfig, ObjectivesConfig, RecoverConfig
from backstop.config.types import (
    ConfigModel,
)
from backstop.ground import seeds


class StackConfig(ConfigModel):
    environment: Environment
    # Appended to every globally unique name (S3 buckets, storage account, Service Bus namespace): a literal,
    # or `auto` for a short hash of the Atlas org id and the environment.
    name_suffix: NameSuffix | None = None
    atlas: AtlasConfig
    aws: AwsConfig
    azure: AzureConfig
    objectives: ObjectivesConfig = ObjectivesConfig()
    drill: DrillConfig = DrillConfig()
    # The application layer (backstop.config.app): App Service, registry, cache, Cloudflare, backup access.
    app: AppConfig | None = None
    cloudflare: CloudflareConfig | None = None
    access: AccessConfig | None = None
    recover: RecoverConfig = RecoverConfig()

    @property
    def is_prod(self) -> bool:
        return self.environment == "prod"

    def with_global_names(self) -> StackConfig:
        """This config with `nameSuffix` applied to every globally unique name (then cleared, so applying
        it twice changes nothing): `<bucket>-<suffix>`, `<account><suffix>`, `<namespace>-<suffix>`, and
        the application layer's apps, registry and cache (`AppConfig.with_name_suffix`)."""
        if self.name_suffix is None:
            return self
        suffix = global_names.resolve_suffix(self.name_suffix, self.atlas.org_id, self.environment)
        aws = self.aws.model_copy(
            update={
                "media_bucket": global_names.with_suffix(self.aws.media_bucket, suffix),
                "export_bucket": global_names.with_suffix(self.aws.export_bucket, suffix),
            }
        )
        storage = self.azure.storage.model_copy(
            update={
                "account_name": global_names.with_suffix(
                    self.azure.storage.account_name, suffix, separator=""
                )
            }
        )
        bus = self.azure.service_bus.model_copy(
            update={"namespace_name": global_names.with_suffix(self.azure.service_bus.namespace_name, suffix)}
        )
        azure = self.azure.model_copy(update={"storage": storage, "service_bus": bus})
        app = self.app.with_name_suffix(suffix) if self.app is not None else None
        return self.model_copy(update={"aws": aws, "azure": azure, "app": app, "name_suffix": None})


def _environment_rules(cfg: StackConfig) -> list[tuple[str, str]]:
    """Rules that depend on the environment: prod is held to the seeds, staging may be cheaper."""
    problems: list[tuple[str, str]] = prod_rules(cfg.app, cfg.cloudflare) if cfg.is_prod else []
    if cfg.atlas.compliance_policy is not None and not cfg.is_prod:
        problems.append(
            (
                "atlas.compliancePolicy",
                "a Backup Compliance Policy is prod-only: it would block drill and staging teardown",
            )
        )
    if cfg.is_prod and cfg.atlas.compliance_policy is None:
        problems.append(("atlas.compliancePolicy", "prod needs a Backup Compliance Policy floor"))
    if cfg.is_prod and cfg.azure.storage.sku not in seeds.GEO_REDUNDANT_SKUS:
        allowed = ", ".join(sorted(seeds.GEO_REDUNDANT_SKUS))
        problems.append(
            (
                "azure.storage.sku",
                f"prod storage must be geo-redundant ({allowed}); got {cfg.azure.storage.sku}",
            )
        )
    problems.extend(_alert_threshold_rules(cfg))
    problems.extend(_global_name_rules(cfg))
    for index, cluster in enumerate(cfg.atlas.clusters):
        if cluster.region == cfg.atlas.backup.copy_region:
            problems.append(
                (
                    f"atlas.clusters[{index}].region",
                    f"cluster {cluster.name} is in {cluster.region}, the same region as the snapshot copy",
                )
            )
    return problems


def snapshot_behind_limit_hours(cfg: StackConfig) -> float:
    """The latest a snapshot-behind alert may fire and still page within the snapshot RPO of a missed
    snapshot: one snapshot interval plus the tightest snapshot RPO (single collection, whole cluster)."""
    rpo = min(cfg.objectives.single_collection.rpo, cfg.objectives.whole_cluster.rpo)
    return cfg.atlas.backup.hourly_interval_hours + rpo.total_seconds() / 3600


def _alert_threshold_rules(cfg: StackConfig) -> list[tuple[str, str]]:
    """A snapshot-behind threshold must not fire on every healthy cycle nor long after the RPO is lost."""
    behind = cfg.atlas.alerts.snapshot_behind_hours
    interval = cfg.atlas.backup.hourly_interval_hours
    key = "atlas.alerts.snapshotBehindHours"
    if behind <= interval:
        return [
            (key, f"{behind} h would fire before every {interval}-hourly snapshot; use more than {interval}")
        ]
    limit = snapshot_behind_limit_hours(cfg)
    if behind > limit:
        return [
            (
                key,
                f"{behind} h fires after the snapshot RPO is long lost; at most {limit:g} h "
                f"({interval} h snapshot interval + the snapshot RPO)",
            )
        ]
    return []


def _global_name_rules(cfg: StackConfig) -> list[tuple[str, str]]:
    """The names as created (suffix applied, and the copy-region replicas of the buckets) still follow
    their cloud's rules; each problem names the key that holds the base name."""
    final = cfg.with_global_names()
    note = " (with nameSuffix)" if cfg.name_suffix else ""
    checks = [
        ("aws.mediaBucket", global_names.s3_bucket_problem(final.aws.media_bucket)),
        ("aws.exportBucket", global_names.s3_bucket_problem(final.aws.export_bucket)),
        ("azure.storage.accountName", global_names.storage_account_problem(final.azure.storage.account_name)),
        (
            "azure.serviceBus.namespaceName",
            global_names.service_bus_namespace_problem(final.azure.service_bus.namespace_name),
        ),
    ]
    for key, bucket in (
        ("aws.mediaBucket", final.aws.media_bucket),
        ("aws.exportBucket", final.aws.export_bucket),
    ):
        replica = replica_bucket_name(bucket, final.aws.replica_region)
        problem = global_names.s3_bucket_problem(replica)
        checks.append((key, f"its copy-region replica {problem}" if problem else None))
    if final.app is not None:
        checks.extend(final.app.global_name_problems())
    return [(key, f"{problem}{note}") for key, problem in checks if problem is not None]


def _key_path(loc: tuple[int | str, ...], *, as_written: bool = False) -> str:
    """`backstop:atlas.clusters[0].electableNodes` from a pydantic error location.

    Errors in defaulted fields carry the Python name; the stack file spells keys in camelCase, except a key
    the operator wrote (`as_written`), which is reported as it is in the file.
    """
    head, *rest = loc if loc else ("",)
    path = f"{NAMESPACE}:{head}"
    for index, part in enumerate(rest):
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            last = index == len(rest) - 1
            path += f".{part if as_written and last else to_camel(part)}"
    return path


def _short_repr(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _error_line(source: str, error: Mapping[str, Any]) -> str:
    loc = tuple(error.get("loc", ()))
    kind = error.get("type")
    message = str(error.get("msg", "invalid value"))
    message = message.removeprefix("Value error, ")
    if kind == "missing":
        message = "is required"
    elif kind == "extra_forbidden":
        message = "is not a known key"
    elif kind in {"model_type", "model_attributes_type", "dict_type"}:
        message = f"expected a structured (object) value (got {_short_repr(error.get('input'))})"
    elif "input" in error and kind != "value_error":
        message += f" (got {_short_repr(error['input'])})"
    return f"{source}: {_key_path(loc, as_written=kind == 'extra_forbidden')}: {message}"


def _check_secret_keys(raw: Mapping[str, Any], secret_keys: Collection[str], source: str) -> None:
    """Secret-only keys must arrive encrypted: a plain-text webhook in a stack file is a leaked credential.

    Messages never repeat the value itself.
    """
    for key in SECRET_KEYS:
        if key not in raw:
            continue
        path = f"{NAMESPACE}:{key}"
        if key not in secret_keys:
            raise ConfigError(
                f"{source}: {path}: must be stored as a secret (`pulumi config set --secret {path} ...`), "
                "not in plain text"
            )
        value = raw[key]
        prefixes, form = _SECRET_FORMS[key]
        if value != OFFLINE_SECRET and not (isinstance(value, str) and value.startswith(prefixes)):
            raise ConfigError(f"{source}: {path}: must be {form}")


def load_stack_config(raw: Mapping[str, Any], source: str, secret_keys: Collection[str] = ()) -> StackConfig:
    """Validate the `backstop:*` values of one stack; raise `ConfigError` with one line on the first problem.

    `raw` maps section names (`atlas`, `aws`…) to their parsed values; `source` is the stack file the values
    came from, named in the error so the operator knows where to look; `secret_keys` are the keys of `raw`
    that were stored encrypted.
    """
    unknown = sorted(set(raw) - set(SECTIONS) - set(SECRET_KEYS))
    if unknown:
        raise ConfigError(f"{source}: {NAMESPACE}:{unknown[0]}: is not a known key")
    _check_secret_keys(raw, secret_keys, source)
    data = {key: value for key, value in raw.items() if key in SECTIONS}
    try:
        cfg = StackConfig.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        line = _error_line(source, errors[0])
        if len(errors) > 1:
            line += f" (and {len(errors) - 1} more)"
        raise ConfigError(line) from None
    problems = _environment_rules(cfg)
    if problems:
        path, message = problems[0]
        raise ConfigError(f"{source}: {NAMESPACE}:{path}: {message}")
    return cfg


def stack_file_name(stack: str) -> str:
    return f"Pulumi.{stack}.yaml"


def from_pulumi_config() -> StackConfig:
    """Read the current stack's `backstop:*` values through the Pulumi SDK (engine or mocks alike)."""
    import pulumi
    from pulumi.runtime.config import (
        CONFIG,
        get_config,
        get_config_env,
        get_config_secret_keys_env,
        is_config_secret,
    )

    source = stack_file_name(pulumi.get_stack())
    raw: dict[str, Any] = {}
    secret: set[str] = set()
    prefix = f"{NAMESPACE}:"
    # The language host may hand config over in the environment rather than through `set_all_config`.
    env_secret_keys = set(get_config_secret_keys_env())
    for key in sorted(set(CONFIG.get()) | set(get_config_env())):
        if not key.startswith(prefix):
            continue
        short = key[len(prefix) :]
        if short not in SECTIONS and short not in SECRET_KEYS:
            raise ConfigError(f"{source}: {key}: is not a known key")
        if is_config_secret(key) or key in env_secret_keys:
            secret.add(short)
        text = get_config(key)
        if short in SECRET_KEYS or short == "environment":
            raw[short] = text
            continue
        try:
            raw[short] = json.loads(text)
        except (json.JSONDecodeError, TypeError):
            raw[short] = text  # not structured: validation names the key and what it got
    return load_stack_config(raw, source, secret)
