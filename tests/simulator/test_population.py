"""The population's compact columns behave as the plain ones they replace: a practice sees a
member for the first time once (a set of practices per member), a family's members are numbered
consecutively, and terminations and PCP switches act on exactly that family."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from claimsim.events.plans import LineOfBusiness
from claimsim.simulator.config import SimConfig
from claimsim.simulator.population import Population
from claimsim.simulator.region import build_region
from claimsim.simulator.streams import py_stream

CONFIG = SimConfig(members=200, months=1, seed=4)
REGION = build_region(CONFIG)


def _population(families: int) -> Population:
    pop = Population(CONFIG, REGION)
    rng, pcp_rng = py_stream(4, "population"), py_stream(4, "pcp")
    for _ in range(families):
        pop.enroll_family(LineOfBusiness.COMMERCIAL, dt.date(2025, 1, 1), rng, pcp_rng,
                          established=False)
    return pop


@given(visits=st.lists(st.tuples(st.integers(0, 2), st.integers(0, 900)), max_size=60))
def test_first_visit_is_true_once_per_member_and_practice_as_a_set_would_say(visits):
    pop = _population(2)
    members = [m for fam in range(pop.families) for m in pop.members_of(fam)][:3]
    seen: set[tuple[int, int]] = {(m, pop.pcp[m]) for m in members if pop.seen_first[m]}
    for k, practice in visits:
        m = members[k % len(members)]
        assert pop.first_visit(m, practice) == ((m, practice) not in seen)
        seen.add((m, practice))


def test_an_established_member_is_no_new_patient_of_their_pcp_but_is_elsewhere():
    pop = Population(CONFIG, REGION)
    pop.enroll_family(LineOfBusiness.MEDICAID, dt.date(2025, 1, 1), py_stream(1, "p"),
                      py_stream(1, "q"), established=True)
    m = next(m for m in range(len(pop.member_id)) if pop.seen_first[m])
    assert not pop.first_visit(m, pop.pcp[m])
    assert pop.first_visit(m, pop.away[m]) and not pop.first_visit(m, pop.away[m])


def test_families_are_consecutive_members_and_churn_touches_only_that_family():
    pop = _population(5)
    ranges = [pop.members_of(fam) for fam in range(pop.families)]
    assert [m for r in ranges for m in r] == list(range(len(pop.member_id)))
    assert all(len({pop.subscriber_id[m] for m in r}) == 1 for r in ranges)
    pop.deactivate_family(2)
    assert pop.active_families() == [0, 1, 3, 4]
    assert pop.active_members().tolist() == [m for f in (0, 1, 3, 4) for m in ranges[f]]
    before = [pop.pcp[m] for m in range(len(pop.member_id))]
    moved = pop.switch_pcp(3, py_stream(4, "switch"))
    assert moved is not None and moved[0] != moved[1]
    assert [pop.pcp[m] for m in ranges[3]] == [moved[1]] * len(ranges[3])
    assert [pop.pcp[m] for f in (0, 1, 2, 4) for m in ranges[f]] == [
        before[m] for f in (0, 1, 2, 4) for m in ranges[f]]
