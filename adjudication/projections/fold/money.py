"""The fold's money concern (ledger): one claim entry's lines of one service date added to the
money rows of their service month and their paid month, and leakage (qualifying visits and
capitated services used elsewhere) added to the row of the practice the member is attributed to.
The row layout and its read-only view are `projections.money`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from claimsim.adjudication.projections import money as layout
from claimsim.adjudication.projections.money import row_of
from claimsim.adjudication.projections.fold.timelines import S_ACTIVE

if TYPE_CHECKING:
    from claimsim.adjudication.projections.state import PayerState

# `projections.money`'s row positions (its M_*) and `fold.timelines`' attribution entry positions,
# restated as Final literals: compiled, a Final literal is a C constant, where a name imported
# from a module that is not compiled is a lookup in this module's globals at every use (eight
# per claim entry here). Checked against the originals when the module loads.
M_FFS_SERVICE: Final = 0
M_FFS_PAID: Final = 1
M_OFFSETS: Final = 2
M_COST_SHARE: Final = 3
M_SHADOW: Final = 4
M_CLAIM_ADJ: Final = 5
M_LEAK_VISITS: Final = 6
M_ALL_VISITS: Final = 7
M_LEAK_COST: Final = 8
M_ALLOWED: Final = 9
M_SEQUESTRATION: Final = 10
M_MEDICAID_COST_SHARE: Final = 11
MONEY_WIDTH: Final = 12
A_EFFECTIVE: Final = 0
A_PRACTICE: Final = 1


def _check_layout() -> None:
    from claimsim.adjudication.projections.fold import timelines

    mine = (M_FFS_SERVICE, M_FFS_PAID, M_OFFSETS, M_COST_SHARE, M_SHADOW, M_CLAIM_ADJ,
            M_LEAK_VISITS, M_ALL_VISITS, M_LEAK_COST, M_ALLOWED, M_SEQUESTRATION,
            M_MEDICAID_COST_SHARE, MONEY_WIDTH, A_EFFECTIVE, A_PRACTICE)
    theirs = (layout.M_FFS_SERVICE, layout.M_FFS_PAID, layout.M_OFFSETS, layout.M_COST_SHARE,
              layout.M_SHADOW, layout.M_CLAIM_ADJ, layout.M_LEAK_VISITS, layout.M_ALL_VISITS,
              layout.M_LEAK_COST, layout.M_ALLOWED, layout.M_SEQUESTRATION,
              layout.M_MEDICAID_COST_SHARE, layout.MONEY_WIDTH, timelines.A_EFFECTIVE,
              timelines.A_PRACTICE)
    if mine != theirs:
        raise ImportError(f"fold.money's row positions {mine} are not the layout's {theirs}")


_check_layout()

KEYS = ("money",)


def reset(state: PayerState) -> None:
    state.money = {}  # "payer|practice|month" -> money row


def book_lines(money: dict[str, list[int]], payer: str, practice: str, month: str,
               paid_month: str, adjustment: bool, plan: int, offsets: int, cost_share: int,
               medicaid: int, allowed: int, sequestration: int, shadow: int) -> list[int]:
    """Add a day's sums to the service month's row of `payer` x `practice` and plan paid to the
    paid month's row (a claim adjustment there when `adjustment` re-pays an earlier month).
    `cost_share` is the lines' PR amounts and `medicaid` the QMB part of them Medicaid pays: the
    row keeps what members owe and Medicaid's part apart. Returns the service month's row.
    Sums are written `row[i] = row[i] + x`: compiled, `+=` on a list item is a generic Python
    addition, this an int one. Each key is built in one piece (`projections.money.row_of`'s
    "payer|practice|month"), not a prefix and a concatenation."""
    key = f"{payer}|{practice}|{month}"
    row = money.get(key)
    if row is None:
        row = money[key] = [0] * MONEY_WIDTH
    row[M_FFS_SERVICE] = row[M_FFS_SERVICE] + plan
    row[M_OFFSETS] = row[M_OFFSETS] + offsets
    row[M_COST_SHARE] = row[M_COST_SHARE] + cost_share - medicaid
    row[M_MEDICAID_COST_SHARE] = row[M_MEDICAID_COST_SHARE] + medicaid
    row[M_ALLOWED] = row[M_ALLOWED] + allowed
    row[M_SEQUESTRATION] = row[M_SEQUESTRATION] + sequestration
    row[M_SHADOW] = row[M_SHADOW] + shadow
    if month == paid_month:
        row[M_FFS_PAID] = row[M_FFS_PAID] + plan
    else:
        paid_key = f"{payer}|{practice}|{paid_month}"
        prow = money.get(paid_key)
        if prow is None:
            prow = money[paid_key] = [0] * MONEY_WIDTH
        prow[M_FFS_PAID] = prow[M_FFS_PAID] + plan
        if adjustment and month < paid_month:
            prow[M_CLAIM_ADJ] = prow[M_CLAIM_ADJ] + plan
    return row


def book_leakage(state: PayerState, payer: str, practice: str, member: str, day: str,
                 row: list[int], counted: int, capitated_plan: list[tuple[str, int]]) -> None:
    """Qualifying visits (`counted`, negative on reversals) count for the practice the member
    is attributed to on the day, as leakage when billed by another practice, which also leaks
    the plan paid for the groups the home practice's program capitates on that day: none while
    the program is not active for it (under its minimum volume it is treated as FFS, DOMAIN.md
    "Minimum volume", so nothing it is paid for is paid a second time)."""
    timeline = state.attribution.get(member)
    if not timeline:
        return
    home = practice_on(timeline, day)
    if home is None:
        return
    hrow = row if home == practice else row_of(state.money, payer, home, day[:7])
    if counted:
        hrow[M_ALL_VISITS] = hrow[M_ALL_VISITS] + counted
        if home != practice:
            hrow[M_LEAK_VISITS] = hrow[M_LEAK_VISITS] + counted
    if home != practice:
        groups_home = state.capitated_groups(payer, home, day)
        if not groups_home:
            return
        status = state.status_on(payer, home, day)
        if status is not None and not status[S_ACTIVE]:
            return  # under its minimum volume the home practice is paid FFS: nothing paid twice
        leak = sum(p for g, p in capitated_plan if g in groups_home)
        if leak:
            hrow[M_LEAK_COST] = hrow[M_LEAK_COST] + leak



def practice_on(timeline: list, day: str) -> str | None:
    """`events.timeline.value_at(timeline, day)` for an attribution timeline (entries in effective
    order, `fold.timelines.A_*`): the practice of the latest entry effective on or before `day`.
    Scanned from the newest entry, which is the one most claims find, instead of bisected
    through a Python key function (once per claim entry with tracked lines)."""
    for i in range(len(timeline) - 1, -1, -1):
        entry = timeline[i]
        if entry[A_EFFECTIVE] <= day:
            practice: str | None = entry[A_PRACTICE]
            return practice
    return None
