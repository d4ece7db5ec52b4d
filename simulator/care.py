"""Utilization: each month's care for the whole population, turned into claims.

Visit counts are drawn for every active member at once at the start of a month (Poisson, rates
scaled by true risk); the model then turns them into claims a week at a time in a plain loop.
Random numbers come in per-month blocks from named streams (visits, claims, referrals), so each
concern's draws are independent of the others (common random numbers across what-if points).
"""

from __future__ import annotations

from math import log

import numpy as np

from claimsim.events.codes import (
    ACUTE_ICD10,
    E_AND_M_ESTABLISHED,
    E_AND_M_NEW,
    ED_CODES,
    SPECIALIST_EM_CODES,
)
from claimsim.events.providers import PracticeKind
from claimsim.simulator.claims import CLAIM_TYPE, CLAIM_V, MODIFIER_25, ClaimBuilder
from claimsim.simulator.config import SimConfig
from claimsim.simulator.faults import FaultInjector, FaultKind
from claimsim.simulator.population import MEDICARE, Population
from claimsim.simulator.referrals import (
    BLOCK_COLUMNS,
    DECISION_COLUMNS,
    KIND_BASE,
    KIND_COLUMNS,
    ReferralPolicy,
)
from claimsim.simulator.region import Region, month_start_plus
from claimsim.simulator.streams import np_stream
from claimsim.simulator.submission import PRIORITY_CLAIM, PRIORITY_TRUTH, SubmissionQueue

PCP, PREVENTIVE, CCM, SPECIALIST, URGENT, ED = range(6)
VISIT_TYPES = ("pcp", "preventive", "ccm", "specialist", "urgent_care", "ed")
_EM_THRESHOLDS = (0.12, 0.55, 0.92)  # 2 / 3 / 4 / 5 level split at risk 1.0
_ED_THRESHOLDS = (0.05, 0.2, 0.55, 0.85)
_WELLNESS_DX = ("Z00.00",)


def _preventive_code(age: int, new: bool) -> str:
    band = 1 + sum(age >= limit for limit in (1, 5, 12, 18, 40, 65))  # <1, 1-4, ..., 65+
    return f"9938{band}" if new else f"9939{band}"


class _MonthPlan:
    """A month's visits, drawn at its start, in day order; `next` is the first not yet claimed."""

    __slots__ = ("year", "members", "types", "days", "uv", "cu", "pcp_before", "ref_block",
                 "em_level", "ed_level", "next")

    def __init__(self, **columns):
        for name, value in columns.items():
            setattr(self, name, value)
        self.next = 0


