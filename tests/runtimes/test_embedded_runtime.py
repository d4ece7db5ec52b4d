"""The embedded runtime: single writer of RUN_DIR/ledger, one answer per input in input order,
epoch facts through `record`, and resumption after a crash (a torn last line, or kill -9 mid-run)
with nothing lost and nothing doubled: the ledger ends byte-identical to an uninterrupted run."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest

from claimsim.adjudication.engine.context import Settings
from claimsim.adjudication.engine.core import ANSWER_TYPES
from claimsim.adjudication.runtimes import embedded
from claimsim.adjudication.runtimes.embedded import EmbeddedAdjudicator, adjudicate_run
from claimsim.scenarios.synthetic import attribution_events, write_synthetic_run
from claimsim import native
from claimsim.cli import main
from claimsim.events.errors import UserError
from claimsim.events.log import read, segments
from claimsim.events.log_verify import verify

from ..fixtures.run_dirs import ledger_bytes


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    """A synthetic run of 600 claims (plus enrollments) and its uninterrupted ledger."""
    root = tmp_path_factory.mktemp("embedded")
    run = root / "run"
    run.mkdir()
    facts = write_synthetic_run(run, 600, seed=3)
    reference_copy = root / "reference"
    _copy_run(run, reference_copy)
    adjudicate_run(reference_copy)
    return run, facts, ledger_bytes(reference_copy)


def _copy_run(src: Path, dst: Path) -> Path:
    dst.mkdir(parents=True)
    for name in ("reference.json", "run.json"):
        shutil.copy(src / name, dst / name)
    shutil.copytree(src / "input", dst / "input", ignore=shutil.ignore_patterns("LOCK"))
    return dst


def test_every_input_gets_exactly_one_answer_in_input_order(small_run, tmp_path):
    run, facts, _ = small_run
    target = _copy_run(run, tmp_path / "r")
    stats = adjudicate_run(target)
    ledger = list(read(target / "ledger"))
    assert ledger[0]["type"] == "run.manifest"
    manifest = ledger[0]["data"]
    assert (manifest["scenario"], manifest["seed"]) == ("bench-synthetic", 3)
    assert [e["cause"] for e in ledger[1:]] == list(range(facts["inputs"]))
    assert all(e["type"] in ANSWER_TYPES for e in ledger[1:])
    assert stats.inputs == facts["inputs"]
    assert stats.claims_adjudicated + stats.claims_reversed + stats.claims_rejected == facts["claims"]
    assert stats.claims_rejected > 0  # the synthetic input carries malformed claims
    assert verify(target / "ledger").ok
    # Opening again finds nothing to do and appends nothing.
    size = len(ledger_bytes(target))
    assert adjudicate_run(target).inputs == 0
    assert len(ledger_bytes(target)) == size


def test_same_input_gives_a_byte_identical_ledger(small_run, tmp_path):
    run, _, expected = small_run
    target = _copy_run(run, tmp_path / "r")
    adjudicate_run(target, batch_size=7)
    assert ledger_bytes(target) == expected


@pytest.mark.skipif(native.runtimes_kind() == "native",
                    reason="patches a processor's method: a compiled class's are read-only (the"
                           " Python sources, the suite's default, run it)")
def test_a_batch_is_applied_a_piece_at_a_time_and_written_and_committed_whole(
        small_run, tmp_path, monkeypatch):
    """With pieces of 4 and batches of 10, each batch goes to the processor as 4 + 4 + 2 inputs
    (a piece never spans two batches) and the ledger is committed once per batch, at its
    boundary; the bytes are those of an uninterrupted run in one batch."""
    run, facts, expected = small_run
    monkeypatch.setattr(embedded, "APPLY_PIECE", 4)
    target = _copy_run(run, tmp_path / "r")
    applied, committed = [], []
    with EmbeddedAdjudicator(target, batch_size=10) as rt:
        apply, commit, start = rt.processor.apply, rt.writer.commit, rt.writer.next_seq

        def counted_apply(partition, pos, items, store, **kwargs):
            applied.append(len(items))
            return apply(partition, pos, items, store, **kwargs)

        def counted_commit():
            committed.append(rt.writer.next_seq - start)
            commit()

        monkeypatch.setattr(rt.processor, "apply", counted_apply)
        monkeypatch.setattr(rt.writer, "commit", counted_commit)
        rt.run()
        assert rt.next_input == facts["inputs"]
        committed_by_run = list(committed)  # closing commits once more
    inputs = facts["inputs"]
    rest = inputs % 10
    assert applied == [4, 4, 2] * (inputs // 10) + [4] * (rest // 4) + ([rest % 4] if rest % 4 else [])
    assert committed_by_run == list(range(10, inputs, 10)) + [inputs]
    assert ledger_bytes(target) == expected


@pytest.mark.parametrize("cut_fraction", [0.2, 0.55, 0.97])
def test_resume_after_a_torn_last_line_loses_and_doubles_nothing(small_run, tmp_path, cut_fraction):
    """Cut the finished ledger in the middle of a line (as a crash mid-write leaves it); the next
    open drops the torn line, replays the rest, and adjudicates from the last answered input."""
    run, _, expected = small_run
    target = _copy_run(run, tmp_path / "r")
    adjudicate_run(target)
    (_, segment), = segments(target / "ledger")
    cut = int(len(expected) * cut_fraction)
    assert expected[cut - 1:cut] != b"\n"
    segment.write_bytes(expected[:cut])
    adjudicate_run(target)
    assert ledger_bytes(target) == expected


def test_resume_after_kill_9_mid_run(small_run, tmp_path):
    run, facts, expected = small_run
    target = _copy_run(run, tmp_path / "r")
    code = ("import sys; from claimsim.adjudication.runtimes.embedded import EmbeddedAdjudicator\n"
            "rt = EmbeddedAdjudicator(sys.argv[1], batch_size=1, fsync='always')\n"
            "rt.run()\n")
    proc = subprocess.Popen([sys.executable, "-c", code, str(target)])
    ledger = target / "ledger"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        segs = segments(ledger) if ledger.exists() else []
        if segs and segs[-1][1].stat().st_size > len(expected) // 3:
            break
        time.sleep(0.002)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    written = ledger_bytes(target)
    assert 0 < len(written) < len(expected), "the kill should land mid-run"
    assert expected.startswith(written[: written.rfind(b"\n") + 1])
    adjudicate_run(target)
    assert ledger_bytes(target) == expected


def test_epoch_by_epoch_with_attribution_equals_across_reopen(small_run, tmp_path):
    """The run clock's pattern: adjudicate to a boundary, record attribution, go on. Doing it
    in one process, or closing and reopening between epochs (Context and family states rebuilt
    from the ledger), gives the same ledger; the attribution produces capitation offsets."""
    run, facts, _ = small_run
    attribution = attribution_events(facts["members"], share=0.8)
    boundaries = ("2025-04-01", "2025-07-01", None)

    one = _copy_run(run, tmp_path / "one")
    with EmbeddedAdjudicator(one) as rt:
        for i, boundary in enumerate(boundaries):
            rt.run(until_at=boundary)
            if i == 0:
                rt.record([dict(e, data=dict(e["data"], effective="2025-04-01")) for e in attribution])

    two = _copy_run(run, tmp_path / "two")
    for i, boundary in enumerate(boundaries):
        with EmbeddedAdjudicator(two) as rt:
            n = rt.run(until_at=boundary)
            if boundary is not None:
                nxt = next(read(two / "input", rt.next_input), None)
                assert n > 0 and (nxt is None or nxt["at"] >= boundary)
            if i == 0:
                rt.record([dict(e, data=dict(e["data"], effective="2025-04-01")) for e in attribution])
    assert ledger_bytes(one) == ledger_bytes(two)
    offsets = [ln["cap_offset"] for e in read(one / "ledger") if e["type"] == "claim.adjudicated"
               for ln in e["data"]["lines"]]
    assert sum(1 for o in offsets if o > 0) > 10


def test_record_refuses_input_answers(small_run, tmp_path):
    run, _, _ = small_run
    target = _copy_run(run, tmp_path / "r")
    with EmbeddedAdjudicator(target) as rt, pytest.raises(ValueError):
        rt.record([{"type": "no_effect", "v": 1, "at": "2025-01-01", "key": "x", "cause": 0,
                    "data": {"input_type": "x", "note": ""}}])


def test_resume_refuses_other_reference_data_or_settings(small_run, tmp_path):
    run, _, _ = small_run
    target = _copy_run(run, tmp_path / "r")
    with EmbeddedAdjudicator(target) as rt:
        rt.run(until_seq=50)
    with pytest.raises(UserError, match="settings"):
        EmbeddedAdjudicator(target, settings=Settings(sequestration=True))
    ref = orjson.loads((target / "reference.json").read_bytes())
    ref["payers"][0]["processing_days"] = 30
    (target / "reference.json").write_bytes(orjson.dumps(ref))
    with pytest.raises(UserError, match="reference data differs"):
        EmbeddedAdjudicator(target)


def test_a_second_writer_is_refused_while_the_first_holds_the_ledger(small_run, tmp_path):
    run, _, _ = small_run
    target = _copy_run(run, tmp_path / "r")
    with EmbeddedAdjudicator(target):
        with pytest.raises(UserError, match="another process"):
            EmbeddedAdjudicator(target)


def test_cli_adjudicates_and_prints_a_one_line_summary(small_run, tmp_path, capsys):
    run, facts, expected = small_run
    target = _copy_run(run, tmp_path / "r")
    assert main(["adjudicate", str(target), "--no-progress"]) == 0
    out = capsys.readouterr().out.strip()
    assert out.count("\n") == 0
    assert f"adjudicated {facts['inputs']:,} inputs" in out and "plan paid $" in out
    assert ledger_bytes(target) == expected
    assert main(["adjudicate", str(target), "--no-progress"]) == 0
    n = facts["inputs"]
    assert capsys.readouterr().out == (f"{target}: adjudicated 0 inputs: the ledger answers every"
                                       f" input (seq 0..{n - 1:,})\n")


def test_cli_says_why_an_until_date_leaves_nothing_to_adjudicate(small_run, tmp_path, capsys):
    run, _, _ = small_run
    target = _copy_run(run, tmp_path / "r")
    first_at = next(read(target / "input"))["at"]
    assert main(["adjudicate", str(target), "--until", first_at, "--no-progress"]) == 0
    assert capsys.readouterr().out == (f"{target}: adjudicated 0 inputs: the next, seq 0, is dated"
                                       f" on or after {first_at}\n")


@pytest.mark.parametrize("argv, message", [
    (["adjudicate", "/no/such/run"], "no such run directory"),
    (["adjudicate", "{run}", "--runtime", "bogus"], "--runtime"),
    (["adjudicate", "{run}", "--until", "March"], "--until"),
])
def test_cli_user_errors_are_one_line(small_run, tmp_path, capsys, argv, message):
    run, _, _ = small_run
    target = _copy_run(run, tmp_path / "r")
    assert main([a.format(run=target) for a in argv]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err


def test_run_dir_without_reference_is_a_user_error(tmp_path):
    (tmp_path / "input").mkdir()
    with pytest.raises(UserError, match="reference"):
        EmbeddedAdjudicator(tmp_path)
    assert not os.path.exists(tmp_path / "ledger")
