"""backstop is a library installed next to a user's own Pulumi providers: pyproject.toml declares
compatible ranges, and constraints.txt holds the one exact set that CI and the README install."""

from __future__ import annotations

import re
import tomllib

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from tests.conftest import ROOT

PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
RUNTIME = [Requirement(line) for line in PROJECT["dependencies"]]
DEV = [Requirement(line) for line in PROJECT["optional-dependencies"]["dev"]]


def constraints() -> dict[str, Version]:
    pins: dict[str, Version] = {}
    for number, line in enumerate((ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        match = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;]+)", line)
        assert match, f"constraints.txt:{number}: not an exact pin: {line}"
        name = canonicalize_name(match.group(1))
        assert name not in pins, f"constraints.txt:{number}: {name} pinned twice"
        pins[name] = Version(match.group(2))
    return pins


@pytest.mark.parametrize("requirement", RUNTIME, ids=str)
def test_every_runtime_dependency_is_a_compatible_range_with_an_upper_bound(requirement: Requirement) -> None:
    operators = {spec.operator for spec in requirement.specifier}
    assert operators == {">=", "<"}, f"{requirement}: a range >=lower,<next-major, not a pin"
    (upper,) = [Version(s.version) for s in requirement.specifier if s.operator == "<"]
    (lower,) = [Version(s.version) for s in requirement.specifier if s.operator == ">="]
    assert upper == Version(f"{lower.major + 1}"), f"{requirement}: the upper bound is the next major"


@pytest.mark.parametrize("requirement", RUNTIME + DEV, ids=str)
def test_constraints_pin_every_dependency_inside_its_range(requirement: Requirement) -> None:
    pins = constraints()
    name = canonicalize_name(requirement.name)
    assert name in pins, f"constraints.txt: no exact pin for {requirement.name}"
    assert requirement.specifier.contains(pins[name], prereleases=True), (
        f"constraints.txt: {requirement.name}=={pins[name]} is outside {requirement}"
    )


def test_the_provider_majors_are_the_ones_the_program_is_written_against() -> None:
    ranges = {canonicalize_name(r.name): str(r.specifier) for r in RUNTIME}
    assert {name: ranges[name] for name in ranges if name.startswith("pulumi")} == {
        "pulumi": "<4,>=3.200",
        "pulumi-policy": "<2,>=1.20",
        "pulumi-mongodbatlas": "<5,>=4",
        "pulumi-aws": "<8,>=7",
        "pulumi-azure-native": "<4,>=3",
        "pulumi-cloudflare": "<7,>=6",
    }


def test_the_installed_environment_is_the_constrained_one() -> None:
    """This run's packages are the pinned ones (a venv installed without -c would drift from CI's)."""
    from importlib.metadata import version

    pins = constraints()
    drifted = {
        r.name: (version(r.name), str(pins[canonicalize_name(r.name)]))
        for r in RUNTIME
        if Version(version(r.name)) != pins[canonicalize_name(r.name)]
    }
    assert drifted == {}
