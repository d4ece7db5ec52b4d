"""The fold's visits-and-FFS concern (ledger claim entries): each adjudicated or reversed entry's
lines, a service date at a time, become money (`fold.money`), the member's primary-care visit
counters, expected-FFS amounts by procedure group, and the chronic conditions of its claim (from
its lines' diagnoses on a v2 entry; from the submitted claim, waiting in `pending_dx`, on v1).

Visits and FFS are appended per claim entry and day and summed when read (`PayerState.visit_days`,
`prospective.expected_ffs`): an append costs the hot path less than updating a keyed counter.
Rows are most of the fold's memory and are read only at boundaries and in reports, so they are
kept packed (`fold.packed`: a member's rows one `bytes`, a few thousand distinct practice, day,
month and group strings as small ints).
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING, Any, Final

import msgspec
import orjson

from claimsim.events.codes import DATED_CODES, ProcedureGroup, procedure_group_on
from claimsim.events.registry import EventError

from claimsim.adjudication.projections.claim_entry import ClaimData, ClaimLine, claim_data
from claimsim.adjudication.projections.diagnoses import line_conditions
from claimsim.adjudication.projections.fold.flat_fees import book as book_flat_fee
from claimsim.adjudication.projections.fold.money import book_leakage, book_lines
from claimsim.adjudication.projections.fold.packed import Codes, LatestDates
from claimsim.adjudication.projections.fold.rows import PackedRows

if TYPE_CHECKING:
    from claimsim.adjudication.projections.state import PayerState

# Module constants are `Final`: compiled (mypyc), a Final name is a C static or an inlined literal,
# where any other module-level name is a lookup in the module's globals on every use.
QUALIFYING: Final = frozenset({ProcedureGroup.PC_EM.value, ProcedureGroup.AWV.value,
                        ProcedureGroup.CARE_MGMT.value})
AWV: Final = ProcedureGroup.AWV.value
PC_EM: Final = ProcedureGroup.PC_EM.value
PCF: Final = "pcf"  # `ProgramKind.PCF`: its attributed members' E&M lines are paid the flat fee
CCM_CODES: Final = frozenset({"99490", "99491", "99487", "99489"})

# Positions in a visit row, visits[member][i] = [practice, day, qualifying lines by primary-care
# clinicians, AWV lines, CCM lines, allowed on the counted lines] (negative on reversals).
V_PRACTICE: Final = 0
V_DAY: Final = 1
V_QUALIFYING: Final = 2
V_AWV: Final = 3
V_CCM: Final = 4
V_ALLOWED: Final = 5
# Positions in `PayerState.visit_days`' sums per "practice|day".
VD_QUALIFYING, VD_AWV, VD_CCM, VD_ALLOWED = range(4)
# Positions in an FFS row, ffs[member][i] = [practice, service month, procedure group, amount].
F_PRACTICE, F_MONTH, F_GROUP, F_AMOUNT = range(4)

KEYS = ("visits", "ffs", "dx")


def decoded_key(name: str) -> str:
    """`name` as the one str object orjson hands out for it as a key (orjson keeps each short key
    it decodes in a cache and gives every decoded dict that same object). A dict lookup finds a
    key by identity before it compares strings, and a literal is another object (interned), so
    looking a decoded entry's fields up with orjson's objects skips a string comparison per
    field. Only the speed depends on it: should orjson's cache drop one, lookups compare again."""
    for key in orjson.loads(orjson.dumps({name: 0})):
        return str(key)
    return name


# How many entries `fold.follow.follow` folds between two renewals of `FIELDS`.
RENEW_EVERY: Final = 4096


