"""The bundle on disk: `evidence.json`, one CSV per table, the exported stores, `index.html`,
`MANIFEST.sha256` over all of them, and a `.zip` of the directory; and `verify_bundle`, which checks a
bundle again from its files alone.

`MANIFEST.sha256` is `sha256sum` format (`<hex>  <path>`), so `sha256sum -c MANIFEST.sha256` checks it too.
The manifest proves the files were not changed after the bundle was made; the chains prove no entry was
changed, removed or reordered before it (against the head hashes published in earlier audit summaries).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import shutil
from collections.abc import Callable, Iterable, Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from backstop.ground.errors import UsageError
from backstop.report.bundle.stores import EXPORTED, check_store

MANIFEST = "MANIFEST.sha256"
EVIDENCE = "evidence.json"
INDEX = "index.html"
STORES_DIR = "stores"
# One CSV per table of the page (`tables`): every bundle holds each of them.
TABLE_FILES = (
    "objectives.csv",
    "drills.csv",
    "attestation.csv",
    "policy.csv",
    "rules.csv",
    "waivers.csv",
    "incidents.csv",
    "chains.csv",
)


def schema() -> dict[str, Any]:
    """The published JSON Schema of `evidence.json` (shipped in the package)."""
    text = resources.files("backstop.report.bundle").joinpath("evidence.schema.json").read_text("utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def store_file(collection: str) -> str:
    return f"{STORES_DIR}/{collection}.jsonl"


def _csv(header: list[str], rows: Iterable[Mapping[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if row.get(k) is None else row.get(k) for k in header})
    return out.getvalue()


def _status_cells(scenario: Mapping[str, Any]) -> dict[str, str]:
    """A scenario's `backstop status` rows in three cells, one `; `-separated entry per row."""
    rows = scenario.get("status") or []
    return {
        "statusMeasured": "; ".join(
            f"{r['objective']} {r['resource']}: {r.get('measured') or '-'} "
            f"(target {r.get('target') or '-'}, {r['status']})"
            for r in rows
        ),
        "statusMeasuredAt": "; ".join(str(r.get("measuredAt") or "") for r in rows),
        "statusOutsidePeriod": "; ".join(str(r.get("outsidePeriod") or "") for r in rows)
        if any(r.get("outsidePeriod") for r in rows)
        else "",
    }


def tables(document: Mapping[str, Any]) -> dict[str, str]:
    """One CSV per table of the page, same rows as `evidence.json`."""
    return {
        "objectives.csv": _csv(
            [
                "scenario",
                "title",
                "rpoTargetSeconds",
                "rpoAchievedSeconds",
                "rpoMeasuredSeconds",
                "rpoMeasuredDrill",
                "rpoMeasuredAt",
                "rpoMet",
                "rtoTargetSeconds",
                "rtoAchievedSeconds",
                "rtoBasis",
                "rtoMet",
                "met",
                "mechanism",
                "statusMeasured",
                "statusMeasuredAt",
                "statusOutsidePeriod",
            ],
            [{**s, **_status_cells(s)} for s in document["objectives"]["scenarios"]],
        ),
        "drills.csv": _csv(
            [
                "period",
                "drillId",
                "kind",
                "startedAt",
                "mechanism",
                "mode",
                "subject",
                "timeToRestoreSeconds",
                "rtoSeconds",
                "rtoMet",
                "restorePointAgeSeconds",
                "rpoSeconds",
                "rpoMet",
                "passed",
                "error",
            ],
            document["drills"]["rows"],
        ),
        "attestation.csv": _csv(
            ["tenant", "week", "status", "sequence", "snapshotId", "recordedAt"],
            document["attestation"]["cells"],
        ),
        "policy.csv": _csv(
            ["policy", "level", "severity", "urn", "message"], document["policy"]["violations"]
        ),
        "rules.csv": _csv(["id", "severity", "status"], document["policy"]["rules"]),
        "waivers.csv": _csv(
            ["policy", "findingUrn", "urn", "owner", "ticket", "expires", "reason"],
            document["policy"]["waivers"],
        ),
        "incidents.csv": _csv(
            [
                "incidentId",
                "lostAt",
                "loss",
                "database",
                "noticeDue",
                "noticeStatus",
                "tenantsNotifiedAt",
                "recordDue",
                "recordStatus",
                "recordedAt",
                "sequence",
            ],
            document["incidents"],
        ),
        "chains.csv": _csv(
            ["collection", "chained", "entries", "firstHash", "lastHash", "verified", "brokenAt", "problem"],
            document["stores"],
        ),
    }


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _listing(directory: Path) -> list[str]:
    return sorted(
        p.relative_to(directory).as_posix()
        for p in directory.rglob("*")
        if p.is_file() and p.name != MANIFEST
    )


