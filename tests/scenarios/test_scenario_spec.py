"""Scenario files (DESIGN.md "Config"): TOML validated by pydantic, errors naming the file
and the dotted key, ACA limits on commercial plans, sensible defaults, per-payer program
settings that reach both the payer's contracts and the simulator's referral behaviour."""

from __future__ import annotations

import pytest

from claimsim.events.errors import UserError
from claimsim.events.plans import LineOfBusiness
from claimsim.events.programs import CostShareBasis, ProgramKind
from claimsim.scenarios.region import scenario_region
from claimsim.scenarios.spec import builtin_names, load, parse
from claimsim.scenarios.vary import parse_vary


def _error(text: str, origin: str = "scenario.toml") -> str:
    with pytest.raises(UserError) as e:
        parse(text, origin, "x")
    return str(e.value)


def test_empty_file_gets_the_default_region_and_run_clock():
    scenario, _ = parse("", "minimal.toml", "minimal")
    assert scenario.scenario == "minimal" and scenario.members == 10_000
    assert scenario.region.programs[ProgramKind.CPCP_T2].hybrid_bp == 4000
    assert scenario.clock.cadence_months == 3 and scenario.runtime == "embedded"


def test_bad_value_names_file_and_dotted_key():
    msg = _error("[region.programs.cpcplus_t2]\nhybrid_bp = 65000\n")
    assert msg.startswith("scenario.toml: region.programs.cpcplus_t2.hybrid_bp:")
    assert "10000" in msg


def test_unknown_key_names_file_and_key():
    assert _error("[referrals]\navoidable_slop_bp = 10\n") == (
        "scenario.toml: referrals.avoidable_slop_bp: unknown key")
    assert _error("membrs = 10\n", "mine.toml") == "mine.toml: membrs: unknown key"


def test_not_toml_is_one_line_naming_the_file():
    assert _error("members = = 3\n").startswith("scenario.toml: not valid TOML:")


def test_commercial_oop_above_the_aca_maximum_is_an_error():
    """2026's ACA self-only limit is $10,600 (1,060,000 cents): a silver plan at $10,601 fails."""
    text = """
[payers.commercial.plans.silver.2026]
deductible_individual = 100000
deductible_family = 200000
coinsurance_bp = 2000
oop_individual = 1060100
oop_family = 2120000
"""
    msg = _error(text)
    assert msg.startswith("scenario.toml: payers.commercial.plans.silver:")
    assert "1060100" in msg and "ACA" in msg
    ok, _ = parse(text.replace("1060100", "1060000"), "scenario.toml", "x")
    assert ok.payers[LineOfBusiness.COMMERCIAL].plans["silver"][2026].oop_individual == 1_060_000


def test_unknown_plan_key_lists_the_plans_of_that_line_of_business():
    msg = _error("[payers.commercial.plans.platinum.2025]\ndeductible_individual = 1\n"
                 "deductible_family = 1\ncoinsurance_bp = 0\noop_individual = 1\noop_family = 1\n")
    assert "payers.commercial.plans.platinum: unknown plan (choose from bronze, silver, gold)" in msg


def test_per_payer_program_override_keeps_the_region_settings_it_does_not_name():
    scenario, _ = parse("""
[region.programs.cpcplus_t2]
hybrid_bp = 6500
[payers.commercial.programs.cpcplus_t2]
cost_share_basis = "reduced"
""", "s.toml", "s")
    commercial = scenario.program_for(LineOfBusiness.COMMERCIAL, ProgramKind.CPCP_T2)
    medicare = scenario.program_for(LineOfBusiness.MEDICARE_FFS, ProgramKind.CPCP_T2)
    assert (commercial.hybrid_bp, commercial.cost_share_basis) == (6500, CostShareBasis.REDUCED)
    assert (medicare.hybrid_bp, medicare.cost_share_basis) == (6500, CostShareBasis.FULL)
    assert commercial.denied_codes == medicare.denied_codes == {"99490", "99487", "99489"}