class Fields:
    """The envelope fields the fold reads, as the decoded entries' key objects (`decoded_key`; a
    claim entry's data is a `claim_entry.ClaimData`). orjson's cache keeps one object per slot: a
    process that decodes many other keys (a payment entry's member ids) puts new objects in their
    place, and lookups with the old ones compare strings again (the same answers, only slower).
    So `fold.follow.follow` renews them every RENEW_EVERY entries it folds (`renew`, some 50 us)."""

    data: str
    cause: str
    type: str
    seq: str
    at: str
    seen: int

    def __init__(self) -> None:
        self.seen = 0
        self.renew()

    def renew(self) -> None:
        self.data = decoded_key("data")
        self.cause = decoded_key("cause")
        self.type = decoded_key("type")
        self.seq = decoded_key("seq")
        self.at = decoded_key("at")


FIELDS: Final = Fields()


# The packed layouts (`struct` formats) of a visit row and an FFS row; strings at V_PRACTICE,
# V_DAY and F_PRACTICE, F_MONTH, F_GROUP.
VISIT_ROW, FFS_ROW = "IIiiiq", "IIIq"
# `day` packs a row and its link in the store (`rows.PackedRows.push`) itself, with the bound
# `pack`s of these: compiled, a call of a bound method held in a static skips looking the method
# up on every row.
_PACK_VISIT: Final = struct.Struct("<" + VISIT_ROW + "I").pack
_PACK_FFS: Final = struct.Struct("<" + FFS_ROW + "I").pack
# A claim entry's struct (`claim_entry.ClaimData`, `ClaimLine`) as the tuple of its fields, read by
# position (`L_*`, `D_*`): compiled, reading a struct's attribute is a generic getattr
# (type lookup, descriptor; some 200 instructions), one call of this and a tuple's item far less.
_FIELDS_OF: Final = msgspec.structs.astuple
# The positions of those fields, read off the structs at import (not literals: a compiled copy of
# this module then always reads the structs as they are, even ones changed after it was built).
# Typed `int`: msgspec is not installed where the fold is compiled, so `index` would be Any and
# every `row[L_*]` a generic item lookup with a boxed index; an int indexes a tuple natively.
_LINE: Final = ClaimLine.__struct_fields__
L_ALLOWED: Final[int] = _LINE.index("allowed")
L_ATTRIBUTED: Final[int] = _LINE.index("attributed")
L_CAP_OFFSET: Final[int] = _LINE.index("cap_offset")
L_CAPITATED: Final[int] = _LINE.index("capitated")
L_COST_SHARE: Final[int] = _LINE.index("cost_share")
L_DIAGNOSES: Final[int] = _LINE.index("diagnoses")
L_MEDICAID_COST_SHARE: Final[int] = _LINE.index("medicaid_cost_share")
L_PLAN_PAID: Final[int] = _LINE.index("plan_paid")
L_PROCEDURE: Final[int] = _LINE.index("procedure")
L_PROGRAM: Final[int] = _LINE.index("program")
L_SEQUESTRATION: Final[int] = _LINE.index("sequestration")
L_SERVICE_DATE: Final[int] = _LINE.index("service_date")
L_SHADOW_ALLOWED: Final[int] = _LINE.index("shadow_allowed")
L_STATUS: Final[int] = _LINE.index("status")
_DATA: Final = ClaimData.__struct_fields__
D_FREQUENCY: Final[int] = _DATA.index("frequency")
D_LINES: Final[int] = _DATA.index("lines")
D_MEMBER_ID: Final[int] = _DATA.index("member_id")
D_PAID: Final[int] = _DATA.index("paid")
D_PAYER_ID: Final[int] = _DATA.index("payer_id")
D_PRACTICE_ID: Final[int] = _DATA.index("practice_id")
D_RENDERING_NPI: Final[int] = _DATA.index("rendering_npi")
D_REVERSED_LINES: Final[int] = _DATA.index("reversed_lines")


def reset(state: PayerState) -> None:
    codes = state._codes
    state.visits = PackedRows(VISIT_ROW, (V_PRACTICE, V_DAY), codes)  # member -> visit rows
    state.ffs = PackedRows(FFS_ROW, (F_PRACTICE, F_MONTH, F_GROUP), codes)  # member -> FFS rows
    state.dx = LatestDates(codes)  # member -> condition -> last service date
    state._claims = Reads(state)


