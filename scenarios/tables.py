"""The report of a paid scenario run, per payer x practice: what the practice received
(prospective vs FFS, share prospective), what members paid, leakage as the payer sees it
(claims) and as it really was (the truth log's avoidable referrals), attribution accuracy and
observed vs true risk; and the run's totals checked against the ledger. CSV and Parquet files.

Figures come from the payer's projections (PayerState, the snapshot money rows) plus two reads only a
report may make: the truth log and the ledger's referral claims. Nothing here writes to a log.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from sys import intern
from typing import Any, NamedTuple

import pyarrow as pa
import pyarrow.parquet as pq

from claimsim.events.files import whole_or_absent
from claimsim.events.log import last_envelope, read
from claimsim.events.money import BP_ONE, div_round_half_up
from claimsim.adjudication.projections.epochs import Plan
from claimsim.adjudication.audit.tables import (  # noqa: F401
    column_name, report_rows, true_pcps, write_csv,
)
from claimsim.adjudication.projections.money import money_by_practice, money_totals
from claimsim.adjudication.projections.state import PayerState
from claimsim.adjudication.projections.fold.timelines import S_ACTIVE, S_EFFECTIVE, S_REASON
from claimsim.adjudication.projections.status import MINIMUM_VOLUME
from claimsim.events.calendar import months_from

LINE_MONEY = ("allowed", "plan_paid", "cost_share", "medicaid_cost_share", "cap_offset",
              "sequestration")


@dataclass(frozen=True)
class Window:
    """The months a report covers: the program period (first boundary to the end of the service
    window), when the run has one; otherwise every service month."""

    months: tuple[str, ...]
    as_of: str  # attribution and risk are read at the last boundary paid within the window

    @classmethod
    def of(cls, plan: Plan) -> Window:
        last = plan.service_end[:7]
        paid = [b for b in plan.boundaries if b < plan.service_end]
        first = paid[0][:7] if paid else plan.start[:7]
        months = tuple(m for m in months_from(first, last) if m < last)
        return cls(months, paid[-1] if paid else plan.boundaries[-1])


def ratio_bp(part: int, whole: int) -> int:
    return div_round_half_up(part * BP_ONE, whole) if whole > 0 else 0


# -- truth ---------------------------------------------------------------------------------------
@dataclass
class Truth:
    payer_of: dict[str, str]  # member -> payer (as enrolled first), for members in `avoidable`
    risk: dict[str, int]  # member -> true risk x 1000
    pcp: dict[str, str | None]  # member -> true PCP on the report date
    avoidable: dict[str, tuple[str, str, str]]  # referral claim id -> (member, from practice, date)


# Measures only the simulator's truth log can give; an ingested run has none (None in the
# rows, "n/a" in print: not available for ingested runs).
TRUTH_COLUMNS = ("avoidable_referrals", "avoidable_referrals_per_1000_mm", "leakage_cost_true",
                 "true_panel", "true_panel_attributed", "attribution_accuracy_bp", "risk_true_milli")
NOT_AVAILABLE = "not available for ingested runs"


def has_truth(run_dir: Path) -> bool:
    return (Path(run_dir) / "truth").is_dir()


def read_truth(run_dir: Path, as_of: str) -> Truth:
    """What the practice table needs of the truth log. Held for a million members at once beside
    the payer state, so kept small: `payer_of` only for the members with an avoidable referral
    (cut to them before the true PCPs are read), one int object per distinct true risk."""
    payer_of: dict[str, str] = {}
    risk: dict[str, int] = {}
    avoidable: dict[str, tuple[str, str, str]] = {}
    if not has_truth(run_dir):
        return Truth(payer_of, risk, {}, avoidable)
    scores: dict[int, int] = {}  # one copy of each risk value (most repeat)
    for env in read(Path(run_dir) / "truth"):
        d = env["data"]
        if env["type"] == "truth.member":  # ids interned: shared with the payer state's
            member = intern(d["member_id"])
            payer_of.setdefault(member, intern(d["payer_id"]))
            score = d["risk_milli"]
            risk[member] = scores.setdefault(score, score)
        elif env["type"] == "truth.referral" and d["avoidable"] and d.get("claim_id"):
            avoidable[d["claim_id"]] = (intern(d["member_id"]), intern(d["from_practice"]),
                                        intern(str(d["service_date"])))
    referring = {member for member, _, _ in avoidable.values()}
    payer_of = {m: p for m, p in payer_of.items() if m in referring}
    return Truth(payer_of, risk, true_pcps(run_dir, as_of), avoidable)


class LedgerScan(NamedTuple):
    """What the reports read of a run's ledger apart from the projections, in one pass."""

    totals: dict[str, int]  # every adjudicated line's money (LINE_MONEY) and prospective payment
    net_paid: dict[str, int]  # per claim id asked for: plan paid net of reversals and replacements
    last_paid: dict[str, int]  # per claim id asked for: plan paid on its last adjudication


