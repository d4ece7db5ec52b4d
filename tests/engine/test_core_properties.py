"""Hypothesis properties of the core over random plans, contracts, attribution and claim
streams: every line adds up with each part signed right; accumulators never
pass their limits; voiding every claim returns the accumulators to zero; re-running the inputs
(with the family state serialized between every input, as the Kafka table stores it) gives the
same ledger and states; applying any input twice gives the same ledger."""

from __future__ import annotations


import orjson
from hypothesis import HealthCheck, given, settings, strategies as st


from ..fixtures.adjudication import FEES, Harness, contract, line, reference
from claimsim.adjudication.engine.context import Settings
from claimsim.adjudication.engine.core import adjudicate
from claimsim.adjudication.engine.family import FamilyState
from claimsim.events.codes import VisitCategory
from claimsim.events.encoding import canonical
from claimsim.events.plans import BenefitDesign, LineOfBusiness, Plan
from claimsim.events.programs import CostShareBasis, ProgramKind

# E&M codes weighted up so capitated services (offsets, shadow lines, flat fees) come up often.
CODES = sorted(FEES) + ["99213", "99214", "99213", "99214"]
MEMBERS = ("A", "B", "C")
SUB = "FAM"


@st.composite
def designs(draw) -> BenefitDesign:
    part_b = draw(st.booleans())
    ded = draw(st.one_of(st.just(0), st.integers(0, 60_000)))
    with_oop = not part_b and draw(st.booleans())
    oop = draw(st.integers(0, 150_000)) if with_oop else None
    copays = {}
    for cat in (VisitCategory.PCP, VisitCategory.SPECIALIST):
        if draw(st.booleans()):
            copays[cat] = draw(st.integers(0, 6_000))
    return BenefitDesign(
        deductible_individual=ded,
        deductible_family=ded * draw(st.integers(1, 3)),
        coinsurance_bp=draw(st.integers(0, 10_000)),
        oop_individual=oop,
        oop_family=None if oop is None else oop * draw(st.integers(1, 3)),
        embedded=draw(st.booleans()),
        copays=copays,
        preventive_zero=draw(st.booleans()),
        part_b_style=part_b,
    )


@st.composite
def scenarios(draw):
    design = draw(designs())
    payer = draw(st.sampled_from(("COM", "MCR")))
    plan = Plan(plan_id="P", payer_id=payer, name="P",
                lob=LineOfBusiness.COMMERCIAL if payer == "COM" else LineOfBusiness.MEDICARE_FFS,
                benefits={2025: design})
    contracts = []
    for practice in ("PCP1", "PCP2"):
        kind = draw(st.sampled_from(list(ProgramKind)))
        if kind is not ProgramKind.FFS:
            contracts.append(contract(kind, practice_id=practice, payer_id=payer,
                                      hybrid_bp=draw(st.sampled_from((-1, 0, 2500, 4000, 6500, 10_000))),
                                      cost_share_basis=draw(st.sampled_from(list(CostShareBasis)))))
    run_settings = Settings(sequestration=draw(st.booleans()))
    n_members = draw(st.integers(1, 3))
    ops = []
    for m in MEMBERS[:n_members]:
        ops.append(("enroll", m, draw(st.sampled_from((None, "2025-10-31")))))
        ops.append(("attr", m, draw(st.sampled_from((None, "PCP1", "PCP1", "PCP2"))),
                    draw(st.sampled_from(("2025-01-01", "2025-06-01")))))
    line_st = st.tuples(st.sampled_from(CODES), st.integers(0, 40_000), st.integers(1, 4),
                        st.integers(0, 330))
    op_st = st.one_of(
        st.tuples(st.just("claim"), st.integers(0, n_members - 1), st.lists(line_st, min_size=1, max_size=4),
                  st.sampled_from(("PCP1", "PCP1", "PCP2", "SPEC")), st.integers(0, 40)),
        st.tuples(st.just("void"), st.integers(0, 100)),
        st.tuples(st.just("replace"), st.integers(0, 100), st.integers(-500, 500)),
        st.tuples(st.just("dup"), st.integers(0, 100)),
        st.tuples(st.just("attr"), st.integers(0, n_members - 1), st.sampled_from((None, "PCP1", "PCP2")),
                  st.sampled_from(("2025-03-01", "2025-07-01"))),
    )
    ops += draw(st.lists(op_st, min_size=1, max_size=25))
    return reference([plan], contracts), run_settings, payer, ops


