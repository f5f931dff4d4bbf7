"""The rules reference page of the documentation site, written from the rule registry.

Generated so the documented id, severity, seed basis, fix and settings of a rule can never drift from the
code that enforces them: `docs/rules-reference.md` is this module's output, and a test (and the docs
build's hook) fails when the committed page differs. Regenerate it with

    .venv/bin/python -m backstop.policy.reference docs/rules-reference.md
"""

from __future__ import annotations

import sys
from pathlib import Path

from backstop.policy.core import Rule, RuleRegistry, load_rules, target_text
from backstop.policy.targets import PolicyTargets

COMMAND = ".venv/bin/python -m backstop.policy.reference docs/rules-reference.md"


def _escape(text: str) -> str:
    """Text as Markdown shows it verbatim: `<registry>` is not an HTML tag, `*_KEY` not emphasis. Code spans
    (between backticks) are left alone, since Markdown shows them verbatim already."""
    parts = text.split("`")
    for i in range(0, len(parts), 2):
        for raw, shown in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ("*", r"\*")):
            parts[i] = parts[i].replace(raw, shown)
    return "`".join(parts)


def _value(value: object) -> str:
    text = target_text(value)
    return f"`{text}`" if text else "(none)"


def _settings(rule: Rule, prod: PolicyTargets, staging: PolicyTargets) -> list[str]:
    if not rule.tunables:
        return ["Settings: none of its own (every policy takes `environment` and `unknownIsViolation`)."]
    fields = {name: PolicyTargets.model_fields[name] for name in rule.tunables}
    described = any(field.description for field in fields.values())
    lines = ["| setting | prod | staging |" + (" what |" if described else ""), "|---|---|---|"]
    lines[1] += "---|" if described else ""
    for name, field in fields.items():
        row = f"| `{field.alias or name}` | {_value(getattr(prod, name))} "
        row += f"| {_value(getattr(staging, name))} |"
        if described:
            row += f" {_escape(field.description or '').replace('|', '&#124;')} |"
        lines.append(row)
    return lines


def render(registry: RuleRegistry) -> str:
    """The whole page: a summary table, then one section per rule in id order."""
    prod = PolicyTargets.for_environment("prod")
    staging = PolicyTargets.for_environment("staging")
    out = [
        "# Rules reference",
        "",
        "<!-- Generated from the rule registry: do not edit. Regenerate with",
        f"     {COMMAND} -->",
        "",
        f"Every rule backstop registers ({len(registry)}), as `backstop plan`, `backstop check` and the "
        "CrossGuard pack run it: its severity, its level in a prod and a staging stack, the seed line it "
        "holds, the fix (with the prod targets filled in) and the settings a policy config can tune "
        "(camelCase, as in `policies/prod.json`; see [Rules](rules.md) and [Policy pack](policy-pack.md)).",
        "",
        "| rule | severity | prod | staging | checks |",
        "|---|---|---|---|---|",
    ]
    for rule in registry:
        checks = "the whole stack" if rule.scope == "stack" else "each resource"
        out.append(
            f"| [`{rule.id}`](#{rule.id}) | {rule.severity} | {prod.level_for(rule.id)} "
            f"| {staging.level_for(rule.id)} | {checks} |"
        )
    for rule in registry:
        out += ["", f"## `{rule.id}`", ""]
        out.append(
            f"**{rule.severity}** · prod: {prod.level_for(rule.id)} · staging: {staging.level_for(rule.id)}"
        )
        if rule.scope == "stack":
            out.append("· joins the resources of the whole stack (`AnalyzeStack`)")
        else:
            types = ", ".join(f"`{t}`" for t in sorted(rule.resource_types))
            out.append(f"· checks each {types} (`Analyze`)")
        fix = _escape(rule.remediation_for(prod))
        out += ["", _escape(rule.description), "", f"**Fix** (prod): {fix}", ""]
        out += _settings(rule, prod, staging)
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write the page to the path given (`--check`: exit 1 when the file there differs instead)."""
    args = sys.argv[1:] if argv is None else argv
    check = "--check" in args
    paths = [a for a in args if a != "--check"]
    if len(paths) != 1:
        print(f"usage: {COMMAND} [--check]", file=sys.stderr)
        return 2
    page = render(load_rules())
    path = Path(paths[0])
    if check:
        if not path.is_file() or path.read_text(encoding="utf-8") != page:
            print(f"{path}: out of date with the rule registry; regenerate: {COMMAND}", file=sys.stderr)
            return 1
        return 0
    path.write_text(page, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
