"""The compiled runtime glue and log code (mypyc, built by `pip install` beside the engine:
`claimsim.adjudication.runtimes`' embedded loop, processor, records and stats; `claimsim.events`'
input reader and encoding) against the reference, their Python sources: a hostile and
damaged input log reads as the same envelopes, and adjudicates (stopped part-way, reopened and
replayed, resumed; every family in memory or a bounded cache) to the same ledger bytes."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from claimsim import native
from claimsim.events.encoding import canonical
from claimsim.events.log import segments

from ..fixtures.damaged_runs import replace_line, rewrite_log
from ..fixtures.typed_claims import CRASHES_THE_RUNTIME, append_hostile_claims

ROOT = Path(native.__file__).resolve().parent.parent
BUILT = all((ROOT / folder / native.MANIFEST).exists()
            for folder in ("adjudication/runtimes", "events", "adjudication/engine"))

# Reads RUN_DIR's input (argv[1]) with the input reader, then adjudicates it in two runs (to input
# argv[3], then the rest, the second opening replaying the first's ledger) with a cache of argv[2]
# families (0: all in memory), in a fresh process whose code CLAIMSIM_PURE picks; prints the
# sha256 of the envelopes read (typed data as its dict) and each group's kind.
_CHILD = """
import hashlib, json, sys
from pathlib import Path
from claimsim.adjudication.runtimes.embedded import EmbeddedAdjudicator
from claimsim.events.encoding import canonical
from claimsim.events.input_reader import read_checked
from claimsim.native import kinds
run = Path(sys.argv[1])
digest = hashlib.sha256()
for env in read_checked(run / "input", typed=True):
    data = env["data"]  # a typed claim's or enrollment's as its dict
    digest.update(canonical({**env, "data": data.as_dict() if hasattr(data, "as_dict") else data}))
for until in (int(sys.argv[3]), None):
    with EmbeddedAdjudicator(run, cache_families=int(sys.argv[2]) or None) as rt:
        if until is not None:
            rt.record(json.loads((run / "attribution.json").read_text()))
        rt.run(until_seq=until)
print(digest.hexdigest())
print(json.dumps(kinds()))
"""


def _damaged(source: Path) -> None:
    """The input's every kind of damage the reader answers: a claim at a text `at`, a type no
    code knows (both on the chain), a line that is not JSON and one that is not an envelope (the
    chain resumes after each), and a torn last line whose writer is gone."""
    def insert(bodies):
        claim = next(b for b in bodies if b["type"] == "claim.submitted")
        return [*bodies[:100], {**claim, "at": "yesterday"},
                {**claim, "type": "claim.unheard_of"}, *bodies[100:]]

    rewrite_log(source / "input", insert)
    append_hostile_claims(source / "input", CRASHES_THE_RUNTIME)
    replace_line(source / "input", 300, b'{"seq": 300, "type": "claim.submitted", "data": \n')
    replace_line(source / "input", 500, b'[1, 2, 3]\n')
    (_, path), = segments(source / "input")
    with open(path, "ab") as f:
        f.write(b'{"at":"2025-01-02","cause":null,"data":{"claim":')


def _adjudicate(source: Path, target: Path, pure: str, cache: int) -> tuple[list[str], bytes]:
    target.mkdir()
    for name in ("reference.json", "run.json", "attribution.json"):
        (target / name).write_bytes((source / name).read_bytes())
    (target / "input").symlink_to(source / "input")
    done = subprocess.run([sys.executable, "-c", _CHILD, str(target), str(cache), "1200"],
                          env={**os.environ, native.PURE_ENV: pure}, capture_output=True,
                          text=True, check=True)
    ledger = b"".join(p.read_bytes() for _, p in segments(target / "ledger"))
    return done.stdout.strip().splitlines()[-2:], ledger


@pytest.mark.skipif(not BUILT, reason="no compiled runtime built (mypyc or a C compiler missing)")
def test_compiled_and_pure_runtimes_read_the_same_input_and_write_the_same_ledger(tmp_path):
    from claimsim.scenarios.synthetic import attribution_events, write_synthetic_run

    source = tmp_path / "run"
    source.mkdir()
    facts = write_synthetic_run(source, 2500)
    (source / "attribution.json").write_bytes(canonical(attribution_events(facts["members"])))
    _damaged(source)
    (pure_read, pure_kinds), pure = _adjudicate(source, tmp_path / "pure", "1", 0)
    assert set(json.loads(pure_kinds).values()) == {"pure (CLAIMSIM_PURE is set)"}
    rejected = pure.count(b'"type":"claim.rejected"')
    assert pure.count(b'"type":"claim.adjudicated"') > 2000 and rejected > 30
    assert b'"unreadable_input"' in pure and b'"claim.reversed"' in pure
    for name, cache in (("native", 0), ("bounded", 64)):
        (read, kinds), compiled = _adjudicate(source, tmp_path / name, "0", cache)
        assert set(json.loads(kinds).values()) == {"native"}, kinds
        assert read == pure_read
        assert hashlib.sha256(compiled).hexdigest() == hashlib.sha256(pure).hexdigest()
