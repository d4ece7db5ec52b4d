"""The hash-chained log: tamper detection at the right seq, torn-tail recovery, one writer."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import orjson
import pytest

from claimsim.events import vocabulary  # noqa: F401
from claimsim.events.encoding import open_body
from claimsim.events.envelope import new_event
from claimsim.events.log import LogLocked, LogWriter, last_envelope, read, read_decoded, segments
from claimsim.events.log_verify import Problem, verify
from claimsim.events.projection import ProjectionRunner, StaleCheckpoint

from ..fixtures.events import CLAIM, EXAMPLES


def claim_event(i: int) -> dict:
    claim = {**CLAIM, "claim_id": f"C{i}"}
    return new_event({"claim": claim}, type="claim.submitted", at="2025-03-10", key="S1")


def write_log(directory: Path, n: int, **kw) -> None:
    with LogWriter(directory, **kw) as w:
        w.extend(claim_event(i) for i in range(n))


def lines_of(directory: Path) -> list[bytes]:
    return (directory / "000000000000.jsonl").read_bytes().splitlines(keepends=True)


def rewrite(directory: Path, lines: list[bytes]) -> None:
    (directory / "000000000000.jsonl").write_bytes(b"".join(lines))


def test_a_fresh_log_verifies_and_reads_back_in_order(tmp_path):
    write_log(tmp_path, 10)
    result = verify(tmp_path)
    assert result.ok and result.count == 10
    assert [e["data"]["claim"]["claim_id"] for e in read(tmp_path)] == [f"C{i}" for i in range(10)]
    assert [e["seq"] for e in read(tmp_path, 7)] == [7, 8, 9]
    assert last_envelope(tmp_path)["seq"] == 9


def test_segments_rotate_and_reads_cross_them(tmp_path):
    write_log(tmp_path, 10, segment_events=4)
    assert [first for first, _ in segments(tmp_path)] == [0, 4, 8]
    assert [e["seq"] for e in read(tmp_path, 3)] == list(range(3, 10))
    assert [e["seq"] for e in read(tmp_path, 9)] == [9]
    assert list(read(tmp_path, 10)) == []
    assert verify(tmp_path).ok


def test_reopened_writer_continues_the_chain(tmp_path):
    write_log(tmp_path, 3, segment_events=2)
    write_log(tmp_path, 3, segment_events=2)
    assert verify(tmp_path).count == 6
    assert [e["seq"] for e in read(tmp_path)] == list(range(6))


def test_changing_one_byte_is_reported_as_edited_at_that_seq(tmp_path):
    write_log(tmp_path, 6)
    lines = lines_of(tmp_path)
    lines[3] = lines[3].replace(b'"billed":18000', b'"billed":18001')
    rewrite(tmp_path, lines)
    result = verify(tmp_path)
    assert (result.problem, result.seq, result.count) == (Problem.EDITED, 3, 3)


def test_deleting_a_line_is_reported_as_missing(tmp_path):
    write_log(tmp_path, 6)
    lines = lines_of(tmp_path)
    del lines[2]
    rewrite(tmp_path, lines)
    result = verify(tmp_path)
    assert (result.problem, result.seq) == (Problem.MISSING, 2)


def test_swapping_two_lines_is_reported_as_reordered(tmp_path):
    write_log(tmp_path, 6)
    lines = lines_of(tmp_path)
    lines[1], lines[2] = lines[2], lines[1]
    rewrite(tmp_path, lines)
    result = verify(tmp_path)
    assert (result.problem, result.seq) == (Problem.REORDERED, 1)


def test_truncating_mid_line_is_reported_as_torn(tmp_path):
    write_log(tmp_path, 6)
    path = tmp_path / "000000000000.jsonl"
    path.write_bytes(path.read_bytes()[:-40])
    result = verify(tmp_path)
    assert (result.problem, result.seq, result.count) == (Problem.TORN, 5, 5)


def test_garbage_line_is_bad_json_and_unknown_type_is_reported(tmp_path):
    write_log(tmp_path, 4)
    lines = lines_of(tmp_path)
    rewrite(tmp_path, lines[:2] + [b"{not json\n"] + lines[3:])
    assert (verify(tmp_path).problem, verify(tmp_path).seq) == (Problem.BAD_JSON, 2)

    other = tmp_path / "other"
    with LogWriter(other) as w:
        w.append(claim_event(0))
        w.append(new_event({"x": 1}, type="claim.teleported", v=1, at="2025-01-01", key="S1"))
    result = verify(other)
    assert (result.problem, result.seq) == (Problem.UNKNOWN_TYPE, 1)


def test_writer_truncates_a_torn_tail_says_so_and_goes_on(tmp_path, caplog):
    write_log(tmp_path, 5)
    path = tmp_path / "000000000000.jsonl"
    whole = path.read_bytes()
    path.write_bytes(whole + b'{"at":"2025-03-10","cause":nu')  # a crash mid-write
    assert [e["seq"] for e in read(tmp_path)] == [0, 1, 2, 3, 4]  # readers ignore the torn tail
    assert last_envelope(tmp_path)["seq"] == 4
    with LogWriter(tmp_path) as w:
        assert w.recovered_bytes == len(b'{"at":"2025-03-10","cause":nu')
        assert w.next_seq == 5
        w.append(claim_event(5))
    assert "torn last line" in caplog.text
    assert verify(tmp_path).ok and verify(tmp_path).count == 6


def test_second_writer_is_refused_with_the_holders_pid(tmp_path):
    with LogWriter(tmp_path):
        with pytest.raises(LogLocked, match=f"pid {os.getpid()}"):
            LogWriter(tmp_path)


def test_a_killed_writer_leaves_no_stale_lock(tmp_path):
    script = textwrap.dedent(f"""
        import time
        from claimsim.events.log import LogWriter
        w = LogWriter({str(tmp_path)!r})
        print("locked", flush=True)
        time.sleep(60)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE)
    try:
        assert proc.stdout.readline().strip() == b"locked"
        with pytest.raises(LogLocked):
            LogWriter(tmp_path)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    deadline = time.monotonic() + 5
    while True:  # the kernel releases the flock when the process dies
        try:
            LogWriter(tmp_path).close()
            break
        except LogLocked:
            assert time.monotonic() < deadline, "lock not released after kill -9"
            time.sleep(0.05)


