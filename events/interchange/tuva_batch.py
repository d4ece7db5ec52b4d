"""The Tuva `medical_claim` reader's fast path: a whole record batch checked and converted column by
column with pyarrow.compute, so the per-row Python left is building each `ClaimLine`.

Each column's parser (`ingest_model.day`, `.cents`, `.units`, ...) runs once per distinct value
in the batch, not once per row (a batch has few distinct dates, codes or places of service), and
Arrow maps the answers back onto the rows. A row any check fails is handed whole to the row
reader (`tuva_ingest._claim_line`), which names the first bad column as it always has, so the
fast path changes speed only: every good row gives the same `ClaimLine` and every bad row the
same `Rejection` (tests/interchange/test_ingest_speed_path.py compares the two paths).
"""

from __future__ import annotations

from typing import Any, Callable

import pyarrow as pa
import pyarrow.compute as pc

from claimsim.events.codes import PLACES_OF_SERVICE
from claimsim.events.interchange import ingest_model as m
from claimsim.events.interchange.ingest_model import BadValue, ClaimLine

_NULL = pa.scalar(None, pa.string())


class Mapped:
    """A column parsed per distinct value: `ok` is false only where the parser refused a value
    (null cells are ok here; required columns check `present`)."""

    __slots__ = ("index", "values", "ok", "present")

    def __init__(self, column: pa.Array | None, parse: Callable[[str], Any], n: int):
        if column is None:
            self.index, self.values = pa.nulls(n, pa.int32()), []
            self.ok, self.present = pa.array([True] * n), pa.array([False] * n)
            return
        keys, self.values = [], []
        for value in pc.unique(column).drop_null().to_pylist():
            try:
                parsed = parse(value)
            except BadValue:
                continue
            keys.append(value)
            self.values.append(parsed)
        self.index = pc.index_in(column, value_set=pa.array(keys, pa.string()))
        self.present = pc.is_valid(column)
        self.ok = pc.or_(pc.invert(self.present), pc.is_valid(self.index))

    def pylist(self, default: Any = None) -> list[Any]:
        values = self.values
        return [default if i is None else values[i] for i in self.index.to_pylist()]

    def arrow(self, type_: pa.DataType) -> pa.Array:
        return pa.array(self.values, type_).take(self.index)


def _blank_is_null(column: pa.Array) -> pa.Array:
    return pc.if_else(pc.equal(column, ""), _NULL, column)


def _first(cols: dict[str, pa.Array], *names: str) -> pa.Array | None:
    """The first non-null of the named columns, row by row (None: none of them exists)."""
    present = [cols[n] for n in names if n in cols]
    if not present:
        return None
    return present[0] if len(present) == 1 else pc.coalesce(*present)


def _place(value: str) -> str:
    pos = value.zfill(2)
    pos = m.POS_ALIASES.get(pos, pos)
    if pos not in PLACES_OF_SERVICE:
        raise BadValue(m.RowReason.BAD_CODE, pos)
    return pos


def _code(value: str) -> str:
    code = value.upper()
    if len(code) != 5 or not code.isalnum():
        raise BadValue(m.RowReason.BAD_CODE, code)
    return code


def _professional(value: str) -> bool:
    if value.lower() != "professional":
        raise BadValue(m.RowReason.NOT_PROFESSIONAL, value)
    return True


