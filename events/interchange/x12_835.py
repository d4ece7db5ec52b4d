"""X12 835 (005010X221A1) health care claim payment/advice: one transaction set (ST..SE) for
one payer, one payee TIN and one paid date, built from ledger claim entries and prospective
payments. `remit_files` groups the ledger into these transactions and writes the files.

Layout: BPR, TRN, DTM*405, payer (N1*PR, N3, N4, PER*BL), payee (N1*PE ... FI TIN), LX, then per
claim CLP / NM1*QC / NM1*82 / DTM*050 and per line SVC / DTM*472 / CAS / REF*6R / AMT*B6 / LQ*HE,
then PLB. Balances that hold by construction (and that the tests re-check on the parsed file):
line paid (SVC03) = billed (SVC02) - sum of its CAS; claim paid (CLP04) = sum of its SVC03;
BPR02 = sum of CLP04 - sum of PLB amounts.

Choices where DOMAIN.md is silent:
- Reversals: a void, and the replaced version inside a replacement, are a CLP with status 22 and
  every amount negated (charge, paid, CAS, allowed), CLP09 the void's or replacement's frequency;
  the replacement's own claim follows as a new CLP. Status 4 when every line is denied, else 1.
- PLB codes (PLB01 the payee TIN, PLB02 the 31 December of the paid year): prospective payments
  (CMF, CPCP, PBP, ESP, PPCP) are CT "capitation payment" with the amount negated (money to the
  practice); PBIP and PCF's performance adjustment on flat fees (PBA_FLAT_FEE, pay for
  performance, not capitation) are BN "bonus"; a negative payment (a recoupment or a true-up
  down, e.g. PBIP recouped at reconciliation) is WO "overpayment recovery" with a positive
  amount. One item per code and kind, its reference (PLB03-2) KIND + the months paid for (+ "ADJ"
  on true-ups of earlier months), so a transaction fits the single PLB segment of six
  adjustments.
- BPR02 may not be negative: when a day's claims and PLBs would leave the practice owing, a PLB FB
  "forwarding balance" (reference BALANCE) with a negative amount zeroes the payment, and the
  practice's next 835 from that payer applies it back (FB, positive; one FB item nets both).
  Balances still open at the end of the run are reported.
- Claim filing indicator (CLP06) by line of business: MB Medicare Part B, 16 Medicare Advantage
  (HMO Medicare risk), MC Medicaid, 12 (PPO) commercial. CLP07 (payer claim control number) is the
  ledger seq. CLP08 is the place of service. No names are simulated: NM1*QC carries only the
  member id, and the payer address is a fixed placeholder.
- BPR: `I` + CHK with the paid date as issue date; `H` + NON when the amount is 0.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from claimsim.events.interchange.adjustments import LineAdjustments, line_adjustments
from claimsim.events.interchange.x12_elements import identifier, name_text
from claimsim.events.plans import LineOfBusiness

FILING_INDICATOR = {
    LineOfBusiness.MEDICARE_FFS: "MB",
    LineOfBusiness.MEDICARE_ADVANTAGE: "16",
    LineOfBusiness.MEDICAID: "MC",
    LineOfBusiness.COMMERCIAL: "12",  # PPO (835 has no plain "commercial" code)
}
PLB_CAPITATION, PLB_BONUS, PLB_RECOVERY, PLB_FORWARD = "CT", "BN", "WO", "FB"
PAY_FOR_PERFORMANCE = frozenset({"pbip", "pba_flat_fee"})  # BN when paid, WO when recouped
STATUS_PROCESSED, STATUS_DENIED, STATUS_REVERSAL = "1", "4", "22"
PLB_PER_SEGMENT = 6


def amount(cents: int) -> str:
    """X12 decimal: dollars with no trailing zeros after the point (15070 -> 150.7)."""
    sign = "-" if cents < 0 else ""
    whole, frac = divmod(abs(cents), 100)
    return f"{sign}{whole}" if frac == 0 else f"{sign}{whole}.{frac:02d}".rstrip("0")


def ccyymmdd(day: str) -> str:
    return day.replace("-", "")


@dataclass(slots=True)
class PlbItem:
    code: str
    reference: str
    amount: int  # cents: positive reduces the payment, negative adds to it


@dataclass(slots=True)
class TransactionTotals:
    """What one transaction paid, for its balance and the run's summary."""

    claims: int = 0  # CLP segments
    reversals: int = 0  # CLP with status 22
    lines: int = 0
    billed: int = 0
    claim_paid: int = 0  # sum of CLP04
    plb: int = 0  # sum of PLB amounts
    payment: int = 0  # BPR02
    derived_lines: int = 0
    forwarded: int = 0  # FB balance still owed after this transaction
    segments: list[str] = field(default_factory=list)


