"""`claimsim worker --partitions N` against a run whose inbound topic has another count is one
line naming both (it crashed on the first partition it did not know, "Unrecognized partition",
and the run waited for answers that never came)."""

from __future__ import annotations

import asyncio

import pytest

from claimsim.adjudication.runtimes.streaming.topics import (RunTopics, create_topics,
                                                              delete_topics, new_prefix)
from claimsim.cli import main

from ..fixtures.damaged_runs import simulated_and_paid

pytestmark = pytest.mark.kafka


def test_a_worker_given_another_partition_count_than_the_topics_is_refused(
        kafka_bootstrap, tmp_path, capsys):
    _, run_dir = simulated_and_paid(tmp_path)
    topics = RunTopics(new_prefix())
    asyncio.run(create_topics(kafka_bootstrap, topics, 4))
    try:
        capsys.readouterr()
        assert main(["worker", str(run_dir), "--prefix", topics.prefix, "--partitions", "2",
                     "--bootstrap", kafka_bootstrap]) == 2
        assert capsys.readouterr().err.splitlines()[-1] == (
            f"claimsim: error: --partitions 2: the run's inbound topic {topics.inbound} has 4;"
            " give 4, or leave --partitions out (it is read from the topic)")
    finally:
        asyncio.run(delete_topics(kafka_bootstrap, topics))
