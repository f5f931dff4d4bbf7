"""Waivers and baselines, applied after evaluation in one place for `plan`, `check` and the CrossGuard pack.

Rules stay pure functions of resources; what a team has accepted is decided here, on the findings: a
finding a live waiver covers, or whose fingerprint (policy + URN, SARIF's `partialFingerprints`) is in the
baseline, moves from the report's violations to its `suppressed` list, so it is still reported (SARIF
`suppressions`, JUnit skipped, JSON `waived`) but never fails the run. An expired waiver covers nothing
and says so; one within 14 days of its end warns; one that covers no finding is reported.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Collection, Iterable, Sequence
from dataclasses import replace
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from backstop.config.waivers import EXPIRY_WARNING_DAYS, WAIVERS_FILE, Waiver, WaiversFile
from backstop.ground.errors import UsageError
from backstop.policy.core import Report, Suppressed, Violation

BASELINE_SCHEMA_VERSION = 1


def check_rule_ids(waivers: WaiversFile, rule_ids: Collection[str], source: str = WAIVERS_FILE) -> None:
    """A waiver naming no rule is a typo that would waive nothing: refuse it, one line per waiver."""
    problems = [
        f"{source}: waivers[{i}].rule: no rule {w.rule!r} (`backstop rules` lists them)"
        for i, w in enumerate(waivers.waivers)
        if w.rule not in rule_ids
    ]
    if problems:
        raise UsageError("\n".join(problems))


def covers(waiver: Waiver, violation: Violation) -> bool:
    return covers_finding(waiver, violation.policy, violation.urn)


def covers_finding(waiver: Waiver, rule_id: str, urn: str) -> bool:
    return waiver.rule == rule_id and fnmatchcase(urn, waiver.urn)


def justification(waiver: Waiver) -> str:
    return f"{waiver.reason} (owner {waiver.owner}, {waiver.ticket}, until {waiver.expires.isoformat()})"


def waiver_record(waiver: Waiver) -> dict[str, str]:
    return {
        "rule": waiver.rule,
        "urn": waiver.urn,
        "owner": waiver.owner,
        "ticket": waiver.ticket,
        "reason": waiver.reason,
        "expires": waiver.expires.isoformat(),
    }


def waiver_for(
    waivers: Sequence[Waiver], rule_id: str, urn: str, today: dt.date
) -> tuple[int | None, Waiver | None]:
    """(the index of the first live waiver covering the finding, else None; the first expired one covering
    it, else None): what the CrossGuard pack asks per finding, where no report is assembled."""
    live = next(
        (i for i, w in enumerate(waivers) if not w.expired(today) and covers_finding(w, rule_id, urn)), None
    )
    lapsed = next((w for w in waivers if w.expired(today) and covers_finding(w, rule_id, urn)), None)
    return live, lapsed


def waiver_notes(waivers: Sequence[Waiver], used: Collection[int], today: dt.date) -> list[tuple[str, str]]:
    """("expired" | "unmatched" | "expiring", line) for each waiver that needs attention, given the indexes
    of those that waived a finding: what `plan` and `check` report, and the CrossGuard pack at the end of
    `AnalyzeStack`. Expiring means within `EXPIRY_WARNING_DAYS` days, that day included."""
    notes: list[tuple[str, str]] = []
    for i, waiver in enumerate(waivers):
        left = waiver.days_left(today)
        if waiver.expired(today):
            notes.append(
                (
                    "expired",
                    f"{WAIVERS_FILE}: {waiver.label(i)} expired on {waiver.expires.isoformat()}: it "
                    "no longer applies and its findings count again; renew it in review or fix them",
                )
            )
        elif i not in used:
            notes.append(
                (
                    "unmatched",
                    f"{WAIVERS_FILE}: {waiver.label(i)} matches no finding: remove it, or correct its rule "
                    "or URN",
                )
            )
        elif left <= EXPIRY_WARNING_DAYS:
            notes.append(
                (
                    "expiring",
                    f"{WAIVERS_FILE}: {waiver.label(i)} expires on {waiver.expires.isoformat()} (in {left} "
                    f"day{'s' if left != 1 else ''}): renew it in review or fix its findings",
                )
            )
    return notes


def pack_waivers(project_dir: Path, rule_ids: Collection[str]) -> tuple[Waiver, ...]:
    """The waivers the CrossGuard pack applies: the project's `backstop-waivers.yaml`, checked like the CLI
    checks it (an error stops the pack with the same one line per problem, every problem in one pass)."""
    from backstop.config.waivers import read_waivers

    waivers = read_waivers(project_dir, rule_ids)
    return tuple(waivers.waivers) if waivers is not None else ()


def apply_waivers(report: Report, waivers: WaiversFile, today: dt.date) -> Report:
    """Move the findings live waivers cover to `suppressed`; note expired, expiring and unused waivers."""
    entries = list(enumerate(waivers.waivers))
    used: set[int] = set()
    kept: list[Violation] = []
    suppressed = list(report.suppressed)
    for violation in report.violations:
        match = next(
            ((i, w) for i, w in entries if not w.expired(today) and covers(w, violation)),
            None,
        )
        if match is None:
            kept.append(violation)
            continue
        used.add(match[0])
        suppressed.append(Suppressed(violation, "waiver", justification(match[1]), waiver_record(match[1])))
    notes = [*report.waiver_notes, *waiver_notes(waivers.waivers, used, today)]
    return replace(report, violations=kept, suppressed=suppressed, waiver_notes=notes)


# --- baselines ------------------------------------------------------------------------------------------


def baseline_document(report: Report) -> dict[str, Any]:
    """Every finding of the report as a baseline: `--create-baseline` writes it, `--baseline` reads it."""
    return {
        "schemaVersion": BASELINE_SCHEMA_VERSION,
        "tool": "backstop",
        "stack": report.stack,
        "findings": [
            {
                "fingerprint": v.fingerprint,
                "policy": v.policy,
                "urn": v.urn,
                "severity": str(v.severity),
                "message": v.message,
            }
            for v in report.violations
        ],
    }


def write_baseline(report: Report, path: Path) -> None:
    try:
        path.write_text(json.dumps(baseline_document(report), indent=2) + "\n", encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"{path}: cannot write the baseline: {exc.strerror or exc}") from None


def _fingerprints_of_sarif(document: dict[str, Any], source: str) -> set[str]:
    found: set[str] = set()
    runs = document.get("runs")
    if not isinstance(runs, list):
        raise UsageError(f"{source}: runs: expected a list (a SARIF log)")
    for r, run in enumerate(runs):
        results = run.get("results", []) if isinstance(run, dict) else None
        if not isinstance(results, list):
            raise UsageError(f"{source}: runs[{r}].results: expected a list")
        for i, result in enumerate(results):
            prints = result.get("partialFingerprints") if isinstance(result, dict) else None
            value = prints.get("backstopUrn") if isinstance(prints, dict) else None
            if not isinstance(value, str):
                raise UsageError(f"{source}: runs[{r}].results[{i}].partialFingerprints.backstopUrn: missing")
            if not (isinstance(result, dict) and result.get("suppressions")):
                found.add(value)
    return found


def read_baseline(path: Path) -> set[str]:
    """The fingerprints of a baseline: a `--create-baseline` file, or a SARIF log backstop wrote."""
    source = str(path)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"{source}: cannot read: {exc.strerror or exc}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"{source}: not JSON ({exc})") from None
    if not isinstance(document, dict):
        raise UsageError(f"{source}: expected a JSON object (a backstop baseline or SARIF log)")
    if "runs" in document:
        return _fingerprints_of_sarif(document, source)
    if document.get("schemaVersion") != BASELINE_SCHEMA_VERSION:
        raise UsageError(
            f"{source}: schemaVersion: expected {BASELINE_SCHEMA_VERSION} "
            f"(got {document.get('schemaVersion')!r}); write one with --create-baseline"
        )
    findings = document.get("findings")
    if not isinstance(findings, list):
        raise UsageError(f"{source}: findings: expected a list")
    prints: set[str] = set()
    for i, finding in enumerate(findings):
        value = finding.get("fingerprint") if isinstance(finding, dict) else None
        if not isinstance(value, str) or ":" not in value:
            raise UsageError(f"{source}: findings[{i}].fingerprint: expected `<policy>:<urn>`")
        prints.add(value)
    return prints


def apply_baseline(report: Report, fingerprints: Iterable[str], source: str) -> Report:
    """Move findings already in the baseline to `suppressed`; note baseline entries no longer found."""
    known = set(fingerprints)
    kept = [v for v in report.violations if v.fingerprint not in known]
    old = [
        Suppressed(v, "baseline", f"in the baseline {source}")
        for v in report.violations
        if v.fingerprint in known
    ]
    seen = {v.fingerprint for v in report.violations} | {s.violation.fingerprint for s in report.suppressed}
    gone = len(known - seen)
    notes = list(report.notes)
    if gone:
        notes.append(
            f"{gone} finding{'s' if gone != 1 else ''} of the baseline {source} "
            f"{'are' if gone != 1 else 'is'} no longer found: fixed, or the resource is gone"
        )
    return replace(report, violations=kept, suppressed=[*report.suppressed, *old], notes=notes)


def settle(
    report: Report,
    *,
    waivers: WaiversFile | None,
    today: dt.date,
    rule_ids: Collection[str],
    baseline: Path | None = None,
    create_baseline: Path | None = None,
) -> Report:
    """What `plan` and `check` do after evaluating: waivers first (a waived finding is never baselined),
    then `create_baseline` records what is left and `baseline` (or the new one) takes it out of the gate."""
    if baseline is not None and create_baseline is not None:
        raise UsageError(
            "--baseline and --create-baseline: give one (a new baseline is applied as it is written)"
        )
    if waivers is not None:
        check_rule_ids(waivers, rule_ids)
        report = apply_waivers(report, waivers, today)
    if create_baseline is not None:
        write_baseline(report, create_baseline)
        return apply_baseline(report, {v.fingerprint for v in report.violations}, str(create_baseline))
    if baseline is not None:
        return apply_baseline(report, read_baseline(baseline), str(baseline))
    return report
