"""Observed risk worked examples (DOMAIN.md §4): HCC-style score from the prior 12 months'
diagnoses, normalised to mean 1.000; CPC+ tiers by quartile with the complex tier; PCF groups."""

from __future__ import annotations


from hypothesis import given, strategies as st

from claimsim.adjudication.projections.risk import (cpc_tiers, member_facts, normalise, observed_risk,
                                        pcf_risk_group, risk_adjusted)


from ..fixtures.projections import PAYER, Feed, reference


def test_observed_risk_from_diagnoses_in_the_prior_12_months_normalised_to_mean_one():
    """A and B are women of 70 on 2025-07-01 (base 0.420). A's claims: diabetes (E11.9, +0.166)
    on 2025-02-01, and CHF (I50.9) on 2024-05-01, before the 12-month window (from 2024-07-01),
    so raw A = 586, raw B = 420 (no claims: demographic base). Normalised over the two:
    A = 586 x 2000 / 1006 = 1165.01 -> 1165; B = 420 x 2000 / 1006 = 834.99 -> 835."""
    feed = Feed(reference())
    feed.enroll("A", birth="1955-03-01")
    feed.enroll("B", birth="1955-03-01")
    feed.visit("A", "P1", "2025-02-01", dx=("E11.9",))
    feed.visit("A", "P1", "2024-05-01", dx=("I50.9",))
    assert observed_risk(feed.state, PAYER, "2025-07-01") == {"A": 1165, "B": 835}


def test_diagnoses_on_rejected_claims_do_not_count():
    """A claim whose ledger entry is a rejection leaves no diagnosis behind: both members stay at
    the demographic base, 1000 each after normalising."""
    from claimsim.events.envelope import new_event
    from claimsim.events.input import ClaimSubmitted
    from claimsim.events.ledger import ClaimRejected

    feed = Feed(reference())
    feed.enroll("A")
    feed.enroll("B")
    seq = feed._input(ClaimSubmitted(claim={"claim_id": "X", "lines": [
        {"line_no": 1, "diagnoses": ["I50.9"]}]}), "2025-02-01", "A")
    feed.record([new_event(ClaimRejected(claim_id="X", reason="missing_field", field="member_id",
                                         carc="16", message="missing", raw="{}"),
                           at="2025-02-01", key="A", cause=seq)])
    assert observed_risk(feed.state, PAYER, "2025-07-01") == {"A": 1000, "B": 1000}
    assert feed.state.pending_dx == {}


def test_cpc_tiers_are_quartiles_with_a_complex_tier_for_the_top_ten_percent_and_dementia():
    """Eight members with risks 100..800: ranks 0-1 tier 1, 2-3 tier 2, 4-5 tier 3, 6-7 tier 4;
    complex: top ⌈8 x 10 %⌉ = 1 (risk 800) and m1 (dementia)."""
    risk = {f"m{i}": 100 * i for i in range(1, 9)}
    tiers = cpc_tiers(risk, {"m1"}, 1000)
    assert [tiers[f"m{i}"][0] for i in range(1, 9)] == [1, 1, 2, 2, 3, 3, 4, 4]
    assert sorted(m for m, (_, c) in tiers.items() if c) == ["m1", "m8"]


def test_member_facts_put_dementia_members_in_the_complex_tier():
    """Four members, one with dementia (F03.90) in the window: facts [risk, tier, complex]."""
    feed = Feed(reference())
    for m in ("M1", "M2", "M3", "M4"):
        feed.enroll(m)
    feed.visit("M1", "P1", "2025-03-01", dx=("F03.90",))
    facts = member_facts(feed.state, PAYER, "2025-07-01")
    assert facts["M1"][2] == 1 and facts["M1"][1] == 4  # highest risk: tier 4 and complex
    assert [facts[m][2] for m in ("M2", "M3")] == [0, 0]


def test_pcf_risk_groups_from_average_risk():
    bounds = (1000, 1200, 1500)
    assert [pcf_risk_group(r, bounds) for r in (999, 1000, 1199, 1200, 1500, 2500)] == [
        1, 2, 2, 3, 4, 4]


def test_risk_adjusted_payment_is_capped():
    """$10 ESP x 1.234 = 1234; x 3.5 capped at 3.0 = 3000."""
    assert risk_adjusted(1000, 1234, 3000) == 1234
    assert risk_adjusted(1000, 3500, 3000) == 3000


@given(st.dictionaries(st.text("abcdef", min_size=1, max_size=4), st.integers(1, 5000),
                       min_size=1, max_size=60))
def test_normalised_scores_average_one_within_rounding(raw):
    """Each member rounds once, so the mean is 1000 within half a unit per member."""
    scores = normalise(raw)
    assert abs(sum(scores.values()) - 1000 * len(raw)) <= len(raw) / 2 + 1e-9
    ordered = sorted(raw, key=raw.get)
    assert [scores[m] for m in ordered] == sorted(scores.values())


@given(st.dictionaries(st.text("abcdef", min_size=1, max_size=4), st.integers(0, 3000),
                       min_size=1, max_size=80))
def test_tiers_split_the_population_into_quartiles(risk):
    """Each tier holds n/4 members within one; tiers never decrease as risk rises."""
    tiers = cpc_tiers(risk, set(), 1000)
    n = len(risk)
    for t in (1, 2, 3, 4):
        size = sum(1 for v in tiers.values() if v[0] == t)
        assert abs(size - n / 4) <= 1
    by_rank = sorted(risk, key=lambda m: (risk[m], m))
    assert [tiers[m][0] for m in by_rank] == sorted(tiers[m][0] for m in by_rank)
