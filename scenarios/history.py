"""Re-paying history under a payment model: `claimsim run SCENARIO --history RUN_DIR`. The
scenario's payers, programs and contracts are laid over an ingested run's practices (which TINs
hold which program, hybrid %, cost-share basis, leakage adjustment), its claims are copied in as
the input, and the run clock pays them epoch by epoch exactly as it pays a simulated region.

Choices where DOMAIN.md is silent:
- Programs go to the ingested primary-care practices in TIN order, taking the scenario's
  `region.program_cycle` in turn (as the simulator deals them to its practices), except the
  practices the scenario names by TIN (`region.program_by_tin`, or the caller's
  `program_by_tin`, which wins); other practices are FFS.
- Each ingested payer applies the scenario's settings for its line of business
  (`Scenario.program_for`); a line of business the scenario leaves out of programs stays FFS.
- Contracts start on the history's first service month. Program figures are keyed by plan
  year; years the scenario lacks (history before 2025) take the nearest later year's figures.
- A history priced from its file (`claimsim ingest --price-from-file`) keeps that setting: the
  scenario's programs apply on top of the file's amounts (`adjudication.engine.file_pricing`).
- There is no truth log: measures that need it (true leakage, attribution accuracy, true risk)
  are reported as not available for ingested runs.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import orjson

from claimsim.events.errors import UserError
from claimsim.events.fee_schedule import FEE_SCHEDULE_YEAR_BP
from claimsim.events.programs import Contract, ProgramKind, ProgramSettings
from claimsim.events.reference import ReferenceData
from claimsim.simulator.run_dir import INPUT_DIR, RUN_FILE, check_empty_run_dir

from claimsim.scenarios.region import SCENARIO_FILE
from claimsim.scenarios.run import ScenarioResult, pay_and_report
from claimsim.scenarios.spec import Scenario


def read_history(history: Path) -> dict:
    info_path = history / RUN_FILE
    if not info_path.is_file() or not (history / INPUT_DIR).is_dir():
        raise UserError(f"{history}: not a run directory (no run.json or input/)")
    info = orjson.loads(info_path.read_bytes())
    if not info.get("ingested"):
        raise UserError(f"{history}: not an ingested run (make one with `claimsim ingest`)")
    return info


def _with_years(settings: ProgramSettings, years: list[int]) -> ProgramSettings:
    figures = dict(settings.figures)
    for year in years:
        if year not in figures:
            later = [y for y in sorted(settings.figures) if y >= year] or sorted(settings.figures)[-1:]
            figures[year] = settings.figures[later[0]]
    return settings.model_copy(update={"figures": dict(sorted(figures.items()))})


def history_reference(scenario: Scenario, ingested: ReferenceData, start: dt.date,
                      program_by_tin: dict[str, ProgramKind] | None = None,
                      end: dt.date | None = None) -> ReferenceData:
    """The ingested reference data with the scenario's payer rules and program contracts, whose
    figures cover every shipped year and every year from `start` to `end` (the history's
    horizon: a history priced from its file may reach years nothing ships figures for)."""
    cycle = scenario.region.program_cycle
    years = sorted(set(FEE_SCHEDULE_YEAR_BP) | set(range(start.year, (end or start).year + 1)))
    named = {**scenario.region.program_by_tin, **(program_by_tin or {})}
    unknown = sorted(set(named) - {p.practice_id for p in ingested.practices})
    if unknown:
        raise UserError(f"practices named by TIN are not in the history: {', '.join(unknown)}")
    contracts = []
    primary = [p for p in ingested.practices if p.is_primary_care]
    for i, practice in enumerate(primary):
        track = named.get(practice.practice_id, cycle[i % len(cycle)] if cycle else ProgramKind.FFS)
        for payer in ingested.payers:
            kind = track
            if kind is ProgramKind.FULL_CAP and payer.lob not in scenario.region.full_cap_lobs:
                kind = ProgramKind.FFS
            settings = _with_years(scenario.program_for(payer.lob, kind), years)
            contracts.append(Contract(payer_id=payer.payer_id, practice_id=practice.practice_id,
                                      program=settings, start=start))
    payers = []
    for payer in ingested.payers:
        choice = scenario.payers.get(payer.lob)
        update = {} if choice is None else {
            k: v for k in ("sequestration_bp", "timely_filing_days", "processing_days")
            if (v := getattr(choice, k)) is not None}
        payers.append(payer.model_copy(update=update))
    return ingested.model_copy(update={"payers": tuple(payers), "contracts": tuple(contracts)})


def prepare_history(scenario: Scenario, history: Path | str, out: Path | str,
                    program_by_tin: dict[str, ProgramKind] | None = None) -> dict:
    """A fresh run directory `out`: the history's input, its reference data under the
    scenario's programs, run.json and scenario.json; returns the run.json written."""
    history, out = Path(history), Path(out)
    info = read_history(history)
    check_empty_run_dir(out, "run --history")
    reference = history_reference(scenario, ReferenceData.load(history),
                                  dt.date.fromisoformat(info["start"]), program_by_tin,
                                  dt.date.fromisoformat(info["horizon"]))
    out.mkdir(parents=True, exist_ok=True)
    shutil.copytree(history / INPUT_DIR, out / INPUT_DIR)
    reference.save(out)
    config = orjson.loads(scenario.model_dump_json())
    run = {**info, "scenario": scenario.scenario, "seed": scenario.seed, "history": str(history),
           "reference_digest": reference.digest(), "truth": False}
    option = orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2
    (out / RUN_FILE).write_bytes(orjson.dumps(run, option=option) + b"\n")
    (out / SCENARIO_FILE).write_bytes(orjson.dumps(config, option=option) + b"\n")
    return run



def run_history(scenario: Scenario, history: Path | str, out: Path | str, *,
                program_by_tin: dict[str, ProgramKind] | None = None, progress: bool = False,
                charts_too: bool = True, kafka=None, signer=None) -> ScenarioResult:
    """`claimsim run SCENARIO --history RUN_DIR` as a library call: prepare `out`, pay it on the
    scenario's runtime epoch by epoch, write the reports (truth measures: not available)."""
    out = Path(out)
    info = prepare_history(scenario, history, out, program_by_tin)
    return pay_and_report(scenario, out, months=info["months"], progress=progress,
                          charts_too=charts_too, kafka=kafka, signer=signer)
