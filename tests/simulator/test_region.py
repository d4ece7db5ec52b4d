"""The default region (DOMAIN.md §4, §8): four payers across the lines of business, primary-care
practices whose contracts use every program kind, specialists and facilities under FFS, and a
clear error for plan years with no figures."""

from __future__ import annotations

import datetime as dt

import pytest

from claimsim.events.errors import UserError
from claimsim.events.plans import LineOfBusiness
from claimsim.events.programs import ProgramKind
from claimsim.events.providers import ClinicianRole, PracticeKind
from claimsim.simulator.config import SimConfig
from claimsim.simulator.region import build_region


@pytest.fixture(scope="module")
def region():
    return build_region(SimConfig(members=10_000))


def test_four_payers_one_per_line_of_business_without_sequestration(region):
    ref = region.reference
    assert sorted(p.lob for p in ref.payers) == sorted(LineOfBusiness)
    assert all(p.sequestration_bp == 0 for p in ref.payers)
    lobs = {p.lob for p in ref.plans}
    assert lobs == set(LineOfBusiness)
    commercial = sorted(p.name for p in ref.plans if p.lob is LineOfBusiness.COMMERCIAL)
    assert commercial == ["Bronze", "Gold", "Silver"]
    for plan in ref.plans:
        plan.benefits_for(2025)
        plan.benefits_for(2026)


def test_every_program_kind_is_used_by_a_primary_care_practice_with_some_payer(region):
    ref = region.reference
    used = {c.program.kind for c in ref.contracts if ref.practice[c.practice_id].is_primary_care}
    assert used == set(ProgramKind)


def test_aligned_payers_share_a_practices_program_and_medicare_ffs_never_fully_capitates(region):
    ref = region.reference
    by_practice: dict[str, dict[str, ProgramKind]] = {}
    for c in ref.contracts:
        by_practice.setdefault(c.practice_id, {})[ref.payer[c.payer_id].lob.value] = c.program.kind
    for practice_id, programs in by_practice.items():
        assert programs["medicare_ffs"] is not ProgramKind.FULL_CAP
        if not ref.practice[practice_id].is_primary_care:
            assert set(programs.values()) == {ProgramKind.FFS}
        elif programs["medicaid"] is not ProgramKind.FULL_CAP:
            assert len(set(programs.values())) == 1, (practice_id, programs)
    t2 = [c for c in ref.contracts if c.program.kind is ProgramKind.CPCP_T2]
    assert t2 and all(c.program.hybrid_bp == 4000 for c in t2)


def test_practices_have_role_matched_clinicians_and_primary_care_has_panel_capacity(region):
    ref = region.reference
    kinds = {p.kind for p in ref.practices}
    assert kinds == set(PracticeKind)
    npis = [c.npi for p in ref.practices for c in p.clinicians]
    assert len(npis) == len(set(npis))
    for p in ref.practices:
        assert len(p.clinicians) >= 2
        if p.is_primary_care:
            assert p.panel_capacity > 0
            assert all(c.role is ClinicianRole.PRIMARY_CARE for c in p.clinicians)
        else:
            assert p.panel_capacity == 0
            assert all(c.role is not ClinicianRole.PRIMARY_CARE for c in p.clinicians)
    # Every practice has a contract with every payer from the start of the run.
    assert len(ref.contracts) == len(ref.practices) * len(ref.payers)
    assert all(c.start == dt.date(2025, 1, 1) and c.end is None for c in ref.contracts)


def test_practice_counts_scale_with_members_and_capacity_is_near_the_fair_share():
    small, large = build_region(SimConfig(members=500)), build_region(SimConfig(members=50_000))
    pc_small = [p for p in small.reference.practices if p.is_primary_care]
    pc_large = [p for p in large.reference.practices if p.is_primary_care]
    assert len(pc_small) == 8  # at least one practice per program kind
    assert len(pc_large) == 40  # 50 000 / 1 250 members each
    total = sum(p.panel_capacity for p in pc_large)
    assert 0.85 * 50_000 <= total <= 1.3 * 50_000


def test_same_seed_same_region_and_reference_digest():
    assert build_region(SimConfig(seed=4)).reference.digest() == build_region(
        SimConfig(seed=4)).reference.digest()
    assert build_region(SimConfig(seed=4)).reference.digest() != build_region(
        SimConfig(seed=5)).reference.digest()


def test_service_years_without_figures_are_a_clear_user_error():
    with pytest.raises(UserError, match=r"service years \[2027\]"):
        build_region(SimConfig(start=dt.date(2026, 7, 1), months=12))


def test_config_rejects_unknown_keys_and_mid_month_starts():
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="extra"):
        SimConfig.model_validate({"members": 10, "memebrs": 5})
    with pytest.raises(ValidationError, match="first day of a month"):
        SimConfig(start=dt.date(2025, 1, 15))


def test_a_practice_named_in_program_by_tin_takes_that_program_instead_of_the_cycle():
    config = SimConfig(members=10_000, region={"program_cycle": ["ffs"],
                                                "program_by_tin": {"PC002": "pcf"}})
    ref = build_region(config).reference
    programs = {c.practice_id: c.program.kind for c in ref.contracts
                if ref.practice[c.practice_id].is_primary_care}
    assert programs["PC002"] is ProgramKind.PCF
    assert {k for p, k in programs.items() if p != "PC002"} == {ProgramKind.FFS}