# The last scan, by (ledger folder, head seq, head hash) and the claim ids it was asked for: the
# reports of one run ask three times (leakage, the practice table, the checks), and at a
# payer's scale each read of the ledger is gigabytes decoded.
class _Scanned(NamedTuple):
    head: tuple[Any, ...]  # (ledger folder, head seq, head hash)
    claims: frozenset[str]
    scan: LedgerScan


_LAST_SCAN: list[_Scanned] = []


def ledger_scan(run_dir: Path, claim_ids: set[str]) -> LedgerScan:
    """The ledger's totals and the plan paid on `claim_ids`, read once for a run's reports: a
    later call on the same ledger (same head) for the same claims or fewer reuses the read."""
    ledger = Path(run_dir) / "ledger"
    head = last_envelope(ledger)
    key = (ledger.resolve(), None if head is None else head["seq"], None if head is None else head["hash"])
    if _LAST_SCAN and _LAST_SCAN[0].head == key and claim_ids <= _LAST_SCAN[0].claims:
        return _LAST_SCAN[0].scan
    scan = _scan(ledger, claim_ids)
    _LAST_SCAN[:] = [_Scanned(key, frozenset(claim_ids), scan)]
    return scan


def _scan(ledger: Path, claim_ids: set[str]) -> LedgerScan:
    totals = dict.fromkeys((*LINE_MONEY, "prospective"), 0)
    net: dict[str, int] = {}
    last: dict[str, int] = {}
    for env in read(ledger):
        kind, d = env["type"], env["data"]
        if kind == "payment.prospective":
            totals["prospective"] += d["amount"]
            continue
        if kind not in ("claim.adjudicated", "claim.reversed"):
            continue
        lines = (*d.get("lines", ()), *d.get("reversed_lines", ()))
        for line in lines:
            for name in LINE_MONEY:
                totals[name] += line[name]
        claim = d.get("original_claim_id") or d["claim_id"]
        if claim in claim_ids:
            net[claim] = net.get(claim, 0) + sum(line["plan_paid"] for line in lines)
        if kind == "claim.adjudicated" and d["claim_id"] in claim_ids:
            last[d["claim_id"]] = sum(line["plan_paid"] for line in d["lines"])
    return LedgerScan(totals, net, last)


# -- the practice table --------------------------------------------------------------------------
def practice_rows(run_dir: Path, state: PayerState, plan: Plan) -> list[dict[str, Any]]:
    """One row per payer x practice with money in the window (cents, counts, basis points)."""
    window = Window.of(plan)
    months, as_of = set(window.months), window.as_of
    truth = read_truth(run_dir, as_of)
    referral_paid = ledger_scan(run_dir, set(truth.avoidable)).net_paid
    rows: dict[tuple[str, str], dict[str, Any]] = {}

    def row(payer: str, practice: str) -> dict[str, Any]:
        r = rows.get((payer, practice))
        if r is None:
            r = rows[(payer, practice)] = dict.fromkeys(FIGURES, 0)
        return r

    for (payer, practice), money in money_by_practice(state.money, months).items():
        r = row(payer, practice)
        r["ffs_paid"] += money.ffs_by_service_date
        r["capitation_offsets"] += money.offsets
        r["member_cost_share"] += money.cost_share
        r["medicaid_cost_share"] += money.medicaid_cost_share
        r["allowed"] += money.allowed
        r["sequestration"] += money.sequestration
        r["shadow_ffs"] += money.shadow_ffs
        r["leakage_visits"] += money.leakage_visits
        r["qualifying_visits"] += money.qualifying_visits
        r["leakage_cost_observed"] += money.leakage_cost
    # Adjustments for months after the window count in it: the year-end PBIP recoupment is
    # dated December even when the service window ends earlier; and PCF's performance adjustment
    # on flat fees paid at the closing boundary, after the window, is on the window's visits.
    after = max(months) if months else ""
    for book in (state.paid_original, state.adjusted_for):
        for key, kinds in sorted(book.items()):
            payer, practice, month = key.split("|")
            if month in months or month > after:
                row(payer, practice)["prospective"] += sum(kinds.values())
    for payer in sorted(p.payer_id for p in state.reference.payers):
        for counts in state.member_months(payer, [month + "-01" for month in window.months]):
            for practice, n in counts.items():
                row(payer, practice)["member_months"] += n
    for claim, (member, practice, day) in sorted(truth.avoidable.items()):
        payer = truth.payer_of.get(member)
        if payer is None or day[:7] not in months:
            continue
        r = row(payer, practice)
        r["avoidable_referrals"] += 1
        r["leakage_cost_true"] += referral_paid.get(claim, 0)
    _attribution_and_risk(state, truth, as_of, row)
    return _table_rows(run_dir, state, plan, rows, as_of)


