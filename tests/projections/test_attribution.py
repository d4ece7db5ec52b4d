"""Attribution worked examples (DOMAIN.md §6): plurality and its tie-breaks, primary-care
clinicians only, voluntary alignment, the PCF AWV and CPC+ CCM pre-steps, eligibility, change
events and corrections."""

from __future__ import annotations


from claimsim.events.programs import ProgramKind, ProgramSettings

from claimsim.adjudication.projections.attribution import accuracy, attribute, correction


from ..fixtures.projections import PAYER, Feed, reference

AS_OF = "2025-07-01"


def _run(feed: Feed):
    return attribute(feed.state, PAYER, AS_OF)


def _two_two_tie_with_specialist_visits() -> Feed:
    """M1: P1 visits Jan 10 and Mar 5, P2 visits Feb 1 and May 20, and three E&M lines by the
    specialist S1 billed under P1 (Apr 1-3), which are not primary-care clinician visits."""
    feed = Feed(reference())
    feed.enroll("M1")
    for day in ("2025-01-10", "2025-03-05"):
        feed.visit("M1", "P1", day)
    for day in ("2025-02-01", "2025-05-20"):
        feed.visit("M1", "P2", day)
    for day in ("2025-04-01", "2025-04-02", "2025-04-03"):
        feed.visit("M1", "P1", day, npi="S1")
    return feed


def test_plurality_tie_broken_by_most_recent_visit():
    """M1: two visits at P1 (Jan 10, Mar 5) and two at P2 (Feb 1, May 20): a 2-2 tie, and P2 has
    the most recent visit (May 20 > Mar 5), so P2. Three E&M lines by the specialist S1 under P1
    do not count (not a primary-care clinician), or P1 would win 5-2."""
    feed = _two_two_tie_with_specialist_visits()
    a = _run(feed).members["M1"]
    assert (a.practice_id, a.basis, a.visits, a.last_visit) == ("P2", "plurality", 2, "2025-05-20")


def test_tie_on_count_and_date_goes_to_larger_allowed_then_lower_practice_id():
    """M1: one visit each at P2 (99214, $128.16) and P3 (99213, $90.70) on the same day: the
    larger allowed total wins, P2. M2: identical 99213 visits at P3 and P2: lower id, P2."""
    feed = Feed(reference())
    feed.enroll("M1")
    feed.enroll("M2")
    feed.visit("M1", "P2", "2025-03-03", "99214")
    feed.visit("M1", "P3", "2025-03-03", "99213")
    feed.visit("M2", "P3", "2025-03-03", "99213")
    feed.visit("M2", "P2", "2025-03-03", "99213")
    run = _run(feed)
    assert run.members["M1"].practice_id == "P2"
    assert run.members["M2"].practice_id == "P2"


def test_visits_outside_the_lookback_do_not_count():
    """Lookback 24 months before 2025-07-01 starts 2023-07-01: three P1 visits in June 2023 are
    out; one P2 visit in 2025 decides."""
    feed = Feed(reference())
    feed.enroll("M1", start="2023-01-01")
    for day in ("2023-06-01", "2023-06-10", "2023-06-20"):
        feed.visit("M1", "P1", day)
    feed.visit("M1", "P2", "2025-01-15")
    assert _run(feed).members["M1"].practice_id == "P2"


def test_voluntary_alignment_overrides_plurality():
    """M1: three visits at P1, none at P3, but declared P3 effective 2025-05-01 -> P3, voluntary.
    A declaration effective after the run date does not count yet."""
    feed = Feed(reference())
    feed.enroll("M1")
    feed.enroll("M2")
    for day in ("2025-01-10", "2025-02-10", "2025-03-10"):
        feed.visit("M1", "P1", day)
        feed.visit("M2", "P1", day)
    feed.align("M1", "P3", "2025-05-01")
    feed.align("M2", "P3", "2025-08-01")
    run = _run(feed)
    assert (run.members["M1"].practice_id, run.members["M1"].basis) == ("P3", "voluntary")
    assert (run.members["M2"].practice_id, run.members["M2"].basis) == ("P1", "plurality")


