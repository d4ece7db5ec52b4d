"""Build hook: compile the pure adjudication engine, the projections' fold, the simulator's
per-visit code and the runtime's per-input glue with mypyc, when it can, into native copies that
`claimsim.native` loads in place of the Python sources (which stay the reference).

`pip install -e .` (and a wheel build) runs this. If mypyc or a C compiler is missing, or the
build fails, the install goes on without the native copies and claimsim runs the pure Python.
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
# package -> its modules compiled as one group (they call each other natively, so the loader takes
# all of them or none); each package's `__init__` stays Python. Names as installed. The engine;
# and the fold's hot path (a ledger claim entry's lines into money, visit, FFS and condition rows;
# both logs' claims into the aligned-payer facts).
GROUPS = {
    "claimsim.adjudication.engine": ("claims", "context", "core", "cost_share", "family",
                                     "file_pricing", "line_plan", "line_results", "pricing",
                                     "programs", "typed_claims", "validation"),
    "claimsim.adjudication.projections.fold": ("aligned", "claims", "follow", "money", "packed",
                                                "rows", "stream"),
    # The simulator's per-visit and per-member code: claims built and queued, the population
    # and its enrollment (not the SimPy processes, the region or the config).
    "claimsim.simulator": ("care", "claims", "demographics", "enrollment", "faults", "hba1c",
                           "population", "quality", "referrals", "submission", "visits"),
    # The per-input glue around the engine: the embedded runtime's batches and pieces, the
    # partition processor's loop, its claim records and stats; the input reader and the canonical
    # encoding. Not `typed_input` (its msgspec Structs must stay Python classes: mypyc, which
    # sees msgspec only as `Any`, would make them native), nor `log` (the benches' baselines
    # read and write through it: docs/performance.md, "The runtime's glue compiled").
    "claimsim.adjudication.runtimes": ("embedded", "processor", "records", "stats"),
    "claimsim.events": ("encoding", "input_reader"),
}
MANIFEST = "native.json"  # in each package's folder: module -> sha256 of its source (`claimsim.native`)


_DIGESTS: dict[str, dict[str, str]] = {}  # package -> module -> sha256 of the source compiled


def _folder(package: str) -> Path:
    """The source folder of an installed package name (`claimsim.adjudication.x` -> adjudication/x)."""
    return ROOT.joinpath(*package.split(".")[1:])


def _group(package: str) -> str:
    return f"{package}.native"  # the shared library: `native__mypyc` in the package's folder


def _stage() -> Path:
    """mypy names a module after its folders: a tree `build/mypyc-stage/claimsim/...` whose
    folders link to the root folders gives each group its installed name."""
    stage = ROOT / "build" / "mypyc-stage"
    shutil.rmtree(stage, ignore_errors=True)
    (stage / "claimsim").mkdir(parents=True)
    (stage / "claimsim" / "__init__.py").write_text("")
    for folder in ("events", "adjudication", "simulator"):
        (stage / "claimsim" / folder).symlink_to(ROOT / folder, target_is_directory=True)
    return stage


def _native_extensions() -> list:
    if os.environ.get("CLAIMSIM_NO_MYPYC"):
        return []
    try:
        from mypyc.build import mypycify
    except ImportError:
        print("claimsim: mypyc not available, the compiled groups stay pure Python",
              file=sys.stderr)
        return []
    stage = _stage()
    extensions = []
    for package, modules in GROUPS.items():
        extensions += _compile(mypycify, stage, package, modules)
    return extensions


def _compile(mypycify, stage: Path, package: str, modules: tuple[str, ...]) -> list:
    """One group's extensions, or none (it then stays pure Python)."""
    # What the copies are built from, read before mypy reads it (a source edited during the
    # build then makes them stale, as it should).
    _DIGESTS[package] = {name: hashlib.sha256((_folder(package) / f"{name}.py").read_bytes()
                                              ).hexdigest() for name in modules}
    inside = Path(*package.split("."))
    paths = [str(stage / inside / f"{name}.py") for name in modules]
    cwd = os.getcwd()
    os.chdir(stage)  # mypy resolves `claimsim.*` from here
    try:
        # Each group is checked as typed; what it imports (pydantic, the rest of `events`, the
        # projections' other modules) is read only for its types, and may be absent from the
        # build's own environment.
        options = ["--follow-imports=silent", "--ignore-missing-imports"]
        extensions = mypycify(options + paths, group_name=_group(package), opt_level="3",
                              target_dir=str(ROOT / "build" / "mypyc-c" / package))
    except BaseException as err:  # a type error or a mypy crash: stay pure  (mypy exits)
        print(f"claimsim: mypyc could not compile {package} ({err!r}); it stays pure Python",
              file=sys.stderr)
        _DIGESTS.pop(package)
        return []
    finally:
        os.chdir(cwd)
    for ext in extensions:
        ext.optional = True  # a failed C build leaves the pure Python, not a failed install
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
        for package, sources in _DIGESTS.items():
            group = _group(package)
            mine = [ext for ext in self.extensions
                    if ext.name.startswith(package + ".") and ext.name.count(".") == package.count(".") + 1]
            built = [Path(self.get_ext_fullpath(ext.name)) for ext in mine]
            target = Path(self.get_ext_fullpath(f"{group}__mypyc")).parent / MANIFEST
            target.unlink(missing_ok=True)
            if not built or not all(path.exists() for path in built):
                print(f"claimsim: {package} did not build natively; it stays pure Python",
                      file=sys.stderr)
                continue
            target.write_text(json.dumps({"group": group, "sources": sources}, indent=1,
                                         sort_keys=True) + "\n")


# A placeholder, so that setuptools runs build_ext (which swaps in the real extensions).
setup(ext_modules=[Extension("claimsim.adjudication.engine.native__mypyc", sources=[], optional=True)],
      cmdclass={"build_ext": BuildNative})
