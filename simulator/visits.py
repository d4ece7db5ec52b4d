"""One claim builder per kind of visit: which practice bills it, which codes and how many lines,
and what it leads to (referrals, lab and imaging orders, inpatient consults, TCM follow-ups).

`CareModel._loop` hands every planned visit to `VisitKinds.build`, which returns the visit's
own claim (`VisitClaim`) from its kind's method; claims the visit leads to are submitted here,
through the care model's `_submit`. The uniforms a visit reads come from the week's blocks
(`Week`): `uv` (level, pick, away, diagnosis), `cu` (lag, faults, TCM) and `detail` (lab panel
size, lab order, imaging order or consult, the lag of an ordered claim).

Choices where DOMAIN.md is silent: an inpatient stay is one hospitalist claim with a line per day
(admission, daily visits, discharge), submitted after discharge; orders from a specialist visit
(lab draw, imaging) are separate claims from the lab or imaging practice on the visit day, never
faulty; nursing-facility visits are billed by the member's own PCP practice for a share of them
(setting), the rest by the hospitalist group, at place of service 31.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

from claimsim.events.codes import (
    ACUTE_ICD10,
    E_AND_M_ESTABLISHED,
    E_AND_M_NEW,
    ED_CODES,
    IMAGING_CODES,
    NURSING_FACILITY_CODES,
    OFFICE_PROC_CODES,
    SPECIALIST_EM_CODES,
    PlaceOfService,
)
from claimsim.events.providers import PracticeKind
from claimsim.simulator.claims import MODIFIER_25
from claimsim.simulator.population import MEDICARE
from claimsim.simulator.referrals import (
    KIND_BASE,
    KIND_COLUMNS,
    VENIPUNCTURE,
    Referral,
    lab_panel,
)
from claimsim.simulator.submission import PRIORITY_TRUTH

if TYPE_CHECKING:
    from claimsim.simulator.care import CareModel

PCP, PREVENTIVE, CCM, SPECIALIST, URGENT, ED, ADMISSION, NURSING_FACILITY, THERAPY = range(9)
VISIT_TYPES = ("pcp", "preventive", "ccm", "specialist", "urgent_care", "ed", "admission",
               "nursing_facility", "therapy")
_WELLNESS_DX = ("Z00.00",)
_NF_POS = PlaceOfService.SKILLED_NURSING_FACILITY.value
_INPATIENT_POS = PlaceOfService.INPATIENT_HOSPITAL.value
_MAX_STAY_DAYS = 6  # a stay is 2 .. 6 days (mean 4)


def preventive_code(age: int, new: bool) -> str:
    band = 1 + sum(age >= limit for limit in (1, 5, 12, 18, 40, 65))  # <1, 1-4, ..., 65+
    return f"9938{band}" if new else f"9939{band}"


class Chances(NamedTuple):
    """A care profile's per-visit chances as fractions (read once per visit, so made once)."""

    lab: float
    tests_max: int
    imaging: float
    ed_imaging: float
    referral_need: float
    away: float  # the region's away share plus the profile's extra

    @classmethod
    def of(cls, profile, region_away: float) -> Chances:
        return cls(profile.lab_order_bp / 10_000, profile.lab_tests_max,
                   profile.imaging_order_bp / 10_000, profile.ed_imaging_bp / 10_000,
                   profile.referral_need_bp / 10_000, region_away + profile.away_visit_bp / 10_000)


# A visit's own claim: (practice billing it, clinician NPI, its lines, a place of service other than
# the practice's (None: the practice's), the last service day (the lag counts from it)). A plain
# tuple, not a NamedTuple: one is made per visit, and a compiled build keeps it unboxed.
VisitClaim = tuple[int, str, list[dict[str, Any]], "str | None", int]


@dataclass(slots=True)
class Week:
    """A week of planned visits as Python values; `n_ref` is the next referral row to read."""

    year: int
    lo: int  # the week's first visit index in the month
    uv: list[list[float]]
    cu: list[list[float]]
    detail: list[list[float]]
    em_levels: list[int]
    ed_levels: list[int]
    ref_block: Any  # the month's referral uniforms (numpy), rows by PCP visit
    ref_rows: list[list[float]]  # their decision columns, for this week's PCP visits
    ref_lo: int
    n_ref: int
    prefix: str  # claim ids: C (visit), R (referral), O (order), T (TCM)
    ref_prefix: str
    order_prefix: str
    tcm_prefix: str


