"""The compiled aligned-payer fold (`fold.aligned`, built by `pip install` with the payer-state fold)
against the reference, its Python source: a whole run's input log and ledger folded give the same
facts, field by field (dicts in their insertion order, which the report tables follow)."""

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

# Folds RUN_DIR (argv[1]) in a fresh process, whose fold CLAIMSIM_PURE picks: prints the sha256 of
# each field of the facts, what the run exercised, then which fold ran.
_CHILD = """
import hashlib, sys
from dataclasses import fields
from pathlib import Path
from claimsim.events.reference import ReferenceData
from claimsim.adjudication.projections.primary_care_spend import SpendSettings
from claimsim.scenarios.aligned_report import fold_facts
from claimsim.native import fold_kind

def canon(v):
    if isinstance(v, dict):
        return "{" + ",".join(f"{k!r}:{canon(x)}" for k, x in v.items()) + "}"
    if isinstance(v, (set, frozenset)):
        return "set" + repr(sorted(v))
    if isinstance(v, (list, tuple)):
        return "[" + ",".join(canon(x) for x in v) + "]"
    if isinstance(v, bytearray):
        return "b" + bytes(v).rstrip(bytes(1)).hex()
    if hasattr(v, "typecode"):
        return "a" + repr(v.tolist())
    if hasattr(v, "__dataclass_fields__"):
        return type(v).__name__ + canon({f.name: getattr(v, f.name) for f in fields(v)})
    return repr(v)

run = Path(sys.argv[1])
facts = fold_facts(run, ReferenceData.load(run), SpendSettings())
for f in fields(facts):
    print(f.name, hashlib.sha256(canon(getattr(facts, f.name)).encode()).hexdigest())
pc = sum(row[2] for row in facts.spend.values())
print("exercised", len(facts.member_totals), len(facts.diagnoses), len(facts.site_by_claim), pc,
      len(facts.contract_paid))
print(fold_kind())
"""


def _fold(run_dir: Path, pure: str) -> list[str]:
    done = subprocess.run([sys.executable, "-c", _CHILD, str(run_dir)], capture_output=True,
                          text=True, check=True, env={**os.environ, native.PURE_ENV: pure})
    return done.stdout.splitlines()


@pytest.mark.skipif(not BUILT, reason="no compiled fold built (mypyc or a C compiler missing)")
def test_compiled_and_pure_aligned_folds_give_the_same_facts_of_a_whole_run(tmp_path):
    run_dir = run(tmp_path / "run")
    pure, compiled = _fold(run_dir, "1"), _fold(run_dir, "0")
    assert (pure[-1], compiled[-1]) == ("pure (CLAIMSIM_PURE is set)", "native")
    # The run exercises the fold's paths: members with spend, conditions, claims a later version
    # reverses, primary-care dollars, contracts' programs besides FFS.
    members, dx, reversible, pc, programs = map(int, pure[-2].split()[1:])
    assert members > 100 and dx > 50 and reversible > 0 and pc > 0 and programs > 3
    assert len(pure) == 15 and compiled[:-1] == pure[:-1]