def build_inputs(payer: str, ops: list) -> list[tuple[str, object]]:
    """Turn ops into ("input", (type, data, at)) and ("attr", ...) steps, deterministically."""
    steps, claims, n = [], [], 0
    for op in ops:
        if op[0] == "enroll":
            steps.append(("input", ("member.enrolled", {
                "member_id": op[1], "subscriber_id": SUB, "payer_id": payer, "plan_id": "P",
                "start": "2025-01-01", "end": op[2], "birth_date": "1950-01-01", "sex": "F"}, "2025-01-01")))
        elif op[0] == "attr":
            member = op[1] if isinstance(op[1], str) else MEMBERS[op[1]]
            steps.append(("attr", (member, op[2], op[3])))
        elif op[0] == "claim":
            _, m, lines, tin, lag = op
            last = max(day for *_, day in lines)
            received = f"2025-{1 + (last + lag) // 31 if last + lag < 372 else 12:02d}-28"
            day_of = lambda d: f"2025-{1 + d // 31:02d}-{1 + d % 28:02d}"  # noqa: E731
            received = max(received, max(day_of(d) for *_, d in lines))
            n += 1
            claim = {"claim_id": f"C{n}", "frequency": "1", "member_id": MEMBERS[m], "subscriber_id": SUB,
                     "payer_id": payer, "billing_tin": tin, "rendering_npi": {"PCP1": "N1", "PCP2": "N2", "SPEC": "N3"}[tin],
                     "place_of_service": "11", "received": received,
                     "lines": [line(code, billed, day=day_of(d), units=u, line_no=i + 1)
                               for i, (code, billed, u, d) in enumerate(lines)]}
            claims.append(claim)
            steps.append(("input", ("claim.submitted", {"claim": claim}, received)))
        elif claims:
            target = claims[op[1] % len(claims)]
            n += 1
            if op[0] == "void":
                claim = {**target, "claim_id": f"V{n}", "frequency": "8", "original_claim_id": target["claim_id"]}
            elif op[0] == "replace":
                claim = {**target, "claim_id": f"R{n}", "frequency": "7", "original_claim_id": target["claim_id"],
                         "lines": [{**ln, "billed": max(0, ln["billed"] + op[2])} for ln in target["lines"]]}
            else:
                claim = {**target, "claim_id": f"D{n}"}
            steps.append(("input", ("claim.submitted", {"claim": claim}, claim["received"])))
    return steps


def run(ref, run_settings, steps, *, roundtrip=False, twice=False, check=None) -> Harness:
    h = Harness(ref, run_settings)
    for kind, payload in steps:
        if kind == "attr":
            h.attribute(payload[0], payload[1], effective=payload[2])
            continue
        type_, data, at = payload
        event = h.feed(type_, data, key=SUB, at=at)
        if twice:
            again, _ = adjudicate(h.inputs[-1], h.families[SUB], h.ctx)
            assert canonical(again) == canonical(event)
        if roundtrip:
            h.families[SUB] = FamilyState.from_dict(orjson.loads(h.families[SUB].to_bytes()))
        if check is not None:
            check(h)
    return h


PROPERTY = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _lines(event):
    data = event["data"]
    return [(ln, 1) for ln in data.get("lines", ())] + [(ln, -1) for ln in data.get("reversed_lines", ())]


