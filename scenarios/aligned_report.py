"""What aligned payers report (DOMAIN.md §9), for a paid run: primary care spend share with its
benchmark flags, APM adoption under both LAN conventions, participation in value-based primary
care with each practice's prospective share, claims-based quality, and the equity strata. Written
to RUN_DIR/reports/ as CSV and Parquet, with a chart and a short text.

The measures are projections (`adjudication.projections.primary_care_spend`, `apm`,
`claims_quality`) of the logs and reference data: `audit replay` reproduces the ledger, and the
same ledger gives the same files byte for byte. Equity strata read the truth log too (accuracy and
true leakage are measured against the simulator's truth, as the other accuracy reports are).
"""

from __future__ import annotations

from array import array
from pathlib import Path
from typing import Any

from claimsim.events.ignored import ignored_inputs
from claimsim.events.input_reader import readable_envelope
from claimsim.events.log import read
from claimsim.events.money import div_round_half_up
from claimsim.events.reference import ReferenceData

from claimsim.adjudication.audit.tables import true_pcps
from claimsim.adjudication.projections.aligned_entries import aligned_envelopes
from claimsim.adjudication.projections.aligned_facts import (DEMOGRAPHICS, M_COST_SHARE, S_PAID,
                                                             S_PC_ALLOWED, S_PC_PAID, AlignedFacts)
from claimsim.adjudication.projections.apm import (BY_CONTRACT, BY_PAYMENT, apm_rows,
                                                   practice_share_rows)
from claimsim.adjudication.projections.claims_quality import (SCORE_COLUMNS, quality_rows,
                                                               score_rows)
from claimsim.adjudication.projections.fold.aligned import AlignedFold
from claimsim.adjudication.projections.primary_care_spend import (ALL, SpendSettings,
                                                                  primary_care_share_rows, share_bp)
from claimsim.adjudication.projections.state import PayerState

from claimsim.scenarios import tables
from claimsim.scenarios.aligned_digest import StateDigest
from claimsim.scenarios.child import Child, start_child


def fold_facts(run_dir: Path, reference: ReferenceData, settings: SpendSettings) -> AlignedFacts:
    """The aligned facts of a run: the whole input log but the inputs the adjudication ignored
    (`events.ignored`), then the whole ledger (each as the fold reads it: `aligned_entries`)."""
    fold = AlignedFold(reference, settings.services, settings.places)
    ignored = ignored_inputs(Path(run_dir) / "ledger")  # left out, as the payer state leaves them
    for env in aligned_envelopes(Path(run_dir) / "input", readable_envelope):
        if not ignored or env.get("seq") not in ignored:
            fold.apply(env)
    for env in aligned_envelopes(Path(run_dir) / "ledger"):
        fold.apply(env)
    return fold.facts


def digest_measures(run_dir: Path, digest: StateDigest, settings: SpendSettings | None = None, *,
                    reference: ReferenceData | None = None) -> dict[str, list[dict[str, Any]]]:
    """The tables from the run's logs and what the payer state said on the report date
    (`digest`); `reference` None reads the run directory's (a child process's case)."""
    settings = settings or SpendSettings()
    reference = reference or ReferenceData.load(Path(run_dir))
    facts = fold_facts(run_dir, reference, settings)
    lob_of = {p.payer_id: p.lob.value for p in reference.payers}
    return {
        "primary_care_spend": primary_care_share_rows(facts, reference, settings),
        "apm_adoption": apm_rows(facts, reference, BY_PAYMENT) + apm_rows(facts, reference, BY_CONTRACT),
        "vbp_participation": digest.participation,
        "practice_prospective_share": practice_share_rows(facts, reference),
        "claims_quality": quality_rows(facts, lob_of, digest.years, digest.attributed_to()),
        "equity": equity_rows(run_dir, digest, facts, settings),
        # Only where the run paid on claims-based quality, so other runs' reports stay as they were.
        **({"quality_scores": score_rows(facts, digest.reconciled)}
           if digest.quality_source == "claims" else {}),
    }


