"""Enrollment: the initial population, monthly churn (terminations and new families), PCP switches
and voluntary alignment, as input events (what the payer is told) and truth events.

Terminations are reported at the start of a month and end coverage on its last day; new families
are covered from the first day of the month. Each concern draws from its own stream.
"""

from __future__ import annotations

import datetime as dt

from claimsim.events.envelope import new_event
from claimsim.events.input import AlignmentDeclared, MemberEnrolled, MemberTerminated
from claimsim.events.truth import TrueMember, TruePcpChanged
from claimsim.simulator.config import SimConfig
from claimsim.simulator.demographics import Demographics
from claimsim.events.plans import LineOfBusiness
from claimsim.simulator.population import Population
from claimsim.simulator.region import Region
from claimsim.simulator.streams import np_stream, py_stream
from claimsim.simulator.submission import PRIORITY_ENROLLMENT, SubmissionQueue


FLUSH_MEMBERS = 2_000


def _event(model_cls, data: dict, day: dt.date | str, key: str) -> dict:
    return new_event(data, at=day, key=key, type=model_cls.TYPE, v=model_cls.V)


# Enrollment builds its two events a member as literals (what `_event` returns), as claims do.
_ENROLLED, _ENROLLED_V = MemberEnrolled.TYPE, MemberEnrolled.V
_TRUE_MEMBER, _TRUE_MEMBER_V = TrueMember.TYPE, TrueMember.V


