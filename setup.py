"""Build hook: compile the pure adjudication engine with mypyc, when it can, into native copies
that `claimsim.native` loads in place of the Python sources (which stay the reference).

`pip install -e .` (and a wheel build) runs this. If mypyc or a C compiler is missing, or the
build fails, the install goes on without the native copies and claimsim runs the pure engine.
`CLAIMSIM_NO_MYPYC=1` at install time skips the compilation; `CLAIMSIM_PURE=1` at run time
ignores native copies that were built.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = Path(__file__).resolve().parent
# The engine's modules compiled as one group (they call each other natively, so the loader takes
# all of them or none); the package `__init__` stays Python. Names as installed.
PACKAGE = "claimsim.adjudication.engine"
MODULES = ("claims", "context", "core", "cost_share", "family", "file_pricing", "line_results",
           "pricing", "programs", "validation")
GROUP = f"{PACKAGE}.native"  # the shared library: `native__mypyc` in the engine's folder
MANIFEST = "native.json"  # beside it: module -> sha256 of the source it was built from (`claimsim.native`)


_DIGESTS: dict[str, str] = {}  # module -> sha256 of the source compiled (`_native_extensions`)


def _stage() -> Path:
    """mypy names a module after its folders: a tree `build/mypyc-stage/claimsim/...` whose
    folders link to the root folders gives the engine its installed name."""
    stage = ROOT / "build" / "mypyc-stage"
    shutil.rmtree(stage, ignore_errors=True)
    (stage / "claimsim").mkdir(parents=True)
    (stage / "claimsim" / "__init__.py").write_text("")
    for folder in ("events", "adjudication"):
        (stage / "claimsim" / folder).symlink_to(ROOT / folder, target_is_directory=True)
    return stage


def _native_extensions() -> list:
    if os.environ.get("CLAIMSIM_NO_MYPYC"):
        return []
    try:
        from mypyc.build import mypycify
    except ImportError:
        print("claimsim: mypyc not available, the engine stays pure Python", file=sys.stderr)
        return []
    stage = _stage()
    # What the copies are built from, read before mypy reads it (a source edited during the
    # build then makes them stale, as it should).
    _DIGESTS.update({name: hashlib.sha256((ROOT / "adjudication/engine" / f"{name}.py").read_bytes()
                                          ).hexdigest() for name in MODULES})
    paths = [str(stage / "claimsim/adjudication/engine" / f"{name}.py") for name in MODULES]
    cwd = os.getcwd()
    os.chdir(stage)  # mypy resolves `claimsim.*` from here
    try:
        # The engine is checked as typed; what it imports (pydantic, the rest of `events`) is
        # read only for its types, and may be absent from the build's own environment.
        options = ["--follow-imports=silent", "--ignore-missing-imports"]
        extensions = mypycify(options + paths, group_name=GROUP, opt_level="3",
                              target_dir=str(ROOT / "build" / "mypyc-c"))
    except BaseException as err:  # a type error or a mypy crash: stay pure  (mypy exits)
        print(f"claimsim: mypyc could not compile the engine ({err!r}); it stays pure Python",
              file=sys.stderr)
        return []
    finally:
        os.chdir(cwd)
    for ext in extensions:
        ext.optional = True  # a failed C build leaves the pure engine, not a failed install
    return extensions


class BuildNative(build_ext):
    """build_ext that records what the native copies were built from (`MANIFEST`: module ->
    sha256 of its source), written only when every extension built: `claimsim.native` loads
    them only while the sources are still exactly those."""

    def finalize_options(self) -> None:
        # Compiled here, not when setup.py is read: pip reads it three times per install.
        if self.distribution.ext_modules and self.distribution.ext_modules[0].sources == []:
            self.distribution.ext_modules = _native_extensions()
        super().finalize_options()

    def run(self) -> None:
        if not self.extensions:
            return
        super().run()
        built = [Path(self.get_ext_fullpath(ext.name)) for ext in self.extensions]
        target = Path(self.get_ext_fullpath(f"{GROUP}__mypyc")).parent / MANIFEST
        target.unlink(missing_ok=True)
        if not all(path.exists() for path in built):
            print("claimsim: the native engine did not build; it stays pure Python", file=sys.stderr)
            return
        target.write_text(json.dumps({"group": GROUP, "sources": _DIGESTS}, indent=1, sort_keys=True) + "\n")


# A placeholder, so that setuptools runs build_ext (which swaps in the real extensions).
setup(ext_modules=[Extension(f"{GROUP}__mypyc", sources=[], optional=True)],
      cmdclass={"build_ext": BuildNative})
