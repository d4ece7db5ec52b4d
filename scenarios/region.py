"""A scenario's region and its simulated run directory: the simulator's default region for the
scenario, then each payer's own choices applied (programs it joins and their settings, payer
rules, plan benefit designs), so the referral behaviour sees the hybrid % each payer really pays.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from pathlib import Path

import orjson

from claimsim.events.errors import UserError
from claimsim.events.log import LogWriter
from claimsim.events.programs import Contract, ProgramKind, ProgramSettings
from claimsim.events.reference import ReferenceData
from claimsim.simulator.model import Summary, simulate
from claimsim.simulator.region import Region, build_region, service_years
from claimsim.simulator.run_dir import (INPUT_DIR, RUN_FILE, TRUTH_DIR, BatchSink,
                                        check_empty_run_dir)

from claimsim.scenarios.spec import Scenario

SCENARIO_FILE = "scenario.json"  # the validated scenario, as run (reports and whatif read it)


def _plan_key(plan_id: str, payer_id: str) -> str:
    return plan_id.removeprefix(payer_id + "-").lower()


def scenario_region(scenario: Scenario) -> Region:
    """The default region of the scenario's `SimConfig`, with each payer's overrides applied."""
    region = build_region(scenario)
    ref = region.reference
    lob_of = {p.payer_id: p.lob for p in ref.payers}
    years = service_years(scenario)
    if not scenario.payers:
        _check_programs(scenario, ref.contracts, lob_of, years)
        return region
    payers = []
    for payer in ref.payers:
        choice = scenario.payers.get(payer.lob)
        update = {} if choice is None else {
            k: v for k in ("sequestration_bp", "timely_filing_days", "processing_days")
            if (v := getattr(choice, k)) is not None}
        payers.append(payer.model_copy(update=update))
    plans = []
    for plan in ref.plans:
        choice = scenario.payers.get(plan.lob)
        key = _plan_key(plan.plan_id, plan.payer_id)
        designs = choice.plans.get(key) if choice else None
        missing = [y for y in years if designs and y not in designs]
        if missing:  # else every claim of those years would be rejected `unsupported_year`
            where = f"payers.{plan.lob.value}.plans.{key}"
            raise UserError(
                f"{where}: no benefit design for plan year {missing[0]}, which the run reaches"
                f" ({scenario.months} months from {scenario.start}; given: {sorted(designs)});"
                f" a plan's table replaces its years whole: give [{where}.{missing[0]}]")
        plans.append(plan if not designs else plan.model_copy(update={"benefits": dict(designs)}))
    contracts = []
    programs: dict[tuple[str, str], tuple[ProgramKind, int]] = {}
    for c in ref.contracts:
        lob = lob_of[c.payer_id]
        settings = scenario.program_for(lob, c.program.kind) if lob in scenario.payers else c.program
        contracts.append(c.model_copy(update={"program": settings}))
        programs[(c.payer_id, c.practice_id)] = (settings.kind, settings.hybrid_bp)
    _check_programs(scenario, contracts, lob_of, years)
    reference = ReferenceData(
        payers=tuple(payers), plans=tuple(plans), fee_schedules=ref.fee_schedules,
        payer_fee_schedule=ref.payer_fee_schedule, practices=ref.practices,
        contracts=tuple(contracts))
    facts = tuple(
        dataclasses.replace(
            f,
            program_by_payer={p: programs[(p, f.practice_id)][0] for p in f.program_by_payer},
            hybrid_by_payer={p: programs[(p, f.practice_id)][1] for p in f.hybrid_by_payer})
        for f in region.practices)
    return dataclasses.replace(region, reference=reference, practices=facts)


# Entries a program's per-member tables need: CPC+ pays by risk tier (1-4, Track 2's complex
# tier 5), PCF by practice risk group (one more than `clock.projections.pcf_group_bounds_milli`).
CMF_TIERS = {ProgramKind.CPCP_T1: 4, ProgramKind.CPCP_T2: 5}


def _check_programs(scenario: Scenario, contracts: Iterable[Contract], lob_of: dict,
                    years: list[int]) -> None:
    """`_check_figures` once for each payer's program the contracts use (many practices hold the
    same one)."""
    seen = set()
    for c in contracts:
        lob = lob_of[c.payer_id]
        if (lob, c.program.kind) not in seen:
            seen.add((lob, c.program.kind))
            _check_figures(scenario, lob, c.program, years)


def _check_figures(scenario: Scenario, lob, program: ProgramSettings,  # noqa: ANN001
                   years: list[int]) -> None:
    """A program in use has figures for every plan year the run reaches (`years`), and as many
    tiers or risk groups as it pays by: found before anything is simulated, not as a traceback
    at the first payment (or a short table quietly paying its last entry to the tiers past it)."""
    kind = program.kind
    override = scenario.payers.get(lob)
    where = (f"payers.{lob.value}.programs.{kind.value}.figures"
             if override is not None and kind in override.programs
             and "figures" in override.programs[kind].model_fields_set
             else f"region.programs.{kind.value}.figures")
    groups = len(scenario.clock.projections.pcf_group_bounds_milli) + 1
    for year in years:
        figures = program.figures.get(year)
        if figures is None:
            raise UserError(
                f"{where}: no figures for plan year {year}, which the run reaches"
                f" ({scenario.months} months from {scenario.start}; given: {sorted(program.figures)}); a figures"
                f" table replaces the default's years whole: give [{where}.{year}]")
        tiers = CMF_TIERS.get(kind)
        if tiers is not None and len(figures.cmf_by_tier) != tiers:
            raise UserError(f"{where}.{year}.cmf_by_tier: {kind.value} pays {tiers} tiers,"
                            f" got {len(figures.cmf_by_tier)} amounts")
        if kind is ProgramKind.PCF and len(figures.pbp_by_group) != groups:
            raise UserError(
                f"{where}.{year}.pbp_by_group: PCF pays {groups} practice risk groups"
                " (clock.projections.pcf_group_bounds_milli has"
                f" {groups - 1} bounds), got {len(figures.pbp_by_group)} amounts")


def simulate_scenario(scenario: Scenario, run_dir: Path | str, progress: bool = False) -> Summary:
    """Simulate the scenario into a fresh run directory: reference.json, run.json (as the
    simulator writes it), scenario.json, input/ and truth/."""
    run_dir = Path(run_dir)
    check_empty_run_dir(run_dir, "run")
    region = scenario_region(scenario)
    run_dir.mkdir(parents=True, exist_ok=True)
    region.reference.save(run_dir)
    with LogWriter(run_dir / INPUT_DIR) as input_log, LogWriter(run_dir / TRUTH_DIR) as truth_log:
        summary = simulate(scenario, BatchSink(input_log), BatchSink(truth_log), progress=progress,
                           region=region)
    config = orjson.loads(scenario.model_dump_json())
    manifest = {
        "scenario": scenario.scenario,
        "seed": scenario.seed,
        "members": scenario.members,
        "start": scenario.start.isoformat(),
        "months": scenario.months,
        "runout_months": scenario.runout_months,
        "service_end": summary.service_end,
        "horizon": summary.horizon,
        "reference_digest": region.reference.digest(),
        "config": config,
        "summary": summary.to_dict(),
    }
    option = orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2
    (run_dir / RUN_FILE).write_bytes(orjson.dumps(manifest, option=option) + b"\n")
    (run_dir / SCENARIO_FILE).write_bytes(orjson.dumps(config, option=option) + b"\n")
    return summary

