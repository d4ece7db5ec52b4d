"""`claimsim adjudicate` of a large new ledger in family passes (`runtimes.passes`): the same
ledger bytes and counts as one pass over the disk store, a resumable ledger after it, and
every input the passes do not understand sent the one-pass way before a byte is written.

The sizes are made small here (a "large" run of 480 inputs in passes of 100) so that a
150-member run goes in several passes; a spy on the children proves the passes ran (or did not).
"""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest

from claimsim.adjudication.runtimes import family_storage, passes
from claimsim.adjudication.runtimes.embedded import EmbeddedAdjudicator
from claimsim.adjudication.runtimes.family_storage import LARGE
from claimsim.adjudication.runtimes.parallel import WorkerFailed, partition_of
from claimsim.adjudication.runtimes.processor import PartitionProcessor
from claimsim.cli import main
from claimsim.events.input_reader import ChainPosition

from ..fixtures.damaged_runs import copy, entries, replace_line, rewrite_log, simulate
from ..fixtures.processes import drop_a_stop, signal_itself
from ..fixtures.run_dirs import ledger_bytes


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    return simulate(tmp_path_factory.mktemp("passes") / "clean")


@pytest.fixture
def small(monkeypatch):
    """Passes of 100 inputs for any run over 50 inputs; returns the parts each pass ran."""
    monkeypatch.setattr(family_storage, "IN_MEMORY_INPUTS", 50)
    monkeypatch.setattr(passes, "PASS_INPUTS", 100)
    ran: list[int] = []

    class Spy(passes._Child):
        def __init__(self, ctx, part, args):
            ran.append(part)
            super().__init__(ctx, part, args)

    monkeypatch.setattr(passes, "_Child", Spy)
    return ran


def _adjudicate(run_dir, capsys, *args):
    code = main(["adjudicate", str(run_dir), "--no-progress", *args])
    captured = capsys.readouterr()
    return code, captured.out.replace(str(run_dir), "RUN"), captured.err.replace(str(run_dir), "RUN")


