"""`claimsim loadtest` end to end on a small simulated run: the embedded runtime's outputs and
verdict, a ledger that differs named at its first differing seq, user errors in one line, and (on
a broker) the Kafka runtime under kill-worker and add-worker faults still byte-identical."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest

from claimsim.benchmarks.loadtest.verdict import compare_ledgers, copy_run
from claimsim.cli import main
from claimsim.simulator.config import SimConfig
from claimsim.simulator.run_dir import simulate_to_dir


def with_worker_logs(printed: str, out: Path, lines: int = 120) -> str:
    """What the load test printed, then the end of each worker's logs (a Kafka test that fails
    in CI keeps no temporary directory: its message is all there is to read)."""
    tails = [printed]
    for log in sorted(out.glob("*.log")):
        text = log.read_text(errors="replace").splitlines()[-lines:]
        tails.append(f"--- {log.name} (last {len(text)} lines)\n" + "\n".join(text))
    return "\n".join(tails)


@pytest.fixture
def worker_info_logs(monkeypatch):
    """Workers log at INFO (faust's rebalances and recoveries) into their detail logs."""
    monkeypatch.setenv("CLAIMSIM_WORKER_LOGLEVEL", "info")


@pytest.fixture(scope="module")
def small_run(tmp_path_factory) -> Path:
    run = tmp_path_factory.mktemp("loadtest") / "run"
    simulate_to_dir(SimConfig(members=150, months=3, seed=5), run)
    return run


def test_embedded_loadtest_writes_its_results_and_says_the_ledger_is_identical(small_run, tmp_path, capsys):
    out = tmp_path / "lt"
    code = main(["loadtest", str(small_run), "--rate", "500,4000", "--duration", "0.5",
                 "--out", str(out), "--json", "--no-progress"])
    printed = capsys.readouterr().out
    assert code == 0
    assert printed.rstrip().endswith("ledger byte-identical to embedded: yes")
    for name in ("steps.csv", "seconds.csv", "latency_vs_rate.png", "latency_over_time.png"):
        assert (out / name).stat().st_size > 0
    with open(out / "steps.csv", newline="") as f:
        steps = list(csv.DictReader(f))
    assert [round(float(s["rate"])) for s in steps] == [500, 4000]
    assert "cpu_us" not in steps[0] and float(steps[0]["cpu_us_embedded"]) > 0  # one per process
    summary = json.loads((out / "summary.json").read_text())
    assert summary["ledger_identical"] is True
    assert [round(s["rate"]) for s in summary["steps"]] == [500, 4000]
    # 500/s for 0.5 s: inputs at 0, 2, .. 498 ms; the first 10 % (50 ms) is warm-up.
    assert summary["steps"][0]["offered_rate"] == pytest.approx(500, rel=0.01)
    assert summary["steps"][0]["measured"] == 225


def test_a_ledger_that_differs_is_named_at_its_first_differing_seq(small_run, tmp_path):
    from claimsim.adjudication.runtimes.embedded import adjudicate_run

    a, b = copy_run(small_run, tmp_path / "a"), copy_run(small_run, tmp_path / "b")
    adjudicate_run(a, until_seq=40)
    adjudicate_run(b, until_seq=40)
    assert compare_ledgers(a / "ledger", b / "ledger").line() == "ledger byte-identical to embedded: yes"
    (seg,) = sorted((b / "ledger").glob("*.jsonl"))
    lines = seg.read_bytes().splitlines(keepends=True)
    lines[7] = lines[7].replace(b'"cause":', b'"cause" :', 1)
    seg.write_bytes(b"".join(lines))
    verdict = compare_ledgers(a / "ledger", b / "ledger")
    assert verdict.line() == "ledger byte-identical to embedded: NO (first difference at ledger seq 7)"
    adjudicate_run(a, until_seq=41)  # one more answer: the ledgers differ where the shorter ends
    c = copy_run(small_run, tmp_path / "c")
    adjudicate_run(c, until_seq=40)
    assert compare_ledgers(a / "ledger", c / "ledger").first_difference == 41  # manifest + 40
    assert compare_ledgers(c / "ledger", a / "ledger").line() == (
        "ledger byte-identical to embedded: NO (it ends at ledger seq 41: later inputs were never"
        " answered)")


@pytest.mark.parametrize("argv, message", [
    (["--rate", "0"], "--rate '0': give one or more positive, finite rates"),
    (["--rate", "100", "--fault", "kill-worker@5s"], "--fault applies to --runtime kafka only"),
    (["--rate", "100", "--runtime", "kafka", "--fault", "melt@5s"], "unknown fault 'melt'"),
    (["--rate", "100", "--runtime", "kafka", "--linger-ms", "-1"], "--linger-ms is milliseconds"),
])
def test_bad_options_are_one_line_user_errors(small_run, tmp_path, capsys, argv, message):
    assert main(["loadtest", str(small_run), "--out", str(tmp_path / "x"), *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1


@pytest.mark.kafka
def test_kafka_loadtest_survives_a_killed_and_an_added_worker(small_run, tmp_path, capsys, kafka_bootstrap,
                                                             worker_info_logs):
    out = tmp_path / "lt"
    code = main(["loadtest", str(small_run), "--runtime", "kafka", "--rate", "30",
                 "--duration", "14", "--partitions", "4", "--workers", "2",
                 "--fault", "kill-worker@3s,add-worker@6s,kill-sink@9s",
                 "--bootstrap", kafka_bootstrap, "--out", str(out), "--json", "--no-progress"])
    printed = capsys.readouterr().out
    assert code == 0, with_worker_logs(printed, out)
    assert printed.rstrip().endswith("ledger byte-identical to embedded: yes"), \
        with_worker_logs(printed, out)
    faults = json.loads((out / "summary.json").read_text())["faults"]
    assert [f["name"] for f in faults] == ["kill-worker", "add-worker", "kill-sink"]
    assert all("not injected" not in f["detail"] for f in faults)
    # The added worker's recovery counts from when the group was stable with it in it.
    added = faults[1]
    assert added["landed_s"] is not None and added["landed_s"] > added["at_s"], added
    assert "in a stable group with it" in added["detail"]
    # The new sink says where its time went, each step at or after the one before.
    sink = faults[2]["detail"]
    times = [float(t) for t in
             re.findall(r"(?:opened in|seeked at|read at|appended at) ([\d.]+) s", sink)]
    assert len(times) == 4 and times == sorted(times), sink
    # The CPU breakdown keeps the killed worker (to its death), its partner and the added one,
    # each under its own name, none negative.
    (step,) = json.loads((out / "summary.json").read_text())["steps"]
    workers = {name: us for name, us in step["cpu_us"].items() if name.startswith("worker-")}
    assert sorted(workers) == ["worker-0", "worker-1", "worker-2"]
    assert all(us >= 0 for us in step["cpu_us"].values()), step["cpu_us"]


@pytest.mark.kafka
def test_a_killed_worker_is_recovered_from_well_inside_its_session(small_run, tmp_path, capsys,
                                                                   kafka_bootstrap, monkeypatch,
                                                                   worker_info_logs):
    # Two workers with a 30 s session; one is killed 4 s in. The driver, which reaps it, removes
    # it from the group at once (as the runner does a worker it started that died), so the
    # survivor takes its partitions within a few seconds and the test sees the offered rate
    # answered again before the 30 s session would have let the group notice on its own (the
    # session's way: 30 s and more). Usually in 1-2 s; in about 1 run in 30 here faust's recovery
    # on the survivor received no changelog record, and the worker's watch started it again
    # after STALL_S (watchdog.rebalance_stalled): then about 12 s, still inside the session.
    from claimsim.adjudication.runtimes.streaming.faust_settings import SESSION_TIMEOUT_ENV

    monkeypatch.setenv(SESSION_TIMEOUT_ENV, "30")
    out = tmp_path / "lt"
    # 13 inputs/s for 30 s (the run's 410 inputs last that long): a recovery is measured only
    # while inputs are offered, and a stalled one ends some 12 s after the kill.
    code = main(["loadtest", str(small_run), "--runtime", "kafka", "--rate", "13",
                 "--duration", "30", "--partitions", "4", "--workers", "2",
                 "--fault", "kill-worker@4s", "--bootstrap", kafka_bootstrap, "--out", str(out),
                 "--json", "--no-progress"])
    printed = capsys.readouterr().out
    assert code == 0, with_worker_logs(printed, out)
    assert printed.rstrip().endswith("ledger byte-identical to embedded: yes"), \
        with_worker_logs(printed, out)
    (fault,) = json.loads((out / "summary.json").read_text())["faults"]
    assert fault["recovery_s"] is not None and fault["recovery_s"] <= 25, \
        with_worker_logs(printed, out)


class FakeProducer:
    def __init__(self) -> None:
        self.sent: list[tuple[int, bytes]] = []

    async def send(self, topic, value, key=None, partition=None):
        self.sent.append((partition, value))


def test_the_kafka_driver_holds_a_partial_message_until_its_first_input_has_lingered(small_run, tmp_path):
    # Three inputs offered at 0 s wait (no message holds 200 yet); at 19 ms still; at 20 ms
    # every partition's partial message goes out, and together they carry the three inputs.
    import asyncio

    from claimsim.benchmarks.loadtest.measure import Timings
    from claimsim.benchmarks.loadtest.streaming_driver import KafkaDriver
    from claimsim.adjudication.runtimes.streaming.topics import RunTopics

    now = [0.0]
    driver = KafkaDriver(small_run, Timings(10), lambda: now[0], RunTopics("t"), "127.0.0.1:1",
                         2, tmp_path)
    driver._producer = producer = FakeProducer()

    def items() -> int:
        return sum(len(json.loads(value)["items"]) for _, value in producer.sent)

    async def go() -> None:
        await driver.offer(3)
        assert producer.sent == []
        now[0] = 0.019
        await driver._flush_lingered()
        assert producer.sent == []
        now[0] = 0.020
        await driver._flush_lingered()
        assert items() == 3 and {p for p, _ in producer.sent} <= {0, 1}
        driver.linger_s = 0.0  # a message per partition per call
        await driver.offer(5)
        assert items() == 5

    asyncio.run(go())


def test_the_kafka_driver_names_a_worker_that_exited_by_itself_and_stops_when_none_is_left(
        small_run, tmp_path):
    # Two stand-in workers: one exits by itself (code 70, its log's last line the error), one
    # runs until a kill-worker fault kills it. pump() reports the first as a `worker-exited`
    # event naming it, its code and its log's last line; the killed one is the fault's, not
    # reported again. A driver whose last worker exits by itself stops the test with the reason.
    import asyncio
    import subprocess
    import sys

    from claimsim.adjudication.runtimes.streaming.runner import DeadWorkers
    from claimsim.adjudication.runtimes.streaming.topics import RunTopics
    from claimsim.benchmarks.loadtest.measure import Timings
    from claimsim.benchmarks.loadtest.streaming_driver import KafkaDriver
    from claimsim.events.errors import UserError

    driver = KafkaDriver(small_run, Timings(10), lambda: 7.5, RunTopics("t"), "127.0.0.1:1", 2,
                         tmp_path)
    driver._dead = DeadWorkers("127.0.0.1:1", None)  # no broker to remove them from

    def stand_in(index: int, code: str) -> subprocess.Popen:
        log = tmp_path / f"w{index}.log"
        with open(log, "w") as out:
            proc = subprocess.Popen([sys.executable, "-c", code], stdout=out,
                                    stderr=subprocess.STDOUT)
        driver._names[proc.pid], driver._logs[proc.pid] = f"worker-{index}", log
        driver.workers.append(proc)
        return proc

    failing = stand_in(0, "import sys; print('adjudication failed on t-inbound[1]@4'); sys.exit(70)")
    stand_in(1, "import time; time.sleep(60)")
    failing.wait()

    async def go():
        (event,) = await driver.pump()
        assert event.name == "worker-exited" and event.at == 7.5
        assert event.detail == (
            f"worker-0 (pid {failing.pid}) exited by itself with code 70; w0.log ends:"
            " adjudication failed on t-inbound[1]@4 (detail in w0.detail.log)")
        assert len(driver.workers) == 1
        fault = await driver.fault("kill-worker")
        assert fault.name == "kill-worker"
        assert await driver.pump() == [] and driver.workers == []
        last = stand_in(2, "import sys; print('no broker'); sys.exit(1)")
        last.wait()
        with pytest.raises(UserError, match=r"every worker stopped \(last answered input -1\):"
                                            r" worker-2 .* code 1; w2.log ends: no broker"):
            await driver.pump()

    asyncio.run(go())


def test_the_kafka_driver_stops_the_test_when_the_broker_has_been_away_too_long(small_run, tmp_path):
    # A broker that does not come back (its disk full, its host gone) would leave the test
    # waiting out every drain: at BROKER_LOST_S of one outage, pump() stops it with the reason.
    import asyncio

    from claimsim.adjudication.runtimes.streaming.topics import RunTopics
    from claimsim.benchmarks.loadtest.measure import Timings
    from claimsim.benchmarks.loadtest.streaming_driver import BROKER_LOST_S, KafkaDriver
    from claimsim.events.errors import UserError

    class Outages:
        log_path = "lt/kafka-clients.log"
        lasted = BROKER_LOST_S - 1

        def open_for(self):
            return self.lasted

    driver = KafkaDriver(small_run, Timings(10), lambda: 0.0, RunTopics("t"), "127.0.0.1:1", 2,
                         tmp_path)
    driver.outages = outages = Outages()
    assert asyncio.run(driver.pump()) == []
    outages.lasted = BROKER_LOST_S
    with pytest.raises(UserError, match=r"the broker at 127.0.0.1:1 has not answered for 120 s"
                                        r" \(last answered input -1\); the load test stops"
                                        r" \(detail in lt/kafka-clients.log\)"):
        asyncio.run(driver.pump())


@pytest.mark.parametrize("flags", [["--rate", "nan"], ["--rate", "inf"],
                                   ["--rate", "500", "--duration", "nan"],
                                   ["--sweep", "--sweep-steps", "0"],
                                   ["--sweep", "--sweep-factor", "1"],
                                   ["--sweep", "--sweep-start", "0"]])
def test_rates_durations_and_sweeps_that_mean_nothing_are_refused(small_run, tmp_path, flags,
                                                                  capsys):
    """Each was run (a NaN rate offered nothing and the test said the ledger was identical; a
    sweep factor of 1 ran eight identical steps; a sweep from 0 was a traceback)."""
    assert main(["loadtest", str(small_run), *flags, "--out", str(tmp_path / "lt"),
                 "--no-progress"]) == 2
    assert capsys.readouterr().err.startswith("claimsim: error: --")
    assert not (tmp_path / "lt").exists()
