"""The X12 835 export: every file passes pyx12's 005010X221A1 validation, and the balances a
practice reconciles hold on the parsed files (line, claim, transaction), reversals and PLB
recoupments included; worked examples for the CAS derivation and the forwarding balance."""

from __future__ import annotations

import io
from collections import Counter
from pathlib import Path

import pytest
import pyx12.params
import pyx12.x12n_document

from claimsim.events.interchange import InterchangeError
from claimsim.events.interchange.adjustments import line_adjustments
from claimsim.events.interchange.x12_835 import Party, amount, plb_items, transaction
from claimsim.events.log import read


def cents(text: str) -> int:
    """An X12 decimal back to cents, exactly (no float)."""
    sign = -1 if text.startswith("-") else 1
    whole, _, frac = text.lstrip("-").partition(".")
    return sign * (int(whole or 0) * 100 + int((frac + "00")[:2]))


def segments(path: Path) -> list[list[str]]:
    return [s.strip().split("*") for s in path.read_text().split("~") if s.strip()]


def transactions(path: Path) -> list[list[list[str]]]:
    out, current = [], None
    for seg in segments(path):
        if seg[0] == "ST":
            current = [seg]
        elif current is not None:
            current.append(seg)
            if seg[0] == "SE":
                out.append(current)
                current = None
    return out


def pyx12_errors(path: Path) -> str:
    """pyx12's JSON error report for one file ('' when it accepts the file)."""
    errors = io.StringIO()
    ok = pyx12.x12n_document.x12n_document(pyx12.params.params(), str(path), None, None, None,
                                           errors)
    return "" if ok else errors.getvalue()[:2000]


def ledger_money(run_dir: Path) -> tuple[int, int]:
    """(plan paid over every claim entry, net of reversals; prospective payments), from the ledger."""
    paid = prospective = 0
    for env in read(run_dir / "ledger"):
        d = env["data"]
        if env["type"] in ("claim.adjudicated", "claim.reversed"):
            paid += sum(ln["plan_paid"] for k in ("lines", "reversed_lines") for ln in d.get(k, ()))
        elif env["type"] == "payment.prospective":
            prospective += d["amount"]
    return paid, prospective


CASES = ("*22*", "WO:", "FB:", "LQ*HE*N78")  # reversal, recoupment, forwarding, QMB remark


def test_835_files_with_reversals_recoupments_and_forwarding_pass_pyx12(demo_run, exported):
    # The files holding each hard case (the slow tests below validate every file).
    files = sorted(exported(demo_run, "835").glob("*.835"))
    chosen = {next(f for f in files if case in f.read_text()) for case in CASES}
    failures = {f.name: e for f in sorted(chosen) if (e := pyx12_errors(f))}
    assert failures == {}


@pytest.mark.slow
def test_every_835_passes_pyx12(any_run, exported):
    files = sorted(exported(any_run, "835").glob("*.835"))
    assert len(files) > 10
    failures = {f.name: e for f in files if (e := pyx12_errors(f))}
    assert failures == {}


def _check_transaction(t: list[list[str]]) -> tuple[int, int, Counter]:
    """Asserts line, claim and transaction balances; returns (sum CLP04, BPR02, PLB by code)."""
    bpr = cents(t[1][2])
    assert t[1][0] == "BPR" and bpr >= 0
    clp_paid = 0
    plb: Counter = Counter()
    claim = None
    for seg in t:
        if seg[0] == "CLP":
            _close_claim(claim)
            claim = {"charge": cents(seg[3]), "paid": cents(seg[4]), "svc_charge": 0, "svc_paid": 0}
            clp_paid += claim["paid"]
        elif seg[0] == "SVC":
            claim["svc_charge"] += cents(seg[2])
            claim["svc_paid"] += cents(seg[3])
            claim["line"] = [cents(seg[2]), cents(seg[3]), 0]
        elif seg[0] == "CAS":
            claim["line"][2] += sum(cents(seg[i]) for i in range(3, len(seg), 3))
        elif seg[0] in ("REF", "AMT") and claim and "line" in claim:
            billed, paid, adjusted = claim["line"]
            assert paid == billed - adjusted  # line paid = billed - sum CAS
        elif seg[0] == "PLB":
            for i in range(3, len(seg), 2):
                plb[seg[i].split(":")[0]] += cents(seg[i + 1])
    _close_claim(claim)
    assert bpr == clp_paid - sum(plb.values())  # BPR02 = sum CLP04 - sum PLB
    assert int(t[-1][1]) == len(t)  # SE01 counts the segments
    return clp_paid, bpr, plb