def _table_rows(run_dir: Path, state: PayerState, plan: Plan,
                rows: dict[tuple[str, str], dict[str, Any]], as_of: str) -> list[dict[str, Any]]:
    """The summed figures per payer x practice as the table shows them, in order: with their
    ratios and averages, the practice's kind and program, and its epochs below the minimum; the
    truth columns empty for a run with no truth log."""
    out = []
    practice_kind = {p.practice_id: p.kind.value for p in state.reference.practices}
    for (payer, practice), r in sorted(rows.items()):
        contract = state.reference.contract_on(payer, practice, _date(as_of))
        r["net_revenue"] = r["prospective"] + r["ffs_paid"]
        r["prospective_share_bp"] = ratio_bp(r["prospective"], r["net_revenue"])
        r["leakage_rate_observed_bp"] = ratio_bp(r["leakage_visits"], r["qualifying_visits"])
        r["avoidable_referrals_per_1000_mm"] = div_round_half_up(
            r["avoidable_referrals"] * 1000, r["member_months"]) if r["member_months"] else 0
        r["attribution_accuracy_bp"] = ratio_bp(r["true_panel_attributed"], r["true_panel"])
        for name in ("risk_observed_milli", "risk_true_milli"):
            r[name] = div_round_half_up(r[name], r["attributed"]) if r["attributed"] else 0
        out.append({"payer_id": payer, "practice_id": practice,
                    "practice_kind": practice_kind.get(practice, ""),
                    "program": contract.program.kind.value if contract else "ffs",
                    "hybrid_bp": contract.program.hybrid_bp if contract else 0,
                    **{name: r[name] for name in COLUMNS},
                    "epochs_below_minimum": epochs_below_minimum(state, plan, payer, practice)})
    if not has_truth(run_dir):
        for r in out:
            r.update(dict.fromkeys(TRUTH_COLUMNS))
    return out


def epochs_below_minimum(state: PayerState, plan: Plan, payer: str, practice: str) -> int:
    """Paid epochs in which the practice's program was not in force for this payer because it
    had fewer attributed members than the program's minimum volume (paid FFS instead)."""
    n = 0
    for boundary in plan.boundaries:
        if boundary >= plan.service_end:
            break
        entry = state.status_on(payer, practice, boundary)
        if entry is None or entry[S_EFFECTIVE] != boundary:
            continue
        n += not entry[S_ACTIVE] and entry[S_REASON].startswith(MINIMUM_VOLUME)
    return n


def _attribution_and_risk(state: PayerState, truth: Truth, as_of: str, row) -> None:
    """Attribution accuracy per true PCP, and mean observed vs true risk of each practice's
    attributed members (true risk normalised to the payer's mean, as observed risk is)."""
    for payer in sorted(p.payer_id for p in state.reference.payers):
        facts = state.facts_on(payer, as_of)
        scored = [m for m in sorted(facts) if m in truth.risk]
        true_sum = sum(truth.risk[m] for m in scored) or 1
        for member in state.payer_members(payer):
            if not state.eligible_on(member, payer, as_of):
                continue
            got = state.attributed_on(member, as_of)
            pcp = truth.pcp.get(member)
            if pcp is not None:
                r = row(payer, pcp)
                r["true_panel"] += 1
                r["true_panel_attributed"] += got == pcp
            # Without a truth log (an ingested run) every attributed member counts, observed only.
            if got is not None and member in facts and (member in truth.risk or not truth.risk):
                r = row(payer, got)
                r["attributed"] += 1
                r["risk_observed_milli"] += facts[member][0]
                if truth.risk:
                    # Integer milli: the true score relative to the payer's mean, rounded once.
                    r["risk_true_milli"] += div_round_half_up(
                        truth.risk[member] * 1000 * len(scored), true_sum)


def _date(day: str) -> dt.date:
    return dt.date.fromisoformat(day)


FIGURES = ("member_months", "prospective", "ffs_paid", "capitation_offsets", "member_cost_share",
           "medicaid_cost_share", "allowed", "sequestration", "shadow_ffs", "leakage_visits",
           "qualifying_visits", "leakage_cost_observed", "avoidable_referrals", "leakage_cost_true",
           "true_panel", "true_panel_attributed", "attributed", "risk_observed_milli",
           "risk_true_milli")
