"""Scenario values outside their documented range are errors naming the file and the key:
negative money, shares outside 0..100 %, negative multipliers, booleans or floats where an
integer belongs, a baseline as long as the run, a hybrid % on a program that has none. Every
numeric setting documents its range in docs/scenario-reference.md."""

from __future__ import annotations

import pytest

from claimsim.events.errors import UserError
from claimsim.scenarios.reference_doc import reference_markdown
from claimsim.scenarios.spec import builtin_names, load, parse

BAD = [
    ("[region.programs.cpcplus_t2.figures.2025]\ncmf_by_tier = [-900, 1100, 1900, 3300, 10000]\n",
     "region.programs.cpcplus_t2.figures.2025.cmf_by_tier.0"),
    ("[region.programs.cpcplus_t2.figures.2025]\npbip_pmpm = -400\n",
     "region.programs.cpcplus_t2.figures.2025.pbip_pmpm"),
    ("[region.programs.cpcplus_t2]\ncpcp_enhancement_bp = -20000\n",
     "region.programs.cpcplus_t2.cpcp_enhancement_bp"),
    ("[region]\ncharge_multiplier_bp = [-15000, 30000]\n", "region.charge_multiplier_bp.0"),
    ("[region]\ncharge_multiplier_bp = [30000, 15000]\n", "region.charge_multiplier_bp"),
    ("[region]\ncommercial_plan_mix_bp = [3000, 12000, -5000]\n", "region.commercial_plan_mix_bp.1"),
    ("[population]\nspouse_bp = 15000\n", "population.spouse_bp"),
    ("[population]\nqmb_bp = -1\n", "population.qmb_bp"),
    ("[population.lob_mix_bp]\ncommercial = -500\n", "population.lob_mix_bp.commercial"),
    ("[region]\ncapacity_bp = [8500, -13000]\n", "region.capacity_bp.1"),
    ("[quality]\nquality_range_bp = [5000, 19500]\n", "quality.quality_range_bp.1"),
    ("[region.programs.cpcplus_t2]\nhybrid_bp = true\n", "region.programs.cpcplus_t2.hybrid_bp"),
    ("members = 300.0\n", "members"),
    ("[clock]\nbaseline_months = 12\n", "clock.baseline_months"),
    ("months = 6\n[clock]\nbaseline_months = 9\n", "clock.baseline_months"),
    ("[region.programs.pcf]\nhybrid_bp = 4000\n", "region.programs.pcf.hybrid_bp"),
    ("[region.programs.ffs]\nhybrid_bp = 2500\n", "region.programs.ffs.hybrid_bp"),
    ("[payers.commercial.programs.cpcplus_t1]\nhybrid_bp = 2500\n",
     "payers.commercial.programs.cpcplus_t1"),
    ("[region.programs.mcp_t1]\nrisk_adjust_cap_milli = -5\n", "region.programs.mcp_t1.risk_adjust_cap_milli"),
]


@pytest.mark.parametrize("toml, key", BAD, ids=[k for _, k in BAD])
def test_value_outside_its_range_is_refused_naming_the_key(toml, key):
    with pytest.raises(UserError) as e:
        parse(toml, "mine.toml", "mine")
    message = str(e.value)
    assert message.startswith("mine.toml: ") and key in message, message


def test_values_inside_the_ranges_are_accepted():
    s, _ = parse("months = 6\n[clock]\nbaseline_months = 5\n[region.programs.cpcplus_t2]\n"
                 "hybrid_bp = 6500\ncpcp_enhancement_bp = 0\n[region.programs.pcf]\nhybrid_bp = 0\n",
                 "mine.toml", "mine")
    assert s.clock.baseline_months == 5 and s.region.programs["cpcplus_t2"].hybrid_bp == 6500
    for name in builtin_names():
        load(name)


def test_every_numeric_setting_documents_its_range():
    missing = []
    for row in reference_markdown().splitlines():
        if not row.startswith("| `"):
            continue
        cells = [c.strip() for c in row.strip("|").split("|")]
        key, kind, limits = cells[0], cells[1], cells[3]
        if "int" in kind and not limits:
            missing.append(key)
    assert missing == []
