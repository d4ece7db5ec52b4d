"""A run directory read for export: the ledger's claim entries joined with what was submitted.

The ledger says what the payer decided (amounts, CARCs, paid date); the input log says what the
practice sent (billing TIN, place of service, diagnoses, modifiers) and who the member is (plan,
birth date, sex, QMB). Both logs are in input order and every claim entry's `cause` is the input
seq it answers, so one forward merge join reads both streams side by side: memory holds the
members seen so far (one small record each), never the claims.

Only what the payer applied is exported: an input past the last one the ledger answers (a run
adjudicated part way) is not applied yet, and an enrollment, termination or alignment the
adjudication ignored (malformed, or sent under another family's key: its `no_effect` note says
why, `events.ignored`) is left out, as the projections leave it out; and the input is read as the
runtime read it (`read_checked`: a line it could not read is a pseudo-envelope, never a crash).

Choices where DOMAIN.md is silent: a member's facts are those of their latest applied
`member.enrolled` before the claim (a plan change re-enrols); a ledger claim entry whose cause is
not a submitted claim in the input log is a broken run directory, reported as an
`InterchangeError`. The run's coverage ends (`RunReader.coverage_end`) the day before run.json's
`service_end` (the simulated or ingested service period, exclusive), and no later than the day of
the last input the ledger answers: a run adjudicated part way has met no day after it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from claimsim.events.errors import UserError
from claimsim.events.ignored import answered_inputs
from claimsim.events.input_reader import read_checked
from claimsim.events.log import last_envelope, read, require_dir
from claimsim.events.reference import ReferenceData

CLAIM_TYPES = frozenset({"claim.adjudicated", "claim.reversed"})
PAYMENT_TYPE = "payment.prospective"
PROGRESS_EVERY = 2_000  # ledger entries between progress callbacks
MEMBERSHIP_TYPES = ("member.enrolled", "member.terminated")
RUN_FILE = "run.json"  # the run's settings and summary (`simulator.run_dir`, `ingest`)


class InterchangeError(UserError):
    """A run directory that cannot be exported as asked (missing log, broken join, bad line)."""


@dataclass(frozen=True, slots=True)
class MemberFacts:
    member_id: str
    subscriber_id: str
    payer_id: str
    plan_id: str
    birth_date: str
    sex: str
    relationship: str
    qmb: bool
    race: str = ""  # as the enrollment states it ('' when absent)

    @classmethod
    def of(cls, data: dict[str, Any]) -> MemberFacts:
        return cls(member_id=data["member_id"], subscriber_id=data["subscriber_id"],
                   payer_id=data["payer_id"], plan_id=data["plan_id"],
                   birth_date=data["birth_date"], sex=data.get("sex", "U"),
                   relationship=data.get("relationship", "self"), qmb=bool(data.get("qmb")),
                   race=data.get("race") or "")


@dataclass(frozen=True, slots=True)
class Submitted:
    """What the practice sent on the claim (the parts the ledger does not repeat)."""

    billing_tin: str
    place_of_service: str
    frequency: str
    diagnoses: dict[int, tuple[str, ...]]  # line_no -> ICD-10 codes
    modifiers: dict[int, tuple[str, ...]]

    @classmethod
    def of(cls, claim: dict[str, Any]) -> Submitted:
        lines = claim.get("lines") or ()
        return cls(billing_tin=str(claim.get("billing_tin", "")),
                   place_of_service=str(claim.get("place_of_service", "11")),
                   frequency=str(claim.get("frequency", "1")),
                   diagnoses={ln.get("line_no"): tuple(ln.get("diagnoses") or ()) for ln in lines},
                   modifiers={ln.get("line_no"): tuple(ln.get("modifiers") or ()) for ln in lines})


@dataclass(frozen=True, slots=True)
class ClaimRecord:
    """One ledger claim entry (`claim.adjudicated` or `claim.reversed`) with its submission."""

    seq: int  # ledger seq
    cause: int  # input seq
    type: str
    data: dict[str, Any]
    submitted: Submitted
    member: MemberFacts | None  # None only if the member never enrolled (not adjudicable)
    at: str = ""  # the ledger entry's simulation date (when the payer recorded it)

    @property
    def paid(self) -> str:
        return self.data["paid"]


@dataclass(frozen=True, slots=True)
class PaymentRecord:
    """A prospective payment (or its recoupment), paid on `at` (the epoch boundary)."""

    seq: int
    at: str
    data: dict[str, Any]


class RunReader:
    """Streams a run directory's ledger, joined with its input log."""

    def __init__(self, run_dir: Path | str):
        self.run_dir = Path(run_dir)
        if not self.run_dir.is_dir():
            raise InterchangeError(f"{self.run_dir}: not a run directory")
        self.ledger_dir = require_dir(self.run_dir / "ledger")
        self.input_dir = require_dir(self.run_dir / "input")
        # (the inputs the adjudication ignored, the last input it answered): `answered_inputs`
        self._answered: tuple[frozenset[int], int] | None = None

    def reference(self) -> ReferenceData:
        return ReferenceData.load(self.run_dir)

    def manifest(self) -> dict[str, Any]:
        for env in read(self.ledger_dir):
            return env["data"] if env["type"] == "run.manifest" else {}
        return {}

    def coverage_end(self) -> str:
        """The last day of coverage the run holds (the module's docstring): '' for an empty run."""
        days = []
        run_file = self.run_dir / RUN_FILE
        if run_file.is_file():
            end = orjson.loads(run_file.read_bytes()).get("service_end")
            if end:
                days.append((dt.date.fromisoformat(end) - dt.timedelta(days=1)).isoformat())
        last = self._answers()[1]
        answered = next(read(self.input_dir, from_seq=last), None) if last >= 0 else None
        if answered is not None and answered.get("at"):
            days.append(answered["at"])
        return min(days, default="")

    def ledger_size(self) -> int:
        last = last_envelope(self.ledger_dir)
        return 0 if last is None else last["seq"] + 1

    def enrollments(self) -> Iterator[dict[str, Any]]:
        """The input log's applied `member.enrolled` and `member.terminated` envelopes, in order."""
        return self._applied(MEMBERSHIP_TYPES)

    def alignments(self) -> Iterator[dict[str, Any]]:
        """The input log's applied `alignment.declared` envelopes (members' voluntary
        alignment), in order."""
        return self._applied(("alignment.declared",))

    def ignored(self) -> frozenset[int]:
        """The input seqs the adjudication ignored (read once: one pass of the ledger)."""
        return self._answers()[0]

    def _answers(self) -> tuple[frozenset[int], int]:
        if self._answered is None:
            self._answered = answered_inputs(self.ledger_dir)
        return self._answered

    def _applied(self, types: tuple[str, ...]) -> Iterator[dict[str, Any]]:
        """The input's envelopes of `types` the adjudication applied: answered (a run adjudicated
        part way has not applied the inputs past its last answer) and not ignored."""
        ignored, last = self._answers()
        for env in read_checked(self.input_dir):
            if env["seq"] > last:
                return
            if env["type"] in types and env["seq"] not in ignored:
                yield env

    def entries(self, progress: Callable[[int], None] | None = None
                ) -> Iterator[ClaimRecord | PaymentRecord]:
        """Every claim entry and prospective payment of the ledger, in ledger order."""
        members: dict[str, MemberFacts] = {}
        ignored = self.ignored()
        inputs = read_checked(self.input_dir)
        position = -1  # the last input seq consumed
        pending = 0
        for env in read(self.ledger_dir):
            pending += 1
            if progress is not None and pending >= PROGRESS_EVERY:
                progress(pending)
                pending = 0
            kind = env["type"]
            if kind == PAYMENT_TYPE:
                yield PaymentRecord(seq=env["seq"], at=env["at"], data=env["data"])
                continue
            if kind not in CLAIM_TYPES:
                continue
            cause = env["cause"]
            if cause is None or cause <= position:
                raise InterchangeError(f"ledger seq {env['seq']}: cause {cause} is not after "
                                       f"input seq {position} (ledger out of input order)")
            submitted = None
            for inp in inputs:
                position = inp["seq"]
                if inp["type"] == "member.enrolled" and position not in ignored:
                    facts = MemberFacts.of(inp["data"])
                    members[facts.member_id] = facts
                if position == cause:
                    submitted = inp
                    break
            if submitted is None or submitted["type"] != "claim.submitted":
                raise InterchangeError(f"ledger seq {env['seq']}: its cause, input seq {cause}, "
                                       "is not a submitted claim in input/")
            data = env["data"]
            yield ClaimRecord(seq=env["seq"], cause=cause, type=kind, data=data,
                              submitted=Submitted.of(submitted["data"]["claim"]),
                              member=members.get(data["member_id"]), at=env["at"])
        if progress is not None and pending:
            progress(pending)
