"""Claims-based quality measures (DOMAIN.md §9), computed from the ledger's lines and the claims'
diagnoses: the annual wellness visit rate among Medicare members, and HbA1c testing among members
with diabetes. Two uses:

- the score PBIP retention and the PCF performance adjustment read when the projection setting
  `quality_source` is "claims" (`practice_quality`, `score_for_year`, `score_before`): per practice,
  over its attributed members, from the `PayerState` fold, so `audit replay` recomputes it;
- the aligned-payer report (`quality_rows`): per payer x year and per practice x year, from
  `AlignedFacts`, whatever the setting.

Choices where DOMAIN.md is silent (the score):
- A practice's members are those attributed to it and eligible on the period's last day (PBIP: the
  performance year's 31 December; PCF: the boundary, as for its leakage rate), with every payer
  (`claims_quality_scope = "practice"`, the default: CPC+ and PCF measure quality per practice
  across its patients, and one payer's panel is often too small to measure; every aligned payer
  then pays on the same score) or with the paying payer only (`"payer"`). AWV counts among those
  whose payer is Medicare FFS or Medicare Advantage; HbA1c testing among those whose claims
  serviced in the period carried a diabetes diagnosis. The AWV or test may be at any practice, in
  force and not denied, whatever it paid (`fold.quality`).
- Periods: PBIP, the calendar performance year, settled at reconciliation; PCF, the
  `quality_lookback_months` (default 12) before each quarterly boundary, as its leakage rate.
- Score = the weighted mean (`claims_quality_weights_bp`, default 50/50) of the rates whose
  denominator has at least `claims_quality_min_members` (default 20) members, rounded half-up to
  a basis point; no such rate: no score, treated as a missing report (PBIP recouped, PCF
  adjustment 0). The score then goes through the same map as a reported one
  (`pbip_quality_threshold_bp` or `pbip_retained_map`, `pcf_performance_map`).

Choices where DOMAIN.md is silent (the report):
- Denominators: members enrolled with the payer on any day of the year (Medicare: the Medicare FFS
  and Medicare Advantage lines of business); diabetes = a diabetes diagnosis on any of the member's
  claims serviced that year. A line counts when it is in force (net of reversals) and not denied,
  whatever it paid: a test inside the deductible, or a $0 CPT II result code, is still a test (the
  score's rule, `fold.quality`).
- A practice's rate reads the members attributed to it on the year's last covered day `as_of`.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, NamedTuple

from claimsim.events.calendar import add_months
from claimsim.events.codes import AWV_CODES, HBA1C_CODES, Condition
from claimsim.events.money import div_round_half_up
from claimsim.events.plans import LineOfBusiness

from claimsim.adjudication.projections.aligned_facts import AlignedFacts, MemberFacts
from claimsim.adjudication.projections.fold.claims import V_AWV, V_DAY
from claimsim.adjudication.projections.fold.quality import diabetic_between, tested_between
from claimsim.adjudication.projections.primary_care_spend import share_bp

if TYPE_CHECKING:
    from claimsim.adjudication.projections.settings import ProjectionSettings
    from claimsim.adjudication.projections.state import PayerState

MEDICARE = frozenset({LineOfBusiness.MEDICARE_FFS.value, LineOfBusiness.MEDICARE_ADVANTAGE.value})
AWV = frozenset(AWV_CODES)


def enrolled_in(member: MemberFacts, year: int) -> bool:
    first, last = f"{year}-01-01", f"{year}-12-31"
    return any(start <= last and (end is None or end >= first) for start, end in member.spans)


def member_measures(facts: AlignedFacts, lob_of: dict[str, str],
                    year: int) -> dict[str, tuple[int, int, int, int]]:
    """member -> (in AWV denominator, had AWV, in HbA1c denominator, had HbA1c test), 0/1 each."""
    out = {}
    for mid, m in sorted(facts.members.items()):
        if not enrolled_in(m, year):
            continue
        done = {code for code, n in facts.procedures.get(f"{mid}|{year}", {}).items() if n > 0}
        medicare = lob_of.get(m.payer) in MEDICARE
        diabetic = Condition.DIABETES.value in facts.diagnoses.get(f"{mid}|{year}", set())
        out[mid] = (int(medicare), int(medicare and bool(done & AWV)),
                    int(diabetic), int(diabetic and bool(done & HBA1C_CODES)))
    return out


def _row(key: dict[str, Any], sums: list[int]) -> dict[str, Any]:
    return {**key, "medicare_members": sums[0], "awv_members": sums[1],
            "awv_rate_bp": share_bp(sums[1], sums[0]), "diabetic_members": sums[2],
            "hba1c_tested": sums[3], "hba1c_rate_bp": share_bp(sums[3], sums[2])}


def quality_rows(facts: AlignedFacts, lob_of: dict[str, str], years: list[int],
                 attributed: dict[str, str | None] | None = None) -> list[dict[str, Any]]:
    """Per payer x year; with `attributed` (member -> practice on `as_of`), also per practice."""
    rows = []
    for year in years:
        by_payer: dict[str, list[int]] = {}
        by_practice: dict[tuple[str, str], list[int]] = {}
        for mid, values in member_measures(facts, lob_of, year).items():
            payer = facts.members[mid].payer
            for target in [by_payer.setdefault(payer, [0] * 4)] + (
                    [by_practice.setdefault((payer, attributed[mid]), [0] * 4)]
                    if attributed and attributed.get(mid) else []):
                for i, v in enumerate(values):
                    target[i] += v
        rows += [_row({"payer_id": p, "practice_id": "", "year": year}, s)
                 for p, s in sorted(by_payer.items())]
        rows += [_row({"payer_id": p, "practice_id": pr, "year": year}, s)
                 for (p, pr), s in sorted(by_practice.items())]
    return rows


# -- the score PBIP and the PCF performance adjustment read -------------------------------------
class PracticeQuality(NamedTuple):
    """One practice's claims-based measures over a period, and the score they give."""

    first: str  # the period, ISO dates inclusive
    last: str
    medicare_members: int
    awv_members: int
    diabetic_members: int
    hba1c_tested: int
    score_bp: int | None  # None: no rate had enough members

    @property
    def awv_rate_bp(self) -> int:
        return share_bp(self.awv_members, self.medicare_members)

    @property
    def hba1c_rate_bp(self) -> int:
        return share_bp(self.hba1c_tested, self.diabetic_members)

    def detail(self) -> dict[str, Any]:
        """What a payment's basis records, so an auditor sees the score's arithmetic."""
        return {"quality_source": "claims", "quality_period": f"{self.first}..{self.last}",
                "medicare_members": self.medicare_members, "awv_members": self.awv_members,
                "awv_rate_bp": self.awv_rate_bp, "diabetic_members": self.diabetic_members,
                "hba1c_tested": self.hba1c_tested, "hba1c_rate_bp": self.hba1c_rate_bp}


