"""Scenario files: a TOML region (payers, plans, practices, programs), population, behaviour,
dates, seed, run clock and runtime, validated by pydantic into a `Scenario` (DESIGN.md "Config").

A `Scenario` *is* the simulator's `SimConfig` (it extends it, so no field is written twice) plus
what the payer side needs: the run clock's settings (`clock`), per-payer program and plan
overrides (`payers`), and the runtime. Every error names the file and the dotted key.
"""

from __future__ import annotations

import copy
import tomllib
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (BaseModel, ConfigDict, Field, ValidationError, create_model, model_serializer,
                      model_validator)

from claimsim.events.errors import UserError
from claimsim.events.money import BasisPoints
from claimsim.events.plans import BenefitDesign, LineOfBusiness, Plan
from claimsim.events.programs import HYBRID_PROGRAMS, ProgramKind, ProgramSettings
from claimsim.events.ranges import PlanYear
from claimsim.adjudication.projections.epochs import ClockSettings
from claimsim.simulator.config import SimConfig
from claimsim.simulator.hba1c import HBA1C_MONTHLY_BP_FOR_CLAIMS

BUILTIN_PACKAGE = "claimsim.scenarios"
BUILTIN_DIR = "builtin"
# Commercial plans the default region ships, by the suffix of their plan id (COMMERCIAL-SILVER).
COMMERCIAL_TIERS = ("bronze", "silver", "gold")
PLAN_KEYS: dict[LineOfBusiness, tuple[str, ...]] = {
    LineOfBusiness.MEDICARE_FFS: ("partb",),
    LineOfBusiness.MEDICARE_ADVANTAGE: ("hmo",),
    LineOfBusiness.MEDICAID: ("mc",),
    LineOfBusiness.COMMERCIAL: COMMERCIAL_TIERS,
}


def _optional_fields(model: type[BaseModel], skip: set[str]) -> dict[str, Any]:
    """Every field of `model` as optional, keeping its constraints (ge/le), default None."""
    out: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        if name in skip:
            continue
        annotation = Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation
        out[name] = (annotation | None, Field(default=None, description=info.description))
    return out


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Changes(_Strict):
    """Only the keys given: a key not given dumps as absent, not null, so a scenario dumped to
    JSON (a what-if point handed to its worker) validates again."""

    @model_serializer(mode="wrap")
    def _omit_unset(self, handler):
        return {k: v for k, v in handler(self).items() if v is not None}


# A payer's changes to a program's settings: any `ProgramSettings` field, the rest inherited from
# the region's settings for that program.
ProgramOverride = create_model(
    "ProgramOverride", __base__=_Changes, **_optional_fields(ProgramSettings, {"kind"}),
    __doc__="One payer's changes to a program: any key of `region.programs.<program_kind>` (same"
            " limits); keys not given keep the region's settings.")


class PayerSettings(_Strict):
    """One payer (by line of business): whether it joins its practices' programs, its own program
    settings, payer rules, and plan benefit designs by plan year."""

    join_programs: bool = True  # False: this payer contracts every practice FFS
    programs: dict[ProgramKind, ProgramOverride] = Field(default_factory=dict)  # changes by program
    sequestration_bp: BasisPoints | None = Field(default=None, ge=0, le=10_000)  # None: 0 (off); Medicare FFS only
    timely_filing_days: int | None = Field(default=None, ge=1)  # None: 365
    processing_days: int | None = Field(default=None, ge=0)  # None: 14 (paid date = received + this)
    # plan key (bronze/silver/gold, partb, hmo, mc) -> plan year -> benefit design (replaces it)
    plans: dict[str, dict[PlanYear, BenefitDesign]] = Field(default_factory=dict)


