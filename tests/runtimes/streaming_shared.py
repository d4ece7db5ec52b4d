"""Fixtures and helpers the streaming runtime's broker-free tests share (`test_streaming_unit`,
`test_streaming_worker_unit`): a small simulated year, its embedded answers, and the inbound
messages a producer would send for it. A test module imports the fixtures it uses by name.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import orjson
import pytest

from ..fixtures.run_dirs import simulated_year
from claimsim.adjudication.runtimes.embedded import EmbeddedAdjudicator
from claimsim.adjudication.runtimes.processor import PartitionProcessor
from claimsim.adjudication.runtimes.streaming.producer import InboundBatcher, plan_stream
from claimsim.events.encoding import canonical
from claimsim.events.log import read

ANSWER_KEYS = ("type", "v", "at", "key", "cause", "data")


@pytest.fixture(scope="module")
def simulated(tmp_path_factory) -> Path:
    return simulated_year(tmp_path_factory.mktemp("unit") / "run", members=150, seed=5)


@pytest.fixture(scope="module")
def embedded_answers(simulated, tmp_path_factory) -> list[dict]:
    run = tmp_path_factory.mktemp("unit-expected") / "run"
    shutil.copytree(simulated, run)
    with EmbeddedAdjudicator(run) as rt:
        rt.run()
    return [{k: e[k] for k in ANSWER_KEYS} for e in read(run / "ledger", 1)]


def messages(run_dir: Path, partitions: int, batch: int) -> list[tuple[int, bytes]]:
    batcher = InboundBatcher(partitions, batch)
    out = [(p, v) for item in plan_stream(run_dir) for p, _, v in batcher.add(item)]
    return out + [(p, v) for p, _, v in batcher.flush()]


def answers_through(processor: PartitionProcessor, msgs, store) -> dict[int, dict]:
    out: dict[int, dict] = {}
    for p, value in msgs:
        for event in processor.process(p, value, store).ledger:
            out.setdefault(event["cause"], orjson.loads(canonical(event)))
    return out
