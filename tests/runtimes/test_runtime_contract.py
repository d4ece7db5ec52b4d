"""The runtime contract (DESIGN.md "The two runtimes share one core"): the same `input/` gives a
byte-identical `ledger/` whichever runtime adjudicates it: embedded, Kafka with 1 partition, Kafka
with 4 partitions. One suite, one fixture parametrised over runtimes (as eventsourcing runs one
suite per recorder).

The run is simulated with raised fault rates, so it holds voids, replacements, duplicates and
malformed claims, and the run clock's epoch facts (attribution, practice status) are written into
the ledger between runs, so the Kafka runtime must also broadcast them at the right position.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest

from claimsim.adjudication.runtimes.embedded import EmbeddedAdjudicator
from claimsim.events.envelope import new_event
from claimsim.events.ledger import AttributionAssigned, AttributionCorrected, PracticeStatus
from claimsim.events.log import read
from claimsim.events.programs import ProgramKind
from claimsim.simulator.config import FaultConfig, SimConfig
from claimsim.simulator.run_dir import simulate_to_dir

from ..fixtures.run_dirs import fresh_copy, ledger_bytes

FIRST_EPOCH = "2025-05-01"
SECOND_EPOCH = "2025-09-01"
HYBRID_PRACTICES = ("PC003", "PC006", "PC007")  # CPC+ T2, MCP T2, MCP T3: they withhold FFS

Runtime = Callable[..., None]  # (run_dir, until_at=None) -> adjudicate that far


def _embedded(run_dir: Path, until_at: str | None = None) -> None:
    with EmbeddedAdjudicator(run_dir) as rt:
        rt.run(until_at=until_at)


def _kafka(partitions: int, bootstrap: str) -> Runtime:
    from claimsim.adjudication.runtimes.streaming.runner import adjudicate_kafka

    def run(run_dir: Path, until_at: str | None = None) -> None:
        adjudicate_kafka(run_dir, bootstrap=bootstrap, partitions=partitions, until_at=until_at)

    return run


@pytest.fixture(params=[
    "embedded",
    pytest.param("kafka-1-partition", marks=pytest.mark.kafka),
    pytest.param("kafka-4-partitions", marks=pytest.mark.kafka),
])
def runtime(request) -> Runtime:
    if request.param == "embedded":
        return _embedded
    partitions = 1 if request.param == "kafka-1-partition" else 4
    return _kafka(partitions, request.getfixturevalue("kafka_bootstrap"))


@pytest.fixture(scope="module")
def simulated(tmp_path_factory) -> Path:
    run = tmp_path_factory.mktemp("contract") / "run"
    faults = FaultConfig(duplicate_bp=500, replacement_bp=400, void_bp=300, malformed_bp=300)
    simulate_to_dir(SimConfig(members=250, months=12, seed=11, faults=faults), run)
    return run


def _hybrid_members(run_dir: Path) -> dict[str, tuple[str, str]]:
    """member -> (subscriber, practice) for members with a claim at a practice that withholds FFS."""
    out: dict[str, tuple[str, str]] = {}
    for env in read(run_dir / "input"):
        claim = env["data"].get("claim") if env["type"] == "claim.submitted" else None
        if isinstance(claim, dict) and claim.get("billing_tin") in HYBRID_PRACTICES:
            member = claim.get("member_id")
            if isinstance(member, str) and member not in out:
                out[member] = (env["key"], claim["billing_tin"], claim.get("payer_id"))
    return out


def record_first_epoch(run_dir: Path) -> None:
    """The run clock at the first boundary: attribute hybrid-practice patients there."""
    members = _hybrid_members(run_dir)
    events = [
        new_event(AttributionAssigned(member_id=m, subscriber_id=s, payer_id=payer,
                                      practice_id=practice, effective=dt.date.fromisoformat(FIRST_EPOCH),
                                      basis="plurality", visits=1), at=FIRST_EPOCH, key=s)
        for m, (s, practice, payer) in sorted(members.items())
    ]
    with EmbeddedAdjudicator(run_dir) as rt:
        rt.record(events)


def record_second_epoch(run_dir: Path) -> None:
    """At the second boundary: one correction and one practice dropped to FFS for a payer."""
    members = sorted(_hybrid_members(run_dir).items())
    m, (s, practice, payer) = members[0]
    events = [
        new_event(AttributionCorrected(member_id=m, subscriber_id=s, payer_id=payer,
                                       from_practice=practice, to_practice=None,
                                       effective=dt.date.fromisoformat(SECOND_EPOCH), reason="dispute"),
                  at=SECOND_EPOCH, key=s),
        new_event(PracticeStatus(payer_id="MEDICAID", practice_id="PC006", program=ProgramKind.MCP_T2,
                                 effective=dt.date.fromisoformat(SECOND_EPOCH), active=False,
                                 attributed=3, reason="minimum volume"), at=SECOND_EPOCH, key="PC006"),
    ]
    with EmbeddedAdjudicator(run_dir) as rt:  # opening replays and checks the runtime's answers
        rt.record(events)


def run_with_epochs(run_dir: Path, runtime: Runtime) -> bytes:
    """Embedded to the first boundary, facts; `runtime` to the second, facts; `runtime` to the end."""
    _embedded(run_dir, FIRST_EPOCH)
    record_first_epoch(run_dir)
    runtime(run_dir, SECOND_EPOCH)
    record_second_epoch(run_dir)
    runtime(run_dir)
    return ledger_bytes(run_dir)


@pytest.fixture(scope="module")
def embedded_with_epochs(simulated, tmp_path_factory) -> bytes:
    return run_with_epochs(fresh_copy(simulated, tmp_path_factory.mktemp("expected") / "run"), _embedded)


@pytest.fixture(scope="module")
def embedded_fresh(simulated, tmp_path_factory) -> bytes:
    run = fresh_copy(simulated, tmp_path_factory.mktemp("expected-fresh") / "run")
    _embedded(run)
    return ledger_bytes(run)


def test_the_simulated_run_exercises_voids_replacements_duplicates_malformed_and_epoch_facts(
        embedded_with_epochs, embedded_fresh):
    """Guards the suite itself: without these the contract below would prove little."""
    import orjson

    events = [orjson.loads(line) for line in embedded_with_epochs.splitlines()]
    kinds = [e["type"] for e in events]
    assert kinds.count("claim.reversed") > 0  # voids
    assert any(e["type"] == "claim.adjudicated" and e["data"]["reversed_lines"] for e in events)
    assert kinds.count("claim.rejected") > 0  # malformed
    assert any(adj["carc"] == "18" for e in events if e["type"] == "claim.adjudicated"
               for line in e["data"]["lines"] for adj in line["adjustments"])  # duplicates
    assert kinds.count("attribution.assigned") > 0 and kinds.count("practice.status") == 1
    assert any(line["cap_offset"] > 0 for e in events if e["type"] == "claim.adjudicated"
               for line in e["data"]["lines"])  # the facts change payments...
    assert embedded_with_epochs != embedded_fresh  # ...so a runtime that drops them would differ


def test_same_input_gives_byte_identical_ledger_from_an_empty_ledger(
        runtime, simulated, tmp_path, embedded_fresh):
    run = fresh_copy(simulated, tmp_path / "run")
    runtime(run)
    assert ledger_bytes(run) == embedded_fresh


def test_same_input_and_epoch_facts_give_byte_identical_ledger_across_resumed_runs(
        runtime, simulated, tmp_path, embedded_with_epochs):
    run = fresh_copy(simulated, tmp_path / "run")
    assert run_with_epochs(run, runtime) == embedded_with_epochs