def test_pcf_awv_pre_step_attributes_to_the_practice_of_the_latest_awv():
    """M1: three E&M visits at P1, one AWV (G0439) at P2 on 2025-04-01. P2 holds PCF, whose
    pre-step attributes to the practice billing the most recent AWV: P2 (basis awv), though P1
    has the plurality 3-1. Without P2's PCF contract, plurality gives P1."""
    pcf = {"P2": ProgramSettings(kind=ProgramKind.PCF)}
    for programs, expected in ((pcf, ("P2", "awv")), ({}, ("P1", "plurality"))):
        feed = Feed(reference(programs))
        feed.enroll("M1")
        for day in ("2025-01-10", "2025-02-10", "2025-03-10"):
            feed.visit("M1", "P1", day)
        feed.visit("M1", "P2", "2025-04-01", "G0439")
        a = _run(feed).members["M1"]
        assert (a.practice_id, a.basis) == expected


def test_cpc_plus_ccm_pre_step():
    """M1: two E&M at P1, one CCM (99490) billed by P3 under CPC+ Track 1 -> P3 (basis ccm)."""
    feed = Feed(reference({"P3": ProgramSettings(kind=ProgramKind.CPCP_T1)}))
    feed.enroll("M1")
    feed.visit("M1", "P1", "2025-01-10")
    feed.visit("M1", "P1", "2025-02-10")
    feed.visit("M1", "P3", "2025-03-10", "99490")
    assert (_run(feed).members["M1"].practice_id, _run(feed).members["M1"].basis) == ("P3", "ccm")


def test_only_eligible_members_are_attributed_and_leavers_get_none():
    """M1 terminated 2025-05-31 and M2 in hospice (Medicare FFS) are not attributed on
    2025-07-01. M1 was attributed to P1 from 2025-04-01, so the run emits P1 -> None for M1; M2
    never was, so no event."""
    feed = Feed(reference())
    feed.enroll("M1", end="2025-05-31")
    feed.enroll("M2", hospice=True)
    feed.enroll("M3")
    for m in ("M1", "M2", "M3"):
        feed.visit(m, "P1", "2025-02-02")
    first = attribute(feed.state, PAYER, "2025-04-01", cause=feed.input_seq)
    feed.record(first.changes)
    assert {e["data"]["member_id"]: e["data"]["practice_id"] for e in first.changes} == {
        "M1": "P1", "M3": "P1"}
    second = _run(feed)
    assert sorted(second.members) == ["M3"]
    assert [(e["data"]["member_id"], e["data"]["practice_id"], e["data"]["basis"])
            for e in second.changes] == [("M1", None, "none")]


def test_a_run_emits_events_only_for_members_whose_practice_changed():
    """First run: M1 -> P1, M2 -> P2. M2 then visits P1 three times; second run: only M2 moves."""
    feed = Feed(reference())
    feed.enroll("M1")
    feed.enroll("M2")
    feed.visit("M1", "P1", "2025-01-05")
    feed.visit("M2", "P2", "2025-01-05")
    feed.record(attribute(feed.state, PAYER, "2025-04-01").changes)
    for day in ("2025-04-10", "2025-05-10", "2025-06-10"):
        feed.visit("M2", "P1", day)
    run = _run(feed)
    assert [(e["data"]["member_id"], e["data"]["practice_id"], e["data"]["effective"])
            for e in run.changes] == [("M2", "P1", AS_OF)]
    assert {p: [a.member_id for a in ms] for p, ms in run.practice_lists().items()} == {
        "P1": ["M1", "M2"]}


def test_void_removes_the_visit_from_plurality():
    """M1: two visits at P1, one at P2... then both P1 claims are voided: P2 wins 1-0."""
    feed = Feed(reference())
    feed.enroll("M1")
    c1 = feed.visit("M1", "P1", "2025-01-10")
    c2 = feed.visit("M1", "P1", "2025-02-10")
    feed.visit("M1", "P2", "2025-03-10")
    assert _run(feed).members["M1"].practice_id == "P1"
    feed.void(c1, "2025-04-01")
    feed.void(c2, "2025-04-02")
    assert _run(feed).members["M1"].practice_id == "P2"


