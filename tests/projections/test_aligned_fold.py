"""The aligned-payer fold's per-line work (`fold.aligned.AlignedFold`) on hand-built envelopes, every
figure by hand: a claim's lines on several service dates each fall in their own year and under the
contract in force on their own day; the service, place and provider tests the fold looks up are
`line_criteria`'s and `site_of`'s (DOMAIN.md §9: all three must hold); a submitted claim's
diagnoses count per member x service year."""

from __future__ import annotations

from typing import Any

from claimsim.events.codes import PROCEDURE_GROUPS
from claimsim.events.programs import ProgramKind, ProgramSettings

from claimsim.adjudication.projections.aligned_facts import (SITE_PLACE, SITE_PROVIDER,
                                                             line_criteria, site_of)
from claimsim.adjudication.projections.fold.aligned import AlignedFold
from claimsim.adjudication.projections.primary_care_spend import SpendSettings

from ..fixtures.projections import PAYER, reference

CPC2 = ProgramSettings(kind=ProgramKind.CPCP_T2)


def _fold(ref) -> AlignedFold:
    s = SpendSettings()
    return AlignedFold(ref, s.services, s.places)


def _line(day: str, code: str, paid: int, cost_share: int = 0, member: str = "M1") -> dict[str, Any]:
    return {"member_id": member, "service_date": day, "procedure": code, "plan_paid": paid,
            "cost_share": cost_share, "status": "paid"}


def _claim(fold: AlignedFold, seq: int, practice: str, npi: str, pos: str, lines: list[dict]) -> None:
    """A submitted claim (input seq `seq`) and its adjudication, which names it as its cause."""
    cid = f"C{seq}"
    fold.apply({"type": "claim.submitted", "seq": seq, "data": {"claim": {
        "claim_id": cid, "member_id": "M1", "rendering_npi": npi, "place_of_service": pos,
        "lines": [{"service_date": ln["service_date"], "procedure": ln["procedure"]} for ln in lines]}}})
    fold.apply({"type": "claim.adjudicated", "cause": seq, "data": {
        "claim_id": cid, "payer_id": PAYER, "practice_id": practice, "reversed_lines": [],
        "lines": lines}})


def test_a_claims_lines_on_several_dates_fall_in_their_own_year_and_contract():
    # P1's CPC+ Track 2 contract starts 2025-07-01: the day before is FFS, the day itself is not.
    fold = _fold(reference({"P1": CPC2}, start="2025-07-01"))
    _claim(fold, 0, "P1", "N1", "11", [
        _line("2025-06-30", "99213", 1_000),
        _line("2025-07-01", "99213", 2_000),
        _line("2025-06-30", "71046", 500),  # imaging: not a primary-care service
        _line("2024-12-31", "99213", 300, cost_share=100),
    ])
    f = fold.facts
    # S_* rows: paid, allowed (paid + cost share), primary-care paid, primary-care allowed
    assert f.spend == {f"{PAYER}|2025": [3_500, 3_500, 3_000, 3_000],
                       f"{PAYER}|2024": [300, 400, 300, 400]}
    assert f.contract_paid == {f"{PAYER}|P1|2025|ffs": 1_500, f"{PAYER}|P1|2025|cpcplus_t2": 2_000,
                               f"{PAYER}|P1|2024|ffs": 300}
    assert f.practice_ffs == {f"{PAYER}|P1|2025": 3_500, f"{PAYER}|P1|2024": 300}
    # the member's run totals: the four sums over both years, then the cost share owed
    assert f.member_totals["M1"].tolist() == [3_800, 3_900, 3_300, 3_400, 100]


def test_the_fold_counts_a_line_as_primary_care_exactly_when_line_criteria_says_so():
    ref, services = reference({"P1": CPC2}), SpendSettings().services
    codes = [*PROCEDURE_GROUPS, "00000"]  # every procedure the groups know, and one they do not
    for site, (npi, pos) in enumerate([("S9", "22"), ("S9", "11"), ("N1", "22"), ("N1", "11")]):
        assert site_of(npi, pos, ref, SpendSettings().places) == site  # SITE_PLACE | SITE_PROVIDER
        fold = _fold(ref)
        # one 100-cent line per code, the code's own member: its primary-care paid is 100 or 0
        _claim(fold, 0, "P1", npi, pos, [_line("2025-03-01", code, 100, member=code) for code in codes])
        counted = {code for code in codes if fold.facts.member_totals[code][2] == 100}
        assert counted == {code for code in codes
                           if line_criteria({"procedure": code}, site, services).primary_care}
        assert fold.facts.spend[f"{PAYER}|2025"][2] == 100 * len(counted)
    assert "99213" in counted and "71046" not in counted  # at the last site (both bits)


def test_a_claims_site_is_site_of_for_every_npi_and_place_even_malformed():
    ref, places = reference({"P1": CPC2}), SpendSettings().places
    fold, cases = _fold(ref), []
    for npi in [*ref.clinician, "unknown", None, 1234]:
        for pos in ("11", "02", "22", "", None, 11):
            cases.append((npi, pos))
            fold.apply({"type": "claim.submitted", "seq": len(cases) - 1, "data": {"claim": {
                "claim_id": f"C{len(cases)}", "rendering_npi": npi, "place_of_service": pos}}})
    sites = [fold.facts.site_by_seq[i] - 1 for i in range(len(cases))]
    assert sites == [site_of(npi, pos, ref, places) for npi, pos in cases]
    assert sites[:2] == [SITE_PLACE | SITE_PROVIDER, SITE_PLACE | SITE_PROVIDER]  # N1 at 11, 02
    assert {s for s in sites} == {0, SITE_PLACE, SITE_PROVIDER, SITE_PLACE | SITE_PROVIDER}


def test_a_submitted_claims_diagnoses_count_per_service_year_repeated_or_not():
    fold = _fold(reference())
    fold.apply({"type": "claim.submitted", "seq": 0, "data": {"claim": {
        "claim_id": "C1", "member_id": "M1", "rendering_npi": "N1", "place_of_service": "11",
        "lines": [{"service_date": "2025-12-30", "diagnoses": ["E11.9", "I10"]},
                  {"service_date": "2025-12-30", "diagnoses": ["E11.9", "I10"]},  # the same again
                  {"service_date": "2026-01-02", "diagnoses": ["E11.9", "I10"]},  # another year
                  {"service_date": "2025-12-31", "diagnoses": ["J44.9", 7, "Z00.00"]},
                  {"service_date": None, "diagnoses": ["I10"]},  # no date: no year to count in
                  "not a line"]}}})
    assert fold.facts.diagnoses == {"M1|2025": {"diabetes", "hypertension", "copd"},
                                    "M1|2026": {"diabetes", "hypertension"}}
