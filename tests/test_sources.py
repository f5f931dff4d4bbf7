"""Every real shape of Pulumi document `backstop check` reads, and everything it must refuse, through the CLI.

Shapes follow pulumi/pulumi's source as cited in `/work/shared/reference/pulumi-document-formats.md`:
partial previews (no `--show-sames`), replacement steps, read steps, failed previews, the streaming event
format, deployment schema versions 1-4, DIY checkpoints, `pending_operations`, `delete: true`, outputs vs
inputs, and the encodings the CLI's output lands in on Windows.
"""

from __future__ import annotations

import codecs
import json
import os
from pathlib import Path
from typing import Any

import pytest

from backstop.cli import main
from backstop.ground import tokens

STACK = "prod"
ROOT_URN = f"urn:pulumi:{STACK}::backstop::pulumi:pulumi:Stack::backstop-{STACK}"
SUBSCRIPTION_ID = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers"


def urn(type_: str, name: str) -> str:
    return f"urn:pulumi:{STACK}::backstop::{type_}::{name}"


def state(type_: str, name: str, inputs: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    found: dict[str, Any] = {"urn": urn(type_, name), "custom": True, "type": type_, "parent": ROOT_URN}
    if inputs is not None:
        found["inputs"] = inputs
    found.update(extra)
    return found


ROOT_STATE = {"urn": ROOT_URN, "custom": False, "type": tokens.STACK}
# A queue as azure-native writes it: dead-lettering on, delivery count unset (the service default, 10).
GOOD_QUEUE = {"deadLetteringOnMessageExpiration": True, "namespaceName": "bus", "resourceGroupName": "rg"}
BAD_QUEUE = {"deadLetteringOnMessageExpiration": False, "namespaceName": "bus", "resourceGroupName": "rg"}
QUEUE_RULE = "servicebus-queue-dead-lettering"


def step(op: str, new: dict[str, Any] | None = None, old: dict[str, Any] | None = None) -> dict[str, Any]:
    found: dict[str, Any] = {"op": op, "urn": (new or old or {})["urn"], "detailedDiff": None}
    if old is not None:
        found["oldState"] = old
    if new is not None:
        found["newState"] = new
    return found


def preview(*steps: dict[str, Any], same: int | None = None, **extra: Any) -> dict[str, Any]:
    all_steps = [step("same", ROOT_STATE), *steps]
    summary: dict[str, int] = {}
    for s in all_steps:
        summary[s["op"]] = summary.get(s["op"], 0) + 1
    if same is not None:
        summary["same"] = same
    return {"config": {}, "steps": all_steps, "duration": 1500000000, "changeSummary": summary, **extra}


def deployment(*states: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "manifest": {"time": "2026-11-20T10:00:00Z", "magic": "abc", "version": "v3.200.0"},
        "secrets_providers": {"type": "passphrase", "state": {"salt": "v1:x"}},
        "resources": [{**ROOT_STATE, "outputs": {}}, *states],
        **extra,
    }


def export(*states: dict[str, Any], version: int = 3, **extra: Any) -> dict[str, Any]:
    return {"version": version, "deployment": deployment(*states, **extra)}


def _write(tmp_path: Path, name: str, document: Any) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(document, indent=4), encoding="utf-8")
    return path


def check(capsys: pytest.CaptureFixture[str], path: Path, *argv: str) -> tuple[int, dict[str, Any], str]:
    code = main(["check", str(path), "--format", "json", *argv])
    out, err = capsys.readouterr()
    return code, (json.loads(out) if out else {}), err


def flagged(document: dict[str, Any], policy: str = QUEUE_RULE) -> dict[str, str]:
    """URN -> level of each violation of `policy`."""
    return {v["urn"]: v["level"] for v in document.get("violations", []) if v["policy"] == policy}


