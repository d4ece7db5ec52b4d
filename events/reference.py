"""The reference data of a run: payers, plans, fee schedules, practices and contracts.

Written once per run directory (`reference.json`) by whoever builds the region; the adjudicator
loads it at start, and the ledger's run manifest records its digest so an auditor knows which
rules produced each payment.

`price_from_file` (ingested runs only, `claimsim ingest --price-from-file`): the claim lines
carry the file's own allowed, plan paid and cost-share split (`file_amounts`) and adjudication
takes them instead of re-pricing. It is written only when true, so the reference data (and
digest) of every other run is what it was before the setting existed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from functools import cached_property
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from claimsim.events.encoding import canonical, loads
from claimsim.events.errors import UserError
from claimsim.events.fee_schedule import FeeSchedule
from claimsim.events.plans import Payer, Plan
from claimsim.events.programs import Contract
from claimsim.events.providers import Clinician, Practice
from claimsim.events.timeline import contract_spans, span_on

REFERENCE_FILE = "reference.json"


class ReferenceData(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    payers: tuple[Payer, ...]
    plans: tuple[Plan, ...]
    fee_schedules: tuple[FeeSchedule, ...]
    payer_fee_schedule: dict[str, str]  # payer id -> fee schedule id
    practices: tuple[Practice, ...]
    contracts: tuple[Contract, ...] = ()
    price_from_file: bool = False

    @model_validator(mode="after")
    def _consistent(self) -> ReferenceData:
        payer_ids = {p.payer_id for p in self.payers}
        schedule_ids = {f.fee_schedule_id for f in self.fee_schedules}
        practice_ids = {p.practice_id for p in self.practices}
        for plan in self.plans:
            if plan.payer_id not in payer_ids:
                raise ValueError(f"plan {plan.plan_id}: unknown payer {plan.payer_id}")
        for payer_id in payer_ids:
            schedule = self.payer_fee_schedule.get(payer_id)
            if schedule not in schedule_ids:
                raise ValueError(f"payer {payer_id}: no fee schedule (got {schedule!r})")
        for c in self.contracts:
            if c.payer_id not in payer_ids or c.practice_id not in practice_ids:
                raise ValueError(f"contract {c.payer_id}/{c.practice_id}: unknown payer or practice")
        return self

    # Indexes: built once per process, never serialized.
    @cached_property
    def payer(self) -> dict[str, Payer]:
        return {p.payer_id: p for p in self.payers}

    @cached_property
    def plan(self) -> dict[str, Plan]:
        return {p.plan_id: p for p in self.plans}

    @cached_property
    def practice(self) -> dict[str, Practice]:
        return {p.practice_id: p for p in self.practices}

    @cached_property
    def clinician(self) -> dict[str, tuple[Practice, Clinician]]:
        return {c.npi: (p, c) for p in self.practices for c in p.clinicians}

    @cached_property
    def fee_schedule_of_payer(self) -> dict[str, FeeSchedule]:
        by_id = {f.fee_schedule_id: f for f in self.fee_schedules}
        return {payer: by_id[fs] for payer, fs in self.payer_fee_schedule.items()}

    @cached_property
    def _contracts_by_key(self) -> dict[tuple[str, str], list[tuple[dt.date, dt.date | None, Contract]]]:
        """`events.timeline` spans of each payer x practice's contracts, ascending by start."""
        return contract_spans(self.contracts, lambda c: c)

    def contract_on(self, payer_id: str, practice_id: str, day: dt.date) -> Contract | None:
        return span_on(self._contracts_by_key.get((payer_id, practice_id), ()), day)

    # Persistence.
    def to_bytes(self) -> bytes:
        return canonical(self.model_dump(mode="json", exclude=None if self.price_from_file
                                         else {"price_from_file"}))

    def digest(self) -> str:
        return hashlib.sha256(self.to_bytes()).hexdigest()

    def save(self, run_dir: Path) -> Path:
        path = Path(run_dir) / REFERENCE_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(self.to_bytes())
        return path

    @classmethod
    def load(cls, run_dir: Path) -> ReferenceData:
        path = Path(run_dir) / REFERENCE_FILE
        if not path.exists():
            raise FileNotFoundError(f"{path}: no reference data (is this a run directory?)")
        raw = path.read_bytes()
        if not raw.strip():
            raise UserError(f"{path}: empty (the run's reference data is missing; simulate again)")
        try:
            data = loads(raw)
        except ValueError as e:  # orjson's JSONDecodeError is a ValueError
            raise UserError(f"{path}: not JSON ({e})") from None
        try:
            return cls.model_validate(data)
        except ValidationError as e:
            first = e.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "(top level)"
            raise UserError(f"{path}: not reference data: {where}: {first['msg']}") from None
