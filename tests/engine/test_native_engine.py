"""The compiled engine (mypyc, built by `pip install`) against the reference, the Python sources:
the same inputs give the same ledger bytes; and the loader's choice between them
(`claimsim.native`): compiled only when built from exactly these sources and not told otherwise.
"""

from __future__ import annotations

import hashlib
import importlib.machinery
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ..fixtures.typed_claims import CRASHES_THE_RUNTIME, append_hostile_claims
from claimsim import native

ENGINE = Path(native.__file__).resolve().parent.parent / "adjudication" / "engine"
BUILT = (ENGINE / native.MANIFEST).exists()

# Adjudicates RUN_DIR (argv[1]) with its attribution (argv[2]) in a fresh process, whose engine
# CLAIMSIM_PURE picks, over argv[3] processes and a cache of argv[4] families (0: all in memory),
# and prints which engine ran.
_CHILD = """
import json, sys
from pathlib import Path
from claimsim.adjudication.runtimes.embedded import EmbeddedAdjudicator
from claimsim.native import engine_kind
with EmbeddedAdjudicator(Path(sys.argv[1]), processes=int(sys.argv[3]),
                         cache_families=int(sys.argv[4]) or None) as rt:
    rt.record(json.loads(Path(sys.argv[2]).read_text()))
    rt.run()
print(engine_kind())
"""


def _adjudicate(source: Path, attribution: Path, target: Path, pure: str, processes: int = 1,
                cache_families: int = 0) -> tuple[str, bytes]:
    target.mkdir()
    for name in ("reference.json", "run.json"):
        (target / name).write_bytes((source / name).read_bytes())
    (target / "input").symlink_to(source / "input")
    env = {**os.environ, native.PURE_ENV: pure}
    done = subprocess.run([sys.executable, "-c", _CHILD, str(target), str(attribution),
                           str(processes), str(cache_families)], env=env,
                          capture_output=True, text=True, check=True)
    ledger = b"".join(p.read_bytes() for p in sorted((target / "ledger").glob("*.jsonl")))
    return done.stdout.strip().splitlines()[-1], ledger


@pytest.mark.skipif(not BUILT, reason="no compiled engine built (mypyc or a C compiler missing)")
def test_compiled_and_pure_engines_write_the_same_ledger_bytes(tmp_path):
    """The synthetic benchmark's mix: two payers' plans, three programs, attributed members,
    replacements, voids, duplicates and malformed claims; and a claim written each of the ways
    that hold the typed claim reading to the dict one (both engines read claims typed)."""
    from claimsim.scenarios.synthetic import attribution_events, write_synthetic_run

    source = tmp_path / "run"
    source.mkdir()
    facts = write_synthetic_run(source, 4000)
    append_hostile_claims(source / "input", CRASHES_THE_RUNTIME)
    attribution = tmp_path / "attribution.json"
    attribution.write_text(json.dumps(attribution_events(facts["members"])))
    pure_kind, pure = _adjudicate(source, attribution, tmp_path / "pure", "1")
    native_kind, compiled = _adjudicate(source, attribution, tmp_path / "native", "0")
    # the compiled engine in two spawned workers over their own disk stores (`OwnStores`)
    workers_kind, over_workers = _adjudicate(source, attribution, tmp_path / "workers", "0", 2, 64)
    assert (pure_kind, native_kind, workers_kind) == (
        "pure (CLAIMSIM_PURE is set)", "native", "native")
    assert pure.count(b'"type":"claim.adjudicated"') > 3000
    assert b'"claim.rejected"' in pure and b'"claim.reversed"' in pure
    assert hashlib.sha256(compiled).hexdigest() == hashlib.sha256(pure).hexdigest()
    assert hashlib.sha256(over_workers).hexdigest() == hashlib.sha256(pure).hexdigest()


# Envelopes a hand-edited input log can carry past the reader (it checks the chain, not the
# types of key, type or at): the core answers each with a rejection or a no-effect.
_HOSTILE = """
import sys, orjson
from claimsim.events import vocabulary  # noqa: F401
from claimsim.scenarios.synthetic import synthetic_reference
from claimsim.adjudication.engine import Context, Settings, adjudicate
ctx = Context(synthetic_reference(), Settings())
claim = {"claim_id": "c1", "member_id": "m1", "subscriber_id": "s1", "payer_id": "x", "lines": []}
for seq, (kind, at, key, data) in enumerate([
        ("claim.submitted", "2025-01-01", 123, {"claim": claim}),
        ("claim.submitted", "2025-01-01", None, {"claim": dict(claim, subscriber_id=None)}),
        ("member.enrolled", "2025-01-01", ["a"], 5),
        (7, 3, "s1", None),
        ("claim.submitted", None, "s1", [1])]):
    env = {"seq": seq, "type": kind, "v": 1, "at": at, "key": key, "cause": None, "data": data}
    sys.stdout.buffer.write(orjson.dumps(adjudicate(env, None, ctx)[0], option=orjson.OPT_SORT_KEYS) + b"\\n")
"""