def _true_referrals(run_dir: Path) -> dict[str, list[int]]:
    """member -> [referrals, avoidable referrals] from the truth log."""
    out: dict[str, list[int]] = {}
    truth = Path(run_dir) / "truth"
    if truth.is_dir():
        for env in read(truth):
            if env["type"] == "truth.referral":
                r = out.setdefault(env["data"]["member_id"], [0, 0])
                r[0] += 1
                r[1] += bool(env["data"]["avoidable"])
    return out


EQUITY_SUMS = ("members", "known_pcp", "true_pcp", "attributed", "qualifying_visits",
               "visits_elsewhere", "avoidable_referrals", "cost_share", "primary_care_spend",
               "total_spend")


def equity_rows(run_dir: Path, digest: StateDigest, facts: AlignedFacts,
                settings: SpendSettings) -> list[dict[str, Any]]:
    """Per payer (and all payers) x dimension x group, members eligible on the digest's day:
    attribution accuracy, observed leakage (attributed members' qualifying visits elsewhere), true
    avoidable referrals per 1,000 members, and cost share and primary-care spend per member over
    the run."""
    as_of = digest.as_of
    truth, referrals = true_pcps(run_dir, as_of), _true_referrals(run_dir)
    pc_col = S_PC_ALLOWED if settings.basis == "allowed" else S_PC_PAID
    none = array("q", bytes(8 * (M_COST_SHARE + 1)))
    at = digest.positions()
    sums: dict[tuple[str, str], dict[str, int]] = {}
    for mid, info in sorted(facts.members.items()):
        i = at.get(mid)
        if i is None or info.payer not in digest.payer_sets[digest.eligible[i]]:
            continue
        got, pcp = digest.practices[digest.attributed[i]], truth.get(mid)
        qual, elsewhere = digest.visits[2 * i], digest.visits[2 * i + 1]
        spend = facts.member_totals.get(mid, none)
        values = (1, pcp is not None, pcp is not None and got == pcp, got is not None, qual,
                  elsewhere, referrals.get(mid, [0, 0])[1], spend[M_COST_SHARE], spend[pc_col],
                  spend[S_PAID])
        for dim in DEMOGRAPHICS:
            for payer in (info.payer, ALL):
                agg = sums.setdefault((payer, dim, info.demographic(dim)),
                                      dict.fromkeys(EQUITY_SUMS, 0))
                for name, v in zip(EQUITY_SUMS, values):
                    agg[name] += int(v)
    def per(total: int, n: int) -> int:
        return div_round_half_up(total, n) if n else 0

    rows = []
    for (payer, dim, group), s in sorted(sums.items()):
        n = s["members"]
        rows.append({"payer_id": payer, "dimension": dim, "group": group, "as_of": as_of, **s,
                     "attribution_accuracy_bp": share_bp(s["true_pcp"], s["known_pcp"]),
                     "observed_leakage_bp": share_bp(s["visits_elsewhere"], s["qualifying_visits"]),
                     "avoidable_referrals_per_1000": per(s["avoidable_referrals"] * 1000, n),
                     "cost_share_per_member": per(s["cost_share"], n),
                     "primary_care_spend_per_member": per(s["primary_care_spend"], n)})
    return rows


# From this many members the facts are folded in a child process, beside the other reports
# (`start_aligned`): below it the child's start (a fresh interpreter importing claimsim, about a
# second of the other core) costs more than the fold it takes off this process.
APART_MEMBERS = 20_000


