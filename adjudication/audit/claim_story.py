"""`audit explain claim`: a claim's story as an auditor reads it — every input and ledger entry
that touched it, and for each line the arithmetic of DOMAIN.md §3 with the run's own figures:
fee schedule x units -> allowed (CO-45 the excess), each cost-share step with the accumulators
before and after, the hybrid rate and cost-share basis -> capitation offset (CO-24),
sequestration, the original behind an OA-18, reversal lines with their signs, the QMB crossover.

Everything is recomputed from reference.json and the ledger as written, and each recomputed
figure is checked against the ledger's (a mismatch is printed, never hidden).

Choices where DOMAIN.md is silent:
- Accumulators "before" a line are the sums of the deductible and cost share of every earlier
  ledger line of the same family, payer and plan year (service year), reversals included: the
  projection the engine's accumulators are (DOMAIN.md §5), so no engine state is needed.
- Coinsurance is recomputed with the out-of-pocket room left before the line; "a family of one"
  (individual limits under a non-embedded plan) counts the subscriber's members enrolled
  anywhere in the input, and a $0 E&M line of a plan with a $0 copay is taken for the visit's
  copay line (the ledger does not say which E&M line carried the visit).
- A duplicate's original is the earlier line in force with the same member, rendering NPI,
  service date, procedure and units; modifiers are not on ledger lines, so they are not compared.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from claimsim.events.codes import PROCEDURE_GROUPS, ProcedureGroup
from claimsim.events.errors import UserError
from claimsim.events.ignored import ignored_inputs
from claimsim.events.input_reader import read_checked
from claimsim.events.log import read
from claimsim.events.money import BP_ONE, apply_rate, dollars
from claimsim.events.reference import ReferenceData

from claimsim.adjudication.audit.claim_walk import Accumulators, Walk, duplicate_key, hashable
from claimsim.adjudication.engine.cost_share import COPAY_GROUPS
from claimsim.adjudication.engine.programs import cost_share_base

ANSWERS = ("claim.adjudicated", "claim.reversed", "claim.rejected", "no_effect")
_CLAIM_ANSWERS = ("claim.adjudicated", "claim.reversed")


def _pct(bp: int) -> str:
    return f"{bp / 100:g} %"


@dataclass
class ClaimStory:
    """What the story is told from: the run's reference data, the family's enrollment (plans),
    and the ledger walked in order up to each answer."""

    ref: ReferenceData
    plans: dict[str, list[tuple[str, str, str, str | None]]]  # member -> (payer, plan, start, end)
    shown: set[tuple[str, str]] = field(default_factory=set)  # plan-years already described

    def design(self, member: str, payer: str, day: str):
        for p, plan_id, start, end in self.plans.get(member, ()):
            if p == payer and start <= day and (end is None or day <= end):
                plan = self.ref.plan.get(plan_id)
                return plan_id, (plan.benefits.get(int(day[:4])) if plan else None)
        return None, None

    def fee(self, payer: str, day: str, code: str) -> int | None:
        schedule = self.ref.fee_schedule_of_payer.get(payer)
        return None if schedule is None else schedule.allowed_for(int(day[:4]), code)

    def program(self, payer: str, practice: str, day: str):
        contract = self.ref.contract_on(payer, practice, dt.date.fromisoformat(day))
        return None if contract is None else contract.program

    def line_lines(self, d: dict[str, Any], line: dict[str, Any], acc: Accumulators,
                   original: str | None, reversal: bool) -> list[str]:
        """The arithmetic of one ledger line, one statement per output line."""
        payer, practice, day = d["payer_id"], d["practice_id"], str(line["service_date"])
        sign = -1 if reversal else 1
        head = (f"line {line['line_no']} {line['procedure']} x{line['units']} on {day}"
                f"{' — REVERSAL: every amount negated (835 claim status 22)' if reversal else ''}"
                f" [{line.get('status', 'paid')}, program {line.get('program', 'ffs')}"
                + "".join(f", {t}" for t in ("attributed", "capitated") if line.get(t)) + "]")
        out = [head]
        if reversal:
            out.append(f"  billed {dollars(line['billed'])}, allowed {dollars(line['allowed'])},"
                       f" plan paid {dollars(line['plan_paid'])}, cost share"
                       f" {dollars(line['cost_share'])}, offset {dollars(line.get('cap_offset', 0))}")
            return out
        out.extend(self._allowed(payer, practice, day, line))
        if line.get("status") != "denied":
            out.extend(self._cost_share(payer, day, line, acc,
                                        self._share_base(payer, practice, day, line)))
            out.extend(self._offset(payer, practice, day, line))
        if line.get("sequestration"):
            base = line["allowed"] - line["cost_share"] - line.get("cap_offset", 0)
            out.append(f"  sequestration (CO-253): {dollars(line['sequestration'])} of"
                       f" {dollars(base)} after cost share and offset")
        terms = [("allowed", line["allowed"]), ("cost share", line["cost_share"]),
                 ("offset", line.get("cap_offset", 0)), ("sequestration", line.get("sequestration", 0))]
        shown = " - ".join(f"{dollars(v)} {n}" for n, v in terms if v or n == "allowed")
        total = terms[0][1] - sum(v for _, v in terms[1:])
        mark = "" if total == line["plan_paid"] * sign else f"  !! the ledger says {dollars(line['plan_paid'])}"
        out.append(f"  plan paid = {shown} = {dollars(line['plan_paid'])}{mark}")
        if original is not None:
            out.append(f"  OA-18 duplicate of {original}, still in force")
        if line.get("medicaid_cost_share"):
            owed = line["cost_share"] - line["medicaid_cost_share"]
            out.append(f"  QMB crossover: Medicaid owes {dollars(line['medicaid_cost_share'])} of the"
                       f" {dollars(line['cost_share'])} cost share; the member owes {dollars(owed)}")
        if line.get("remarks"):
            out.append(f"  remarks: {', '.join(line['remarks'])}")
        adj = ", ".join(f"{a['group']}-{a['carc']} {dollars(a['amount'])}" for a in line.get("adjustments", ()))
        if adj:
            out.append(f"  adjustments: {adj}")
        return out

    def _allowed(self, payer: str, practice: str, day: str, line: dict[str, Any]) -> list[str]:
        fee = self.fee(payer, day, line["procedure"])
        if line.get("status") == "denied" and not line["allowed"]:
            return [f"  denied: allowed $0.00 (billed {dollars(line['billed'])})"]
        if self.ref.price_from_file:  # engine.file_pricing: the claims file priced the line
            shadow = line.get("shadow_allowed")
            return [f"  allowed {dollars(line['allowed'])}: "
                    + (f"the program's flat visit fee; the file's {dollars(shadow)} is kept as"
                       " shadow allowed" if shadow and line.get("status") != "shadow"
                       else "as the claims file priced it (price from file)")]
        if fee is None:
            return [f"  allowed {dollars(line['allowed'])} (no fee-schedule amount for"
                    f" {line['procedure']} in {day[:4]})"]
        scheduled = fee * line["units"]
        program = self.program(payer, practice, day)
        flat = program.figures_for(int(day[:4])).flat_visit_fee if (
            program is not None and line.get("shadow_allowed") and program.flat_visit_fee_program) else 0
        if flat:
            expected = min(line["billed"], flat)
            text = (f"  allowed = min(billed {dollars(line['billed'])}, flat visit fee {dollars(flat)})"
                    f" = {dollars(expected)}; the fee schedule's {dollars(fee)} x {line['units']} ="
                    f" {dollars(scheduled)} is kept as shadow allowed")
        else:
            expected = min(line["billed"], scheduled)
            text = (f"  allowed = min(billed {dollars(line['billed'])}, fee {dollars(fee)} x"
                    f" {line['units']} = {dollars(scheduled)}) = {dollars(expected)}")
        if line["billed"] > line["allowed"]:
            text += f"; CO-45 {dollars(line['billed'] - line['allowed'])} over the allowed"
        if expected != line["allowed"]:
            text += f"  !! the ledger says {dollars(line['allowed'])}"
        return [text]

    def _share_base(self, payer: str, practice: str, day: str, line: dict[str, Any]) -> int:
        """What cost share is figured on (`engine.programs.cost_share_base`): the allowed, or on
        a capitated line under basis reduced the allowed less the hybrid share."""
        program = self.program(payer, practice, day) if line.get("capitated") else None
        if program is None or program.cost_share_basis.value != "reduced":
            return line["allowed"]
        return cost_share_base(line["allowed"], program.hybrid_bp, True)

    def _cost_share(self, payer: str, day: str, line: dict[str, Any], acc: Accumulators,
                    base: int) -> list[str]:
        plan_id, design = self.design(line["member_id"], payer, day)
        m_ded, m_oop, f_ded, f_oop = acc.of(payer, line)
        out = []
        if self.ref.price_from_file:
            share = line["cost_share"]
            return [f"  cost share {dollars(share)} from the claims file: deductible (PR-1)"
                    f" {dollars(line.get('deductible', 0))}, coinsurance (PR-2)"
                    f" {dollars(line.get('coinsurance', 0))}, copay (PR-3)"
                    f" {dollars(line.get('copay', 0))}; out of pocket member {dollars(m_oop)} ->"
                    f" {dollars(m_oop + share)}"]
        if design is None:
            out.append(f"  cost share {dollars(line['cost_share'])} (plan not found in the input)")
            return out
        limits = (f"plan {plan_id} {day[:4]}: deductible {dollars(design.deductible_individual)}"
                  f" / family {dollars(design.deductible_family)}, coinsurance"
                  f" {_pct(design.coinsurance_bp)}, OOP max "
                  + (f"{dollars(design.oop_individual)} / family {dollars(design.oop_family or 0)}"
                     if design.oop_individual is not None else "none"))
        if (plan_id, day[:4]) not in self.shown:  # once per claim entry
            self.shown.add((plan_id, day[:4]))
            out.append("  " + limits)
        ded, coins, copay = line.get("deductible", 0), line.get("coinsurance", 0), line.get("copay", 0)
        group = PROCEDURE_GROUPS.get(line["procedure"])
        if not line["cost_share"] and group in (ProcedureGroup.PREVENTIVE, ProcedureGroup.AWV):
            out.append(f"  {group.value} service: $0.00 cost share ("
                       + ("Part B annual wellness visit / IPPE" if group is ProcedureGroup.AWV
                          else "ACA preventive") + ")")
        if copay:
            out.append(f"  copay (PR-3): {dollars(copay)} for the visit, on its E&M line")
        out.append(f"  deductible (PR-1): {dollars(ded)}; member met {dollars(m_ded)} ->"
                   f" {dollars(m_ded + ded)}, family {dollars(f_ded)} -> {dollars(f_ded + ded)}")
        zero_group = not line["cost_share"] and group in (ProcedureGroup.PREVENTIVE,
                                                          ProcedureGroup.AWV)
        # A visit's E&M line under a $0 copay owes no deductible or coinsurance (engine's copay
        # path); which E&M line carried the visit is not on the ledger, so a $0 line of a plan
        # with a $0 copay is taken for it.
        zero_copay = (group in COPAY_GROUPS and not ded and not line.get("coinsurance")
                      and 0 in design.copays.values())
        if zero_copay:
            out.append("  copay (PR-3): $0.00 for the visit (the plan's $0 copay), on its E&M"
                       " line: no deductible or coinsurance")
        elif not copay and not zero_group:
            out.extend(self._coinsurance(line, design, base - ded, ded, m_oop, f_oop))
        share = line["cost_share"]
        out.append(f"  cost share {dollars(share)}; out of pocket member {dollars(m_oop)} ->"
                   f" {dollars(m_oop + share)}, family {dollars(f_oop)} -> {dollars(f_oop + share)}")
        return out

    def _coinsurance(self, line: dict[str, Any], design: Any, rest: int, ded: int, m_oop: int,
                     f_oop: int) -> list[str]:
        """Coinsurance recomputed as the engine figures it (`engine.cost_share`): the rate on
        what the deductible left of the cost-share base (`rest`), capped by the out-of-pocket room left before the line (the
        member's when individual limits apply, the family's unless Part B-style). A line whose
        coinsurance is $0 is shown only when the recomputation says otherwise."""
        coins = line.get("coinsurance", 0)
        rate = apply_rate(rest, design.coinsurance_bp) if rest > 0 else 0
        room = self._oop_room(line["member_id"], design, m_oop, f_oop)
        expected = rate if room is None else max(0, min(rate, room - ded))
        if not coins and not expected:
            return []
        text = (f"  coinsurance (PR-2): {_pct(design.coinsurance_bp)} x {dollars(rest)} ="
                f" {dollars(rate)}")
        if expected < rate:
            text += (f", capped by the out-of-pocket maximum ({dollars(max(room, 0))} left before"
                     f" the line, {dollars(ded)} of it to the deductible) = {dollars(expected)}")
        if coins != expected:
            text += f"  !! the ledger says {dollars(coins)}"
        return [text]

    def _oop_room(self, member: str, design: Any, m_oop: int, f_oop: int) -> int | None:
        """The out-of-pocket room left (None: no maximum), as `engine.cost_share` limits it:
        individual limits apply under Part B-style or embedded plans and to a family of one;
        the family limit unless Part B-style."""
        if design.oop_individual is None or design.oop_family is None:
            return None
        sub = member.rsplit("-", 1)[0]
        multi = sum(1 for m in self.plans if m.rsplit("-", 1)[0] == sub) > 1
        part_b = design.part_b_style
        room = None
        if part_b or design.embedded or not multi:
            room = design.oop_individual - m_oop
        if not part_b:
            family = design.oop_family - f_oop
            room = family if room is None else min(room, family)
        return max(room, 0) if room is not None else None

    def _offset(self, payer: str, practice: str, day: str, line: dict[str, Any]) -> list[str]:
        offset = line.get("cap_offset", 0)
        program = self.program(payer, practice, day)
        if not offset:
            return []
        if program is None:
            return [f"  capitation offset (CO-24) {dollars(offset)}"]
        h, basis = program.hybrid_bp, program.cost_share_basis.value
        allowed, share = line["allowed"], line["cost_share"]
        if h >= BP_ONE:
            expected, how = allowed - share, f"h = 100 %: a shadow line, offset = allowed - cost share"
        elif basis == "reduced":
            expected = apply_rate(allowed, h)
            how = f"basis reduced: offset = {_pct(h)} x allowed {dollars(allowed)}"
        else:
            expected = apply_rate(allowed - share, h)
            how = f"basis full: offset = {_pct(h)} x (allowed - cost share) = {_pct(h)} x {dollars(allowed - share)}"
        check = "" if expected == offset else f"  !! recomputed {dollars(expected)}"
        return [f"  capitation offset (CO-24): {how} = {dollars(offset)}{check}"]


def explain_claim(run_dir: Path, claim_id: str) -> list[str]:
    """The story of a claim and every replacement or void that names it."""
    seqs: dict[int, dict[str, Any]] = {}
    ids = {claim_id}
    plans: dict[str, list[tuple[str, str, str, str | None]]] = {}
    # The input as the runtime read it (`read_checked`): a line it could not read comes as a
    # pseudo-envelope; an input whose data is not an object names no claim or member, and a
    # key that is not text is compared as its JSON (its answers carry the same key).
    ignored = ignored_inputs(run_dir / "ledger")  # enrollments the adjudication did not apply
    for env in read_checked(run_dir / "input"):
        d = env["data"]
        if not isinstance(d, dict):
            continue
        if env["type"] == "member.enrolled":
            if env["seq"] in ignored:
                continue
            plans.setdefault(hashable(d.get("member_id")), []).append(
                (d.get("payer_id"), d.get("plan_id"), str(d.get("start")), d.get("end")))
            continue
        claim = d.get("claim") if env["type"] == "claim.submitted" else None
        if isinstance(claim, dict) and (hashable(claim.get("claim_id")) in ids
                                        or hashable(claim.get("original_claim_id")) in ids):
            seqs[env["seq"]] = env
            ids.add(hashable(claim.get("claim_id")))
    if not seqs:
        raise UserError(f"{run_dir}/input: no claim {claim_id!r} (nor a replacement or void naming it)")
    story = ClaimStory(ReferenceData.load(run_dir), plans)
    subscribers = {hashable(env["key"]) for env in seqs.values()}
    answers: dict[int, list[str]] = {}
    walk = Walk()
    for env in read(run_dir / "ledger"):
        if env["type"] not in ANSWERS or hashable(env["key"]) not in subscribers:
            continue
        if env["cause"] in seqs:
            answers[env["cause"]] = _answer_lines(story, env, walk)
        elif env["type"] in _CLAIM_ANSWERS:
            walk.advance(env)
    out: list[str] = []
    for seq, env in sorted(seqs.items()):
        c = env["data"]["claim"]
        out.append(f"input seq {seq} received {env['at']}: claim {c.get('claim_id')} frequency"
                   f" {c.get('frequency', '1')}" + (f" of {c['original_claim_id']}" if c.get("original_claim_id") else "")
                   + f", member {c.get('member_id')}, billed by {c.get('billing_tin')} (NPI"
                   f" {c.get('rendering_npi')}), {len(c['lines']) if isinstance(c.get('lines'), list) else 0} line(s)")
        out.extend(answers.get(seq, ["  no ledger entry yet (not adjudicated)"]))
    return out


def _answer_lines(story: ClaimStory, env: dict[str, Any], walk: Walk) -> list[str]:
    d = env["data"]
    out = [f"  ledger seq {env['seq']}: {env['type']}"]
    if env["type"] == "claim.rejected":
        out.append(f"    rejected: {d['reason']} at {d['field']} (CARC {d['carc']}): {d['message']}")
        return out
    if env["type"] not in _CLAIM_ANSWERS:
        out.append(f"    no effect: {d.get('note') or d.get('input_type')}")
        return out
    out.append(f"    payer {d['payer_id']}, practice {d['practice_id']}, received {d['received']},"
               f" paid {d['paid']}")
    story.shown.clear()
    for line in d.get("reversed_lines", ()):
        out.extend("    " + s for s in story.line_lines(d, line, walk.acc, None, reversal=True))
        walk.reversed(d, line)
    for line in d.get("lines", ()):
        is_dup = any(a["carc"] == "18" for a in line.get("adjustments", ()))
        key = duplicate_key(line, d.get("rendering_npi", ""))
        original = walk.in_force.get(key) if is_dup else None
        out.extend("    " + s for s in story.line_lines(d, line, walk.acc, original, reversal=False))
        walk.added(env, line)
    total = sum(line["plan_paid"] for f in ("lines", "reversed_lines") for line in d.get(f, ()))
    out.append(f"    net plan paid by this entry: {dollars(total)}")
    return out