class Reads:
    """What the claims fold reads of the state on every claim day, as a compiled object's typed
    fields: read off a `PayerState` (a Python object) each is a generic attribute lookup, some
    250 instructions, seven per claim day. Made by `reset`, after `PayerState.__init__` set the
    reference's sets; the stores are the state's own, made there and only ever loaded in place
    (`PayerState.restore`), so these stay the state's."""

    def __init__(self, state: PayerState) -> None:
        self.groups: dict[str, str] = state._groups
        self.tracked: frozenset[str] = state._tracked
        self.pc_npis: frozenset[str] = state._pc_npis
        self.codes: Codes = state._codes
        self.visits: PackedRows = state.visits
        self.ffs: PackedRows = state.ffs
        self.dx: LatestDates = state.dx


def adjudicated(state: PayerState, env: dict[str, Any]) -> None:
    data: Any = env[FIELDS.data]
    if type(data) is not ClaimData:  # not decoded by `entries`: read as the fold reads one
        data = claim_data(data, True)
    d: tuple[Any, ...] = _FIELDS_OF(data)
    cause = env[FIELDS.cause]
    dx = state.pending_dx.pop(str(cause), None) if cause is not None and state.pending_dx else None
    lines: list[Any] = d[D_LINES]
    rows = _rows(lines)
    if rows and rows[0][L_DIAGNOSES] is not None:  # v2: the lines carry them
        dx = conditions_of(rows, lines)
    elif state.input_dx_skipped:
        raise EventError("a claim entry without its lines' diagnoses after the ledger's first"
                         " claim entry carried them (ledger versions only go up)",
                         seq=env.get("seq"))
    paid: Any = d[D_PAID]
    # Narrowed to a str, the slice is a native one; on `Any` it builds a slice object first.
    paid_month = paid[:7] if isinstance(paid, str) else paid[:7]
    if d[D_REVERSED_LINES]:
        lines_by_day(state, d, _rows(d[D_REVERSED_LINES]), -1, paid_month, True, None)
    if len(rows) == 1 and not dx:  # the common case, without the day grouping
        day(state, d, rows[0][L_SERVICE_DATE], rows, 1, paid_month, d[D_FREQUENCY] == "7")
    else:
        lines_by_day(state, d, rows, 1, paid_month, d[D_FREQUENCY] == "7", dx)


def _rows(lines: list[Any]) -> list[tuple[Any, ...]]:
    """A claim entry's `ClaimLine`s as tuples of their fields (`_FIELDS_OF`)."""
    return [_FIELDS_OF(line) for line in lines]


# A code -> the conditions of lines that all carry that one code and no other (`conditions_of`).
_ONE_CODE: Final[dict[str, list[str]]] = {}


def conditions_of(rows: list[tuple[Any, ...]], lines: list[Any]) -> list[str]:
    """`diagnoses.line_conditions(lines)` (the reference), answered here for the common claim whose
    every line carries the same single code: looked up by that code, without leaving the
    compiled fold or building the tuple key the reference caches on. Anything else (several
    codes, lines that differ, values a ledger written by the engine never holds) is the
    reference's to answer, errors included. `rows` are the `lines` as tuples (`_rows`)."""
    first: Any = rows[0][L_DIAGNOSES]
    if type(first) is not list or len(first) != 1:
        return line_conditions(lines)
    code: Any = first[0]
    if type(code) is not str:
        return line_conditions(lines)
    for row in rows:
        dx: Any = row[L_DIAGNOSES]
        if type(dx) is not list or len(dx) != 1 or dx[0] != code:
            return line_conditions(lines)
    found = _ONE_CODE.get(code)
    if found is None:
        found = line_conditions(lines)
        if len(_ONE_CODE) < 100_000:
            _ONE_CODE[code] = found
    return found