def test_payer_overrides_reach_contracts_payer_rules_plans_and_referral_behaviour():
    scenario, _, _ = load("multipayer")
    scenario = scenario.model_copy(update={"members": 400})
    region = scenario_region(scenario)
    ref = region.reference
    by_payer = {}
    for c in ref.contracts:
        by_payer.setdefault((c.payer_id, c.program.kind), c.program)
    assert by_payer[("MEDICAID", ProgramKind.MCP_T2)].hybrid_bp == 3000
    assert by_payer[("MEDICARE-FFS", ProgramKind.MCP_T2)].hybrid_bp == 5000
    assert by_payer[("COMMERCIAL", ProgramKind.CPCP_T2)].cost_share_basis is CostShareBasis.REDUCED
    assert ref.payer["MEDICARE-FFS"].sequestration_bp == 200
    assert ref.payer["COMMERCIAL"].processing_days == 21
    assert ref.plan["COMMERCIAL-SILVER"].benefits[2025].deductible_individual == 350_000
    mcp_t2 = [f for f in region.practices if f.program_by_payer.get("MEDICAID") is ProgramKind.MCP_T2]
    assert mcp_t2 and all(f.hybrid_by_payer["MEDICAID"] == 3000 and f.hybrid_by_payer["MEDICARE-FFS"] == 5000
                          for f in mcp_t2)


def test_payer_outside_the_programs_contracts_every_practice_ffs():
    scenario, _ = parse("members = 400\n[payers.commercial]\njoin_programs = false\n", "s.toml", "s")
    ref = scenario_region(scenario).reference
    kinds = {c.program.kind for c in ref.contracts if c.payer_id == "COMMERCIAL"}
    assert kinds == {ProgramKind.FFS}
    assert len({c.program.kind for c in ref.contracts if c.payer_id == "MEDICARE-FFS"}) > 1


def test_builtins_are_the_five_the_issue_asks_for_and_each_has_a_description():
    assert builtin_names() == ["cpcplus", "demo", "mcp", "multipayer", "pcf"]
    for name in builtin_names():
        scenario, _, origin = load(name)
        assert scenario.scenario == name and origin == f"{name}.toml" and scenario.description


def test_unknown_scenario_name_lists_the_builtins():
    with pytest.raises(UserError, match="not a built-in scenario \\(cpcplus, demo, mcp, multipayer, pcf\\)"):
        load("cpc")
    with pytest.raises(UserError, match="nope.toml: no such scenario file"):
        load("nope.toml")


def test_vary_rejects_unknown_paths_with_the_valid_choices():
    with pytest.raises(UserError, match="'hybrid' is not a key of region.programs.cpcplus_t2 \\(choose from .*hybrid_bp"):
        parse_vary("programs.cpcplus_t2.hybrid=0,4000")
    with pytest.raises(UserError, match="'cpcplus' is not a key of region.programs \\(choose from ffs, cpcplus_t1"):
        parse_vary("region.programs.cpcplus.hybrid_bp=0")
    with pytest.raises(UserError, match="names a table"):
        parse_vary("referrals=1")
    axis = parse_vary("programs.cpcplus_t2.hybrid_bp=0,2500,4000,6500")
    assert axis.path == "region.programs.cpcplus_t2.hybrid_bp" and axis.values == (0, 2500, 4000, 6500)
    assert parse_vary("payers.commercial.programs.pcf.leakage_adjustment=true,false").values == (True, False)


def test_every_builtin_survives_its_json_round_trip():
    """A what-if hands each point to its worker as JSON: a payer's program changes must dump only
    the keys given (not nulls), or the worker's validation rejects them."""
    from claimsim.scenarios.spec import Scenario, builtin_names, load, validate

    for name in builtin_names():
        _, data, origin = load(name)
        scenario = validate(data, origin)
        assert Scenario.model_validate_json(scenario.model_dump_json()) == scenario, name
