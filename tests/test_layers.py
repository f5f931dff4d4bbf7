"""The package's folders are its layers, and every import points down (docs/layout.md).

Read from the source with `ast`, lazy imports inside functions included: a module imports only modules of
its own layer or of the layers below it, a command family under `operations/` never reaches into another,
no import circle exists between modules, only `clients/` speaks HTTP, and a module past about 500 lines
says at its top why.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "backstop"

# Top to bottom. A module at the package's root (`cli.py`, `__main__.py`) is the command line, the top.
LAYERS = ("cli", "operations", "restore", "report", "program", "policy", "clients", "config", "ground")
# Libraries that open HTTP connections or sign requests for them: only `clients/` may import them.
HTTP_LIBRARIES = (
    "requests",
    "urllib3",
    "http.client",
    "urllib.request",
    "azure.mgmt",
    "azure.identity",
    "boto3",
)
SIZE_LIMIT = 500


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules(root: Path) -> dict[str, Path]:
    return {_module_name(path, root): path for path in sorted(root.rglob("*.py"))}


def _imports(module: str, path: Path) -> Iterator[tuple[tuple[str, ...], int]]:
    """Every import of `module`: the names it may mean, most specific first (`from a import b` is module
    `a.b`, else `a`), and its line; relative imports resolved."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield (alias.name,), node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                name = ".".join([*base, *([node.module] if node.module else [])])
            else:
                name = node.module or ""
            for alias in node.names:
                yield (f"{name}.{alias.name}", name), node.lineno


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and parts[1] in LAYERS) else "cli"


def _edges(root: Path) -> Iterator[tuple[str, str, int]]:
    """(importer, imported, line) for every import of one of the package's own modules."""
    modules = _modules(root)
    for module, path in modules.items():
        for names, line in _imports(module, path):
            name = next((n for n in names if n in modules), None)
            if name is not None and name != module:
                yield module, name, line


def layer_violations(root: Path = PACKAGE) -> list[str]:
    problems = []
    for importer, imported, line in _edges(root):
        source, target = _layer(importer), _layer(imported)
        where = f"{importer} (line {line}) imports {imported}"
        if source not in LAYERS or target not in LAYERS:
            problems.append(f"{where}: {importer if source not in LAYERS else imported} is in no layer")
        elif LAYERS.index(target) < LAYERS.index(source):
            problems.append(f"{where}: {target} is above {source}")
        elif source == target == "operations" and importer.split(".")[2] != imported.split(".")[2]:
            problems.append(f"{where}: one command family reaches into another")
    return list(dict.fromkeys(problems))


def import_cycles(root: Path = PACKAGE) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each sorted."""
    graph: dict[str, set[str]] = {module: set() for module in _modules(root)}
    for importer, imported, _ in _edges(root):
        # A package's `__init__` importing its own submodules is how a package re-exports, not a circle.
        if not imported.startswith(importer + "."):
            graph[importer].add(imported)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for following in graph[node]:
            if following not in index:
                visit(following)
                low[node] = min(low[node], low[following])
            elif following in on_stack:
                low[node] = min(low[node], index[following])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return cycles


def http_outside_clients(root: Path = PACKAGE) -> list[str]:
    problems = []
    for module, path in _modules(root).items():
        if _layer(module) == "clients":
            continue
        for names, line in _imports(module, path):
            name = names[-1] if len(names) > 1 else names[0]
            if any(name == lib or name.startswith(lib + ".") for lib in HTTP_LIBRARIES):
                problems.append(f"{module} (line {line}) imports {name}")
    return sorted(set(problems))


def long_modules_without_reason(root: Path = PACKAGE) -> list[str]:
    """Modules past the limit whose docstring does not say why they are long ("Long because ...")."""
    problems = []
    for module, path in _modules(root).items():
        text = path.read_text(encoding="utf-8")
        if len(text.splitlines()) > SIZE_LIMIT:
            doc = ast.get_docstring(ast.parse(text)) or ""
            if "Long because" not in doc:
                problems.append(f"{module}: {len(text.splitlines())} lines")
    return problems


def test_every_folder_is_a_layer() -> None:
    folders = {p.name for p in PACKAGE.iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert folders == set(LAYERS) - {"cli"}
    loose = {p.name for p in PACKAGE.glob("*.py")}
    assert loose == {"__init__.py", "__main__.py", "cli.py"}


def test_every_import_points_down() -> None:
    assert layer_violations() == []


def test_no_import_circles() -> None:
    assert import_cycles() == []


def test_only_clients_speak_http() -> None:
    assert http_outside_clients() == []


def test_long_modules_say_why() -> None:
    assert long_modules_without_reason() == []


# --- the checks themselves catch what they are for ----------------------------------------------------------


def _package(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "backstop"
    for name, text in {"__init__.py": "", **files}.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        for parent in path.relative_to(root).parents:
            (root / parent / "__init__.py").touch()
        path.write_text(text)
    return root


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        (
            {
                "config/stack.py": "from backstop.program.components import app\n",
                "program/components/app.py": "",
            },
            [
                "backstop.config.stack (line 1) imports backstop.program.components.app: "
                "program is above config"
            ],
        ),
        (
            {
                "report/objectives.py": "def f():\n    from backstop.operations.drill import run\n",
                "operations/drill/run.py": "",
            },
            [
                "backstop.report.objectives (line 2) imports backstop.operations.drill.run: "
                "operations is above report"
            ],
        ),
        (
            {
                "operations/recover/plan.py": "from backstop.operations.drill.run import MODE\n",
                "operations/drill/run.py": "MODE = 1\n",
            },
            [
                "backstop.operations.recover.plan (line 1) imports backstop.operations.drill.run: "
                "one command family reaches into another"
            ],
        ),
        (
            {"objectives.py": "", "cli.py": "from backstop import objectives\n"},
            [],  # the package root is the command line's: nothing is above it
        ),
        (
            {"ground/tokens.py": "from backstop import cli\n", "cli.py": ""},
            ["backstop.ground.tokens (line 1) imports backstop.cli: cli is above ground"],
        ),
    ],
)
def test_an_upward_import_is_named(tmp_path: Path, files: dict[str, str], expected: list[str]) -> None:
    assert layer_violations(_package(tmp_path, files)) == expected


def test_the_old_circle_is_found(tmp_path: Path) -> None:
    """The report's objectives and the application scenarios importing each other, as they once did."""
    root = _package(
        tmp_path,
        {
            "report/objectives.py": "def rows():\n    from backstop.report.app_scenarios import app_rows\n",
            "report/app_scenarios.py": "from backstop.report.objectives import scenario_row\n",
        },
    )
    assert import_cycles(root) == [["backstop.report.app_scenarios", "backstop.report.objectives"]]


def test_http_and_length_outside_their_place_are_named(tmp_path: Path) -> None:
    root = _package(
        tmp_path,
        {
            "operations/rollback/drill.py": "def probe():\n    import requests\n",
            "clients/atlas.py": "import requests\n",
            "report/long.py": '"""Short."""\n' + "x = 1\n" * SIZE_LIMIT,
            "report/reasoned.py": '"""Long because it is one table."""\n' + "x = 1\n" * SIZE_LIMIT,
        },
    )
    assert http_outside_clients(root) == ["backstop.operations.rollback.drill (line 2) imports requests"]
    assert long_modules_without_reason(root) == [f"backstop.report.long: {SIZE_LIMIT + 1} lines"]