def claim_lines(name: str, first: int, text: dict[str, pa.Array], present,
                slow: Callable[[int, dict[str, Any]], Any], icd10: Callable[[str], str]) -> list:
    """The batch's rows in order, each a `ClaimLine` or what `slow(row, cells)` (the row reader)
    makes of a row the fast checks refused. `text`: the batch's trimmed text columns."""
    # Long: one columnar pass (parse every column, combine their validity masks, zip the rows,
    # hand refused rows to `slow`); the two dozen parsed columns meet in one zip, and steps
    # apart would pass them all between them.
    cols = {k: _blank_is_null(v) for k, v in text.items()}
    n = len(next(iter(cols.values())))
    required = []  # (Mapped or a plain column, must be non-null)
    mapped: dict[str, Mapped] = {}

    def parse(key: str, column: pa.Array | None, fn, needed: bool) -> Mapped:
        mp = mapped[key] = Mapped(column, fn, n)
        if needed:
            required.append(mp.present)
        return mp

    if present.claim_type:
        parse("claim_type", cols.get("claim_type"), _professional, True)
    for key in ("claim_id", "payer", "plan", "billing_tin"):
        required.append(pc.is_valid(cols[key]) if key in cols else pa.array([False] * n))
    member = _first(cols, "member_id", "person_id")
    npi = _first(cols, "rendering_npi", "billing_npi")
    for column in (member, npi):
        required.append(pc.is_valid(column) if column is not None else pa.array([False] * n))
    line_no = parse("line_no", cols.get("claim_line_number"), m.line_number, True)
    service = parse("service", _first(cols, "claim_line_start_date", "claim_start_date"), m.day, True)
    end = parse("end", cols.get("claim_end_date"), m.day, True)
    pos = parse("pos", cols.get("place_of_service_code"), _place, True)
    code = parse("code", cols.get("hcpcs_code"), _code, True)
    units = parse("units", cols.get("service_unit_quantity"), m.units, False)
    received = parse("received", cols.get("received_date"), m.day, False)
    paid_date = parse("paid_date", cols.get("paid_date"), m.day, False)
    amounts = [parse(c, cols.get(c), m.cents, False) for c in
               ("charge_amount", "allowed_amount", "paid_amount", "deductible_amount",
                "coinsurance_amount", "copayment_amount")]
    mods = [parse(c, cols.get(c), str.upper, False) for c in present.modifiers]
    dx = [parse(c, cols.get(c), icd10, False) for c in present.diagnoses]
    roles = parse("role", cols.get("rendering_specialty"), m.role_of_specialty, False)

    ok = pa.array([True] * n)
    for mask in (*required, *(mp.ok for mp in mapped.values())):
        ok = pc.and_(ok, mask)
    service_iso, end_iso = service.arrow(pa.string()), end.arrow(pa.string())
    ok = pc.and_(ok, pc.fill_null(pc.greater_equal(end_iso, service_iso), False))

    charge, allowed = amounts[0].pylist(), amounts[1].pylist()
    billed = [c if c is not None else (a if a is not None else 0) for c, a in zip(charge, allowed)]
    mod_rows = zip(*(mp.pylist() for mp in mods)) if mods else [()] * n
    dx_rows = zip(*(mp.pylist() for mp in dx)) if dx else [()] * n
    new = tuple.__new__  # ClaimLine(...) without the namedtuple's Python-level __new__ frame
    lines = [
        new(ClaimLine, (name, row, claim_id, line, mem, payer, plan, tin, rnpi, place, day, last,
                        proc, tuple(filter(None, mod)), unit, bill, allow, paid, ded, coins, copay,
                        tuple(filter(None, diag)), rec, pdate, role, None, "0"))
        for row, claim_id, line, mem, payer, plan, tin, rnpi, place, day, last, proc, mod, unit,
        bill, allow, paid, ded, coins, copay, diag, rec, pdate, role in zip(
            range(first, first + n), _py(cols.get("claim_id"), n), line_no.pylist(),
            _py(member, n), _py(cols.get("payer"), n), _py(cols.get("plan"), n),
            _py(cols.get("billing_tin"), n), _py(npi, n), pos.pylist(), service_iso.to_pylist(),
            end_iso.to_pylist(), code.pylist(), mod_rows, units.pylist(1), billed, allowed,
            *(a.pylist() for a in amounts[2:]), dx_rows, received.pylist(), paid_date.pylist(),
            roles.pylist())
    ]
    good = ok.to_pylist()
    if all(good):
        return lines
    names = list(text)
    bad = pc.invert(ok)
    bad_rows = pc.indices_nonzero(bad).to_pylist()
    bad_cells = zip(*(text[c].filter(bad).to_pylist() for c in names))
    for i, values in zip(bad_rows, bad_cells):
        lines[i] = slow(first + i, dict(zip(names, values)))
    return lines


def _py(column: pa.Array | None, n: int) -> list:
    return column.to_pylist() if column is not None else [None] * n
