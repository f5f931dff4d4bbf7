"""`backstop evidence bundle` and `backstop evidence verify`, built from what the real commands wrote into
the fakes over one quarter (tests/evidence_support.py): a clean quarter, a missed drill, a missing tenant
week, a tampered audit entry, an incident past its deadlines, and bundles changed after they were made."""

from __future__ import annotations

import hashlib
import json
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jsonschema
import pytest

from backstop.cli import main
from backstop.ground import tokens
from backstop.ground.documents import utc_iso
from backstop.operations.recover.store import INCIDENT_REGISTRY
from backstop.report.bundle.files import schema
from backstop.report.bundle.period import parse_period, weeks
from backstop.report.bundle.stores import INCIDENT_COLLECTION
from backstop.report.evidence import AUDIT_COLLECTION
from backstop.restore import runtime
from tests.evidence_support import AFTER_Q2, live_quarter, prod_resources, use_cached_program
from tests.fakes.drill_world import TENANTS, DrillWorld
from tests.fakes.recover_world import RecoverWorld
from tests.json_documents import assert_valid

Q2 = parse_period("2026Q2")
FILES = {
    "MANIFEST.sha256",
    "attestation.csv",
    "chains.csv",
    "drills.csv",
    "evidence.json",
    "incidents.csv",
    "index.html",
    "objectives.csv",
    "policy.csv",
    "rules.csv",
    "stores/backup_audit_log.jsonl",
    "stores/backup_drill_results.jsonl",
    "stores/incident_registry.jsonl",
    "waivers.csv",
}


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture()
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    with DrillWorld(tmp_path) as world:
        # The fake's restores take 20 minutes: inside every RTO the seeds set, the oplog replay's 30 min too.
        world.atlas.restore_duration = timedelta(minutes=20)
        monkeypatch.setattr(runtime, "RUNTIME", world.runtime())
        use_cached_program(monkeypatch)
        yield world


def bundle(
    world: DrillWorld, capsys: pytest.CaptureFixture[str], out: Path, *extra: str
) -> tuple[int, str, dict]:
    world.clock.current = AFTER_Q2
    code, stdout, err = run(
        capsys,
        *world.args("evidence", "bundle", "--stack", "prod", "--period", "2026Q2", "--out", str(out)),
        *extra,
    )
    assert err == "", err
    return code, stdout, json.loads((out / "evidence.json").read_text())


def cells(document: dict, status: str) -> set[tuple[str, str]]:
    return {(c["tenant"], c["week"]) for c in document["attestation"]["cells"] if c["status"] == status}


def files(directory: Path) -> set[str]:
    return {p.relative_to(directory).as_posix() for p in directory.rglob("*") if p.is_file()}


