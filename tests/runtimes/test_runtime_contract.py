"""The runtime contract (DESIGN.md "The two runtimes share one core"): the same `input/` gives a
byte-identical `ledger/` whichever runtime adjudicates it: embedded (the partition processor over
its disk store, with the default cache, a one-family cache, or every family in memory), Kafka with 1 partition, Kafka with 4 partitions. One suite, one fixture
parametrised over runtimes (as eventsourcing runs one suite per recorder); each runtime is driven
only through the `Runtime` seam the run clock uses, and the expected ledger comes from the pure
core in a plain loop, so no runtime is its own reference.

The run is simulated with raised fault rates, so it holds voids, replacements, duplicates and
malformed claims, and the run clock's epoch facts (attribution, practice status) are recorded
into the ledger between adjudications, so a runtime must also apply them at the right position.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from claimsim.adjudication.engine.context import Context, Settings
from claimsim.adjudication.engine.core import adjudicate
from claimsim.adjudication.runtimes.embedded import EmbeddedAdjudicator
from claimsim.adjudication.runtimes.manifest import manifest_event
from claimsim.adjudication.runtimes.protocol import Runtime, Until
from claimsim.events.envelope import new_event
from claimsim.events.ledger import AttributionAssigned, AttributionCorrected, PracticeStatus
from claimsim.events.log import LogWriter, last_envelope, read
from claimsim.events.programs import ProgramKind
from claimsim.events.reference import ReferenceData

from ..fixtures.run_dirs import fresh_copy, ledger_bytes, simulated_year

FIRST_EPOCH = "2025-05-01"
SECOND_EPOCH = "2025-09-01"
HYBRID_PRACTICES = ("PC003", "PC006", "PC007")  # CPC+ T2, MCP T2, MCP T3: they withhold FFS

OpenRuntime = Callable[[Path], Runtime]


def _kafka(partitions: int, bootstrap: str) -> OpenRuntime:
    from claimsim.adjudication.runtimes.streaming.runtime import KafkaOptions, KafkaRuntime

    return lambda run_dir: KafkaRuntime(run_dir, KafkaOptions(bootstrap, partitions=partitions))


@pytest.fixture(params=[
    "embedded",
    "embedded-cache-1",  # one family in memory: every other one comes back from the disk store
    "embedded-in-memory",  # no disk store: every family in the processor's cache
    pytest.param("kafka-1-partition", marks=pytest.mark.kafka),
    pytest.param("kafka-4-partitions", marks=pytest.mark.kafka),
])
def runtime(request) -> OpenRuntime:
    if request.param == "embedded":
        return EmbeddedAdjudicator
    if request.param.startswith("embedded-"):
        cache = 1 if request.param == "embedded-cache-1" else None
        return lambda run_dir: EmbeddedAdjudicator(run_dir, cache_families=cache)
    partitions = 1 if request.param == "kafka-1-partition" else 4
    return _kafka(partitions, request.getfixturevalue("kafka_bootstrap"))


@pytest.fixture(scope="module")
def simulated(tmp_path_factory) -> Path:
    return simulated_year(tmp_path_factory.mktemp("contract") / "run", members=250, seed=11)


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


def first_epoch_facts(run_dir: Path) -> list[dict[str, Any]]:
    """The run clock at the first boundary: attribute hybrid-practice patients there."""
    members = _hybrid_members(run_dir)
    return [
        new_event(AttributionAssigned(member_id=m, subscriber_id=s, payer_id=payer,
                                      practice_id=practice, effective=dt.date.fromisoformat(FIRST_EPOCH),
                                      basis="plurality", visits=1), at=FIRST_EPOCH, key=s)
        for m, (s, practice, payer) in sorted(members.items())
    ]


def second_epoch_facts(run_dir: Path) -> list[dict[str, Any]]:
    """At the second boundary: one correction and one practice dropped to FFS for a payer."""
    members = sorted(_hybrid_members(run_dir).items())
    m, (s, practice, payer) = members[0]
    return [
        new_event(AttributionCorrected(member_id=m, subscriber_id=s, payer_id=payer,
                                       from_practice=practice, to_practice=None,
                                       effective=dt.date.fromisoformat(SECOND_EPOCH), reason="dispute"),
                  at=SECOND_EPOCH, key=s),
        new_event(PracticeStatus(payer_id="MEDICAID", practice_id="PC006", program=ProgramKind.MCP_T2,
                                 effective=dt.date.fromisoformat(SECOND_EPOCH), active=False,
                                 attributed=3, reason="minimum volume"), at=SECOND_EPOCH, key="PC006"),
    ]


EPOCHS = ((FIRST_EPOCH, first_epoch_facts), (SECOND_EPOCH, second_epoch_facts))


def run_with_epochs(run_dir: Path, runtime: OpenRuntime) -> bytes:
    """To each boundary, then its facts, then to the end; each step in a newly opened runtime,
    so every step also resumes the ledger the step before left."""
    for until, facts in (*EPOCHS, (None, None)):
        with runtime(run_dir) as rt:
            rt.adjudicate(Until(at=until))
            if facts is not None:
                rt.record(facts(run_dir))
    return ledger_bytes(run_dir)


def core_loop(run_dir: Path, epochs=EPOCHS) -> bytes:
    """The ledger the contract asks for, written by the pure core in a plain loop: the manifest,
    then one answer per input in input order, each boundary's facts once every input received
    before it is answered."""
    reference = ReferenceData.load(run_dir)
    context, families = Context(reference, Settings()), {}
    pending = list(epochs)
    with LogWriter(run_dir / "ledger") as ledger:
        ledger.append(manifest_event(run_dir, reference, Settings()))

        def record_due(at: str | None) -> None:
            while pending and (at is None or at >= pending[0][0]):
                for event in pending.pop(0)[1](run_dir):
                    context.apply_ledger_event(ledger.append(event))

        for inp in read(run_dir / "input"):
            record_due(inp["at"])
            event, families[inp["key"]] = adjudicate(inp, families.get(inp["key"]), context)
            ledger.append(event)
        record_due(None)
        ledger.commit()
    return ledger_bytes(run_dir)


@pytest.fixture(scope="module")
def expected_with_epochs(simulated, tmp_path_factory) -> bytes:
    return core_loop(fresh_copy(simulated, tmp_path_factory.mktemp("expected") / "run"))


@pytest.fixture(scope="module")
def expected_fresh(simulated, tmp_path_factory) -> bytes:
    return core_loop(fresh_copy(simulated, tmp_path_factory.mktemp("expected-fresh") / "run"), ())


def test_the_simulated_run_exercises_voids_replacements_duplicates_malformed_and_epoch_facts(
        expected_with_epochs, expected_fresh):
    """Guards the suite itself: without these the contract below would prove little."""
    import orjson

    events = [orjson.loads(line) for line in expected_with_epochs.splitlines()]
    kinds = [e["type"] for e in events]
    assert kinds.count("claim.reversed") > 0  # voids
    assert any(e["type"] == "claim.adjudicated" and e["data"]["reversed_lines"] for e in events)
    assert kinds.count("claim.rejected") > 0  # malformed
    assert any(adj["carc"] == "18" for e in events if e["type"] == "claim.adjudicated"
               for line in e["data"]["lines"] for adj in line["adjustments"])  # duplicates
    assert kinds.count("attribution.assigned") > 0 and kinds.count("practice.status") == 1
    assert any(line["cap_offset"] > 0 for e in events if e["type"] == "claim.adjudicated"
               for line in e["data"]["lines"])  # the facts change payments...
    assert expected_with_epochs != expected_fresh  # ...so a runtime that drops them would differ


def test_same_input_gives_byte_identical_ledger_from_an_empty_ledger(
        runtime, simulated, tmp_path, expected_fresh):
    run = fresh_copy(simulated, tmp_path / "run")
    with runtime(run) as rt:
        rt.adjudicate()
        assert rt.progress() == (last_envelope(run / "input")["seq"] + 1, 0)  # all answered
    assert ledger_bytes(run) == expected_fresh


def test_a_runtime_stops_before_the_first_input_received_on_the_boundary(runtime, simulated, tmp_path):
    run = fresh_copy(simulated, tmp_path / "run")
    inputs = list(read(run / "input"))
    before = sum(1 for inp in inputs if inp["at"] < FIRST_EPOCH)  # input is in received order
    assert 0 < before < len(inputs)
    bar = _Counted()  # the caller's bar (the run clock's): advanced by the inputs answered
    with runtime(run) as rt:
        rt.adjudicate(Until(at=FIRST_EPOCH), progress=bar)
        assert rt.progress() == (before, len(inputs) - before)
    assert bar.n == before


class _Counted:
    n = 0

    def update(self, n=1):
        self.n += n


def test_same_input_and_epoch_facts_give_byte_identical_ledger_across_resumed_runs(
        runtime, simulated, tmp_path, expected_with_epochs):
    run = fresh_copy(simulated, tmp_path / "run")
    assert run_with_epochs(run, runtime) == expected_with_epochs
