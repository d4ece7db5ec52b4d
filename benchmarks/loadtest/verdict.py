"""The load test's last word: is the ledger it wrote byte-identical to the embedded runtime's
ledger over the same inputs? The reference is adjudicated afresh, in one pass, in its own copy
of the run, so a runtime that lost, doubled or reordered an answer (or a harness that fed it
differently) is caught whatever runtime was under test.
"""

from __future__ import annotations

import itertools
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from claimsim.events.log import raw_lines

RUN_FILES = ("reference.json", "run.json")


@dataclass(frozen=True, slots=True)
class Verdict:
    identical: bool
    lines: int  # ledger lines compared (the longer ledger's count)
    first_difference: int | None = None  # ledger seq of the first differing line
    ours_ended: bool = False  # our ledger stops there (inputs never answered), not a different answer

    def line(self) -> str:
        if self.identical:
            return "ledger byte-identical to embedded: yes"
        if self.ours_ended:
            return (f"ledger byte-identical to embedded: NO (it ends at ledger seq"
                    f" {self.first_difference}: later inputs were never answered)")
        return (f"ledger byte-identical to embedded: NO (first difference at ledger seq"
                f" {self.first_difference})")


def copy_run(src: Path, dst: Path) -> Path:
    """A fresh run directory holding `src`'s reference data and input (hard links where the file
    system allows: the input is only read) and no ledger."""
    dst.mkdir(parents=True, exist_ok=False)
    for name in RUN_FILES:
        if (src / name).exists():
            shutil.copy2(src / name, dst / name)
    (dst / "input").mkdir()
    for path in sorted((src / "input").glob("*.jsonl")):
        try:
            os.link(path, dst / "input" / path.name)
        except OSError:
            shutil.copy2(path, dst / "input" / path.name)
    return dst


def compare_ledgers(ours: Path, reference: Path) -> Verdict:
    """Line by line (each line is one envelope with its hash); the first difference names its seq."""
    n = 0
    for n, (a, b) in enumerate(itertools.zip_longest(raw_lines(ours), raw_lines(reference)), 1):
        if a != b:
            return Verdict(False, n, n - 1, a is None)  # ledger seqs run 0, 1, ... line by line
    return Verdict(True, n)


def embedded_reference(run_dir: Path, work: Path, until_seq: int) -> Path:
    """Adjudicate inputs below `until_seq` of `run_dir` with the embedded runtime in `work`;
    returns its ledger directory."""
    from claimsim.adjudication.runtimes.embedded import adjudicate_run

    copy_run(run_dir, work)
    adjudicate_run(work, until_seq=until_seq)
    return work / "ledger"
