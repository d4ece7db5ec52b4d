"""The fold's timelines concern (ledger epoch facts): each member's attribution, each practice's
program status with each payer, the members' risk facts at each epoch boundary, and which
members changed since the last boundary (to true up their paid months there).
Timelines follow `events.timeline` (a later fact replaces what was known from its date on).
"""

from __future__ import annotations

from sys import intern
from typing import TYPE_CHECKING, Any

from claimsim.events.timeline import set_from

from claimsim.adjudication.projections.fold.packed import shared

if TYPE_CHECKING:
    from claimsim.adjudication.projections.state import PayerState

# Positions in an attribution entry, attribution[member][i] = (effective, practice, basis).
A_EFFECTIVE, A_PRACTICE, A_BASIS = range(3)
# Positions in a status entry, status["payer|practice"][i] =
# [effective, active, attributed members, risk group, reason].
S_EFFECTIVE, S_ACTIVE, S_ATTRIBUTED, S_RISK_GROUP, S_REASON = range(5)
# Positions in a boundary, boundaries[i] = [epoch, boundary day, its ledger seq].
B_EPOCH, B_DAY, B_SEQ = range(3)

KEYS = ("attribution", "status", "facts", "dirty", "trueup", "boundaries")


def reset(state: PayerState) -> None:
    state.attribution: dict[str, list[list]] = {}  # member -> attribution entries
    state.status: dict[str, list[list]] = {}  # "payer|practice" -> status entries
    state.facts: dict[str, list[list]] = {}  # payer -> [[effective, {member: [risk, tier, complex]}]]
    state.dirty: dict[str, bool] = {}  # members whose paid months may need a true-up
    state.trueup: list[str] = []  # the dirty members as of the last boundary, to true up there
    state.boundaries: list[list] = []  # boundaries, in ledger order


def assigned(state: PayerState, env: dict[str, Any]) -> None:
    d = env["data"]
    practice = d["practice_id"]  # interned: every member's entries name a few of each
    # An entry is a tuple, one copy for every member given the same practice on the same day on
    # the same basis (a few thousand entries serve every member's timeline).
    set_from(state.attribution.setdefault(intern(d["member_id"]), []),
             shared(state, (intern(str(d["effective"])),
                            practice if practice is None else intern(practice), intern(d["basis"]))))


def corrected(state: PayerState, env: dict[str, Any]) -> None:
    d = env["data"]
    set_from(state.attribution.setdefault(d["member_id"], []),
             [str(d["effective"]), d["to_practice"], "corrected"])
    state.dirty[d["member_id"]] = True


def status(state: PayerState, env: dict[str, Any]) -> None:
    d = env["data"]
    set_from(state.status.setdefault(f"{d['payer_id']}|{d['practice_id']}", []),
             [str(d["effective"]), bool(d["active"]), d.get("attributed", 0),
              d.get("risk_group"), d.get("reason", "")])


def boundary(state: PayerState, env: dict[str, Any]) -> None:
    """Record the boundary, hand the members changed since the last one to the true-up, and
    the flat-fee lines paid since the last one to the performance adjustment on flat fees, and
    keep every payer's member risk facts as of the boundary."""
    from claimsim.adjudication.projections.fold.flat_fees import close
    from claimsim.adjudication.projections.risk import member_facts  # risk reads this state

    d = env["data"]
    day = str(d["boundary"])
    state.boundaries.append([d["epoch"], day, env["seq"]])
    state.trueup, state.dirty = sorted(state.dirty), {}
    close(state)
    for payer in sorted({m["payer"] for m in state.members.values()}):
        state.facts.setdefault(payer, []).append([day, member_facts(state, payer, day)])


LEDGER_HANDLERS = {
    "attribution.assigned": assigned,
    "attribution.corrected": corrected,
    "practice.status": status,
    "epoch.boundary": boundary,
}
