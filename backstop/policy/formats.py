"""Render a rule `Report` as text, JSON, SARIF 2.1.0, JUnit XML or Markdown.

SARIF is what GitHub code scanning ingests (mandatory -> `error`, advisory -> `warning`, unknowns -> `note`);
JUnit lets any CI show one test per rule; Markdown goes to a job summary or a pull-request comment.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from xml.etree import ElementTree as ET

from backstop.ground import tokens
from backstop.ground.resources import name_of
from backstop.policy.core import Report, Violation

FORMATS = ("text", "json", "sarif", "junit", "markdown")
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/backstop-dr/backstop"


def _sarif_level(violation: Violation) -> str:
    if violation.unknown and violation.level != "mandatory":
        return "note"
    return "error" if violation.level == "mandatory" else "warning"


def _resource_label(urn: str) -> str:
    if not urn:
        return "(stack)"
    parts = urn.split("::")
    token = parts[2].split("$")[-1] if len(parts) > 2 else ""
    return f"{tokens.short_name(token)} {name_of(urn)}" if token else name_of(urn)


def scope_line(report: Report) -> str:
    """ "N of M resources are of a type backstop checks", and a warning when that is none of them."""
    line = f"{report.checked_count} of {report.resource_count} resources are of a type backstop checks"
    if report.checked_count == 0:
        line += ": nothing in this document was checked, so a pass here proves nothing"
    return line


def render_json(report: Report, source: str) -> str:
    return json.dumps(
        {
            "violations": [v.as_dict() for v in report.violations],
            "summary": {
                **report.summary(),
                "source": source,
                "exitCode": report.exit_code,
                "notes": list(report.notes),
            },
        },
        indent=2,
    )


def render_text(report: Report, source: str) -> str:
    summary = report.summary()
    lines = [
        f"backstop: {summary['rules']} rules over {summary['resources']} resources of stack "
        f"{report.stack or '?'} ({report.environment} targets) from {source}",
        f"  {scope_line(report)}",
        *(f"  note: {note}" for note in report.notes),
    ]
    for violation in report.violations:
        marker = {"mandatory": "FAIL", "advisory": "WARN"}.get(violation.level, violation.level.upper())
        if violation.unknown:
            marker += "?"
        lines.append(
            f"  [{marker}] {violation.policy} ({violation.severity}) {_resource_label(violation.urn)}"
        )
        lines.append(f"         {violation.message}")
        lines.append(f"         fix: {violation.remediation}")
    verdict = "FAILED" if report.exit_code else "PASSED"
    lines.append(
        f"{verdict}: {summary['mandatory']} mandatory, {summary['advisory']} advisory "
        f"({summary['unknown']} unknown at preview); {summary['rulesPassed']}/{summary['rules']} rules "
        f"clean; {report.checked_count}/{report.resource_count} resources checked"
    )
    return "\n".join(lines)


def render_markdown(report: Report, source: str) -> str:
    summary = report.summary()
    verdict = "❌ mandatory violations" if report.exit_code else "✅ no mandatory violation"
    lines = [
        f"### backstop: stack `{report.stack or '?'}` — {verdict}",
        "",
        f"{summary['rules']} rules, {summary['resources']} resources, source `{source}`, "
        f"{report.environment} targets.",
        f"{scope_line(report)}.",
        *(f"\n> {note}" for note in report.notes),
        "",
        "| mandatory | advisory | unknown at preview | rules clean |",
        "|---:|---:|---:|---:|",
        f"| {summary['mandatory']} | {summary['advisory']} | {summary['unknown']} | "
        f"{summary['rulesPassed']}/{summary['rules']} |",
    ]
    if report.violations:
        lines += ["", "| level | rule | severity | resource | finding |", "|---|---|---|---|---|"]
        for v in report.violations:
            message = v.message.replace("|", "\\|")
            lines.append(
                f"| {v.level} | `{v.policy}` | {v.severity} | `{_resource_label(v.urn)}` | {message} |"
            )
    return "\n".join(lines) + "\n"


def render_sarif(report: Report, source: str) -> str:
    rules: list[dict[str, Any]] = []
    index: dict[str, int] = {}
    # A rule's help states the targets it ran with, as its violations do (the environment's defaults when
    # it has none).
    from backstop.policy.targets import PolicyTargets

    tuned = {v.policy: v.remediation for v in report.violations}
    defaults = PolicyTargets.for_environment("staging" if report.environment == "staging" else "prod")
    for rule in report.rules:
        index[rule.id] = len(rules)
        fix = tuned.get(rule.id) or rule.remediation_for(defaults)
        rules.append(
            {
                "id": rule.id,
                "name": rule.id,
                "shortDescription": {"text": rule.description.split(". ")[0][:200]},
                "fullDescription": {"text": rule.description},
                "help": {"text": fix, "markdown": f"**Remediation:** {fix}"},
                "defaultConfiguration": {"level": "error"},
                "properties": {"severity": str(rule.severity), "tags": ["backup", "disaster-recovery"]},
            }
        )
    results = []
    for v in report.violations:
        result: dict[str, Any] = {
            "ruleId": v.policy,
            "level": _sarif_level(v),
            "message": {"text": f"{_resource_label(v.urn)}: {v.message}"},
            "locations": [
                {
                    "physicalLocation": {"artifactLocation": {"uri": source}, "region": {"startLine": 1}},
                    "logicalLocations": [{"fullyQualifiedName": v.urn or report.stack, "kind": "resource"}],
                }
            ],
            "partialFingerprints": {"backstopUrn": f"{v.policy}:{v.urn}"},
            "properties": {"enforcementLevel": v.level, "severity": str(v.severity), "unknown": v.unknown},
        }
        if v.policy in index:
            result["ruleIndex"] = index[v.policy]
        results.append(result)
    document = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": {"name": "backstop", "informationUri": INFORMATION_URI, "rules": rules}},
                "automationDetails": {"id": f"backstop/{report.stack or 'stack'}/"},
                "results": results,
            }
        ],
    }
    return json.dumps(document, indent=2)


def render_junit(report: Report, source: str) -> str:
    by_rule: dict[str, list[Violation]] = {}
    for v in report.violations:
        by_rule.setdefault(v.policy, []).append(v)
    failures = sum(
        1 for rule in report.rules if any(v.level == "mandatory" for v in by_rule.get(rule.id, []))
    )
    suite = ET.Element(
        "testsuite",
        name=f"backstop.{report.stack or 'stack'}",
        tests=str(len(report.rules)),
        failures=str(failures),
        errors="0",
        skipped="0",
    )
    ET.SubElement(ET.SubElement(suite, "properties"), "property", name="source", value=source)
    for rule in report.rules:
        case = ET.SubElement(suite, "testcase", classname=f"backstop.{report.stack or 'stack'}", name=rule.id)
        found = by_rule.get(rule.id, [])
        mandatory = [v for v in found if v.level == "mandatory"]
        if mandatory:
            failure = ET.SubElement(
                case, "failure", type="mandatory", message=f"{len(mandatory)} mandatory violation(s)"
            )
            failure.text = "\n".join(f"{_resource_label(v.urn)}: {v.message}" for v in mandatory)
        advisory = [v for v in found if v.level != "mandatory"]
        if advisory:
            out = ET.SubElement(case, "system-out")
            out.text = "\n".join(f"advisory: {_resource_label(v.urn)}: {v.message}" for v in advisory)
    suites = ET.Element("testsuites", name="backstop", tests=suite.get("tests", "0"), failures=str(failures))
    suites.append(suite)
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode")


RENDERERS: dict[str, Callable[[Report, str], str]] = {
    "text": render_text,
    "json": render_json,
    "sarif": render_sarif,
    "junit": render_junit,
    "markdown": render_markdown,
}


def render(report: Report, fmt: str, source: str) -> str:
    return RENDERERS[fmt](report, source)
