"""A submitted claim through DOMAIN.md §3, in order: validate -> frequency (7/8 reverse the
version in force) -> eligibility and timely filing -> duplicate -> price -> payment model ->
cost share -> sequestration -> plan paid; and the ledger entry that records it.

A claim is adjudicated in two passes so that a rejection never leaves half a claim applied:
the first (`line_plan.plan_lines`) makes every check that can reject the claim (a plan year
the plan, fee schedule or program has no figures for) and changes nothing; only then is the
version in force reversed and the second pass (`_adjudicate_lines`) updates the family as it goes.
"""

from __future__ import annotations

import datetime as dt
import zlib
from typing import Any, Final

from claimsim.events.codes import RejectReason
from claimsim.events.money import BP_ONE, apply_rate

from claimsim.adjudication.engine.context import Context, Design
from claimsim.adjudication.engine.cost_share import (
    COPAY_GROUPS, ZERO_COST_GROUPS, is_zero_cost, member_cost_share, visit_category,
)
from claimsim.adjudication.engine.family import (
    ACC_FAMILY_DED, ACC_FAMILY_OOP, ACC_MEMBERS, ADJUDICATED, MEMBER_DED, MEMBER_OOP, REVERSED,
    SPAN_QMB, FamilyState,
)
from claimsim.adjudication.engine.file_pricing import FileAmounts, adjudicate_file_lines
from claimsim.adjudication.engine.line_results import (
    NO_REMARKS, denied_line, line_result, negated, paid_adjustments, qmb_remarks,
)
from claimsim.adjudication.engine.line_plan import PlannedLine, plan_lines
from claimsim.adjudication.engine.pricing import PREVENTIVE, not_covered_remark
from claimsim.adjudication.engine.programs import DENIED_REMARK, capitation_offset, cost_share_base
from claimsim.adjudication.engine.validation import Claim, Invalid


# `family.paid_fingerprint`, inlined in the line loop. `Any`: its answer is then kept as the int
# object it is, where a typed `zlib.crc32` had the compiled loop unbox it, free it and box it anew
# for the index.
crc32: Final[Any] = zlib.crc32
# A line's units as the paid-line key spells them, for the common counts (`str` built per line
# cost a conversion and an allocation).
_UNITS: Final = tuple(str(n) for n in range(100))


def _reverse(family: FamilyState, root: str, version: dict[str, Any]) -> None:
    """Undo a version's effects: accumulators back, its paid lines and visit copays released."""
    payer_id = version["hdr"]["payer_id"]
    for line in version["lines"]:
        share, ded = line["cost_share"], line["deductible"]
        if share or ded:
            entry = family.acc[f"{payer_id}|{line['service_date'][:4]}"]
            mine = entry[ACC_MEMBERS][line["member_id"]]
            mine[MEMBER_DED] -= ded
            mine[MEMBER_OOP] -= share
            entry[ACC_FAMILY_DED] -= ded
            entry[ACC_FAMILY_OOP] -= share
    for key in version["dups"]:
        family.drop_paid_line(key, root)
    for key in version["visits"]:
        del family.visits[key]


_NO_ENTRY: Final[list[Any]] = []  # `_Pass.acc_entry` before any line reads one (never changed)


class _Pass:
    """Pass 2's claim-wide values and the family's indexes it updates, read by every step."""

    __slots__ = ("ctx", "family", "root", "member", "practice", "npi", "pos", "seq_bp", "multi",
                 "primary_care", "paid_index", "visit_index", "accumulators", "visits",
                 "acc_key", "acc_entry")

    def __init__(self, claim: Claim, family: FamilyState, ctx: Context, root: str, seq_bp: int):
        self.ctx, self.family, self.root = ctx, family, root
        self.member, self.practice, self.npi = claim.member_id, claim.billing_tin, claim.rendering_npi
        self.pos = claim.place_of_service
        self.seq_bp = seq_bp
        self.multi = len(family.members) > 1
        self.primary_care: bool | None = None  # looked up on the first E&M line that needs it
        self.paid_index, self.visit_index, self.accumulators = family.paid, family.visits, family.acc
        self.visits: list[str] = []  # the visit copays this version charged
        # The accumulator entry the last cost-shared line read, and its key: a claim's lines
        # share their plan year, so most lines find it here rather than in the family's dict.
        self.acc_key = ""
        self.acc_entry: list[Any] = _NO_ENTRY


