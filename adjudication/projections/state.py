"""The payer-side projection of a run's logs: members and enrollment, alignment choices, quality
reports (input log), primary-care visits, diagnoses, FFS by practice and month, the attribution
and practice-status timelines and the prospective payments made (ledger). Attribution, risk,
prospective payments, snapshots and reconciliation are pure functions of this state.

State is plain JSON data (ISO date strings, ints, lists, dicts) so `events.projection`'s runner can
checkpoint it; `apply` takes raw envelopes of either log (their types do not overlap) and is the
only thing that changes it. `follower.LedgerFollower` feeds it a run's logs.
"""

from __future__ import annotations

import bisect
from typing import Any

import orjson

from claimsim.events.codes import PROCEDURE_GROUPS, ProcedureGroup
from claimsim.events.plans import LineOfBusiness
from claimsim.events.programs import ProgramKind
from claimsim.events.providers import ClinicianRole
from claimsim.events.reference import ReferenceData

from claimsim.adjudication.projections.diagnoses import claim_conditions
from claimsim.adjudication.projections.settings import ProjectionSettings

QUALIFYING = frozenset({ProcedureGroup.PC_EM.value, ProcedureGroup.AWV.value,
                        ProcedureGroup.CARE_MGMT.value})
AWV = ProcedureGroup.AWV.value
CCM_CODES = frozenset({"99490", "99491", "99487", "99489"})

# Positions in a money row (one per payer x practice x month); a list, not a dict, because the
# fold touches it for every claim line.
M_FFS_SERVICE, M_FFS_PAID, M_OFFSETS, M_COST_SHARE, M_SHADOW, M_CLAIM_ADJ = range(6)
M_LEAK_VISITS, M_ALL_VISITS, M_LEAK_COST, M_ALLOWED, M_SEQUESTRATION = range(6, 11)
MONEY_WIDTH = 11