def reversed_(state: PayerState, env: dict[str, Any]) -> None:
    data: Any = env[FIELDS.data]
    if type(data) is not ClaimData:
        data = claim_data(data, False)
    d: tuple[Any, ...] = _FIELDS_OF(data)
    state.pending_dx.pop(str(env[FIELDS.cause]), None)
    lines_by_day(state, d, _rows(d[D_REVERSED_LINES]), -1, str(d[D_PAID])[:7], True, None)


def drop_pending(state: PayerState, env: dict[str, Any]) -> None:
    """A rejected claim or one with no effect: forget the conditions its submission carried."""
    if env.get(FIELDS.cause) is not None:
        state.pending_dx.pop(str(env[FIELDS.cause]), None)


def lines_by_day(state: PayerState, d: tuple[Any, ...], lines: list[tuple[Any, ...]],
                 sign: int, paid_month: str, adjustment: bool, conds: list[str] | None) -> None:
    """Fold one claim entry's lines (sign -1 for reversal lines), a service date at a time
    (a claim's lines nearly always share one, so the hot path touches each row once). `d` is the
    entry's `ClaimData` and `lines` its `ClaimLine`s as tuples (`_FIELDS_OF`, `_rows`)."""
    if not lines:
        return
    first = last = lines[0][L_SERVICE_DATE]
    one_day = True
    for line in lines:  # a loop, not all(<generator>): this path runs for most claims
        if line[L_SERVICE_DATE] != first:
            one_day = False
            break
    if one_day:
        day(state, d, first, lines, sign, paid_month, adjustment)
    else:
        for line in lines:
            day(state, d, line[L_SERVICE_DATE], [line], sign, paid_month, adjustment)
        last = max(line[L_SERVICE_DATE] for line in lines)
    if conds and sign > 0:
        state.dx.note(d[D_MEMBER_ID], conds, last)