class EnrollmentModel:
    def __init__(self, config: SimConfig, region: Region, pop: Population, queue: SubmissionQueue):
        self.config, self.region, self.pop, self.queue = config, region, pop, queue
        seed = config.seed
        self.population_rng = py_stream(seed, "population")
        self.pcp_rng = py_stream(seed, "pcp")
        self.alignment_rng = py_stream(seed, "alignment")
        self.demographics = Demographics(config.demographics, py_stream(seed, "demographics"))
        self.practice_id = [p.practice_id for p in region.practices]
        self.terminated_families = 0
        self.new_families = 0
        self.pcp_switches = 0
        self.active_family_months = 0
        self._ending: list[int] = []  # families whose coverage ends this month

    def _enroll(self, day: dt.date, day_no: int, established: bool) -> int:
        pop, cfg = self.pop, self.config
        lob = pop.draw_lob(self.population_rng)
        fam, members = pop.enroll_family(lob, day, self.population_rng, self.pcp_rng, established)
        plan = pop.family_plan[fam]
        day_iso = day.isoformat()
        qmb = (lob is LineOfBusiness.MEDICARE_FFS
               and self.population_rng.random() * 10_000 < cfg.population.qmb_bp)
        queue, draw, alignment = self.queue, self.demographics.draw, self.alignment_rng.random
        alignment_bp = cfg.enrollment.alignment_bp
        for new in members:
            m = new.member
            sub, mid, payer = pop.subscriber_id[m], pop.member_id[m], pop.payer_id[m]
            groups = draw()
            birth = new.birth_date.isoformat()
            # Both events' keys in canonical (sorted) order at every level: pushed as such, they
            # are encoded as built. The demographic groups (race, ethnicity, language) are all
            # there or none is (`Demographics.draw`), and sort between the other fields.
            if groups:
                data = {"birth_date": birth, "end": None, "ethnicity": groups["ethnicity"],
                        "hospice": False, "language": groups["language"], "member_id": mid,
                        "payer_id": payer, "plan_id": plan, "qmb": qmb, "race": groups["race"],
                        "relationship": new.relationship, "sex": new.sex, "start": day_iso,
                        "subscriber_id": sub}
            else:
                data = {"birth_date": birth, "end": None, "hospice": False, "member_id": mid,
                        "payer_id": payer, "plan_id": plan, "qmb": qmb,
                        "relationship": new.relationship, "sex": new.sex, "start": day_iso,
                        "subscriber_id": sub}
            enrolled = {"at": day_iso, "cause": None, "data": data, "key": sub,
                        "type": _ENROLLED, "v": _ENROLLED_V}
            truth = {"at": day_iso, "cause": None, "data": {
                         "conditions": list(new.conditions), "member_id": mid,
                         "payer_id": payer, "risk_milli": pop.risk_milli[m],
                         "subscriber_id": sub, "true_pcp": self.practice_id[pop.pcp[m]]},
                     "key": sub, "type": _TRUE_MEMBER, "v": _TRUE_MEMBER_V}
            queue.push(day_no, PRIORITY_ENROLLMENT, enrolled, truth, canonical=True)
            if alignment() * 10_000 < alignment_bp + self.demographics.alignment_delta_bp(groups):
                pop.aligned[m] = True
                self._align(m, day, day_no)
        return len(members)

    def _align(self, m: int, day: dt.date, day_no: int) -> None:
        pop = self.pop
        self.queue.push(day_no, PRIORITY_ENROLLMENT, _event(AlignmentDeclared, {
            "member_id": pop.member_id[m], "subscriber_id": pop.subscriber_id[m],
            "payer_id": pop.payer_id[m], "practice_id": self.practice_id[pop.pcp[m]],
            "effective": day.isoformat(),
        }, day, pop.subscriber_id[m]))

    def initial(self, day: dt.date, day_no: int) -> None:
        """Enroll families until the run has `config.members` members.

        Nothing else is received on the first day, so the enrollment is handed to the payer as it
        is made (in chunks), rather than held: memory stays flat however large the population.
        """
        n = flushed = 0
        while n < self.config.members:
            n += self._enroll(day, day_no, established=True)
            if n - flushed >= FLUSH_MEMBERS:
                self.queue.release_until(day_no)
                flushed = n
        self.queue.release_until(day_no)

    def month(self, index: int, day: dt.date, day_no: int, month_end: dt.date) -> None:
        """Churn at the start of month `index` (> 0): ends, terminations, switches, new families."""
        pop, cfg = self.pop, self.config.enrollment
        for fam in self._ending:
            pop.deactivate_family(fam)
        self._ending = []
        families = pop.active_families()
        self.active_family_months += len(families)
        g = np_stream(self.config.seed, "enrollment", index)
        # Typed and read once: these loops run per active family and month.
        u_term: list[float] = g.random(len(families)).tolist()
        u_switch: list[float] = g.random(len(families)).tolist()
        termination_bp: int = cfg.monthly_termination_bp
        switch_bp: int = cfg.monthly_pcp_switch_bp
        for fam, u in zip(families, u_term):
            if u * 10_000 < termination_bp:
                self._terminate(fam, day, day_no, month_end)
        for fam, u in zip(families, u_switch):
            if u * 10_000 < switch_bp:
                self._switch(fam, day, day_no)
        n_new = int(g.poisson(len(families) * cfg.monthly_new_enrollment_bp / 10_000))
        for _ in range(n_new):
            self._enroll(day, day_no, established=False)
        self.new_families += n_new

    def _terminate(self, fam: int, day: dt.date, day_no: int, end: dt.date) -> None:
        pop = self.pop
        self._ending.append(fam)
        self.terminated_families += 1
        for m in pop.members_of(fam):
            sub = pop.subscriber_id[m]
            self.queue.push(day_no, PRIORITY_ENROLLMENT, _event(MemberTerminated, {
                "member_id": pop.member_id[m], "subscriber_id": sub, "payer_id": pop.payer_id[m],
                "end": end.isoformat(), "reason": "disenrolled",
            }, day, sub))

    def _switch(self, fam: int, day: dt.date, day_no: int) -> None:
        pop = self.pop
        moved = pop.switch_pcp(fam, self.pcp_rng)
        if moved is None:
            return
        old, new = moved
        self.pcp_switches += 1
        for m in pop.members_of(fam):
            sub = pop.subscriber_id[m]
            self.queue.push(day_no, PRIORITY_ENROLLMENT, None, _event(TruePcpChanged, {
                "member_id": pop.member_id[m], "from_practice": self.practice_id[old],
                "to_practice": self.practice_id[new], "effective": day.isoformat(),
            }, day, sub))
            if pop.aligned[m]:
                self._align(m, day, day_no)