class AlignedJob:
    """The aligned-payer tables of a paid run, started (`start_aligned`) before the other reports
    and written (`finish`) after them. Apart, a child process folds the facts and computes the
    tables from the state's digest (`scenarios.aligned_digest`) while this process writes the
    other reports; in process, nothing happens until `finish`. The tables are the same either
    way. Use it as a context manager: leaving it unfinished (an error in the other reports) ends
    the child."""

    def __init__(self, run_dir: Path, state: PayerState, as_of: str, years: list[int],
                 apart: bool | None = None):
        self.run_dir, self.state = Path(run_dir), state
        self.digest: StateDigest | None = StateDigest.of(state, as_of, years)
        self.apart = self.digest.members >= APART_MEMBERS if apart is None else apart
        self.child: Child | None = None
        if self.apart:
            self.child = start_child(digest_measures, self.run_dir, self.digest)
            self.digest = None  # the child has its own copy

    def finish(self) -> tuple[list[Path], dict]:
        """Write every table as CSV and Parquet into RUN_DIR/reports/; returns (files, tables)."""
        if self.child is not None:
            found = self.child.result()
        else:
            assert self.digest is not None
            found = digest_measures(self.run_dir, self.digest, reference=self.state.reference)
        self.digest = None
        out = self.run_dir / "reports"
        files: list[Path] = []
        for name, rows in found.items():
            files += tables.write_both(out, name, [_with_units(r) for r in rows],
                                       list(_with_units(dict.fromkeys(HEADERS.get(name, ())))))
        return files, found

    def __enter__(self) -> AlignedJob:
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.child is not None:
            self.child.close()


def start_aligned(run_dir: Path, state: PayerState, as_of: str, years: list[int], *,
                  apart: bool | None = None) -> AlignedJob:
    """Start the aligned-payer tables (`AlignedJob`). `apart`: in a child process; None: from
    `APART_MEMBERS` members."""
    return AlignedJob(run_dir, state, as_of, years, apart)


def write_aligned(run_dir: Path, state: PayerState, as_of: str, years: list[int], *,
                  apart: bool | None = None) -> tuple[list[Path], dict]:
    """Every aligned-payer table written into RUN_DIR/reports/ at once (`start_aligned`, then
    `finish`); returns (files, the tables)."""
    with start_aligned(run_dir, state, as_of, years, apart=apart) as job:
        return job.finish()


# Money columns say their unit in the files, as every report's do (`_cents`); in memory the
# tables keep the measures' own names. Cost share is what members owe, named as in the reports.
MONEY = frozenset({"primary_care_claims", "primary_care_non_claims", "primary_care_total",
                   "total_medical_expense", "total", "cat_1", "cat_2A", "cat_2C", "cat_3A_3B",
                   "cat_4A", "cat_4B", "cost_share", "primary_care_spend", "total_spend",
                   "cost_share_per_member", "primary_care_spend_per_member", "pbip_paid", "pbip_kept"})


RENAMED = {"cost_share": "member_cost_share", "cost_share_per_member": "member_cost_share_per_member"}


# The columns of a table that may have no rows (its header is then these alone).
HEADERS = {"quality_scores": SCORE_COLUMNS}


def _with_units(row: dict[str, Any]) -> dict[str, Any]:
    return {(f"{RENAMED.get(k, k)}_cents" if k in MONEY else k): v for k, v in row.items()}


def text(found: dict[str, list[dict[str, Any]]]) -> str:
    """Primary care share and APM 4A per payer for the last year, for the run's printed summary."""
    spend = found["primary_care_spend"]
    if not spend:
        return ""
    year = max(r["year"] for r in spend)
    apm = {r["payer_id"]: r for r in found["apm_adoption"]
           if r["year"] == year and r["convention"] == BY_PAYMENT}
    part = {r["payer_id"]: r for r in found["vbp_participation"]}
    lines = [f"aligned-payer measures, {year}: payer  primary-care share"
             "  APM 1/2A/2C/4A/4B (by payment)  members in VBP"]
    for r in spend:
        if r["year"] != year:
            continue
        a, p = apm.get(r["payer_id"]), part.get(r["payer_id"])
        mix = "/".join(f"{a[c] / 100:.1f}" for c in ("cat_1_bp", "cat_2A_bp", "cat_2C_bp", "cat_4A_bp",
                                                     "cat_4B_bp")) if a else "-"
        vbp = f"{p['members_in_vbp_bp'] / 100:.1f} %" if p else "-"
        lines.append(f"  {r['payer_id']:<20} {r['primary_care_share_bp'] / 100:5.1f} %  {mix}  {vbp}")
    return "\n".join(lines)


