"""`backstop rules list`: every registered rule, its severity, the seed line it holds, its level in a prod
and a staging stack and the settings a policy config can tune, with their defaults.

Read from the registry and `PolicyTargets` at run time, as `docs/rules-reference.md` is written, so the
list cannot drift from what `plan`, `check` and the CrossGuard pack enforce.
"""

from __future__ import annotations

import argparse
import re
from typing import Any

from backstop.ground.envelope import json_document
from backstop.ground.errors import EXIT_OK
from backstop.policy.core import Rule, load_rules, target_text
from backstop.policy.targets import PolicyTargets

# The seed line a description opens with ends at the first sentence break after a closing quote or
# parenthesis: "…: 'Minimum 3-node replica sets …'. A cluster with …".
_SEED_END = re.compile(r"(?<=['\u2019)])\.\s+(?=[A-Z])")


def seed_line(description: str) -> str:
    """The description's opening citation of the seed documents (all of it when it has no break)."""
    match = _SEED_END.search(description)
    return description[: match.start() + 1] if match else description


def _json_value(value: Any) -> Any:
    """Settings as JSON spells them: tuples as lists, everything else as pydantic keeps it."""
    if isinstance(value, tuple | list | frozenset | set):
        return [_json_value(v) for v in value]
    return value


def rule_entry(rule: Rule, prod: PolicyTargets, staging: PolicyTargets) -> dict[str, Any]:
    settings = []
    for name in rule.tunables:
        field = PolicyTargets.model_fields[name]
        settings.append(
            {
                "name": field.alias or name,
                "prod": _json_value(getattr(prod, name)),
                "staging": _json_value(getattr(staging, name)),
                "description": field.description,
            }
        )
    return {
        "id": rule.id,
        "severity": str(rule.severity),
        "levels": {"prod": prod.level_for(rule.id), "staging": staging.level_for(rule.id)},
        "scope": rule.scope,
        "resourceTypes": sorted(rule.resource_types),
        "seed": seed_line(rule.description),
        "description": rule.description,
        "remediation": rule.remediation_for(prod),
        "settings": settings,
    }


def entries() -> list[dict[str, Any]]:
    prod = PolicyTargets.for_environment("prod")
    staging = PolicyTargets.for_environment("staging")
    return [rule_entry(rule, prod, staging) for rule in load_rules()]


def _settings_text(entry: dict[str, Any]) -> str:
    parts = []
    for s in entry["settings"]:
        prod, staging = target_text(s["prod"]) or "(none)", target_text(s["staging"]) or "(none)"
        parts.append(f"{s['name']}={prod}" + (f" (staging {staging})" if staging != prod else ""))
    return ", ".join(parts) or "none"


def render_text(rules: list[dict[str, Any]]) -> str:
    lines = [f"{len(rules)} rules (levels prod/staging; settings with their prod defaults)"]
    for e in rules:
        lines.append(f"{e['id']}  {e['severity']}  {e['levels']['prod']}/{e['levels']['staging']}")
        lines.append(f"    seed: {e['seed']}")
        lines.append(f"    settings: {_settings_text(e)}")
    return "\n".join(lines)


def render_markdown(rules: list[dict[str, Any]]) -> str:
    lines = [
        "| rule | severity | prod | staging | seed | settings (prod default) |",
        "|---|---|---|---|---|---|",
    ]
    for e in rules:
        seed = e["seed"].replace("|", "\\|")
        settings = _settings_text(e).replace("|", "\\|")
        lines.append(
            f"| `{e['id']}` | {e['severity']} | {e['levels']['prod']} | {e['levels']['staging']} "
            f"| {seed} | {settings} |"
        )
    return "\n".join(lines)


def _cmd_list(args: argparse.Namespace) -> int:
    rules = entries()
    if args.format == "json":
        print(json_document("rules list", {"count": len(rules), "rules": rules}))
    elif args.format == "markdown":
        print(render_markdown(rules))
    else:
        print(render_text(rules))
    return EXIT_OK


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    rules = sub.add_parser("rules", help="the rules backstop enforces")
    commands = rules.add_subparsers(dest="rules_command", required=True)
    show = commands.add_parser(
        "list", help="every rule: severity, seed line, prod/staging level, settings with their defaults"
    )
    show.add_argument("--format", choices=["text", "json", "markdown"], default="text")
    show.set_defaults(handler=_cmd_list)
