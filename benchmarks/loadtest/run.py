"""One load test from start to verdict: copy the run's input into a fresh run directory under
`--out`, drive the chosen runtime through the plan, compute the figures, write the outputs, and
compare the ledger with an embedded adjudication of the same inputs."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

from claimsim.events.errors import UserError
from claimsim.events.log import last_envelope

from claimsim.benchmarks.loadtest import report
from claimsim.benchmarks.loadtest.harness import Outcome, Plan, run_plan
from claimsim.benchmarks.loadtest.measure import (
    StepFigures, Timings, per_second, recovery_time, step_figures,
)
from claimsim.benchmarks.loadtest.schedule import Arrivals, Step
from claimsim.benchmarks.loadtest.verdict import Verdict, compare_ledgers, copy_run, embedded_reference


@dataclass
class Result:
    out: Path
    runtime: str
    figures: list[StepFigures]
    outcome: Outcome
    verdict: Verdict
    table: str
    extra: dict = field(default_factory=dict)

    def write_json(self) -> Path:
        return report.write_json(self.out, self.runtime, self.figures, self.outcome.faults,
                                 self.outcome.knee, self.verdict, self.extra)


@dataclass
class LoadTest:
    run_dir: Path
    out: Path
    runtime: str
    steps: list[Step]
    arrivals: Arrivals = Arrivals.FIXED
    warmup: float = 0.1
    seed: int = 1
    faults: list[tuple[str, float]] = field(default_factory=list)
    stop_at_knee: bool = False
    partitions: int = 4
    workers: int = 1
    bootstrap: str | None = None
    broker_pid: int | None = None
    linger_s: float = 0.02  # kafka: how long an offered input may wait to share a message
    progress: bool = False

    def _prepare(self) -> tuple[Path, int]:
        src = Path(self.run_dir)
        if not (src / "input").is_dir():
            raise UserError(f"{src / 'input'}: the run has no input log")
        last = last_envelope(src / "input")
        if last is None:
            raise UserError(f"{src / 'input'}: the input log is empty")
        out = Path(self.out)
        if out.exists() and any(out.iterdir()):
            raise UserError(f"{out}: not empty (the load test writes a fresh run there)")
        out.mkdir(parents=True, exist_ok=True)
        return copy_run(src, out / "run"), last["seq"] + 1

    async def run(self) -> Result:
        work, total = self._prepare()
        timings = Timings(total)
        plan = Plan(self.steps, self.arrivals, self.warmup, self.seed, list(self.faults),
                    self.stop_at_knee)
        driver = await self._driver(work, timings)
        try:
            outcome = await run_plan(driver, plan, total, clock=self._clock, progress=self.progress)
        finally:
            await driver.close()
        if self.progress:
            print("checking the ledger against the embedded runtime ...", file=sys.stderr)
        verdict = compare_ledgers(work / "ledger", embedded_reference(
            Path(self.run_dir), self.out / "reference", until_seq=outcome.offered))
        figures = [step_figures(s, timings, driver.dead_letters if i == len(outcome.steps) - 1 else 0)
                   for i, s in enumerate(outcome.steps)]
        seconds = per_second(timings)
        times = sorted(f.at for f in outcome.faults)
        for fault in outcome.faults:
            later = [t for t in times if t > fault.at]
            fault.recovery_s = recovery_time(fault.at, seconds, until=later[0] if later else None,
                                             landed=fault.landed)
        report.write_csv(self.out, figures, seconds)
        report.write_charts(self.out, self.runtime, figures, seconds, outcome.faults)
        table = report.table(self.runtime, figures, outcome.faults, outcome.knee)
        extra = {"inputs_offered": outcome.offered, "run_dir": str(self.run_dir),
                 "arrivals": str(self.arrivals), "warmup_fraction": self.warmup}
        if self.runtime == "kafka":
            extra.update(partitions=self.partitions, workers=self.workers,
                         linger_ms=self.linger_s * 1000)
        return Result(self.out, self.runtime, figures, outcome, verdict, table, extra)

    async def _driver(self, work: Path, timings: Timings):
        import time

        t0 = time.monotonic()
        clock = self._clock = lambda: time.monotonic() - t0  # noqa: E731
        if self.runtime == "embedded":
            from claimsim.adjudication.runtimes.embedded import EmbeddedAdjudicator
            from claimsim.benchmarks.loadtest.drivers import EmbeddedDriver

            return EmbeddedDriver(EmbeddedAdjudicator(work), timings, clock)
        from claimsim.adjudication.runtimes.streaming.outages import route_client_logs
        from claimsim.benchmarks.loadtest.streaming_driver import KafkaDriver

        outages = route_client_logs(self.out / "kafka-clients.log")
        driver = await KafkaDriver.start(work, timings, clock, partitions=self.partitions,
                                         workers=self.workers, bootstrap=self.bootstrap,
                                         log_dir=self.out)
        driver.broker_pid = self.broker_pid
        driver.outages = outages
        driver.linger_s = self.linger_s
        t0 = time.monotonic()  # the test starts once the workers are ready: faults at their time
        return driver
