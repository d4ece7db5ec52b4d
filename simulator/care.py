"""Utilization: each month's care for the whole population, turned into claims.

Visit counts are drawn for every active member at once at the start of a month (Poisson, at the
rates of the member's care profile: line of business x age band, scaled by the member's true risk
over the band's mean), and the model turns them into claims a week at a time in a plain loop that
hands each visit to its kind's claim builder (`visits.py`). Random numbers come in per-month
blocks from named streams (visits, claims, care detail, referrals), so each concern's draws are
independent of the others (common random numbers across what-if points).
"""

from __future__ import annotations

from array import array
from math import log
from typing import Any

import numpy as np

from claimsim.events.calibration import age_band
from claimsim.events.codes import ACUTE_ICD10
from claimsim.events.providers import PracticeKind
from claimsim.simulator.claims import CLAIM_TYPE, CLAIM_V, ClaimBuilder
from claimsim.simulator.config import SimConfig
from claimsim.simulator.faults import FaultInjector, FaultKind
from claimsim.simulator.population import Population
from claimsim.simulator.referrals import BLOCK_COLUMNS, DECISION_COLUMNS, ReferralPolicy
from claimsim.simulator.region import Region, month_start_plus
from claimsim.simulator.streams import np_stream
from claimsim.simulator.submission import PRIORITY_CLAIM, SubmissionQueue
from claimsim.simulator.utilization import CareProfile
from claimsim.simulator.visits import (
    ADMISSION,
    CCM,
    ED,
    PCP,
    PREVENTIVE,
    VISIT_TYPES,
    VisitKinds,
    Week,
)

_EM_THRESHOLDS = (0.12, 0.55, 0.92)  # 2 / 3 / 4 / 5 level split at risk 1.0
_ED_THRESHOLDS = (0.05, 0.2, 0.55, 0.85)
# The profile's Poisson rates, in the order of the visit types they draw (PREVENTIVE and CCM are
# monthly chances, drawn apart).
_RATE_FIELDS = ("pcp_visits_milli", None, None, "specialist_visits_milli",
                "urgent_care_visits_milli", "ed_visits_milli", "admissions_milli",
                "nursing_facility_visits_milli", "therapy_visits_milli")
DETAIL_COLUMNS = 4  # per visit: lab panel size, lab order, imaging order / consult, extra lag


def _column(values: array) -> np.ndarray:
    """A population column (a typed array) as int64, without a Python int per member."""
    return np.frombuffer(values, dtype=np.dtype(values.typecode)).astype(np.int64)


class _MonthPlan:
    """A month's visits, drawn at its start, in day order; `next` is the first not yet claimed.
    Its columns are numpy arrays (`Any`: typed attributes, so a compiled build reads them as
    fields)."""

    __slots__ = ("year", "members", "types", "days", "uv", "cu", "detail", "pcp_before",
                 "ref_block", "em_level", "ed_level", "next")

    def __init__(self, year: int, members: Any, types: Any, days: Any, uv: Any, cu: Any,
                 detail: Any, pcp_before: Any, ref_block: Any, em_level: Any,
                 ed_level: Any) -> None:
        self.year, self.members, self.types, self.days = year, members, types, days
        self.uv, self.cu, self.detail, self.pcp_before = uv, cu, detail, pcp_before
        self.ref_block, self.em_level, self.ed_level = ref_block, em_level, ed_level
        self.next = 0