def queue(name: str, props: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return state(tokens.AZ_SB_QUEUE, name, props, **extra)


# --- previews -------------------------------------------------------------------------------------------


def test_a_preview_that_hides_unchanged_resources_is_refused(capsys, tmp_path) -> None:
    path = _write(tmp_path, "preview.json", preview(step("create", queue("new", GOOD_QUEUE)), same=4))
    code, out, err = check(capsys, path)
    assert (code, out) == (2, {})
    assert err.strip() == (
        f"backstop: {path}: incomplete preview: 3 unchanged resources counted in changeSummary.same are "
        "not in steps; rerun `pulumi preview --json --show-sames` or pass the stack's state with "
        "--state EXPORT.json"
    )


def test_a_hidden_noncompliant_resource_is_found_through_the_state(capsys, tmp_path) -> None:
    # The update touches `orders`; `emails` is unchanged, so plain `pulumi preview --json` leaves it out.
    updated = queue("orders", {**GOOD_QUEUE, "maxDeliveryCount": 5})
    path = _write(
        tmp_path, "preview.json", preview(step("update", updated, queue("orders", GOOD_QUEUE)), same=2)
    )
    state_path = _write(
        tmp_path,
        "export.json",
        export(
            queue("orders", GOOD_QUEUE, outputs=GOOD_QUEUE, id="q1"),
            queue("emails", BAD_QUEUE, outputs=BAD_QUEUE, id="q2"),
        ),
    )
    code, out, _ = check(capsys, path, "--state", str(state_path))
    assert code == 1
    assert flagged(out) == {urn(tokens.AZ_SB_QUEUE, "emails"): "mandatory"}
    assert out["summary"]["resources"] == 3


def test_an_unchanged_setting_resource_is_not_a_false_violation_with_the_state(capsys, tmp_path) -> None:
    bucket = state(tokens.S3_BUCKET, "media", {"bucket": "media-bkt"}, id="media-bkt")
    versioning = state(
        tokens.S3_VERSIONING,
        "media-versioning",
        {"bucket": "media-bkt", "versioningConfiguration": {"status": "Enabled"}},
        id="media-bkt",
    )
    updated = {**bucket, "inputs": {"bucket": "media-bkt", "tags": {"team": "media"}}}
    doc = preview(step("update", updated, bucket), same=2)
    path = _write(tmp_path, "preview.json", doc)
    code, _, _ = check(capsys, path)
    assert code == 2  # without the state the versioning resource is missing: refused, not misjudged
    state_path = _write(
        tmp_path,
        "export.json",
        export({**bucket, "outputs": bucket["inputs"]}, {**versioning, "outputs": versioning["inputs"]}),
    )
    code, out, _ = check(capsys, path, "--state", str(state_path))
    assert flagged(out, "s3-versioning-enabled") == {}
    assert out["summary"]["resources"] == 3


def test_a_state_of_another_stack_is_refused(capsys, tmp_path) -> None:
    path = _write(tmp_path, "preview.json", preview(step("create", queue("q", GOOD_QUEUE)), same=2))
    other = {**queue("q", GOOD_QUEUE), "urn": "urn:pulumi:staging::backstop::" + tokens.AZ_SB_QUEUE + "::q"}
    state_path = _write(
        tmp_path, "export.json", {"version": 3, "deployment": {"manifest": {}, "resources": [other]}}
    )
    code, _, err = check(capsys, path, "--state", str(state_path))
    assert code == 2
    assert err.strip() == (
        f"backstop: {state_path}: the state of stack staging, not of the previewed stack prod"
    )


def test_show_sames_preview_is_complete(capsys, tmp_path) -> None:
    doc = preview(step("same", queue("emails", BAD_QUEUE)), step("create", queue("new", GOOD_QUEUE)))
    code, out, _ = check(capsys, _write(tmp_path, "preview.json", doc))
    assert code == 1
    assert flagged(out) == {urn(tokens.AZ_SB_QUEUE, "emails"): "mandatory"}


def test_replacement_steps_are_one_resource_and_one_violation(capsys, tmp_path) -> None:
    old = queue("emails", GOOD_QUEUE, id="q-old")
    new = queue("emails", BAD_QUEUE)
    doc = preview(
        step("replace", new, old),
        step("create-replacement", new, old),
        step("delete-replaced", None, {**old, "delete": True}),
    )
    code, out, _ = check(capsys, _write(tmp_path, "preview.json", doc))
    assert code == 1
    assert [v["urn"] for v in out["violations"] if v["policy"] == QUEUE_RULE] == [
        urn(tokens.AZ_SB_QUEUE, "emails")
    ]
    assert out["summary"]["resources"] == 2


@pytest.mark.parametrize(
    "op", ["delete", "delete-replaced", "discard", "discard-replaced", "remove-pending-replace"]
)
def test_resources_gone_after_the_update_are_not_judged(capsys, tmp_path, op: str) -> None:
    doc = preview(
        step(op, None, queue("legacy", BAD_QUEUE, id="q")), step("create", queue("new", GOOD_QUEUE))
    )
    code, out, _ = check(capsys, _write(tmp_path, "preview.json", doc))
    assert code == 0
    assert flagged(out) == {}
    assert out["summary"]["resources"] == 2


@pytest.mark.parametrize("how", ["read", "read-replacement", "external"])
def test_resources_the_stack_only_reads_never_fail_it(capsys, tmp_path, how: str) -> None:
    shared = (
        queue("shared-queue", BAD_QUEUE, id="q", external=True)
        if how == "external"
        else queue("shared-queue", BAD_QUEUE, id="q")
    )
    doc = preview(
        step("same" if how == "external" else how, shared), step("create", queue("own", GOOD_QUEUE))
    )
    code, out, _ = check(capsys, _write(tmp_path, "preview.json", doc))
    assert code == 0
    assert flagged(out) == {urn(tokens.AZ_SB_QUEUE, "shared-queue"): "advisory"}
    assert out["summary"]["notes"] == [
        "1 resource is only read by this stack, not managed by it (shared-queue): never a mandatory "
        "violation of this stack"
    ]


def test_a_failed_preview_shows_its_own_errors(capsys, tmp_path) -> None:
    doc = {
        "config": {},
        "diagnostics": [
            {
                "prefix": "error: ",
                "message": "<{%reset%}>Program failed with an unhandled exception:\n"
                "  KeyError: 'bucket'<{%reset%}>\n",
                "severity": "error",
            },
            {
                "urn": urn(tokens.S3_BUCKET, "media"),
                "prefix": "error: ",
                "message": "aws:s3/bucket:Bucket resource 'media' has a problem: bucket name taken",
                "severity": "error",
            },
            {"message": "a warning", "severity": "warning"},
        ],
        "duration": 1000,
    }
    code, out, err = check(capsys, _write(tmp_path, "preview.json", doc))
    assert (code, out) == (2, {})
    assert err.strip() == (
        f"backstop: {tmp_path / 'preview.json'}: the preview failed: Program failed with an unhandled "
        "exception: KeyError: 'bucket'; Bucket media: aws:s3/bucket:Bucket resource 'media' has a problem: "
        "bucket name taken"
    )


def _events(*steps: dict[str, Any], summary: dict[str, int]) -> str:
    events: list[dict[str, Any]] = [{"sequence": 0, "timestamp": 1, "preludeEvent": {"config": {}}}]
    for number, s in enumerate(steps, start=1):
        metadata = {
            "op": s["op"],
            "urn": s["urn"],
            "type": s["newState"]["type"],
            "old": None,
            "new": {**s["newState"], "parent": "", "provider": ""},
            "detailedDiff": None,
        }
        events.append({"sequence": number, "timestamp": 1, "resourcePreEvent": {"metadata": metadata}})
    events.append({"sequence": 99, "timestamp": 2, "summaryEvent": {"resourceChanges": summary}})
    return "\n".join(json.dumps(e) for e in events) + "\n"


def test_the_streaming_event_format_is_read(capsys, tmp_path) -> None:
    path = tmp_path / "events.json"
    path.write_text(
        _events(step("same", ROOT_STATE), step("same", queue("emails", BAD_QUEUE)), summary={"same": 2}),
        encoding="utf-8",
    )
    code, out, err = check(capsys, path)
    assert (code, err) == (1, "")
    assert flagged(out) == {urn(tokens.AZ_SB_QUEUE, "emails"): "mandatory"}


def test_a_stream_missing_steps_its_summary_counts_is_refused(capsys, tmp_path) -> None:
    path = tmp_path / "events.json"
    path.write_text(_events(step("same", ROOT_STATE), summary={"same": 5}), encoding="utf-8")
    code, _, err = check(capsys, path)
    assert code == 2
    assert "incomplete preview: 4 unchanged resources" in err
    path.write_text(
        '{"sequence": 0, "preludeEvent": {}}\n{"sequence": 1, "summaryEvent": [\n', encoding="utf-8"
    )
    code, _, err = check(capsys, path)
    assert code == 2
    assert f"{path} (event line 2): not a JSON engine event" in err


def test_an_unknown_step_op_is_refused(capsys, tmp_path) -> None:
    doc = preview({"op": "teleport", "urn": urn(tokens.AZ_SB_QUEUE, "q")})
    code, _, err = check(capsys, _write(tmp_path, "preview.json", doc))
    assert code == 2
    assert "steps[1].op: unknown step op 'teleport'" in err


# --- exports and checkpoints ----------------------------------------------------------------------------


@pytest.mark.parametrize("version", [1, 2, 3, 4])
def test_every_deployment_schema_version_pulumi_reads(capsys, tmp_path, version: int) -> None:
    extra: dict[str, Any] = {"features": ["taint", "hooks"]} if version == 4 else {}
    doc = {
        **export(
            queue("emails", BAD_QUEUE, outputs=BAD_QUEUE, id="q", taint=True),
            queue("orders", GOOD_QUEUE, outputs=GOOD_QUEUE, id="q2"),
            version=version,
        ),
        **extra,
    }
    code, out, _ = check(capsys, _write(tmp_path, "export.json", doc))
    assert code == 1
    assert flagged(out) == {urn(tokens.AZ_SB_QUEUE, "emails"): "mandatory"}


@pytest.mark.parametrize("version", [0, 5, None, "3", True])
def test_versions_pulumi_does_not_read_are_refused(capsys, tmp_path, version: Any) -> None:
    doc = export(version=3)
    doc["version"] = version
    code, _, err = check(capsys, _write(tmp_path, "export.json", doc))
    assert code == 2
    assert f"version: expected a deployment schema version 1 to 4, as Pulumi reads (got {version!r})" in err


def test_an_empty_stack_export_has_no_resources_key(capsys, tmp_path) -> None:
    doc = {
        "version": 3,
        "deployment": {"manifest": {"time": "t", "magic": "m", "version": "v"}, "metadata": {}},
    }
    code, out, _ = check(capsys, _write(tmp_path, "export.json", doc))
    assert code == 0
    assert (out["summary"]["resources"], out["summary"]["resourcesChecked"]) == (0, 0)


def test_a_diy_checkpoint_is_read(capsys, tmp_path) -> None:
    doc = {
        "version": 3,
        "checkpoint": {
            "stack": "organization/backstop/prod",
            "latest": deployment(queue("emails", BAD_QUEUE, outputs=BAD_QUEUE, id="q")),
        },
    }
    code, out, _ = check(capsys, _write(tmp_path, "prod.json", doc))
    assert code == 1
    assert flagged(out) == {urn(tokens.AZ_SB_QUEUE, "emails"): "mandatory"}


def test_an_empty_checkpoint_is_an_empty_stack(capsys, tmp_path) -> None:
    doc = {"version": 3, "checkpoint": {"stack": "organization/backstop/dev"}}
    code, out, _ = check(capsys, _write(tmp_path, "dev.json", doc))
    assert code == 0
    assert out["summary"]["resources"] == 0
    assert out["summary"]["notes"] == ["the checkpoint has no `latest` deployment: an empty stack"]


def test_delete_true_copies_are_not_judged(capsys, tmp_path) -> None:
    doc = export(
        queue("emails", GOOD_QUEUE, outputs=GOOD_QUEUE, id="q-new"),
        queue("emails", BAD_QUEUE, outputs=BAD_QUEUE, id="q-old", delete=True),
    )
    code, out, _ = check(capsys, _write(tmp_path, "export.json", doc))
    assert code == 0
    assert out["summary"]["resources"] == 2


def test_pending_creates_are_judged_and_noted(capsys, tmp_path) -> None:
    doc = export(
        queue("orders", GOOD_QUEUE, outputs=GOOD_QUEUE, id="q1"),
        pending_operations=[
            {"resource": queue("emails", BAD_QUEUE), "type": "creating"},
            {"resource": queue("orders", BAD_QUEUE, id="q1"), "type": "updating"},
        ],
    )
    code, out, _ = check(capsys, _write(tmp_path, "export.json", doc))
    assert code == 1
    assert flagged(out) == {urn(tokens.AZ_SB_QUEUE, "emails"): "mandatory"}
    assert out["summary"]["notes"] == [
        "2 operations interrupted (pending_operations: creating emails, updating orders); resources being "
        "created or imported are judged as declared; run `pulumi refresh` so the state matches the cloud"
    ]


SUBSCRIPTION_INPUTS = {
    "deadLetteringOnMessageExpiration": True,
    "maxDeliveryCount": 5,
    "namespaceName": "bus",
    "topicName": "events",
    "resourceGroupName": "rg",
}


def test_a_deployed_and_compliant_value_is_never_reported_missing(capsys, tmp_path) -> None:
    # The program leaves the switch to the service; the provider's outputs say it is on.
    outputs = {**SUBSCRIPTION_INPUTS, "deadLetteringOnFilterEvaluationExceptions": True, "status": "Active"}
    doc = export(state(tokens.AZ_SB_SUBSCRIPTION, "indexer", SUBSCRIPTION_INPUTS, outputs=outputs, id="s"))
    code, out, _ = check(capsys, _write(tmp_path, "export.json", doc))
    assert code == 0
    assert flagged(out, "servicebus-subscription-dead-lettering") == {}


def test_deployed_drift_that_breaks_a_rule_is_reported(capsys, tmp_path) -> None:
    outputs = {**SUBSCRIPTION_INPUTS, "deadLetteringOnFilterEvaluationExceptions": True}
    outputs["deadLetteringOnMessageExpiration"] = False  # turned off in the portal
    inputs = {**SUBSCRIPTION_INPUTS, "deadLetteringOnFilterEvaluationExceptions": True}
    doc = export(state(tokens.AZ_SB_SUBSCRIPTION, "indexer", inputs, outputs=outputs, id="s"))
    code, out, _ = check(capsys, _write(tmp_path, "export.json", doc))
    assert code == 1
    (violation,) = out["violations"]
    assert violation["message"] == (
        "deadLetteringOnMessageExpiration is False: expired messages are dropped instead of dead-lettered"
    )


def test_declared_drift_that_breaks_a_rule_is_reported(capsys, tmp_path) -> None:
    # Deployed fine (fixed by hand), but the program still declares it off: the next `up` turns it off.
    inputs = {**SUBSCRIPTION_INPUTS, "deadLetteringOnFilterEvaluationExceptions": False}
    outputs = {**SUBSCRIPTION_INPUTS, "deadLetteringOnFilterEvaluationExceptions": True}
    doc = export(state(tokens.AZ_SB_SUBSCRIPTION, "indexer", inputs, outputs=outputs, id="s"))
    code, out, _ = check(capsys, _write(tmp_path, "export.json", doc))
    assert code == 1
    (violation,) = out["violations"]
    assert violation["urn"] == urn(tokens.AZ_SB_SUBSCRIPTION, "indexer")
    assert violation["message"].endswith(
        "(as the program declares it; the deployed value differs and the next `pulumi up` applies this one)"
    )


# --- encodings and unusable input -----------------------------------------------------------------------

FAILING_EXPORT = export(queue("emails", BAD_QUEUE, outputs=BAD_QUEUE, id="q"))


@pytest.mark.parametrize(
    ("bom", "encoding"),
    [
        (b"", "utf-8"),
        (codecs.BOM_UTF8, "utf-8"),
        (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be"),
    ],
)
def test_accepted_encodings_read_the_same(capsys, tmp_path, bom: bytes, encoding: str) -> None:
    path = tmp_path / "export.json"
    path.write_bytes(bom + json.dumps(FAILING_EXPORT, indent=4, ensure_ascii=False).encode(encoding))
    code, out, _ = check(capsys, path)
    assert code == 1
    assert flagged(out) == {urn(tokens.AZ_SB_QUEUE, "emails"): "mandatory"}


def test_a_pipe_reads_as_the_file_does(capsys, tmp_path) -> None:
    """`backstop check <(pulumi stack export)` passes a pipe, which cannot be mapped into memory as a file
    is (`read_json`): it is read instead, to the same verdict."""
    read, write = os.pipe()
    try:
        os.write(write, json.dumps(FAILING_EXPORT).encode())
        os.close(write)
        code, out, _ = check(capsys, Path(f"/dev/fd/{read}"))
    finally:
        os.close(read)
    assert code == 1
    assert flagged(out) == {urn(tokens.AZ_SB_QUEUE, "emails"): "mandatory"}


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            b'{"version": 3, "deployment": {"resources": ["\xff"]}}',
            "not UTF-8 text (invalid byte 0xff at offset 45)",
        ),
        (
            json.dumps(FAILING_EXPORT).encode("utf-16-le"),
            "NUL characters in the text: UTF-16 without a byte-order mark?",
        ),
        (codecs.BOM_UTF32_LE + b"{\x00\x00\x00", "UTF-32 text"),
        (b"[" * 100_000 + b"]" * 100_000, "JSON nested too deeply to read"),
        (
            json.dumps(export(queue("q", {"a": json.loads("[" * 300 + "]" * 300)}))).encode(),
            "nested more than 200 levels deep",
        ),
        (
            b'{"version": 3, "deployment": {"resources": [], "x": ' + b"9" * 5000 + b"}}",
            "unusable JSON number",
        ),
        (
            json.dumps(export(queue("q", {"maxDeliveryCount": 10**400}))).encode(),
            "deployment.resources[1].inputs.maxDeliveryCount: integer too large",
        ),
        (b'{"version": 3, "deployment": {"resources": [{"urn": "\\ud800"}]}}', "unpaired UTF-16 surrogate"),
        (b"", "not JSON"),
    ],
)
def test_unusable_input_is_exit_2_and_one_line(capsys, tmp_path, data: bytes, expected: str) -> None:
    path = tmp_path / "bad.json"
    path.write_bytes(data)
    code, out, err = check(capsys, path)
    assert (code, out) == (2, {})
    assert len(err.strip().splitlines()) == 1
    assert err.startswith(f"backstop: {path}: ")
    assert expected in err