def claims_score(settings: ProjectionSettings, medicare: int, awv_rate: int, diabetic: int,
                 hba1c_rate: int) -> int | None:
    """The weighted mean of the rates with enough members (None when neither has)."""
    w_awv, w_hba1c = settings.claims_quality_weights_bp
    least = settings.claims_quality_min_members
    rates = ((w_awv, medicare, awv_rate), (w_hba1c, diabetic, hba1c_rate))
    parts = [(w, rate) for w, n, rate in rates if w > 0 and n >= least]
    if not parts:
        return None
    return div_round_half_up(sum(w * rate for w, rate in parts), sum(w for w, _ in parts))


def had_awv(state: PayerState, member: str, first: str, last: str) -> bool:
    """An AWV/IPPE line in force, not denied, serviced from `first` to `last`, at any practice."""
    return sum(row[V_AWV] for row in state.visits.get(member, ())
               if first <= row[V_DAY] <= last) > 0


def practice_quality(state: PayerState, members: list[tuple[str, str]], first: str,
                     last: str) -> PracticeQuality:
    """The measures over `members` ((member, payer) pairs: a practice's attributed members) from
    `first` to `last`."""
    medicare = {p.payer_id for p in state.reference.payers if p.lob.value in MEDICARE}
    n_medicare = n_awv = n_diabetic = n_tested = 0
    for mid, payer in members:
        if payer in medicare:
            n_medicare += 1
            n_awv += had_awv(state, mid, first, last)
        if diabetic_between(state, mid, first, last):
            n_diabetic += 1
            n_tested += tested_between(state, mid, first, last)
    score = claims_score(state.settings, n_medicare, share_bp(n_awv, n_medicare), n_diabetic,
                         share_bp(n_tested, n_diabetic))
    return PracticeQuality(first, last, n_medicare, n_awv, n_diabetic, n_tested, score)


