"""`audit replay` in family passes (`audit.replay_passes`) gives exactly the one pass's result: on a
whole run every entry reproduced, and on a ledger edited any way (an answer, an epoch fact, a
payment, an answer out of step with the input, a line not in the canonical layout) the same first
difference, named the same way, at the same count of entries."""

from __future__ import annotations

import errno
import importlib
import os
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from claimsim.cli import main
from claimsim.events.input_reader import ChainPosition
from claimsim.events.log import read, segments
from claimsim.events.reference import ReferenceData

from claimsim.adjudication.engine.context import Settings
from claimsim.adjudication.runtimes import passes
from claimsim import native
from claimsim.adjudication.runtimes.processor import MemoryStore, PartitionProcessor

from ..fixtures.damaged_runs import copy, cut_log, replace_line, rewrite_log, run, simulate
from ..fixtures.processes import CLAIMSIM_WITH_SIGINT, assert_interrupted, children

replay_module = importlib.import_module("claimsim.adjudication.audit.replay")
replay_passes = importlib.import_module("claimsim.adjudication.audit.replay_passes")

PASS_INPUTS = 300  # the 1,320-input run in five parts


@pytest.fixture(scope="module")
def whole(tmp_path_factory):
    return run(tmp_path_factory.mktemp("replay-passes") / "run")


@pytest.fixture
def both(monkeypatch):
    """`both(run_dir)`: the replay's result in one pass and in passes of PASS_INPUTS inputs,
    with how many parts the passes checked (0: they did not apply or stopped)."""
    def replay_both(run_dir):
        one = replay_module.replay(run_dir)
        checked: list[int] = []  # each pass's inputs re-adjudicated, as its child reported them
        real = replay_passes.run_passes

        def counting(*args, **kwargs):
            reports = real(*args, **kwargs)
            checked.extend(r.inputs for r in reports)
            return reports

        with monkeypatch.context() as m:
            m.setattr(passes, "PASS_INPUTS", PASS_INPUTS)
            m.setattr(replay_passes, "run_passes", counting)
            two = replay_module.replay(run_dir)
        return one, two, checked

    return replay_both


def test_passes_reproduce_every_entry_and_check_every_answer(whole, both):
    one, two, checked = both(whole)
    answers = sum(1 for e in read(whole / "ledger") if e["type"] in replay_passes.ANSWER_TYPES)
    assert one.ok and two == one and two.events == len(list(read(whole / "ledger")))
    assert len(checked) == 5 and sum(checked) == answers == 1320  # every input, once


def _first(bodies, kind, where=lambda e: True, after=0):
    return next(e for e in bodies[after:] if e["type"] == kind and where(e))


