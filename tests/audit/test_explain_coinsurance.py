"""`audit explain claim` recomputes coinsurance as the engine does, the out-of-pocket room left
before the line included: a cap is named only where the member's or family's room explains it,
and a coinsurance edited in the ledger (lowered, or zeroed and moved to plan paid so the line
still adds up) is a `!!`, not a silent "capped" or a dropped step."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from claimsim.adjudication.audit.claim_story import ClaimStory
from claimsim.adjudication.audit.explain import explain_claim
from claimsim.events.log import read
from claimsim.events.money import dollars

from ..fixtures.damaged_runs import copy, rewrite_log, run


@pytest.fixture(scope="module")
def whole(tmp_path_factory):
    return run(tmp_path_factory.mktemp("coins") / "r")


def _coinsurance_line(run_dir):
    for env in read(run_dir / "ledger"):
        if env["type"] == "claim.adjudicated" and not env["data"]["reversed_lines"]:
            for i, ln in enumerate(env["data"]["lines"]):
                if ln["coinsurance"] > 0 and not ln["copay"] and not ln["capitated"]:
                    return env["seq"], i, env["data"]["claim_id"], ln
    raise AssertionError("the run has no coinsurance line")


def _edited(whole, dst, coins_after):
    seq, i, claim_id, line = _coinsurance_line(whole)
    edited = copy(whole, dst)

    def change(bodies):
        ln = bodies[seq]["data"]["lines"][i]
        moved = ln["coinsurance"] - coins_after
        ln["coinsurance"], ln["cost_share"] = coins_after, ln["cost_share"] - moved
        ln["plan_paid"] += moved  # allowed = plan paid + cost share + ... still holds
        return bodies

    rewrite_log(edited / "ledger", change)
    return edited, claim_id, line


def _coinsurance_text(run_dir, claim_id, line) -> str:
    text = explain_claim(run_dir, claim_id)
    rest = line["allowed"] - line["deductible"]
    return next(t for t in text if f"coinsurance (PR-2):" in t and f"x {dollars(rest)} =" in t)


def test_a_real_coinsurance_line_is_recomputed_without_a_mark(whole):
    _, _, claim_id, line = _coinsurance_line(whole)
    text = _coinsurance_text(whole, claim_id, line)
    assert text.endswith(f"= {dollars(line['coinsurance'])}") and "!!" not in text


def test_a_lowered_coinsurance_is_a_mismatch_not_an_oop_cap(whole, tmp_path):
    edited, claim_id, line = _edited(whole, tmp_path / "e", coins_after=1)
    text = _coinsurance_text(edited, claim_id, line)
    assert "capped" not in text
    assert text.endswith(f"= {dollars(line['coinsurance'])}  !! the ledger says $0.01")


def test_a_zeroed_coinsurance_still_shows_its_step_with_a_mismatch(whole, tmp_path):
    edited, claim_id, line = _edited(whole, tmp_path / "e", coins_after=0)
    text = _coinsurance_text(edited, claim_id, line)
    assert text.endswith(f"= {dollars(line['coinsurance'])}  !! the ledger says $0.00")


def _design(**kw):
    base = dict(coinsurance_bp=2000, oop_individual=10_000, oop_family=20_000, embedded=True,
                part_b_style=False, copays={})
    return SimpleNamespace(**{**base, **kw})


def test_the_oop_cap_is_named_with_the_room_left_and_checked():
    """$500 allowed, no deductible, 20 %: $100 coinsurance, but the member had $9,960 of a
    $10,000 maximum met: $40 of room, so $40 is owed."""
    story = ClaimStory(ref=None, plans={"S1-01": [], "S1-02": []})
    line = {"member_id": "S1-01", "allowed": 50_000, "coinsurance": 4_000}
    (text,) = story._coinsurance(line, _design(oop_individual=1_000_000,
                                               oop_family=2_000_000), 50_000, 0, 996_000, 996_000)
    assert text == ("  coinsurance (PR-2): 20 % x $500.00 = $100.00, capped by the out-of-pocket"
                    " maximum ($40.00 left before the line, $0.00 of it to the deductible) ="
                    " $40.00")
    line["coinsurance"] = 3_000
    (text,) = story._coinsurance(line, _design(oop_individual=1_000_000,
                                               oop_family=2_000_000), 50_000, 0, 996_000, 996_000)
    assert text.endswith("= $40.00  !! the ledger says $30.00")


def test_a_non_embedded_family_plan_caps_by_the_family_room_only():
    """Non-embedded, two members: the member's own total does not limit; the family's does."""
    story = ClaimStory(ref=None, plans={"S1-01": [], "S1-02": []})
    line = {"member_id": "S1-01", "allowed": 50_000, "coinsurance": 10_000}
    (text,) = story._coinsurance(line, _design(embedded=False), 50_000, 0, 10_000, 0)
    assert "capped" not in text and "!!" not in text
