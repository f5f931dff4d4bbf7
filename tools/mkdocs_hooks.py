"""MkDocs hooks (mkdocs.yml `hooks:`): the README is the site's home page, and a stale rules reference
fails the strict build.

The README stays the repository's front page, so the home page is generated from it rather than kept as a
second copy: its links into `docs/` are made relative to the site. The rules reference is a committed page
written from the rule registry (`backstop.policy.reference`); building it here instead would hide it from
readers on GitHub, so the build only checks it is current and warns (an error under `--strict`).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files

log = logging.getLogger("mkdocs.hooks.backstop")
ROOT = Path(__file__).resolve().parents[1]


def home_page(readme: str) -> str:
    """The README with its links into docs/ made relative to the docs directory."""
    return readme.replace("](docs/", "](")


def readme_links_to_home(markdown: str, src_uri: str) -> str:
    """A page's link to the repository's README (`../README.md` from docs/, right on GitHub) as a link to
    the site's home page, which is that README."""
    depth = src_uri.count("/")
    up = "../" * depth
    return re.sub(r"\]\(" + re.escape("../" + up) + r"README\.md(#[^)]*)?\)", rf"]({up}index.md\1)", markdown)


def on_page_markdown(markdown: str, page: Any, config: Any, files: Files) -> str:
    return readme_links_to_home(markdown, page.file.src_uri)


def on_files(files: Files, config: Any) -> Files:
    if files.get_file_from_path("index.md") is None:
        text = home_page((ROOT / "README.md").read_text(encoding="utf-8"))
        files.append(File.generated(config, "index.md", content=text))
    return files


def on_pre_build(config: Any) -> None:
    from backstop.policy.core import load_rules
    from backstop.policy.reference import COMMAND, render

    page = Path(config["docs_dir"]) / "rules-reference.md"
    if not page.is_file() or page.read_text(encoding="utf-8") != render(load_rules()):
        log.warning("%s is out of date with the rule registry; regenerate it: %s", page.name, COMMAND)
