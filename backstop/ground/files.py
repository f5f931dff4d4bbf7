"""The files every subcommand checks or writes alike: the Pulumi project directory it reads, and the
summaries and result documents it writes, each problem one line naming the path."""

from __future__ import annotations

from pathlib import Path

from backstop.ground.errors import UsageError


def project_dir(value: str | Path) -> Path:
    """`--project-dir`, refused unless it holds a `Pulumi.yaml`."""
    path = Path(value)
    if not (path / "Pulumi.yaml").is_file():
        raise UsageError(f"{path / 'Pulumi.yaml'}: not a Pulumi project directory")
    return path


PROJECT_DIR_HELP = (
    "directory holding Pulumi.yaml (default: the nearest one at or above the working directory)"
)


def find_project_dir(start: Path) -> Path:
    """The nearest directory at or above `start` holding a `Pulumi.yaml`, as the Pulumi CLI finds it, so a
    command run from a subdirectory of the project reads the project's stack files."""
    start = start.resolve()
    for directory in (start, *start.parents):
        if (directory / "Pulumi.yaml").is_file():
            return directory
    raise UsageError(f"{start}: no Pulumi.yaml here or in any parent directory (pass --project-dir)")


def write_output(path: str | None, text: str) -> None:
    """Write `text` to `path` (its directories created), nothing when no path was given."""
    if not path:
        return
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"{target}: cannot write: {exc.strerror or exc}") from None