def _close_claim(claim: dict | None) -> None:
    if claim is not None:
        assert claim["paid"] == claim["svc_paid"]  # claim paid = sum of line paid
        assert claim["charge"] == claim["svc_charge"]


def test_835_balances_hold_and_carry_every_ledger_dollar(any_run, exported):
    out = exported(any_run, "835")
    clp_total = bpr_total = 0
    plb_total: Counter = Counter()
    statuses: Counter = Counter()
    clps: dict[tuple[str, str], list[int]] = {}
    for f in sorted(out.glob("*.835")):
        for t in transactions(f):
            paid, bpr, plb = _check_transaction(t)
            clp_total, bpr_total = clp_total + paid, bpr_total + bpr
            plb_total.update(plb)
            for seg in t:
                if seg[0] == "CLP":
                    statuses[seg[2]] += 1
                    clps.setdefault((seg[1], seg[2]), []).append(cents(seg[4]))
    ledger_paid, prospective = ledger_money(any_run)
    assert clp_total == ledger_paid
    # Prospective payments are CT/BN (negative: money to the practice), recoupments WO.
    assert plb_total["CT"] + plb_total["BN"] + plb_total["WO"] == -prospective
    assert plb_total["WO"] > 0 and plb_total["CT"] < 0  # recoupments and payments both present
    assert bpr_total == clp_total - sum(plb_total.values())
    # Every reversal (CLP02 = 22) negates a claim version paid on an earlier 835.
    assert statuses["22"] > 0
    for (claim_id, status), paid in clps.items():
        if status == "22":
            earlier = clps.get((claim_id, "1"), []) + clps.get((claim_id, "4"), [])
            assert all(-p in earlier for p in paid), claim_id


def _line(**kw):
    base = dict(line_no=1, procedure="99213", units=1, service_date="2025-01-02", billed=20_000, allowed=10_000, plan_paid=8_000, cost_share=2_000,
                deductible=0, coinsurance=2_000, copay=0, cap_offset=0, sequestration=0,
                medicaid_cost_share=0, status="paid", remarks=[],
                adjustments=[{"group": "CO", "carc": "45", "amount": 10_000},
                             {"group": "PR", "carc": "2", "amount": 2_000}])
    return {**base, **kw}


def test_qmb_line_with_zero_pr_adjustment_takes_the_coinsurance_from_the_line():
    # QMB: coinsurance $20.00 is on the line (Medicaid owes it), but the ledger's PR-2 says 0.
    line = _line(medicaid_cost_share=2_000, adjustments=[
        {"group": "CO", "carc": "45", "amount": 10_000}, {"group": "PR", "carc": "2", "amount": 0}])
    adj = line_adjustments(line, "C1")
    assert [tuple(a) for a in adj.adjustments] == [("CO", "45", 10_000), ("PR", "2", 2_000)]
    assert adj.derived and adj.remarks == ("N782",)
    assert adj.patient_responsibility == 2_000  # 200.00 - 100.00 - 20.00 = 80.00 paid


def test_a_line_that_does_not_balance_is_named():
    with pytest.raises(InterchangeError, match="claim C9 line 1: .* 500 cents"):
        line_adjustments(_line(plan_paid=7_500), "C9")


def _claim(seq: int, lines: list[dict], reversed_lines=()) -> dict:
    return {"type": "claim.adjudicated", "seq": seq, "pos": "11", "freq": "1", "filing": "MB",
            "mods": {}, "d": {"claim_id": f"C{seq}", "member_id": "M1", "rendering_npi": "1",
                              "received": "2025-01-02", "lines": lines,
                              "reversed_lines": list(reversed_lines),
                              "reversed_claim_id": "C0" if reversed_lines else None}}