def manifest_text(directory: Path) -> str:
    return "".join(f"{_sha256(directory / name)}  {name}\n" for name in _listing(directory))


def prepare_directory(out: Path) -> None:
    """A new or empty directory: a bundle never overwrites or mixes with earlier files."""
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UsageError(f"--out {out}: exists and is not an empty directory (a bundle is never overwritten)")
    try:
        (out / STORES_DIR).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"--out {out}: cannot create: {exc.strerror or exc}") from None


def write_bundle(
    out: Path,
    document: Mapping[str, Any],
    exports: Mapping[str, str],
    render_html: Callable[[Mapping[str, Any]], str],
) -> Path:
    """Write every file of the bundle into `out` (prepared), then its manifest and the zip beside it."""
    for collection, text in exports.items():
        (out / store_file(collection)).write_text(text, encoding="utf-8")
    (out / EVIDENCE).write_text(json.dumps(document, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    for name, text in tables(document).items():
        (out / name).write_text(text, encoding="utf-8")
    (out / INDEX).write_text(render_html(document), encoding="utf-8")
    (out / MANIFEST).write_text(manifest_text(out), encoding="utf-8")
    archive = shutil.make_archive(str(out), "zip", root_dir=out.parent, base_dir=out.name)
    return Path(archive)


# --- verify ---------------------------------------------------------------------------------------------


def _read_manifest(directory: Path) -> dict[str, str]:
    path = directory / MANIFEST
    if not directory.is_dir():
        raise UsageError(f"{directory}: not a directory")
    if not path.is_file():
        raise UsageError(f"{path}: missing: not a backstop evidence bundle")
    listed: dict[str, str] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        digest, sep, name = line.partition("  ")
        if not sep or len(digest) != 64 or not name:
            raise UsageError(f"{path}: line {number}: expected `<sha256>  <path>`")
        listed[name] = digest
    return listed


def verify_bundle(directory: Path) -> tuple[list[str], list[str]]:
    """(problems, what was checked): the manifest recomputed, then every chain from its exported entries
    and compared with what `evidence.json` claims. Problems in the order found, the first one first."""
    listed = _read_manifest(directory)
    problems: list[str] = []
    present = set(_listing(directory))
    for name, digest in listed.items():
        if name not in present:
            problems.append(f"{name}: listed in {MANIFEST} but missing")
        elif _sha256(directory / name) != digest:
            problems.append(f"{name}: SHA-256 differs from {MANIFEST} (changed after the bundle was made)")
    problems += [
        f"{name}: not listed in {MANIFEST} (added after the bundle was made)"
        for name in sorted(present - set(listed))
    ]
    problems += [
        f"{name}: missing, and not listed in {MANIFEST} (every bundle holds it)"
        for name in (EVIDENCE, INDEX, *TABLE_FILES)
        if name not in listed and name not in present
    ]
    checked = [f"{len(listed)} files against {MANIFEST}"]
    try:
        document = json.loads((directory / EVIDENCE).read_text(encoding="utf-8"))
        claimed = {s["collection"]: s for s in document["stores"]}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return [*problems, f"{EVIDENCE}: unreadable: {exc}"], checked
    for collection in EXPORTED:
        path = directory / store_file(collection)
        if not path.is_file():
            problems.append(f"{store_file(collection)}: missing")
            continue
        check = check_store(collection, path.read_text(encoding="utf-8"))
        checked.append(check.line())
        if check.verified is False:
            problems.append(check.line())
        claim = claimed.get(collection, {})
        for key, value in (
            ("entries", check.entries),
            ("lastHash", check.last_hash),
            ("verified", check.verified),
        ):
            if claim.get(key) != value:
                problems.append(
                    f"{EVIDENCE}: stores.{collection}.{key} says {claim.get(key)!r}, "
                    f"the exported entries give {value!r}"
                )
    return problems, checked
