"""The epoch boundary (DESIGN.md "The run clock"): the plan of a run's boundaries and the batches
of ledger events computed at each one, from the projections of the ledger so far: retroactive
alignments as corrections, attribution, practice status, the true-up of paid months, prospective
payments for the epoch's months, PCF's performance adjustment on the flat fees paid in the epoch
just closed and, once a year's run-out has closed, its reconciliation.

The run clock (scenarios/runclock.py) records these batches live; `audit replay` recomputes them
from a fresh replay and compares, so both use this one definition.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field

from claimsim.events.envelope import new_event
from claimsim.events.errors import UserError
from claimsim.events.ledger import EpochBoundary

from claimsim.adjudication.projections.attribution import AttributionRun, attribute, retroactive_alignments
from claimsim.adjudication.projections.flat_fee_performance import flat_fee_adjustments
from claimsim.adjudication.projections.prospective import epoch_payment_batches, true_up
from claimsim.adjudication.projections.reconciliation import due, reconcile
from claimsim.events.calendar import add_months, months_from
from claimsim.adjudication.projections.settings import ProjectionSettings
from claimsim.adjudication.projections.state import PayerState
from claimsim.adjudication.projections.status import practice_statuses

CLOCK_FILE = "runclock.json"
CHECKPOINT = Path("projections") / "payer-state.json"


class ClockSettings(BaseModel):
    """How the clock cuts a run into epochs, and the projections' settings.

    `baseline_months` None: min(12, months // 2), so a short run still has paid epochs after its
    baseline (a 12-month run gets 6 baseline months, a 24-month run the full 12).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    # (The comment on the line below is the scenario reference's note: keep it on that line.)
    baseline_months: int | None = Field(default=None, ge=1)  # None: min(12, months // 2); shorter than the run
    cadence_months: int = Field(default=3, ge=1, le=12)  # quarterly attribution
    projections: ProjectionSettings = Field(default_factory=ProjectionSettings)


@dataclass(frozen=True)
class Plan:
    """The boundaries of one run, written to RUN_DIR/runclock.json for replay and audit."""

    start: str
    service_end: str  # first day after the service window
    horizon: str  # first day after the run-out
    boundaries: tuple[str, ...]  # the last is the closing boundary at the horizon
    settings: ClockSettings

    def pay_months(self, boundary: str) -> list[str]:
        """Months paid at a boundary: from it to the next boundary, within the service window."""
        i = self.boundaries.index(boundary)
        if i + 1 >= len(self.boundaries):
            return []
        last = min(add_months(self.boundaries[i + 1], -1), add_months(self.service_end, -1))
        return months_from(boundary[:7], last[:7]) if boundary < self.service_end else []

    def final(self, boundary: str) -> bool:
        return boundary == self.boundaries[-1]

    def to_json(self) -> bytes:
        return orjson.dumps({"start": self.start, "service_end": self.service_end,
                             "horizon": self.horizon, "boundaries": list(self.boundaries),
                             "settings": self.settings.model_dump(mode="json")},
                            option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2)

    @classmethod
    def load(cls, run_dir: Path) -> Plan:
        path = Path(run_dir) / CLOCK_FILE
        if not path.exists():
            raise UserError(f"{path}: no run clock plan (was this run made by `claimsim run`?)")
        try:  # an edited or damaged file is a one-line error naming it, never a traceback
            d = orjson.loads(path.read_bytes())
            if not isinstance(d, dict):
                raise TypeError("not a JSON object")
            plan = cls(d["start"], d["service_end"], d["horizon"], tuple(d["boundaries"]),
                       ClockSettings.model_validate(d["settings"]))
        except (ValueError, TypeError, KeyError) as e:  # not JSON, not an object, a field amiss
            what = f"no {e}" if isinstance(e, KeyError) else str(e).splitlines()[0]
            raise UserError(f"{path}: not a run clock plan ({what})") from None
        dates = [plan.start, plan.service_end, plan.horizon, *plan.boundaries]
        if not plan.boundaries or not all(isinstance(d, str) for d in dates):
            raise UserError(f"{path}: not a run clock plan (its start, service end, horizon and"
                            " boundaries must be dates)")
        return plan


def plan_for(start: str, months: int, horizon: str, settings: ClockSettings) -> Plan:
    baseline = settings.baseline_months or max(1, min(12, months // 2))
    service_end = add_months(start, months)
    boundaries, b = [], add_months(start, baseline)
    while b < service_end:
        boundaries.append(b)
        b = add_months(b, settings.cadence_months)
    boundaries.append(max(horizon, service_end))
    return Plan(start, service_end, horizon, tuple(boundaries), settings)


def epoch_steps(state: PayerState, plan: Plan, boundary: str, cause: int,
                on_attribution: Callable[[AttributionRun], None] | None = None,
                ) -> Iterator[list[dict[str, Any]]]:
    """The batches of events at one boundary, each computed after the previous one is applied to
    `state` (the caller records, or in a replay compares, then applies it before resuming).
    `on_attribution` receives each payer's attribution run (the practice lists to publish)."""
    payers = sorted(p.payer_id for p in state.reference.payers)
    i = plan.boundaries.index(boundary)
    if i:  # the baseline is paid as if nobody were attributed: no corrections into it
        for payer in payers:
            yield retroactive_alignments(state, payer, plan.boundaries[i - 1], boundary, cause=cause)
    for payer in payers:
        run = attribute(state, payer, boundary, cause=cause)
        if on_attribution is not None:
            on_attribution(run)
        yield from run.change_batches()
        yield practice_statuses(state, run, cause=cause)
    for payer in payers:
        yield true_up(state, payer, boundary, cause=cause)
    months = plan.pay_months(boundary)
    if months:
        for payer in payers:
            yield from epoch_payment_batches(state, payer, boundary, months, cause=cause)
    for payer in payers:  # at every boundary, the closing one too: the run-out's flat fees
        yield flat_fee_adjustments(state, payer, boundary, cause=cause)
    first, last = int(plan.start[:4]), int(add_months(plan.service_end, -1)[:4])
    for year in range(first, last + 1):
        if plan.final(boundary) or due(year, boundary, state.settings.runout_months):
            yield reconcile(state, year, boundary, cause=cause)[1]


def boundary_event(epoch: int, boundary: str, last_input_seq: int) -> dict[str, Any]:
    return new_event(EpochBoundary(epoch=epoch, boundary=boundary, last_input_seq=last_input_seq),
                     at=boundary, key="epoch", cause=last_input_seq)