def plb_items(payments: list[dict[str, Any]]) -> list[PlbItem]:
    """Prospective payments and recoupments as provider-level adjustments (see the docstring):
    one item per code, kind and whether it adjusts earlier months, its reference naming the
    months paid for (KIND + first month + '-' + last month, + 'ADJ' on true-ups, whose months
    are the ones they correct: `adjusts_month`, not the month they were booked in)."""
    merged: dict[tuple[str, str, bool], list] = {}
    for p in payments:
        cents = p["amount"]
        if not cents:
            continue
        code = (PLB_RECOVERY if cents < 0 else PLB_BONUS if p["kind"] in PAY_FOR_PERFORMANCE
                else PLB_CAPITATION)
        entry = merged.setdefault((code, p["kind"], bool(p.get("adjusts_month"))), [0, []])
        entry[0] += cents
        # a true-up names the month it corrects, not the month it was booked in
        entry[1].append((p.get("adjusts_month") or p["month"]).replace("-", ""))
    items = []
    for (code, kind, adjusts), (cents, months) in merged.items():
        first, last = min(months), max(months)
        # (X12's basic character set has no underscore: PBA_FLAT_FEE is PBAFLATFEE)
        ref = (kind.upper().replace("_", "") + first + ("" if first == last else "-" + last)
               + ("ADJ" if adjusts else ""))
        items.append(PlbItem(code, ref, -cents))
    return _fit(items)


def _fit(items: list[PlbItem]) -> list[PlbItem]:
    """At most six adjustments, the one PLB segment pyx12 4.0 accepts (it reads a second PLB as
    a second footer loop): past six, items merge by code, their references joined."""
    if len(items) <= PLB_PER_SEGMENT:
        return items
    by_code: dict[str, PlbItem] = {}
    for it in items:
        got = by_code.setdefault(it.code, PlbItem(it.code, "", 0))
        got.amount += it.amount
        got.reference = (got.reference + "+" + it.reference).strip("+")[:50]
    return list(by_code.values())


def _svc(line: dict[str, Any], adj: LineAdjustments, modifiers: tuple[str, ...],
         owner: str) -> list[str]:
    codes = [identifier(line["procedure"], "procedure code", owner),
             *(identifier(m, "modifier", owner) for m in modifiers[:4])]
    procedure = ":".join(("HC", *codes))
    segs = [f"SVC*{procedure}*{amount(line['billed'])}*{amount(line['plan_paid'])}**{line['units']}",
            f"DTM*472*{ccyymmdd(line['service_date'])}"]
    for group in dict.fromkeys(a.group for a in adj.adjustments):
        reasons = [a for a in adj.adjustments if a.group == group]
        for i in range(0, len(reasons), 6):  # a CAS segment holds six reasons
            body = "*".join(f"{a.carc}*{amount(a.amount)}*" for a in reasons[i:i + 6])
            segs.append(f"CAS*{group}*{body.rstrip('*')}")
    segs.append(f"REF*6R*{line['line_no']}")
    segs.append(f"AMT*B6*{amount(line['allowed'])}")
    segs.extend(f"LQ*HE*{r}" for r in adj.remarks)
    return segs


def claim_segments(claim_id: str, status: str, frequency: str, lines: list[dict[str, Any]],
                   record: dict[str, Any], totals: TransactionTotals) -> None:
    """One CLP loop (claim, patient, rendering provider, received date, its service lines)."""
    adjs = [line_adjustments(ln, claim_id) for ln in lines]
    billed = sum(ln["billed"] for ln in lines)
    paid = sum(ln["plan_paid"] for ln in lines)
    patient = sum(a.patient_responsibility for a in adjs)
    d = record["d"]
    owner = f"claim {claim_id!r} of payer {d.get('payer_id', '')!r}"
    claim_id = identifier(claim_id, "claim id", owner)
    segs = totals.segments
    segs.append(f"CLP*{claim_id}*{status}*{amount(billed)}*{amount(paid)}*{amount(patient)}"
                f"*{record['filing']}*{record['seq']}*{record['pos']}*{frequency}")
    segs.append(f"NM1*QC*1******MI*{identifier(d['member_id'], 'member id', owner)}")
    if d.get("rendering_npi"):
        segs.append(f"NM1*82*1******XX*{identifier(d['rendering_npi'], 'rendering NPI', owner)}")
    segs.append(f"DTM*050*{ccyymmdd(d['received'])}")
    modifiers = record.get("mods", {})
    for ln, adj in zip(lines, adjs):
        segs.extend(_svc(ln, adj, tuple(modifiers.get(str(ln["line_no"]), ())), owner))
    totals.claims += 1
    totals.reversals += status == STATUS_REVERSAL
    totals.lines += len(lines)
    totals.billed += billed
    totals.claim_paid += paid
    totals.derived_lines += sum(a.derived for a in adjs)


