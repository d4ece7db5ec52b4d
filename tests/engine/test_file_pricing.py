"""A run priced from its claims file (`ReferenceData.price_from_file`): each line's allowed, plan
paid and cost-share split come from `file_amounts`, with the payment model on top
(adjudication/engine/file_pricing.py). The fixtures' plan ($500 deductible, 20 %) and fee
schedule (99213 $100) would give other figures, which is how each test shows the file won."""

from __future__ import annotations

from pathlib import Path

import orjson

from ..fixtures.adjudication import (
    Harness, adjustment_codes, contract, line, only_line, parts, plan, reference,
)
from claimsim.adjudication.engine.file_pricing import FileAmounts, file_cost_share
from claimsim.events.programs import CostShareBasis, ProgramKind
from claimsim.events.reference import ReferenceData


def priced(code: str, billed: int, allowed: int, paid: int, ded: int = 0, coins: int = 0,
           copay: int = 0, **kw) -> dict:
    return {**line(code, billed, **kw), "file_amounts": {
        "allowed": allowed, "plan_paid": paid, "deductible": ded, "coinsurance": coins,
        "copay": copay}}


def _harness(*contracts, fee_years=(2025, 2026), start="2025-01-01") -> Harness:
    ref = reference([plan()], list(contracts), fee_years=fee_years)
    h = Harness(ref.model_copy(update={"price_from_file": True}))
    h.enroll("M1", start=start)
    return h


def _program(kind: ProgramKind, **settings) -> Harness:
    h = _harness(contract(kind, **settings))
    h.attribute("M1", "PCP1")
    return h


def test_ffs_line_takes_the_files_allowed_paid_and_split_not_the_fee_schedule():
    """99213 billed $150; the file allowed $90.00 = paid 6400 + deductible 1000 + coinsurance
    1600. (Re-priced it would be allowed 10000, all of it deductible.) CO-45 = 15000 - 9000."""
    h = _harness()
    ln = only_line(h.claim("C1", "M1", [priced("99213", 15_000, 9_000, 6_400, 1_000, 1_600)]))
    assert parts(ln) == (9_000, 6_400, 2_600, 0, 0)
    assert (ln["deductible"], ln["coinsurance"], ln["copay"]) == (1_000, 1_600, 0)
    assert adjustment_codes(ln) == [("CO", "45", 6_000), ("PR", "1", 1_000), ("PR", "2", 1_600)]
    acc = h.accumulators("M1")
    assert (acc["family_deductible"], acc["family_oop"]) == (1_000, 2_600)


def test_a_year_without_fee_schedule_or_plan_figures_is_paid_as_the_file_says():
    """Service 2021-03-01: the plan and schedule have 2025-2026 only. Priced from the file it is
    paid (allowed 7400 = 5920 + coinsurance 1480); re-priced it is rejected unsupported_year."""
    h = _harness(start="2021-01-01")
    ln = only_line(h.claim("C1", "M1", [priced("99213", 12_000, 7_400, 5_920, coins=1_480,
                                               day="2021-03-01")], received="2021-03-10"))
    assert parts(ln) == (7_400, 5_920, 1_480, 0, 0)
    repriced = Harness(reference([plan()]))
    repriced.enroll("M1", start="2021-01-01")
    event = repriced.claim("C1", "M1", [line("99213", 12_000, day="2021-03-01")], received="2021-03-10")
    assert (event["type"], event["data"]["reason"]) == ("claim.rejected", "unsupported_year")


def test_hybrid_offset_under_basis_full_is_taken_from_the_files_paid():
    """CPC+ Track 2, h = 40 %, basis full. File: allowed 9999, coinsurance 2000, paid 7999.
    C = 2000 as given; O = 40 % x (9999 - 2000) = 3199.6 -> 3200; P = 9999 - 2000 - 3200 = 4799."""
    h = _program(ProgramKind.CPCP_T2)
    ln = only_line(h.claim("C1", "M1", [priced("99213", 9_999, 9_999, 7_999, coins=2_000)]))
    assert parts(ln) == (9_999, 4_799, 2_000, 3_200, 0)
    assert (ln["program"], ln["attributed"], ln["capitated"]) == ("cpcplus_t2", True, True)


def test_basis_reduced_scales_the_files_coinsurance_to_the_reduced_allowed():
    """Basis reduced: allowed' = 9999 - 40 % x 9999 (3999.6 -> 4000) = 5999; coinsurance
    2000 x 5999 / 9999 = 1199.9 -> 1200; O = 9999 - 5999 = 4000; P = 5999 - 1200 = 4799."""
    h = _program(ProgramKind.CPCP_T2, cost_share_basis=CostShareBasis.REDUCED)
    ln = only_line(h.claim("C1", "M1", [priced("99213", 9_999, 9_999, 7_999, coins=2_000)]))
    assert parts(ln) == (9_999, 4_799, 1_200, 4_000, 0)


