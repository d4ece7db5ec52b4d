"""`read` (every replay's reader, one generator per entry) gives exactly the entries `raw_lines`
gives, decoded as `envelope_of` decodes them: from any seq, across segments, and without a torn
last line."""

from __future__ import annotations

from claimsim.events import vocabulary  # noqa: F401
from claimsim.events.envelope import new_event
from claimsim.events.log import LogWriter, envelope_of, raw_lines, read, segments


def _write(directory, n: int) -> None:
    with LogWriter(directory, segment_events=4) as w:
        w.extend(new_event({"input_type": "member.enrolled", "note": f"n{i}"}, type="no_effect",
                           at="2025-01-01", key=f"M{i}", cause=i) for i in range(n))


def test_read_from_every_seq_equals_the_raw_lines_decoded(tmp_path):
    """Ten entries in segments of four (0-3, 4-7, 8-9); the last line torn: nine entries."""
    _write(tmp_path, 10)
    last = segments(tmp_path)[-1][1]
    last.write_bytes(last.read_bytes()[:-30])
    for start in range(12):
        got = list(read(tmp_path, start))
        assert got == [envelope_of(line) for line in raw_lines(tmp_path, start)]
        assert [e["seq"] for e in got] == list(range(start, 9))
        assert [e["data"]["note"] for e in got] == [f"n{i}" for i in range(start, 9)]