def _adjudicate_lines(claim: Claim, family: FamilyState, ctx: Context, root: str,
                      planned: list[PlannedLine], seq_bp: int
                      ) -> tuple[list[dict[str, Any]], list[str], list[str]]:
    """Pass 2: duplicates, price, payment model, cost share (`_cost_share`), sequestration and
    plan paid, updating the family line by line (accumulators, paid-line index, visit copays).
    Returns the line results and the paid-line and visit keys this version added."""
    # Long: this loop runs for every line of every claim, so it is one function: it unpacks
    # the named tuples into locals once, and inlines the short rules (`pricing.allowed_amount`,
    # the flat fee, `programs.cost_share_base` / `capitation_offset` behind their h = 0 no-op),
    # whose agreement with the rule functions tests/engine/test_hot_path_guards.py checks.
    # Measured (10k `scenarios.synthetic` inputs through `adjudicate`, no I/O, best of 3 per
    # round, 3 interleaved rounds, load 16-19 on 2 cores): the old all-inline loop over plain
    # tuples 32.1k-34.6k inputs per CPU-second; this form 29.8k-30.8k; one function per step
    # (price, payment model, cost share, settlement) 27.9k-31.6k.
    p = _Pass(claim, family, ctx, root, seq_bp)
    member, npi, paid_index, seq_bp = p.member, p.npi, p.paid_index, p.seq_bp
    out: list[dict[str, Any]] = []
    dups: list[str] = []
    for planned_line in planned:
        line, denial = planned_line.line, planned_line.denial
        # Eligibility on the service date (CARC 27 / 31) or timely filing (CO-29).
        if denial is not None:
            out.append(denied_line(line, member, "CO", denial))
            continue
        # Typed from here (pass 1 sets both for a line it does not deny): the compiled loop then
        # reads their fields natively and does integer arithmetic on them, where `Any` made
        # every unpacking an iteration and every sum a generic object operation.
        facts, model = planned_line.facts, planned_line.model
        assert facts is not None and model is not None
        day, code, mods, units, billed = (line.day_iso, line.procedure, line.modifiers, line.units,
                                          line.billed)
        # Duplicate of a line in force (OA-18), $0 encounter lines included: a fingerprint
        # absent from the index settles it; a present one is confirmed (`family.paid_fingerprint`
        # inlined: this runs for every line).
        units_str = _UNITS[units] if 0 <= units < 100 else str(units)
        dup = f"{member}|{npi}|{day}|{code}|{mods}|{units_str}"
        # Kept as the object crc32 returns (`Any`): an `int` would be unboxed, then boxed anew
        # (an allocation) for the index.
        fingerprint = crc32(dup.encode())
        # One lookup claims the fingerprint for this root if it is free (the entry a paid line
        # makes; a line denied below takes it back): `taken` when it was already there.
        size = len(paid_index)
        paid_index.setdefault(fingerprint, root)
        taken = len(paid_index) == size
        if taken and p.family.holds_paid_line(dup, fingerprint, root, dups):
            out.append(denied_line(line, member, "OA", "18"))
            continue
        design, fees, group = facts.design, facts.fees, planned_line.group
        assert design is not None and fees is not None  # set unless priced from the file
        # Price (CO-45 for the excess; CO-96 if not covered).
        fee = fees.get(code)
        if fee is None or group == PREVENTIVE:
            remark = not_covered_remark(group, fee, design.part_b)
            if remark is not None:
                if not taken:
                    del paid_index[fingerprint]
                out.append(denied_line(line, member, "CO", "96", remark=remark))
                continue
            assert fee is not None  # a code off the schedule always has a remark
        scheduled = fee * units  # pricing.allowed_amount
        allowed = billed if billed < scheduled else scheduled
        program, attributed, h, reduced, capitated, denied, flat_fee = model  # `Model`'s fields
        # Payment model: program denials (CO-96 N20), PCF flat fee, hybrid share withheld.
        if denied:
            if not taken:
                del paid_index[fingerprint]
            out.append(denied_line(line, member, "CO", "96", remark=DENIED_REMARK,
                                   program=program, attributed=True))
            continue
        shadow = 0
        if flat_fee is not None:
            flat = flat_fee[facts.year]  # present: checked in pass 1
            shadow = allowed
            allowed = billed if billed < flat else flat  # pricing.allowed_amount(flat, 1, billed)
        base = cost_share_base(allowed, h, reduced) if h else allowed
        # Member cost share against the accumulators.
        if group in ZERO_COST_GROUPS and is_zero_cost(group, design):
            ded = coins = copay = 0
        else:
            ded, coins, copay = _cost_share(p, day, design, facts.acc_key, group, base)
        share = ded + coins + copay
        offset = capitation_offset(allowed, base, share, h, reduced) if h else 0
        paid = allowed - share - offset
        sequestration = apply_rate(paid, seq_bp) if seq_bp and paid else 0
        paid -= sequestration
        # A service the program pays wholly by capitation is a shadow line: its FFS allowed is
        # recorded, nothing is paid as FFS.
        shadow_line = capitated and h >= BP_ONE
        if shadow_line:
            shadow = allowed
        # PR amounts as a Medicare remittance shows them (billed − ΣCAS = plan paid); a QMB
        # member owes none of them: remarks say so and Medicaid pays them (DOMAIN.md §5).
        qmb = facts.span[SPAN_QMB]
        out.append(line_result(
            line, member, allowed, paid, ded, coins, copay, offset, sequestration, shadow,
            share if qmb else 0, "shadow" if shadow_line else "paid", program, attributed,
            capitated, paid_adjustments(billed, allowed, offset, ded, coins, copay, sequestration),
            qmb_remarks(ded, coins, copay) if qmb else NO_REMARKS,
        ))
        if taken:
            p.family.add_paid_line(fingerprint, root)
        dups.append(dup)
    return out, dups, p.visits


