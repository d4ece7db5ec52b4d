"""The population: families and members, their demographics, conditions, true risk and true PCP.

Members live in columns (one per attribute, indexed by member number) because the monthly care
step reads a few attributes of every member; memory grows with members, never with claims. The
numeric columns are typed arrays (`array.array`: 1-4 bytes a member instead of a pointer, often to
an int object of its own), tuples of codes are shared between members, and what only the
enrollment events need (birth date, sex, relationship) is handed back by `enroll_family`.
"""

from __future__ import annotations

import datetime as dt
import random
from array import array
from bisect import bisect_right
from itertools import accumulate
from typing import NamedTuple

import numpy as np

from claimsim.events.codes import (
    CONDITION_ICD10,
    CONDITION_RISK_MILLI,
    Condition,
    demographic_risk_milli,
)
from claimsim.events.money import div_round_half_up
from claimsim.events.plans import LineOfBusiness
from claimsim.events.providers import PracticeKind
from claimsim.simulator.config import SimConfig
from claimsim.simulator.region import Region

MEDICARE = (LineOfBusiness.MEDICARE_FFS, LineOfBusiness.MEDICARE_ADVANTAGE)
_CONDITIONS = tuple(Condition)
# Conditions that make a member a chronic-care-management candidate (hypertension alone does not).
_CHRONIC = frozenset(c for c in _CONDITIONS if c is not Condition.HYPERTENSION)


def _weighted(cumulative: list[int], u: float) -> int:
    """The index a uniform draw `u` falls into, for cumulative integer weights."""
    return bisect_right(cumulative, int(u * cumulative[-1]))


def _sex(u: float) -> str:
    return "F" if u < 0.5 else "M"


class NewMember(NamedTuple):
    """A member as `enroll_family` made them, for the enrollment and truth events (the population
    keeps no birth date, sex or relationship)."""

    member: int  # member number
    age: int
    sex: str
    relationship: str
    birth_date: dt.date
    conditions: tuple[str, ...]


def _age_band(age: int) -> int:
    return 0 if age < 18 else 1 if age < 45 else 2 if age < 65 else 3


