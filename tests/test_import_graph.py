"""The layering DESIGN.md "Layout" draws, read from the source: every `import` and `from ... import`
(at module level or inside a function) of every file, checked against what its folder may import.

events <- adjudication, simulator; scenarios, benchmarks and the entry point may import all.
Inside adjudication: engine and projections import only events (never each other), runtimes
imports engine, audit imports all three. Tests import only `claimsim.*` and their own fixtures.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCE_FOLDERS = ("events", "adjudication", "simulator", "scenarios", "benchmarks", "claimsim")

# (importing area, imported area): the allowed edges. An area is a dotted path under `claimsim`;
# the longest matching prefix names a module's area.
ALLOWED: dict[str, set[str]] = {
    "events": {"events"},
    "simulator": {"events", "simulator"},
    "adjudication": set(),  # the package's own __init__ is a map and imports nothing
    "adjudication.engine": {"events", "adjudication.engine"},
    "adjudication.projections": {"events", "adjudication.projections"},
    "adjudication.runtimes": {"events", "adjudication.engine", "adjudication.runtimes", "version"},
    "adjudication.audit": {"events", "adjudication.engine", "adjudication.projections",
                           "adjudication.runtimes", "adjudication.audit"},
    "scenarios": {"events", "adjudication.engine", "adjudication.projections",
                  "adjudication.runtimes", "adjudication.audit", "simulator", "scenarios",
                  "version"},
    "benchmarks": {"*"},
    "claimsim": {"*"},
}
AREAS = sorted(ALLOWED, key=len, reverse=True)


def area_of(dotted: str) -> str:
    """`adjudication.engine.core` -> `adjudication.engine`; `claimsim` itself (the package's
    `__init__`, which holds only the version) is `version`."""
    if dotted == "":
        return "version"
    for area in AREAS:
        if dotted == area or dotted.startswith(area + "."):
            return area
    return dotted.split(".")[0]


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[0] == "claimsim":
        parts = parts[1:]
    if parts and parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def own_area(path: Path) -> str:
    """The area a file belongs to: the entry-point folder `claimsim/` is its own area."""
    if path.relative_to(ROOT).parts[0] == "claimsim":
        return "claimsim"
    return area_of(module_name(path))


def imports_of(path: Path) -> list[tuple[int, str]]:
    """(line, absolute module) for every import in the file, relative ones resolved."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, a.name) for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                found.append((node.lineno, "claimsim." + ".".join(base + ([node.module] if node.module else []))))
            else:
                found.append((node.lineno, node.module or ""))
    return found


def source_files() -> list[Path]:
    return sorted(p for folder in SOURCE_FOLDERS for p in (ROOT / folder).rglob("*.py"))


def forbidden_edges(files: list[Path]) -> list[str]:
    bad = []
    for path in files:
        own = own_area(path)
        allowed = ALLOWED[own]
        for line, target in imports_of(path):
            if target != "claimsim" and not target.startswith("claimsim."):
                continue
            other = area_of(target.removeprefix("claimsim").removeprefix("."))
            if "*" not in allowed and other not in allowed:
                bad.append(f"{path.relative_to(ROOT)}:{line}: {own} may not import {target}")
    return bad


def test_every_source_file_sits_in_a_known_area():
    assert source_files(), "no source files found: the test would pass vacuously"
    unknown = [p for p in source_files() if own_area(p) not in ALLOWED]
    assert unknown == []


def test_no_import_crosses_the_layers_design_forbids():
    assert forbidden_edges(source_files()) == []


@pytest.mark.parametrize("importer, source, verdict", [
    ("adjudication/engine/x.py", "from claimsim.adjudication.projections.state import PayerState", False),
    ("adjudication/projections/x.py", "from claimsim.adjudication.engine import adjudicate", False),
    ("adjudication/runtimes/x.py", "from claimsim.adjudication.engine.core import adjudicate", True),
    ("adjudication/runtimes/x.py", "import claimsim.adjudication.audit.replay", False),
    ("adjudication/audit/x.py", "from claimsim.adjudication.runtimes import embedded", True),
    ("simulator/x.py", "from claimsim.adjudication.engine import Settings", False),
    ("events/x.py", "from claimsim.simulator import SimConfig", False),
    ("events/interchange/x.py", "from claimsim.events.log import read", True),
    ("adjudication/engine/x.py", "def f():\n    from claimsim.adjudication.audit import fold", False),
    ("adjudication/projections/x.py", "from ..engine import core", False),
])
def test_the_checker_itself_catches_a_forbidden_edge(tmp_path, monkeypatch, importer, source, verdict):
    """The rule table is only as good as the checker: plant one import and see it judged."""
    planted = tmp_path / importer
    planted.parent.mkdir(parents=True)
    planted.write_text(source + "\n")
    monkeypatch.setattr(__import__(__name__, fromlist=["ROOT"]), "ROOT", tmp_path)
    assert (forbidden_edges([planted]) == []) is verdict


def test_tests_import_only_the_installed_namespace_and_their_fixtures():
    """Tests load code only as `claimsim.*` (DESIGN.md: no generic top-level module) and never
    the benchmark suites (the load-test harness, `claimsim.benchmarks.loadtest`, is a command
    with its own tests); fixtures are a package imported relatively, with no sys.path edits."""
    bad = []
    for path in sorted((ROOT / "tests").rglob("*.py")):
        text = path.read_text()
        if "sys.path" in text and path.name != Path(__file__).name:
            bad.append(f"{path.relative_to(ROOT)}: edits sys.path")
        for line, target in imports_of(path):
            top = target.split(".")[0]
            if top in {"events", "adjudication", "simulator", "scenarios", "benchmarks"}:
                bad.append(f"{path.relative_to(ROOT)}:{line}: imports top-level {target}")
            if target.startswith("claimsim.benchmarks") and not target.startswith(
                    "claimsim.benchmarks.loadtest"):
                bad.append(f"{path.relative_to(ROOT)}:{line}: imports the benchmarks")
    assert bad == []
