"""The compiled fold (mypyc, built by `pip install` beside the engine) against the reference, its
Python sources: a whole run's ledger replayed into the payer state gives the same checkpoint
bytes at every epoch boundary and at the end, and the loader picks either per `CLAIMSIM_PURE`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from claimsim import native

from ..fixtures.damaged_runs import run

FOLD = Path(native.__file__).resolve().parent.parent / "adjudication" / "projections" / "fold"
BUILT = (FOLD / native.MANIFEST).exists()

# Replays RUN_DIR (argv[1]) through the ledger follower in a fresh process, whose fold
# CLAIMSIM_PURE picks, reading the ledger as argv[2] says (`ledger_envelopes`: claim entries
# decoded into the fields the fold reads; `read`: in full): prints which fold ran, then the sha256 of the checkpoint bytes after each
# epoch boundary and at the end, and the entries that exercise the fold's paths.
_CHILD = """
import hashlib, sys
from pathlib import Path
from claimsim.events.reference import ReferenceData
from claimsim.events.log import read
from claimsim.adjudication.projections.follower import LedgerFollower, ledger_envelopes
from claimsim.adjudication.projections.state import PayerState
from claimsim.native import fold_kind
run = Path(sys.argv[1])
state = PayerState(ReferenceData.load(run))
follower = LedgerFollower(run, state)
kinds = {}
def digest():
    return hashlib.sha256(b"".join(state.state_pieces())).hexdigest()
envelopes = ledger_envelopes(run) if sys.argv[2] == "partial" else read(run / "ledger")
for env in envelopes:
    follower.apply(env)
    kinds[env["type"]] = kinds.get(env["type"], 0) + 1
    if env["type"] == "epoch.boundary":
        print("boundary", digest())
print("end", digest())
print("kinds", kinds["claim.adjudicated"], kinds.get("claim.reversed", 0), len(state.dx))
print(fold_kind())
"""


def _replay(run_dir: Path, pure: str, reader: str = "partial") -> list[str]:
    done = subprocess.run([sys.executable, "-c", _CHILD, str(run_dir), reader], capture_output=True,
                          text=True, check=True, env={**os.environ, native.PURE_ENV: pure})
    return done.stdout.splitlines()


@pytest.mark.skipif(not BUILT, reason="no compiled fold built (mypyc or a C compiler missing)")
def test_compiled_and_pure_folds_give_the_same_checkpoints_of_a_whole_run(tmp_path):
    run_dir = run(tmp_path / "run")
    pure, compiled = _replay(run_dir, "1"), _replay(run_dir, "0")
    assert (pure[-1], compiled[-1]) == ("pure (CLAIMSIM_PURE is set)", "native")
    # The run exercises the compiled paths: boundaries, many claim entries, voids, conditions.
    assert sum(line.startswith("boundary ") for line in pure) >= 2
    _, claims, voids, with_dx = pure[-2].split()
    assert int(claims) > 500 and int(voids) > 0 and int(with_dx) > 10
    assert compiled[:-1] == pure[:-1]
    # Both folds from full entries too (`read`): the same checkpoints.
    assert _replay(run_dir, "1", "full") == pure and _replay(run_dir, "0", "full") == compiled