def test_a_state_file_that_is_a_preview_is_refused(capsys, tmp_path) -> None:
    path = _write(tmp_path, "preview.json", preview(step("create", queue("q", GOOD_QUEUE)), same=2))
    code, _, err = check(capsys, path, "--state", str(path))
    assert code == 2
    assert "a preview, not a stack's state" in err


def test_a_stream_of_one_event_is_read_as_a_stream(capsys, tmp_path) -> None:
    path = tmp_path / "events.json"
    path.write_text('{"sequence": 0, "timestamp": 1, "preludeEvent": {"config": {}}}\n', encoding="utf-8")
    code, out, err = check(capsys, path)
    assert (code, err) == (0, "")
    assert out["summary"]["resources"] == 0


def _save_plan(versioned: bool) -> dict[str, Any]:
    """`pulumi preview --save-plan plan.json`: an `apitype.DeploymentPlanV1` (manifest, config,
    resourcePlans keyed by URN, each a goal with its input diff, the steps and the proposed state)."""
    bad = urn(tokens.AZ_SB_QUEUE, "orders")
    plan = {
        "manifest": {"time": "2026-11-20T10:00:00Z", "magic": "abc", "version": "v3.200.0"},
        "config": {"azure-native:location": "eastus"},
        "resourcePlans": {
            ROOT_URN: {
                "goal": {"type": tokens.STACK, "name": "backstop-prod", "custom": False, "protect": False},
                "steps": ["create"],
                "state": {},
            },
            bad: {
                "goal": {
                    "type": tokens.AZ_SB_QUEUE,
                    "name": "orders",
                    "custom": True,
                    "inputDiff": {"adds": BAD_QUEUE},
                    "outputDiff": {},
                    "parent": ROOT_URN,
                    "protect": False,
                },
                "steps": ["create"],
                "state": BAD_QUEUE,
            },
        },
    }
    return {"version": 1, "plan": plan} if versioned else plan


@pytest.mark.parametrize("versioned", [False, True], ids=["DeploymentPlanV1", "VersionedDeploymentPlan"])
def test_a_saved_update_plan_is_refused_never_passed(capsys, tmp_path, versioned: bool) -> None:
    """A plan holds each resource's changes, not the stack: read as an export it was an empty stack."""
    path = _write(tmp_path, "plan.json", _save_plan(versioned))
    code, out, err = check(capsys, path)
    assert (code, out) == (2, {})
    assert err.count("\n") == 1
    assert err.strip() == (
        f"backstop: {path}: a `pulumi preview --save-plan` file (resourcePlans): it holds each resource's "
        "changes, not the stack; pass `pulumi preview --json --show-sames` output or `pulumi stack export`"
    )