COLUMNS = ("member_months", "prospective", "ffs_paid", "net_revenue", "prospective_share_bp",
           "capitation_offsets", "member_cost_share", "medicaid_cost_share", "allowed",
           "sequestration", "shadow_ffs", "leakage_visits", "qualifying_visits",
           "leakage_rate_observed_bp", "leakage_cost_observed", "avoidable_referrals",
           "avoidable_referrals_per_1000_mm", "leakage_cost_true", "true_panel",
           "true_panel_attributed", "attribution_accuracy_bp", "attributed", "risk_observed_milli",
           "risk_true_milli")
MONEY_COLUMNS = frozenset({"prospective", "ffs_paid", "net_revenue", "capitation_offsets",
                           "member_cost_share", "medicaid_cost_share", "allowed", "sequestration",
                           "shadow_ffs", "leakage_cost_observed", "leakage_cost_true"})
SUMMABLE = ("member_months", "prospective", "ffs_paid", "net_revenue", "capitation_offsets",
            "member_cost_share", "medicaid_cost_share", "allowed", "sequestration", "shadow_ffs",
            "leakage_visits", "qualifying_visits", "leakage_cost_observed", "avoidable_referrals",
            "leakage_cost_true", "true_panel", "true_panel_attributed")


def total(rows: list[dict[str, Any]]) -> dict[str, int | None]:
    """Sums of the additive columns, with the ratios recomputed from the sums (a truth measure a
    row lacks stays None: not available for ingested runs)."""
    out: dict[str, int | None] = {
        name: None if any(r[name] is None for r in rows) else sum(r[name] for r in rows)
        for name in SUMMABLE}
    out["prospective_share_bp"] = ratio_bp(out["prospective"], out["net_revenue"])
    out["leakage_rate_observed_bp"] = ratio_bp(out["leakage_visits"], out["qualifying_visits"])
    out["attribution_accuracy_bp"] = (None if out["true_panel"] is None else
                                      ratio_bp(out["true_panel_attributed"], out["true_panel"]))
    return out


# -- the run's totals against the ledger ------------------------------------------------------
def reconciliation(run_dir: Path, state: PayerState) -> list[dict[str, Any]]:
    """Whole-run checks (every month, not just the window): the projections' totals against an
    independent read of the ledger. Each row: check, report figure, ledger figure, ok."""
    ledger = ledger_scan(run_dir, set()).totals
    money = money_totals(state.money)
    prospective = sum(sum(k.values()) for k in state.paid_original.values())
    adjustments = sum(sum(k.values()) for k in state.adjusted_in.values())
    net = prospective + adjustments + money.ffs_by_paid_date
    parts = ledger["plan_paid"] + ledger["cost_share"] + ledger["cap_offset"] + ledger["sequestration"]
    checks = [
        ("practice net = prospective + FFS paid + adjustments", net,
         ledger["prospective"] + ledger["plan_paid"]),
        ("FFS paid by paid date = plan paid on ledger lines", money.ffs_by_paid_date, ledger["plan_paid"]),
        ("FFS paid by service date = plan paid on ledger lines", money.ffs_by_service_date, ledger["plan_paid"]),
        ("prospective + adjustments = ledger payments", prospective + adjustments, ledger["prospective"]),
        ("allowed = plan paid + cost share + offset + sequestration", ledger["allowed"], parts),
        ("allowed in snapshots = allowed on ledger lines", money.allowed, ledger["allowed"]),
        ("member cost share + Medicaid (QMB) cost share in snapshots = cost share on ledger lines",
         money.cost_share + money.medicaid_cost_share, ledger["cost_share"]),
        ("Medicaid (QMB) cost share in snapshots = ledger", money.medicaid_cost_share,
         ledger["medicaid_cost_share"]),
        ("capitation offsets in snapshots = ledger", money.offsets, ledger["cap_offset"]),
    ]
    return [{"check": c, "report_cents": a, "ledger_cents": b, "ok": a == b} for c, a, b in checks]


# -- files ----------------------------------------------------------------------------------------
def write_parquet(path: Path, rows: list[dict[str, Any]], columns: list[str] | None = None) -> Path:
    """The same table as `write_csv` writes, with the same column names (`columns`: those of a
    table with no rows, which has no rows to name them)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with whole_or_absent(path) as part:
        if rows or not columns:
            table = pa.Table.from_pylist(report_rows(rows))
        else:
            table = pa.table({column_name(c): pa.array([], pa.null()) for c in columns})
        pq.write_table(table, part)
    return path


def write_both(folder: Path, name: str, rows: list[dict[str, Any]],
               columns: list[str] | None = None) -> list[Path]:
    """`name`.csv and `name`.parquet; `columns` first in the header (and the whole header of a
    table with no rows)."""
    return [write_csv(folder / f"{name}.csv", rows, columns=columns),
            write_parquet(folder / f"{name}.parquet", rows, columns)]
