"""scripts/kafka/start.sh on a broker of the test's own: its readiness probe is the Python one
(wait_ready.py, a metadata request every 0.5 s) even when $PYTHON is a path relative to where the
script was called, not one Java admin tool JVM per attempt, which made a restarted broker answer
seconds late on a loaded machine."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from ..fixtures.broker import own_broker

pytestmark = pytest.mark.kafka


def test_a_relative_python_path_still_runs_the_python_readiness_probe(tmp_path, kafka_bootstrap):
    # `PYTHON=bin/py scripts/kafka/start.sh`, called from tmp_path: bin/py records that it ran,
    # then runs this interpreter (which has aiokafka). start.sh launches the broker from its data
    # directory, where bin/py is no file: it must still find the one its caller meant.
    mark = tmp_path / "probe-ran"
    wrapper = tmp_path / "bin" / "py"
    wrapper.parent.mkdir()
    wrapper.write_text(f'#!/bin/sh\ntouch "{mark}"\nexec "{sys.executable}" "$@"\n')
    wrapper.chmod(0o755)
    brokers = own_broker(tmp_path, cwd=tmp_path, PYTHON="bin/py")
    broker = next(brokers)
    try:
        assert mark.exists(), "start.sh fell back to the Java probe: bin/py never ran"
        assert broker.bootstrap.startswith("127.0.0.1:")
    finally:
        brokers.close()