class Population:
    """Every member ever enrolled in the run, plus which families are active."""

    def __init__(self, config: SimConfig, region: Region):
        self.config = config
        self.region = region
        pc = region.of_kind(PracticeKind.PRIMARY_CARE)
        self.pc_index = tuple(p.index for p in pc)
        self.capacity = {p.index: p.capacity for p in pc}
        self.panel = {p.index: 0 for p in pc}
        self._pc_cumweights = list(accumulate(len(p.npis) for p in pc))  # by clinicians
        pop = config.population
        # Per age band: (condition, prevalence as a probability, risk weight, ICD-10, chronic).
        self._condition_table = [
            [(c.value, pop.prevalence_bp[c][band] / 10_000, CONDITION_RISK_MILLI[c],
              CONDITION_ICD10[c][0], c in _CHRONIC) for c in _CONDITIONS]
            for band in range(4)
        ]
        self._coding = pop.condition_coding_bp / 10_000
        self._shared_tuples: dict[tuple[str, ...], tuple[str, ...]] = {}
        self._established = config.enrollment.established_bp / 10_000
        lobs = sorted(config.population.lob_mix_bp)
        self._lobs = tuple(lobs)
        self._lob_cum = list(accumulate(config.population.lob_mix_bp[l] for l in lobs))
        self._plan_cum = list(accumulate(config.region.commercial_plan_mix_bp))
        # Member columns (flags are 0/1 bytes).
        self.member_id: list[str] = []
        self.subscriber_id: list[str] = []  # one string per family, shared by its members
        self.payer_id: list[str] = []
        self.lob: list[LineOfBusiness] = []
        self.age = array("H")
        # True conditions and the coded diagnoses claims carry; members with the same ones
        # share one tuple (there are few combinations).
        self.conditions: list[tuple[str, ...]] = []
        self.dx: list[tuple[str, ...]] = []
        self.risk_milli = array("i")
        self.chronic = array("B")  # number of chronic conditions
        self.pcp = array("I")  # practice index of the true PCP
        self.away = array("I")  # the other primary-care practice the member uses
        self.aligned = array("b")
        # Practices that have seen the member (new vs established patient): the first two as
        # practice index + 1 (0: none), any more in `seen_more`. A member sees few practices (their
        # PCP, the one they use away, a new PCP after a switch), and a region of a million
        # members has ~800 practices, so a bit per practice index would be a ~100-byte int each.
        self.seen_first = array("I")
        self.seen_second = array("I")
        self.seen_more: dict[int, set[int]] = {}
        self.awv_had = array("b")
        self.preventive_year = array("H")
        self.active = array("b")
        # Family columns. A family's members are numbered consecutively (`members_of`).
        self.family_first = array("i")
        self.family_active = array("b")
        self.family_plan: list[str] = []

    # -- drawing a family ------------------------------------------------------------------
    def draw_lob(self, rng: random.Random) -> LineOfBusiness:
        return self._lobs[_weighted(self._lob_cum, rng.random())]

    def _family_ages(self, lob: LineOfBusiness, rng: random.Random) -> list[tuple[int, str, str]]:
        """(age, sex, relationship) of each member, subscriber first."""
        pop = self.config.population
        if lob in MEDICARE:
            age = min(100, 65 + int(rng.expovariate(1 / 10)))
            return [(age, "F" if rng.random() < 0.55 else "M", "self")]
        rand = rng.random
        has_kids = pop.max_children and rand() * 10_000 < pop.children_bp
        kids = 1 + int(rand() * pop.max_children) if has_kids else 0
        if lob is LineOfBusiness.MEDICAID and kids and rand() < 0.35:
            # Children-only coverage: the oldest child is the subscriber.
            ages = sorted((int(rand() * 19) for _ in range(kids)), reverse=True)
            return [(a, _sex(rand()), "self" if i == 0 else "child") for i, a in enumerate(ages)]
        if lob is LineOfBusiness.MEDICAID:
            head = 19 + int(rand() ** 1.5 * 45)
        else:
            head = 22 + int(rand() * 43)  # 22-64
        out = [(head, _sex(rand()), "self")]
        if lob is LineOfBusiness.COMMERCIAL and rand() * 10_000 < pop.spouse_bp:
            out.append((max(19, min(64, head - 5 + int(rand() * 11))), _sex(rand()), "spouse"))
        top = 18 if lob is LineOfBusiness.MEDICAID else 25
        for _ in range(kids):
            out.append((int(rand() * (max(0, min(top, head - 18)) + 1)), _sex(rand()), "child"))
        return out

    def _choose_pcp(self, rng: random.Random) -> int:
        """A primary-care practice, weighted by clinicians, preferring one with room."""
        pick = 0
        for _ in range(4):
            pick = self.pc_index[_weighted(self._pc_cumweights, rng.random())]
            if self.panel[pick] < self.capacity[pick]:
                break
        return pick

    def enroll_family(
        self, lob: LineOfBusiness, day: dt.date, rng: random.Random, pcp_rng: random.Random,
        established: bool,
    ) -> tuple[int, list[NewMember]]:
        """Create a family: (family index, its members)."""
        # Long: a family's draws in the order of its streams, and each member's columns appended
        # together so they stay aligned; compiled, and run for every family enrolled.
        pop = self.config.population
        fam = len(self.family_first)
        subscriber = f"S{str(fam + 1).zfill(7)}"
        payer = self.region.payer_of_lob[lob]
        plans = self.region.plans_of_lob[lob]
        plan = plans[0] if len(plans) == 1 else plans[
            min(len(plans) - 1, _weighted(self._plan_cum, rng.random()))
        ]
        people = self._family_ages(lob, rng)
        pcp = self._choose_pcp(pcp_rng)
        # Another primary-care practice, uniformly among the others.
        n_pc = len(self.pc_index)
        k = self.pc_index.index(pcp)
        away = pcp
        if n_pc > 1:
            away = self.pc_index[(k + 1 + int(pcp_rng.random() * (n_pc - 1))) % n_pc]
        members = []
        new_members = []
        sigma = pop.risk_sigma_milli / 1000
        for k, (age, sex, relationship) in enumerate(people):
            m = len(self.member_id)
            rand = rng.random
            has = [row for row in self._condition_table[_age_band(age)] if rand() < row[1]]
            conds = tuple(row[0] for row in has)
            dx = tuple(row[3] for row in has if rand() < self._coding)
            base = demographic_risk_milli(age, sex) + sum(row[2] for row in has)
            # A skewed multiplier with mean 1: most members near their expected cost, a long tail.
            multiplier_milli = int(1000 * rng.lognormvariate(-sigma * sigma / 2, sigma))
            risk = max(50, div_round_half_up(base * multiplier_milli, 1000))
            self.member_id.append(f"{subscriber}-{str(k + 1).zfill(2)}")
            self.subscriber_id.append(subscriber)
            self.payer_id.append(payer)
            self.lob.append(lob)
            self.age.append(age)
            birth_date = day - dt.timedelta(days=age * 365 + int(rand() * 365))
            dx = dx[:4]
            self.conditions.append(self._shared_tuples.setdefault(conds, conds))
            self.dx.append(self._shared_tuples.setdefault(dx, dx))
            self.risk_milli.append(risk)
            self.chronic.append(sum(1 for row in has if row[4]))
            self.pcp.append(pcp)
            self.away.append(away)
            self.aligned.append(False)
            self.seen_first.append(pcp + 1 if established and rand() < self._established else 0)
            self.seen_second.append(0)
            # Initial Medicare members mostly had an AWV before the run; new ones (65) have not.
            self.awv_had.append(lob in MEDICARE and established and age > 65 and rng.random() < 0.7)
            self.preventive_year.append(0)
            self.active.append(True)
            members.append(m)
            new_members.append(NewMember(m, age, sex, relationship, birth_date, conds))
        self.panel[pcp] += len(members)
        self.family_first.append(members[0])
        self.family_active.append(True)
        self.family_plan.append(plan)
        return fam, new_members

    def first_visit(self, m: int, practice: int) -> bool:
        """Whether `practice` sees member `m` for the first time (a new patient); it has seen them
        from now on."""
        mark = practice + 1
        first = self.seen_first[m]
        if first == mark:
            return False
        if first == 0:
            self.seen_first[m] = mark
            return True
        second = self.seen_second[m]
        if second == mark:
            return False
        if second == 0:
            self.seen_second[m] = mark
            return True
        more = self.seen_more.setdefault(m, set())
        if mark in more:
            return False
        more.add(mark)
        return True

    @property
    def families(self) -> int:
        return len(self.family_first)

    def members_of(self, fam: int) -> range:
        first = self.family_first
        return range(first[fam], first[fam + 1] if fam + 1 < len(first) else len(self.member_id))

    # -- changes ---------------------------------------------------------------------------
    def deactivate_family(self, fam: int) -> None:
        self.family_active[fam] = False
        for m in self.members_of(fam):
            if self.active[m]:
                self.active[m] = False
                self.panel[self.pcp[m]] -= 1

    def switch_pcp(self, fam: int, pcp_rng: random.Random) -> tuple[int, int] | None:
        """Move a family to another primary-care practice; (old, new) or None if there is none."""
        members = self.members_of(fam)
        old = self.pcp[members[0]]
        if len(self.pc_index) < 2:
            return None
        new = old
        for _ in range(8):
            new = self._choose_pcp(pcp_rng)
            if new != old:
                break
        if new == old:
            return None
        for m in members:
            self.pcp[m] = new
            if self.away[m] == new:
                self.away[m] = old
        n = len(members)
        self.panel[old] -= n
        self.panel[new] += n
        return old, new

    def active_families(self) -> list[int]:
        return np.flatnonzero(np.frombuffer(self.family_active, dtype=np.int8)).tolist()

    def active_members(self) -> np.ndarray:
        """The active members' numbers, in order (int64)."""
        return np.flatnonzero(np.frombuffer(self.active, dtype=np.int8))
