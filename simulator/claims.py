"""Claim building: professional claims (837P-like) as plain dicts, billed from the fee schedule.

The hot path: dicts are built directly in the shape of `events.input.SubmittedClaim` (no pydantic
per claim; tests validate samples against the model), with ISO dates and billed amounts looked up
from tables made once per run. Billed = fee schedule amount x the practice's charge multiplier.
Every dict is written with its keys in canonical (sorted) order, at every level: an original
claim is encoded as built, without orjson sorting its keys (`SubmissionQueue.push_original`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from claimsim.events.input import ClaimSubmitted
from claimsim.events.money import apply_rate
from claimsim.simulator.config import SimConfig
from claimsim.simulator.region import Region

CLAIM_TYPE = ClaimSubmitted.TYPE
CLAIM_V = ClaimSubmitted.V
NO_MODIFIERS: tuple[str, ...] = ()
MODIFIER_25 = ("25",)  # significant, separately identifiable E&M on the day of a procedure


class ClaimBuilder:
    """Makes claim dicts and their envelopes for one run."""

    def __init__(self, config: SimConfig, region: Region, n_days: int):
        start = config.start
        self.start = start
        # Every date the run can name, as ISO strings and plan years, indexed by day number.
        self.iso = [(start + dt.timedelta(days=d)).isoformat() for d in range(n_days)]
        self.year = [(start + dt.timedelta(days=d)).year for d in range(n_days)]
        schedule = region.reference.fee_schedules[0]
        self.billed: list[dict[int, dict[str, int]]] = [
            {
                year: {code: apply_rate(fee, p.charge_bp) for code, fee in table.items()}
                for year, table in schedule.amounts.items()
            }
            for p in region.practices
        ]
        self.practice_id = [p.practice_id for p in region.practices]
        self.pos = [p.place_of_service for p in region.practices]
        # Submission lag per practice: (min, mean, max) days, drawn as min + exponential(mean).
        lags = [config.lags[p.kind] for p in region.practices]
        self.lag = [(lag.min_days, lag.mean_days, lag.max_days) for lag in lags]

    def iso_of(self, day: int) -> str:
        if day < len(self.iso):
            return self.iso[day]
        return (self.start + dt.timedelta(days=day)).isoformat()

    def line(self, no: int, practice: int, day: int, code: str, dx: tuple[str, ...],
             modifiers: tuple[str, ...] = NO_MODIFIERS, units: int = 1) -> dict[str, Any]:
        return {
            "billed": self.billed[practice][self.year[day]][code] * units,
            "diagnoses": dx,
            "line_no": no,
            "modifiers": modifiers,
            "procedure": code,
            "service_date": self.iso[day],
            "units": units,
        }

    def claim(self, claim_id: str, member_id: str, subscriber_id: str, payer_id: str,
              practice: int, npi: str, received: int, lines: list[dict[str, Any]],
              frequency: str = "1", original: str | None = None) -> dict[str, Any]:
        return {
            "billing_tin": self.practice_id[practice],
            "claim_id": claim_id,
            "frequency": frequency,
            "lines": lines,
            "member_id": member_id,
            "original_claim_id": original,
            "payer_id": payer_id,
            "place_of_service": self.pos[practice],
            "received": self.iso_of(received),
            "rendering_npi": npi,
            "subscriber_id": subscriber_id,
        }

    def event(self, claim: dict[str, Any], received: int, key: str) -> dict[str, Any]:
        """The claim's envelope: exactly what `new_event(..., type=CLAIM_TYPE)` returns, written
        out because this is the hottest line of the model."""
        return {"at": self.iso_of(received), "cause": None, "data": {"claim": claim}, "key": key,
                "type": CLAIM_TYPE, "v": CLAIM_V}
