"""`audit verify` on a whole run with entries appended or dropped at its end, the chain
re-hashed: an answer to an input the input log does not hold, entries after the projection
checkpoint (which a run writes last, naming the ledger's final entry), and closing snapshots
dropped (the run check says how many it saw, not that all are there)."""

from __future__ import annotations

import pytest

from claimsim.cli import main

from ..fixtures.damaged_runs import copy, entries, rewrite_log, run


@pytest.fixture(scope="module")
def whole(tmp_path_factory):
    return run(tmp_path_factory.mktemp("appended") / "r")


def _verify(run_dir, capsys) -> tuple[int, str]:
    code = main(["audit", "verify", str(run_dir)])
    return code, capsys.readouterr().out


def test_an_answer_to_an_input_that_does_not_exist_fails_the_causes(whole, tmp_path, capsys):
    inputs = len(entries(whole / "input"))
    last = len(entries(whole / "ledger")) - 1
    edited = copy(whole, tmp_path / "e")
    extra = {"type": "no_effect", "v": 1, "at": "2025-07-01", "key": "S9999999", "cause": inputs,
             "data": {"input_type": "member.enrolled"}}
    rewrite_log(edited / "ledger", lambda bodies: [*bodies, extra])
    code, out = _verify(edited, capsys)
    assert code == 1
    assert "OK   ledger/" in out
    assert (f"FAIL ledger causes: seq {last + 1} answers input {inputs}, but the input log holds"
            f" {inputs:,} inputs (an answer to no input)") in out
    assert (f"FAIL projections/payer-state.json: checkpoint at seq {last:,}, but the ledger goes"
            f" on to seq {last + 1:,}: entry {last + 1:,} was appended after the run closed") in out


def test_entries_appended_after_the_checkpoint_fail_it(whole, tmp_path, capsys):
    ledger = entries(whole / "ledger")
    last = len(ledger) - 1
    snapshot = next(e for e in reversed(ledger) if e["type"] == "snapshot.taken")
    edited = copy(whole, tmp_path / "e")
    body = {k: snapshot[k] for k in ("type", "v", "at", "key", "cause", "data")}
    rewrite_log(edited / "ledger", lambda bodies: [*bodies, body, dict(body)])
    code, out = _verify(edited, capsys)
    assert code == 1
    assert "OK   ledger causes" in out
    assert (f"checkpoint at seq {last:,}, but the ledger goes on to seq {last + 2:,}: entries"
            f" {last + 1:,}..{last + 2:,} were appended after the run closed") in out


def test_the_run_check_counts_the_closing_snapshots_it_saw(whole, tmp_path, capsys):
    ledger = entries(whole / "ledger")
    boundary = max(e["seq"] for e in ledger if e["type"] == "epoch.boundary")
    closing = sum(1 for e in ledger if e["type"] == "snapshot.taken" and e["seq"] > boundary)
    code, out = _verify(whole, capsys)
    assert code == 0
    assert f"every boundary closed, {closing:,} closing snapshots taken" in out
    edited = copy(whole, tmp_path / "e")

    def drop_last_snapshots(bodies):
        snaps = [i for i, e in enumerate(bodies) if e["type"] == "snapshot.taken"][-3:]
        return [e for i, e in enumerate(bodies) if i not in snaps]

    rewrite_log(edited / "ledger", drop_last_snapshots)
    code, out = _verify(edited, capsys)
    assert code == 1  # the checkpoint names an entry the ledger no longer has
    assert f"every boundary closed, {closing - 3:,} closing snapshots taken" in out
    assert "FAIL projections/payer-state.json: checkpoint at seq" in out
