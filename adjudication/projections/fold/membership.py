"""The fold's membership concern (input log): members and their enrollment spans, alignment
choices, quality reports, and the chronic conditions of submitted claims waiting for their
ledger entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from sys import intern
from typing import TYPE_CHECKING, Any

import orjson

from claimsim.adjudication.projections.diagnoses import claim_conditions
from claimsim.adjudication.projections.fold.packed import shared

if TYPE_CHECKING:
    from claimsim.adjudication.projections.state import PayerState

# Positions in an enrollment span, members[id]["spans"][i] = (payer, start, end or None).
SPAN_PAYER, SPAN_START, SPAN_END = range(3)


@dataclass(slots=True)
class Member:
    """A member's facts as the payer knows them (the latest enrollment's) and enrollment spans.

    A slotted record, not a dict: the fold holds one per member for the whole run (about 100
    bytes against 270 for the dict). It still reads as the dict it replaced (`m["payer"]`,
    `m.get("hospice")`), and orjson writes it as that dict: the fields are declared in sorted
    order, because orjson writes a dataclass's fields in declaration order and checkpoints are
    canonical JSON (sorted keys). Spans are tuples, replaced (never edited) when they change."""

    birth: str = ""
    hospice: bool = False
    payer: str = ""
    plan: str = ""
    qmb: bool = False
    sex: str = ""
    spans: tuple[tuple[str, str, str | None], ...] = ()
    sub: str = ""

    def __getitem__(self, key: str) -> Any:
        try:
            return getattr(self, key)
        except AttributeError:
            raise KeyError(key) from None

    def get(self, key: str, default: Any = None) -> Any:
        return getattr(self, key, default)

    @classmethod
    def of(cls, data: dict[str, Any]) -> Member:
        """From a checkpoint's dict."""
        return cls(birth=data["birth"], hospice=data["hospice"], payer=data["payer"],
                   plan=data["plan"], qmb=data["qmb"], sex=data["sex"],
                   spans=tuple(tuple(s) for s in data["spans"]), sub=data["sub"])
# Positions in an alignment choice, alignments[member][i] = [effective, practice, payer].
ALIGN_EFFECTIVE, ALIGN_PRACTICE, ALIGN_PAYER = range(3)

KEYS = ("members", "alignments", "quality", "pending_dx")


def reset(state: PayerState) -> None:
    state.members: dict[str, Member] = {}  # member -> facts and spans
    state.alignments: dict[str, list[list]] = {}  # member -> alignment choices
    state.quality: dict[str, dict[str, list[int]]] = {}  # "payer|practice" -> year -> [q, u]
    state.pending_dx: dict[str, list[str]] = {}  # input seq -> conditions on that claim


def enrolled(state: PayerState, env: dict[str, Any]) -> None:
    d = env["data"]
    m = state.members.get(d["member_id"])
    if m is None:  # the member's id, interned: every concern's per-member dict shares the one key
        m = state.members[intern(d["member_id"])] = Member()
    # Every member holds these few payer, plan and date strings: one shared copy of each
    # (`sys.intern`), not one per decoded event, keeps the fold's memory per member small (a
    # subscriber's own id is the member key's copy).
    payer = intern(d["payer_id"])
    m.sub, m.payer, m.plan = intern(d["subscriber_id"]), payer, intern(d["plan_id"])
    m.birth, m.sex = intern(str(d["birth_date"])), intern(d["sex"])
    m.hospice, m.qmb = bool(d.get("hospice")), bool(d.get("qmb"))
    span = (payer, intern(str(d["start"])), None if d.get("end") is None else intern(str(d["end"])))
    m.spans = shared(state, (*m.spans, shared(state, span)))
    state._payer_members.pop(d["payer_id"], None)
    state.dirty[d["member_id"]] = True


def terminated(state: PayerState, env: dict[str, Any]) -> None:
    """End the member's spans with the payer that cover the termination date on that date."""
    d = env["data"]
    m = state.members.get(d["member_id"])
    if m is None:
        return
    end = intern(str(d["end"]))
    m.spans = shared(state, tuple(
        shared(state, (payer, start, end)) if payer == d["payer_id"] and start <= end and (
            old is None or old > end) else (payer, start, old)
        for payer, start, old in m.spans))
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
    for p, start, end in m.spans:
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
