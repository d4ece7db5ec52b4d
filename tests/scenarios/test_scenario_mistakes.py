"""Mistakes an analyst makes in a scenario file or on the command line: each is refused before
anything is simulated, with one line naming the key (never a traceback, a late failure, or a
setting quietly doing nothing); and `--vary` of one key of a table varies that key of the table
in force."""

from __future__ import annotations

import pytest

from claimsim.cli import main
from claimsim.events.codes import Condition
from claimsim.events.errors import UserError
from claimsim.events.plans import LineOfBusiness
from claimsim.events.providers import PracticeKind
from claimsim.scenarios.region import scenario_region
from claimsim.scenarios.spec import load, parse
from claimsim.scenarios.vary import parse_vary, points

SMALL = "members = 500\nmonths = 3\n"


def _error(text: str) -> str:
    with pytest.raises(UserError) as e:
        parse(text, "s.toml", "s")
    return str(e.value)


def _region_error(text: str) -> str:
    scenario, _ = parse(text, "s.toml", "s")
    with pytest.raises(UserError) as e:
        scenario_region(scenario)
    return str(e.value)


def _point(vary: str):
    _, data, origin = load("demo")
    [(_, scenario, _)] = points(data, [parse_vary(vary)], origin)
    return scenario


def test_vary_of_one_weight_keeps_the_other_weights_of_the_mix():
    """demo's mix is the default (1800/1400/2200/4600): a point at medicaid=5000 changes that
    weight only (it was a one-key mix: every member Medicaid, at both points alike)."""
    mix = _point("population.lob_mix_bp.medicaid=5000").population.lob_mix_bp
    assert mix == {LineOfBusiness.MEDICARE_FFS: 1800, LineOfBusiness.MEDICARE_ADVANTAGE: 1400,
                   LineOfBusiness.MEDICAID: 5000, LineOfBusiness.COMMERCIAL: 4600}


def test_vary_of_one_lag_keeps_the_rest_of_its_table():
    lags = _point("lags.primary_care.mean_days=5").lags
    assert (lags[PracticeKind.PRIMARY_CARE].min_days, lags[PracticeKind.PRIMARY_CARE].mean_days,
            lags[PracticeKind.PRIMARY_CARE].max_days) == (2, 5, 120)
    assert lags[PracticeKind.ED].mean_days == 30 and len(lags) == len(PracticeKind)


def test_a_partial_prevalence_table_names_the_missing_conditions():
    msg = _error(SMALL + "[population.prevalence_bp]\ndiabetes = [30, 400, 1400, 3000]\n")
    assert msg.startswith("s.toml: population: prevalence_bp: no prevalence for chf, copd,")
    assert msg.count(",") >= len(Condition) - 2


def test_figures_must_cover_every_plan_year_the_run_reaches():
    text = ("members = 500\nmonths = 6\nstart = 2025-10-01\n[clock]\nbaseline_months = 2\n"
            "[region.programs.cpcplus_t2.figures.2025]\n"
            "cmf_by_tier = [900, 1100, 1900, 3300, 10000]\npbip_pmpm = 400\n")
    assert _region_error(text).startswith(
        "region.programs.cpcplus_t2.figures: no figures for plan year 2026, which the run"
        " reaches (6 months from 2025-10-01; given: [2025])")


def test_a_short_tier_or_risk_group_table_is_refused():
    cmf = (SMALL + "[region.programs.cpcplus_t2.figures.2025]\ncmf_by_tier = [900, 1100]\n"
           "[region.programs.cpcplus_t2.figures.2026]\ncmf_by_tier = [900, 1100]\n")
    assert _region_error(cmf) == ("region.programs.cpcplus_t2.figures.2025.cmf_by_tier:"
                                  " cpcplus_t2 pays 5 tiers, got 2 amounts")
    pbp = SMALL + "[region.programs.pcf.figures.2025]\nflat_visit_fee = 4082\n"
    assert _region_error(pbp).startswith("region.programs.pcf.figures.2025.pbp_by_group: PCF"
                                         " pays 4 practice risk groups")


def test_a_plan_table_must_cover_every_plan_year_the_run_reaches():
    """Else every commercial silver claim of 2025 would be rejected `unsupported_year`."""
    text = SMALL + """[payers.commercial.plans.silver.2026]
deductible_individual = 100000
deductible_family = 200000
coinsurance_bp = 2000
oop_individual = 1060000
oop_family = 2120000
"""
    assert _region_error(text).startswith(
        "payers.commercial.plans.silver: no benefit design for plan year 2025")


def test_settings_that_would_do_nothing_are_refused():
    assert _error(SMALL + "[clock.projections.pre_steps]\npcf = \"avw\"\n").startswith(
        "s.toml: clock.projections.pre_steps.pcf: Input should be 'awv' or 'ccm'")
    assert _error(SMALL + "[payers.commercial]\nsequestration_bp = 200\n") == (
        "s.toml: payers.commercial.sequestration_bp: sequestration applies to Medicare FFS only"
        " (medicare_ffs); this payer would ignore it")
    assert _region_error(SMALL + "[region.program_by_tin]\nPC01 = \"full_cap\"\n") == (
        "region.program_by_tin: PC01: not a primary-care practice of this region"
        " (PC001..PC008 at 500 members)")


@pytest.mark.parametrize("name", ["../../escape", "", "a/b", ".."])
def test_a_scenario_name_is_one_folder_name(name: str):
    assert "is not a folder name" in _error(SMALL + f"scenario = {name!r}\n".replace("'", '"'))


def test_a_scenario_name_may_have_spaces():
    assert parse(SMALL + 'scenario = "my plan 2"\n', "s.toml", "s")[0].scenario == "my plan 2"


@pytest.mark.parametrize("line, wanted", [
    ("members = \"500\"", "members: expected an integer, got the string '500'"),
    ("[region.programs.pcf]\nleakage_adjustment = 1",
     "region.programs.pcf.leakage_adjustment: expected true or false, got 1"),
    ("[demographics]\nenabled = \"off\"",
     "demographics.enabled: expected true or false, got the string 'off'"),
])
def test_no_lax_reading_of_strings_and_integers(line: str, wanted: str):
    assert _error("months = 3\n" + line + "\n") == f"s.toml: {wanted}"


def test_a_flag_error_names_the_flag_not_the_file(capsys, tmp_path):
    assert main(["run", "demo", "--members", "300", "--months", "3", "--seed", "-1",
                 "--out", str(tmp_path / "r")]) == 2
    assert capsys.readouterr().err.strip() == (
        "claimsim: error: demo.toml with --members 300, --months 3, --seed -1: seed: Input"
        " should be greater than or equal to 0")
    assert not (tmp_path / "r").exists()


def test_calibrate_refuses_zero_members_and_a_folder_for_out(capsys, tmp_path):
    assert main(["calibrate", "demo", "--members", "0"]) == 2
    assert "demo.toml with --members 0: members:" in capsys.readouterr().err
    assert main(["calibrate", "demo", "--members", "500", "--out", str(tmp_path)]) == 2
    assert capsys.readouterr().err.strip() == (
        f"claimsim: error: --out {tmp_path}: is a folder; name the CSV file to write")
    assert list(tmp_path.parent.glob(f"{tmp_path.name}.part")) == []
