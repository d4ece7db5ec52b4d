"""A run's X12 835 files, written with flat memory: one file per payer and paid month
(`SENDER_YYYYMM.835`, one interchange; SENDER the payer's sender id, `x12_elements.sender_id`,
so the name holds only A-Z, 0-9 and `-`), holding one transaction per payee TIN and paid date.

An 835 groups by paid date, but the ledger is in input order. Two passes keep memory flat:
pass 1 streams the ledger once and appends each claim entry and prospective payment, as one
compact JSON line, to a spill file for its paid date (a small LRU of open handles: the ledger is
nearly in paid-date order, so few files are open at once); pass 2 reads the spill files in date
order, one day in memory at a time, groups that day by payer and payee, and writes the 835s.
Memory is one day's claims plus one forwarding balance per payer x payee, whatever the run's
length. The spill folder lives inside the output folder and is removed at the end.
"""

from __future__ import annotations

import shutil
import tempfile
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import IO, Any

import orjson

from claimsim.events.interchange.records import ClaimRecord, PaymentRecord
from claimsim.events.interchange.x12_835 import (
    FILING_INDICATOR, Party, interchange_header, interchange_trailer, segments_text, transaction)
from claimsim.events.interchange.x12_elements import sender_id
from claimsim.events.reference import ReferenceData

RECEIVER = "CLEARINGHOUSE"  # ISA08/GS03: the practices' clearinghouse (one file, many payees)


class DaySpill:
    """Append-only JSON-lines buckets, one file per paid date, with a bounded set of open files."""

    def __init__(self, folder: Path, max_open: int = 32):
        self.folder = folder
        self.max_open = max_open
        self._open: OrderedDict[str, IO[bytes]] = OrderedDict()
        self._days: set[str] = set()

    def add(self, day: str, row: dict[str, Any]) -> None:
        handle = self._open.get(day)
        if handle is None:
            if len(self._open) >= self.max_open:
                self._open.popitem(last=False)[1].close()
            handle = open(self.folder / f"{day}.jsonl", "ab")
            self._open[day] = handle
            self._days.add(day)
        else:
            self._open.move_to_end(day)
        handle.write(orjson.dumps(row) + b"\n")

    def close(self) -> None:
        for handle in self._open.values():
            handle.close()
        self._open.clear()

    def days(self) -> list[str]:
        return sorted(self._days)

    def read(self, day: str) -> list[dict[str, Any]]:
        with open(self.folder / f"{day}.jsonl", "rb") as f:
            return [orjson.loads(line) for line in f]


@dataclass(slots=True)
class RemitSummary:
    files: int = 0
    transactions: int = 0
    claims: int = 0  # CLP segments (a replacement counts twice: its reversal and itself)
    reversals: int = 0
    lines: int = 0
    billed: int = 0
    claim_paid: int = 0  # sum of CLP04
    plb: int = 0  # sum of PLB amounts
    payment: int = 0  # sum of BPR02
    derived_lines: int = 0  # lines whose CAS came partly from the amount fields
    forwarded_open: int = 0  # forwarding balances still owed at the end of the run
    ledger_paid: int = 0  # the ledger's own sum of plan paid over claim entries, for the check
    ledger_prospective: int = 0  # the ledger's own sum of prospective payments

    def balances(self) -> bool:
        """Every dollar of the ledger is on an 835 and the transactions balance: claim paid is the
        ledger's plan paid, BPR02 = CLP04 - PLB, and the PLBs are the prospective payments
        (negated) less the forwarding balances still open."""
        return (self.claim_paid == self.ledger_paid
                and self.payment == self.claim_paid - self.plb
                and self.plb == -self.ledger_prospective - self.forwarded_open)

    def add(self, other: Any) -> None:
        for f in fields(other):
            if f.name in ("segments", "forwarded"):
                continue
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))