class CareModel:
    """Visits -> claims (with their referrals, TCM follow-ups and faults) -> submission queue."""

    def __init__(self, config: SimConfig, region: Region, pop: Population, builder: ClaimBuilder,
                 queue: SubmissionQueue, faults: FaultInjector, referrals: ReferralPolicy):
        self.config, self.region, self.pop = config, region, pop
        self.builder, self.queue, self.faults, self.referrals = builder, queue, faults, referrals
        self.npis = [p.npis for p in region.practices]
        self.practice_id = [p.practice_id for p in region.practices]
        self.capacity = [p.capacity for p in region.practices]
        kinds = {k: [p.index for p in region.of_kind(k)] for k in PracticeKind}
        self.specialists = kinds[PracticeKind.SPECIALIST]
        self.urgent = kinds[PracticeKind.URGENT_CARE]
        self.ed = kinds[PracticeKind.ED]
        self.push = queue.push
        self.push_original = queue.push_original
        self.horizon_day = queue.horizon_day
        # Services happen inside the service window only (the plan years the reference data
        # prices); a referral or TCM that would fall after it is not made.
        self.service_end_day = (month_start_plus(config.start, config.months) - config.start).days
        self.visits_by_type = [0] * len(VISIT_TYPES)
        self.member_months = 0
        self._plan: _MonthPlan | None = None

    def _pick(self, options: list[int], u: float) -> int:
        return options[min(len(options) - 1, int(u * len(options)))]

    def plan_month(self, index: int, d0: int, ndays: int) -> None:
        """Draw every visit of month `index` (days d0 .. d0+ndays-1) for the active members.

        The draws are made for the whole month at once, in day order; `run_until` turns them
        into claims a week at a time, so only a week of new claims joins the lag window at once.
        """
        self._plan = None
        cfg, pop, seed = self.config, self.pop, self.config.seed
        util = cfg.utilization
        year = self.builder.year[d0]
        active = np.fromiter((m for m, a in enumerate(pop.active) if a), dtype=np.int64)
        n = len(active)
        self.member_months += n
        if n == 0:
            return
        risk_milli = np.array(pop.risk_milli, dtype=np.int64)[active]
        risk = risk_milli / 1000.0
        g = np_stream(seed, "visits", index)
        counts = [
            g.poisson(risk * (util.pcp_visits_milli / 12_000)),
            None,
            None,
            g.poisson(risk * (util.specialist_visits_milli / 12_000)),
            g.poisson(risk * (util.urgent_care_visits_milli / 12_000)),
            g.poisson(risk * (util.ed_visits_milli / 12_000)),
        ]
        u_prev, u_ccm = g.random(n), g.random(n)
        prev_year = np.array(pop.preventive_year, dtype=np.int64)[active]
        # Preventive/AWV: a monthly chance of uptake/12 until done this year.
        due = (prev_year != year) & (u_prev < util.preventive_uptake_bp / 120_000)
        counts[PREVENTIVE] = due.astype(np.int64)
        chronic = np.array(pop.chronic, dtype=np.int64)[active]
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
            cu=cu[order], pcp_before=pcp_before, ref_block=ref_block,
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

    def _loop(self, plan: _MonthPlan, lo: int, hi: int) -> None:
        """Claims for planned visits lo .. hi-1 (their index in the month names the claim)."""
        week = slice(lo, hi)
        members, types, days = (plan.members[week].tolist(), plan.types[week].tolist(),
                                plan.days[week].tolist())
        uv, cu = plan.uv[week].tolist(), plan.cu[week].tolist()
        em_levels, ed_levels = plan.em_level[week].tolist(), plan.ed_level[week].tolist()
        year = plan.year
        ref_lo, ref_hi = int(plan.pcp_before[lo]), int(plan.pcp_before[hi])
        ref_block = plan.ref_block
        # Only the decision columns become Python floats; a referral's own columns are read
        # when it happens (most visits refer nothing).
        ref_rows = ref_block[ref_lo:ref_hi, :DECISION_COLUMNS].tolist()
        n_ref = ref_lo
        pop, b, decide, submit = self.pop, self.builder, self.referrals.decide, self._submit
        # The population's columns, bound once: this loop runs once per visit.
        risk_of, dx_of, pcp_of, away_of = pop.risk_milli, pop.dx, pop.pcp, pop.away
        seen_of = pop.seen
        panel, capacity, payer_of = pop.panel, self.capacity, pop.payer_id
        billed_of, iso = b.billed, b.iso
        util = self.config.utilization
        away_bp, full_bp = util.away_visit_bp / 10_000, util.at_capacity_away_bp / 10_000
        tcm_bp = util.tcm_after_ed_bp / 10_000
        prefix = f"C{iso[days[0]][:4]}{iso[days[0]][5:7]}-"
        ref_prefix = "R" + prefix[1:]
        tcm_prefix = "T" + prefix[1:]
        visits_by_type = self.visits_by_type
        npis_of = self.npis
        any_fault, horizon_day = self.faults.any_below, self.horizon_day
        push_original = self.push_original
        lag_of, tin_of, pos_of = b.lag, b.practice_id, b.pos
        sub_of, member_of = pop.subscriber_id, pop.member_id
        n_acute = len(ACUTE_ICD10)
        established = E_AND_M_ESTABLISHED[1:]
        for j in range(hi - lo):
            i = lo + j
            m, t, day = members[j], types[j], days[j]
            u_level, u_pick, u_away, u_dx = uv[j]
            dx = dx_of[m] or (ACUTE_ICD10[int(u_dx * n_acute)],)
            if t <= CCM:  # at primary care: PCP, PREVENTIVE, CCM
                pcp = practice = pcp_of[m]
                if t == PCP:
                    p_away = away_bp + (full_bp if panel[pcp] > capacity[pcp] else 0.0)
                    if u_away < p_away:
                        practice = away_of[m]
                npis = npis_of[practice]
                npi = npis[m % len(npis)] if practice == pcp else npis[int(u_pick * len(npis))]
                seen = seen_of[m]
                new = not (seen >> practice) & 1
                if new:
                    seen_of[m] = seen | (1 << practice)
                billed = billed_of[practice][year]
                date = iso[day]
                if t == PCP:
                    code = (E_AND_M_NEW if new else established)[em_levels[j]]
                    row = ref_rows[n_ref - ref_lo]
                    lab_in, proc_in, refs = decide(row, practice, payer_of[m], risk_of[m])
                    lines = [{"line_no": 1, "service_date": date, "procedure": code,
                              "modifiers": MODIFIER_25 if proc_in else (), "units": 1,
                              "billed": billed[code], "diagnoses": dx}]
                    if proc_in:
                        lines.append({"line_no": 2, "service_date": date, "procedure": proc_in,
                                      "modifiers": (), "units": 1, "billed": billed[proc_in],
                                      "diagnoses": dx})
                    if lab_in:
                        n = len(lines)
                        lines.append({"line_no": n + 1, "service_date": date, "procedure": "36415",
                                      "modifiers": (), "units": 1, "billed": billed["36415"],
                                      "diagnoses": dx})
                        lines.append({"line_no": n + 2, "service_date": date, "procedure": lab_in,
                                      "modifiers": (), "units": 1, "billed": billed[lab_in],
                                      "diagnoses": dx})
                    if refs:
                        self._referrals(row, ref_block[n_ref].tolist(), refs, m, practice, day, dx,
                                        f"{ref_prefix}{i:06d}")
                    n_ref += 1
                elif t == PREVENTIVE:
                    pop.preventive_year[m] = year
                    wdx = _WELLNESS_DX + dx_of[m]
                    if pop.lob[m] in MEDICARE:
                        # IPPE in the first year of Part B, then the initial and later AWVs.
                        first = "G0402" if pop.age[m] <= 65 else "G0438"
                        code = "G0439" if pop.awv_had[m] else first
                        pop.awv_had[m] = True
                    else:
                        code = _preventive_code(pop.age[m], new)
                    lines = [b.line(1, practice, day, code, wdx)]
                else:
                    code = "99487" if pop.chronic[m] >= 3 and u_level < 0.3 else "99490"
                    lines = [b.line(1, practice, day, code, dx)]
            elif t == SPECIALIST:
                practice = self._pick(self.specialists, u_pick)
                npis = npis_of[practice]
                npi = npis[int(u_away * len(npis))]
                code = SPECIALIST_EM_CODES[em_levels[j]]
                lines = [b.line(1, practice, day, code, dx[:2])]
            elif t == URGENT:
                practice = self._pick(self.urgent, u_pick)
                npis = npis_of[practice]
                npi = npis[int(u_away * len(npis))]
                code = E_AND_M_ESTABLISHED[1 + min(2, em_levels[j])]
                lines = [b.line(1, practice, day, code, (ACUTE_ICD10[int(u_dx * n_acute)],))]
            else:
                practice = self._pick(self.ed, u_pick)
                npis = npis_of[practice]
                npi = npis[int(u_away * len(npis))]
                code = ED_CODES[ed_levels[j]]
                acute = (ACUTE_ICD10[int(u_dx * n_acute)],)
                lines = [b.line(1, practice, day, code, acute + dx_of[m][:2])]
            visits_by_type[t] += 1
            u_lag, u_fault, u_detail, u_delta, u_tcm, u_tcm_lag = cu[j]
            if u_fault < any_fault:
                submit(f"{prefix}{i:06d}", m, practice, npi, day, lines, u_lag, u_fault, u_detail,
                       u_delta)
            else:
                # The common case (no fault), written out: this runs once per claim.
                lag_min, lag_mean, lag_max = lag_of[practice]
                received = day + min(lag_max, lag_min + int(-lag_mean * log(1.0 - u_lag)))
                if received < horizon_day:
                    sub, at = sub_of[m], iso[received]
                    push_original(received, {
                        "type": CLAIM_TYPE, "v": CLAIM_V, "at": at, "key": sub, "cause": None,
                        "data": {"claim": {
                            "claim_id": f"{prefix}{i:06d}", "frequency": "1",
                            "original_claim_id": None, "member_id": member_of[m],
                            "subscriber_id": sub, "payer_id": payer_of[m],
                            "billing_tin": tin_of[practice], "rendering_npi": npi,
                            "place_of_service": pos_of[practice], "received": at, "lines": lines,
                        }},
                    })
                else:
                    self.queue.released.dropped_after_horizon += 1
            tday = day + 7 + int(u_tcm_lag * 8)
            if t == ED and pop.chronic[m] and u_tcm < tcm_bp and tday < self.service_end_day:
                # Transitional care management at the PCP after an ED visit (chronic members).
                pcp = pcp_of[m]
                code = "99495" if u_tcm_lag < 0.6 else "99496"
                tcm_npis = npis_of[pcp]
                submit(f"{tcm_prefix}{i:06d}", m, pcp, tcm_npis[m % len(tcm_npis)], tday,
                       [b.line(1, pcp, tday, code, dx)], u_tcm_lag, 1.0, 0.0, 0.0)

    def _referrals(self, row, full_row, refs, m, practice, day, dx, claim_prefix) -> None:
        pop, b, policy = self.pop, self.builder, self.referrals
        sday = day + policy.delay(row)
        if sday >= self.service_end_day:
            return
        sub = pop.subscriber_id[m]
        for kind, codes, avoidable in refs:
            u_target, u_npi, u_lag, u_fault, u_detail, u_delta = full_row[
                KIND_BASE[kind]:KIND_BASE[kind] + KIND_COLUMNS]
            target = policy.target(kind, u_target)
            npis = self.npis[target]
            npi = npis[int(u_npi * len(npis))]
            lines = [b.line(k + 1, target, sday, code, dx[:2]) for k, code in enumerate(codes)]
            cid = f"{claim_prefix}{kind[0].upper()}"
            self.queue.push(sday, PRIORITY_TRUTH, None, policy.truth(
                pop.member_id[m], self.practice_id[practice], self.practice_id[target],
                b.iso[sday], codes[-1], avoidable, cid, sub))
            self._submit(cid, m, target, npi, sday, lines, u_lag, u_fault, u_detail, u_delta)

    def _submit(self, cid, m, practice, npi, day, lines, u_lag, u_fault, u_detail, u_delta) -> None:
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
        if kind is None:
            self.push_original(received, b.event(claim, received, sub))
            return
        truth = faults.late_truth(claim, received, sub) if kind is FaultKind.LATE else None
        self.push(received, PRIORITY_CLAIM, b.event(claim, received, sub), truth)
        if kind is not FaultKind.LATE:
            faults.follow_up(kind, claim, received, sub, u_detail, u_delta)