def test_a_clean_quarter_passes_with_every_file_listed_and_verifies(
    world: DrillWorld, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert live_quarter(world, Q2) == 0
    out = tmp_path / "q2"
    code, stdout, document = bundle(world, capsys, out)
    assert code == 0, stdout
    assert (
        stdout.splitlines()[0] == f"PASSED: evidence bundle of stack prod, 2026Q2: {out}/index.html (q2.zip)"
    )
    jsonschema.Draft202012Validator(schema()).validate(document)
    assert document["verdict"] == {"passed": True, "problems": []}
    # 13 Sundays in the quarter, three tenants attested from the snapshot's contents each time.
    grid = document["attestation"]
    assert grid["tenants"] == TENANTS
    assert [w["week"] for w in grid["weeks"]] == [f"2026-W{n}" for n in range(14, 27)]
    assert cells(document, "attested") == {(t, w.label) for t in TENANTS for w in weeks(Q2)}
    [drill] = document["drills"]["rows"]
    assert (drill["kind"], drill["period"], drill["startedAt"], drill["mode"]) == (
        "restore",
        "2026Q2",
        "2026-05-11T03:00:00.000Z",
        "pointInTime",
    )
    assert (drill["timeToRestoreSeconds"], drill["rtoSeconds"], drill["restorePointAgeSeconds"]) == (
        1200.0,
        7200.0,
        0.0,
    )
    assert drill["passed"] and drill["rtoMet"] and drill["rpoMet"]
    assert [p["label"] for p in document["drills"]["periods"]] == [
        "2025Q2",
        "2025Q3",
        "2025Q4",
        "2026Q1",
        "2026Q2",
    ]
    single = next(s for s in document["objectives"]["scenarios"] if s["scenario"] == "single_document")
    assert (single["rtoAchievedSeconds"], single["rtoBasis"]) == (1200.0, "measured by drill")
    # The drill's data loss is the row's measured RPO (a point-in-time restore loses nothing).
    assert (single["rpoMeasuredSeconds"], single["rpoMeasuredDrill"], single["rpoMeasuredAt"]) == (
        0.0,
        drill["drillId"],
        "2026-05-11T03:00:00.000Z",
    )
    assert single["rpoMeasuredMet"] is True and single["status"] == []
    assert document["objectives"]["status"] is None
    collection = next(s for s in document["objectives"]["scenarios"] if s["scenario"] == "single_collection")
    assert (collection["rpoMeasuredSeconds"], collection["rpoMeasuredDrill"]) == (None, None)
    assert document["incidents"] == []
    head = next(iter(world.evidence[AUDIT_COLLECTION].find().sort("sequence", -1).limit(1)))["recordHash"]
    stores = {s["collection"]: s for s in document["stores"]}
    assert (stores[AUDIT_COLLECTION]["entries"], stores[AUDIT_COLLECTION]["lastHash"]) == (39, head)
    assert stores[AUDIT_COLLECTION]["verified"] is True
    assert stores["backup_drill_results"]["verified"] is True  # hash-chained like the audit log

    # Every file listed in the manifest with its SHA-256, the zip holding the same files.
    assert files(out) == FILES
    manifest = dict(reversed(line.split("  ")) for line in (out / "MANIFEST.sha256").read_text().splitlines())
    assert set(manifest) == FILES - {"MANIFEST.sha256"}
    assert all(hashlib.sha256((out / n).read_bytes()).hexdigest() == h for n, h in manifest.items())
    with zipfile.ZipFile(tmp_path / "q2.zip") as archive:
        assert {n.removeprefix("q2/") for n in archive.namelist() if not n.endswith("/")} == FILES
    assert (out / "attestation.csv").read_text().splitlines()[:2] == [
        "tenant,week,status,sequence,snapshotId,recordedAt",
        f"tenant_acme,2026-W14,attested,1,{grid['cells'][0]['snapshotId']},2026-04-05T03:00:00.000Z",
    ]
    assert len((out / "attestation.csv").read_text().splitlines()) == 1 + 39
    # The policy results' three tables each have their CSV: findings, rules, waivers in force (none here).
    from backstop.policy.core import load_rules

    rules = (out / "rules.csv").read_text().splitlines()
    assert rules[0] == "id,severity,status"
    assert {line.split(",")[0] for line in rules[1:]} == {rule.id for rule in load_rules()}
    assert "acr-release-tags-locked,medium,advisory" in rules[1:]
    assert "atlas-cloud-backup-enabled,critical,passed" in rules[1:]
    assert (out / "waivers.csv").read_text() == "policy,findingUrn,urn,owner,ticket,expires,reason\n"

    code, stdout, _ = run(capsys, "evidence", "verify", str(out))
    assert code == 0
    assert stdout.startswith(
        f"PASSED: {out}: 13 files against MANIFEST.sha256; backup_audit_log: chain intact"
    )


def test_a_quarter_without_its_drill_is_missing_evidence_not_a_pass(
    world: DrillWorld, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    live_quarter(world, Q2, drill_on=Q2.end + timedelta(days=3))
    code, stdout, document = bundle(world, capsys, tmp_path / "q2")
    assert code == 1
    assert document["verdict"]["problems"] == [
        "missing evidence: no restore drill in 2026Q2 (the seed's quarterly drill)"
    ]
    assert "  - missing evidence: no restore drill in 2026Q2 (the seed's quarterly drill)" in stdout
    assert document["drills"]["rows"] == []
    page = (tmp_path / "q2" / "index.html").read_text()
    assert '<p class="missing">Missing evidence: no restore drill in 2026Q2.</p>' in page


def test_the_bundle_answers_in_json_with_its_verdict(
    world: DrillWorld, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    live_quarter(world, Q2, drill_on=Q2.end + timedelta(days=3))
    world.clock.current = AFTER_Q2
    out = tmp_path / "q2"
    code, stdout, _ = run(
        capsys,
        *world.args(
            "evidence",
            "bundle",
            "--stack",
            "prod",
            "--period",
            "2026Q2",
            "--out",
            str(out),
            "--format",
            "json",
        ),
    )
    printed = assert_valid(stdout, "evidence bundle")
    assert (code, printed["period"], printed["directory"]) == (1, "2026Q2", str(out))
    assert printed["verdict"] == json.loads((out / "evidence.json").read_text())["verdict"]
    assert printed["verdict"]["problems"] == [
        "missing evidence: no restore drill in 2026Q2 (the seed's quarterly drill)"
    ]


def test_a_drill_that_misses_its_rto_fails_the_quarter(
    world: DrillWorld, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    world.atlas.restore_duration = timedelta(hours=3)  # the drill's RTO is 2 h
    assert live_quarter(world, Q2) == 1
    code, _, document = bundle(world, capsys, tmp_path / "q2")
    assert code == 1
    [drill] = document["drills"]["rows"]
    assert (drill["passed"], drill["rtoMet"], drill["timeToRestoreSeconds"]) == (False, False, 10800.0)
    assert document["verdict"]["problems"][:2] == [
        "no restore drill in 2026Q2 passed",
        f"restore drill {drill['drillId']} failed",
    ]


def test_a_tenant_week_without_an_attestation_is_a_gap_in_the_grid(
    world: DrillWorld, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    live_quarter(world, Q2, absent=("tenant_globex", "2026-W20"), skip_weeks={"2026-W23"})
    code, _, document = bundle(world, capsys, tmp_path / "q2")
    assert code == 1
    assert cells(document, "missing") == {("tenant_globex", "2026-W20")} | {(t, "2026-W23") for t in TENANTS}
    assert len(cells(document, "attested")) == 39 - 4
    assert document["verdict"]["problems"] == [
        "missing evidence: tenant_acme has no Tier-2 attestation in week 2026-W23",
        "missing evidence: tenant_globex has no Tier-2 attestation in week 2026-W20",
        "missing evidence: tenant_globex has no Tier-2 attestation in week 2026-W23",
        "missing evidence: tenant_initech has no Tier-2 attestation in week 2026-W23",
    ]
    page = (tmp_path / "q2" / "index.html").read_text()
    assert '<td class="missing" title="tenant_globex 2026-W20: missing">✖</td>' in page


def test_a_quarter_with_no_audit_at_all_is_missing_evidence(
    world: DrillWorld, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, document = bundle(world, capsys, tmp_path / "q2")
    assert code == 1
    assert document["attestation"]["tenants"] == [] and document["attestation"]["cells"] == []
    assert document["verdict"]["problems"][:2] == [
        "missing evidence: no restore drill in 2026Q2 (the seed's quarterly drill)",
        "missing evidence: no Tier-2 attestation recorded in 2026Q2",
    ]
    page = (tmp_path / "q2" / "index.html").read_text()
    assert "Missing evidence: no Tier-2 attestation of any tenant up to the end of 2026Q2." in page


def test_a_quarter_not_over_yet_is_never_a_pass(
    world: DrillWorld, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    live_quarter(world, Q2)
    world.clock.current = Q2.end - timedelta(hours=12)
    out = tmp_path / "q2"
    code, _, err = run(
        capsys, *world.args("evidence", "bundle", "--period", "2026Q2", "--out", str(out)), "--stack", "prod"
    )
    document = json.loads((out / "evidence.json").read_text())
    assert (code, err) == (1, "")
    assert document["verdict"]["problems"] == [
        "incomplete: 2026Q2 is not over (it ends 2026-07-01T00:00:00.000Z); this bundle holds its "
        "evidence up to 2026-06-30T12:00:00.000Z only"
    ]


def test_a_tampered_audit_entry_is_on_the_first_screen_and_fails_bundle_and_verify(
    world: DrillWorld, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    live_quarter(world, Q2)
    world.evidence[AUDIT_COLLECTION].update_one({"sequence": 5}, {"$set": {"snapshotLagSeconds": 0}})
    out = tmp_path / "q2"
    code, stdout, document = bundle(world, capsys, out)
    assert code == 1
    broken = (
        "backup_audit_log record #5 (tenant_globex): its content does not match its recordHash "
        "(changed after writing)"
    )
    assert document["verdict"]["problems"] == [f"evidence tampered: {broken}"]
    assert f"  backup_audit_log: chain BROKEN: {broken}" in stdout.splitlines()
    audit = next(s for s in document["stores"] if s["collection"] == AUDIT_COLLECTION)
    assert (audit["verified"], audit["brokenAt"]) == (False, 5)
    page = (out / "index.html").read_text()
    verdict = page[page.index('<div class="verdict fail" id="verdict">') :].split("</div>")[0]
    assert f"<li>evidence tampered: {broken}</li>" in verdict
    code, stdout, _ = run(capsys, "evidence", "verify", str(out))
    assert (code, stdout.splitlines()[0]) == (1, f"FAILED: {out}: backup_audit_log: chain BROKEN: {broken}")


@pytest.fixture()
def clean_bundle(world: DrillWorld, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> Path:
    live_quarter(world, Q2)
    out = tmp_path / "q2"
    assert bundle(world, capsys, out)[0] == 0
    return out


def _rewrite_manifest(out: Path) -> None:
    from backstop.report.bundle.files import manifest_text

    (out / "MANIFEST.sha256").write_text(manifest_text(out))


def test_verify_names_the_first_file_changed_added_or_removed_after_the_bundle_was_made(
    clean_bundle: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = clean_bundle
    (out / "drills.csv").write_text((out / "drills.csv").read_text().replace(",True,", ",False,", 1))
    (out / "notes.txt").write_text("added later\n")
    code, stdout, _ = run(capsys, "evidence", "verify", str(out))
    assert code == 1
    assert stdout.splitlines() == [
        f"FAILED: {out}: drills.csv: SHA-256 differs from MANIFEST.sha256 "
        "(changed after the bundle was made)",
        "  - notes.txt: not listed in MANIFEST.sha256 (added after the bundle was made)",
    ]
    (out / "notes.txt").unlink()
    (out / "policy.csv").unlink()
    code, stdout, _ = run(capsys, "evidence", "verify", str(out))
    assert stdout.splitlines()[1] == "  - policy.csv: listed in MANIFEST.sha256 but missing"


def test_verify_names_a_table_removed_with_its_manifest_line(
    clean_bundle: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = clean_bundle
    (out / "rules.csv").unlink()
    _rewrite_manifest(out)  # the manifest recomputed without it: the table is still expected
    code, stdout, _ = run(capsys, "evidence", "verify", str(out))
    assert (code, stdout.splitlines()[0]) == (
        1,
        f"FAILED: {out}: rules.csv: missing, and not listed in MANIFEST.sha256 (every bundle holds it)",
    )


def test_an_export_rewritten_with_a_new_manifest_still_fails_its_chain(
    clean_bundle: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = clean_bundle
    path = out / "stores" / "backup_audit_log.jsonl"
    lines = path.read_text().splitlines(keepends=True)
    del lines[2]  # record #3 removed, and the manifest recomputed to hide it
    path.write_text("".join(lines))
    _rewrite_manifest(out)
    code, stdout, _ = run(capsys, "evidence", "verify", str(out))
    assert code == 1
    assert stdout.splitlines()[0] == (
        f"FAILED: {out}: backup_audit_log: chain BROKEN: backup_audit_log record #3: missing "
        "(the next stored record is #4)"
    )
    assert (
        "  - evidence.json: stores.backup_audit_log.entries says 39, the exported entries give 38" in stdout
    )


def test_an_incident_past_its_deadlines_is_listed_as_missed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with RecoverWorld(tmp_path) as world:
        world.atlas.restore_duration = timedelta(minutes=20)
        monkeypatch.setattr(runtime, "RUNTIME", world.runtime())
        use_cached_program(monkeypatch)
        live_quarter(world, Q2)
        world.clock.advance(hours=2)  # after the last Sunday's audit
        loss = world.clock.now() - timedelta(minutes=30)
        world.lose(lambda client: client["tenant_acme"]["orders"].delete_many({}))
        args = [
            "--stack",
            "prod",
            "--loss",
            "collection",
            "--database",
            "tenant_acme",
            "--collection",
            "orders",
        ]
        code, out, err = run(
            capsys, *world.args("recover", "restore", *args, "--at", utc_iso(loss), "--quiet")
        )
        assert code == 0, out + err
        [incident] = [line.split()[1] for line in out.splitlines() if line.startswith("incident ")]
        world.clock.advance(hours=25)
        notified = utc_iso(loss + timedelta(hours=2))
        ids = ["--stack", "prod", "--incident", incident]
        assert run(capsys, *world.args("recover", "record", *ids, "--tenants-notified-at", notified))[0] == 1
        code, _, document = bundle(world, capsys, tmp_path / "q2")
    assert code == 1
    [row] = document["incidents"]
    assert (row["incidentId"], row["lostAt"], row["loss"], row["database"]) == (
        incident,
        utc_iso(loss),
        "collection",
        "tenant_acme",
    )
    assert (row["noticeDue"], row["noticeStatus"], row["tenantsNotifiedAt"]) == (
        utc_iso(loss + timedelta(hours=1)),
        "missed",
        notified,
    )
    assert (row["recordDue"], row["recordStatus"]) == (utc_iso(loss + timedelta(hours=24)), "missed")
    notice_due, record_due = utc_iso(loss + timedelta(hours=1)), utc_iso(loss + timedelta(hours=24))
    assert document["verdict"]["problems"] == [
        f"incident {incident}: tenant notice (loss + 1 h) due {notice_due} missed",
        f"incident {incident}: incident record (loss + 24 h) due {record_due} missed",
    ]
    registry = next(s for s in document["stores"] if s["collection"] == INCIDENT_COLLECTION)
    assert (registry["entries"], registry["verified"]) == (1, True)


_ROOT = Path(__file__).resolve().parents[1]


def test_the_incident_store_is_named_once_for_recover_and_the_bundle() -> None:
    """`recover record` and the bundle name the incident store from report/evidence.py alone: a second
    spelling could drift and leave the bundle exporting an empty collection."""
    spelled = [
        path.relative_to(_ROOT).as_posix()
        for path in sorted((_ROOT / "backstop").rglob("*.py"))
        if '"incident_registry"' in path.read_text(encoding="utf-8")
        or '"recovery_log"' in path.read_text(encoding="utf-8")
    ]
    assert spelled == ["backstop/report/evidence.py"]
    assert INCIDENT_COLLECTION == INCIDENT_REGISTRY


# --- unusable input: one line, exit 2, nothing written -----------------------------------------------


@pytest.mark.parametrize("period", ["2026Q5", "2026-Q4", "Q4"])
def test_a_period_that_is_not_a_quarter_is_one_line_and_writes_nothing(
    world: DrillWorld, capsys: pytest.CaptureFixture[str], tmp_path: Path, period: str
) -> None:
    out = tmp_path / "out"
    code, stdout, err = run(capsys, *world.args("evidence", "bundle", "--period", period, "--out", str(out)))
    assert (code, stdout, err) == (
        2,
        "",
        f"backstop: --period: expected a calendar quarter like 2026Q4 (got {period!r})\n",
    )
    assert not out.exists()


def test_a_non_empty_out_directory_is_refused_and_left_as_it_was(
    world: DrillWorld, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out = tmp_path / "earlier"
    out.mkdir()
    (out / "index.html").write_text("an earlier bundle")
    code, _, err = run(capsys, *world.args("evidence", "bundle", "--period", "2026Q2", "--out", str(out)))
    assert (code, err) == (
        2,
        f"backstop: --out {out}: exists and is not an empty directory (a bundle is never overwritten)\n",
    )
    assert files(out) == {"index.html"} and (out / "index.html").read_text() == "an earlier bundle"


def test_verify_of_a_directory_that_is_not_a_bundle_is_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = run(capsys, "evidence", "verify", str(tmp_path))
    assert (code, err) == (
        2,
        f"backstop: {tmp_path}/MANIFEST.sha256: missing: not a backstop evidence bundle\n",
    )


def test_the_published_schema_is_valid_and_rejects_a_bundle_without_its_verdict() -> None:
    jsonschema.Draft202012Validator.check_schema(schema())
    errors = jsonschema.Draft202012Validator(schema()).iter_errors({"kind": "backstop-evidence-bundle"})
    assert "'verdict' is a required property" in {error.message for error in errors}


def test_quarters_are_cut_into_the_weeks_of_their_sundays() -> None:
    q4 = weeks(parse_period("2026Q4"))
    assert [w.label for w in q4] == [f"2026-W{n}" for n in range(40, 53)]
    assert (q4[0].start.isoformat(), q4[-1].end.isoformat()) == (
        "2026-09-28T00:00:00+00:00",
        "2026-12-28T00:00:00+00:00",
    )
    assert parse_period("2026Q1").previous().label == "2025Q4"


def test_the_sample_bundle_in_the_docs_verifies_and_matches_the_schema(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from tests.conftest import ROOT

    sample = ROOT / "docs" / "evidence" / "evidence-prod-2026Q2"
    code, stdout, _ = run(capsys, "evidence", "verify", str(sample))
    assert code == 0, stdout
    document = json.loads((sample / "evidence.json").read_text())
    jsonschema.Draft202012Validator(schema()).validate(document)
    assert document["verdict"]["passed"] is True
    assert {d["kind"] for d in document["drills"]["rows"]} == {"restore", "rollback"}
    assert [i["noticeStatus"] for i in document["incidents"]] == ["met"]


def test_waivers_in_force_at_the_quarters_end_are_listed_and_expired_ones_are_not(
    world: DrillWorld, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """The policy results show what a reviewer waived on the period's last day, with owner and ticket: the
    finding leaves the findings table for the waivers table; a waiver that lapsed inside the quarter does
    not apply."""
    import yaml

    live_quarter(world, Q2)
    registry = next(r for r in prod_resources() if r.type == tokens.AZ_REGISTRY)

    def waive(expires: str) -> None:
        entry = {
            "rule": "acr-release-tags-locked",
            "urn": registry.urn,
            "owner": "platform-team",
            "ticket": "RISK-7",
            "reason": "release pipeline locks each release image (PIPE-12)",
            "expires": expires,
        }
        (world.project_dir / "backstop-waivers.yaml").write_text(yaml.safe_dump({"waivers": [entry]}))

    waive("2026-07-15")  # still in force on 2026-06-30
    _, _, document = bundle(world, capsys, tmp_path / "q2")
    [waived] = document["policy"]["waivers"]
    assert (waived["policy"], waived["findingUrn"], waived["ticket"], waived["expires"]) == (
        "acr-release-tags-locked",
        registry.urn,
        "RISK-7",
        "2026-07-15",
    )
    assert "acr-release-tags-locked" not in {v["policy"] for v in document["policy"]["violations"]}
    page = (tmp_path / "q2" / "index.html").read_text()
    assert "<td>RISK-7</td>" in page and "Waivers in force: 1." in page
    # Its CSV: one row per waived finding, the waiver's owner, ticket, expiry and reason.
    assert (tmp_path / "q2" / "waivers.csv").read_text().splitlines() == [
        "policy,findingUrn,urn,owner,ticket,expires,reason",
        f"acr-release-tags-locked,{registry.urn},{registry.urn},platform-team,RISK-7,2026-07-15,"
        "release pipeline locks each release image (PIPE-12)",
    ]
    assert "acr-release-tags-locked,medium,passed" in (tmp_path / "q2" / "rules.csv").read_text().splitlines()

    waive("2026-06-01")  # lapsed before the quarter ended: the finding counts again
    _, _, lapsed = bundle(world, capsys, tmp_path / "q2-lapsed")
    assert lapsed["policy"]["waivers"] == []
    assert (tmp_path / "q2-lapsed" / "waivers.csv").read_text().splitlines() == [
        "policy,findingUrn,urn,owner,ticket,expires,reason"
    ]
    assert "acr-release-tags-locked,medium,advisory" in (
        (tmp_path / "q2-lapsed" / "rules.csv").read_text().splitlines()
    )
    assert "acr-release-tags-locked" in {v["policy"] for v in lapsed["policy"]["violations"]}


# --- measured beside declared: the drill's data loss, and `--status` ------------------------------------


def _by_scenario(document: dict) -> dict[str, dict]:
    return {s["scenario"]: s for s in document["objectives"]["scenarios"]}


def test_a_status_of_the_quarter_stands_beside_each_objective_with_when_it_was_measured(
    world: DrillWorld, capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.evidence_support import status_file

    live_quarter(world, Q2)
    measured_at = "2026-06-28T12:00:00.000Z"
    status = status_file(
        tmp_path / "status", datetime(2026, 6, 28, 12, 0, tzinfo=UTC), monkeypatch, pit=False
    )
    assert_valid(status.read_text(), "status")  # a real `backstop status --format json` document
    out = tmp_path / "q2"
    code, stdout, document = bundle(world, capsys, out, "--status", str(status))
    jsonschema.Draft202012Validator(schema()).validate(document)
    assert code == 0, stdout  # shown, not re-judged: the declared objectives are met
    assert document["objectives"]["status"] == {
        "file": "status.json",
        "stack": "prod",
        "generatedAt": measured_at,
        "outsidePeriod": None,
    }
    rows = {
        key: [(r["objective"], r["resource"], r["measured"], r["target"], r["status"]) for r in s["status"]]
        for key, s in _by_scenario(document).items()
    }
    assert rows["single_collection"] == [("atlas-snapshot-age", "atlas:cartie-prod", "2 h", "≤ 6 h", "ok")]
    assert rows["whole_cluster"] == [
        ("atlas-copy-age", "atlas:cartie-prod → US_WEST_2", "2 h", "≤ 6 h", "ok")
    ]
    assert rows["single_document"] == [
        ("atlas-pit-window", "atlas:cartie-prod", "continuous backup off", "≥ 7 d", "breach")
    ]
    assert rows["object_storage"] == [] and rows["faulty_deployment"] == []
    snapshot_row = _by_scenario(document)["single_collection"]["status"][0]
    assert (snapshot_row["seconds"], snapshot_row["measuredAt"], snapshot_row["outsidePeriod"]) == (
        7200.0,
        measured_at,
        None,
    )
    objectives = (out / "objectives.csv").read_text().splitlines()
    header = objectives[0].split(",")
    assert header[-3:] == ["statusMeasured", "statusMeasuredAt", "statusOutsidePeriod"]
    assert objectives[2].endswith(
        f',"atlas-snapshot-age atlas:cartie-prod: 2 h (target ≤ 6 h, ok)",{measured_at},'
    )
    page = (out / "index.html").read_text()
    assert (
        '<div class="ok">atlas-snapshot-age atlas:cartie-prod: 2 h (target ≤ 6 h, ok) '
        f"<span class=na>at {measured_at}</span></div>" in page
    )
    assert '<div class="breach">atlas-pit-window atlas:cartie-prod: continuous backup off' in page


def test_a_status_measured_after_the_quarter_is_said_so_on_each_row(
    world: DrillWorld, capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.evidence_support import status_file

    live_quarter(world, Q2)
    status = status_file(tmp_path / "status", datetime(2026, 11, 23, 12, 0, tzinfo=UTC), monkeypatch)
    out = tmp_path / "q2"
    code, _, document = bundle(world, capsys, out, "--status", str(status))
    assert code == 0
    assert document["objectives"]["status"]["outsidePeriod"] == "measured after 2026Q2 ended"
    [row] = _by_scenario(document)["single_collection"]["status"]
    assert (row["measured"], row["measuredAt"], row["outsidePeriod"]) == (
        "2 h",
        "2026-11-23T12:00:00.000Z",
        "measured after 2026Q2 ended",
    )
    assert (
        (out / "objectives.csv")
        .read_text()
        .splitlines()[2]
        .endswith(",2026-11-23T12:00:00.000Z,measured after 2026Q2 ended")
    )
    page = (out / "index.html").read_text()
    assert '<span class="missed">measured after 2026Q2 ended</span></div>' in page
    assert '<span class="missed">measured after 2026Q2 ended: not evidence of the period</span>' in page


@pytest.mark.parametrize(
    ("content", "line"),
    [
        (
            '{"schemaVersion": 1, "rows": [{"objective": "x"}]}',
            "rows[0]: needs string objective, resource and status",
        ),
        (
            '{"kind": "backstop-evidence-bundle"}',
            "schemaVersion: not a `backstop status --format json` file (version 1)",
        ),
        ("{not json", "not JSON (line 1: Expecting property name enclosed in double quotes)"),
        (
            '{"schemaVersion": 1, "command": "status", "stack": "staging", "rows": []}',
            "stack: a `backstop status` of stack 'staging', not of 'prod'",
        ),
    ],
)
def test_a_status_file_that_is_not_a_status_of_the_stack_is_one_line_and_writes_nothing(
    world: DrillWorld, capsys: pytest.CaptureFixture[str], tmp_path: Path, content: str, line: str
) -> None:
    bad = tmp_path / "status.json"
    bad.write_text(content, encoding="utf-8")
    out = tmp_path / "q2"
    code, stdout, err = run(
        capsys,
        *world.args("evidence", "bundle", "--period", "2026Q2", "--out", str(out), "--status", str(bad)),
    )
    assert (code, stdout, err) == (2, "", f"backstop: {bad}: {line}\n")
    assert not out.exists() and not (tmp_path / "q2.zip").exists()


def test_a_drill_that_lost_more_than_the_rpo_misses_its_objective(
    world: DrillWorld, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A snapshot restore drill whose snapshot was 9 h older than the restore point: the single-collection
    row shows 9 h measured by that drill against its 6 h target, and the objective is missed."""
    from backstop.report.evidence import append_drill_result

    live_quarter(world, Q2)
    world.clock.current = datetime(2026, 6, 10, 3, 20, tzinfo=UTC)
    append_drill_result(
        world.evidence,
        {
            "drillId": "snap9h",
            "sourceStack": "prod",
            "tenantDatabase": "tenant_acme",
            "startedAt": "2026-06-10T03:00:00.000Z",
            "finishedAt": "2026-06-10T03:20:00.000Z",
            "mechanism": "snapshot_restore",
            "manifest": {"restorePoint": "2026-06-07T12:00:00.000Z"},
            "restore": {"mode": "snapshot", "snapshot": {"createdAt": "2026-06-07T03:00:00.000Z"}},
            "timeToRestoreSeconds": 1200.0,
            "rtoSeconds": 7200.0,
            "passed": True,
        },
        now=world.clock.current,
    )
    out = tmp_path / "q2"
    code, _, document = bundle(world, capsys, out)
    assert code == 1
    collection = _by_scenario(document)["single_collection"]
    assert (collection["rpoAchievedSeconds"], collection["rpoTargetSeconds"]) == (21600.0, 21600.0)
    assert (
        collection["rpoMeasuredSeconds"],
        collection["rpoMeasuredDrill"],
        collection["rpoMeasuredAt"],
    ) == (
        32400.0,
        "snap9h",
        "2026-06-10T03:00:00.000Z",
    )
    assert (collection["rpoMeasuredMet"], collection["rpoMet"], collection["met"]) == (False, False, False)
    assert document["verdict"]["problems"] == [
        "objective missed: Single-collection corruption (logic bug wipes a table)"
    ]
    assert (
        (out / "objectives.csv")
        .read_text()
        .splitlines()[2]
        .startswith(
            "single_collection,Single-collection corruption (logic bug wipes a table),21600.0,21600.0,"
            "32400.0,snap9h,2026-06-10T03:00:00.000Z,False,"
        )
    )
    page = (out / "index.html").read_text()
    assert (
        '<td>9 h <span class=na>(drill <code>snap9h</code>, 2026-06-10)</span></td><td class="missed">'
        in page
    )