class Scenario(SimConfig):
    """A scenario file. Top-level keys are the simulator's (`scenario`, `seed`, `members`,
    `months`, `start`, `runout_months`, `region`, `population`, `enrollment`, `utilization`,
    `referrals`, `faults`, `lags`, `quality`, `demographics`) plus `description`, `runtime`,
    `clock` and `payers`."""

    description: str = ""
    runtime: Literal["embedded", "kafka"] = "embedded"
    clock: ClockSettings = Field(default_factory=ClockSettings)
    payers: dict[LineOfBusiness, PayerSettings] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _complete_programs(cls, data: Any) -> Any:
        """`[region.programs.cpcplus_t2]` need not repeat `kind`, and naming one program keeps
        the defaults of the others (the simulator's model wants every kind it cycles through)."""
        if not isinstance(data, dict):
            return data
        region = data.get("region")
        if isinstance(region, dict) and isinstance(region.get("programs"), dict):
            programs = dict(region["programs"])
            for key, value in programs.items():
                if isinstance(value, dict) and "kind" not in value and key in ProgramKind._value2member_map_:
                    programs[key] = {"kind": key, **value}
            for kind in ProgramKind:
                if kind.value not in programs and kind not in programs:
                    programs[kind.value] = {"kind": kind.value}
            data = {**data, "region": {**region, "programs": programs}}
        return data

    @model_validator(mode="before")
    @classmethod
    def _tests_for_claims_quality(cls, data: Any) -> Any:
        """A scenario that scores quality from claims simulates HbA1c tests for its members with
        diabetes (`simulator.hba1c`) unless it sets `quality.hba1c_monthly_bp` itself: the measure
        needs the tests billed, and default scenarios stay as they were."""
        if not isinstance(data, dict):
            return data
        clock = data.get("clock")
        projections = clock.get("projections") if isinstance(clock, dict) else None
        if not isinstance(projections, dict) or projections.get("quality_source") != "claims":
            return data
        quality = data.get("quality")
        if quality is None:
            quality = {}
        if isinstance(quality, dict) and "hba1c_monthly_bp" not in quality:
            data = {**data, "quality": {**quality, "hba1c_monthly_bp": HBA1C_MONTHLY_BP_FOR_CLAIMS}}
        return data

    @model_validator(mode="after")
    def _clock_and_programs(self) -> Scenario:
        """A baseline shorter than the run (else no epoch is ever paid under a program), and a
        hybrid % only on a program that has a hybrid (elsewhere it would silently do nothing)."""
        baseline = self.clock.baseline_months
        if baseline is not None and baseline >= self.months:
            raise ValueError(f"clock.baseline_months: {baseline} is not shorter than the run"
                             f" ({self.months} months); use 1..{self.months - 1}")
        overrides = [(f"region.programs.{k.value}", k, p.hybrid_bp, p.model_fields_set)
                     for k, p in self.region.programs.items()]
        overrides += [(f"payers.{lob.value}.programs.{k.value}", k, p.hybrid_bp, p.model_fields_set)
                      for lob, payer in self.payers.items() for k, p in payer.programs.items()]
        for where, kind, hybrid, given in overrides:
            if "hybrid_bp" in given and hybrid not in (-1, 0) and kind not in HYBRID_PROGRAMS:
                raise ValueError(f"{where}.hybrid_bp: {kind.value} has no hybrid (only "
                                 + ", ".join(sorted(k.value for k in HYBRID_PROGRAMS)) + " withhold FFS)")
        return self

    @model_validator(mode="after")
    def _plans_within_limits(self) -> Scenario:
        """Plan keys exist, and commercial plans stay within the ACA OOP limits of each year."""
        for lob, payer in self.payers.items():
            if payer.sequestration_bp and lob is not LineOfBusiness.MEDICARE_FFS:
                raise ValueError(f"payers.{lob.value}.sequestration_bp: sequestration applies to"
                                 " Medicare FFS only (medicare_ffs); this payer would ignore it")
            for key, designs in payer.plans.items():
                if key not in PLAN_KEYS[lob]:
                    raise ValueError(f"payers.{lob.value}.plans.{key}: unknown plan"
                                     f" (choose from {', '.join(PLAN_KEYS[lob])})")
                plan = Plan(plan_id=key, payer_id=lob.value, name=key, lob=lob, benefits=designs)
                problems = plan.aca_violations()
                if problems:
                    raise ValueError(f"payers.{lob.value}.plans.{key}: {problems[0]}")
            for kind in payer.programs:
                try:
                    self.program_for(lob, kind)
                except ValidationError as e:
                    raise ValueError(f"payers.{lob.value}.programs.{kind.value}: "
                                     + format_errors("", e).removeprefix(": ")) from None
        return self

    def program_for(self, lob: LineOfBusiness, kind: ProgramKind) -> ProgramSettings:
        """The settings a payer applies for a program: the region's, with the payer's changes."""
        base = self.region.programs.get(kind) or ProgramSettings(kind=kind)
        payer = self.payers.get(lob)
        if payer is None:
            return base
        if not payer.join_programs:
            return ProgramSettings(kind=ProgramKind.FFS)
        change = payer.programs.get(kind)
        if change is None:
            return base
        # Unset fields stay unset, so the kind's defaults (hybrid %, CPC+ denials) still apply.
        merged = {**base.model_dump(exclude_unset=True), **change.model_dump(exclude_unset=True),
                  "kind": kind}
        return ProgramSettings.model_validate(merged)


# -- loading -------------------------------------------------------------------------------------
def builtin_names() -> list[str]:
    folder = resources.files(BUILTIN_PACKAGE) / BUILTIN_DIR
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml"))


