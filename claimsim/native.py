"""Which adjudication engine, projections fold, simulator, runtime glue and input reader run: the
mypyc-compiled copies of `claimsim.adjudication.engine`'s,
`claimsim.adjudication.projections.fold`'s, `claimsim.simulator`'s,
`claimsim.adjudication.runtimes`' and `claimsim.events`' modules that `pip install` built
(setup.py's GROUPS: in the last two, only the per-input hot path), or their Python sources,
which stay the reference.

The compiled copies sit beside the sources under the same module names, and Python would load
them first. A finder placed ahead of the others decides once per package, at its first module's
import: compiled only if every module the build compiled there is present and its source is byte
for byte the one it was built from (`native.json`: module -> sha256 of the source), and
`CLAIMSIM_PURE` is not set; otherwise every module of the package loads from its `.py`. An edited
source thus never runs as a stale compiled copy (`pip install -e .` compiles again), and each
package's group is all or none (its modules call each other natively). A package's modules
outside its group (in the runtimes and events, most of them) always load from their `.py`, even
beside a compiled copy an earlier build of a larger group left there.
"""

from __future__ import annotations

import hashlib
import importlib.machinery
import importlib.util
import json
import os
import sys
from importlib.abc import MetaPathFinder
from pathlib import Path

PACKAGE = "claimsim.adjudication.engine"
FOLD = "claimsim.adjudication.projections.fold"
SIMULATOR = "claimsim.simulator"
RUNTIMES = "claimsim.adjudication.runtimes"  # the embedded runtime's per-input loop
EVENTS = "claimsim.events"  # the input reader and the canonical encoding
# Each a group compiled apart (setup.py's GROUPS).
PACKAGES = (PACKAGE, FOLD, SIMULATOR, RUNTIMES, EVENTS)
MANIFEST = "native.json"
PURE_ENV = "CLAIMSIM_PURE"


def _decide(folder: Path) -> str:
    """'native', or why the engine runs pure."""
    if os.environ.get(PURE_ENV, "") not in ("", "0"):
        return f"pure ({PURE_ENV} is set)"
    try:
        sources = json.loads((folder / MANIFEST).read_text())["sources"]
    except (OSError, ValueError, KeyError):
        return "pure (not compiled)"
    suffix = importlib.machinery.EXTENSION_SUFFIXES[0]
    for name, digest in sources.items():
        try:
            source = (folder / f"{name}.py").read_bytes()
        except OSError:
            return f"pure ({name}.py missing)"
        if hashlib.sha256(source).hexdigest() != digest or not (folder / f"{name}{suffix}").exists():
            return f"pure (the compiled copy is older than {name}.py: pip install -e . rebuilds it)"
    return "native"


def _compiled(folder: Path) -> frozenset[str]:
    """The modules of a package's native group (its `MANIFEST`, which `_decide` has read), and
    the group's shared library, which their compiled copies import."""
    return frozenset(json.loads((folder / MANIFEST).read_text())["sources"]) | {"native__mypyc"}


class _NativeFinder(MetaPathFinder):
    """Loads each package's modules from their sources unless its compiled group is to run."""

    def __init__(self) -> None:
        self.kinds: dict[str, str] = {}  # package -> `_decide`'s answer, once its folder is known
        self.compiled: dict[str, frozenset[str]] = {}  # package -> its native group's modules

    def find_spec(self, name, path, target=None):  # noqa: ANN001 (the MetaPathFinder protocol)
        package, _, module = name.rpartition(".")
        if package not in PACKAGES or not path:
            return None
        folder = Path(next(iter(path)))
        kind = self.kinds.get(package)
        if kind is None:
            kind = self.kinds[package] = _decide(folder)
            self.compiled[package] = _compiled(folder) if kind == "native" else frozenset()
        if module in self.compiled[package]:
            return None  # the path finder picks the extension module
        # Its source: a module outside the group, even if a copy of it compiled by an earlier
        # build (of a group that held it) is still there.
        source = folder / f"{module}.py"
        return importlib.util.spec_from_file_location(name, source) if source.exists() else None


_FINDER = _NativeFinder()


def install() -> None:
    """Put the finder first (idempotent); `claimsim/__init__.py` calls it before any engine import."""
    if _FINDER not in sys.meta_path:
        sys.meta_path.insert(0, _FINDER)


def _kind(package: str, module: str) -> str:
    """'native' or 'pure (why)': how `package` runs in this process, decided when `module` (one
    of its modules) is first imported, which this does if need be."""
    importlib.import_module(module)
    return _FINDER.kinds.get(package, "pure (not compiled)")


def engine_kind() -> str:
    """'native' or 'pure (why)': the engine this process runs (importing it if need be)."""
    return _kind(PACKAGE, "claimsim.adjudication.engine.core")


def fold_kind() -> str:
    """'native' or 'pure (why)': the projections' fold this process runs (importing it if need be)."""
    return _kind(FOLD, "claimsim.adjudication.projections.fold.claims")


def python_build() -> str:
    """The interpreter this process runs: its version and build line, and the real executable (a
    venv's `python` resolved). The build alone moves every rate `claimsim bench` prints: on one
    machine the same commit ran faster on Debian's python3.11 package (libpython linked into the
    executable) than on pyenv's default build of 3.11.7 (configured without
    --enable-optimizations or --with-lto, libpython a shared library): 4-12 % the adjudication,
    33-54 % the replay (docs/performance.md, 2026-12-04 afternoon). Sittings compare on one."""
    return f"{' '.join(sys.version.split())} at {os.path.realpath(sys.executable)}"


def simulator_kind() -> str:
    """'native' or 'pure (why)': the simulator's compiled modules (setup.py's GROUPS) or their
    sources (importing them if need be)."""
    return _kind(SIMULATOR, "claimsim.simulator.care")


def runtimes_kind() -> str:
    """'native' or 'pure (why)': the runtimes' compiled modules (the embedded runtime's loop, the
    partition processor, its records and stats) or their sources (importing them if need be)."""
    return _kind(RUNTIMES, "claimsim.adjudication.runtimes.processor")


def events_kind() -> str:
    """'native' or 'pure (why)': the events package's compiled modules (the input reader and the
    canonical encoding) or their sources (importing them if need be)."""
    return _kind(EVENTS, "claimsim.events.input_reader")


def kinds() -> dict[str, str]:
    """Each compiled group's kind in this process (`claimsim bench` prints them), by what it is."""
    return {"adjudication engine": engine_kind(), "projections fold": fold_kind(),
            "simulator": simulator_kind(), "runtime glue": runtimes_kind(),
            "input reader": events_kind()}
