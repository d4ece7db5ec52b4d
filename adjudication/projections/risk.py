"""Observed risk (DOMAIN.md §4): an HCC-style score per member from the diagnoses on the member's
claims in the prior 12 months, the CPC+ risk tiers drawn from it, and PCF practice risk groups.

Scores are integer thousandths (1.000 = 1000), normalised to a mean of 1000 over the payer's
eligible members; the payer sees claims only, so these can differ from the simulator's truth.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from claimsim.events.codes import CONDITION_RISK_MILLI, Condition, demographic_risk_milli
from claimsim.events.money import BP_ONE, div_round_half_up

from claimsim.events.calendar import add_months

if TYPE_CHECKING:
    from claimsim.adjudication.projections.state import PayerState

_WEIGHT = {c.value: w for c, w in CONDITION_RISK_MILLI.items()}
DEMENTIA = Condition.DEMENTIA.value
COMPLEX_TIER = 5  # CPC+ Track 2's complex tier, after quartile tiers 1-4
# Positions in a member's risk facts, [risk x 1000, CPC tier, complex (0/1)] (`member_facts`).
FACT_RISK, FACT_TIER, FACT_COMPLEX = range(3)


def normalise(raw: dict[str, int]) -> dict[str, int]:
    """Scale so the mean is 1000: `raw × 1000 × n / Σ raw`, rounded once per member."""
    total = sum(raw.values())
    if not raw or total <= 0:
        return dict(raw)
    n = len(raw)
    # Most members share a few hundred raw scores: each distinct score is scaled once.
    scaled = {r: div_round_half_up(r * 1000 * n, total) for r in set(raw.values())}
    return {m: scaled[r] for m, r in raw.items()}


def _scored(state: PayerState, payer: str, as_of: str) -> tuple[dict[str, int], set[str]]:
    """(raw score, members with dementia in the window) of every member eligible on `as_of`.

    Runs for every member at every boundary: `events.calendar.age_on` is inlined (the year and
    month-day of `as_of` split once) and each member's demographic score is looked up per
    (age, sex) in a table built as it goes; `tests/projections/test_fold_fast_paths.py` keeps both
    equal to the functions they copy."""
    since = add_months(as_of, -state.settings.risk_lookback_months)
    raw: dict[str, int] = {}
    dementia: set[str] = set()
    dx_all, members, eligible_on, weight = state.dx, state.members, state.eligible_on, _WEIGHT
    year, month_day = int(as_of[:4]), as_of[5:10]
    demographic: dict[tuple[int, str], int] = {}
    for mid in state.payer_members(payer):
        if not eligible_on(mid, payer, as_of):
            continue
        m = members[mid]
        birth = m.birth
        key = (year - int(birth[:4]) - (month_day < birth[5:10]), m.sex)  # age_on, sex
        score = demographic.get(key)
        if score is None:
            score = demographic[key] = demographic_risk_milli(*key)
        for cond in dx_all.keys_between(mid, since, as_of):  # diagnosed last in the window
            score += weight[cond]
            if cond == DEMENTIA:
                dementia.add(mid)
        raw[mid] = score
    return raw, dementia


def observed_risk(state: PayerState, payer: str, as_of: str) -> dict[str, int]:
    """Normalised observed risk of every member eligible with the payer on `as_of`."""
    return normalise(_scored(state, payer, as_of)[0])


def cpc_tiers(risk: dict[str, int], dementia: set[str], top_bp: int) -> dict[str, tuple[int, bool]]:
    """CPC+ tiers: 1-4 by population quartile of risk; `complex` for the top `top_bp` share by
    risk and (if given) members with dementia.

    Members are ranked by (risk, member id) and the quartile is `1 + 4 × rank // n`, so each tier
    holds a quarter of the population even where many members share a score (most members with
    no claims do); the member id only orders equal scores, deterministically. The complex tier
    takes the top ⌈n × top⌉ ranks.
    """
    n = len(risk)
    ranked = [m for _, m in sorted(zip(risk.values(), risk))]  # by (risk, member id)
    n_top = -(-n * top_bp // BP_ONE)
    return {m: (1 + 4 * rank // n, rank >= n - n_top or m in dementia)
            for rank, m in enumerate(ranked)}


def member_facts(state: PayerState, payer: str, as_of: str) -> dict[str, list[int]]:
    """Per eligible member: [risk_milli, quartile tier 1-4, complex 0/1], as of a boundary.

    Computed by the fold at each `epoch.boundary`, so a payment for any month can be traced to
    (and recomputed from) the facts of the epoch it fell in.
    """
    s = state.settings
    raw, dementia = _scored(state, payer, as_of)
    risk = normalise(raw)
    tiers = cpc_tiers(risk, dementia if s.complex_dementia else set(), s.complex_top_bp)
    # Members share one list per distinct [risk, tier, complex] (read only): the fold keeps
    # every boundary's facts, and most members repeat a few hundred combinations.
    shared = _SHARED_FACTS
    out = {}
    for m in sorted(risk):
        tier, complex_ = tiers[m]
        key = (risk[m], tier, int(complex_))
        fact = shared.get(key)
        if fact is None:
            fact = list(key)
            if len(shared) < 100_000:
                shared[key] = fact
        out[m] = fact
    return out


_SHARED_FACTS: dict[tuple[int, int, int], list[int]] = {}


def cmf_tier(fact: list[int], track2: bool) -> int:
    """The CMF tier a member is paid at: complex (5) on Track 2; Track 1 has no complex tier."""
    return COMPLEX_TIER if (track2 and fact[FACT_COMPLEX]) else fact[FACT_TIER]


def pcf_risk_group(average_milli: int, bounds: tuple[int, ...]) -> int:
    """PCF practice risk group (1-based) from the practice's average observed risk."""
    return 1 + sum(1 for b in bounds if average_milli >= b)


def average_risk(facts: dict[str, list[int]], members: list[str]) -> int:
    scored = [facts[m][FACT_RISK] for m in members if m in facts]
    if not scored:
        return 1000
    return div_round_half_up(sum(scored), len(scored))


def risk_adjusted(amount: int, risk_milli: int, cap_milli: int) -> int:
    """A per-member amount times the member's score, capped (DOMAIN.md §4 "risk-adjusted")."""
    return div_round_half_up(amount * min(risk_milli, cap_milli), 1000)