@pytest.mark.skipif(not BUILT, reason="no compiled engine built (mypyc or a C compiler missing)")
def test_compiled_engine_answers_hostile_envelopes_as_the_pure_one_does():
    answers = {}
    for pure in ("1", "0"):
        done = subprocess.run([sys.executable, "-c", _HOSTILE], env={**os.environ, native.PURE_ENV: pure},
                              capture_output=True, check=True)
        answers[pure] = done.stdout.splitlines()
    assert len(answers["1"]) == 5
    assert [b'"type":"claim.rejected"' in a for a in answers["1"]] == [True, True, False, True, True]
    assert answers["0"] == answers["1"]


def _fake_build(folder: Path, sources: dict[str, bytes]) -> None:
    suffix = importlib.machinery.EXTENSION_SUFFIXES[0]
    for name, text in sources.items():
        (folder / f"{name}.py").write_bytes(text)
        (folder / f"{name}{suffix}").write_bytes(b"")
    manifest = {name: hashlib.sha256(text).hexdigest() for name, text in sources.items()}
    (folder / native.MANIFEST).write_text(json.dumps({"sources": manifest}))


def test_the_compiled_engine_runs_only_while_its_sources_are_unchanged(tmp_path, monkeypatch):
    monkeypatch.delenv(native.PURE_ENV, raising=False)
    assert native._decide(tmp_path) == "pure (not compiled)"
    _fake_build(tmp_path, {"core": b"x = 1\n", "claims": b"y = 2\n"})
    assert native._decide(tmp_path) == "native"
    (tmp_path / "claims.py").write_bytes(b"y = 3\n")  # edited after the build
    assert native._decide(tmp_path).startswith("pure (the compiled copy is older than claims.py")


def test_a_compiled_copy_left_from_a_group_that_no_longer_holds_it_is_not_loaded(tmp_path,
                                                                                 monkeypatch):
    """A native package loads only its group's modules compiled (`native.json`): a module that
    an earlier build compiled and this one does not (a group made smaller, a branch switched)
    loads from its source, not from the stale copy beside it, whose group library is gone."""
    monkeypatch.delenv(native.PURE_ENV, raising=False)
    _fake_build(tmp_path, {"core": b"x = 1\n"})
    suffix = importlib.machinery.EXTENSION_SUFFIXES[0]
    (tmp_path / "log.py").write_bytes(b"z = 3\n")
    (tmp_path / f"log{suffix}").write_bytes(b"")  # stale: not in the manifest
    finder = native._NativeFinder()
    monkeypatch.setattr(native, "PACKAGES", ("fake",))
    assert finder.find_spec("fake.core", [str(tmp_path)]) is None  # the path finder's: compiled
    assert finder.kinds == {"fake": "native"}
    spec = finder.find_spec("fake.log", [str(tmp_path)])
    assert spec is not None and spec.origin == str(tmp_path / "log.py")
    assert finder.find_spec("fake.native__mypyc", [str(tmp_path)]) is None  # the group library
    assert finder.find_spec("fake.absent", [str(tmp_path)]) is None


def test_claimsim_pure_forces_the_python_sources(tmp_path, monkeypatch):
    _fake_build(tmp_path, {"core": b"x = 1\n"})
    monkeypatch.setenv(native.PURE_ENV, "1")
    assert native._decide(tmp_path) == "pure (CLAIMSIM_PURE is set)"
    monkeypatch.setenv(native.PURE_ENV, "0")
    assert native._decide(tmp_path) == "native"


def test_the_interpreter_is_named_by_its_build_line_and_its_real_executable():
    """`claimsim bench` prints it under its ratio table (the build alone moves the rates)."""
    import platform

    version, _, path = native.python_build().rpartition(" at ")
    assert version.startswith(platform.python_version() + " (")
    assert version.endswith("]")  # the compiler the interpreter was built with
    assert path == os.path.realpath(sys.executable) and Path(path).samefile(sys.executable)
    assert not Path(path).is_symlink()  # a venv's `python` is a link to it
