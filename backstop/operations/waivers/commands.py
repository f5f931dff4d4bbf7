"""`backstop waivers list [--expiring DAYS] [--format json]`.

Exit 0 when nothing needs attention, 1 when a waiver has expired (it no longer waives anything) or, with
`--expiring DAYS`, lapses within DAYS days, 2 when the file is unusable (every problem, a waiver naming
no rule among them, one line each). A project without a waivers file
has none to list.
"""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

from backstop.config.waivers import WAIVERS_FILE, Waiver, read_waivers
from backstop.ground.envelope import json_document
from backstop.ground.errors import EXIT_OK, EXIT_VIOLATIONS
from backstop.ground.files import PROJECT_DIR_HELP, project_dir


def status(waiver: Waiver, today: dt.date) -> str:
    left = waiver.days_left(today)
    if left < 0:
        return f"expired {-left} day{'s' if left != -1 else ''} ago"
    if left == 0:
        return "expires today"
    return f"expires in {left} day{'s' if left != 1 else ''}"


def listed(waivers: list[Waiver], today: dt.date, expiring: int | None) -> list[tuple[int, Waiver]]:
    """The waivers to show: all, or (with `expiring`) those expired or lapsing within that many days."""
    chosen = [(i, w) for i, w in enumerate(waivers) if expiring is None or w.days_left(today) <= expiring]
    return sorted(chosen, key=lambda item: (item[1].expires, item[0]))


def _cmd_list(args: argparse.Namespace, today: dt.date | None = None) -> int:
    today = today or dt.datetime.now(dt.UTC).date()
    from backstop.policy.core import load_rules

    project = project_dir(args.project_dir)
    loaded = read_waivers(project, load_rules().ids())  # a waiver naming no rule waives nothing: refused
    waivers = loaded.waivers if loaded is not None else []
    chosen = listed(waivers, today, args.expiring)
    attention = [w for _, w in chosen if w.expired(today) or args.expiring is not None]
    if args.format == "json":
        print(
            json_document(
                "waivers list",
                {
                    "file": WAIVERS_FILE if loaded is not None else None,
                    "today": today.isoformat(),
                    "expiringWithinDays": args.expiring,
                    "waivers": [
                        {
                            "index": i,
                            "rule": w.rule,
                            "urn": w.urn,
                            "owner": w.owner,
                            "ticket": w.ticket,
                            "reason": w.reason,
                            "expires": w.expires.isoformat(),
                            "daysLeft": w.days_left(today),
                            "expired": w.expired(today),
                        }
                        for i, w in chosen
                    ],
                },
            )
        )
    else:
        if loaded is None:
            print(f"no {WAIVERS_FILE} in {Path(project).resolve()}: nothing is waived")
        scope = f" expiring within {args.expiring} days" if args.expiring is not None else ""
        print(f"{len(chosen)} of {len(waivers)} waivers{scope} ({WAIVERS_FILE}, today {today.isoformat()})")
        for i, w in chosen:
            print(f"  [{i}] {w.rule} on {w.urn}")
            print(f"      {w.expires.isoformat()} ({status(w, today)}); owner {w.owner}, {w.ticket}")
            print(f"      {w.reason}")
    return EXIT_VIOLATIONS if attention else EXIT_OK


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    waivers = sub.add_parser("waivers", help=f"the reviewed exceptions in {WAIVERS_FILE}")
    commands = waivers.add_subparsers(dest="waivers_command", required=True)
    show = commands.add_parser(
        "list", help="every waiver with its owner, ticket and expiry, soonest to lapse first"
    )
    show.add_argument(
        "--expiring",
        type=int,
        metavar="DAYS",
        help="only waivers expired or lapsing within DAYS days (exit 1 when there is one)",
    )
    show.add_argument("--format", choices=["text", "json"], default="text")
    show.add_argument("--project-dir", help=PROJECT_DIR_HELP)
    show.set_defaults(handler=_cmd_list)
