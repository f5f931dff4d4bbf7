"""`AutomationDrillStacks` drives the real `pulumi.automation` API; here every call it makes is checked
against the installed SDK's own signatures (no Pulumi CLI is available to run them)."""

from __future__ import annotations

import inspect
from datetime import UTC, datetime, timedelta
from importlib.metadata import version
from typing import Any

import pytest
from pulumi import automation as auto
from pulumi.automation._cmd import CommandResult

from backstop.restore.stacks import AutomationDrillStacks, DrillStackInfo, effective_expiry


class _Workspace:
    def __init__(self, log: list[tuple[Any, ...]]) -> None:
        self.log = log

    def install_plugin(self, *args: Any, **kwargs: Any) -> None:
        inspect.signature(auto.LocalWorkspace.install_plugin).bind(self, *args, **kwargs)
        self.log.append(("install_plugin", *args))


class _Stack:
    def __init__(self, log: list[tuple[Any, ...]], fail_tags: bool = False) -> None:
        self.log = log
        self.fail_tags = fail_tags
        self.workspace = _Workspace(log)

    def set_tag(self, key: str, value: str) -> None:
        inspect.signature(auto.Stack.set_tag).bind(self, key, value)
        if self.fail_tags:
            raise auto.CommandError(CommandResult("", "stack tags are not supported", 255))
        self.log.append(("set_tag", key, value))

    def up(self, **kwargs: Any) -> Any:
        inspect.signature(auto.Stack.up).bind(self, **kwargs)
        kwargs["on_output"]("Updating (drill-20260518-030000-abcdef)")
        self.log.append(("up",))
        outputs = {"clusterName": auto.OutputValue("drill-20260518-030000-abcdef", False)}
        return type("UpResult", (), {"outputs": outputs})()

    def destroy(self, **kwargs: Any) -> None:
        inspect.signature(auto.Stack.destroy).bind(self, **kwargs)
        self.log.append(("destroy", kwargs.get("remove")))


@pytest.fixture()
def log() -> list[tuple[Any, ...]]:
    return []


def _stack_factory(log: list[tuple[Any, ...]], name: str, fail_tags: bool = False):
    real = getattr(auto, name)

    def factory(*args: Any, **kwargs: Any) -> _Stack:
        bound = inspect.signature(real).bind(*args, **kwargs)
        assert bound.arguments["project_name"] == "backstop-drill"
        assert callable(bound.arguments["program"])
        assert bound.arguments["opts"].project_settings.name == "backstop-drill"
        log.append((name, bound.arguments["stack_name"]))
        return _Stack(log, fail_tags)

    return factory


def test_up_creates_a_new_stack_tags_it_installs_the_provider_and_returns_plain_outputs(
    monkeypatch: pytest.MonkeyPatch, log: list[tuple[Any, ...]]
) -> None:
    monkeypatch.setattr(auto, "create_stack", _stack_factory(log, "create_stack"))
    lines: list[str] = []
    outputs = AutomationDrillStacks().up(
        "drill-20260518-030000-abcdef",
        lambda: None,
        lines.append,
        {"backstop:expiresAt": "2026-05-18T09:00:00Z"},
    )
    assert outputs == {"clusterName": "drill-20260518-030000-abcdef"}
    assert log == [
        ("create_stack", "drill-20260518-030000-abcdef"),
        ("set_tag", "backstop:expiresAt", "2026-05-18T09:00:00Z"),
        ("install_plugin", "mongodbatlas", "v" + version("pulumi_mongodbatlas")),
        ("up",),
    ]
    assert lines == ["Updating (drill-20260518-030000-abcdef)"]


def test_a_backend_without_stack_tags_still_gets_its_drill(
    monkeypatch: pytest.MonkeyPatch, log: list[tuple[Any, ...]]
) -> None:
    monkeypatch.setattr(auto, "create_stack", _stack_factory(log, "create_stack", fail_tags=True))
    lines: list[str] = []
    AutomationDrillStacks().up("drill-x", lambda: None, lines.append, {"backstop:expiresAt": "later"})
    assert ("up",) in log
    assert (
        lines[0]
        == "stack tag backstop:expiresAt not set (backend without stack tags); expiry is in the outputs"
    )


def test_destroy_selects_the_stack_and_removes_it(
    monkeypatch: pytest.MonkeyPatch, log: list[tuple[Any, ...]]
) -> None:
    monkeypatch.setattr(auto, "select_stack", _stack_factory(log, "select_stack"))
    AutomationDrillStacks().destroy("drill-20260518-030000-abcdef", lambda line: None)
    assert log == [("select_stack", "drill-20260518-030000-abcdef"), ("destroy", True)]


def test_list_keeps_only_drill_stacks_with_their_recorded_expiry(monkeypatch: pytest.MonkeyPatch) -> None:
    class Workspace:
        def __init__(self, **kwargs: Any) -> None:
            inspect.signature(auto.LocalWorkspace.__init__).bind(self, **kwargs)

        def list_stacks(self) -> list[auto.StackSummary]:
            return [
                auto.StackSummary("org/backstop-drill/drill-20260518-030000-abcdef", False),
                auto.StackSummary("org/backstop-drill/drill-20260517-030000-123456", False),
                auto.StackSummary("org/backstop-drill/prod", False),
            ]

        def stack_outputs(self, name: str) -> dict[str, auto.OutputValue]:
            if name.endswith("abcdef"):
                return {"expiresAt": auto.OutputValue("2026-05-18T09:00:00+00:00", False)}
            return {}

    monkeypatch.setattr(auto, "LocalWorkspace", Workspace)
    infos = AutomationDrillStacks().list()
    assert infos == [
        DrillStackInfo(
            "org/backstop-drill/drill-20260518-030000-abcdef", datetime(2026, 5, 18, 9, tzinfo=UTC)
        ),
        DrillStackInfo("org/backstop-drill/drill-20260517-030000-123456", None),
    ]
    assert effective_expiry(infos[1], timedelta(hours=6)) == datetime(2026, 5, 17, 9, tzinfo=UTC)
