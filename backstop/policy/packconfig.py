"""`--policy-config FILE` for `backstop plan` and `check`: one file configures the pack and the checker alike.

Two shapes are read:

* the policy pack's own config file, as `pulumi preview --policy-pack-config` takes it
  (`pkg/resource/analyzer/config.go` `parsePolicyPackConfig`): per policy name a level string
  (`"advisory"`) or an object with `enforcementLevel` and that policy's settings; `all` sets a level for
  every policy and nothing else. Settings apply to their own policy only, as CrossGuard hands each policy
  its section. `remediate` is read as mandatory: no backstop policy remediates, so it can only block.
* backstop's flat file of `PolicyTargets` settings (`{"minDailyRetentionDays": 14}`), for every rule.

A file mixing the two, an unknown policy or a setting a policy does not take stops with one line naming it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from backstop.policy.core import Rule
from backstop.policy.targets import LevelName, PolicyConfigError, PolicyTargets

PACK_LEVELS: dict[str, LevelName] = {
    "mandatory": "mandatory",
    "advisory": "advisory",
    "disabled": "disabled",
    "remediate": "mandatory",
}
# Settings every policy takes, whatever its rule reads.
SHARED_SETTINGS = ("environment", "unknown_is_violation")


def _alias(field_name: str) -> str:
    return PolicyTargets.model_fields[field_name].alias or field_name


def setting_fields(rule: Rule) -> list[str]:
    """The `PolicyTargets` fields a rule's policy takes: the shared settings, then the rule's tunables."""
    return list(dict.fromkeys([*SHARED_SETTINGS, *rule.tunables]))


def policy_settings(rule: Rule) -> list[str]:
    """The camelCase settings a rule's policy takes (as its pack config schema lists them)."""
    return [_alias(name) for name in setting_fields(rule)]


def is_pack_config(config: Mapping[str, Any]) -> bool:
    """Policy names are kebab-case (`atlas-pitr-window`), settings camelCase: a dash or `all` means a pack
    config file."""
    return any(key == "all" or "-" in key for key in config)


def _level(value: Any, where: str) -> LevelName:
    if value not in PACK_LEVELS:
        raise PolicyConfigError(f"{where}: must be one of {', '.join(PACK_LEVELS)} (got {value!r})")
    return PACK_LEVELS[value]


def apply_pack_config(
    targets: PolicyTargets, config: Mapping[str, Any], source: str, rules: Iterable[Rule]
) -> PolicyTargets:
    """`targets` with a pack config file's levels and per-policy settings applied."""
    by_id = {rule.id: rule for rule in rules}
    enforcement = targets.enforcement
    levels = dict(targets.levels)
    settings: dict[str, dict[str, Any]] = {}
    if "all" in config:
        value = config["all"]
        if isinstance(value, Mapping):
            extra = sorted(set(value) - {"enforcementLevel"})
            if extra:
                raise PolicyConfigError(
                    f"{source}: all.{extra[0]}: `all` can only set a level (the CLI passes no other setting)"
                )
            value = value.get("enforcementLevel")
        enforcement = _level(value, f"{source}: all")
        levels = {}  # `all` applies to every policy; sections below override it
    for name, value in config.items():
        if name == "all":
            continue
        rule = by_id.get(name)
        if rule is None:
            raise PolicyConfigError(f"{source}: {name}: is not a backstop policy (nor `all`)")
        if isinstance(value, str):
            levels[name] = _level(value, f"{source}: {name}")
            continue
        if not isinstance(value, Mapping):
            raise PolicyConfigError(f"{source}: {name}: expected a level or an object of settings")
        allowed = policy_settings(rule)
        section: dict[str, Any] = {}
        for key, setting in value.items():
            if key == "enforcementLevel":
                levels[name] = _level(setting, f"{source}: {name}.enforcementLevel")
            elif key not in allowed:
                raise PolicyConfigError(
                    f"{source}: {name}.{key}: is not a setting of this policy (it takes {', '.join(allowed)})"
                )
            else:
                section[key] = setting
        if "environment" in section and section["environment"] not in ("prod", "staging"):
            raise PolicyConfigError(
                f"{source}: {name}.environment: must be 'prod' or 'staging' (got {section['environment']!r})"
            )
        if section:
            settings[name] = section
    updated = targets.model_copy(
        update={"enforcement": enforcement, "levels": levels, "policy_settings": settings}
    )
    for name in settings:  # validate each section now, so a bad value stops before any rule runs
        updated.for_rule(name)
    return updated


def apply_policy_config(
    targets: PolicyTargets, config: Mapping[str, Any], source: str, rules: Iterable[Rule]
) -> PolicyTargets:
    """Apply either shape of policy config file (see the module docstring)."""
    rules = list(rules)
    if not is_pack_config(config):
        return targets.with_config(config, source)
    flat = sorted(key for key in config if key != "all" and "-" not in key)
    if flat:
        raise PolicyConfigError(
            f"{source}: {flat[0]}: a pack config file names policies; put this setting in a policy's section"
        )
    return apply_pack_config(targets, config, source, rules)