def test_read_decoded_gives_typed_envelopes(tmp_path):
    with LogWriter(tmp_path) as w:
        for name in sorted(EXAMPLES):
            w.append(new_event(EXAMPLES[name], at=dt.date(2025, 1, 2), key="K"))
    decoded = list(read_decoded(tmp_path))
    assert [d.data for d in decoded] == [EXAMPLES[n] for n in sorted(EXAMPLES)]
    assert decoded[0].at == dt.date(2025, 1, 2)


class LastSeqByClaim:
    name = "last_seq_by_claim"

    def __init__(self):
        self.counts: dict[str, int] = {}

    def apply(self, env):
        self.counts[env["data"]["claim"]["claim_id"]] = env["seq"]

    def state(self):
        return self.counts

    def restore(self, state):
        self.counts = dict(state)


def test_projection_resumes_from_its_checkpoint(tmp_path):
    log_dir, ckpt = tmp_path / "log", tmp_path / "ckpt.json"
    write_log(log_dir, 5)
    first = ProjectionRunner(log_dir, LastSeqByClaim(), ckpt)
    assert first.run() == 5 and first.last_seq == 4
    write_log(log_dir, 3)
    resumed = ProjectionRunner(log_dir, LastSeqByClaim(), ckpt)
    assert resumed.projection.counts == {f"C{i}": i for i in range(5)}
    assert resumed.run() == 3  # only the new events
    assert resumed.last_seq == 7
    assert resumed.projection.counts["C2"] == 7  # the second batch reused ids C0..C2


def test_projection_refuses_a_checkpoint_that_no_longer_matches_the_log(tmp_path):
    log_dir, ckpt = tmp_path / "log", tmp_path / "ckpt.json"
    write_log(log_dir, 5)
    ProjectionRunner(log_dir, LastSeqByClaim(), ckpt).run()
    saved = orjson.loads(ckpt.read_bytes())
    saved["last_hash"] = "f" * 64
    ckpt.write_bytes(orjson.dumps(saved))
    with pytest.raises(StaleCheckpoint, match="seq 4"):
        ProjectionRunner(log_dir, LastSeqByClaim(), ckpt)


def test_fsync_policies_all_produce_the_same_bytes(tmp_path):
    for policy in ("always", "batch", "never"):
        write_log(tmp_path / policy, 4, fsync=policy)
    contents = {(tmp_path / p / "000000000000.jsonl").read_bytes() for p in ("always", "batch", "never")}
    assert len(contents) == 1


def _log_bytes(directory: Path) -> bytes:
    return b"".join(path.read_bytes() for _, path in segments(directory))


