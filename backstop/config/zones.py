"""One stack owns each Cloudflare zone's entry-point rulesets, checked across the project's stack files.

Cloudflare keeps one entry-point ruleset per phase per zone: a second stack declaring `kind = "zone"`
rulesets for `http_request_cache_settings` in the same zone fails its first `up`, and destroying either
stack removes the other's Cache Rules. `backstop:cloudflare.ownsEntryPointRulesets` (default true) says
which stack declares them; this refuses two stack files that both would, in one line naming both.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from backstop.config.common import NAMESPACE, ConfigError

OWNER_KEY = "ownsEntryPointRulesets"


def _cloudflare_section(path: Path) -> dict[str, Any] | None:
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return None  # the stack's own file is read (and its errors reported) by `read_stack_file`
    config = document.get("config") if isinstance(document, dict) else None
    section = config.get(f"{NAMESPACE}:cloudflare") if isinstance(config, dict) else None
    return section if isinstance(section, dict) else None


def zone_owners(project_dir: Path) -> dict[str, list[str]]:
    """Each zone id to the stack files (sorted by name) whose stack would own its entry-point rulesets."""
    owners: dict[str, list[str]] = {}
    for path in sorted(Path(project_dir).glob("Pulumi.*.yaml")):
        section = _cloudflare_section(path)
        if section is None or section.get(OWNER_KEY, True) is not True:
            continue
        zone = section.get("zoneId")
        if isinstance(zone, str):
            owners.setdefault(zone, []).append(path.name)
    return owners


def shared_widget_hosts(project_dir: Path, zone_id: str) -> list[tuple[str, str]]:
    """(widget host, path prefix) of the other stacks in `zone_id` that leave its rulesets to the owner:
    the owner's Cache Rules serve their widget assets too."""
    shared: list[tuple[str, str]] = []
    for path in sorted(Path(project_dir).glob("Pulumi.*.yaml")):
        section = _cloudflare_section(path)
        if section is None or section.get(OWNER_KEY, True) is not False or section.get("zoneId") != zone_id:
            continue
        host, prefix = section.get("widgetHost"), section.get("widgetPathPrefix", "/widget/")
        if isinstance(host, str) and isinstance(prefix, str):
            shared.append((host, prefix))
    return shared


def check_zone_owners(project_dir: Path, zone_id: str | None = None) -> None:
    """Raise a one-line `ConfigError` when two stack files would own the same zone's rulesets (only
    `zone_id`'s owners when given: the running stack's zone)."""
    for zone, files in sorted(zone_owners(project_dir).items()):
        if len(files) > 1 and zone_id in (None, zone):
            raise ConfigError(
                f"{', '.join(files)}: {NAMESPACE}:cloudflare.{OWNER_KEY}: each would own the entry-point "
                f"rulesets of zone {zone} (Cloudflare allows one per phase per zone); set it false in all "
                "but one, or give the others their own zone"
            )


def project_dir_of_program() -> Path | None:
    """The directory of the project's stack files: the engine's root directory (where `Pulumi.yaml` is;
    the offline plan sets it to `--project-dir`), else the working directory or its parent."""
    import pulumi

    root = pulumi.get_root_directory()
    if root and Path(root).is_dir():
        return Path(root)
    for candidate in (Path.cwd(), Path.cwd().parent):
        if (candidate / "Pulumi.yaml").is_file():
            return candidate
    return None