def test_correction_sets_attribution_from_its_effective_date():
    """M1 attributed to P1 from 2025-04-01; a correction to P2 effective 2025-05-01 leaves April
    at P1 and puts May on at P2, naming P1 as the practice it moves from."""
    feed = Feed(reference())
    feed.enroll("M1")
    feed.visit("M1", "P1", "2025-01-10")
    feed.record(attribute(feed.state, PAYER, "2025-04-01").changes)
    event = correction(feed.state, "M1", "P2", "2025-05-01", "dispute", at="2025-06-15")
    assert event["data"]["from_practice"] == "P1"
    feed.record([event])
    assert feed.state.attributed_on("M1", "2025-04-15") == "P1"
    assert feed.state.attributed_on("M1", "2025-05-01") == "P2"


def test_accuracy_counts_members_attributed_to_their_true_pcp():
    """Two of three members with a known true PCP are attributed to it: (2, 3)."""
    feed = Feed(reference())
    for m, p in (("M1", "P1"), ("M2", "P2"), ("M3", "P3")):
        feed.enroll(m)
        feed.visit(m, p, "2025-02-02")
    run = _run(feed)
    assert accuracy(run, {"M1": "P1", "M2": "P2", "M3": "P1", "M4": None}) == (2, 3)


def test_a_member_who_moved_to_another_payer_is_left_to_that_payer():
    """M1 leaves MCR on 2025-03-31 and enrolls with COM from 2025-04-01 (same member id). On
    2025-07-01 MCR's run is not eligible for M1 and leaves the attribution COM's run made alone,
    whichever payer runs first."""
    from claimsim.events.input import MemberEnrolled, MemberTerminated
    from claimsim.events.plans import LineOfBusiness, Payer, medicaid_plan

    ref = reference()
    ref = ref.model_copy(update={
        "payers": ref.payers + (Payer(payer_id="AAA", name="Medicaid", lob=LineOfBusiness.MEDICAID),),
        "plans": ref.plans + (medicaid_plan("AAA-1", "AAA"),),
        "payer_fee_schedule": {**ref.payer_fee_schedule, "AAA": "pfs-national"}})
    feed = Feed(ref)
    feed.enroll("M1")
    feed.visit("M1", "P1", "2025-01-10")
    feed._input(MemberTerminated(member_id="M1", subscriber_id="M1", payer_id=PAYER,
                                 end="2025-03-31"), "2025-03-01", "M1")
    feed._input(MemberEnrolled(member_id="M1", subscriber_id="M1", payer_id="AAA", plan_id="AAA-1",
                               start="2025-04-01", birth_date="1950-06-15", sex="F"),
                "2025-03-01", "M1")
    aaa = attribute(feed.state, "AAA", AS_OF)
    feed.record(aaa.changes)
    assert feed.state.attributed_on("M1", AS_OF) == "P1"
    assert attribute(feed.state, PAYER, AS_OF).changes == []


def test_evidence_ranks_practices_and_names_the_tie_break_that_decided():
    """The evidence a disputing practice sees, for the first example above: P2 and P1 both have
    2 qualifying visit days (the specialist's three do not count); P2's latest (May 20) is after
    P1's (Mar 5), so the most recent visit decided. The window is [2023-07-01, 2025-07-01)."""
    from claimsim.adjudication.projections.attribution import decide, member_evidence, tie_break

    feed = _two_two_tie_with_specialist_visits()
    ev = member_evidence(feed.state, "M1", PAYER, AS_OF)
    assert ev.since == "2023-07-01" and ev.voluntary is None and ev.pre_step is None
    assert [(p.practice_id, p.visits, p.last_visit) for p in ev.practices] == [
        ("P2", 2, "2025-05-20"), ("P1", 2, "2025-03-05")]
    assert decide(ev).practice_id == "P2"
    assert tie_break(ev) == ("tied on 2 visits with P1; the most recent visit "
                             "(2025-05-20 vs 2025-03-05) decided")
    feed.visit("M1", "P1", "2025-06-01")
    ev = member_evidence(feed.state, "M1", PAYER, AS_OF)
    assert tie_break(ev) == "most visits (3 vs 2 at P2)" and decide(ev).practice_id == "P1"