def _cost_share(p: _Pass, day: str, design: Design, acc_key: str, group: str | None, base: int
                ) -> tuple[int, int, int]:
    """(deductible, coinsurance, copay) of a line that is not $0 by its group, against the
    family's accumulators, which it updates, charging the visit's copay on its first E&M line
    (`cost_share.member_cost_share`)."""
    due = visit = None
    if group in COPAY_GROUPS:
        if p.primary_care is None:
            p.primary_care = p.ctx.is_primary_care(p.practice, p.npi)
        category = visit_category(group, p.pos, p.primary_care)
        if category is not None:
            due = design.copays.get(category)
            if due is not None:
                visit = f"{p.member}|{p.practice}|{day}|{category}"
                if visit in p.visit_index:
                    due = visit = None  # this visit's copay is already charged
    if acc_key == p.acc_key:
        entry = p.acc_entry
    else:
        found = p.accumulators.get(acc_key)
        if found is None:
            found = p.accumulators[acc_key] = [0, 0, {}]  # the layout ACC_* names
        entry = p.acc_entry = found
        p.acc_key = acc_key
    shares = member_cost_share(base, design, entry, p.member, p.multi, due)
    if visit is not None:
        p.visit_index[visit] = p.root
        p.visits.append(visit)
    return shares


# processing days -> received ISO day -> paid date (a run has few distinct pairs; by days first,
# so a lookup needs no (received, days) tuple built, hashed and freed).
_PAID_DAYS: Final[dict[int, dict[str, str]]] = {}