@PROPERTY
@given(scenarios())
def test_every_line_allowed_equals_paid_plus_cost_share_plus_offset_plus_sequestration(scenario):
    ref, run_settings, payer, ops = scenario
    h = run(ref, run_settings, build_inputs(payer, ops))
    for event in h.ledger:
        for ln, sign in _lines(event):
            parts = (ln["plan_paid"], ln["cost_share"], ln["cap_offset"], ln["sequestration"])
            assert ln["allowed"] == sum(parts), ln
            assert all(sign * p >= 0 for p in parts), ln
            assert ln["cost_share"] == ln["deductible"] + ln["coinsurance"] + ln["copay"]
            assert sign * ln["allowed"] <= sign * ln["billed"] or ln["shadow_allowed"], ln


def _check_limits(h: Harness) -> None:
    state = h.families[SUB]  # the first input is always an enrollment
    design = h.ctx.plans["P"].designs[2025]
    multi = len(state.members) > 1
    for key, (fam_ded, fam_oop, members) in state.acc.items():
        assert fam_ded >= 0 and fam_oop >= 0
        for ded, oop in members.values():
            assert ded >= 0 and oop >= 0
            if design.part_b or design.embedded or not multi:
                assert ded <= design.ded_ind
                if design.oop_ind is not None:
                    assert oop <= design.oop_ind
        if not design.part_b:
            assert fam_ded <= design.ded_fam
            if design.oop_fam is not None:
                assert fam_oop <= design.oop_fam


@PROPERTY
@given(scenarios())
def test_accumulators_never_exceed_their_limits(scenario):
    ref, run_settings, payer, ops = scenario
    run(ref, run_settings, build_inputs(payer, ops), check=_check_limits)


@PROPERTY
@given(scenarios())
def test_voiding_every_claim_returns_all_accumulators_to_zero(scenario):
    ref, run_settings, payer, ops = scenario
    steps = build_inputs(payer, ops)
    h = run(ref, run_settings, steps)
    state = h.families[SUB]  # the first input is always an enrollment
    for root, record in state.to_dict()["claims"].items():
        if record["void"] is None:
            current = record["versions"][-1]["hdr"]
            claim = {"claim_id": f"VOID-{root}", "frequency": "8", "original_claim_id": root,
                     "member_id": current["member_id"], "subscriber_id": SUB, "payer_id": payer,
                     "billing_tin": current["practice_id"], "rendering_npi": current["rendering_npi"],
                     "place_of_service": "11", "received": "2025-12-31"}
            assert h.feed("claim.submitted", {"claim": claim}, key=SUB)["type"] == "claim.reversed"
    for fam_ded, fam_oop, members in state.acc.values():
        assert (fam_ded, fam_oop) == (0, 0)
        assert all(v == [0, 0] for v in members.values())
    assert state.to_dict()["paid"] == {} and state.paid == {} and state.visits == {}
    # Every payment was undone: plan paid sums to zero over the whole ledger.
    assert sum(ln["plan_paid"] for ev in h.ledger for ln, _ in _lines(ev)) == 0


@PROPERTY
@given(scenarios())
def test_replaying_the_inputs_with_serialized_state_rebuilds_the_same_ledger_and_states(scenario):
    ref, run_settings, payer, ops = scenario
    steps = build_inputs(payer, ops)
    live = run(ref, run_settings, steps)
    replayed = run(ref, run_settings, steps, roundtrip=True)
    assert [canonical(e) for e in replayed.ledger] == [canonical(e) for e in live.ledger]
    assert {k: s.to_bytes() for k, s in replayed.families.items()} == {
        k: s.to_bytes() for k, s in live.families.items()}


@PROPERTY
@given(scenarios())
def test_applying_any_input_twice_gives_the_same_ledger(scenario):
    ref, run_settings, payer, ops = scenario
    steps = build_inputs(payer, ops)
    once = run(ref, run_settings, steps)
    twice = run(ref, run_settings, steps, twice=True)
    assert [canonical(e) for e in twice.ledger] == [canonical(e) for e in once.ledger]
    assert twice.families[SUB].to_bytes() == once.families[SUB].to_bytes()
