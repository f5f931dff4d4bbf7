"""The drill charts, drawn by matplotlib's SVG backend into inline SVG (no hand-built SVG, no network).

Each chart's groups carry ids (`<chart>-points`, `<chart>-failed`, `<chart>-target`) so the page's check can
count the data points a reader sees. Text stays text (`svg.fonttype: none`) and ids are salted with a fixed
string (the chart's id), so the same evidence draws the same bytes.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import matplotlib

matplotlib.use("svg")  # no display, no GUI toolkit: only the SVG writer

from matplotlib import rc_context
from matplotlib.dates import DateFormatter, MonthLocator, date2num
from matplotlib.figure import Figure

_HEADER = re.compile(r"^.*?(?=<svg)", re.S)
OK, BAD, TARGET = "#1a7f37", "#cf222e", "#57606a"


def drill_chart(
    chart_id: str,
    title: str,
    rows: Sequence[Mapping[str, Any]],
    value: str,
    target: str,
    met: str,
    periods: Sequence[Mapping[str, str]],
) -> str:
    """Minutes of `value` per drill on a time axis spanning `periods` (quarters marked), each drill's
    `target` a dashed bar over it; a drill with no measured value (it failed before measuring) is a red
    cross on the axis, and a quarter without a drill is an empty band a reader sees."""
    # Salted with the chart's id: each chart's clip paths and markers get ids of their own in the page.
    with rc_context({"svg.fonttype": "none", "font.size": 9, "svg.hashsalt": chart_id}):
        return _draw(chart_id, title, rows, value, target, met, periods)


def _when(value: Any) -> datetime:
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _draw(
    chart_id: str,
    title: str,
    rows: Sequence[Mapping[str, Any]],
    value: str,
    target: str,
    met: str,
    periods: Sequence[Mapping[str, str]],
) -> str:
    figure = Figure(figsize=(9.6, 2.6), layout="constrained")
    axes = figure.add_subplot()
    axes.set_title(title, loc="left", fontsize=10)
    axes.set_ylabel("minutes")
    rows = [r for r in rows if r.get("startedAt")]
    xs = [date2num(_when(r["startedAt"])) for r in rows]
    minutes = [None if r.get(value) is None else float(r[value]) / 60 for r in rows]
    targets = [None if r.get(target) is None else float(r[target]) / 60 for r in rows]
    known = [m for m in minutes + targets if m is not None]
    top = max(known, default=60.0) * 1.3 or 1.0
    good = [(x, m) for x, m, r in zip(xs, minutes, rows, strict=True) if m is not None and r.get(met) is True]
    bad = [
        (x, m) for x, m, r in zip(xs, minutes, rows, strict=True) if m is not None and r.get(met) is not True
    ]
    failed = [x for x, m in zip(xs, minutes, strict=True) if m is None]
    bounds = [date2num(_when(p["start"])) for p in periods] + [date2num(_when(periods[-1]["end"]))]
    for index, period in enumerate(periods):
        if index % 2:
            axes.axvspan(bounds[index], bounds[index + 1], color="#f6f8fa", zorder=0)
        axes.text(
            (bounds[index] + bounds[index + 1]) / 2,
            0.97,
            period["label"],
            transform=axes.get_xaxis_transform(),
            ha="center",
            va="top",
            fontsize=8,
            color=TARGET,
        )
    marked = [(x, t) for x, t in zip(xs, targets, strict=True) if t is not None]
    if marked:
        axes.hlines(
            [t for _, t in marked],
            [x - 9 for x, _ in marked],
            [x + 9 for x, _ in marked],
            colors=TARGET,
            linestyles="--",
            linewidth=1.4,
            label="target",
            gid=f"{chart_id}-target",
        )
    if good:
        axes.scatter(
            [x for x, _ in good],
            [m for _, m in good],
            color=OK,
            s=30,
            zorder=3,
            label="met",
            gid=f"{chart_id}-points",
        )
    if bad:
        axes.scatter(
            [x for x, _ in bad],
            [m for _, m in bad],
            color=BAD,
            s=30,
            zorder=3,
            label="missed",
            gid=f"{chart_id}-missed",
        )
    if failed:
        axes.scatter(
            failed,
            [0.0] * len(failed),
            color=BAD,
            marker="x",
            s=44,
            zorder=3,
            label="no measurement",
            gid=f"{chart_id}-failed",
            clip_on=False,
        )
    axes.set_xlim(bounds[0], bounds[-1])
    axes.set_ylim(0, top)
    axes.xaxis.set_major_locator(MonthLocator())
    axes.xaxis.set_major_formatter(DateFormatter("%b %y"))
    axes.tick_params(axis="x", labelsize=7)
    axes.grid(axis="y", color="#d0d7de", linewidth=0.6)
    if not rows:
        axes.text(
            0.5,
            0.45,
            f"no drills in {periods[0]['label']} to {periods[-1]['label']}",
            transform=axes.transAxes,
            ha="center",
            va="center",
            color=BAD,
            fontsize=11,
        )
    else:
        axes.legend(loc="upper left", bbox_to_anchor=(0, 0.9), fontsize=7, frameon=False, ncols=4)
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None})
    svg = _HEADER.sub("", buffer.getvalue(), count=1)
    return svg.replace("<svg ", f'<svg id="{chart_id}" role="img" aria-label="{title}" ', 1)
