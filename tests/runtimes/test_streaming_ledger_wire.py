"""The ledger topic's index header: the sink slices each answer's canonical bytes out of a worker's
ledger message and writes them as they are, so the ledger is byte for byte the one the decoded
answers make; a message without the header (written by hand) is decoded as before."""

from __future__ import annotations

import pytest

from claimsim.events.encoding import open_body
from claimsim.events.log import LogWriter, read
from claimsim.simulator.config import SimConfig
from claimsim.simulator.run_dir import simulate_to_dir

from claimsim.adjudication.runtimes.embedded import EmbeddedAdjudicator
from claimsim.adjudication.runtimes.streaming.wire import (
    LEDGER_INDEX, decode_ledger, encode_ledger, encode_ledger_indexed, ledger_entries,
)


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    run = tmp_path_factory.mktemp("wire") / "run"
    simulate_to_dir(SimConfig(members=40, months=2, seed=7), run)
    return run


@pytest.fixture(scope="module")
def answers(simulated, tmp_path_factory) -> list[dict]:
    from claimsim.benchmarks.loadtest.verdict import copy_run

    run = copy_run(simulated, tmp_path_factory.mktemp("wire-embedded") / "run")
    with EmbeddedAdjudicator(run) as runtime:
        runtime.adjudicate()
    out = []
    for env in read(run / "ledger"):
        if env.get("cause") is not None:
            out.append({k: v for k, v in env.items() if k not in ("seq", "prev", "hash")})
    return out


def test_indexed_messages_are_the_plain_ones_with_each_answers_cause_and_end(answers):
    indexed = encode_ledger_indexed(answers, limit=20_000)
    assert [value for value, _ in indexed] == encode_ledger(answers, limit=20_000)
    assert len(indexed) > 1
    entries = [e for value, index in indexed for e in ledger_entries(value, [(LEDGER_INDEX, index)])]
    assert entries == [(a["cause"], open_body(a)) for a in answers]
    # 12 bytes per answer: its cause (8) and where its bytes end (4)
    assert sum(len(index) for _, index in indexed) == 12 * len(answers)


def test_a_message_without_the_header_is_decoded(answers):
    (value,) = encode_ledger(answers[:3])
    assert ledger_entries(value) == [(a["cause"], open_body(a)) for a in decode_ledger(value)]
    assert ledger_entries(value, [("other", b"x")]) == ledger_entries(value)


def test_the_sliced_bytes_write_the_same_ledger_as_the_answers(answers, tmp_path):
    with LogWriter(tmp_path / "a") as w:
        w.extend([dict(a) for a in answers])
    with LogWriter(tmp_path / "b") as w:
        for value, index in encode_ledger_indexed(answers, limit=5_000):
            w.write_encoded(body for _, body in ledger_entries(value, [(LEDGER_INDEX, index)]))
    a = sorted((tmp_path / "a").glob("*.jsonl"))
    b = sorted((tmp_path / "b").glob("*.jsonl"))
    assert [p.name for p in a] == [p.name for p in b]
    assert all(x.read_bytes() == y.read_bytes() for x, y in zip(a, b))


def test_the_sink_makes_each_batch_of_sliced_answers_readable_and_durable_at_once(simulated, answers, tmp_path):
    # A restarted sink resumes after what the ledger holds: every batch it writes must be on
    # disk before it reads on, never left in a file buffer a kill -9 would lose.
    from claimsim.adjudication.runtimes.streaming.sink import LedgerSink
    from claimsim.benchmarks.loadtest.verdict import copy_run

    run = copy_run(simulated, tmp_path / "run")
    (value, index), *_ = encode_ledger_indexed(answers[:30])
    with LedgerSink(run) as sink:
        assert sink.offer_encoded(ledger_entries(value, [(LEDGER_INDEX, index)])) == 30
        on_disk = [env for env in read(run / "ledger") if env.get("cause") is not None]
        assert [env["cause"] for env in on_disk] == list(range(30))
