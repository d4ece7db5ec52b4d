"""An input dated with anything but a day is answered `unreadable_input` (dated as the input
before it) and every other input as in the clean run; `attribute --as-of` reads the run as
before."""

from __future__ import annotations

import pytest

from claimsim.cli import main

from ..fixtures.damaged_runs import ANSWERS, copy, entries, rewrite_log, simulated_and_paid


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    return simulated_and_paid(tmp_path_factory.mktemp("hostile-tail"))


def _answers(run_dir):
    return [{k: e[k] for k in ("type", "at", "key", "cause", "data")}
            for e in entries(run_dir / "ledger") if e["type"] in ANSWERS]


@pytest.mark.parametrize("at", ["yesterday", "2025-02-30", "2025-W01-1", "2025-01-05T10:00",
                                "2" * 100_000])
def test_an_input_dated_with_no_day_is_rejected_and_the_run_goes_on(sim, tmp_path, capsys, at):
    clean, paid = sim
    run_dir = copy(clean, tmp_path / "r")
    k = 40
    rewrite_log(run_dir / "input",
                lambda bodies: [*bodies[:k], {**bodies[k], "at": at}, *bodies[k + 1:]])
    assert main(["adjudicate", str(run_dir), "--no-progress"]) == 0
    before, after = _answers(paid), _answers(run_dir)
    rejected = after[k]
    assert (rejected["type"], rejected["cause"], rejected["data"]["reason"]) == (
        "claim.rejected", k, "unreadable_input")
    assert rejected["data"]["message"] == (
        f"input seq {k}: its at {at[:40]!r} is not a YYYY-MM-DD date")
    assert rejected["at"] == before[k - 1]["at"]  # dated as the input before it
    assert after[:k] == before[:k]
    same = [i for i in range(k + 1, len(before)) if after[i] != before[i]]
    # Only the family of the rejected input may answer differently (it lost that input).
    assert {after[i]["key"] for i in same} <= {before[k]["key"]}
    capsys.readouterr()
    assert main(["attribute", str(run_dir), "--as-of", "2025-03-01"]) == 0
    ours = capsys.readouterr().out
    assert main(["attribute", str(paid), "--as-of", "2025-03-01"]) == 0
    theirs = capsys.readouterr().out
    assert ours.splitlines()[-1].split()[0].isdigit()
    assert abs(int(ours.splitlines()[-1].split()[0]) - int(theirs.splitlines()[-1].split()[0])
               ) <= 1


def test_attribute_as_of_an_empty_date_is_refused_not_read_as_no_date(sim, capsys):
    assert main(["attribute", str(sim[1]), "--as-of", ""]) == 2
    assert capsys.readouterr().err.strip() == "claimsim: error: --as-of '': not a YYYY-MM-DD date"
