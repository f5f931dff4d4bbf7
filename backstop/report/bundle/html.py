"""`index.html`: the bundle as one self-contained page an auditor reads on screen or prints to PDF.

Styles, the one script and the charts (inline SVG from `charts`) are in the page itself: it loads nothing
at view time. The verdict and every reason against it come first, so a broken chain or missing evidence
is on the first screen; the sections then show the rows the verdict was drawn from.
"""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from typing import Any

from backstop.report.bundle.charts import drill_chart

STYLE = """
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:#1f2328;
 margin:0 auto;max-width:1100px;padding:20px}
h1{font-size:22px;margin:0 0 4px}
h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #d0d7de;padding-bottom:4px}
.meta{color:#57606a;margin:0 0 12px}
.verdict{border-radius:8px;padding:12px 16px;margin:12px 0;border:2px solid}
.verdict.pass{background:#dafbe1;border-color:#1a7f37}.verdict.fail{background:#ffebe9;border-color:#cf222e}
.verdict strong{font-size:20px}.verdict ul{margin:6px 0 0;padding-left:20px}
.tiles{display:flex;flex-wrap:wrap;gap:8px;margin:8px 0}
.tile{flex:1 1 150px;border:1px solid #d0d7de;border-radius:6px;padding:8px 10px}
.tile b{display:block;font-size:15px}.tile.bad{border-color:#cf222e;background:#fff5f5}
table{border-collapse:collapse;width:100%;margin:6px 0;font-size:13px}
th,td{border:1px solid #d0d7de;padding:3px 6px;text-align:left;vertical-align:top}
th{background:#f6f8fa}
.met,.attested,.passed,.intact{background:#dafbe1}.missed,.missing,.failed,.broken{background:#ffebe9;color:#82071e;font-weight:600}
.inferred,.advisory,.pending,.unknown{background:#fff8c5}.na{color:#57606a}
.ok{background:#dafbe1}.breach{background:#ffebe9;color:#82071e;font-weight:600}
.grid td{text-align:center;font-size:11px;padding:2px}
.chart svg{max-width:100%;height:auto}
code{font-size:12px;word-break:break-all}
@media print{body{max-width:none;padding:0}h2{break-after:avoid}table,.chart{break-inside:avoid}
 *{-webkit-print-color-adjust:exact;print-color-adjust:exact}}
"""

# Records script errors in the page itself (a page check reads `data-errors`), and marks it rendered.
SCRIPT = """
window.addEventListener('error',function(e){var b=document.body;
 b.dataset.errors=(b.dataset.errors||'')+e.message+';';});
document.addEventListener('DOMContentLoaded',function(){document.body.dataset.rendered='yes';});
"""


def _duration(seconds: Any) -> str:
    if seconds is None:
        return "—"
    value = float(seconds)
    if value == 0:
        return "0 min"
    if value >= 86400 and value % 86400 == 0:
        return f"{value / 86400:g} d"
    if value >= 3600:
        return f"{value / 3600:.1f} h".replace(".0 h", " h")
    if value >= 60:
        return f"{value / 60:.0f} min"
    return f"{value:.0f} s"


def _mark(value: Any, yes: str = "met", no: str = "missed") -> str:
    if value is None:
        return '<td class="na">n/a</td>'
    return f'<td class="{yes}">{yes}</td>' if value else f'<td class="{no}">{no}</td>'


def _table(header: list[str], rows: list[str], empty: str) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join(rows) or f'<tr><td colspan="{len(header)}" class="missing">{escape(empty)}</td></tr>'
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _verdict(document: Mapping[str, Any]) -> str:
    verdict = document["verdict"]
    if verdict["passed"]:
        return (
            '<div class="verdict pass" id="verdict"><strong>PASSED</strong>: every objective met, '
            "the quarterly drill passed, every tenant attested every week, no deadline missed, "
            "every chain intact.</div>"
        )
    problems = verdict["problems"]
    shown = "".join(f"<li>{escape(p)}</li>" for p in problems[:10])
    more = f"<li>… and {len(problems) - 10} more below</li>" if len(problems) > 10 else ""
    return (
        f'<div class="verdict fail" id="verdict"><strong>FAILED</strong>: {len(problems)} finding(s)'
        f"<ul>{shown}{more}</ul></div>"
    )


