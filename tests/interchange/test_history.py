"""Re-paying history under a payment model: an ingested run (a generated Tuva table, 2025) laid
under the built-in PCF scenario's programs by TIN and paid on the run clock reconciles like a
simulated run, and the contracts follow the scenario's program cycle and payer choices."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import orjson
import pytest


from claimsim.events.programs import ProgramKind
from claimsim.events.reference import ReferenceData
from claimsim.scenarios import tables
from claimsim.scenarios.history import history_reference, prepare_history
from claimsim.scenarios.runclock import pay
from claimsim.scenarios.spec import load, validate
from claimsim.scenarios.tuva_sample import write_tuva_sample
from claimsim.scenarios.vary import with_value

from ..fixtures.ingest import claimsim


def pcf(minimum: int = 10, **changes):
    _, data, origin = load("pcf")
    data = with_value(data, "region.programs.pcf.minimum_attributed", minimum)
    for path, value in changes.items():
        data = with_value(data, path.replace("__", "."), value)
    return validate(data, origin)


@pytest.fixture(scope="module")
def history(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("history")
    claims, eligibility = write_tuva_sample(tmp, 6000, tins=6)
    run = tmp / "ingested"
    assert claimsim("ingest", "--format", "tuva", claims, eligibility, "--out", run,
                    "--no-progress") == 0
    return run


def test_programs_go_to_primary_care_tins_in_turn_and_named_tins_win(history):
    ref = ReferenceData.load(history)
    scenario = pcf()
    out = history_reference(scenario, ref, dt.date(2025, 1, 1))
    by_tin = {c.practice_id: c.program.kind for c in out.contracts if c.payer_id == "medicare"}
    # TINs 90..95 in order take pcf, pcf, ffs, pcf, pcf, ffs
    assert by_tin == {"90": ProgramKind.PCF, "91": ProgramKind.PCF, "92": ProgramKind.FFS,
                      "93": ProgramKind.PCF, "94": ProgramKind.PCF, "95": ProgramKind.FFS}
    named = history_reference(scenario, ref, dt.date(2025, 1, 1), {"92": ProgramKind.PCF})
    assert {c.practice_id for c in named.contracts
            if c.payer_id == "acme" and c.program.kind is ProgramKind.PCF} == {"90", "91", "92", "93", "94"}
    # the commercial payer "acme" applies the scenario's commercial settings
    assert all(c.program.leakage_adjustment for c in out.contracts if c.program.kind is ProgramKind.PCF)


def test_history_paid_under_pcf_reconciles_like_a_simulated_run(history, tmp_path):
    scenario = pcf()
    out = tmp_path / "pcf"
    info = prepare_history(scenario, history, out)
    assert (info["start"], info["months"], info["truth"]) == ("2025-01-01", 12, False)
    clock = pay(out, settings=scenario.clock, months=info["months"])
    # six baseline months, then quarterly: boundaries July, October, then the horizon
    assert clock.plan.boundaries == ("2025-07-01", "2025-10-01", "2026-01-15")
    checks = tables.reconciliation(out, clock.state)
    assert [c["check"] for c in checks if not c["ok"]] == []
    rows = tables.practice_rows(out, clock.state, clock.plan)
    pcf_rows = [r for r in rows if r["program"] == "pcf" and r["member_months"] >= 100]
    assert pcf_rows and all(r["prospective"] > 0 for r in pcf_rows)
    assert all(r["prospective"] == 0 for r in rows if r["program"] == "ffs")
    manifest = orjson.loads((out / "run.json").read_bytes())
    assert manifest["history"] == str(history) and manifest["scenario"] == "pcf"


def test_history_needs_an_ingested_run(tmp_path):
    from claimsim.events.errors import UserError

    (tmp_path / "plain").mkdir()
    with pytest.raises(UserError, match="not a run directory"):
        prepare_history(pcf(), tmp_path / "plain", tmp_path / "out")


def test_the_scenario_names_practices_by_tin(history):
    scenario = pcf(region__program_by_tin={"95": "pcf", "90": "ffs"})
    out = history_reference(scenario, ReferenceData.load(history), dt.date(2025, 1, 1))
    by_tin = {c.practice_id: c.program.kind for c in out.contracts if c.payer_id == "medicare"}
    assert by_tin == {"90": ProgramKind.FFS, "91": ProgramKind.PCF, "92": ProgramKind.FFS,
                      "93": ProgramKind.PCF, "94": ProgramKind.PCF, "95": ProgramKind.PCF}
