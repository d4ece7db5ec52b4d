"""The SimPy model of a region: the run clock and its processes, and `simulate`, the library API.

Three processes share one environment (time in days from `config.start`): the month process
(churn, then the month's visits for everyone, turned into claims a week at a time), the quality
process (yearly reports) and the submission process, which each day hands the payer what it
received that day. Work is batched per month, week and day, never a process per member or claim,
which is what keeps the model fast.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any

import simpy
from tqdm import tqdm

from claimsim.events.acyclic import cycle_gc_paused
from claimsim.events.processes import raise_dropped_stop
from claimsim.simulator.care import VISIT_TYPES, CareModel
from claimsim.simulator.claims import ClaimBuilder
from claimsim.simulator.config import SimConfig
from claimsim.simulator.enrollment import EnrollmentModel
from claimsim.simulator.faults import FaultInjector
from claimsim.simulator.hba1c import HbA1cTests
from claimsim.simulator.population import Population
from claimsim.simulator.quality import queue_quality_reports, report_date
from claimsim.simulator.referrals import ReferralPolicy
from claimsim.simulator.region import Region, month_start_plus, build_region, horizon, service_years
from claimsim.simulator.submission import Sink, SubmissionQueue

# Dates the run can name: the horizon plus the longest late claim or malformed future date.
_DAY_MARGIN = 800
_ONE_DAY = dt.timedelta(days=1)


@dataclass
class Summary:
    """What a run produced (printed by the CLI, stored in run.json)."""

    scenario: str
    seed: int
    start: str
    service_end: str  # first day after the service window
    horizon: str  # first day after the run-out: nothing is received on or after it
    members: int  # initial members
    members_ever: int
    families_ever: int
    member_months: int
    new_families: int
    terminated_families: int
    pcp_switches: int
    visits: dict[str, int] = field(default_factory=dict)
    claims: int = 0
    claims_by_frequency: dict[str, int] = field(default_factory=dict)
    faults_by_kind: dict[str, int] = field(default_factory=dict)
    referrals: int = 0
    avoidable_referrals: int = 0
    input_events: dict[str, int] = field(default_factory=dict)
    truth_events: dict[str, int] = field(default_factory=dict)
    dropped_after_horizon: int = 0
    max_in_flight: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def simulate(config: SimConfig, input_sink: Sink, truth_sink: Sink, progress: bool = False,
             region: Region | None = None) -> Summary:
    """Run the model; every input event goes to `input_sink` in received-date order, every truth
    event to `truth_sink`. Sinks take event dicts made by `events.envelope.new_event`."""
    region = region or build_region(config)
    start = config.start
    service_end, horizon_date = horizon(config)
    horizon_day = (horizon_date - start).days

    queue = SubmissionQueue(horizon_day, input_sink, truth_sink)
    builder = ClaimBuilder(config, region, horizon_day + _DAY_MARGIN)
    pop = Population(config, region)
    enrollment = EnrollmentModel(config, region, pop, queue)
    timely = min(p.timely_filing_days for p in region.reference.payers)
    faults = FaultInjector(config.faults, builder, queue, timely)
    referrals = ReferralPolicy(config.referrals, config.utilization, region)
    care = CareModel(config, region, pop, builder, queue, faults, referrals)
    tests = HbA1cTests(config.seed, config.quality.hba1c_monthly_bp, pop, builder,
                       [p.npis for p in region.practices], queue)

    env = simpy.Environment()
    bar = tqdm(total=horizon_day, unit="day", disable=not progress, leave=False,
               desc=f"simulate {config.scenario}")

    def months(env: simpy.Environment):
        for index in range(config.months):
            first = month_start_plus(start, index)
            day_no = (first - start).days
            yield env.timeout(day_no - env.now)
            last = month_start_plus(start, index + 1)
            end_day = (last - start).days
            if index == 0:
                enrollment.initial(first, day_no)
            else:
                enrollment.month(index, first, day_no, last - _ONE_DAY)
            care.plan_month(index, day_no, end_day - day_no)
            tests.month(index, day_no, end_day - day_no)
            # A week of visits becomes claims at a time: the lag window, not the month, is
            # what the submission queue holds.
            for week in range(day_no, end_day, 7):
                yield env.timeout(week - env.now)
                care.run_until(min(week + 7, end_day))

    env.process(months(env))
    env.process(_quality(env, config, region, queue, horizon_day))
    env.process(_submissions(env, queue, horizon_day, bar))
    with cycle_gc_paused():
        env.run(until=horizon_day + 1)
        queue.release_until(horizon_day - 1)
    bar.close()
    return _summary(config, service_end, horizon_date, pop, enrollment, care, queue)


def _quality(env: simpy.Environment, config: SimConfig, region: Region, queue: SubmissionQueue,
             horizon_day: int):
    """The quality process: each service year's reports, queued on their report date."""
    for year in service_years(config):
        day_no = (report_date(config, year) - config.start).days
        if day_no >= horizon_day:
            return
        yield env.timeout(day_no - env.now)
        queue_quality_reports(config, region, year, queue, day_no)


def _submissions(env: simpy.Environment, queue: SubmissionQueue, horizon_day: int, bar: tqdm):
    """The submission process: each day, what the payer received that day."""
    # Half a day after the other processes: what was sent today is in the queue by then.
    yield env.timeout(0.5)
    while env.now < horizon_day:
        queue.release_until(int(env.now))
        bar.update(1)
        raise_dropped_stop()  # a Ctrl-C or kill Python dropped (in a finalizer): stop this day
        yield env.timeout(1)


def _summary(config: SimConfig, service_end: dt.date, horizon_date: dt.date, pop: Population,
             enrollment: EnrollmentModel, care: CareModel, queue: SubmissionQueue) -> Summary:
    """What the run produced, once every process is done."""
    released = queue.counts()
    return Summary(
        scenario=config.scenario,
        seed=config.seed,
        start=config.start.isoformat(),
        service_end=service_end.isoformat(),
        horizon=horizon_date.isoformat(),
        members=config.members,
        members_ever=len(pop.member_id),
        families_ever=pop.families,
        member_months=care.member_months,
        new_families=enrollment.new_families,
        terminated_families=enrollment.terminated_families,
        pcp_switches=enrollment.pcp_switches,
        visits=dict(zip(VISIT_TYPES, care.visits_by_type)),
        claims=released.input_by_type.get("claim.submitted", 0),
        claims_by_frequency=dict(sorted(released.claims_by_frequency.items())),
        faults_by_kind=dict(sorted(released.faults_by_kind.items())),
        referrals=released.referrals,
        avoidable_referrals=released.avoidable_referrals,
        input_events=dict(sorted(released.input_by_type.items())),
        truth_events=dict(sorted(released.truth_by_type.items())),
        dropped_after_horizon=released.dropped_after_horizon,
        max_in_flight=released.max_in_flight,
    )
