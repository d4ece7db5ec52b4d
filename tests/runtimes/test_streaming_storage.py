"""The streaming runtime's own storage pieces, without a broker: the packed changelog record (one
per inbound message) and where a restarted ledger sink resumes reading.
"""

from __future__ import annotations


# -- one changelog record per message -----------------------------------------------------------
def test_a_packed_record_unpacks_to_its_writes_in_order_and_expands_among_plain_events():
    from types import SimpleNamespace

    from claimsim.adjudication.runtimes.streaming.changelog import BATCH_PREFIX, expand, pack

    writes = [(b"c:S1/C1", b'{"versions":[]}'), (b"f:S1", b""), (b"p:0", b"12"), (b"f:S1", b"{}")]
    packed = SimpleNamespace(key=BATCH_PREFIX + b"ab/1", value=pack(writes), partition=2,
                             tp=("t", 2), offset=41)
    plain = SimpleNamespace(key=b"e:2/000000000007", value=b"{}", partition=2, tp=("t", 2), offset=40)
    events = list(expand([SimpleNamespace(key=plain.key, value=plain.value, message=plain),
                          SimpleNamespace(key=packed.key, value=packed.value, message=packed)]))
    assert [(e.key, e.value) for e in events] == [(plain.key, plain.value), *writes]
    assert [(e.message.partition, e.message.offset) for e in events[1:]] == [(2, 41)] * 4


# -- the sink's resume point --------------------------------------------------------------------
def test_a_restarted_sink_resumes_at_the_first_record_its_ledger_lacks_on_each_partition(tmp_path):
    from claimsim.adjudication.runtimes.streaming.sink import ResumePoint

    def answers(*causes):
        return [{"cause": c} for c in causes]

    resume = ResumePoint(tmp_path, "run-ledger")
    resume.read(0, 10, answers(0, 1))
    resume.read(1, 20, answers(2, 5))  # 5 waits in the reorder buffer for 3 and 4
    resume.read(0, 11, answers(3))
    resume.read(1, 21, [])
    # The ledger has 0..3: partition 0 is read up to its end, partition 1 must re-read 20 (5).
    assert resume.positions(3) == {0: 12, 1: 20}
    resume.save(3, now=0.0)
    assert ResumePoint(tmp_path, "run-ledger").start(3) == {0: 12, 1: 20}
    assert ResumePoint(tmp_path, "run-ledger").start(7) == {0: 12, 1: 20}
    # A ledger behind the saved one (a fresh run directory's) or another run's topic: the start.
    assert ResumePoint(tmp_path, "run-ledger").start(2) == {}
    assert ResumePoint(tmp_path, "other-ledger").start(3) == {}
    resume.read(0, 12, answers(4))
    resume.save(5, now=0.5)  # within a second of the last save: not yet
    assert ResumePoint(tmp_path, "run-ledger").start(5) == {0: 12, 1: 20}
    resume.save(5, now=1.5)
    assert ResumePoint(tmp_path, "run-ledger").start(5) == {0: 13, 1: 22}