def _tiles(document: Mapping[str, Any]) -> str:
    scenarios = document["objectives"]["scenarios"]
    drills = [d for d in document["drills"]["rows"] if d["inPeriod"]]
    restores = [d for d in drills if d["kind"] == "restore"]
    cells = document["attestation"]["cells"]
    counts = {s: sum(c["status"] == s for c in cells) for s in ("attested", "inferred", "missing")}
    incidents = document["incidents"]
    late = [i for i in incidents if "missed" in (i["noticeStatus"], i["recordStatus"])]
    broken = [s for s in document["stores"] if s["verified"] is False]
    tiles = [
        (
            "objectives met",
            f"{sum(s['met'] for s in scenarios)} / {len(scenarios)}",
            all(s["met"] for s in scenarios),
        ),
        (
            "restore drills this period",
            f"{sum(d['passed'] for d in restores)} passed / {len(restores)}",
            any(d["passed"] for d in restores) and all(d["passed"] for d in drills),
        ),
        (
            "tenant-weeks",
            f"{counts['attested']} attested · {counts['inferred']} inferred · {counts['missing']} missing",
            bool(cells) and not counts["missing"],
        ),
        ("incidents", f"{len(incidents)} · {len(late)} deadline(s) missed", not late),
        ("chains", "intact" if not broken else f"{len(broken)} BROKEN", not broken),
    ]
    return (
        '<div class="tiles">'
        + "".join(
            f'<div class="tile{"" if ok else " bad"}">{escape(name)}<b>{escape(value)}</b></div>'
            for name, value, ok in tiles
        )
        + "</div>"
    )


def _drill_rpo(s: Mapping[str, Any]) -> str:
    if s["rpoMeasuredSeconds"] is None:
        return '<td class="na">no drill</td>'
    when = escape(str(s["rpoMeasuredAt"] or "")[:10])
    return (
        f"<td>{_duration(s['rpoMeasuredSeconds'])} <span class=na>(drill "
        f"<code>{escape(str(s['rpoMeasuredDrill']))}</code>, {when})</span></td>"
    )


def _status_cell(s: Mapping[str, Any]) -> str:
    rows = s["status"]
    if not rows:
        return '<td class="na">no status row</td>'
    lines = []
    for r in rows:
        outside = f' <span class="missed">{escape(r["outsidePeriod"])}</span>' if r["outsidePeriod"] else ""
        lines.append(
            f'<div class="{escape(r["status"])}">{escape(r["objective"])} {escape(r["resource"])}: '
            f"{escape(str(r['measured'] or '—'))} (target {escape(str(r['target'] or '—'))}, "
            f"{escape(r['status'])}) <span class=na>at {escape(str(r['measuredAt'] or '—'))}</span>"
            f"{outside}</div>"
        )
    return f"<td>{''.join(lines)}</td>"


def _objectives(document: Mapping[str, Any]) -> str:
    status = document["objectives"]["status"]
    rows = [
        f"<tr><td>{escape(s['title'])}</td><td>{_duration(s['rpoTargetSeconds'])}</td>"
        f"<td>{_duration(s['rpoAchievedSeconds'])}</td>{_drill_rpo(s)}{_mark(s['rpoMet'])}"
        f"<td>{_duration(s['rtoTargetSeconds'])}</td><td>{_duration(s['rtoAchievedSeconds'])} "
        f"<span class=na>({escape(s['rtoBasis'])})</span></td>{_mark(s['rtoMet'])}"
        + (_status_cell(s) if status is not None else "")
        + f"<td>{escape(s['mechanism'])}</td></tr>"
        for s in document["objectives"]["scenarios"]
    ]
    lead = ""
    if status is not None:
        outside = (
            f' <span class="missed">{escape(status["outsidePeriod"])}: not evidence of the period</span>'
            if status["outsidePeriod"]
            else ""
        )
        lead = (
            f"<p>Measured by <code>backstop status</code> of stack {escape(status['stack'])} at "
            f"{escape(str(status['generatedAt'] or '—'))} (<code>{escape(str(status['file']))}</code>): "
            f"shown beside each objective, not re-judged.{outside}</p>"
        )
    header = [
        "objective (seed scenario)",
        "RPO target",
        "RPO declared",
        "RPO measured by drill",
        "",
        "RTO target",
        "RTO (measured or estimate)",
        "",
        *(["measured by backstop status"] if status is not None else []),
        "mechanism",
    ]
    return lead + _table(header, rows, "no objectives")


