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
from backstop.ground.envelope import json_document
from backstop.ground.resources import name_of
from backstop.policy.core import Report, Severity, Suppressed, Violation

FORMATS = ("text", "json", "sarif", "junit", "markdown", "github")
# GitHub code scanning ranks a rule by its `security-severity` (a CVSS-like score as a string): over 9.0
# critical, 7.0 to 8.9 high, 4.0 to 6.9 medium, 0.1 to 3.9 low.
SECURITY_SEVERITY = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "3.0",
}
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


def _location_text(v: Violation) -> str:
    loc = v.location
    if loc is None:
        return ""
    return f"{loc.uri}:{loc.line}" + (f" ({loc.key})" if loc.key else "")


def scope_line(report: Report) -> str:
    """ "N of M resources are of a type backstop checks", and a warning when that is none of them."""
    line = f"{report.checked_count} of {report.resource_count} resources are of a type backstop checks"
    if report.checked_count == 0:
        line += ": nothing in this document was checked, so a pass here proves nothing"
    return line


def render_json(report: Report, source: str, command: str = "check") -> str:
    """The findings under the JSON envelope (`kind`: the command that evaluated them, plan or check)."""
    return json_document(
        command,
        {
            "violations": [v.as_dict() for v in report.violations],
            "waived": [{**s.violation.as_dict(), "waiver": s.waiver} for s in report.waived],
            "baselined": [s.violation.as_dict() for s in report.baselined],
            "waivers": {
                kind: [text for k, text in report.waiver_notes if k == kind]
                for kind in ("expired", "expiring", "unmatched")
            },
            "summary": {
                **report.summary(),
                "source": source,
                "exitCode": report.exit_code,
                "failOn": str(report.fail_on) if report.fail_on else None,
                "notes": list(report.notes),
            },
        },
    )


def render_text(report: Report, source: str) -> str:
    summary = report.summary()
    lines = [
        f"backstop: {summary['rules']} rules over {summary['resources']} resources of stack "
        f"{report.stack or '?'} ({report.environment} targets) from {source}",
        f"  {scope_line(report)}",
        *(f"  note: {note}" for note in report.notes),
        *(f"  {'warning' if kind != 'expired' else 'expired'}: {text}" for kind, text in report.waiver_notes),
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
        if violation.location is not None:
            lines.append(f"         at: {_location_text(violation)}")
    for suppressed in report.suppressed:
        v = suppressed.violation
        marker = "WAIVED" if suppressed.kind == "waiver" else "BASELINE"
        lines.append(
            f"  [{marker}] {v.policy} ({v.severity}) {_resource_label(v.urn)}: {suppressed.justification}"
        )
    verdict = "FAILED" if report.exit_code else "PASSED"
    held = f", failing on {report.fail_on} and above" if report.fail_on else ""
    lines.append(
        f"{verdict}: {summary['mandatory']} mandatory, {summary['advisory']} advisory "
        f"({summary['unknown']} unknown at preview{held}); {summary['waived']} waived, "
        f"{summary['baselined']} in the baseline; {summary['rulesPassed']}/{summary['rules']} rules "
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
        *(f"\n> **waiver {kind}:** {text}" for kind, text in report.waiver_notes),
        "",
        "| mandatory | advisory | unknown at preview | waived | in baseline | rules clean |",
        "|---:|---:|---:|---:|---:|---:|",
        f"| {summary['mandatory']} | {summary['advisory']} | {summary['unknown']} | {summary['waived']} | "
        f"{summary['baselined']} | {summary['rulesPassed']}/{summary['rules']} |",
    ]
    if report.violations:
        lines += ["", "| level | rule | severity | resource | finding |", "|---|---|---|---|---|"]
        for v in report.violations:
            message = v.message.replace("|", "\\|")
            lines.append(
                f"| {v.level} | `{v.policy}` | {v.severity} | `{_resource_label(v.urn)}` | {message} |"
            )
    if report.suppressed:
        lines += ["", "| suppressed | rule | severity | resource | why |", "|---|---|---|---|---|"]
        for suppressed in report.suppressed:
            v, why = suppressed.violation, suppressed.justification.replace("|", "\\|")
            kind = "waived" if suppressed.kind == "waiver" else "baseline"
            lines.append(f"| {kind} | `{v.policy}` | {v.severity} | `{_resource_label(v.urn)}` | {why} |")
    return "\n".join(lines) + "\n"


def _physical_location(v: Violation, source: str) -> dict[str, Any]:
    """The line the user edits: Pulumi's `sourcePosition` or the stack file's key, else the document."""
    loc = v.location
    if loc is None:
        return {"artifactLocation": {"uri": source}, "region": {"startLine": 1}}
    region: dict[str, Any] = {"startLine": loc.line}
    if loc.column:
        region["startColumn"] = loc.column
    return {"artifactLocation": {"uri": loc.uri}, "region": region}


def _sarif_result(v: Violation, report: Report, source: str, index: dict[str, int]) -> dict[str, Any]:
    result: dict[str, Any] = {
        "ruleId": v.policy,
        "level": _sarif_level(v),
        "message": {"text": f"{_resource_label(v.urn)}: {v.message}"},
        "locations": [
            {
                "physicalLocation": _physical_location(v, source),
                "logicalLocations": [{"fullyQualifiedName": v.urn or report.stack, "kind": "resource"}],
            }
        ],
        "partialFingerprints": {"backstopUrn": v.fingerprint},
        "properties": {
            "enforcementLevel": v.level,
            "severity": str(v.severity),
            "security-severity": SECURITY_SEVERITY[v.severity],
            "unknown": v.unknown,
        },
    }
    if v.location is not None and v.location.key:
        result["properties"]["configKey"] = v.location.key
    if v.policy in index:
        result["ruleIndex"] = index[v.policy]
    return result


def _sarif_suppressed(s: Suppressed, report: Report, source: str, index: dict[str, int]) -> dict[str, Any]:
    result = _sarif_result(s.violation, report, source, index)
    if s.kind == "waiver":
        result["suppressions"] = [
            {"kind": "external", "status": "accepted", "justification": s.justification}
        ]
        if s.waiver is not None:
            result["suppressions"][0]["properties"] = dict(s.waiver)
    else:
        result["baselineState"] = "unchanged"
    return result


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
                "properties": {
                    "severity": str(rule.severity),
                    "security-severity": SECURITY_SEVERITY[rule.severity],
                    "tags": ["backup", "disaster-recovery", "security"],
                },
            }
        )
    baselined = bool(report.baselined)
    results = []
    for v in report.violations:
        result = _sarif_result(v, report, source, index)
        if baselined:
            result["baselineState"] = "new"
        results.append(result)
    results.extend(_sarif_suppressed(s, report, source, index) for s in report.suppressed)
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
        tests=str(len(report.rules) + len(report.suppressed)),
        failures=str(failures),
        errors="0",
        skipped=str(len(report.suppressed)),
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
    # One skipped case per waived or baselined finding, so CI shows each accepted exception by name.
    for suppressed in report.suppressed:
        v = suppressed.violation
        case = ET.SubElement(
            suite,
            "testcase",
            classname=f"backstop.{report.stack or 'stack'}",
            name=f"{v.policy} {_resource_label(v.urn)}",
        )
        kind = "waived" if suppressed.kind == "waiver" else "baseline"
        skipped = ET.SubElement(case, "skipped", type=kind, message=f"{kind}: {suppressed.justification}")
        skipped.text = v.message
    suites = ET.Element("testsuites", name="backstop", tests=suite.get("tests", "0"), failures=str(failures))
    suites.append(suite)
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode")


