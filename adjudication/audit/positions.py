"""Where a run's ledger begins and ends, and the checks that keep a position a user gives (a
ledger seq, a date, a month) inside it: a read past the end would silently show the whole run
as if it were the state at that position.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from claimsim.events.errors import UserError
from claimsim.events.log import last_envelope, read


@dataclass(frozen=True)
class LedgerSpan:
    last_seq: int
    first_at: str
    last_at: str

    @classmethod
    def of(cls, run_dir: Path) -> LedgerSpan:
        ledger = Path(run_dir) / "ledger"
        first, last = next(read(ledger), None), last_envelope(ledger)
        if first is None or last is None:
            raise UserError(f"{ledger}: the ledger is empty")
        return cls(last["seq"], first["at"], last["at"])

    def check_seq(self, seq: int) -> int:
        if not 0 <= seq <= self.last_seq:
            raise UserError(f"ledger seq {seq:,} is outside the run (its ledger holds seq 0..{self.last_seq})")
        return seq

    def check_date(self, day: str, what: str = "date") -> str:
        if not self.first_at <= day <= self.last_at:
            raise UserError(f"{what} {day} is outside the run ({self.first_at}..{self.last_at})")
        return day

    def check_not_before(self, day: str, what: str = "date") -> str:
        if day < self.first_at:
            raise UserError(f"{what} {day} is outside the run (it begins {self.first_at};"
                            f" its ledger runs {self.first_at}..{self.last_at})")
        return day

    def check_month(self, month: str) -> str:
        first, last = self.first_at[:7], self.last_at[:7]
        if not first <= month <= last:
            raise UserError(f"month {month} is outside the run ({first}..{last})")
        return month