def _plan_paid_plus_one(bodies):
    claim = _first(bodies, "claim.adjudicated", lambda e: e["data"]["lines"][0]["plan_paid"] > 0,
                   after=len(bodies) // 2)
    claim["data"]["lines"][0]["plan_paid"] += 1
    return bodies


def _attribution_moved(bodies):
    """An attribution fact moved to another practice: later answers (offsets) or payments differ."""
    fact = _first(bodies, "attribution.assigned", lambda e: e["data"]["practice_id"] != "PC001")
    fact["data"]["practice_id"] = "PC001"
    return bodies


def _payment_plus_one(bodies):
    _first(bodies, "payment.prospective")["data"]["amount"] += 1
    return bodies


def _answers_swapped(bodies):
    """Two answers' places swapped: the first answers an input that is not the next one."""
    i = next(i for i, e in enumerate(bodies) if i > 400 and e["type"] == "claim.adjudicated")
    j = next(j for j in range(i + 1, len(bodies)) if bodies[j]["type"] == "claim.adjudicated")
    bodies[i], bodies[j] = bodies[j], bodies[i]
    return bodies


def _answer_dropped(bodies):
    del bodies[next(i for i, e in enumerate(bodies) if i > 400 and e["type"] == "no_effect")]
    return bodies


def _early_answer_and_late_payment(bodies):
    """Two differences: the earlier one (an answer, checked by a pass) is the one named."""
    _payment_plus_one(bodies)
    claim = _first(bodies, "claim.adjudicated", lambda e: e["data"]["lines"][0]["allowed"] > 0)
    claim["data"]["lines"][0]["allowed"] += 1
    return bodies


EDITS = {"an answer": _plan_paid_plus_one, "an epoch fact": _attribution_moved,
         "a payment": _payment_plus_one, "answers swapped": _answers_swapped,
         "an answer dropped": _answer_dropped, "two differences": _early_answer_and_late_payment}


@pytest.mark.parametrize("edit", list(EDITS))
def test_an_edited_ledger_fails_the_same_way(whole, both, tmp_path, edit):
    edited = copy(whole, tmp_path / "e")
    rewrite_log(edited / "ledger", EDITS[edit])
    one, two, checked = both(edited)
    assert not one.ok and two == one
    assert checked  # the passes ran


def test_a_ledger_answering_more_inputs_than_the_log_holds_fails_the_same_way(whole, both,
                                                                            tmp_path):
    edited = copy(whole, tmp_path / "e")
    cut_log(edited / "input", 1000)
    one, two, checked = both(edited)
    assert one.difference.endswith("but the next input is None") and two == one
    assert len(checked) == 4  # 1,000 inputs in passes of 300


def test_the_earlier_of_an_answer_and_a_payment_difference_is_named(whole, both, tmp_path):
    edited = copy(whole, tmp_path / "e")
    rewrite_log(edited / "ledger", _early_answer_and_late_payment)
    _, two, _ = both(edited)
    assert "(claim.adjudicated, input " in two.difference and "allowed" in two.difference


def _line(run_dir, kind, after=0):
    (_, path), = segments(run_dir / "ledger")
    lines = path.read_bytes().splitlines(keepends=True)
    i = next(i for i, ln in enumerate(lines) if i > after and f'"type":"{kind}"'.encode() in ln)
    return i, lines[i]


def test_an_answer_written_in_another_layout_is_compared_as_the_one_pass_compares_it(
        whole, both, tmp_path):
    """The same JSON in other bytes (spaces): not the answer's bytes, so decoded and compared."""
    edited = copy(whole, tmp_path / "e")
    i, line = _line(edited, "claim.adjudicated", after=300)
    replace_line(edited / "ledger", i, line.replace(b'"data":{', b'"data": {', 1))
    one, two, checked = both(edited)
    assert one.ok and two == one and len(checked) == 5


def test_a_ledger_line_the_split_cannot_read_goes_the_one_pass_way(whole, both, tmp_path):
    """The chain fields out of their order: the split stops (NoPasses), the one pass answers."""
    edited = copy(whole, tmp_path / "e")
    i, line = _line(edited, "no_effect", after=300)
    body, _, tail = line.rpartition(b',"prev":')
    prev, _, hash_ = tail.partition(b',"hash":')
    replace_line(edited / "ledger", i, body + b',"hash":' + hash_.rstrip(b"}\n") + b',"prev":'
                 + prev + b"}\n")
    one, two, checked = both(edited)
    assert one.ok and two == one and checked == []


def test_the_cli_shows_the_same_result_either_way(whole, monkeypatch, capsys):
    assert main(["audit", "replay", str(whole)]) == 0
    one = capsys.readouterr().out
    monkeypatch.setattr(passes, "PASS_INPUTS", PASS_INPUTS)
    assert main(["audit", "replay", str(whole)]) == 0
    assert capsys.readouterr().out == one and "reproduces all 2,107 ledger entries" in one


@pytest.mark.skipif(native.runtimes_kind() == "native",
                    reason="patches a processor's method: a compiled class's are read-only (the"
                           " Python sources, the suite's default, run it)")
def test_each_pass_applies_the_epoch_facts_its_families_read_where_the_one_pass_did(
        whole, tmp_path, monkeypatch):
    """In process, part by part: a pass applies every practice status and the attribution of
    every member enrolled in one of its families (no other), and in the ledger's order with its
    inputs (a fact before an input iff the fact's entry comes before the input's answer)."""
    ledger = list(read(whole / "ledger"))
    answer_at = {e["cause"]: e["seq"] for e in ledger if e["type"] in replay_passes.ANSWER_TYPES}
    enrolled: dict[bytes, int] = {}
    split = passes.split_input(whole / "input", ChainPosition(), 5, tmp_path, enrolled)
    parts_of = {e["data"]["member_id"]: set() for e in read(whole / "input")
                if e["type"] == "member.enrolled"}
    for e in read(whole / "input"):
        if e["type"] == "member.enrolled":
            parts_of[e["data"]["member_id"]].add(split.owner[e["seq"]])
    assert {m.decode(): {p for p in range(5) if bits >> p & 1} for m, bits in enrolled.items()
            } == parts_of
    assert replay_passes.split_ledger(whole / "ledger", split, tmp_path, enrolled).answers == 1320
    settings = Settings.from_dict(ledger[0]["data"].get("settings") or {})
    decode = replay_passes.envelope_of
    for part in range(5):
        order: list[tuple[str, int]] = []  # ("fact", entry seq) or ("input", its answer's seq)

        def recorded(line):
            env = decode(line)
            order.append(("fact", env["seq"]))
            return env

        monkeypatch.setattr(replay_passes, "envelope_of", recorded)
        processor = PartitionProcessor(ReferenceData.load(whole), settings, cache_families=None,
                                       keep_results=False)
        real_apply = processor.apply

        def applying(partition, pos, items, store, **kw):
            order.extend(("input", answer_at[i["seq"]]) for i in items)
            return real_apply(partition, pos, items, store, **kw)

        processor.apply = applying
        report = replay_passes.check_part(processor, MemoryStore(), whole / "input", split,
                                          tmp_path, part, lambda n: None)
        assert report.difference is None and report.inputs == split.owner.count(part)
        last = max(seq for what, seq in order if what == "input")
        # Its facts before its last answer, in order (those after it matter to none).
        assert [seq for what, seq in order if what == "fact"] == [
            e["seq"] for e in ledger if e["seq"] < last and (
                e["type"] == "practice.status" or e["type"] in replay_passes.ATTRIBUTION_TYPES
                and part in parts_of.get(e["data"]["member_id"], ()))]
        assert [seq for _, seq in order] == sorted(seq for _, seq in order)  # ledger order


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "kill"])
def test_a_stop_during_the_passes_ends_them_and_removes_their_scratch(tmp_path, sig):
    """Ctrl-C (SIGINT) or `kill` (SIGTERM) while the passes run: exit 130 or 143, no pass left
    running, and none of the scratch (the input's and the ledger's copies, a million members'
    7.5 GB) left in TMPDIR."""
    run_dir = simulate(tmp_path / "run", members=2000, months=12)
    assert main(["adjudicate", str(run_dir), "--no-progress"]) == 0
    temp = tmp_path / "tmp"
    temp.mkdir()
    command = list(CLAIMSIM_WITH_SIGINT)  # passes of 100 inputs: some 170 of them
    command[-1] = ("from claimsim.adjudication.runtimes import passes; passes.PASS_INPUTS = 100; "
                   + command[-1])
    proc = subprocess.Popen([*command, "audit", "replay", str(run_dir)],
                            env={**os.environ, "TMPDIR": str(temp)}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)
    deadline, kids = time.monotonic() + 120, []
    while not kids and time.monotonic() < deadline and proc.poll() is None:
        kids = children(proc.pid)  # a pass running
        time.sleep(0.05)
    assert kids, "no pass ever ran"
    assert_interrupted(proc, kids, sig)
    assert list(temp.iterdir()) == []


