"""Invariants of the interchange package: it imports only `claimsim.events`, and any balanced
ledger line (allowed = plan paid + cost share + offset + sequestration) gives an 835 line and
claim that balance, with a reversal exactly the negation of its original."""

from __future__ import annotations

import ast
from pathlib import Path

from hypothesis import given, strategies as st

import claimsim.events.interchange as interchange
from claimsim.events.interchange.x12_835 import Party, transaction


def test_interchange_imports_only_events():
    folder = Path(interchange.__file__).parent
    for path in folder.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            for name in names:
                if name.startswith("claimsim"):
                    assert name.startswith("claimsim.events"), f"{path.name} imports {name}"


@st.composite
def ledger_lines(draw):
    allowed = draw(st.integers(0, 50_000))
    billed = allowed + draw(st.integers(0, 50_000))
    deductible = draw(st.integers(0, allowed))
    coinsurance = draw(st.integers(0, allowed - deductible))
    copay = draw(st.integers(0, allowed - deductible - coinsurance))
    cap_offset = draw(st.integers(0, allowed - deductible - coinsurance - copay))
    cost_share = deductible + coinsurance + copay
    plan_paid = allowed - cost_share - cap_offset
    qmb = draw(st.booleans())
    # QMB lines as the ledger writes them today: PR adjustments present but at 0.
    pr = [{"group": "PR", "carc": c, "amount": 0 if qmb else a}
          for c, a in (("1", deductible), ("2", coinsurance), ("3", copay)) if a]
    return {"line_no": 1, "procedure": "99213", "units": 1, "service_date": "2025-03-01",
            "billed": billed, "allowed": allowed, "plan_paid": plan_paid, "cost_share": cost_share,
            "deductible": deductible, "coinsurance": coinsurance, "copay": copay,
            "cap_offset": cap_offset, "sequestration": 0, "status": "paid", "remarks": [],
            "medicaid_cost_share": cost_share if qmb else 0,
            "adjustments": [{"group": "CO", "carc": "45", "amount": billed - allowed},
                            *([{"group": "CO", "carc": "24", "amount": cap_offset}]
                              if cap_offset else []), *pr]}


def negated(line: dict) -> dict:
    out = {k: -v if isinstance(v, int) and k not in ("line_no", "units") else v
           for k, v in line.items()}
    out["adjustments"] = [{**a, "amount": -a["amount"]} for a in line["adjustments"]]
    return out


def _amounts(segments: list[str], tag: str) -> list[str]:
    return [s for s in segments if s.startswith(tag)]


@given(st.lists(ledger_lines(), min_size=1, max_size=4))
def test_balanced_ledger_lines_give_balanced_835s_and_exact_reversals(lines):
    lines = [{**ln, "line_no": i} for i, ln in enumerate(lines, 1)]
    record = {"type": "claim.adjudicated", "seq": 5, "pos": "11", "freq": "7", "filing": "MB",
              "mods": {}, "d": {"claim_id": "C2", "member_id": "M1", "rendering_npi": "1",
                                "received": "2025-03-02", "lines": lines,
                                "reversed_lines": [negated(ln) for ln in lines],
                                "reversed_claim_id": "C1"}}
    t = transaction(1, Party("P", "P"), Party("T", "T"), "2025-03-16", [record], [], 0)
    assert t.claim_paid == 0 and t.payment == 0  # the replacement nets its reversal
    clps = _amounts(t.segments, "CLP*")
    assert clps[0].split("*")[2] == "22"
    original, reversal = clps[1].split("*"), clps[0].split("*")
    for i in (3, 4, 5):  # charge, paid, patient responsibility
        assert reversal[i] == ("-" + original[i] if original[i] != "0" else "0")
    svc = None
    for seg in t.segments:  # each line: billed - sum of its CAS = paid
        parts = seg.split("*")
        if parts[0] == "SVC":
            svc = [_cents(parts[2]), _cents(parts[3]), 0]
        elif parts[0] == "CAS":
            svc[2] += sum(_cents(parts[i]) for i in range(3, len(parts), 3))
        elif parts[0] == "REF":
            assert svc[0] - svc[2] == svc[1]


def _cents(text: str) -> int:
    sign = -1 if text.startswith("-") else 1
    whole, _, frac = text.lstrip("-").partition(".")
    return sign * (int(whole) * 100 + int((frac + "00")[:2]))