def members_on(state: PayerState, payer: str, practice: str, day: str) -> list[tuple[str, str]]:
    """(member, payer) of the members attributed to the practice and eligible on an ISO day: the
    payer's, or every payer's under `claims_quality_scope = "practice"`; by payer, then id."""
    payers = ([p.payer_id for p in sorted(state.reference.payers, key=lambda p: p.payer_id)]
              if state.settings.claims_quality_scope == "practice" else [payer])
    return [(m, p) for p in payers for m in state.payer_members(p)
            if state.attributed_on(m, day) == practice and state.eligible_on(m, p, day)]


def score_for_year(state: PayerState, payer: str, practice: str, year: int) -> PracticeQuality:
    """PBIP: the performance year, over the members attributed on its last day."""
    last = f"{year}-12-31"
    return practice_quality(state, members_on(state, payer, practice, last), f"{year}-01-01", last)


def score_before(state: PayerState, payer: str, practice: str, as_of: str) -> PracticeQuality:
    """PCF: the lookback before a boundary, over the members attributed on it."""
    first = add_months(as_of, -state.settings.quality_lookback_months)
    last = (_date(as_of) - _ONE_DAY).isoformat()
    return practice_quality(state, members_on(state, payer, practice, as_of), first, last)


def pbip_retained_bp(settings: ProjectionSettings, score: int | None) -> int:
    """The share of PBIP a practice keeps for its score: by `pbip_retained_map` when set, else in
    full at `pbip_quality_threshold_bp` and none below it; none without a score."""
    if score is None:
        return 0
    if not settings.pbip_retained_map:
        return 10_000 if score >= settings.pbip_quality_threshold_bp else 0
    retained = 0
    for threshold, share in settings.pbip_retained_map:
        if score >= threshold:
            retained = share
    return retained


MEASURE_KEYS = ("quality_period", "medicare_members", "awv_members", "awv_rate_bp",
                "diabetic_members", "hba1c_tested", "hba1c_rate_bp")


# `score_rows`' columns, in order (the header of a run's table with no scores: a run whose
# boundaries scored no PCF practice and paid no claims-based PBIP).
SCORE_COLUMNS = ("payer_id", "practice_id", "use", *MEASURE_KEYS, "score_bp", "performance_bp",
                 "pbip_paid", "pbip_kept")


def score_rows(facts: AlignedFacts, reconciled: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The claims-based scores a run paid on: each PCF boundary's (from the PBP payments' basis)
    and each PBIP performance year's (from the reconciliation rows), with what each score did."""
    rows = []
    for key, b in sorted(facts.pcf_scores.items()):
        payer, practice, _ = key.split("|")
        rows.append({"payer_id": payer, "practice_id": practice, "use": "pcf_performance",
                     **{k: b[k] for k in MEASURE_KEYS}, "score_bp": b["quality_bp"],
                     "performance_bp": b["performance_bp"], "pbip_paid": None, "pbip_kept": None})
    for r in reconciled:
        if r.get("quality_source") == "claims" and r["pbip_paid"]:
            rows.append({"payer_id": r["payer_id"], "practice_id": r["practice_id"], "use": "pbip",
                         **{k: r[k] for k in MEASURE_KEYS}, "score_bp": r["quality_bp"],
                         "performance_bp": None, "pbip_paid": r["pbip_paid"],
                         "pbip_kept": r["pbip_kept"]})
    return rows


_ONE_DAY = dt.timedelta(days=1)


def _date(day: str) -> dt.date:
    return dt.date.fromisoformat(day)