class PayerState:
    """The fold. Attribute names are the state's keys; see `state()`."""

    name = "payer-state"

    def __init__(self, reference: ReferenceData, settings: ProjectionSettings | None = None):
        self.reference = reference
        self.settings = settings or ProjectionSettings()
        self._pc_npis = frozenset(npi for npi, (_, c) in reference.clinician.items()
                                  if c.role is ClinicianRole.PRIMARY_CARE)
        self._groups = {c: g.value for c, g in PROCEDURE_GROUPS.items()}
        self._medicare_ffs = {p.payer_id for p in reference.payers
                              if p.lob is LineOfBusiness.MEDICARE_FFS}
        tracked = set(QUALIFYING)
        self._capitated: dict[tuple[str, str], list[tuple[str, str | None, frozenset[str]]]] = {}
        for c in sorted(reference.contracts, key=lambda c: c.start):
            groups = frozenset(g.value for g in c.program.capitated_groups)
            tracked |= groups
            self._capitated.setdefault((c.payer_id, c.practice_id), []).append(
                (c.start.isoformat(), c.end.isoformat() if c.end else None,
                 groups if c.program.kind is not ProgramKind.FFS else frozenset()))
        self._tracked = frozenset(tracked)
        self._cap_cache: dict[tuple[str, str, str], frozenset[str]] = {}
        self.reset()

    def reset(self) -> None:
        self._payer_members: dict[str, list[str]] = {}  # a cache, not state
        self.last_seq = -1  # last ledger seq applied
        self.last_at = ""  # its simulation date
        self.input_seq = -1  # last input seq applied
        self.members: dict[str, dict[str, Any]] = {}
        self.alignments: dict[str, list[list]] = {}  # member -> [[effective, practice, payer]]
        self.quality: dict[str, dict[str, list[int]]] = {}  # "payer|practice" -> year -> [q, u]
        # Appended per claim entry and day, summed when read (`visit_days`, `expected_ffs`): an
        # append costs the hot path less than updating a keyed counter.
        # member -> [[practice, day, qualifying lines by PC clinicians, AWV lines, CCM lines,
        #             allowed on the counted lines]] (negative on reversals)
        self.visits: dict[str, list[list]] = {}
        self.ffs: dict[str, list[list]] = {}  # member -> [[practice, month, group, allowed]]
        self.dx: dict[str, dict[str, str]] = {}  # member -> condition -> last service date
        self.pending_dx: dict[str, list[str]] = {}  # input seq -> conditions on that claim
        self.attribution: dict[str, list[list]] = {}  # member -> [[effective, practice, basis]]
        self.status: dict[str, list[list]] = {}  # "payer|practice" -> [[effective, active, n, group, reason]]
        self.facts: dict[str, list[list]] = {}  # payer -> [[effective, {member: [risk, tier, complex]}]]
        self.paid: dict[str, dict[str, dict[str, int]]] = {}  # "payer|practice|month" -> kind -> member -> cents
        self.paid_original: dict[str, dict[str, int]] = {}  # "payer|practice|month" -> kind -> cents
        self.paid_basis: dict[str, dict[str, dict]] = {}  # "payer|practice|month" -> kind -> basis
        self.adjusted_in: dict[str, dict[str, int]] = {}  # "payer|practice|paying month" -> kind -> cents
        self.adjusted_for: dict[str, dict[str, int]] = {}  # "payer|practice|adjusted month" -> kind -> cents
        self.money: dict[str, list[int]] = {}  # "payer|practice|month" -> money row
        self.dirty: dict[str, bool] = {}  # members whose paid months may need a true-up
        self.trueup: list[str] = []  # the dirty members as of the last boundary, to true up there
        self.boundaries: list[list] = []  # [[epoch, boundary, ledger seq]]
        self.snapshots: dict[str, int] = {}  # "payer|practice|month" -> seq of the last snapshot
        self.reconciled: dict[str, int] = {}  # "payer|practice|year" -> PBIP recouped (cents)

    # -- checkpointing ----------------------------------------------------------------------
    _KEYS = ("last_seq", "last_at", "input_seq", "members", "alignments", "quality", "visits",
             "ffs", "dx", "pending_dx", "attribution", "status", "facts", "paid", "paid_original",
             "paid_basis", "adjusted_in", "adjusted_for", "money", "dirty", "trueup", "boundaries",
             "snapshots", "reconciled")

    def state(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self._KEYS}

    def restore(self, state: dict[str, Any]) -> None:
        self.reset()
        for k in self._KEYS:
            setattr(self, k, state[k])

    # -- the fold -----------------------------------------------------------------------------
    def apply(self, env: dict[str, Any]) -> None:
        kind = env["type"]
        if kind in _INPUT_TYPES:
            self.input_seq = env["seq"]
        else:
            self.last_seq, self.last_at = env["seq"], env["at"]
        handler = _HANDLERS.get(kind)
        if handler is not None:
            handler(self, env)

    def _enrolled(self, env: dict[str, Any]) -> None:
        d = env["data"]
        m = self.members.get(d["member_id"])
        if m is None:
            m = self.members[d["member_id"]] = {"spans": []}
        m.update(sub=d["subscriber_id"], payer=d["payer_id"], plan=d["plan_id"],
                 birth=str(d["birth_date"]), sex=d["sex"], hospice=bool(d.get("hospice")),
                 qmb=bool(d.get("qmb")))
        m["spans"].append([d["payer_id"], str(d["start"]), None if d.get("end") is None else str(d["end"])])
        self._payer_members.pop(d["payer_id"], None)
        self.dirty[d["member_id"]] = True

    def _terminated(self, env: dict[str, Any]) -> None:
        d = env["data"]
        m = self.members.get(d["member_id"])
        if m is None:
            return
        end = str(d["end"])
        for span in m["spans"]:
            if span[0] == d["payer_id"] and span[1] <= end and (span[2] is None or span[2] > end):
                span[2] = end
        self.dirty[d["member_id"]] = True

    def _aligned(self, env: dict[str, Any]) -> None:
        d = env["data"]
        self.alignments.setdefault(d["member_id"], []).append(
            [str(d["effective"]), d["practice_id"], d["payer_id"]])

    def _quality(self, env: dict[str, Any]) -> None:
        d = env["data"]
        self.quality.setdefault(f"{d['payer_id']}|{d['practice_id']}", {})[
            str(d["performance_year"])] = [d["quality_bp"], d["utilization_bp"]]

    def _submitted(self, env: dict[str, Any]) -> None:
        """Keep the chronic conditions diagnosed on a submitted claim until its ledger entry says
        it was adjudicated (ledger lines carry no diagnoses; the input claim does). Diagnoses are
        claim-level, as an 837P's diagnosis pointers make them."""
        conds = claim_conditions(orjson.dumps(env["data"]))
        if conds:
            self.pending_dx[str(env["seq"])] = conds

    def _capitated_groups(self, payer: str, practice: str, day: str) -> frozenset[str]:
        key = (payer, practice, day[:7])
        groups = self._cap_cache.get(key)
        if groups is None:
            groups = frozenset()
            for start, end, g in self._capitated.get((payer, practice), ()):
                if start <= day and (end is None or day <= end):
                    groups = g
            self._cap_cache[key] = groups
        return groups

    def _lines(self, d: dict[str, Any], lines: list[dict], sign: int, paid_month: str,
               adjustment: bool, conds: list[str] | None) -> None:
        """Fold one claim entry's lines (sign -1 for reversal lines), a service date at a time
        (a claim's lines nearly always share one, so the hot path touches each row once)."""
        if not lines:
            return
        day = last = lines[0]["service_date"]
        one_day = True
        for line in lines:
            if line["service_date"] != day:
                one_day = False
                break
        if one_day:
            self._day(d, day, lines, sign, paid_month, adjustment)
        else:
            for line in lines:
                self._day(d, line["service_date"], (line,), sign, paid_month, adjustment)
            last = max(line["service_date"] for line in lines)
        if conds and sign > 0:
            mdx = self.dx.get(d["member_id"])
            if mdx is None:
                mdx = self.dx[d["member_id"]] = {}
            for cond in conds:
                if mdx.get(cond, "") < last:
                    mdx[cond] = last

    def _day(self, d: dict[str, Any], day: str, lines, sign: int, paid_month: str,
             adjustment: bool) -> None:
        """The lines of one claim entry serviced on one day: money by service and paid month,
        visit counters, expected-FFS amounts by procedure group, and leakage for the member's practice."""
        payer, practice, member = d["payer_id"], d["practice_id"], d["member_id"]
        groups, tracked = self._groups, self._tracked
        month = day[:7]
        plan = offsets = cost_share = allowed = sequestration = shadow = 0
        qual = qual_allowed = awv = ccm = 0
        by_group: dict[str, int] | None = None
        capitated_plan: list[tuple[str, int]] | None = None
        for line in lines:
            p, a, o = line["plan_paid"], line["allowed"], line["cap_offset"]
            plan += p
            offsets += o
            allowed += a
            cost_share += line["cost_share"]
            sequestration += line["sequestration"]
            if line["capitated"]:
                extra = line["shadow_allowed"] - a
                shadow += p + o + (extra if extra * sign > 0 else 0)
            group = groups.get(line["procedure"])
            if group is None or group not in tracked:
                continue
            denied = line["status"] == "denied"
            if group in QUALIFYING:
                if not denied:
                    qual += 1
                    qual_allowed += a
                if group == AWV:
                    awv += sign
                elif line["procedure"] in CCM_CODES:
                    ccm += sign
            if not denied:
                if by_group is None:
                    by_group = {}
                # FFS the payer would owe for it: allowed less the member's cost share (plan paid +
                # offset + sequestration). CPCP/PPCP replace that share (DOMAIN.md §4), so basing
                # them on allowed would pay practices the members' cost share a second time.
                by_group[group] = by_group.get(group, 0) + a - line["cost_share"]
            if capitated_plan is None:
                capitated_plan = []
            capitated_plan.append((group, p))
        money, prefix = self.money, f"{payer}|{practice}|"
        key = prefix + month
        row = money.get(key)
        if row is None:
            row = money[key] = [0] * MONEY_WIDTH
        row[M_FFS_SERVICE] += plan
        row[M_OFFSETS] += offsets
        row[M_COST_SHARE] += cost_share
        row[M_ALLOWED] += allowed
        row[M_SEQUESTRATION] += sequestration
        row[M_SHADOW] += shadow
        if month == paid_month:
            row[M_FFS_PAID] += plan
        else:
            prow = money.get(prefix + paid_month)
            if prow is None:
                prow = money[prefix + paid_month] = [0] * MONEY_WIDTH
            prow[M_FFS_PAID] += plan
            if adjustment and month < paid_month:
                prow[M_CLAIM_ADJ] += plan
        if capitated_plan is None:
            return
        counted = 0
        if qual or awv or ccm:
            npi = d.get("rendering_npi")
            if npi is None:  # a void names no NPI: take back what its original counted
                if sign < 0 and qual:
                    counted = -min(qual, self.visit_days(member).get(practice + "|" + day, (0,))[0])
            elif npi in self._pc_npis:
                counted = sign * qual
            visits = self.visits.get(member)
            if visits is None:
                visits = self.visits[member] = []
            visits.append([practice, day, counted, awv, ccm, qual_allowed if counted else 0])
        if by_group is not None:
            ffs = self.ffs.get(member)
            if ffs is None:
                ffs = self.ffs[member] = []
            for g, a in by_group.items():
                ffs.append([practice, month, g, a])
        timeline = self.attribution.get(member)
        if timeline:
            home = _timeline_at(timeline, day)
            if home is not None:
                hrow = row if home == practice else self._row(payer, home, month)
                if counted:
                    hrow[M_ALL_VISITS] += counted
                    if home != practice:
                        hrow[M_LEAK_VISITS] += counted
                if home != practice:
                    groups_home = self._capitated_groups(payer, home, day)
                    leak = sum(p for g, p in capitated_plan if g in groups_home)
                    if leak:
                        hrow[M_LEAK_COST] += leak

    def _row(self, payer: str, practice: str, month: str) -> list[int]:
        key = f"{payer}|{practice}|{month}"
        row = self.money.get(key)
        if row is None:
            row = self.money[key] = [0] * MONEY_WIDTH
        return row

    def _adjudicated(self, env: dict[str, Any]) -> None:
        d = env["data"]
        cause = env["cause"]
        dx = self.pending_dx.pop(str(cause), None) if cause is not None and self.pending_dx else None
        paid_month = d["paid"][:7]
        if d["reversed_lines"]:
            self._lines(d, d["reversed_lines"], -1, paid_month, True, None)
        lines = d["lines"]
        if len(lines) == 1 and not dx:  # the common case, without the day grouping
            self._day(d, lines[0]["service_date"], lines, 1, paid_month, d["frequency"] == "7")
        else:
            self._lines(d, lines, 1, paid_month, d["frequency"] == "7", dx)

    def _reversed(self, env: dict[str, Any]) -> None:
        d = env["data"]
        self.pending_dx.pop(str(env["cause"]), None)
        self._lines(d, d["reversed_lines"], -1, str(d["paid"])[:7], True, None)

    def _drop_pending(self, env: dict[str, Any]) -> None:
        if env.get("cause") is not None:
            self.pending_dx.pop(str(env["cause"]), None)

    def _assigned(self, env: dict[str, Any]) -> None:
        d = env["data"]
        _timeline_set(self.attribution.setdefault(d["member_id"], []),
                      [str(d["effective"]), d["practice_id"], d["basis"]])

    def _corrected(self, env: dict[str, Any]) -> None:
        d = env["data"]
        _timeline_set(self.attribution.setdefault(d["member_id"], []),
                      [str(d["effective"]), d["to_practice"], "corrected"])
        self.dirty[d["member_id"]] = True

    def _status(self, env: dict[str, Any]) -> None:
        d = env["data"]
        _timeline_set(self.status.setdefault(f"{d['payer_id']}|{d['practice_id']}", []),
                      [str(d["effective"]), bool(d["active"]), d.get("attributed", 0),
                       d.get("risk_group"), d.get("reason", "")])

    def _boundary(self, env: dict[str, Any]) -> None:
        from claimsim.adjudication.projections.risk import member_facts  # risk reads this state

        d = env["data"]
        boundary = str(d["boundary"])
        self.boundaries.append([d["epoch"], boundary, env["seq"]])
        self.trueup, self.dirty = sorted(self.dirty), {}
        for payer in sorted({m["payer"] for m in self.members.values()}):
            self.facts.setdefault(payer, []).append([boundary, member_facts(self, payer, boundary)])

    def _payment(self, env: dict[str, Any]) -> None:
        d = env["data"]
        kind, amount = d["kind"], d["amount"]
        target = d.get("adjusts_month") or d["month"]
        key = f"{d['payer_id']}|{d['practice_id']}|{target}"
        members = self.paid.setdefault(key, {}).setdefault(kind, {})
        for member, cents in (d.get("detail") or {}).get("members", {}).items():
            total = members.get(member, 0) + cents
            if total:
                members[member] = total
            else:
                members.pop(member, None)
        year = (d.get("detail") or {}).get("reconciliation")
        if year is not None:
            self.reconciled[f"{d['payer_id']}|{d['practice_id']}|{year}"] = -amount
        if d.get("adjusts_month"):
            for book, k in ((self.adjusted_in, f"{d['payer_id']}|{d['practice_id']}|{d['month']}"),
                            (self.adjusted_for, key)):
                row = book.setdefault(k, {})
                row[kind] = row.get(kind, 0) + amount
        else:
            row = self.paid_original.setdefault(key, {})
            row[kind] = row.get(kind, 0) + amount
            basis = (d.get("detail") or {}).get("basis")
            if basis is not None:
                self.paid_basis.setdefault(key, {})[kind] = basis

    def _snapshot(self, env: dict[str, Any]) -> None:
        d = env["data"]
        self.snapshots[f"{d['payer_id']}|{d['practice_id']}|{d['month']}"] = env["seq"]

    # -- queries the rules share ----------------------------------------------------------------
    def visit_days(self, member: str) -> dict[str, list[int]]:
        """The member's visits summed per "practice|day": [qualifying lines by primary-care
        clinicians, AWV lines, CCM lines, allowed on the counted lines] (voids netted out)."""
        days: dict[str, list[int]] = {}
        for practice, day, qual, awv, ccm, allowed in self.visits.get(member, ()):
            v = days.get(practice + "|" + day)
            if v is None:
                days[practice + "|" + day] = [qual, awv, ccm, allowed]
            else:
                v[0] += qual
                v[1] += awv
                v[2] += ccm
                v[3] += allowed
        return days

    def enrolled_on(self, member: str, payer: str, day: str) -> bool:
        m = self.members.get(member)
        if m is None:
            return False
        for p, start, end in m["spans"]:
            if p == payer and start <= day and (end is None or day <= end):
                return True
        return False

    def eligible_on(self, member: str, payer: str, day: str) -> bool:
        """Enrolled with the payer on the day; Medicare FFS members in hospice do not count."""
        if not self.enrolled_on(member, payer, day):
            return False
        return not (payer in self._medicare_ffs and self.members[member].get("hospice"))

    def payer_members(self, payer: str) -> list[str]:
        """Members ever enrolled with the payer, in id order (cached until an enrollment)."""
        cached = self._payer_members.get(payer)
        if cached is None:
            cached = self._payer_members[payer] = sorted(
                mid for mid, m in self.members.items() if any(s[0] == payer for s in m["spans"]))
        return cached

    def attributed_on(self, member: str, day: str) -> str | None:
        timeline = self.attribution.get(member)
        return _timeline_at(timeline, day) if timeline else None

    def attribution_entry_on(self, member: str, day: str) -> list | None:
        timeline = self.attribution.get(member)
        if not timeline:
            return None
        i = bisect.bisect_right([e[0] for e in timeline], day)
        return timeline[i - 1] if i else None

    def status_on(self, payer: str, practice: str, day: str) -> list | None:
        timeline = self.status.get(f"{payer}|{practice}")
        if not timeline:
            return None
        i = bisect.bisect_right([e[0] for e in timeline], day)
        return timeline[i - 1] if i else None

    def facts_on(self, payer: str, day: str) -> dict[str, list[int]]:
        """Member risk facts of the latest boundary on or before `day` ({} before the first)."""
        found: dict[str, list[int]] = {}
        for effective, facts in self.facts.get(payer, ()):
            if effective <= day:
                found = facts
        return found