def builtin_text(name: str) -> str:
    return (resources.files(BUILTIN_PACKAGE) / BUILTIN_DIR / f"{name}.toml").read_text()


def format_errors(origin: str, error: ValidationError) -> str:
    """`origin: dotted.key: message` for each problem (one line each)."""
    lines = []
    for e in error.errors():
        loc = ".".join(str(part) for part in e["loc"])
        msg = e["msg"].removeprefix("Value error, ")
        if e["type"] == "extra_forbidden":
            msg = "unknown key"
        lines.append(f"{origin}: {loc}: {msg}" if loc else f"{origin}: {msg}")
    return "; ".join(lines)


def validate(data: dict[str, Any], origin: str) -> Scenario:
    try:
        scenario = Scenario.model_validate(copy.deepcopy(data))
    except ValidationError as e:
        raise UserError(format_errors(origin, e)) from None
    _same_types(data, scenario, origin, "")
    return scenario


def _same_types(raw: Any, value: Any, origin: str, path: str) -> None:
    """No true/false, 300.0 or "300" where the model holds an integer, and no 1 or "no" where it
    holds true or false: pydantic's lax mode would read `hybrid_bp = true` as 1 bp, `members =
    300.0` as 300 and `enabled = "off"` as false, so each value as written is walked
    beside the value the model made of it. (Strict mode would also refuse TOML's strings for
    enums and dates, which are fine.)"""
    if isinstance(raw, dict):
        for key, sub in raw.items():
            if isinstance(value, BaseModel):
                child = getattr(value, str(key), None)
            elif isinstance(value, dict):
                child = value.get(key, value.get(_int_key(key)))
            else:
                continue
            _same_types(sub, child, origin, f"{path}.{key}" if path else str(key))
    elif isinstance(raw, (list, tuple)) and isinstance(value, (list, tuple)):
        for i, (sub, child) in enumerate(zip(raw, value)):
            _same_types(sub, child, origin, f"{path}.{i}")
    elif type(raw) is bool and type(value) is not bool:
        raise UserError(f"{origin}: {path}: expected an integer, got {str(raw).lower()}")
    elif type(raw) is float and type(value) is not float:
        raise UserError(f"{origin}: {path}: expected an integer, got {raw!r}")
    elif type(raw) is int and type(value) is bool:
        raise UserError(f"{origin}: {path}: expected true or false, got {raw}")
    elif type(raw) is str and type(value) in (int, bool):
        wanted = "true or false" if type(value) is bool else "an integer"
        raise UserError(f"{origin}: {path}: expected {wanted}, got the string {raw!r}")


def _int_key(key: Any) -> Any:
    """TOML table keys are strings; plan-year tables hold them as integers."""
    return int(key) if isinstance(key, str) and key.isdigit() else key


def parse(text: str, origin: str, name: str) -> tuple[Scenario, dict[str, Any]]:
    """A scenario from TOML text; returns the model and the data as written."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise UserError(f"{origin}: not valid TOML: {e}") from None
    data.setdefault("scenario", name)
    return validate(data, origin), data


def load(name_or_path: str) -> tuple[Scenario, dict[str, Any], str]:
    """A built-in scenario by name, or a TOML file by path: (scenario, data as written, origin)."""
    path = Path(name_or_path)
    if path.suffix == ".toml" or path.is_file() or "/" in name_or_path:
        if not path.is_file():
            raise UserError(f"{name_or_path}: no such scenario file")
        scenario, data = parse(_text(path), path.name, path.stem)
        return scenario, data, path.name
    names = builtin_names()
    if name_or_path not in names:
        raise UserError(f"{name_or_path}: not a built-in scenario ({', '.join(names)}) or a .toml file")
    scenario, data = parse(builtin_text(name_or_path), f"{name_or_path}.toml", name_or_path)
    return scenario, data, f"{name_or_path}.toml"


def _text(path: Path) -> str:
    """A scenario file's text: UTF-8, with or without the byte-order mark some editors write."""
    try:
        return path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise UserError(f"{path.name}: not a text file (not UTF-8 at byte {e.start});"
                        " a scenario is a TOML text file") from None


def describe_builtins() -> list[tuple[str, str]]:
    return [(name, load(name)[0].description) for name in builtin_names()]


def with_overrides(data: dict[str, Any], origin: str, **values: Any) -> Scenario:
    """The scenario with top-level keys replaced (`claimsim run --members/--months/--seed`)."""
    changed = {**copy.deepcopy(data), **{k: v for k, v in values.items() if v is not None}}
    given = ", ".join(f"--{k} {v}" for k, v in values.items() if v is not None)
    return validate(changed, f"{origin} with {given}" if given else origin)