def _drills(document: Mapping[str, Any]) -> str:
    drills = document["drills"]
    labels = [p["label"] for p in drills["periods"]]
    periods = drills["periods"]
    restores = [d for d in drills["rows"] if d["kind"] == "restore"]
    rollbacks = [d for d in drills["rows"] if d["kind"] == "rollback"]
    charts = [
        drill_chart(
            "chart-restore-rto",
            "Restore drills: time to restore vs RTO",
            restores,
            "timeToRestoreSeconds",
            "rtoSeconds",
            "rtoMet",
            periods,
        ),
        drill_chart(
            "chart-restore-rpo",
            "Restore drills: restore-point age (data loss) vs RPO",
            restores,
            "restorePointAgeSeconds",
            "rpoSeconds",
            "rpoMet",
            periods,
        ),
        drill_chart(
            "chart-rollback-rto",
            "Rollback drills (slot swap): time to healthy vs RTO",
            rollbacks,
            "timeToRestoreSeconds",
            "rtoSeconds",
            "rtoMet",
            periods,
        ),
    ]
    rows = [
        f"<tr><td>{escape(d['period'])}</td><td>{escape(str(d['startedAt'])[:16])}</td>"
        f"<td>{escape(d['kind'])}</td><td><code>{escape(d['drillId'])}</code></td>"
        f"<td>{escape(str(d['subject']))}</td><td>{escape(str(d['mode']))}</td>"
        f"<td>{_duration(d['timeToRestoreSeconds'])} / {_duration(d['rtoSeconds'])}</td>{_mark(d['rtoMet'])}"
        f"<td>{_duration(d['restorePointAgeSeconds'])} / {_duration(d['rpoSeconds'])}</td>"
        f"{_mark(d['rpoMet'])}"
        f"{_mark(d['passed'], 'passed', 'failed')}</tr>"
        for d in drills["rows"]
    ]
    current = labels[-1]
    missing = ""
    if not any(d["inPeriod"] and d["kind"] == "restore" for d in drills["rows"]):
        missing = f'<p class="missing">Missing evidence: no restore drill in {escape(current)}.</p>'
    table = _table(
        [
            "quarter",
            "started (UTC)",
            "kind",
            "drill",
            "subject",
            "mode",
            "time to restore / RTO",
            "",
            "restore-point age / RPO",
            "",
            "result",
        ],
        rows,
        f"no drill in {labels[0]} to {current}",
    )
    return missing + "".join(f'<div class="chart">{c}</div>' for c in charts) + table


def _grid(document: Mapping[str, Any]) -> str:
    grid = document["attestation"]
    weeks = [w["week"] for w in grid["weeks"]]
    cells = {(c["tenant"], c["week"]): c for c in grid["cells"]}
    if not grid["tenants"]:
        label = document["period"]["label"]
        return (
            '<p class="missing">Missing evidence: no Tier-2 attestation of any tenant up to the end of '
            f"{label}.</p>"
        )
    head = "<tr><th>tenant</th>" + "".join(f"<th>{escape(w[5:])}</th>" for w in weeks) + "</tr>"
    body = []
    for tenant in grid["tenants"]:
        row = [f"<td>{escape(tenant)}</td>"]
        for week in weeks:
            cell = cells[(tenant, week)]
            status = cell["status"]
            mark = {"attested": "✔", "inferred": "~", "missing": "✖", "pending": "…"}[status]
            tip = f"{tenant} {week}: {status}" + (f", record #{cell['sequence']}" if cell["sequence"] else "")
            row.append(f'<td class="{status}" title="{escape(tip)}">{mark}</td>')
        body.append("<tr>" + "".join(row) + "</tr>")
    legend = (
        '<p><span class="attested">✔ attested</span> from the snapshot\'s contents · '
        '<span class="inferred">~ inferred</span> from snapshot times only · '
        '<span class="missing">✖ missing</span> no attestation that week (or the snapshot does not list the '
        'tenant) · <span class="pending">… pending</span> week not over yet</p>'
    )
    rows = "".join(body)
    table = f'<table class="grid" id="attestation-grid"><thead>{head}</thead><tbody>{rows}</tbody></table>'
    return table + legend