class CareModel:
    """Visits -> claims (with their referrals, orders, TCM follow-ups and faults) -> queue."""

    def __init__(self, config: SimConfig, region: Region, pop: Population, builder: ClaimBuilder,
                 queue: SubmissionQueue, faults: FaultInjector, referrals: ReferralPolicy):
        self.config, self.region, self.pop = config, region, pop
        self.builder, self.queue, self.faults, self.referrals = builder, queue, faults, referrals
        self.npis = [p.npis for p in region.practices]
        self.practice_id = [p.practice_id for p in region.practices]
        self.capacity = [p.capacity for p in region.practices]
        self.of_kind = {k: [p.index for p in region.of_kind(k)] for k in PracticeKind}
        self.horizon_day = queue.horizon_day
        # Services happen inside the service window only (the plan years the reference data
        # prices); a referral, order or TCM that would fall after it is not made.
        self.service_end_day = (month_start_plus(config.start, config.months) - config.start).days
        self.visits_by_type = [0] * len(VISIT_TYPES)
        self.member_months = 0
        self._plan: _MonthPlan | None = None
        # Care profiles: one per line of business x age band the population uses, in first-use
        # order (deterministic: members are created in a fixed order).
        self.profiles: list[CareProfile] = []
        self._profile_index: dict[int, int] = {}  # id(profile) -> index
        self.cell_of = array("H")  # member -> profile index
        # Per profile: 1000 / its mean true risk, fixed at the first month (a plain list: read
        # once per PCP visit).
        self.risk_scale: list[float] = []
        self.kinds = VisitKinds(self)

    # -- care profiles ---------------------------------------------------------------------------
    def _cells(self) -> np.ndarray:
        """Each member's profile index (members are appended to the population, never removed)."""
        pop, util = self.pop, self.config.utilization
        for m in range(len(self.cell_of), len(pop.lob)):
            profile = util.profile(pop.lob[m], age_band(pop.age[m]))
            index = self._profile_index.get(id(profile))
            if index is None:
                index = self._profile_index[id(profile)] = len(self.profiles)
                self.profiles.append(profile)
            self.cell_of.append(index)
        self.kinds.sync_profiles()
        return _column(self.cell_of)

    def _scales(self, cells: np.ndarray, risk_milli: np.ndarray) -> np.ndarray:
        """1000 / mean true risk per profile, fixed at the first month (the initial population),
        so a band's average rate is its profile's rate; later profiles use the overall mean."""
        n = len(self.profiles)
        overall = 1000 / max(1.0, float(risk_milli.mean()))
        if not self.risk_scale:
            sums = np.bincount(cells, weights=risk_milli, minlength=n)
            counts = np.bincount(cells, minlength=n)
            self.risk_scale.extend(
                float(1000 / (sums[c] / counts[c])) if counts[c] else overall for c in range(n))
        self.risk_scale.extend([overall] * (n - len(self.risk_scale)))
        return np.array(self.risk_scale)

    # -- a month -------------------------------------------------------------------------------
    def plan_month(self, index: int, d0: int, ndays: int) -> None:
        """Draw every visit of month `index` (days d0 .. d0+ndays-1) for the active members.

        The draws are made for the whole month at once, in day order; `run_until` turns them
        into claims a week at a time, so only a week of new claims joins the lag window at once.
        """
        # Long: the month's draws in their streams' order, each array feeding the next; steps
        # apart would pass a dozen arrays along and hide the order the seeds depend on.
        self._plan = None
        cfg, pop, seed = self.config, self.pop, self.config.seed
        util = cfg.utilization
        year = self.builder.year[d0]
        active = pop.active_members()
        n = len(active)
        self.member_months += n
        if n == 0:
            return
        cells = self._cells()[active]
        risk_milli = _column(pop.risk_milli)[active]
        scale = self._scales(cells, risk_milli)
        # Risk relative to the profile's mean (VisitKinds.pcp scales the referral need the same way).
        rel = risk_milli * scale[cells] / 1000
        rates = np.array([[getattr(p, f) if f else 0 for f in _RATE_FIELDS]
                          for p in self.profiles], dtype=np.float64) / 12_000
        g = np_stream(seed, "visits", index)
        counts: list[Any] = [g.poisson(rel * rates[cells, t]) if f else None
                             for t, f in enumerate(_RATE_FIELDS)]
        u_prev, u_ccm = g.random(n), g.random(n)
        prev_year = _column(pop.preventive_year)[active]
        # Preventive/AWV: a monthly chance of uptake/12 until done this year.
        due = (prev_year != year) & (u_prev < util.preventive_uptake_bp / 120_000)
        counts[PREVENTIVE] = due.astype(np.int64)
        chronic = _column(pop.chronic)[active]
        ccm = (chronic >= util.ccm_min_conditions) & (u_ccm < util.ccm_monthly_bp / 10_000)
        counts[CCM] = ccm.astype(np.int64)
        members = np.concatenate([np.repeat(active, c) for c in counts])
        types = np.concatenate(
            [np.full(int(c.sum()), t, dtype=np.int64) for t, c in enumerate(counts)])
        total = len(members)
        if total == 0:
            return
        days = g.integers(0, ndays, size=total) + d0
        uv = g.random((total, 4))  # level, practice/clinician pick, away, diagnosis
        cu = np_stream(seed, "claims", index).random((total, 6))  # lag, fault x3, tcm x2
        detail = np_stream(seed, "care_detail", index).random((total, DETAIL_COLUMNS))
        n_pcp = int(counts[PCP].sum())
        ref_block = np_stream(seed, "referrals", index).random((n_pcp, BLOCK_COLUMNS))
        # Visits in day order (stable: ties keep the draw order).
        order = np.argsort(days, kind="stable")
        # Visit complexity: higher risk shifts the level up (score = u + (risk - 1) / 5).
        visit_risk = np.concatenate([np.repeat(risk_milli, c) for c in counts])
        score = uv[:, 0] + (visit_risk - 1000) / 5000
        types = types[order]
        # The k-th PCP visit of the month (in day order) reads referral row k, so a week's PCP
        # visits read a contiguous block of rows.
        pcp_before = np.concatenate([[0], np.cumsum(types == PCP)])
        # Columns stay numpy until their week comes (`run_until` turns a week into Python
        # values), so a month's draws cost memory only for the week being claimed.
        self._plan = _MonthPlan(
            year=year, members=members[order], types=types, days=days[order], uv=uv[order],
            cu=cu[order], detail=detail[order], pcp_before=pcp_before, ref_block=ref_block,
            em_level=np.searchsorted(_EM_THRESHOLDS, score, side="right")[order],
            ed_level=np.searchsorted(_ED_THRESHOLDS, score, side="right")[order],
        )

    def run_until(self, end_day: int) -> None:
        """Turn the planned visits before `end_day` into queued claims."""
        plan = self._plan
        if plan is None:
            return
        lo = plan.next
        hi = int(np.searchsorted(plan.days, end_day, side="left"))
        if hi > lo:
            plan.next = hi
            self._loop(plan, lo, hi)

    def _week(self, plan: _MonthPlan, lo: int, hi: int) -> Week:
        """The week's draws as Python values, and the names its claims take."""
        span = slice(lo, hi)
        iso = self.builder.iso
        first = iso[int(plan.days[lo])]
        prefix = f"C{first[:4]}{first[5:7]}-"
        ref_lo, ref_hi = int(plan.pcp_before[lo]), int(plan.pcp_before[hi])
        return Week(
            year=plan.year, lo=lo, uv=plan.uv[span].tolist(), cu=plan.cu[span].tolist(),
            detail=plan.detail[span].tolist(), em_levels=plan.em_level[span].tolist(),
            ed_levels=plan.ed_level[span].tolist(), ref_block=plan.ref_block,
            # Only the decision columns become Python floats; a referral's own columns are
            # read when it happens (most visits refer nothing).
            ref_rows=plan.ref_block[ref_lo:ref_hi, :DECISION_COLUMNS].tolist(), ref_lo=ref_lo,
            n_ref=ref_lo, prefix=prefix, ref_prefix="R" + prefix[1:],
            order_prefix="O" + prefix[1:], tcm_prefix="T" + prefix[1:],
        )

    def _loop(self, plan: _MonthPlan, lo: int, hi: int) -> None:
        """Claims for planned visits lo .. hi-1 (their index in the month names the claim).

        Each visit's kind builds its claim (`VisitKinds`); the common case, an original claim
        with no fault, is then written out here because this runs once per claim."""
        w = self._week(plan, lo, hi)
        # Typed, so a compiled build reads them as machine integers.
        members: list[int] = plan.members[lo:hi].tolist()
        types: list[int] = plan.types[lo:hi].tolist()
        days: list[int] = plan.days[lo:hi].tolist()
        pop, b = self.pop, self.builder
        dx_of, iso = pop.dx, b.iso
        kinds, queue = self.kinds, self.queue
        visits_by_type = self.visits_by_type
        any_fault, horizon_day = self.faults.any_below, self.horizon_day
        lag_of, tin_of, pos_of = b.lag, b.practice_id, b.pos
        sub_of, member_of, payer_of = pop.subscriber_id, pop.member_id, pop.payer_id
        n_acute = len(ACUTE_ICD10)
        prefix = w.prefix
        for j in range(hi - lo):
            i = lo + j
            m, t, day = members[j], types[j], days[j]
            dx = dx_of[m] or (ACUTE_ICD10[int(w.uv[j][3] * n_acute)],)
            practice, npi, lines, pos, last = kinds.build(t, w, j, m, day, dx)
            visits_by_type[t] += 1
            u_lag, u_fault, u_detail, u_delta, u_tcm, u_tcm_lag = w.cu[j]
            if u_fault < any_fault:
                # Claim numbers are zfilled, not formatted (`{i:06d}`): a compiled build makes a
                # format spec in an f-string two `str.format` calls.
                self._submit(f"{prefix}{str(i).zfill(6)}", m, practice, npi, last, lines, u_lag,
                             u_fault, u_detail, u_delta, pos)
            else:
                lag_min, lag_mean, lag_max = lag_of[practice]
                received = last + min(lag_max, lag_min + int(-lag_mean * log(1.0 - u_lag)))
                if received < horizon_day:
                    sub, at = sub_of[m], iso[received]
                    # Keys in canonical order at every level: encoded as built (push_original).
                    queue.push_original(received, {
                        "at": at, "cause": None, "data": {"claim": {
                            "billing_tin": tin_of[practice],
                            "claim_id": f"{prefix}{str(i).zfill(6)}", "frequency": "1",
                            "lines": lines, "member_id": member_of[m], "original_claim_id": None,
                            "payer_id": payer_of[m], "place_of_service": pos or pos_of[practice],
                            "received": at, "rendering_npi": npi, "subscriber_id": sub,
                        }}, "key": sub, "type": CLAIM_TYPE, "v": CLAIM_V,
                    })
                else:
                    queue.released.dropped_after_horizon += 1
            if t == ED or t == ADMISSION:
                kinds.tcm(w, i, t, m, last, dx, u_tcm, u_tcm_lag)

    def _submit(self, cid: str, m: int, practice: int, npi: str, day: int,
                lines: list[dict[str, Any]], u_lag: float, u_fault: float, u_detail: float,
                u_delta: float, pos: str | None = None) -> None:
        pop, b, faults = self.pop, self.builder, self.faults
        sub = pop.subscriber_id[m]
        kind = faults.kind(u_fault) if u_fault < faults.any_below else None
        if kind is FaultKind.LATE:
            received = faults.late_received(day, u_detail)
        else:
            lo, mean, hi = b.lag[practice]
            received = day + min(hi, lo + int(-mean * log(1.0 - u_lag)))
        if received >= self.horizon_day:
            self.queue.released.dropped_after_horizon += 1
            return
        claim = b.claim(cid, pop.member_id[m], sub, pop.payer_id[m], practice, npi, received, lines)
        if pos:
            claim["place_of_service"] = pos
        if kind is None:
            self.queue.push_original(received, b.event(claim, received, sub))
            return
        truth = faults.late_truth(claim, received, sub) if kind is FaultKind.LATE else None
        self.queue.push(received, PRIORITY_CLAIM, b.event(claim, received, sub), truth)
        if kind is not FaultKind.LATE:
            faults.follow_up(kind, claim, received, sub, u_detail, u_delta)
