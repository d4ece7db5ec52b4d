"""The payer-side projection of a run's logs: members and enrollment, alignment choices, quality
reports (input log), primary-care visits, diagnoses, FFS by practice and month, the attribution
and practice-status timelines and the prospective payments made (ledger). Attribution, risk,
prospective payments, snapshots and reconciliation are pure functions of this state.

State is plain JSON data (ISO date strings, ints, lists, dicts) so `events.projection`'s runner can
checkpoint it; `apply` takes raw envelopes of either log (their types do not overlap) and is the
only thing that changes it. `LedgerFollower` feeds it a ledger while pulling the input log along.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from claimsim.events.codes import ICD10_CONDITION, PROCEDURE_GROUPS, ProcedureGroup
from claimsim.events.log import read
from claimsim.events.money import BasisPoints
from claimsim.events.plans import LineOfBusiness
from claimsim.events.programs import ProgramKind
from claimsim.events.providers import ClinicianRole
from claimsim.events.reference import ReferenceData

QUALIFYING = frozenset({ProcedureGroup.PC_EM.value, ProcedureGroup.AWV.value,
                        ProcedureGroup.CARE_MGMT.value})
AWV = ProcedureGroup.AWV.value
CCM_CODES = frozenset({"99490", "99491", "99487", "99489"})

# Positions in a money row (one per payer x practice x month); a list, not a dict, because the
# fold touches it for every claim line.
M_FFS_SERVICE, M_FFS_PAID, M_OFFSETS, M_COST_SHARE, M_SHADOW, M_CLAIM_ADJ = range(6)
M_LEAK_VISITS, M_ALL_VISITS, M_LEAK_COST, M_ALLOWED, M_SEQUESTRATION = range(6, 11)
MONEY_WIDTH = 11


class ProjectionSettings(BaseModel):
    """Settings of the payer-side projections (DOMAIN.md §4, §6, §7), with their defaults.

    Recorded in the run manifest so a replay uses the same ones.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    attribution_lookback_months: int = Field(default=24, ge=1)
    risk_lookback_months: int = Field(default=12, ge=1)
    expected_ffs_lookback_months: int = Field(default=12, ge=1)
    leakage_lookback_months: int = Field(default=12, ge=1)  # PCF: measured on the prior year
    # Program pre-steps before plurality (DOMAIN.md §6): "awv" = most recent AWV/IPPE practice,
    # "ccm" = most recent practice billing chronic care management.
    pre_steps: dict[ProgramKind, str] = Field(default_factory=lambda: {
        ProgramKind.PCF: "awv", ProgramKind.CPCP_T1: "ccm", ProgramKind.CPCP_T2: "ccm"})
    complex_top_bp: BasisPoints = Field(default=1000, ge=0, le=10_000)  # CPC+ complex tier share
    complex_dementia: bool = True  # members with dementia join the complex tier
    # PCF practice risk group bounds on the practice's average observed risk (thousandths):
    # group 1 below the first bound, group k+1 at or above the k-th.
    pcf_group_bounds_milli: tuple[int, ...] = (1000, 1200, 1500)
    # PCF quarterly performance adjustment from the practice's latest quality score: pairs of
    # (minimum quality_bp, adjustment_bp), -10 %..+50 % (DOMAIN.md §4: a setting).
    pcf_performance_map: tuple[tuple[BasisPoints, BasisPoints], ...] = (
        (0, -1000), (3000, 0), (5000, 1000), (7000, 2500), (9000, 5000))
    pbip_quality_threshold_bp: BasisPoints = 5000  # PBIP kept at or above, recouped below
    runout_months: int = Field(default=3, ge=0)  # claims run-out before year-end reconciliation


# -- calendar on ISO strings (the fold compares strings; parsing dates would cost per line) --
def add_months(day: str, months: int) -> str:
    """The same day-of-month `months` later (clamped to 28 so every month has it)."""
    y, m, d = int(day[:4]), int(day[5:7]), int(day[8:10])
    total = y * 12 + (m - 1) + months
    return f"{total // 12:04d}-{total % 12 + 1:02d}-{min(d, 28):02d}"


def month_of(day: str) -> str:
    return day[:7]


def next_month(month: str) -> str:
    return add_months(month + "-01", 1)[:7]