def test_a_new_scratch_sweeps_what_a_killed_replay_left(tmp_path, monkeypatch):
    """`kill -9` runs no cleanup: the next replay removes the scratch of a replay that is gone,
    and keeps a running one's."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    gone = subprocess.Popen(["true"])
    gone.wait()
    stale = tmp_path / f"{replay_passes.SCRATCH_PREFIX}{gone.pid}-x1"
    running = tmp_path / f"{replay_passes.SCRATCH_PREFIX}{os.getppid()}-x2"
    other = tmp_path / "claimsim-replay-passes-notes"  # not a replay's: no pid
    for folder in (stale, running, other):
        (folder / "in-0").parent.mkdir()
        (folder / "in-0").write_bytes(b"x")
    made = replay_passes.own_scratch(replay_passes.SCRATCH_PREFIX)  # as the replay makes it
    assert not stale.exists() and running.exists() and other.exists()
    assert made.parent == tmp_path and made.name.startswith(
        f"{replay_passes.SCRATCH_PREFIX}{os.getpid()}-")


def test_too_little_room_in_tmpdir_replays_in_one_pass_and_says_why(whole, both, monkeypatch,
                                                                      caplog):
    """TMPDIR with less free than the input's size: no split is tried (it would fill the disk);
    the replay goes the one-pass way, which needs no scratch, with the same result."""
    room = SimpleNamespace(free=1000, total=10**9, used=0)
    monkeypatch.setattr(replay_passes.shutil, "disk_usage", lambda path: room)
    one, two, checked = both(whole)
    assert one.ok and two == one and checked == []
    assert "replaying in one pass" in caplog.text and "TMPDIR" in caplog.text


def test_a_tmpdir_that_fills_up_during_the_passes_replays_in_one_pass(whole, both, monkeypatch,
                                                                      caplog):
    """A disk that fills up part way (another program writing beside the replay) is not the
    replay's failure: the scratch goes, the one pass runs, and the warning names the cause."""
    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(replay_passes, "split_ledger", full)
    one, two, checked = both(whole)
    assert one.ok and two == one and checked == []
    assert "filled up" in caplog.text and os.strerror(errno.ENOSPC) in caplog.text
    assert not list(Path(tempfile.gettempdir()).glob(
        f"{replay_passes.SCRATCH_PREFIX}{os.getpid()}-*"))