def _spill_row(rec: ClaimRecord, reference: ReferenceData) -> dict[str, Any]:
    d = rec.data
    payer = reference.payer.get(d["payer_id"])
    mods = {str(k): v for k, v in rec.submitted.modifiers.items() if v}
    return {"type": rec.type, "seq": rec.seq, "pos": rec.submitted.place_of_service,
            "freq": rec.submitted.frequency, "mods": mods,
            "filing": FILING_INDICATOR.get(payer.lob, "ZZ") if payer else "ZZ", "d": d}


def _party(kind: dict[str, Any], key: str) -> Party:
    found = kind.get(key)
    return Party(key, found.name if found is not None else key)


def _payer(reference: ReferenceData, payer_id: str) -> Party:
    """The payer under its sender id; its full name stays in N1*PR."""
    found = reference.payer.get(payer_id)
    return Party(sender_id(payer_id), found.name if found is not None else payer_id)


def write_835(entries: Iterable[ClaimRecord | PaymentRecord], reference: ReferenceData,
              out_dir: Path, days_progress: Callable[[list[str]], Iterable[str]] = iter
              ) -> RemitSummary:
    """Every claim entry and prospective payment of `entries` into 835 files under `out_dir`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    summary = RemitSummary()
    work = Path(tempfile.mkdtemp(prefix=".spill-", dir=out_dir))
    spill = DaySpill(work)
    try:
        for rec in entries:
            if isinstance(rec, PaymentRecord):
                summary.ledger_prospective += rec.data["amount"]
                spill.add(rec.at, {"type": "payment", "seq": rec.seq, "d": rec.data})
                continue
            d = rec.data
            summary.ledger_paid += sum(ln["plan_paid"] for ln in d.get("lines", ()))
            summary.ledger_paid += sum(ln["plan_paid"] for ln in d.get("reversed_lines", ()))
            spill.add(rec.paid, _spill_row(rec, reference))
        spill.close()
        _write_days(spill, reference, out_dir, summary, days_progress)
    finally:
        spill.close()
        shutil.rmtree(work, ignore_errors=True)
    return summary


@dataclass(slots=True)
class _MonthFile:
    """One payer's 835 file for one paid month: an interchange that grows a day at a time."""

    handle: IO[str]
    control: int
    transactions: int = 0


def _write_days(spill: DaySpill, reference: ReferenceData, out_dir: Path, summary: RemitSummary,
                days_progress: Callable[[list[str]], Iterable[str]]) -> None:
    carried: dict[tuple[str, str], int] = {}  # forwarding balance per payer x payee
    files: dict[str, _MonthFile] = {}
    month = None
    for day in days_progress(spill.days()):
        if day[:7] != month:
            _close(files)
            month = day[:7]
        groups: dict[str, dict[str, tuple[list, list]]] = {}
        for row in spill.read(day):
            d = row["d"]
            claims, payments = groups.setdefault(d["payer_id"], {}).setdefault(
                d["practice_id"], ([], []))
            (payments if row["type"] == "payment" else claims).append(row)
        for payer_id in sorted(groups):
            payer = _payer(reference, payer_id)
            mf = files.get(payer_id)
            if mf is None:
                summary.files += 1
                path = out_dir / f"{payer.id}_{month.replace('-', '')}.835"
                mf = files[payer_id] = _MonthFile(open(path, "x"), summary.files)
                mf.handle.write(interchange_header(mf.control, payer.id, RECEIVER, day))
            for payee_id in sorted(groups[payer_id]):
                claims, payments = groups[payer_id][payee_id]
                claims.sort(key=lambda r: r["seq"])
                payments.sort(key=lambda r: r["seq"])
                key = (payer_id, payee_id)
                mf.transactions += 1
                t = transaction(mf.transactions, payer, _party(reference.practice, payee_id), day,
                                claims, [p["d"] for p in payments], carried.pop(key, 0))
                if t.forwarded:
                    carried[key] = t.forwarded
                summary.add(t)
                summary.transactions += 1
                mf.handle.write(segments_text(t.segments))
    _close(files)
    summary.forwarded_open = sum(carried.values())


def _close(files: dict[str, _MonthFile]) -> None:
    for mf in files.values():
        mf.handle.write(interchange_trailer(mf.control, mf.transactions))
        mf.handle.close()
    files.clear()