def months_from(first: str, last: str) -> list[str]:
    """Months `first`..`last` inclusive (YYYY-MM)."""
    out, m = [], first
    while m <= last:
        out.append(m)
        m = next_month(m)
    return out


def age_on(birth: str, day: str) -> int:
    years = int(day[:4]) - int(birth[:4])
    return years - 1 if day[5:10] < birth[5:10] else years


class PayerState:
    """The fold. Attribute names are the state's keys; see `state()`."""

    name = "payer-state"

    def __init__(self, reference: ReferenceData, settings: ProjectionSettings | None = None):
        self.reference = reference
        self.settings = settings or ProjectionSettings()
        self._roles = {npi: c.role.value for npi, (_, c) in reference.clinician.items()}
        self._pc_role = ClinicianRole.PRIMARY_CARE.value
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
        self.last_seq = -1  # last ledger seq applied
        self.last_at = ""  # its simulation date
        self.input_seq = -1  # last input seq applied
        self.members: dict[str, dict[str, Any]] = {}
        self.alignments: dict[str, list[list]] = {}  # member -> [[effective, practice, payer]]
        self.quality: dict[str, dict[str, list[int]]] = {}  # "payer|practice" -> year -> [q, u]
        # member -> "practice|date" -> [qualifying lines by PC clinicians, AWV lines, CCM lines,
        # allowed on those qualifying lines]
        self.visits: dict[str, dict[str, list[int]]] = {}
        self.ffs: dict[str, dict[str, dict[str, int]]] = {}  # member -> "practice|month" -> group -> allowed
        self.dx: dict[str, dict[str, str]] = {}  # member -> condition -> last service date
        self.pending_dx: dict[str, dict[str, list[str]]] = {}  # input seq -> line_no -> conditions
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
        handler = self._HANDLERS.get(env["type"])
        if env["type"] in _INPUT_TYPES:
            self.input_seq = env["seq"]
        else:
            self.last_seq, self.last_at = env["seq"], env["at"]
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
        """Keep the diagnoses of a submitted claim until its ledger entry says it was adjudicated
        (claim lines in the ledger carry no diagnoses; the input claim does)."""
        claim = env["data"].get("claim")
        if not isinstance(claim, dict) or not isinstance(claim.get("lines"), list):
            return
        found: dict[str, list[str]] = {}
        for line in claim["lines"]:
            if not isinstance(line, dict) or not isinstance(line.get("diagnoses"), list):
                continue
            conds = sorted({ICD10_CONDITION[c].value for c in line["diagnoses"]
                            if isinstance(c, str) and c in ICD10_CONDITION})
            if conds:
                found[str(line.get("line_no"))] = conds
        if found:
            self.pending_dx[str(env["seq"])] = found

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
               adjustment: bool, dx: dict[str, list[str]] | None) -> None:
        payer, practice, member = d["payer_id"], d["practice_id"], d["member_id"]
        pc = self._roles.get(d.get("rendering_npi", "")) == self._pc_role
        if "rendering_npi" not in d:  # a void carries no NPI: reverse what its original counted
            pc = None
        groups, tracked, money = self._groups, self._tracked, self.money
        visits = self.visits.setdefault(member, {})
        timeline = self.attribution.get(member)
        for line in lines:
            day = line["service_date"]
            month = day[:7]
            group = groups.get(line["procedure"])
            plan_paid = line["plan_paid"]
            row = money.get(f"{payer}|{practice}|{month}")
            if row is None:
                row = money[f"{payer}|{practice}|{month}"] = [0] * MONEY_WIDTH
            row[M_FFS_SERVICE] += plan_paid
            row[M_OFFSETS] += line.get("cap_offset", 0)
            row[M_COST_SHARE] += line["cost_share"]
            row[M_ALLOWED] += line["allowed"]
            row[M_SEQUESTRATION] += line.get("sequestration", 0)
            if line.get("capitated"):
                extra = line.get("shadow_allowed", 0) - line["allowed"]
                row[M_SHADOW] += plan_paid + line.get("cap_offset", 0) + (extra if extra * sign > 0 else 0)
            prow = row if month == paid_month else money.get(f"{payer}|{practice}|{paid_month}")
            if prow is None:
                prow = money[f"{payer}|{practice}|{paid_month}"] = [0] * MONEY_WIDTH
            prow[M_FFS_PAID] += plan_paid
            if adjustment and month < paid_month:
                prow[M_CLAIM_ADJ] += plan_paid
            if group is None or group not in tracked:
                continue
            status = line.get("status", "paid")
            if group in QUALIFYING:
                vkey = f"{practice}|{day}"
                v = visits.get(vkey)
                if v is None:
                    v = visits[vkey] = [0, 0, 0, 0]
                counts = status != "denied" and (pc if pc is not None else v[0] * sign < 0)
                if counts:
                    v[0] += sign
                    v[3] += line["allowed"]
                if group == AWV:
                    v[1] += sign
                elif line["procedure"] in CCM_CODES:
                    v[2] += sign
                if counts and timeline:
                    home = _timeline_at(timeline, day)
                    if home is not None:
                        hrow = row if home == practice else money.get(f"{payer}|{home}|{month}")
                        if hrow is None:
                            hrow = money[f"{payer}|{home}|{month}"] = [0] * MONEY_WIDTH
                        hrow[M_ALL_VISITS] += sign
                        if home != practice:
                            hrow[M_LEAK_VISITS] += sign
            if status != "denied":
                fkey = f"{practice}|{month}"
                f = self.ffs.setdefault(member, {}).setdefault(fkey, {})
                f[group] = f.get(group, 0) + line["allowed"]
            if timeline:
                home = _timeline_at(timeline, day)
                if home is not None and home != practice and group in self._capitated_groups(payer, home, day):
                    hrow = money.get(f"{payer}|{home}|{month}")
                    if hrow is None:
                        hrow = money[f"{payer}|{home}|{month}"] = [0] * MONEY_WIDTH
                    hrow[M_LEAK_COST] += plan_paid
        if dx and sign > 0:
            mdx = self.dx.setdefault(member, {})
            for line in lines:
                for cond in dx.get(str(line["line_no"]), ()):
                    if mdx.get(cond, "") < line["service_date"]:
                        mdx[cond] = line["service_date"]

    def _adjudicated(self, env: dict[str, Any]) -> None:
        d = env["data"]
        dx = self.pending_dx.pop(str(env["cause"]), None) if env.get("cause") is not None else None
        paid_month = str(d["paid"])[:7]
        replacement = d.get("frequency") == "7"
        if d.get("reversed_lines"):
            self._lines(d, d["reversed_lines"], -1, paid_month, True, None)
        self._lines(d, d["lines"], 1, paid_month, replacement, dx)

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
        from claimsim.adjudication.risk import member_facts  # risk reads this state

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

    _HANDLERS: dict[str, Any] = {}

    # -- queries the rules share ----------------------------------------------------------------
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
        return sorted(mid for mid, m in self.members.items()
                      if any(s[0] == payer for s in m["spans"]))

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

