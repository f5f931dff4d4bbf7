"""The world every `backstop recover` test starts from: prod audited, the loss handled two hours later."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from backstop.cli import main
from backstop.restore import runtime
from tests.fakes.recover_world import RecoverWorld


@pytest.fixture(name="audited")
def audited_world(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Iterator[RecoverWorld]:
    """A recover world whose Tier-2 audit ran at NOW (the attested manifest verify compares against); the
    clock then stands two hours later, when the loss is handled."""
    with RecoverWorld(tmp_path) as world:
        monkeypatch.setattr(runtime, "RUNTIME", world.runtime())
        assert main(world.args("audit", "--stack", "prod")) == 0
        capsys.readouterr()
        world.clock.advance(hours=2)
        yield world
