"""HbA1c tests for members with diabetes (DOMAIN.md §9's claims-based quality measure): opt-in,
for scenarios that score quality from claims. Each month, each enrolled member whose true
conditions include diabetes has a point-of-care HbA1c at their true PCP with chance
`quality.hba1c_monthly_bp`: one claim with the test (83037) and a CPT II result code
(3044F below 7 %, 3045F 7-9 %, 3046F above 9 %), both carrying the member's diabetes diagnosis.

With the chance at 0 (the default) nothing is drawn and nothing is queued, so default runs keep
their input bytes; the draws come from their own stream ("hba1c", month), so turning tests on
shifts no other draw.

Choices where DOMAIN.md is silent:
- The rate: 1,900 bp a month (`HBA1C_MONTHLY_BP_FOR_CLAIMS`, what a scenario with
  `clock.projections.quality_source = "claims"` gets unless it sets its own) is about 2.3 tests
  a year (ADA's standards: at least twice a year when at goal, quarterly otherwise) and leaves
  1 - 0.81^12 = 92 % of members with diabetes enrolled all year tested at least once, near the
  HEDIS HbA1c testing rates of about 90 % before NCQA retired that indicator.
- Result bands: 50 % below 7 %, 35 % from 7 to 9 %, 15 % above 9 % (roughly the control NHANES
  reports for U.S. adults with diagnosed diabetes). The measure counts any of them.
- The test is point-of-care (83037, paid at 83036's rate since 2008) at the PCP's office; labs
  the visits order (83036 among them) still happen as before and count too.
"""

from __future__ import annotations

import random
from math import log

from claimsim.events.codes import CONDITION_ICD10, Condition
from claimsim.simulator.claims import ClaimBuilder
from claimsim.simulator.population import Population
from claimsim.simulator.streams import py_stream
from claimsim.simulator.submission import PRIORITY_CLAIM, SubmissionQueue

HBA1C_TEST = "83037"
RESULT_CODES = (("3044F", 0.50), ("3045F", 0.85), ("3046F", 1.0))  # cumulative shares
HBA1C_MONTHLY_BP_FOR_CLAIMS = 1900
DIABETES = Condition.DIABETES.value
DIABETES_ICD10 = frozenset(CONDITION_ICD10[Condition.DIABETES])


def _result(u: float) -> str:
    for code, upto in RESULT_CODES:
        if u < upto:
            return code
    return RESULT_CODES[-1][0]


class HbA1cTests:
    """Queues a month's HbA1c test claims (`month`); built once per run."""

    def __init__(self, seed: int, monthly_bp: int, pop: Population, builder: ClaimBuilder,
                 npis: list[tuple[str, ...]], queue: SubmissionQueue):
        self.seed, self.chance = seed, monthly_bp / 10_000
        self.pop, self.builder, self.npis, self.queue = pop, builder, npis, queue

    def month(self, index: int, first_day: int, ndays: int) -> int:
        """Queue the tests of month `index` (days first_day .. first_day + ndays - 1); how many."""
        if self.chance <= 0:
            return 0
        rng: random.Random = py_stream(self.seed, "hba1c", index)
        pop, b = self.pop, self.builder
        month = b.iso[first_day][:7].replace("-", "")
        n = 0
        for m in range(len(pop.member_id)):
            if not pop.active[m] or DIABETES not in pop.conditions[m]:
                continue
            u_test, u_day, u_result, u_lag = rng.random(), rng.random(), rng.random(), rng.random()
            if u_test >= self.chance:
                continue
            day = first_day + int(u_day * ndays)
            practice = pop.pcp[m]
            npis = self.npis[practice]
            coded = [c for c in pop.dx[m] if c in DIABETES_ICD10]
            dx = tuple(coded[:1]) or (CONDITION_ICD10[Condition.DIABETES][0],)
            lines = [b.line(1, practice, day, HBA1C_TEST, dx),
                     b.line(2, practice, day, _result(u_result), dx)]
            lo, mean, hi = b.lag[practice]
            received = day + min(hi, lo + int(-mean * log(1.0 - u_lag)))
            sub = pop.subscriber_id[m]
            claim = b.claim(f"Q{month}-{str(n).zfill(6)}", pop.member_id[m], sub,
                            pop.payer_id[m], practice, npis[m % len(npis)], received, lines)
            n += self.queue.push(received, PRIORITY_CLAIM, b.event(claim, received, sub))
        return n