def day(state: PayerState, d: tuple[Any, ...], day: str, lines: list[tuple[Any, ...]],
        sign: int, paid_month: str, adjustment: bool) -> None:
    """The lines of one claim entry serviced on one day: money by service and paid month, and,
    when any line is of a tracked procedure group, visits, expected FFS and leakage. The lines
    are tuples of a `ClaimLine`'s fields (`_rows`), `d` the entry's `ClaimData`'s."""
    # Long: the per-line sums stay in typed locals in this one loop, not a NamedTuple per line:
    # this runs for every ledger claim entry and is the fold's hot path (compiled: setup.py).
    reads: Reads = state._claims
    groups, tracked = reads.groups, reads.tracked
    plan = offsets = cost_share = medicaid = allowed = sequestration = shadow = 0
    qual = qual_allowed = awv = ccm = 0
    by_group: dict[str, int] | None = None
    capitated_plan: list[tuple[str, int]] | None = None  # (group, plan paid) of tracked lines
    for line in lines:
        p: int = line[L_PLAN_PAID]
        a: int = line[L_ALLOWED]
        o: int = line[L_CAP_OFFSET]
        share: int = line[L_COST_SHARE]
        plan += p
        offsets += o
        allowed += a
        cost_share += share
        qmb: int = line[L_MEDICAID_COST_SHARE]
        held: int = line[L_SEQUESTRATION]
        medicaid += qmb
        sequestration += held
        if line[L_CAPITATED]:
            # Shadow FFS: what the line would have paid as FFS, plus the shadow price above
            # allowed when that adds in the entry's direction (reversal amounts are negative).
            extra: int = line[L_SHADOW_ALLOWED] - a
            shadow += p + o + (extra if extra * sign > 0 else 0)
        procedure: str = line[L_PROCEDURE]
        group = groups.get(procedure)
        if group is None and procedure in DATED_CODES:  # counts only while valid
            dated = procedure_group_on(procedure, day)
            group = None if dated is None else dated.value
        if group is None or group not in tracked:
            continue
        denied = line[L_STATUS] == "denied"
        # Attribution counts only lines in force and not denied, in every step (DOMAIN.md §6):
        # a CPC+ practice's denied CCM must not win the CCM pre-step.
        if group in QUALIFYING and not denied:
            qual += 1
            qual_allowed += a
            if group == AWV:
                awv += sign
            elif procedure in CCM_CODES:
                ccm += sign
        if not denied:
            if group == PC_EM and line[L_PROGRAM] == PCF and line[L_ATTRIBUTED]:
                # PCF's flat visit fee (engine.programs: a PCF practice's qualifying E&M line
                # for its attributed member, the program active), for the boundary's
                # performance adjustment on flat fees (DOMAIN.md §4).
                book_flat_fee(state, d[D_PAYER_ID], d[D_PRACTICE_ID], d[D_MEMBER_ID], day[:7],
                              p, sign)
            if by_group is None:
                by_group = {}
            # FFS the payer would owe for it: allowed less the member's cost share (plan paid +
            # offset + sequestration). CPCP/PPCP replace that share (DOMAIN.md §4), so basing
            # them on allowed would pay practices the members' cost share a second time.
            by_group[group] = by_group.get(group, 0) + a - share
        if capitated_plan is None:
            capitated_plan = []
        capitated_plan.append((group, p))
    payer: str = d[D_PAYER_ID]
    practice: str = d[D_PRACTICE_ID]
    service_month = day[:7]  # one slice for the money row and the FFS rows
    row = book_lines(state.money, payer, practice, service_month, paid_month, adjustment,
                     plan, offsets, cost_share, medicaid, allowed, sequestration, shadow)
    if capitated_plan is None:
        return
    counted = 0
    codes = reads.codes
    member: str = d[D_MEMBER_ID]
    where, when = codes.of(practice), codes.of(day)  # the visit and FFS rows' text columns
    visit = qual or awv or ccm
    slot = codes.slot_of(member) if visit or by_group is not None else -1
    if visit:
        counted = _counted(state, reads.pc_npis, d, practice, day, sign, qual)
        visits = reads.visits
        head = visits.head(slot)
        visits.push(slot, _PACK_VISIT(where, when, counted, awv, ccm,
                                      qual_allowed if counted else 0, head), head)
    if by_group is not None:
        month, ffs = codes.of(service_month), reads.ffs
        for g, amount in by_group.items():
            head = ffs.head(slot)
            ffs.push(slot, _PACK_FFS(where, month, codes.of(g), amount, head), head)
    book_leakage(state, payer, practice, member, day, row, counted, capitated_plan)


def _counted(state: PayerState, pc_npis: frozenset[str], d: tuple[Any, ...], practice: str,
             day: str, sign: int, qual: int) -> int:
    """The qualifying lines that count as primary-care visits: those rendered by a primary-care
    clinician (`pc_npis`: the state's); a void names no NPI, so it takes back what its original
    counted that day."""
    npi = d[D_RENDERING_NPI]
    if npi is None:
        if sign < 0 and qual:
            return -min(qual, qualifying_on(state, d[D_MEMBER_ID], practice, day))
        return 0
    return sign * qual if npi in pc_npis else 0


def qualifying_on(state: PayerState, member: str, practice: str, day: str) -> int:
    """`state.visit_days(member)[practice|day][VD_QUALIFYING]` (0 for none), read off the packed
    rows on their codes instead of decoding every row the member has (voids ask it)."""
    code = state._codes.code
    where, when = code.get(practice), code.get(day)
    if where is None or when is None:
        return 0
    total = 0
    for row in state.visits.records(member):  # one unpacking a row, its link with it
        if row[V_PRACTICE] == where and row[V_DAY] == when:
            qualifying: int = row[V_QUALIFYING]
            total += qualifying
    return total


LEDGER_HANDLERS = {
    "claim.adjudicated": adjudicated,
    "claim.reversed": reversed_,
    "claim.rejected": drop_pending,
    "no_effect": drop_pending,
}
