"""The embedded runtime over N worker processes (`--processes N`): the same ledger bytes as one
process for any N, epoch facts included, across a reopen, and whichever worker a family lands on.
"""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import pytest

from claimsim.adjudication.runtimes.embedded import EmbeddedAdjudicator
from claimsim.adjudication.runtimes.parallel import partition_of
from claimsim.cli import main
from claimsim.events.errors import UserError
from claimsim.events.log import read
from claimsim.scenarios.synthetic import attribution_events, write_synthetic_run

from ..fixtures.run_dirs import fresh_copy, ledger_bytes

BOUNDARIES = ("2025-04-01", "2025-07-01", None)


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    """800 synthetic claims (replacements, voids, duplicates and malformed claims among them),
    attribution from April, and the one-process ledger of the run clock's pattern."""
    root = tmp_path_factory.mktemp("processes")
    run = root / "run"
    run.mkdir()
    facts = write_synthetic_run(run, 800, seed=5)
    attribution = [dict(e, data=dict(e["data"], effective="2025-04-01"))
                   for e in attribution_events(facts["members"], share=0.8)]
    one = _epochs(fresh_copy(run, root / "one"), attribution, processes=1)
    return run, attribution, one


def _epochs(run_dir: Path, attribution: list[dict], *, processes: int, reopen: bool = False
            ) -> Path:
    """Adjudicate to each boundary, recording attribution at the first (as the run clock does)."""
    rt = EmbeddedAdjudicator(run_dir, processes=processes)
    try:
        for i, boundary in enumerate(BOUNDARIES):
            rt.run(until_at=boundary)
            if i == 0:
                rt.record([dict(e, data=dict(e["data"])) for e in attribution])
            if reopen:
                rt.close()
                rt = EmbeddedAdjudicator(run_dir, processes=processes)
    finally:
        rt.close()
    return run_dir


def test_the_fixture_exercises_what_the_ledger_must_keep(synthetic):
    """Voids, replacements, rejections and capitation offsets (from the attribution recorded
    mid-run) are all in the one-process ledger the other tests compare against."""
    _, _, one = synthetic
    ledger = list(read(one / "ledger"))
    kinds = Counter(e["type"] for e in ledger)
    assert kinds["claim.reversed"] > 0 and kinds["claim.rejected"] > 0
    assert kinds["attribution.assigned"] > 0
    replacements = [e for e in ledger if e["type"] == "claim.adjudicated" and e["data"]["reversed_lines"]]
    assert replacements
    offsets = [ln["cap_offset"] for e in ledger if e["type"] == "claim.adjudicated"
               for ln in e["data"]["lines"]]
    assert sum(1 for o in offsets if o > 0) > 10


@pytest.mark.parametrize("processes", [2, 3])
def test_n_processes_write_the_one_process_ledger_byte_for_byte(synthetic, tmp_path, processes):
    run, attribution, one = synthetic
    many = _epochs(fresh_copy(run, tmp_path / "many"), attribution, processes=processes)
    assert ledger_bytes(many) == ledger_bytes(one)


def test_reopening_with_processes_resumes_the_same_ledger(synthetic, tmp_path):
    """Closed and reopened at every boundary (the parent replays the ledger, then forks the
    workers with the rebuilt states), switching from 1 to 2 processes on the way."""
    run, attribution, one = synthetic
    target = fresh_copy(run, tmp_path / "r")
    with EmbeddedAdjudicator(target) as rt:
        rt.run(until_at=BOUNDARIES[0])
        rt.record([dict(e, data=dict(e["data"])) for e in attribution])
    for boundary in BOUNDARIES[1:]:
        with EmbeddedAdjudicator(target, processes=2) as rt:
            rt.run(until_at=boundary)
    assert ledger_bytes(target) == ledger_bytes(one)


def test_families_spread_over_every_worker_and_stay_put():
    keys = [f"F{i:06d}" for i in range(300)]
    owners = [partition_of(k, 3) for k in keys]
    assert set(owners) == {0, 1, 2}
    assert min(owners.count(i) for i in range(3)) > 60  # roughly even: 100 each expected
    assert owners == [partition_of(k, 3) for k in keys]  # no per-process salt (unlike hash())
    assert partition_of("F000000", 1) == 0


def test_cli_processes_gives_the_same_ledger_and_summary(synthetic, tmp_path, capsys):
    run, _, _ = synthetic
    outputs = []
    for n in (1, 2):
        target = fresh_copy(run, tmp_path / f"p{n}")
        assert main(["adjudicate", str(target), "--processes", str(n), "--no-progress"]) == 0
        outputs.append((ledger_bytes(target), capsys.readouterr().out.split(":", 1)[1]))
    assert outputs[0] == outputs[1]


def test_processes_below_one_or_with_a_bounded_cache_are_user_errors(synthetic, tmp_path):
    run, _, _ = synthetic
    target = fresh_copy(run, tmp_path / "r")
    with pytest.raises(UserError, match="at least 1"):
        EmbeddedAdjudicator(target, processes=0)
    with pytest.raises(UserError, match="cannot be combined"):
        EmbeddedAdjudicator(target, processes=2, cache_families=64)
    shutil.rmtree(target / "ledger", ignore_errors=True)