_INPUT_TYPES = frozenset({"member.enrolled", "member.terminated", "alignment.declared",
                          "practice.quality_reported", "claim.submitted"})

_HANDLERS = {
    "member.enrolled": PayerState._enrolled,
    "member.terminated": PayerState._terminated,
    "alignment.declared": PayerState._aligned,
    "practice.quality_reported": PayerState._quality,
    "claim.submitted": PayerState._submitted,
    "claim.adjudicated": PayerState._adjudicated,
    "claim.reversed": PayerState._reversed,
    "claim.rejected": PayerState._drop_pending,
    "no_effect": PayerState._drop_pending,
    "attribution.assigned": PayerState._assigned,
    "attribution.corrected": PayerState._corrected,
    "practice.status": PayerState._status,
    "epoch.boundary": PayerState._boundary,
    "payment.prospective": PayerState._payment,
    "snapshot.taken": PayerState._snapshot,
}


def _timeline_at(timeline: list[list], day: str) -> str | None:
    """The value of the latest entry effective on or before `day` (entries ascend by date)."""
    for entry in reversed(timeline):
        if entry[0] <= day:
            return entry[1]
    return None


def _timeline_set(timeline: list[list], entry: list) -> None:
    """A fact from a date replaces what was known from that date on (as adjudication's Context)."""
    i = bisect.bisect_left([e[0] for e in timeline], entry[0])
    del timeline[i:]
    timeline.append(entry)