class VisitKinds:
    """The claim builders, bound to one care model (its population, region and settings)."""

    def __init__(self, care: CareModel):
        self.care, self.pop, self.b = care, care.pop, care.builder
        cfg = care.config
        util = cfg.utilization
        self.util = util
        self.npis = care.npis
        kinds = care.of_kind
        self.specialists = kinds[PracticeKind.SPECIALIST]
        self.urgent, self.ed = kinds[PracticeKind.URGENT_CARE], kinds[PracticeKind.ED]
        self.labs, self.imaging = kinds[PracticeKind.LAB], kinds[PracticeKind.IMAGING]
        self.hospitalists = kinds[PracticeKind.HOSPITALIST]
        self.therapy_practices = kinds[PracticeKind.THERAPY]
        self.away_bp, self.full_bp = util.away_visit_bp / 10_000, util.at_capacity_away_bp / 10_000
        self.tcm_ed = util.tcm_after_ed_bp / 10_000
        self.tcm_discharge = util.tcm_after_discharge_bp / 10_000
        self.consult = util.inpatient_consult_bp / 10_000
        self.nf_by_pcp = util.nf_by_pcp_bp / 10_000
        self.spec_proc = util.specialist_procedure_bp / 10_000
        # Bound once: the builders run once per visit.
        self.chances: list[Chances] = []
        self.cell_of, self.risk_scale = care.cell_of, care.risk_scale
        self.billed, self.iso, self.line = self.b.billed, self.b.iso, self.b.line
        self.decide = care.referrals.decide
        self.payer_of, self.risk_of = self.pop.payer_id, self.pop.risk_milli

    def build(self, t: int, w: Week, j: int, m: int, day: int, dx: tuple[str, ...]) -> VisitClaim:
        """The claim of visit `j` of week `w`, by its kind `t`: a call of the kind's method (not
        a table of bound methods, which a compiled build calls as Python objects), the most
        frequent kinds first."""
        if t == PCP:
            return self.pcp(w, j, m, day, dx)
        if t == SPECIALIST:
            return self.specialist(w, j, m, day, dx)
        if t == THERAPY:
            return self.therapy(w, j, m, day, dx)
        if t == PREVENTIVE:
            return self.preventive(w, j, m, day, dx)
        if t == URGENT:
            return self.urgent_care(w, j, m, day, dx)
        if t == ED:
            return self.emergency(w, j, m, day, dx)
        if t == CCM:
            return self.ccm(w, j, m, day, dx)
        if t == NURSING_FACILITY:
            return self.nursing_facility(w, j, m, day, dx)
        if t == ADMISSION:
            return self.admission(w, j, m, day, dx)
        raise ValueError(f"no visit kind {t}")

    # -- helpers ---------------------------------------------------------------------------------
    def _pick(self, options: list[int], u: float) -> int:
        return options[min(len(options) - 1, int(u * len(options)))]

    def _npi(self, practice: int, u: float) -> str:
        npis = self.npis[practice]
        return npis[int(u * len(npis))]

    @staticmethod
    def _n_tests(u: float, most: int) -> int:
        return 1 + int(u * most)

    def sync_profiles(self) -> None:
        """Chances for profiles the care model has added since the last call."""
        for profile in self.care.profiles[len(self.chances):]:
            self.chances.append(Chances.of(profile, self.away_bp))

    def _primary_care(self, m: int, u_pick: float, u_away: float,
                      away: float | None) -> tuple[int, str, bool]:
        """(practice, clinician, new patient) for a visit at primary care: at another practice
        with chance `away` (more when the PCP's panel is over capacity), else the member's PCP
        (always, when `away` is None)."""
        pop = self.pop
        pcp = practice = pop.pcp[m]
        if away is not None and u_away < away + (
                self.full_bp if pop.panel[pcp] > self.care.capacity[pcp] else 0.0):
            practice = pop.away[m]
        npis = self.npis[practice]
        npi = npis[m % len(npis)] if practice == pcp else npis[int(u_pick * len(npis))]
        return practice, npi, pop.first_visit(m, practice)

    # -- primary care ----------------------------------------------------------------------------
    def pcp(self, w: Week, j: int, m: int, day: int, dx: tuple[str, ...]) -> VisitClaim:
        """An office E&M at primary care (maybe away from the PCP), with the in-house lab draw
        and procedure the visit needs, and the referrals it makes."""
        _, u_pick, u_away, _ = w.uv[j]
        cell = self.cell_of[m]
        chances = self.chances[cell]
        practice, npi, new = self._primary_care(m, u_pick, u_away, chances.away)
        billed, date = self.billed[practice][w.year], self.iso[day]
        code = (E_AND_M_NEW if new else E_AND_M_ESTABLISHED[1:])[w.em_levels[j]]
        row = w.ref_rows[w.n_ref - w.ref_lo]
        # The need scales with the member's risk over the profile's mean (as visit rates do in
        # CareModel.plan_month).
        need = chances.referral_need * (self.risk_of[m] * self.risk_scale[cell] / 1000)
        lab_in, proc_in, refs = self.decide(
            row, practice, self.payer_of[m], need, chances.lab,
            self._n_tests(w.detail[j][0], chances.tests_max))
        # `ClaimBuilder.line`'s dicts, keys in the same canonical order.
        lines = [{"billed": billed[code], "diagnoses": dx, "line_no": 1,
                  "modifiers": MODIFIER_25 if proc_in else (), "procedure": code,
                  "service_date": date, "units": 1}]
        extra = ((proc_in,) if proc_in else ()) + ((VENIPUNCTURE, *lab_in) if lab_in else ())
        for k, c in enumerate(extra):
            lines.append({"billed": billed[c], "diagnoses": dx, "line_no": k + 2,
                          "modifiers": (), "procedure": c, "service_date": date, "units": 1})
        if refs:
            self._referrals(row, w.ref_block[w.n_ref].tolist(), refs, m, practice, day, dx,
                            f"{w.ref_prefix}{str(w.lo + j).zfill(6)}")
        w.n_ref += 1
        return (practice, npi, lines, None, day)

    def _referrals(self, row: list[float], full_row: list[float], refs: list[Referral], m: int,
                   practice: int, day: int, dx: tuple[str, ...], claim_prefix: str) -> None:
        """The referred services of one PCP visit, each a claim of its target practice and a
        truth event saying whether it was avoidable."""
        care, pop, b, policy = self.care, self.pop, self.b, self.care.referrals
        sday = day + policy.delay(row)
        if sday >= care.service_end_day:
            return
        sub = pop.subscriber_id[m]
        for kind, codes, avoidable in refs:
            u_target, u_npi, u_lag, u_fault, u_detail, u_delta = full_row[
                KIND_BASE[kind]:KIND_BASE[kind] + KIND_COLUMNS]
            target = policy.target(kind, u_target)
            lines = [b.line(k + 1, target, sday, code, dx[:2]) for k, code in enumerate(codes)]
            cid = f"{claim_prefix}{kind[0].upper()}"
            care.queue.push(sday, PRIORITY_TRUTH, None, policy.truth(
                pop.member_id[m], care.practice_id[practice], care.practice_id[target],
                b.iso[sday], codes[-1], avoidable, cid, sub))
            care._submit(cid, m, target, self._npi(target, u_npi), sday, lines, u_lag, u_fault,
                         u_detail, u_delta)

    def preventive(self, w: Week, j: int, m: int, day: int, dx: tuple[str, ...]) -> VisitClaim:
        """AWV/IPPE for Medicare (IPPE in the first year of Part B), else preventive medicine."""
        pop = self.pop
        practice, npi, new = self._primary_care(m, w.uv[j][1], 0.0, None)
        pop.preventive_year[m] = w.year
        if pop.lob[m] in MEDICARE:
            first = "G0402" if pop.age[m] <= 65 else "G0438"
            code = "G0439" if pop.awv_had[m] else first
            pop.awv_had[m] = True
        else:
            code = preventive_code(pop.age[m], new)
        lines = [self.b.line(1, practice, day, code, _WELLNESS_DX + pop.dx[m])]
        return (practice, npi, lines, None, day)

    def ccm(self, w: Week, j: int, m: int, day: int, dx: tuple[str, ...]) -> VisitClaim:
        practice, npi, _ = self._primary_care(m, w.uv[j][1], 0.0, None)
        code = "99487" if self.pop.chronic[m] >= 3 and w.uv[j][0] < 0.3 else "99490"
        return (practice, npi, [self.b.line(1, practice, day, code, dx)], None, day)

    # -- elsewhere -------------------------------------------------------------------------------
    def specialist(self, w: Week, j: int, m: int, day: int, dx: tuple[str, ...]) -> VisitClaim:
        """A specialist office visit (self-referred or follow-up), with the lab draw and imaging
        it orders as claims of the lab and imaging practices."""
        _, u_pick, u_away, _ = w.uv[j]
        u_tests, u_lab, u_img, u_lag = w.detail[j]
        practice = self._pick(self.specialists, u_pick)
        code = SPECIALIST_EM_CODES[w.em_levels[j]]
        chances = self.chances[self.cell_of[m]]
        if u_lab < chances.lab:
            n_tests = self._n_tests(u_tests, chances.tests_max)
            tests = (VENIPUNCTURE, *lab_panel(u_away, n_tests))
            self._order(w, j, "L", self.labs, m, day, tests, dx, u_pick, u_lag)
        chance = chances.imaging
        if u_img < chance:
            img = IMAGING_CODES[int(u_img / chance * len(IMAGING_CODES)) % len(IMAGING_CODES)]
            self._order(w, j, "I", self.imaging, m, day, (img,), dx, u_pick, u_lag)
        lines = [self.line(1, practice, day, code, dx[:2])]
        u_proc, u_which = w.cu[j][4], w.cu[j][5]  # the TCM columns, unused by this kind
        if u_proc < self.spec_proc:
            proc = OFFICE_PROC_CODES[int(u_which * len(OFFICE_PROC_CODES))]
            lines[0]["modifiers"] = MODIFIER_25
            lines.append(self.b.line(2, practice, day, proc, dx[:2]))
        return (practice, self._npi(practice, u_away), lines, None, day)

    def _order(self, w: Week, j: int, tag: str, practices: list[int], m: int, day: int,
               codes: tuple[str, ...], dx: tuple[str, ...], u_pick: float, u_lag: float) -> None:
        target = self._pick(practices, u_pick)
        lines = [self.b.line(k + 1, target, day, c, dx[:2]) for k, c in enumerate(codes)]
        self.care._submit(f"{w.order_prefix}{str(w.lo + j).zfill(6)}{tag}", m, target,
                          self._npi(target, u_lag), day, lines, u_lag, 1.0, 0.0, 0.0)

    def urgent_care(self, w: Week, j: int, m: int, day: int, dx: tuple[str, ...]) -> VisitClaim:
        _, u_pick, u_away, u_dx = w.uv[j]
        practice = self._pick(self.urgent, u_pick)
        code = E_AND_M_ESTABLISHED[1 + min(2, w.em_levels[j])]
        acute = (ACUTE_ICD10[int(u_dx * len(ACUTE_ICD10))],)
        lines = [self.b.line(1, practice, day, code, acute)]
        return (practice, self._npi(practice, u_away), lines, None, day)

    def emergency(self, w: Week, j: int, m: int, day: int, dx: tuple[str, ...]) -> VisitClaim:
        _, u_pick, u_away, u_dx = w.uv[j]
        practice = self._pick(self.ed, u_pick)
        acute = (ACUTE_ICD10[int(u_dx * len(ACUTE_ICD10))],)
        code = ED_CODES[w.ed_levels[j]]
        lines = [self.b.line(1, practice, day, code, acute + self.pop.dx[m][:2])]
        _, _, u_img, u_lag = w.detail[j]
        chance = self.chances[self.cell_of[m]].ed_imaging
        if u_img < chance:
            img = IMAGING_CODES[int(u_img / chance * len(IMAGING_CODES)) % len(IMAGING_CODES)]
            self._order(w, j, "I", self.imaging, m, day, (img,), acute, u_pick, u_lag)
        return (practice, self._npi(practice, u_away), lines, None, day)

    def admission(self, w: Week, j: int, m: int, day: int, dx: tuple[str, ...]) -> VisitClaim:
        """An inpatient stay of 2-6 days: the hospitalist's admission,
        daily and discharge visits on one claim; sometimes a specialist's inpatient consult."""
        u_level, u_pick, u_away, _ = w.uv[j]
        u_tests, u_consult, _, u_lag = w.detail[j]
        level = w.em_levels[j]
        last_ok = self.care.service_end_day - 1
        stay = min(2 + int(u_level * (_MAX_STAY_DAYS - 1)), last_ok - day + 1)
        practice = self._pick(self.hospitalists, u_pick)
        codes = [("99221", "99222", "99223", "99223")[level]]
        daily = ("99231", "99232", "99233", "99233")[level]
        codes += [daily] * (stay - 2)
        if stay >= 2:
            codes.append("99239" if stay > 4 else "99238")
        lines = [self.b.line(k + 1, practice, day + k, c, dx[:3]) for k, c in enumerate(codes)]
        if u_consult < self.consult and stay >= 2:
            spec = self._pick(self.specialists, u_away)
            code = ("99252", "99253", "99254", "99254")[level]
            self.care._submit(f"{w.order_prefix}{str(w.lo + j).zfill(6)}H", m, spec,
                              self._npi(spec, u_lag), day + 1,
                              [self.b.line(1, spec, day + 1, code, dx[:2])],
                              u_lag, 1.0, 0.0, 0.0, _INPATIENT_POS)
        return (practice, self._npi(practice, u_away), lines, None, day + len(codes) - 1)

    def nursing_facility(self, w: Week, j: int, m: int, day: int,
                         dx: tuple[str, ...]) -> VisitClaim:
        _, u_pick, u_away, _ = w.uv[j]
        if u_away < self.nf_by_pcp:
            practice = self.pop.pcp[m]
            npis = self.npis[practice]
            npi = npis[m % len(npis)]
        else:
            practice = self._pick(self.hospitalists, u_pick)
            npi = self._npi(practice, u_away)
        code = NURSING_FACILITY_CODES[w.em_levels[j]]
        return (practice, npi, [self.b.line(1, practice, day, code, dx[:3])], _NF_POS, day)

    def therapy(self, w: Week, j: int, m: int, day: int, dx: tuple[str, ...]) -> VisitClaim:
        """A PT/OT session: an evaluation now and then, timed units of exercise and manual
        therapy, sometimes therapeutic activities."""
        u_level, u_pick, u_away, _ = w.uv[j]
        practice = self._pick(self.therapy_practices, u_pick)
        b, dx2 = self.b, dx[:2]
        lines = [b.line(1, practice, day, "97161" if u_level < 0.1 else "97110", dx2,
                        units=1 if u_level < 0.1 else 2),
                 b.line(2, practice, day, "97140", dx2)]
        if u_level > 0.3:
            lines.append(b.line(3, practice, day, "97530" if u_level > 0.65 else "97112", dx2))
        return (practice, self._npi(practice, u_away), lines, None, day)

    # -- follow-up -------------------------------------------------------------------------------
    def tcm(self, w: Week, i: int, t: int, m: int, day: int, dx: tuple[str, ...],
            u_tcm: float, u_tcm_lag: float) -> None:
        """Transitional care management at the PCP 7-14 days after an ED visit (chronic members)
        or a discharge (anyone)."""
        chance = self.tcm_discharge if t == ADMISSION else (
            self.tcm_ed if self.pop.chronic[m] else 0.0)
        tday = day + 7 + int(u_tcm_lag * 8)
        if u_tcm >= chance or tday >= self.care.service_end_day:
            return
        pcp = self.pop.pcp[m]
        code = "99495" if u_tcm_lag < 0.6 else "99496"
        npis = self.npis[pcp]
        self.care._submit(f"{w.tcm_prefix}{str(i).zfill(6)}", m, pcp, npis[m % len(npis)], tday,
                          [self.b.line(1, pcp, tday, code, dx)], u_tcm_lag, 1.0, 0.0, 0.0)