def test_passes_write_the_one_pass_ledger_byte_for_byte(clean, small, tmp_path, capsys):
    inputs = len(entries(clean / "input"))
    one = copy(clean, tmp_path / "one")
    assert _adjudicate(one, capsys, "--no-passes")[0] == 0
    assert small == []
    many = copy(clean, tmp_path / "many")
    code, out, _ = _adjudicate(many, capsys)
    assert code == 0
    assert small == list(range(-(-inputs // 100))) and len(small) >= 4
    assert ledger_bytes(many) == ledger_bytes(one)
    assert out == _adjudicate(copy(clean, tmp_path / "again"), capsys, "--no-passes")[1]
    assert f"adjudicated {inputs:,} inputs" in out and "claims paid" in out
    assert not (many / passes.SCRATCH).exists()


def test_after_passes_the_runtime_stands_where_one_pass_leaves_it(clean, small, tmp_path):
    """The input chain's position after the merge is the one-pass run's, and a reopened ledger
    replays to the end with nothing pending; `audit replay` reproduces every answer."""
    positions = []
    for name, use in (("one", False), ("many", True)):
        run_dir = copy(clean, tmp_path / name)
        with EmbeddedAdjudicator(run_dir, cache_families=LARGE, passes=use) as rt:
            rt.run()
            positions.append((rt.input_position, rt.next_input, rt.stats))
        with EmbeddedAdjudicator(run_dir, cache_families=LARGE, passes=use) as rt:
            assert (rt.pending(), rt.next_input, rt.input_position) == (
                0, positions[-1][1], positions[-1][0])
    assert positions[0] == positions[1]
    assert len(small) >= 4
    assert main(["audit", "replay", str(tmp_path / "many")]) == 0


def test_the_split_gives_each_family_the_part_parallel_gives_it(clean, tmp_path):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    split = passes.split_input(clean / "input", ChainPosition(), 5, scratch)
    keys = [e["key"] for e in entries(clean / "input")]
    assert list(split.owner) == [partition_of(k, 5) for k in keys]
    assert split.last_hash == entries(clean / "input")[-1]["hash"]
    for part in range(5):
        lines = (scratch / f"in-{part}").read_bytes().splitlines()
        assert [orjson.loads(line)["key"] for line in lines] == [
            k for k, p in zip(keys, split.owner) if p == part]


def _malformed_line(run_dir):
    replace_line(run_dir / "input", 150, b'{"seq": 150, "type": "claim.submitted", "data": \n')


def _body_damaged_tail_intact(run_dir):
    """Line 200's JSON broken before its chain fields: not an envelope, its tail as written."""
    (seg,) = (run_dir / "input").glob("*.jsonl")
    lines = seg.read_bytes().splitlines(keepends=True)
    lines[200] = lines[200].replace(b'"data":{', b'"data":{{', 1)
    seg.write_bytes(b"".join(lines))


def _key_not_a_string(run_dir):
    rewrite_log(run_dir / "input",
                lambda bodies: [*bodies[:120], {**bodies[120], "key": 7}, *bodies[121:]])


def _key_with_an_escape(run_dir):
    rewrite_log(run_dir / "input",
                lambda bodies: [*bodies[:120], {**bodies[120], "key": 'F"1'}, *bodies[121:]])


def _torn_last_line(run_dir):
    with open(next((run_dir / "input").glob("*.jsonl")), "ab") as f:
        f.write(b'{"at":"2025-07-30","cause":null,"data":{"claim":{"claim_id":"TOR')


DAMAGES = {"malformed line": _malformed_line, "broken body, intact tail": _body_damaged_tail_intact,
           "key not a string": _key_not_a_string, "key with an escape": _key_with_an_escape,
           "torn last line": _torn_last_line}


@pytest.mark.parametrize("damage", DAMAGES)
def test_an_input_the_passes_do_not_understand_goes_the_one_pass_way(clean, small, tmp_path,
                                                                    capsys, damage):
    """Each damage is answered as `--no-passes` answers it (a typed rejection, the run going
    on): the same ledger bytes, the same summary, and no scratch left behind."""
    damaged = copy(clean, tmp_path / "damaged")
    DAMAGES[damage](damaged)
    one = copy(damaged, tmp_path / "one")
    expected = _adjudicate(one, capsys, "--no-passes")
    got = _adjudicate(damaged, capsys)
    assert expected[0] == 0 and got[:2] == expected[:2]
    assert ledger_bytes(damaged) == ledger_bytes(one)
    assert not (damaged / passes.SCRATCH).exists()
    assert len(small) < -(-len(entries(clean / "input")) // 100)  # they stopped part-way


def test_a_broken_input_chain_is_refused_as_one_pass_refuses_it(clean, small, tmp_path, capsys):
    damaged = copy(clean, tmp_path / "damaged")
    (seg,) = (damaged / "input").glob("*.jsonl")
    lines = seg.read_bytes().splitlines(keepends=True)
    lines[300] = lines[300].replace(b'"billed":', b'"billed":9', 1)  # an edit, hash left stale
    seg.write_bytes(b"".join(lines))
    one = copy(damaged, tmp_path / "one")
    expected = _adjudicate(one, capsys, "--no-passes")
    got = _adjudicate(damaged, capsys)
    assert expected[0] == 2 and "seq 300" in expected[2]
    assert got == expected
    assert ledger_bytes(damaged) == ledger_bytes(one)
    assert small  # the passes started, and stopped at the line


def test_a_pass_that_fails_writes_nothing_and_says_which(clean, small, tmp_path, monkeypatch):
    real = PartitionProcessor.apply

    def failing(self, partition, pos, items, store, **kwargs):
        if any(getattr(e, "get", lambda k: None)("seq") == 400 for e in items):
            raise RuntimeError("a core bug at input 400")
        return real(self, partition, pos, items, store, **kwargs)

    monkeypatch.setattr(PartitionProcessor, "apply", failing)
    run_dir = copy(clean, tmp_path / "r")
    with pytest.raises(WorkerFailed, match="a core bug at input 400"):
        with EmbeddedAdjudicator(run_dir, cache_families=LARGE, passes=True) as rt:
            rt.run()
    assert [e["type"] for e in entries(run_dir / "ledger")] == ["run.manifest"]
    assert not (run_dir / passes.SCRATCH).exists()


@pytest.mark.parametrize("processes", [2, 3])
def test_n_passes_at_a_time_write_the_same_ledger(clean, small, tmp_path, capsys, processes):
    one = copy(clean, tmp_path / "one")
    assert _adjudicate(one, capsys, "--no-passes")[0] == 0
    many = copy(clean, tmp_path / "many")
    assert _adjudicate(many, capsys, "--processes", str(processes))[0] == 0
    assert sorted(small) == list(range(-(-len(entries(clean / "input")) // 100)))
    assert ledger_bytes(many) == ledger_bytes(one)


@pytest.mark.parametrize("args", [("--cache-families", "64"), ("--until", "2025-03-01"),
                                  ("--no-passes", "--processes", "2")])
def test_passes_are_only_for_a_whole_input_over_the_default_store(
        clean, small, tmp_path, capsys, args):
    run_dir = copy(clean, tmp_path / "r")
    assert _adjudicate(run_dir, capsys, *args)[0] == 0
    assert small == []


SLOW_PASS = """
import time
from claimsim.adjudication.runtimes import family_storage, passes
from claimsim.adjudication.runtimes.embedded import EmbeddedAdjudicator
from claimsim.adjudication.runtimes.family_storage import LARGE
from claimsim.adjudication.runtimes.processor import PartitionProcessor
family_storage.IN_MEMORY_INPUTS, passes.PASS_INPUTS = 50, 100
PartitionProcessor.apply = lambda *args, **kwargs: time.sleep(600)  # a pass that never ends
with EmbeddedAdjudicator(RUN, cache_families=LARGE, passes=True) as rt:
    rt.run()
"""


def _gone(pid: int) -> bool:
    stat = Path(f"/proc/{pid}/stat")
    try:
        return stat.read_text().rsplit(")", 1)[1].split()[0] == "Z"  # dead, not yet reaped
    except FileNotFoundError:
        return True


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads children from /proc")
def test_a_pass_ends_when_its_parent_is_killed_outright(clean, tmp_path):
    """kill -9 of `claimsim adjudicate` runs no cleanup: its running pass must not go on."""
    run_dir = copy(clean, tmp_path / "r")
    parent = subprocess.Popen([sys.executable, "-c", SLOW_PASS.replace("RUN", repr(str(run_dir)))])
    children = Path(f"/proc/{parent.pid}/task/{parent.pid}/children")
    deadline, kids = time.monotonic() + 60, []
    while not kids and time.monotonic() < deadline and parent.poll() is None:
        kids = [int(pid) for pid in children.read_text().split()]
        time.sleep(0.05)
    assert kids, "the pass never started"
    parent.kill()
    parent.wait()
    while not _gone(kids[0]) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _gone(kids[0])


def test_a_run_killed_while_the_merge_writes_resumes_to_the_same_ledger(clean, small, tmp_path,
                                                                       monkeypatch, capsys):
    """The merge commits a batch at a time; a run stopped after some batches leaves a ledger
    prefix, and the next `adjudicate` (no passes: the ledger is not new) finishes it."""
    one = copy(clean, tmp_path / "one")
    assert _adjudicate(one, capsys, "--no-passes")[0] == 0
    run_dir = copy(clean, tmp_path / "r")
    real = passes.merged_answers

    def killed(split, scratch):
        for i, body in enumerate(real(split, scratch)):
            if i == 250:
                raise KeyboardInterrupt  # as Ctrl-C would, mid-merge
            yield body

    monkeypatch.setattr(passes, "merged_answers", killed)
    assert _adjudicate(run_dir, capsys, "--batch", "100")[0] == 130
    written = [e for e in entries(run_dir / "ledger") if e.get("cause") is not None]
    assert [e["cause"] for e in written] == list(range(200))  # two whole batches
    monkeypatch.setattr(passes, "merged_answers", real)
    started = len(small)
    assert _adjudicate(run_dir, capsys)[0] == 0
    assert len(small) == started  # resumed in one pass
    assert ledger_bytes(run_dir) == ledger_bytes(one)
    assert not (run_dir / passes.SCRATCH).exists()


def test_a_disk_the_passes_fill_up_is_adjudicated_in_one_pass(clean, small, tmp_path, capsys,
                                                              monkeypatch, caplog):
    """A pass whose scratch write finds the disk full (in its child) is not the run's failure:
    the scratch goes, the one pass (which needs less room) writes the same ledger, and a warning
    says why and names `--no-passes`."""
    one = copy(clean, tmp_path / "one")
    assert _adjudicate(one, capsys, "--no-passes")[0] == 0

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(passes, "part_inputs", full)  # read in each pass's child
    filled = copy(clean, tmp_path / "filled")
    code, out, _ = _adjudicate(filled, capsys)
    assert code == 0 and len(small) >= 1
    assert ledger_bytes(filled) == ledger_bytes(one)
    assert "filled up" in caplog.text and "--no-passes" in caplog.text
    assert not (filled / passes.SCRATCH).exists()


def _stopped_after_the_second_pass(clean, small, tmp_path, capsys):
    """`adjudicate` of a copy of `clean`: exit 143 after two passes, nothing written, no scratch."""
    run_dir = copy(clean, tmp_path / "r")
    code, _, err = _adjudicate(run_dir, capsys)
    assert (code, err.splitlines()[-1]) == (143, "claimsim: terminated")
    assert small == [0, 1]
    assert [e["type"] for e in entries(run_dir / "ledger")] == ["run.manifest"]
    assert not (run_dir / passes.SCRATCH).exists()


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_a_kill_python_dropped_as_a_pass_ended_stops_before_the_next(clean, small, tmp_path,
                                                                     monkeypatch, capsys):
    """A SIGTERM that lands in a finalizer as an ended pass is cleaned up (the `Finalize` of its
    pipes: seen in CI) is printed and dropped by Python; the passes used to go on to the last
    and the command exit 0. The next checkpoint raises it: no pass after starts, nothing is
    written, the scratch goes, and `adjudicate` exits 143."""
    real_end = passes._Child.end

    def end(self, kill=False):
        real_end(self, kill)
        if self.part == 1:
            drop_a_stop()

    monkeypatch.setattr(passes._Child, "end", end)
    _stopped_after_the_second_pass(clean, small, tmp_path, capsys)


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_a_kill_landing_as_a_passs_pipes_close_is_raised_there(clean, small, tmp_path,
                                                               monkeypatch, capsys):
    """CI's case itself: the SIGTERM lands in `close_fds`, which the `Finalize` of an ended
    pass's pipes calls. `_Child.end` calls it (`Process.close`), so the stop is raised there,
    not dropped by a weakref callback after the next pass has started."""
    import multiprocessing.util

    real, closes = multiprocessing.util.close_fds, []

    def close_fds(*fds):
        closes.append(fds)
        if len(closes) == 2:  # the second pass's
            signal_itself()
        real(*fds)

    monkeypatch.setattr(multiprocessing.util, "close_fds", close_fds)
    _stopped_after_the_second_pass(clean, small, tmp_path, capsys)
