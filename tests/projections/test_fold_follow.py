"""The compiled follow path (`fold.follow`) and the fold's key objects answer as what they stand
in for: the fold's fields are the key objects a decoded entry holds once renewed (and equal to
the names whatever orjson does), the claim-line test is the byte search it starts with a
compare, and a follower fed through `follow` leaves the state `PayerState.apply` leaves, entry
by entry."""

from __future__ import annotations

import subprocess
import sys

from hypothesis import given, settings, strategies as st

from claimsim.events.encoding import canonical
from claimsim.events.log import raw_lines, segments

from claimsim.adjudication.projections.fold import claims
from claimsim.adjudication.projections.fold.follow import CHAIN_TAIL, is_current_claim_line
from claimsim.adjudication.projections.fold.stream import input_lines
from claimsim.adjudication.projections.follower import (LedgerFollower, claim_line_marker,
                                                      ledger_envelopes)
from claimsim.adjudication.projections.state import PayerState
from claimsim.events.reference import ReferenceData

from ..fixtures.damaged_runs import run

_MARKER = claim_line_marker()


def _search(line: bytes, marker: bytes) -> bool:
    """The test as it stood before the compare: the marker anywhere in the line's last bytes."""
    return line.find(marker, len(line) - len(marker) - CHAIN_TAIL) >= 0


# In a fresh process (orjson's key cache holds one object per slot: a process that decodes many
# other keys, as a test session does, may have replaced it, and lookups then compare strings).
_IDENTITY = """
import orjson
from claimsim.adjudication.projections.fold import claims
def decoded():
    entry = orjson.loads(orjson.dumps({"data": {}, "seq": 1}))
    return entry, entry
entry, line = decoded()
fields = claims.FIELDS
assert fields.data is next(iter(entry)) and fields.seq is list(line)[1], "fresh"
# Many other keys (a payment entry's member ids) take their places in orjson's cache ...
orjson.loads(orjson.dumps({f"M{i:06d}": i for i in range(20_000)}))
entry, line = decoded()
assert not (fields.data is next(iter(entry)) and fields.seq is list(line)[1]), "flooded"
fields.renew()  # ... until they are renewed
assert fields.data is next(iter(entry)) and fields.seq is list(line)[1], "renewed"
print("same objects")
"""


def test_the_fields_are_the_objects_a_decoded_entry_holds_once_renewed_and_equal_the_names():
    done = subprocess.run([sys.executable, "-c", _IDENTITY], capture_output=True, text=True)
    assert done.stdout.strip() == "same objects", done.stderr
    for name in ("data", "cause", "type", "seq", "at"):
        assert claims.decoded_key(name) == name == getattr(claims.FIELDS, name)


def _chain_line(body: bytes, type_: str, v: int) -> bytes:
    return (body + b',"type":"' + type_.encode() + b'","v":%d,"prev":"' % v + b"a" * 64
            + b'","hash":"' + b"b" * 64 + b'"}\n')


@given(body=st.binary(max_size=300), type_=st.sampled_from(
    ["claim.submitted", "member.enrolled", "claim.submittedx"]), v=st.integers(0, 12),
       cut=st.integers(0, 8))
@settings(max_examples=300, deadline=None)
def test_the_claim_line_test_answers_as_the_search_on_any_line(body, type_, v, cut):
    line = _chain_line(b'{"at":"2025-01-01"' + body, type_, v)
    for candidate in (line, line[:len(line) - cut], line + b" " * cut, body):
        assert is_current_claim_line(candidate, _MARKER) == _search(candidate, _MARKER)
    assert is_current_claim_line(line, _MARKER) == (type_ == "claim.submitted" and
                                                    b'"v":%d,' % v in _MARKER)


def test_following_a_run_leaves_the_state_its_own_apply_leaves_at_every_entry(tmp_path):
    run_dir = run(tmp_path / "run")
    ref = ReferenceData.load(run_dir)
    fast, slow = PayerState(ref), PayerState(ref)
    followed, plain = LedgerFollower(run_dir, fast), LedgerFollower(run_dir, slow)
    assert followed.fold_handlers is fast._handlers
    plain.fold_handlers = None  # its state's own apply, as any other state's
    seen = 0
    for env in ledger_envelopes(run_dir):
        followed.apply(env)
        plain.apply(env)
        assert (fast.last_seq, fast.last_at, fast.input_seq) == (
            slow.last_seq, slow.last_at, slow.input_seq)
        seen += 1
        if env["type"] in ("epoch.boundary", "claim.reversed") or seen % 500 == 0:
            assert canonical(fast.state()) == canonical(slow.state())
    assert canonical(fast.state()) == canonical(slow.state()) and seen > 1000


def test_the_compiled_input_reader_gives_the_log_readers_lines_from_any_seq_and_stops_torn(
        tmp_path):
    run_dir = run(tmp_path / "run")
    log = run_dir / "input"
    lines = list(raw_lines(log))
    for start in (0, 1, len(lines) // 2, len(lines) - 1, len(lines), len(lines) + 5):
        assert list(input_lines(log, start)) == list(raw_lines(log, start)) == lines[start:]
    with open(segments(log)[-1][1], "ab") as f:
        f.write(b'{"at":"2025-01-01","cause":')  # a writer died mid-line
    assert list(input_lines(log)) == list(raw_lines(log)) == lines