def _paid_day(claim: Claim, processing_days: int) -> str:
    """Received + the payer's processing days, as ISO (cached)."""
    by_received = _PAID_DAYS.get(processing_days)
    if by_received is None:
        by_received = _PAID_DAYS[processing_days] = {}
    paid = by_received.get(claim.received_iso)
    if paid is None:
        try:
            paid = (claim.received + dt.timedelta(days=processing_days)).isoformat()
        except OverflowError:  # past 9999-12-31: no paid date exists, so neither does a payment
            raise Invalid(RejectReason.BAD_DATE, "received",
                          f"received {claim.received_iso} + {processing_days} processing days"
                          " is past the last representable date") from None
        by_received[claim.received_iso] = paid
    return paid


def _reject(reason: RejectReason, field: str, message: str) -> Invalid:
    return Invalid(reason, field, message)


def _root(claim: Claim, family: FamilyState) -> tuple[str, dict[str, Any] | None]:
    """The claim's root id and, for a replacement or void, the record of the claim it changes;
    raises `Invalid` for an unknown member, a reused claim id or an unknown or voided original."""
    if claim.member_id not in family.members:
        raise _reject(RejectReason.UNKNOWN_MEMBER, "member_id",
                      f"member {claim.member_id!r} is not enrolled under subscriber {family.subscriber_id!r}")
    if claim.frequency == "1":
        if family.root_of(claim.claim_id) is not None:
            raise _reject(RejectReason.DUPLICATE_CLAIM_ID, "claim_id",
                          f"claim id {claim.claim_id!r} was already submitted")
        return claim.claim_id, None
    root = family.root_of(claim.original_claim_id or "")  # a replacement or void names one
    if root is None:
        raise _reject(RejectReason.UNKNOWN_ORIGINAL, "original_claim_id",
                      f"no claim {claim.original_claim_id!r} under subscriber {family.subscriber_id!r}")
    if root in family.voided:
        raise _reject(RejectReason.UNKNOWN_ORIGINAL, "original_claim_id",
                      f"claim {claim.original_claim_id!r} was voided")
    owner = family.root_of(claim.claim_id)
    if owner is not None and owner != root:
        raise _reject(RejectReason.DUPLICATE_CLAIM_ID, "claim_id",
                      f"claim id {claim.claim_id!r} belongs to another claim ({owner!r})")
    return root, family.record(root)


def adjudicate_claim(claim: Claim, seq: int, family: FamilyState, ctx: Context,
                     amounts: tuple[FileAmounts, ...] | None = None
                     ) -> tuple[list[Any], dict[str, Any]]:
    """Adjudicate a validated claim into the family; returns its stored-result pointer and the
    claim's record as it now stands (written to the family's records). `amounts`: each line's
    pricing from the file, in a run priced from it (`file_pricing`).

    Raises `Invalid` (nothing applied) for what only the family's state can reveal.
    """
    record: Any  # None for an original; a void's is never None
    root, record = _root(claim, family)
    payer = ctx.payers[claim.payer_id]  # looked up once: every step below reads it
    paid_day = _paid_day(claim, payer.processing_days)
    planned = plan_lines(claim, family, ctx, payer) if claim.frequency != "8" else None
    # Nothing has changed so far; from here on nothing can reject the claim.
    if record is not None:
        _reverse(family, root, record["versions"][-1])
    if claim.claim_id != root:
        family.alias[claim.claim_id] = root
    if planned is None:
        record["void"] = {"claim_id": claim.claim_id, "original_claim_id": claim.original_claim_id,
                          "paid": paid_day, "received": claim.received_iso, "seq": seq}
        family.put_record(root, record)
        return [REVERSED, root], record
    if amounts is None:
        lines, dups, visits = _adjudicate_lines(claim, family, ctx, root, planned,
                                                payer.sequestration_bp)
    else:
        lines, dups, visits = adjudicate_file_lines(
            claim, family, root, payer.sequestration_bp, planned, amounts)
    # The header as a copy of `HEADER` (keys sorted, as `claim_event_data` reads them), whose
    # frequency and original claim id are most claims' already: a copy and seven stores cost
    # less than a 9-key literal.
    hdr = HEADER.copy()
    hdr["claim_id"] = claim.claim_id
    if claim.frequency != "1":
        hdr["frequency"] = claim.frequency
    if claim.original_claim_id is not None:  # an original may name one (the dict reading's)
        hdr["original_claim_id"] = claim.original_claim_id
    hdr["member_id"] = claim.member_id
    hdr["paid"] = paid_day
    hdr["payer_id"] = claim.payer_id
    hdr["practice_id"] = claim.billing_tin
    hdr["received"] = claim.received_iso
    hdr["rendering_npi"] = claim.rendering_npi
    version = {"dups": dups, "hdr": hdr, "lines": lines, "seq": seq, "visits": visits}  # sorted
    if record is None:
        record = {"versions": [version], "void": None}
    else:
        record = {"versions": [*record["versions"], version], "void": None}
    family.put_record(root, record)
    return [ADJUDICATED, root, len(record["versions"]) - 1], record