def _escape_data(text: str) -> str:
    """A workflow command's message, escaped as the Actions runner unescapes it (%, CR, LF)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def render_github(report: Report, source: str) -> str:
    """GitHub Actions workflow commands: an annotation per finding on the file and line to edit
    (`::error` mandatory, `::warning` advisory, `::notice` unknowns and suppressed findings)."""
    lines: list[str] = []

    def annotate(command: str, v: Violation, text: str) -> None:
        loc = v.location
        where = f"file={_escape_property(loc.uri if loc else source)},line={loc.line if loc else 1}"
        if loc is not None and loc.column:
            where += f",col={loc.column}"
        title = _escape_property(f"backstop {v.policy} ({v.severity})")
        lines.append(f"::{command} {where},title={title}::{_escape_data(text)}")

    for v in report.violations:
        command = (
            "notice" if _sarif_level(v) == "note" else ("error" if v.level == "mandatory" else "warning")
        )
        annotate(command, v, f"{_resource_label(v.urn)}: {v.message}\nfix: {v.remediation}")
    for suppressed in report.suppressed:
        v = suppressed.violation
        kind = "waived" if suppressed.kind == "waiver" else "in the baseline"
        annotate("notice", v, f"{kind}: {_resource_label(v.urn)}: {v.message}\n{suppressed.justification}")
    for kind, text in report.waiver_notes:
        lines.append(f"::warning file=backstop-waivers.yaml,title=waiver {kind}::{_escape_data(text)}")
    lines.append(render_text(report, source).splitlines()[-1])
    return "\n".join(lines)


RENDERERS: dict[str, Callable[[Report, str], str]] = {
    "text": render_text,
    "json": render_json,
    "sarif": render_sarif,
    "junit": render_junit,
    "markdown": render_markdown,
    "github": render_github,
}


def render(report: Report, fmt: str, source: str, command: str = "check") -> str:
    if fmt == "json":
        return render_json(report, source, command)
    return RENDERERS[fmt](report, source)
