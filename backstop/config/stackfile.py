"""Read `Pulumi.<stack>.yaml` without the Pulumi CLI, for the offline plan and the tests.

Values are handed to the program exactly as the engine would: structured values as JSON text, secrets
marked secret. Encrypted secrets (`secure: v1:...`) cannot be decrypted offline; they reach the program as
`[secret]`, which every rule treats as unknown.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from backstop.config.common import NAMESPACE, OFFLINE_SECRET, ConfigError
from backstop.config.stack import StackConfig, load_stack_config, stack_file_name

__all__ = ["OFFLINE_SECRET", "StackFile", "read_stack_file"]

# libyaml's safe loader when PyYAML was built with it (every wheel on PyPI is): the same documents and
# errors as `yaml.safe_load`, about ten times faster, which every command that reads a stack file feels.
_SAFE_LOADER: type[yaml.SafeLoader] | type[yaml.CSafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class StackFile:
    path: Path
    stack: str
    values: dict[str, Any]
    secret_keys: list[str]

    def engine_config(self) -> dict[str, str]:
        return {
            key: value if isinstance(value, str) else json.dumps(value) for key, value in self.values.items()
        }

    def backstop_sections(self) -> dict[str, Any]:
        prefix = f"{NAMESPACE}:"
        return {key[len(prefix) :]: value for key, value in self.values.items() if key.startswith(prefix)}

    def stack_config(self) -> StackConfig:
        prefix = f"{NAMESPACE}:"
        secret = [key[len(prefix) :] for key in self.secret_keys if key.startswith(prefix)]
        return load_stack_config(self.backstop_sections(), self.path.name, secret)


def read_stack_file(project_dir: Path, stack: str) -> StackFile:
    """Parse one stack file; any problem is a one-line `ConfigError` naming the file."""
    path = Path(project_dir) / stack_file_name(stack)
    if not path.is_file():
        raise ConfigError(f"{path.name}: no such stack file in {Path(project_dir).resolve()}")
    try:
        document = yaml.load(path.read_text(encoding="utf-8"), Loader=_SAFE_LOADER) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise ConfigError(f"{path.name}: not valid YAML{where}") from None
    if not isinstance(document, dict):
        raise ConfigError(f"{path.name}: expected a mapping with a `config:` key")
    config = document.get("config") or {}
    if not isinstance(config, dict):
        raise ConfigError(f"{path.name}: config: expected a mapping of keys to values")
    values: dict[str, Any] = {}
    secret_keys: list[str] = []
    for key, value in config.items():
        if not isinstance(key, str) or ":" not in key:
            raise ConfigError(f"{path.name}: config.{key}: keys must be namespaced, like `{NAMESPACE}:atlas`")
        if isinstance(value, dict) and set(value) == {"secure"}:
            values[key] = OFFLINE_SECRET
            secret_keys.append(key)
        else:
            values[key] = value
    return StackFile(path=path, stack=stack, values=values, secret_keys=secret_keys)
