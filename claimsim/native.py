"""Which adjudication engine runs: the mypyc-compiled copies of `claimsim.adjudication.engine`'s
modules that `pip install` built (setup.py), or their Python sources, which stay the reference.

The compiled copies sit beside the sources under the same module names, and Python would load
them first. A finder placed ahead of the others decides once, at the engine's first import:
compiled only if every module the build compiled is there and its source is byte for byte the
one it was built from (`native.json`: module -> sha256 of the source), and `CLAIMSIM_PURE` is not
set; otherwise every engine module loads from its `.py`. An edited source thus never runs as a
stale compiled copy (`pip install -e .` compiles again), and the group is all or none (its
modules call each other natively).
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
MANIFEST = "native.json"
PURE_ENV = "CLAIMSIM_PURE"


def _decide(folder: Path) -> str:
    """'native', or why the engine runs pure."""
    if os.environ.get(PURE_ENV, "") not in ("", "0"):
        return f"pure ({PURE_ENV} is set)"
    try:
        sources = json.loads((folder / MANIFEST).read_text())["sources"]
    except (OSError, ValueError, KeyError):
        return "pure (no compiled engine built)"
    suffix = importlib.machinery.EXTENSION_SUFFIXES[0]
    for name, digest in sources.items():
        try:
            source = (folder / f"{name}.py").read_bytes()
        except OSError:
            return f"pure ({name}.py missing)"
        if hashlib.sha256(source).hexdigest() != digest or not (folder / f"{name}{suffix}").exists():
            return f"pure (the compiled engine is older than {name}.py: pip install -e . rebuilds it)"
    return "native"


class _EngineFinder(MetaPathFinder):
    """Loads the engine's modules from their sources unless the compiled group is to run."""

    def __init__(self) -> None:
        self.engine: str | None = None  # `_decide`'s answer, once the engine's folder is known

    def find_spec(self, name, path, target=None):  # noqa: ANN001 (the MetaPathFinder protocol)
        if not name.startswith(PACKAGE + ".") or not path:
            return None
        folder = Path(next(iter(path)))
        if self.engine is None:
            self.engine = _decide(folder)
        if self.engine == "native":
            return None  # the path finder picks the extension module
        source = folder / f"{name.rpartition('.')[2]}.py"
        return importlib.util.spec_from_file_location(name, source) if source.exists() else None


_FINDER = _EngineFinder()


def install() -> None:
    """Put the finder first (idempotent); `claimsim/__init__.py` calls it before any engine import."""
    if _FINDER not in sys.meta_path:
        sys.meta_path.insert(0, _FINDER)


def engine_kind() -> str:
    """'native' or 'pure (why)': the engine this process runs (importing it if need be)."""
    import claimsim.adjudication.engine.core  # noqa: F401  (decides)

    return _FINDER.engine or "pure (no compiled engine built)"