# -- what-if metrics -----------------------------------------------------------------------------
ALIGNED_METRICS = ("primary_care_share_bp", "apm_1_bp", "apm_2a_bp", "apm_2c_bp", "apm_4a_bp",
                   "apm_4b_bp", "members_in_vbp_bp", "awv_rate_bp", "hba1c_rate_bp")
_APM = (("apm_1_bp", "cat_1"), ("apm_2a_bp", "cat_2A"), ("apm_2c_bp", "cat_2C"),
        ("apm_4a_bp", "cat_4A"), ("apm_4b_bp", "cat_4B"))


def aligned_metrics(found: dict[str, list[dict[str, Any]]]) -> dict[str, dict[str, int]]:
    """Per payer ("payer:ID") and all payers ("all"): the primary-care share and the APM mix (by
    payment) over every year of the run, the share of members in value-based models, and the
    claims-based quality rates (member-years over every year; none for "all")."""
    spend: dict[str, list[int]] = {}
    for r in found["primary_care_spend"]:
        s = spend.setdefault(r["payer_id"], [0, 0])
        s[0] += r["primary_care_total"]
        s[1] += r["total_medical_expense"]
    apm: dict[str, dict[str, int]] = {}
    for r in found["apm_adoption"]:
        if r["convention"] == BY_PAYMENT:
            a = apm.setdefault(r["payer_id"], dict.fromkeys(("total", *(c for _, c in _APM)), 0))
            for k in a:
                a[k] += r[k]
    vbp = {r["payer_id"]: r["members_in_vbp_bp"] for r in found["vbp_participation"]}
    quality: dict[str, list[int]] = {}  # payer -> [Medicare members, AWV, diabetic, tested]
    for r in found["claims_quality"]:
        if not r["practice_id"]:
            q = quality.setdefault(r["payer_id"], [0, 0, 0, 0])
            for i, k in enumerate(("medicare_members", "awv_members", "diabetic_members",
                                   "hba1c_tested")):
                q[i] += r[k]
    out = {}
    for payer, (pc, tme) in sorted(spend.items()):
        a = apm.get(payer, {"total": 0})
        q = quality.get(payer, [0, 0, 0, 0])
        out[payer] = {"primary_care_share_bp": share_bp(pc, tme), "members_in_vbp_bp": vbp.get(payer, 0),
                      **{m: share_bp(a.get(c, 0), a["total"]) for m, c in _APM},
                      "awv_rate_bp": share_bp(q[1], q[0]), "hba1c_rate_bp": share_bp(q[3], q[2])}
    return {("all" if p == "all" else f"payer:{p}"): v for p, v in out.items()}


def sweep_text(summary: list[dict[str, Any]], keys: list[str]) -> str:
    """The aligned-payer metrics of a what-if, one line per point x payer (means)."""
    rows = [r for r in summary if (r["group"] == "all" or r["group"].startswith("payer:"))
            and "primary_care_share_bp" in r]
    if not rows:
        return ""
    header = [k.rsplit(".", 1)[-1] for k in keys] + ["payer", "PC share %", "APM 1 %", "2A %",
                                                       "2C %", "4A %", "4B %", "members in VBP %"]
    body = [[str(r[k]) for k in keys] + [r["group"].removeprefix("payer:")]
            + [f"{r[m] / 100:.1f}" for m in ("primary_care_share_bp", "apm_1_bp", "apm_2a_bp",
                                             "apm_2c_bp", "apm_4a_bp", "apm_4b_bp", "members_in_vbp_bp")]
            for r in sorted(rows, key=lambda r: (r["group"], r["point"]))]
    widths = [max(len(row[i]) for row in [header, *body]) for i in range(len(header))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(row, widths)) for row in [header, *body]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "aligned-payer measures (whole run, APM by payment; mean over replicates):\n" + "\n".join(lines)