def test_encoded_events_are_written_with_the_same_bytes_as_dicts(tmp_path):
    """A producer that queues its events as `open_body` bytes gets the log `append` writes: the
    same seq, body, chain and segment rotation, also across a reopened writer and whatever the
    batch size or fsync policy."""
    events = [claim_event(i) for i in range(9)]
    events[4]["key"] = 'S"odd,"type":key'  # an escaped quote cannot fool the seq splice
    with LogWriter(tmp_path / "dicts", segment_events=4) as w:
        w.extend([dict(e) for e in events])
    for policy in ("always", "batch", "never"):
        directory = tmp_path / policy
        with LogWriter(directory, segment_events=4, fsync=policy) as w:
            assert w.write_encoded([open_body(e) for e in events[:5]]) == 5
        with LogWriter(directory, segment_events=4, fsync=policy) as w:  # reopened: the chain goes on
            w.write_encoded([open_body(e) for e in events[5:]])
            assert w.next_seq == 9
        assert _log_bytes(directory) == _log_bytes(tmp_path / "dicts")
        assert [first for first, _ in segments(directory)] == [0, 4, 8]
        assert verify(directory).ok


def test_a_large_encoded_batch_goes_in_parts_across_segments_with_the_same_bytes(tmp_path):
    """`write_encoded` chains its events a part at a time (`encoding.chained_lines`, at most
    1,024 events, none past a segment's end): a batch of 2,500 over segments of 1,000, from a
    writer already 700 events into its first, is `extend`'s log; a bad body in a later part
    leaves the parts before it written and the writer where they end."""
    events = [claim_event(i) for i in range(3200)]
    with LogWriter(tmp_path / "dicts", segment_events=1000) as w:
        w.extend([dict(e) for e in events])
    with LogWriter(tmp_path / "encoded", segment_events=1000) as w:
        assert w.write_encoded(iter([open_body(e) for e in events[:700]])) == 700
        assert w.write_encoded([open_body(e) for e in events[700:]]) == 2500
    assert _log_bytes(tmp_path / "encoded") == _log_bytes(tmp_path / "dicts")
    assert [first for first, _ in segments(tmp_path / "encoded")] == [0, 1000, 2000, 3000]
    with LogWriter(tmp_path / "bad") as w:
        with pytest.raises(ValueError, match="not a canonical event"):
            w.write_encoded([open_body(e) for e in events[:1500]] + [b'{"v":1'])
        assert w.next_seq == 1024 and w.last_hash == orjson.loads(
            _log_bytes(tmp_path / "dicts").splitlines()[1023])["hash"]


def test_an_encoded_event_with_a_seq_or_not_canonical_is_refused(tmp_path):
    with LogWriter(tmp_path) as w:
        with pytest.raises(ValueError, match="not a canonical event"):
            w.write_encoded([b'{"at":"2025-01-01","cause":null,"data":{},"key":"S1"'])
        with pytest.raises(ValueError, match="not a canonical event"):
            w.write_encoded([b'{"type":"claim.submitted","v":1'])


def test_events_encoded_with_their_seqs_are_written_with_the_same_bytes_as_dicts(tmp_path):
    """The log's own producer (the embedded runtime) encodes each event with the seq it will
    have (`write_encoded(sequenced=True)`): nothing spliced, the bytes `append` writes, across
    segments and a reopened writer; a body without its seq, or with another, is refused."""
    events = [claim_event(i) for i in range(9)]
    with LogWriter(tmp_path / "dicts", segment_events=4) as w:
        w.extend([dict(e) for e in events])
    for policy in ("always", "batch"):
        directory = tmp_path / policy
        for part in (events[:5], events[5:]):
            with LogWriter(directory, segment_events=4, fsync=policy) as w:
                first = w.next_seq
                bodies = [open_body({**e, "seq": first + i}) for i, e in enumerate(part)]
                assert w.write_encoded(bodies, sequenced=True) == len(part)
        assert _log_bytes(directory) == _log_bytes(tmp_path / "dicts")
        assert verify(directory).ok
    with LogWriter(tmp_path / "bad") as w:
        for body in (open_body(events[0]), open_body({**events[0], "seq": 1})):
            with pytest.raises(ValueError, match="not a canonical event at seq 0"):
                w.write_encoded([body], sequenced=True)
        skipped = [open_body({**e, "seq": i + (i > 2)}) for i, e in enumerate(events[:5])]
        with pytest.raises(ValueError, match="not a canonical event at seq 4"):
            w.write_encoded(skipped, sequenced=True)
        assert w.next_seq == 0
