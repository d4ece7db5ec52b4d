"""Referrals from primary-care visits: necessary ones (specialist, imaging) and avoidable ones
(a lab, office procedure or simple consult the PCP could have done) sent elsewhere.

A practice refers avoidable services out with a propensity that responds to its payment model:
`base + slope x h + its own offset`, h being the share of FFS its contract with the member's payer
withholds. Each PCP visit draws a fixed block of uniforms from its own stream, so changing a
propensity changes which referrals happen, never the enrollment or visit draws (common random
numbers), and a higher propensity refers out a superset of the services.
"""

from __future__ import annotations

from claimsim.events.codes import IMAGING_CODES, LAB_CODES, OFFICE_PROC_CODES
from claimsim.events.envelope import new_event
from claimsim.events.providers import PracticeKind
from claimsim.events.truth import TrueReferral
from claimsim.simulator.config import ReferralConfig
from claimsim.simulator.utilization import UtilizationConfig
from claimsim.simulator.region import Region

REFERRAL_TYPE = TrueReferral.TYPE
REFERRAL_V = TrueReferral.V
VENIPUNCTURE = "36415"
_LAB_TESTS = tuple(c for c in LAB_CODES if c != VENIPUNCTURE)

# Columns of a PCP visit's referral block.
COL_LAB_NEED, COL_LAB_OUT, COL_LAB_CODE = 0, 1, 2
COL_PROC_NEED, COL_PROC_OUT, COL_PROC_CODE = 3, 4, 5
COL_CONSULT_NEED, COL_CONSULT_OUT = 6, 7
COL_SPEC_NEED, COL_SPEC_LEVEL = 8, 9
COL_IMG_NEED, COL_IMG_CODE = 10, 11
COL_DELAY = 12
DECISION_COLUMNS = 13
# Then, per referral kind (lab, procedure, consult, specialist, imaging), six columns:
# target practice, clinician, submission lag, fault kind, fault detail, fault delay.
REFERRAL_KINDS = ("lab", "procedure", "consult", "specialist", "imaging")
KIND_COLUMNS = 6
KIND_BASE = {kind: DECISION_COLUMNS + KIND_COLUMNS * i for i, kind in enumerate(REFERRAL_KINDS)}
BLOCK_COLUMNS = DECISION_COLUMNS + KIND_COLUMNS * len(REFERRAL_KINDS)
Referral = tuple[str, tuple[str, ...], bool]  # (kind, procedure codes, avoidable)


def lab_panel(u: float, n_tests: int) -> tuple[str, ...]:
    """`n_tests` different tests for one draw, starting from the test `u` picks."""
    first = int(u * len(_LAB_TESTS))
    return tuple(_LAB_TESTS[(first + k) % len(_LAB_TESTS)] for k in range(n_tests))


class ReferralPolicy:
    """Per-practice, per-payer propensities and the referral decisions of one PCP visit."""

    def __init__(self, config: ReferralConfig, utilization: UtilizationConfig, region: Region):
        self.config = config
        self.proc_need = config.office_procedure_need_bp / 10_000
        self.consult_need = config.simple_consult_need_bp / 10_000
        self.img_need = config.imaging_referral_bp / 10_000
        self.delay_lo, self.delay_hi = config.delay_days
        self.propensity: list[dict[str, float]] = [
            {payer: self.propensity_bp(p.referral_offset_bp, h) / 10_000
             for payer, h in p.hybrid_by_payer.items()}
            for p in region.practices
        ]
        self.targets = {
            "lab": [p.index for p in region.of_kind(PracticeKind.LAB)],
            "procedure": [p.index for p in region.of_kind(PracticeKind.SPECIALIST)],
            "consult": [p.index for p in region.of_kind(PracticeKind.SPECIALIST)],
            "specialist": [p.index for p in region.of_kind(PracticeKind.SPECIALIST)],
            "imaging": [p.index for p in region.of_kind(PracticeKind.IMAGING)],
        }

    def propensity_bp(self, offset_bp: int, hybrid_bp: int) -> int:
        """The practice's propensity to refer an avoidable service out, in basis points."""
        c = self.config
        raw = c.avoidable_base_bp + c.avoidable_slope_bp * hybrid_bp // 10_000 + offset_bp
        return max(0, min(10_000, raw))

    def target(self, kind: str, u: float) -> int:
        options = self.targets[kind]
        return options[min(len(options) - 1, int(u * len(options)))]

    def decide(self, row: list[float], practice: int, payer: str, specialist_need: float,
               lab_need: float, n_tests: int
               ) -> tuple[tuple[str, ...], str | None, list[Referral]]:
        """What one PCP visit leads to: (in-house lab tests, in-house procedure code, referrals).

        `specialist_need` and `lab_need` are the chances the visit needs a specialist or a draw
        (from the member's care profile and risk), `n_tests` the size of its panel. Each
        referral is (kind, procedure codes, avoidable).
        """
        out = self.propensity[practice][payer]
        lab_in: tuple[str, ...] = ()
        proc_in: str | None = None
        referrals: list[Referral] = []
        if row[COL_LAB_NEED] < lab_need:
            tests = lab_panel(row[COL_LAB_CODE], n_tests)
            if row[COL_LAB_OUT] < out:
                referrals.append(("lab", (VENIPUNCTURE, *tests), True))
            else:
                lab_in = tests
        if row[COL_PROC_NEED] < self.proc_need:
            proc = OFFICE_PROC_CODES[int(row[COL_PROC_CODE] * len(OFFICE_PROC_CODES))]
            if row[COL_PROC_OUT] < out:
                referrals.append(("procedure", ("99242", proc), True))
            else:
                proc_in = proc
        if row[COL_CONSULT_NEED] < self.consult_need and row[COL_CONSULT_OUT] < out:
            referrals.append(("consult", ("99242",), True))
        if row[COL_SPEC_NEED] < specialist_need:
            level = ("99243", "99244", "99245")[min(2, int(row[COL_SPEC_LEVEL] * 3))]
            referrals.append(("specialist", (level,), False))
        if row[COL_IMG_NEED] < self.img_need:
            img = IMAGING_CODES[int(row[COL_IMG_CODE] * len(IMAGING_CODES))]
            referrals.append(("imaging", (img,), False))
        return lab_in, proc_in, referrals

    def delay(self, row: list[float]) -> int:
        return self.delay_lo + int(row[COL_DELAY] * (self.delay_hi - self.delay_lo + 1))

    @staticmethod
    def truth(member_id: str, from_practice: str, to_practice: str, service_date: str,
              procedure: str, avoidable: bool, claim_id: str | None, key: str) -> dict:
        return new_event(
            {"member_id": member_id, "from_practice": from_practice, "to_practice": to_practice,
             "service_date": service_date, "procedure": procedure, "avoidable": avoidable,
             "claim_id": claim_id},
            at=service_date, key=key, type=REFERRAL_TYPE, v=REFERRAL_V,
        )
