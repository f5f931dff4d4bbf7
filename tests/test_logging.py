"""`-v`, `-q` and `--log-format json`: progress on stderr is a timeline (UTC ISO-8601 times, levels,
structured fields), results stay on stdout, and the one-line error contract is untouched."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path

import pytest

from backstop.cli import main
from backstop.restore import runtime
from tests.fakes.drill_world import DrillWorld
from tests.fakes.recover_world import RecoverWorld
from tests.log_support import LINE, logged
from tests.test_recover import loss_args


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture()
def audited(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    with DrillWorld(tmp_path) as world:
        monkeypatch.setattr(runtime, "RUNTIME", world.runtime())
        assert run(capsys, *world.args("audit", "--stack", "prod"))[0] == 0
        world.clock.advance(days=1)
        yield world


def drill(world: DrillWorld, capsys: pytest.CaptureFixture[str], *options: str) -> tuple[int, str, str]:
    return run(capsys, *world.args("drill", "--stack", "prod", *options))


def json_lines(err: str) -> list[dict]:
    return [json.loads(line) for line in err.splitlines()]


def test_progress_lines_carry_a_utc_time_and_a_level_and_the_verdict_stays_on_stdout(
    audited: DrillWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = drill(audited, capsys)
    assert code == 0, err
    assert out.startswith("# Restore drill `drill-")
    assert err.splitlines() and all(LINE.match(line) for line in err.splitlines())
    progress = logged(err)
    assert re.fullmatch(
        r"drill drill-[-0-9a-f]+: tenant tenant_\w+, pointInTime restore from cartie-prod", progress[0]
    )
    assert progress[-1].endswith(" destroyed")
    assert not any("Atlas GET" in line for line in progress)  # the API calls are -v detail


@pytest.mark.parametrize("where", ["before", "after"])
def test_quiet_silences_progress_before_or_after_the_subcommand(
    audited: DrillWorld, capsys: pytest.CaptureFixture[str], where: str
) -> None:
    argv = audited.args("drill", "--stack", "prod")
    code, out, err = run(capsys, *(["-q", *argv] if where == "before" else [*argv, "-q"]))
    assert code == 0, err
    assert out.startswith("# Restore drill `drill-")
    assert err == ""


def test_quiet_never_silences_the_one_line_error(
    audited: DrillWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "-q", *audited.args("drill", "--stack", "nosuch"))
    assert (code, out) == (2, "")
    assert err.startswith("backstop: Pulumi.nosuch.yaml: ") and len(err.splitlines()) == 1


def test_json_log_lines_parse_and_make_an_ordered_drill_timeline(
    audited: DrillWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = drill(audited, capsys, "--log-format", "json")
    assert code == 0, err
    assert out.startswith("# Restore drill `drill-")
    records = json_lines(err)
    assert {r["level"] for r in records} == {"INFO"}
    assert {(r["logger"], r["step"], r["stack"]) for r in records} == {
        ("backstop.operations.drill.commands", "drill", "prod")
    }
    stamps = [r["ts"] for r in records]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", ts) for ts in stamps)
    times = [datetime.fromisoformat(ts) for ts in stamps]
    assert all(t.utcoffset() is not None and t.utcoffset().total_seconds() == 0 for t in times)
    assert times == sorted(times) and times[0] < times[-1]
    messages = [r["message"] for r in records]
    order = ["creating drill stack", "restore job", "verifying tenant_", "destroying drill stack"]
    firsts = [next(i for i, m in enumerate(messages) if m.startswith(prefix)) for prefix in order]
    assert firsts == sorted(firsts)


def test_verbose_logs_each_atlas_call_at_debug(
    audited: DrillWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    before = len(audited.atlas.requests)
    code, _, err = run(capsys, "-v", "--log-format", "json", *audited.args("drill", "--stack", "prod"))
    assert code == 0, err
    calls = [r for r in json_lines(err) if r["level"] == "DEBUG"]
    posts = [r for r in calls if r["method"] == "POST"]
    assert len(posts) == len(audited.atlas.calls("POST", "/restoreJobs")) == 1
    assert posts[0]["logger"] == "backstop.clients.atlas"
    assert posts[0]["status"] == 200 and posts[0]["path"].endswith("/backup/restoreJobs")
    assert posts[0]["message"] == f"Atlas POST {posts[0]['path']}: HTTP 200"
    answered = [r for r in audited.atlas.requests[before:] if r.authenticated]  # not the digest challenges
    assert [(r["method"], r["path"]) for r in calls] == [(r.method, r.path) for r in answered]


def test_a_recovery_timeline_names_its_incident_on_every_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with RecoverWorld(tmp_path) as world:
        monkeypatch.setattr(runtime, "RUNTIME", world.runtime())
        assert run(capsys, *world.args("audit", "--stack", "prod"))[0] == 0
        world.clock.advance(hours=2)
        code, out, err = run(
            capsys,
            "--log-format",
            "json",
            *world.args("recover", "restore", *loss_args("tenant"), "--format", "json"),
        )
    assert code == 0, err
    incident = json.loads(out)["incidentId"]
    records = json_lines(err)
    assert records and {(r["step"], r["stack"], r["incident"]) for r in records} == {
        ("restore", "prod", incident)
    }
    assert records[0]["message"].startswith(f"incident {incident}: ")
    times = [datetime.fromisoformat(r["ts"]) for r in records]
    assert times == sorted(times)


def test_a_rate_limited_recovery_says_why_it_waits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A 429 while `recover restore` polls its restore job is one log line of the restore step."""
    with RecoverWorld(tmp_path) as world:
        monkeypatch.setattr(runtime, "RUNTIME", world.runtime())
        assert run(capsys, *world.args("audit", "--stack", "prod"))[0] == 0
        world.clock.advance(hours=2)
        world.atlas.inject("429", on_call=1, method="GET", path_contains="/restoreJobs/", retry_after="7")
        code, _, err = run(
            capsys, "--log-format", "json", *world.args("recover", "restore", *loss_args("tenant"))
        )
    assert code == 0, err
    waits = [r for r in json_lines(err) if "Retry-After" in r["message"]]
    assert len(waits) == 1 and waits[0]["level"] == "INFO"
    assert (waits[0]["logger"], waits[0]["step"]) == ("backstop.operations.recover.step_restore", "restore")
    assert re.fullmatch(
        r"Atlas GET /api/atlas/v2/groups/\w+/clusters/cartie-prod/backup/restoreJobs/\w+: .*429.*; "
        r"waiting 7 s \(Retry-After\) before attempt 2 of \d+",
        waits[0]["message"],
    ), waits[0]["message"]
