"""The fold's membership concern (input log): members and their enrollment spans, alignment
choices, quality reports, and the chronic conditions of submitted claims waiting for their
ledger entry.
"""

from __future__ import annotations

from sys import intern
from typing import TYPE_CHECKING, Any

import orjson

from claimsim.adjudication.projections.diagnoses import claim_conditions

if TYPE_CHECKING:
    from claimsim.adjudication.projections.state import PayerState

# Positions in an enrollment span, members[id]["spans"][i] = [payer, start, end or None].
SPAN_PAYER, SPAN_START, SPAN_END = range(3)
# Positions in an alignment choice, alignments[member][i] = [effective, practice, payer].
ALIGN_EFFECTIVE, ALIGN_PRACTICE, ALIGN_PAYER = range(3)

KEYS = ("members", "alignments", "quality", "pending_dx")


def reset(state: PayerState) -> None:
    state.members: dict[str, dict[str, Any]] = {}  # member -> facts and "spans"
    state.alignments: dict[str, list[list]] = {}  # member -> alignment choices
    state.quality: dict[str, dict[str, list[int]]] = {}  # "payer|practice" -> year -> [q, u]
    state.pending_dx: dict[str, list[str]] = {}  # input seq -> conditions on that claim


def enrolled(state: PayerState, env: dict[str, Any]) -> None:
    d = env["data"]
    m = state.members.get(d["member_id"])
    if m is None:  # the member's id, interned: every concern's per-member dict shares the one key
        m = state.members[intern(d["member_id"])] = {"spans": []}
    # Every member holds these few payer, plan and date strings: one shared copy of each
    # (`sys.intern`), not one per decoded event, keeps the fold's memory per member small.
    payer = intern(d["payer_id"])
    m.update(sub=d["subscriber_id"], payer=payer, plan=intern(d["plan_id"]),
             birth=intern(str(d["birth_date"])), sex=intern(d["sex"]), hospice=bool(d.get("hospice")),
             qmb=bool(d.get("qmb")))
    m["spans"].append([payer, intern(str(d["start"])),
                       None if d.get("end") is None else intern(str(d["end"]))])
    state._payer_members.pop(d["payer_id"], None)
    state.dirty[d["member_id"]] = True


def terminated(state: PayerState, env: dict[str, Any]) -> None:
    """End the member's spans with the payer that cover the termination date on that date."""
    d = env["data"]
    m = state.members.get(d["member_id"])
    if m is None:
        return
    end = str(d["end"])
    for span in m["spans"]:
        if span[SPAN_PAYER] == d["payer_id"] and span[SPAN_START] <= end and (
                span[SPAN_END] is None or span[SPAN_END] > end):
            span[SPAN_END] = end
    state.dirty[d["member_id"]] = True


def aligned(state: PayerState, env: dict[str, Any]) -> None:
    d = env["data"]
    state.alignments.setdefault(d["member_id"], []).append(
        [str(d["effective"]), d["practice_id"], d["payer_id"]])


def quality(state: PayerState, env: dict[str, Any]) -> None:
    d = env["data"]
    state.quality.setdefault(f"{d['payer_id']}|{d['practice_id']}", {})[
        str(d["performance_year"])] = [d["quality_bp"], d["utilization_bp"]]


def submitted(state: PayerState, env: dict[str, Any]) -> None:
    """Keep the chronic conditions diagnosed on a submitted claim until its ledger entry says
    it was adjudicated (ledger lines carry no diagnoses; the input claim does). Diagnoses are
    claim-level, as an 837P's diagnosis pointers make them."""
    conds = claim_conditions(orjson.dumps(env["data"]))
    if conds:
        state.pending_dx[str(env["seq"])] = conds


def enrolled_on(state: PayerState, member: str, payer: str, day: str) -> bool:
    m = state.members.get(member)
    if m is None:
        return False
    for p, start, end in m["spans"]:
        if p == payer and start <= day and (end is None or day <= end):
            return True
    return False


INPUT_HANDLERS = {
    "member.enrolled": enrolled,
    "member.terminated": terminated,
    "alignment.declared": aligned,
    "practice.quality_reported": quality,
    "claim.submitted": submitted,
}
