"""Shared pytest setup: the `kafka` marker's skip/require policy (DESIGN.md "Kafka"), and the
engine the suite runs (the Python sources unless CLAIMSIM_PURE=0: claimsim/native.py).

Tests marked `kafka` run when KAFKA_BOOTSTRAP_SERVERS is set. Without it they are skipped with a
message saying how to start a broker, unless CLAIMSIM_REQUIRE_KAFKA=1 (CI), which fails them.
"""

from __future__ import annotations

import os

# The suite checks the reference engine, the Python sources: several tests patch module-level
# functions, which a compiled module does not see. `CLAIMSIM_PURE=0 pytest ...` runs it on the
# compiled engine instead; tests/engine/test_native_engine.py compares the two byte for byte.
os.environ.setdefault("CLAIMSIM_PURE", "1")

import pytest  # noqa: E402

HOW_TO_START = (
    "no Kafka broker: run `eval \"$(scripts/kafka/start.sh)\"` (or set KAFKA_BOOTSTRAP_SERVERS "
    "to your cluster) to run the Kafka tests"
)


def pytest_collection_modifyitems(config, items):
    if os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        return
    if os.environ.get("CLAIMSIM_REQUIRE_KAFKA") == "1":
        return  # the `kafka_bootstrap` fixture fails them instead
    for item in items:
        if "kafka" in item.keywords:
            item.add_marker(pytest.mark.skip(reason=HOW_TO_START))


@pytest.fixture
def kafka_bootstrap() -> str:
    """The broker's address; every `kafka`-marked test takes this fixture."""
    servers = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if not servers:
        if os.environ.get("CLAIMSIM_REQUIRE_KAFKA") == "1":
            pytest.fail("CLAIMSIM_REQUIRE_KAFKA=1 but KAFKA_BOOTSTRAP_SERVERS is not set")
        pytest.skip(HOW_TO_START)
    return servers


@pytest.fixture(scope="session", autouse=True)
def _no_faust_data_directories_left():
    """Workers remove their own faust data directory, and runners those of workers killed with
    -9; this catches any a test's worker left all the same, once the session ends."""
    yield
    from claimsim.adjudication.runtimes.streaming import datadir

    datadir.sweep()