PayerState._HANDLERS = {
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


class LedgerFollower:
    """Feeds a PayerState from a run directory: each ledger entry, after every input event up to
    the input seq it answers (its `cause`), so the state sees inputs exactly as the payer had them.

    Implements the `events.projection.Projection` protocol over the ledger; the input position
    travels inside the state, so a checkpoint restores both.
    """

    def __init__(self, run_dir: Path | str, state: PayerState):
        self.run_dir = Path(run_dir)
        self.state_obj = state
        self.name = state.name
        self._input: Iterator[dict[str, Any]] | None = None
        self._peek: dict[str, Any] | None = None

    def _pull_input(self, upto: int) -> None:
        st = self.state_obj
        if st.input_seq >= upto:
            return
        if self._input is None:
            self._input = read(self.run_dir / "input", st.input_seq + 1)
            self._peek = None
        while True:
            env = self._peek if self._peek is not None else next(self._input, None)
            self._peek = None
            if env is None:
                self._input = None
                return
            if env["seq"] > upto:
                self._peek = env
                return
            st.apply(env)

    def apply(self, envelope: dict[str, Any]) -> None:
        cause = envelope.get("cause")
        if cause is not None and cause > self.state_obj.input_seq:
            self._pull_input(cause)
        self.state_obj.apply(envelope)

    def state(self) -> Any:
        return self.state_obj.state()

    def restore(self, state: Any) -> None:
        self.state_obj.restore(state)
        self._input, self._peek = None, None