# A version's header (`adjudicate_claim`) before its values: an original's (frequency "1", no
# original claim id) in sorted key order. Its keys, in this order, are also where a stored
# record's head keeps the header's values (`runtimes.records.HDR_KEYS`).
HEADER: Final[dict[str, Any]] = {
    "claim_id": None, "frequency": "1", "member_id": None, "original_claim_id": None,
    "paid": None, "payer_id": None, "practice_id": None, "received": None, "rendering_npi": None,
}


def claim_event_data(family: FamilyState, pointer: list[Any], record: dict[str, Any] | None = None
                     ) -> tuple[str, str, dict[str, Any]]:
    """(type, at, data) of the ledger entry a stored claim result stands for:
    `[ADJUDICATED, root, version index]` or `[REVERSED, root]`; `record`: the claim's record when
    the caller holds it (else it is read from the family's records)."""
    # Typed reads: the compiled code then compares the tag as a str and indexes the record's
    # list and dicts natively (as `Any`, each was a generic comparison or `__getitem__`).
    tag: str = pointer[0]
    root: str = pointer[1]
    if record is None:
        record = family.record(root)
    versions: list[dict[str, Any]] = record["versions"]
    if tag == REVERSED:
        void = record["void"]
        reversed_version = versions[-1]
        hdr: dict[str, Any] = reversed_version["hdr"]
        return "claim.reversed", void["paid"], {  # keys sorted, as `line_result` says why
            "claim_id": void["claim_id"],
            "member_id": hdr["member_id"],
            "original_claim_id": void["original_claim_id"],
            "paid": void["paid"],
            "payer_id": hdr["payer_id"],
            "practice_id": hdr["practice_id"],
            "received": void["received"],
            "reversed_claim_id": hdr["claim_id"],
            "reversed_lines": [negated(line) for line in reversed_version["lines"]],
            "subscriber_id": family.subscriber_id,
        }
    index: int = pointer[2]
    version = versions[index]
    hdr = version["hdr"]
    # The header's keys are sorted, and so are those appended after "lines" (a copy, then four
    # inserts, costs less than a 13-key literal): one key out of order for the encoder's sort.
    data = hdr.copy()
    data["lines"] = version["lines"]
    if index:
        previous = versions[index - 1]
        data["reversed_claim_id"] = previous["hdr"]["claim_id"]
        data["reversed_lines"] = [negated(line) for line in previous["lines"]]
    else:
        data["reversed_claim_id"] = None
        data["reversed_lines"] = []
    data["subscriber_id"] = family.subscriber_id
    return "claim.adjudicated", hdr["paid"], data
