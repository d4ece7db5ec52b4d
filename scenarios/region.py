"""A scenario's region and its simulated run directory: the simulator's default region for the
scenario, then each payer's own choices applied (programs it joins and their settings, payer
rules, plan benefit designs), so the referral behaviour sees the hybrid % each payer really pays.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import orjson

from claimsim.events.log import LogWriter
from claimsim.events.programs import ProgramKind
from claimsim.events.reference import ReferenceData
from claimsim.simulator.model import Summary, simulate
from claimsim.simulator.region import Region, build_region
from claimsim.simulator.run_dir import (INPUT_DIR, RUN_FILE, TRUTH_DIR, BatchSink,
                                        check_empty_run_dir)

from claimsim.scenarios.spec import Scenario

SCENARIO_FILE = "scenario.json"  # the validated scenario, as run (reports and whatif read it)


def _plan_key(plan_id: str, payer_id: str) -> str:
    return plan_id.removeprefix(payer_id + "-").lower()


def scenario_region(scenario: Scenario) -> Region:
    """The default region of the scenario's `SimConfig`, with each payer's overrides applied."""
    region = build_region(scenario)
    if not scenario.payers:
        return region
    ref = region.reference
    lob_of = {p.payer_id: p.lob for p in ref.payers}
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
        designs = choice.plans.get(_plan_key(plan.plan_id, plan.payer_id)) if choice else None
        plans.append(plan if not designs else plan.model_copy(update={"benefits": dict(designs)}))
    contracts = []
    programs: dict[tuple[str, str], tuple[ProgramKind, int]] = {}
    for c in ref.contracts:
        lob = lob_of[c.payer_id]
        settings = scenario.program_for(lob, c.program.kind) if lob in scenario.payers else c.program
        contracts.append(c.model_copy(update={"program": settings}))
        programs[(c.payer_id, c.practice_id)] = (settings.kind, settings.hybrid_bp)
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