def test_a_reversal_larger_than_the_day_is_forwarded_then_applied():
    payer, payee = Party("P", "Payer"), Party("T", "Practice")
    neg = _line(billed=-20_000, allowed=-10_000, plan_paid=-8_000, cost_share=-2_000,
                coinsurance=-2_000, adjustments=[{"group": "CO", "carc": "45", "amount": -10_000},
                                                 {"group": "PR", "carc": "2", "amount": -2_000}])
    # Day 1: a void takes back $80.00 and nothing else is paid -> BPR02 0, FB -80.00 forwarded.
    void = {**_claim(1, []), "type": "claim.reversed"}
    void["d"]["reversed_lines"], void["d"]["reversed_claim_id"] = [neg], "C0"
    t1 = transaction(1, payer, payee, "2025-02-01", [void], [], carried_in=0)
    assert (t1.claim_paid, t1.payment, t1.forwarded) == (-8_000, 0, 8_000)
    assert "PLB*T*20251231*FB:BALANCE*-80" in t1.segments
    assert "CLP*C0*22*-200*-80*-20*MB*1*11*1" in t1.segments
    # Day 2: a $80.00 claim and a $25.00 CMF; the $80.00 owed is applied -> BPR02 25.00.
    t2 = transaction(1, payer, payee, "2025-02-02", [_claim(2, [_line()])],
                     [{"amount": 2_500, "kind": "cmf", "month": "2025-02"}], carried_in=8_000)
    assert (t2.claim_paid, t2.plb, t2.payment, t2.forwarded) == (8_000, 5_500, 2_500, 0)
    assert "PLB*T*20251231*CT:CMF202502*-25*FB:BALANCE*80" in t2.segments
    assert t2.segments[1] == "BPR*I*25*C*CHK************20250202"


def test_plb_codes_for_payments_bonuses_and_recoupments():
    items = plb_items([{"amount": 1_000, "kind": "cmf", "month": "2025-07"},
                       {"amount": 1_000, "kind": "cmf", "month": "2025-08"},
                       {"amount": 300, "kind": "pbip", "month": "2025-07"},
                       {"amount": -450, "kind": "pbip", "month": "2026-03",
                        "adjusts_month": "2025-12"}])
    assert [(i.code, i.reference, i.amount) for i in items] == [
        ("CT", "CMF202507-202508", -2_000), ("BN", "PBIP202507", -300),
        ("WO", "PBIP202512ADJ", 450)]  # the year-end recoupment names December 2025


def test_pcf_performance_adjustment_on_flat_fees_is_a_bonus_or_a_recovery():
    """Pay for performance like PBIP (BN when paid, WO when negative), not capitation; X12's
    basic character set has no underscore, so the reference names the kind PBAFLATFEE."""
    items = plb_items([{"amount": 980, "kind": "pba_flat_fee", "month": "2026-04"},
                       {"amount": -327, "kind": "pba_flat_fee", "month": "2026-07"}])
    assert [(i.code, i.reference, i.amount) for i in items] == [
        ("BN", "PBAFLATFEE202604", -980), ("WO", "PBAFLATFEE202607", 327)]


def test_a_true_up_names_the_months_it_corrects_not_the_month_it_was_booked():
    """Two CMF true-ups booked in July 2025, of April and of May: one item (same code, kind and
    'adjusts'), its reference the corrected months; the July payment itself stays apart."""
    items = plb_items([{"amount": 1_000, "kind": "cmf", "month": "2025-07"},
                       {"amount": 120, "kind": "cmf", "month": "2025-07", "adjusts_month": "2025-04"},
                       {"amount": 80, "kind": "cmf", "month": "2025-07", "adjusts_month": "2025-05"}])
    assert [(i.code, i.reference, i.amount) for i in items] == [
        ("CT", "CMF202507", -1_000), ("CT", "CMF202504-202505ADJ", -200)]
    alone = plb_items([{"amount": 80, "kind": "cmf", "month": "2025-07",
                        "adjusts_month": "2025-05"}])
    assert [i.reference for i in alone] == ["CMF202505ADJ"]


@pytest.mark.parametrize("cents_in, text", [(15074, "150.74"), (15070, "150.7"), (15000, "150"),
                                            (0, "0"), (-5, "-0.05"), (-100, "-1")])
def test_x12_amounts_are_exact_and_short(cents_in, text):
    assert amount(cents_in) == text
    assert cents(text) == cents_in