def test_pcf_flat_fee_replaces_the_files_allowed_and_keeps_it_as_shadow():
    """PCF flat fee $40.82; 99214 billed $150, file allowed 12000.
    - coinsurance 2400 (paid 9600): 2400 x 4082 / 12000 = 816.4 -> 816; P = 4082 - 816 = 3266.
    - copay 2500 (paid 9500): a dollar amount, kept: P = 4082 - 2500 = 1582.
    - deductible 12000 (paid 0): capped at the flat allowed: C = 4082, P = 0."""
    h = _program(ProgramKind.PCF)
    coins = only_line(h.claim("C1", "M1", [priced("99214", 15_000, 12_000, 9_600, coins=2_400)]))
    assert parts(coins) == (4_082, 3_266, 816, 0, 0)
    assert coins["shadow_allowed"] == 12_000
    assert adjustment_codes(coins) == [("CO", "45", 10_918), ("PR", "2", 816)]
    copay = only_line(h.claim("C2", "M1", [priced("99214", 15_000, 12_000, 9_500, copay=2_500,
                                                  day="2025-03-02")]))
    assert parts(copay) == (4_082, 1_582, 2_500, 0, 0)
    ded = only_line(h.claim("C3", "M1", [priced("99214", 15_000, 12_000, 0, ded=12_000,
                                                day="2025-03-03")]))
    assert parts(ded) == (4_082, 0, 4_082, 0, 0) and ded["deductible"] == 4_082


def test_full_capitation_makes_a_shadow_line_of_the_files_pricing():
    """MCP Track 3 (h = 100 %), basis full: file allowed 10000, coinsurance 2000:
    O = 10000 - 2000 = 8000, P = 0, status shadow, shadow_allowed 10000."""
    h = _program(ProgramKind.MCP_T3)
    ln = only_line(h.claim("C1", "M1", [priced("99213", 10_000, 10_000, 8_000, coins=2_000)]))
    assert parts(ln) == (10_000, 0, 2_000, 8_000, 0)
    assert (ln["status"], ln["shadow_allowed"]) == ("shadow", 10_000)


def test_program_denial_duplicates_and_voids_still_apply():
    """CPC+ denies its attributed member's CCM (99490) CO-96 N20 whatever the file paid; the
    same 99213 line again is OA-18; a void reverses the accumulators to zero."""
    h = _program(ProgramKind.CPCP_T2)
    ccm = only_line(h.claim("C1", "M1", [priced("99490", 6_000, 6_000, 4_800, coins=1_200)]))
    assert (ccm["status"], ccm["allowed"], ccm["remarks"]) == ("denied", 0, ["N20"])
    h2 = _harness()
    h2.claim("C1", "M1", [priced("36415", 500, 300, 240, coins=60)])
    dup = only_line(h2.claim("C2", "M1", [priced("36415", 500, 300, 240, coins=60)]))
    assert adjustment_codes(dup) == [("OA", "18", 500)]
    assert h2.claim("C3", "M1", [], frequency="8", original="C1")["type"] == "claim.reversed"
    acc = h2.accumulators("M1")
    assert (acc["family_deductible"], acc["family_oop"]) == (0, 0)


def test_missing_or_inconsistent_file_amounts_reject_the_claim_naming_the_field():
    h = _harness()
    cases = {
        "C1": (line("99213", 9_000), "missing_field", "lines.0.file_amounts"),
        "C2": (priced("99213", 9_000, 9_000, 7_000, coins=1_000), "malformed",
               "lines.0.file_amounts.plan_paid"),  # 7000 + 1000 != 9000
        "C3": (priced("99213", 9_000, 9_500, 9_500), "malformed", "lines.0.file_amounts.allowed"),
        "C4": (priced("99213", 9_000, 9_000, 9_100, coins=-100), "negative_amount",
               "lines.0.file_amounts.coinsurance"),
        "C5": (priced("99213", 9_000, 90.0, 90), "malformed", "lines.0.file_amounts.allowed"),
    }
    for claim_id, (ln, reason, field) in cases.items():
        event = h.claim(claim_id, "M1", [ln])
        assert (event["type"], event["data"]["reason"], event["data"]["field"]) == (
            "claim.rejected", reason, field), claim_id


def test_file_cost_share_is_the_split_as_given_when_the_base_is_the_files_allowed():
    given = FileAmounts(allowed=10_000, plan_paid=6_500, deductible=1_000, coinsurance=1_500, copay=1_000)
    assert file_cost_share(given, 10_000) == (1_000, 1_500, 1_000)
    # base 2500: copay 1000; deductible min(1000, 1500) = 1000; coinsurance 1500 x 2500 / 10000
    # = 375, capped at 2500 - 2000 = 500: 375.
    assert file_cost_share(given, 2_500) == (1_000, 375, 1_000)
    # base 1500: copay 1000, deductible min(1000, 500) = 500, coinsurance 225 capped at 0.
    assert file_cost_share(given, 1_500) == (500, 0, 1_000)


def test_the_setting_is_written_only_when_on_so_other_reference_digests_do_not_move(tmp_path: Path):
    ref = reference()
    assert b"price_from_file" not in ref.to_bytes()
    on = ref.model_copy(update={"price_from_file": True})
    assert orjson.loads(on.to_bytes())["price_from_file"] is True
    on.save(tmp_path)
    assert ReferenceData.load(tmp_path).price_from_file is True
    assert on.digest() != ref.digest()