def claim_entry_segments(record: dict[str, Any], totals: TransactionTotals) -> None:
    """A ledger claim entry: the reversal CLP of the version it replaces or voids, if any, then
    (for an adjudication) its own CLP."""
    d = record["d"]
    freq = record["freq"]
    if d.get("reversed_lines"):
        claim_segments(d["reversed_claim_id"], STATUS_REVERSAL, freq, list(d["reversed_lines"]),
                       record, totals)
    if record["type"] == "claim.adjudicated":
        lines = list(d["lines"])
        status = (STATUS_DENIED if all(ln["status"] == "denied" for ln in lines)
                  else STATUS_PROCESSED)
        claim_segments(d["claim_id"], status, freq, lines, record, totals)


def _plb_segments(payee: str, paid: str, items: list[PlbItem]) -> list[str]:
    items = _fit([it for it in items if it.amount])
    if not items:
        return []
    body = "*".join(f"{it.code}:{it.reference}*{amount(it.amount)}" for it in items)
    return [f"PLB*{payee}*{paid[:4]}1231*{body}"]


@dataclass(frozen=True, slots=True)
class Party:
    """A payer (`id` its sender id, `x12_elements.sender_id`) or a payee (`id` its TIN)."""

    id: str
    name: str


def transaction(control: int, payer: Party, payee: Party, paid: str,
                claims: list[dict[str, Any]], payments: list[dict[str, Any]],
                carried_in: int) -> TransactionTotals:
    """One ST..SE transaction set. `carried_in` is what the payee still owes from an earlier
    transaction (a forwarding balance); the result's `forwarded` is what it owes after this one."""
    totals = TransactionTotals()
    body = totals.segments
    identifier(payer.id, "sender id", f"payer {payer.name!r}")
    identifier(payee.id, "TIN", f"practice {payee.name!r}")
    payer_name, payee_name = name_text(payer.name), name_text(payee.name)
    for record in claims:
        claim_entry_segments(record, totals)
    items = plb_items(payments)
    # One FB item: the balance applied from earlier (positive) less any moved to the next 835.
    net = totals.claim_paid - sum(it.amount for it in items) - carried_in
    totals.forwarded = max(0, -net)
    if carried_in or totals.forwarded:
        items.append(PlbItem(PLB_FORWARD, "BALANCE", carried_in - totals.forwarded))
    totals.plb = sum(it.amount for it in items)
    totals.payment = totals.claim_paid - totals.plb
    header = [f"ST*835*{control:04d}", _bpr(totals.payment, paid),
              f"TRN*1*{payer.id}-{payee.id}-{ccyymmdd(paid)}*{payer_tin(payer.id)}",
              f"DTM*405*{ccyymmdd(paid)}",
              f"N1*PR*{payer_name}", "N3*NOT ON FILE", "N4*ANYTOWN*MD*21201",
              f"PER*BL*{payer_name}*EM*remittance@example.org",
              f"N1*PE*{payee_name}*FI*{payee.id}"]
    if body:
        header.append("LX*1")
    totals.segments = header + body + _plb_segments(payee.id, paid, items)
    totals.segments.append(f"SE*{len(totals.segments) + 1}*{control:04d}")
    return totals


def _bpr(cents: int, paid: str) -> str:
    if cents == 0:
        return f"BPR*H*0*C*NON{'*' * 12}{ccyymmdd(paid)}"
    return f"BPR*I*{amount(cents)}*C*CHK{'*' * 12}{ccyymmdd(paid)}"


def payer_tin(payer_id: str) -> str:
    """TRN03: '1' + a nine-digit number, fixed per payer id (no simulated EINs exist)."""
    digits = "".join(str(ord(ch) % 10) for ch in payer_id)
    return "1" + (digits + "000000000")[:9]


def interchange_header(control: int, sender: str, receiver: str, day: str) -> str:
    """ISA and GS opening one interchange with one functional group (`~` + newline ended).
    `sender` and `receiver` are 1-15 characters (`x12_elements.sender_id`): ISA06/08 padded."""
    if not (0 < len(sender) <= 15 and 0 < len(receiver) <= 15):
        raise ValueError(f"interchange ids must be 1-15 characters: {sender!r}, {receiver!r}")
    segs = [f"ISA*00*{' ' * 10}*00*{' ' * 10}*ZZ*{sender:<15}*ZZ*{receiver:<15}"
            f"*{ccyymmdd(day)[2:]}*0000*^*00501*{control:09d}*0*P*:",
            f"GS*HP*{sender}*{receiver}*{ccyymmdd(day)}*0000*{control}*X*005010X221A1"]
    return "~\n".join(segs) + "~\n"


def interchange_trailer(control: int, transactions: int) -> str:
    return f"GE*{transactions}*{control}~\nIEA*1*{control:09d}~\n"


def segments_text(segments: list[str]) -> str:
    return "~\n".join(segments) + "~\n"