def _policy(document: Mapping[str, Any]) -> str:
    policy = document["policy"]
    summary = policy["summary"]
    lead = (
        f"<p>{summary['rulesPassed']} of {summary['rules']} rules passed; {summary['mandatory']} mandatory "
        f"and {summary['advisory']} advisory finding(s) over {summary['resourcesChecked']} of "
        f"{summary['resources']} "
        f"resources of a checked type. Basis: {escape(policy['basis'])}. Waivers in force: "
        f"{len(policy['waivers']) or 'none'}.</p>"
    )
    order = {"failed": 0, "advisory": 1, "passed": 2}
    rules = [
        f"<tr><td>{escape(r['id'])}</td><td>{escape(r['severity'])}</td>"
        f'<td class="{r["status"]}">{escape(r["status"])}</td></tr>'
        for r in sorted(policy["rules"], key=lambda r: (order[r["status"]], r["id"]))
    ]
    findings = [
        f'<tr><td class="{"failed" if v["level"] == "mandatory" else "advisory"}">{escape(v["level"])}</td>'
        f"<td>{escape(v['policy'])}</td><td><code>{escape(v['urn'])}</code></td><td>{escape(v['message'])}</td></tr>"
        for v in policy["violations"]
    ]
    waived = [
        f"<tr><td>{escape(w['policy'])}</td><td><code>{escape(w['findingUrn'])}</code></td>"
        f"<td>{escape(w.get('owner', ''))}</td><td>{escape(w.get('ticket', ''))}</td>"
        f"<td>{escape(w.get('expires', ''))}</td><td>{escape(w.get('reason', ''))}</td></tr>"
        for w in policy["waivers"]
    ]
    return (
        lead
        + (_table(["rule", "resource", "owner", "ticket", "expires", "reason"], waived, "") if waived else "")
        + _table(["level", "rule", "resource", "finding"], findings, "no findings").replace(
            'class="missing">no findings', 'class="met">no findings'
        )
        + _table(["rule", "severity", "status"], rules, "no rules")
    )


def _incidents(document: Mapping[str, Any]) -> str:
    rows = [
        f"<tr><td><code>{escape(i['incidentId'])}</code></td><td>{escape(str(i['lostAt']))}</td>"
        f"<td>{escape(str(i['loss']))} in {escape(str(i['database']))}</td>"
        f'<td>{escape(str(i["noticeDue"]))}</td><td class="{i["noticeStatus"]}">{i["noticeStatus"]}</td>'
        f'<td>{escape(str(i["recordDue"]))}</td><td class="{i["recordStatus"]}">{i["recordStatus"]}</td></tr>'
        for i in document["incidents"]
    ]
    return _table(
        [
            "incident",
            "loss at",
            "what",
            "tenant notice due (loss + 1 h)",
            "",
            "registry record due (loss + 24 h)",
            "",
        ],
        rows,
        "",
    ).replace('class="missing"></td>', 'class="na">no incident recorded in this period</td>')


def _stores(document: Mapping[str, Any]) -> str:
    rows = []
    for s in document["stores"]:
        state = {True: ("intact", "verified"), False: ("broken", "BROKEN"), None: ("na", "not chained")}[
            s["verified"]
        ]
        rows.append(
            f"<tr><td>{escape(s['collection'])}</td><td>{s['entries']}</td>"
            f"<td><code>{escape(str(s['firstHash'] or '—'))}</code></td>"
            f"<td><code>{escape(str(s['lastHash'] or '—'))}</code></td>"
            f'<td class="{state[0]}">{state[1]}</td><td>{escape(s["problem"] or "")}</td>'
            f"<td><code>{escape(s['file'])}</code></td></tr>"
        )
    return _table(
        ["store", "entries", "first hash", "last (head) hash", "chain", "first broken link", "exported as"],
        rows,
        "no stores",
    )


def render(document: Mapping[str, Any]) -> str:
    period = document["period"]
    title = f"Backup and recovery evidence: stack {document['stack']}, {period['label']}"
    sections = [
        ("objectives", "Recovery objectives (seed targets vs declared and measured)", _objectives(document)),
        ("drills", "Restore and rollback drills: this quarter and the four before", _drills(document)),
        ("attestation", "Tier-2 attestation, week by week (Sundays 03:00 UTC)", _grid(document)),
        ("policy", f"Policy results as of the end of {period['label']}", _policy(document)),
        ("incidents", "Incidents and their deadlines", _incidents(document)),
        ("chains", "Evidence store chains", _stores(document)),
    ]
    body = "".join(
        f'<section id="{key}"><h2>{escape(name)}</h2>{html}</section>' for key, name, html in sections
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>{escape(title)}</title>'
        f"<style>{STYLE}</style><script>{SCRIPT}</script></head><body>"
        f'<h1>{escape(title)}</h1><p class="meta">{escape(period["start"][:10])} to '
        f"{escape(period['end'][:10])} (end exclusive) · generated {escape(document['generatedAt'])} by "
        f"{escape(document['generator'])} · check with <code>backstop evidence verify DIR</code> or "
        "<code>sha256sum -c MANIFEST.sha256</code></p>"
        f"{_verdict(document)}{_tiles(document)}{body}</body></html>\n"
    )
