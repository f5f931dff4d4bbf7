"""The vendored Atlas Admin API spec as the contract: the checks themselves can fail, the fake's routes serve
documented versions only, and everything the fake does beyond the spec is listed in one place.

Every test that uses `FakeAtlas` is also a contract test: on leaving the `with` block the fake validates
every request it received and every documented answer it gave against the spec."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest

from backstop.clients.atlas import VERSION_SNAPSHOT_CONTENTS, AtlasApiError, AtlasClient
from tests.contract.spec import (
    Exchange,
    check_request,
    check_response,
    find_operation,
    response_versions,
    spec_document,
)
from tests.fakes.atlas_server import SPEC_SILENT, FakeAtlas, FakeClock

GROUP = "6a0000000000000000000001"
JOBS = f"/api/atlas/v2/groups/{GROUP}/clusters/cartie-prod/backup/restoreJobs"
V1 = "application/vnd.atlas.2023-01-01+json"


def exchange(method: str = "POST", path: str = JOBS, body: dict | None = None, **kw) -> Exchange:
    defaults = {
        "query": {},
        "request_headers": {"Accept": V1, "Content-Type": V1, "Authorization": "Digest username=x"},
        "request_body": json.dumps(body).encode() if body is not None else b"",
        "status": 200,
        "response_headers": {"Content-Type": V1},
        "response_body": b"",
    }
    defaults.update(kw)
    return Exchange(method, path, **defaults)


def test_the_vendored_spec_keeps_its_source_line() -> None:
    info = spec_document()["info"]
    assert info["x-backstop-source"].startswith(
        "mongodb/mongodb-atlas-cli tools/internal/specs/spec.yaml at commit "
        "8ddea41a82ec904146d5f1b8d6578acedcc4a3a6 (Apache-2.0)"
    )
    assert spec_document()["openapi"] == "3.0.1"


def test_a_request_body_the_spec_forbids_is_caught() -> None:
    good = {"deliveryType": "pointInTime", "oplogTs": 1779080000, "oplogInc": 1, "targetGroupId": GROUP}
    check_request(exchange(body=dict(good, targetClusterName="drill-1")))
    with pytest.raises(Exception, match="less than the minimum of 1199145600"):
        check_request(exchange(body=dict(good, targetClusterName="drill-1", oplogTs=5)))
    with pytest.raises(Exception, match="does not match"):
        check_request(exchange(body=dict(good, targetClusterName="drill_1")))


def test_a_version_the_operation_does_not_list_is_caught() -> None:
    path = f"/api/atlas/v2/groups/{GROUP}/clusters/cartie-prod/backup/snapshots/{GROUP}/databases"
    headers = {"Accept": V1, "Authorization": "Bearer t"}
    with pytest.raises(AssertionError, match="is not a version the spec lists"):
        check_request(exchange("GET", path, request_headers=headers))
    template, _ = find_operation("GET", path)
    assert response_versions("GET", template) == [f"application/vnd.atlas.{VERSION_SNAPSHOT_CONTENTS}+json"]


def test_an_unknown_operation_and_an_unknown_authorization_are_caught() -> None:
    with pytest.raises(AssertionError, match="no such operation in the spec"):
        check_request(exchange("GET", f"/api/atlas/v2/groups/{GROUP}/backup/everything"))
    with pytest.raises(AssertionError, match="neither Digest nor Bearer"):
        check_request(exchange("GET", JOBS, request_headers={"Accept": V1, "Authorization": "Basic eDp5"}))


def test_an_error_without_error_code_and_an_undocumented_status_are_caught() -> None:
    body = json.dumps({"error": 401, "detail": "You are not authorized for this resource."}).encode()
    json_headers = {"Content-Type": "application/json"}
    with pytest.raises(Exception, match="'errorCode' is a required property"):
        check_response(exchange(status=401, response_headers=json_headers, response_body=body))
    with pytest.raises(AssertionError, match="HTTP 503 is not documented"):
        check_response(exchange(status=503, response_headers=json_headers, response_body=body))


def test_each_fake_route_serves_a_version_its_operation_documents() -> None:
    samples = {
        "name": "cartie-prod",
        "group": GROUP,
        "cluster": "cartie-prod",
        "snapshot": GROUP,
        "db": "tenant_acme",
        "job": GROUP,
    }
    for method, pattern, name, version in FakeAtlas._ROUTES:
        path = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: samples[m.group(1)], pattern.pattern)
        path = path.strip("^$").replace("\\", "")
        template, op = find_operation(method, path)
        status = next(s for s in op["responses"] if s.startswith("2"))
        assert version in response_versions(method, template, status), (name, template)


def test_the_fake_marks_every_answer_the_spec_does_not_document() -> None:
    clock = FakeClock(datetime(2026, 5, 18, 6, 0, tzinfo=UTC))
    with FakeAtlas(clock=clock.now) as fake:
        group = fake.add_project("cartie-prod")
        for kind in ("503", "502", "504", "429", "500"):
            fake.inject(kind, on_call=1, method="GET", path_contains=f"/groups/{group}", retry_after="1")
            fake.faults[-1].on_call = len(fake.faults)  # one fault per successive call
        client = AtlasClient.from_env(fake.env(), sleep=lambda s: None, jitter=lambda: 0.0)
        assert client.project(group)["id"] == group
        marks = {ex.status: silent for ex, silent in fake.exchanges if ex.status >= 429}
    assert marks == {503: "503", 502: "502-504", 504: "502-504", 429: None, 500: None}
    assert set(marks.values()) - {None} <= set(SPEC_SILENT)


def test_a_broken_answer_fails_the_test_that_received_it() -> None:
    clock = FakeClock(datetime(2026, 5, 18, 6, 0, tzinfo=UTC))
    fake = FakeAtlas(clock=clock.now)
    with pytest.raises(AssertionError, match="the fake or the client broke the spec"), fake:
        group = fake.add_project("cartie-prod")
        fake.projects[group]["clusterCount"] = "one"  # a Group's clusterCount is an integer
        AtlasClient.from_env(fake.env()).project(group)


def test_a_snapshot_contents_endpoint_atlas_does_not_serve_is_a_404(tmp_path) -> None:
    clock = FakeClock(datetime(2026, 5, 18, 6, 0, tzinfo=UTC))
    with FakeAtlas(clock=clock.now, snapshot_contents=False) as fake:
        group = fake.add_project("cartie-prod")
        fake.add_cluster(group, "cartie-prod")
        snapshot = fake.add_snapshot(group, "cartie-prod", clock.now() - timedelta(hours=1))
        with pytest.raises(AtlasApiError) as error:
            AtlasClient.from_env(fake.env()).snapshot_databases(group, "cartie-prod", snapshot)
    assert (error.value.status, error.value.error_code) == (404, "RESOURCE_NOT_FOUND")


def test_the_docs_list_the_roles_the_spec_requires_for_each_command_s_operations() -> None:
    from backstop.clients.atlas import OPERATIONS_BY_COMMAND
    from tests.conftest import ROOT

    by_id = {
        op["operationId"]: op.get("x-rolesRequirements") or []
        for ops in spec_document()["paths"].values()
        for method, op in ops.items()
        if method in ("get", "post", "delete", "patch", "put")
    }
    text = (ROOT / "docs" / "atlas-access.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `(audit|drill|recover|status)` \| [^|]+ \| `(\w+)` \| ([^|]+) \|$", text, re.M)
    listed = {(command, op): roles.strip() for command, op, roles in rows}
    expected = {
        (command, op): ", ".join(by_id[op]) or "none listed"
        for command, ops in OPERATIONS_BY_COMMAND.items()
        for op in ops
    }
    assert listed == expected


def test_audit_and_drill_call_only_the_operations_listed_for_them(tmp_path, monkeypatch, capsys) -> None:
    from backstop.cli import main
    from backstop.clients.atlas import OPERATIONS_BY_COMMAND
    from backstop.restore import runtime
    from tests.fakes.drill_world import DrillWorld

    def called(world: DrillWorld) -> set[str]:
        ops = {find_operation(r.method, r.path)[1]["operationId"] for r in world.atlas.requests}
        world.atlas.requests.clear()
        return ops

    with DrillWorld(tmp_path) as world:
        monkeypatch.setattr(runtime, "RUNTIME", world.runtime())
        assert main(world.args("audit", "--stack", "prod")) == 0
        audit_ops = called(world)
        world.clock.advance(days=1)
        assert main(world.args("drill", "--stack", "prod", "--mode", "snapshot", "--quiet")) == 0
        drill_ops = called(world)
    capsys.readouterr()
    assert audit_ops <= set(OPERATIONS_BY_COMMAND["audit"])
    assert drill_ops <= set(OPERATIONS_BY_COMMAND["drill"])
    assert "listGroupClusterBackupSnapshotDatabases" in audit_ops
    assert "createGroupClusterBackupRestoreJob" in drill_ops
