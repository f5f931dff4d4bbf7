"""`backstop recover` resumable and observable (issue 26): an interrupted restore resumes its incident,
Ctrl-C prints the command to resume, one run of a step per incident at a time, `recover status`."""

from __future__ import annotations

import os
import socket
from datetime import timedelta

import pytest

from backstop.cli import main
from backstop.ground.documents import utc_iso
from backstop.operations.recover.store import RECOVERY_LOCKS, RECOVERY_LOG
from backstop.restore import runtime
from tests.fakes.recover_world import RecoverWorld
from tests.json_documents import assert_valid
from tests.log_support import logged
from tests.recover_support import audited_world  # noqa: F401 (the `audited` fixture)
from tests.test_recover import (
    LOSS,
    _drop_tenant,
    _empty_orders,
    incident_args,
    loss_args,
    restore,
    run,
    steps,
)

EXECUTE = ("--execute", "--confirm", "tenant_acme")
ORDERS = loss_args("collection", collection="orders")


class Killed(BaseException):
    """SIGKILL, as far as the process is concerned: nothing after it runs."""


def _restore_posts(world: RecoverWorld) -> list:
    return world.atlas.calls("POST", "/restoreJobs")


def test_ctrl_c_during_the_wait_prints_the_resume_command_and_a_rerun_resumes_the_same_incident(
    audited: RecoverWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    audited.lose(_empty_orders)

    def interrupted(seconds: float) -> None:
        raise KeyboardInterrupt

    runtime.RUNTIME = audited.runtime(sleep=interrupted)
    code, out, err = run(capsys, *audited.args("recover", "restore", *ORDERS, "--quiet"))
    assert code == 130
    [incident] = audited.evidence[RECOVERY_LOG].distinct("incidentId")
    assert f"resume: backstop recover restore --stack prod --incident {incident}\n" in err
    runtime.RUNTIME = audited.runtime()
    code, out, err = run(capsys, *audited.args("recover", "restore", *ORDERS, "--quiet"))
    assert code == 0, out + err
    assert out.splitlines()[0] == f"incident {incident}"
    assert audited.recovery_stacks.calls == [("up", f"recover-{incident}")]
    assert len(_restore_posts(audited)) == 1
    assert steps(audited, incident)[-1] == "restore-finished"
    # Finished: a rerun says so and points on; --new opens another incident.
    code, out, _ = run(capsys, *audited.args("recover", "restore", *ORDERS, "--quiet"))
    assert (code, out) == (
        0,
        f"incident {incident}: already restored\nnext: backstop recover verify --stack prod "
        f"--incident {incident}\n",
    )
    code, out, _ = run(capsys, *audited.args("recover", "restore", *ORDERS, "--new", "--quiet"))
    assert code == 0 and len(audited.evidence[RECOVERY_LOG].distinct("incidentId")) == 2


def test_a_restore_killed_after_the_cluster_was_created_resumes_by_incident_without_a_second_cluster(
    audited: RecoverWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    audited.lose(_empty_orders)

    def kill(stack_name: str) -> None:
        raise Killed

    audited.recovery_stacks.after_up = kill
    with pytest.raises(Killed):
        main(audited.args("recover", "restore", *ORDERS, "--quiet"))
    capsys.readouterr()
    [incident] = audited.evidence[RECOVERY_LOG].distinct("incidentId")
    assert steps(audited, incident) == ["opened", "cluster-requested"]
    password = audited.recovery_stacks.outputs(f"recover-{incident}")["databasePassword"]
    audited.recovery_stacks.after_up = None
    # What SIGKILL leaves behind: the lock (here the exception unwound it, as SIGKILL would not).
    audited.evidence[RECOVERY_LOCKS].insert_one(
        {"_id": f"{incident}:restore", "host": "oncall-1", "pid": 4242, "since": "2026-05-17T05:00:00.000Z"}
    )
    # The killed run left its lock: refused in one line, taken over with --break-lock.
    args = audited.args("recover", "restore", "--stack", "prod", "--incident", incident, "--quiet")
    code, out, err = run(capsys, *args)
    assert (code, err) == (
        2,
        f"backstop: incident {incident}: another `backstop recover restore` has held its lock since "
        "2026-05-17T05:00:00.000Z (oncall-1, pid 4242); nothing was done (if that process is gone, run "
        "again with --break-lock)\n",
    )
    code, out, err = run(capsys, *args, "--break-lock")
    assert code == 0, out + err
    assert audited.recovery_stacks.calls == [("up", f"recover-{incident}")] * 2  # the same stack again
    assert audited.recovery_stacks.outputs(f"recover-{incident}")["databasePassword"] == password
    assert len(_restore_posts(audited)) == 1
    assert audited.evidence[RECOVERY_LOCKS].count_documents({}) == 0


def test_a_restore_killed_after_atlas_accepted_the_job_adopts_it(
    audited: RecoverWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    audited.lose(_empty_orders)
    runtime.RUNTIME = audited.runtime(sleep=lambda seconds: (_ for _ in ()).throw(Killed()))
    with pytest.raises(Killed):
        main(audited.args("recover", "restore", *ORDERS, "--quiet"))
    capsys.readouterr()
    [incident] = audited.evidence[RECOVERY_LOG].distinct("incidentId")
    # As if the kill came between Atlas's answer and the log: the job exists, the log does not say so.
    audited.evidence[RECOVERY_LOG].delete_many({"incidentId": incident, "step": "restore-requested"})
    audited.evidence[RECOVERY_LOCKS].delete_many({})
    runtime.RUNTIME = audited.runtime()
    code, out, err = run(capsys, *audited.args("recover", "restore", *ORDERS, "--quiet"))
    assert code == 0, out + err
    assert len(_restore_posts(audited)) == 1


def test_a_second_cutover_at_the_same_time_is_refused_in_one_line(
    audited: RecoverWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    audited.lose(_drop_tenant)
    incident = restore(audited, capsys, *loss_args("tenant"), "--quiet")
    assert run(capsys, *audited.args("recover", "verify", *incident_args(incident)))[0] == 0
    args = audited.args("recover", "cutover", *incident_args(incident), *EXECUTE, "--quiet")
    second: list[int] = []

    class Concurrent:
        """The production client; on the first batch inserted, the other operator's cutover runs."""

        def __init__(self, inner) -> None:
            self.inner = inner

        def __getitem__(self, name: str):
            database = self.inner[name]

            class Database:
                def __getattr__(self, attr: str):
                    return getattr(database, attr)

                def __getitem__(self, collection: str):
                    real = database[collection]

                    class Collection:
                        def __getattr__(self, attr: str):
                            return getattr(real, attr)

                        def insert_many(self, documents, **options):
                            if not second:
                                second.append(main(args))
                            return real.insert_many(documents, **options)

                    return Collection()

            return Database()

    audited.production_wrapper = Concurrent
    code, out, err = run(capsys, *args)
    assert code == 0, out + err
    assert second == [2]
    [line] = [line for line in err.splitlines() if line.startswith("backstop:")]
    assert line.startswith(
        f"backstop: incident {incident}: another `backstop recover cutover` has held its lock since "
    )
    assert line.endswith(
        f"({socket.gethostname()}, pid {os.getpid()}); nothing was done (if that process is gone, run "
        "again with --break-lock)"
    )
    assert audited.source["tenant_acme"]["orders"].count_documents({}) == 40
    assert audited.evidence[RECOVERY_LOCKS].count_documents({}) == 0


def test_status_shows_each_incident_s_steps_next_command_deadlines_and_clusters(
    audited: RecoverWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    audited.lose(_drop_tenant)
    incident = restore(audited, capsys, *loss_args("cluster"), "--quiet")
    code, out, _ = run(capsys, *audited.args("recover", "status", "--stack", "prod", "--format", "json"))
    assert code == 0
    [item] = assert_valid(out, "recover status")["incidents"]
    assert item["next"] == f"backstop recover verify --stack prod --incident {incident}"
    assert audited.clock.now() == LOSS + timedelta(hours=1, minutes=20)  # planned, restored in 50 min
    assert item["deadlines"]["tenantNotice"] == {
        "due": utc_iso(LOSS + timedelta(hours=1)),
        "done": False,
        "leftSeconds": -20 * 60.0,
        "text": "OVERDUE by 20 min",
    }
    assert item["deadlines"]["incidentRecord"]["text"] == "in 22 h 40 min"
    assert item["cluster"]["state"] == "kept"
    assert run(capsys, *audited.args("recover", "verify", *incident_args(incident)))[0] == 0
    run(capsys, *audited.args("recover", "cutover", *incident_args(incident), *EXECUTE, "--quiet"))
    code, out, _ = run(capsys, *audited.args("recover", "status", "--stack", "prod", "--incident", incident))
    assert code == 0
    assert f"- next: backstop recover record --stack prod --incident {incident}" in out
    assert f"- tenant notice due {utc_iso(LOSS + timedelta(hours=1))}: OVERDUE by " in out
    assert (
        f"- recovery cluster recover-{incident}: SERVING PRODUCTION (the connection target in "
        f"Pulumi.prod.yaml; incident {incident} switched the application's connection target to it)" in out
    )
    # A recovery stack no incident opened is listed as orphaned.
    audited.evidence[RECOVERY_LOG].delete_many({"incidentId": incident})
    out = run(capsys, *audited.args("recover", "status", "--stack", "prod"))[1]
    assert (
        f"- orphaned recovery cluster recover-{incident} (no incident opened it): SERVING PRODUCTION" in out
    )


def _verified_tenant_loss(world: RecoverWorld, capsys: pytest.CaptureFixture[str]) -> str:
    world.lose(_drop_tenant)
    kept = world.backup["tenant_acme"]["customers"].find_one({"n": 4})
    world.source["tenant_acme"]["customers"].insert_one(dict(kept, n=999))  # changed since the restore point
    incident = restore(world, capsys, *loss_args("tenant"), "--quiet")
    assert run(capsys, *world.args("recover", "verify", *incident_args(incident)))[0] == 0
    return incident


def test_ctrl_c_while_waiting_for_the_pre_cutover_snapshot_is_one_line_and_writes_nothing(
    audited: RecoverWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    incident = _verified_tenant_loss(audited, capsys)

    def interrupted(seconds: float) -> None:
        raise KeyboardInterrupt

    runtime.RUNTIME = audited.runtime(sleep=interrupted)
    args = audited.args("recover", "cutover", *incident_args(incident), *EXECUTE, "--quiet")
    code, out, err = run(capsys, *args)
    [snapshot] = [e for e in steps_of(audited, incident) if e["step"] == "cutover-snapshot-requested"]
    assert (code, out, err) == (
        130,
        "",
        f"backstop: cutover interrupted while waiting for the pre-cutover snapshot {snapshot['snapshotId']}; "
        "nothing was written: run the same command again to keep waiting\n",
    )
    assert audited.source["tenant_acme"]["orders"].count_documents({}) == 0
    assert audited.evidence[RECOVERY_LOCKS].count_documents({}) == 0
    runtime.RUNTIME = audited.runtime()
    assert run(capsys, *args)[0] == 0
    assert audited.source["tenant_acme"]["orders"].count_documents({}) == 40
    assert len(audited.atlas.calls("POST", "/backup/snapshots")) == 1


def test_the_rto_ends_at_the_first_cutover_that_wrote(
    audited: RecoverWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    incident = _verified_tenant_loss(audited, capsys)
    args = audited.args("recover", "cutover", *incident_args(incident), *EXECUTE, "--quiet")
    assert run(capsys, *args)[0] == 0
    first = audited.clock.now()
    audited.clock.advance(hours=5)
    replace = audited.args("recover", "cutover", *incident_args(incident), "--replace-changed", *EXECUTE)
    assert run(capsys, *replace, "--quiet")[0] == 0
    run(capsys, *audited.args("recover", "record", *incident_args(incident)))
    [record] = list(audited.evidence["incident_registry"].find({}, {"_id": 0}))
    assert record["rto"]["achievedSeconds"] == (first - LOSS).total_seconds()
    assert record["outcome"] == "recovered"


def steps_of(world: RecoverWorld, incident: str) -> list[dict]:
    return list(world.evidence[RECOVERY_LOG].find({"incidentId": incident}).sort("sequence", 1))


def test_503s_past_the_polling_budget_say_the_job_keeps_running_and_how_to_resume(
    audited: RecoverWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    audited.lose(_empty_orders)
    audited.atlas.inject("503", times=100, method="GET", path_contains="/restoreJobs/")
    code, out, err = run(capsys, *audited.args("recover", "restore", *ORDERS, "--quiet"))
    assert code == 1
    [incident] = audited.evidence[RECOVERY_LOG].distinct("incidentId")
    [job] = [e for e in steps_of(audited, incident) if e["step"] == "restore-requested"]
    assert (
        f"; restore job {job['jobId']} keeps running in Atlas: resume the wait with `backstop recover "
        f"restore --stack prod --incident {incident}`" in err
    )
    audited.atlas.faults.clear()
    code, out, err = run(
        capsys, *audited.args("recover", "restore", "--stack", "prod", "--incident", incident)
    )
    assert code == 0, out + err
    assert len(_restore_posts(audited)) == 1


def test_restore_verify_cutover_and_record_answer_in_json(
    audited: RecoverWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    audited.lose(_empty_orders)
    fmt = ("--format", "json")
    code, out, _ = run(capsys, *audited.args("recover", "restore", *ORDERS, "--quiet", *fmt))
    restored = assert_valid(out, "recover restore")
    incident = restored["incidentId"]
    assert code == 0 and restored["error"] is None and restored["rtoMet"] is True
    assert restored["timeToRestoreSeconds"] == 2700.0
    assert restored["next"] == f"backstop recover verify --stack prod --incident {incident}"
    code, out, _ = run(capsys, *audited.args("recover", "verify", *incident_args(incident), *fmt))
    verified = assert_valid(out, "recover verify")
    assert code == 0 and verified["verdict"] == {"passed": True, "problems": [], "accepted": None}
    assert [(c["collection"], c["missingInProduction"]) for c in verified["collections"]] == [("orders", 40)]
    code, out, _ = run(
        capsys, *audited.args("recover", "cutover", *incident_args(incident), *EXECUTE, "--quiet", *fmt)
    )
    cutover = assert_valid(out, "recover cutover")
    assert code == 0 and cutover["executed"] is True and cutover["snapshotId"]
    assert [(c["collection"], c["inserted"]) for c in cutover["collections"]] == [("orders", 40)]
    code, out, _ = run(capsys, *audited.args("recover", "record", *incident_args(incident), *fmt))
    record = assert_valid(out, "recover record")
    assert (record["incidentId"], record["sequence"], record["outcome"]) == (incident, 1, "recovered")


def test_a_write_back_reports_documents_done_rate_and_eta(
    audited: RecoverWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    incident = _verified_tenant_loss(audited, capsys)

    class TwoSecondsABatch:
        def __init__(self, inner) -> None:
            self.inner = inner

        def __getitem__(self, name: str):
            database = self.inner[name]

            class Database:
                def __getattr__(self, attr: str):
                    return getattr(database, attr)

                def __getitem__(self, collection: str):
                    real = database[collection]

                    class Collection:
                        def __getattr__(self, attr: str):
                            return getattr(real, attr)

                        def insert_many(self, documents, **options):
                            audited.clock.advance(seconds=2)
                            return real.insert_many(documents, **options)

                    return Collection()

            return Database()

    audited.production_wrapper = TwoSecondsABatch
    code, out, err = run(capsys, *audited.args("recover", "cutover", *incident_args(incident), *EXECUTE))
    assert code == 0, out + err
    progress = [line for line in logged(err) if "documents checked" in line]
    assert progress[0].startswith("customers: 14/79 documents checked, 7 documents/s, ETA ")
    assert progress[-1] == "reviews: 79/79 documents checked, 13 documents/s"
