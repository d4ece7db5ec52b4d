"""One self-contained HTML page per run (`reports/index.html`) and per what-if sweep
(`index.html`): the figures an analyst reads first, the charts inlined as PNG data, and what each
figure means. Nothing is fetched: no scripts, fonts or styles from elsewhere, so it reads offline
and can be mailed as one file.

Built from the same rows the CSV files hold (scenarios.tables, scenarios.report); money is shown in
dollars here and named in cents in the files.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path
from typing import Any

from claimsim.events.files import whole_or_absent
from claimsim.events.money import dollars

INDEX = "index.html"

_STYLE = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2rem auto;
max-width:72rem;padding:0 1rem;color:#1d2733}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.25rem;margin-top:2.2rem;
border-bottom:2px solid #d6dde6;padding-bottom:.2rem}p.lead{color:#4a5868;margin-top:0}
table{border-collapse:collapse;margin:.6rem 0;font-variant-numeric:tabular-nums}
th,td{padding:.25rem .6rem;border-bottom:1px solid #e3e8ee;text-align:right;white-space:nowrap}
th{background:#f3f6f9;font-weight:600}td.t,th.t{text-align:left}tr.total td{font-weight:600;
border-top:2px solid #9aa7b5}.ok{color:#1a7f37}.bad{color:#b42318;font-weight:600}
figure{margin:1rem 0}figure img{max-width:100%;height:auto;border:1px solid #e3e8ee}
figcaption{color:#4a5868;font-size:.9rem}dl dt{font-weight:600;margin-top:.6rem}
dl dd{margin-left:1.2rem}.wrap{overflow-x:auto}
"""

# What each figure means, in DOMAIN.md's words (the same names as the CSV columns, less the unit).
DEFINITIONS = (
    ("member months", "members enrolled and attributed to the practice on the first day of each"
     " month, summed over the months (DOMAIN.md §7)."),
    ("prospective", "per-member-per-month payments made ahead of care: CMF, CPCP, PBIP (CPC+),"
     " PBP (Primary Care First), ESP and PPCP (Making Care Primary), net of recoupments; and"
     " PCF's performance adjustment on the flat visit fees paid in each quarter, paid at the"
     " quarter's end."),
    ("FFS paid", "plan paid on claim lines, by service month: what fee-for-service still pays after"
     " cost share, the capitation offset and sequestration."),
    ("% prospective", "prospective ÷ (prospective + FFS paid): the share of the practice's revenue"
     " paid prospectively (MCP asks aligned payers for 50–100 %)."),
    ("capitation offset", "FFS withheld on capitated services because the practice is paid for"
     " them prospectively (CARC 24)."),
    ("member cost share", "what members owe: deductible, coinsurance and copays, less the part"
     " Medicaid pays for dual-eligible QMB members."),
    ("Medicaid (QMB) cost share", "the cost share of Qualified Medicare Beneficiaries, which they"
     " do not owe and Medicaid pays (remarks N781/N782/N783 on the line)."),
    ("sequestration", "Medicare's 2 % reduction of plan paid on Medicare FFS lines (CARC 253)."),
    ("leakage rate (observed)", "qualifying primary-care visits of the practice's attributed members"
     " at other practices ÷ all their qualifying visits, from claims (PCF's definition)."),
    ("leakage cost (observed)", "FFS plan paid elsewhere for the practice's capitated services for"
     " its attributed members: paid a second time, as the payer sees it in claims."),
    ("leakage (true)", "referrals the simulator knows were avoidable (the practice could have"
     " treated the member), and the plan paid on the claims they produced; no payer can see this."),
    ("attribution accuracy", "members attributed to the practice the simulator says is their true"
     " PCP ÷ members with a known true PCP (simulator truth only)."),
    ("status", "active: the program is in force; FFS fallback: fewer attributed members than the"
     " program's minimum, so the payer pays the practice FFS for the epoch; FFS: no program."),
    ("reconciliation checks", "each report total recomputed independently from the ledger; every"
     " row must match to the cent."),
)


def _e(value: Any) -> str:
    return html.escape(str(value))


def table(header: list[str], rows: list[list[str]], *, text_columns: int = 1,
          total: list[str] | None = None) -> str:
    def row(cells: list[str], tag: str, cls: str = "") -> str:
        out = "".join(f'<{tag}{" class=t" if i < text_columns else ""}>{_e(c)}</{tag}>'
                      for i, c in enumerate(cells))
        return f"<tr{cls}>{out}</tr>"

    body = [row(header, "th"), *(row(r, "td") for r in rows)]
    if total is not None:
        body.append(row(total, "td", ' class="total"'))
    return '<div class="wrap"><table>' + "".join(body) + "</table></div>"


def image(path: Path, caption: str) -> str:
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    return (f'<figure><img src="data:image/png;base64,{data}" alt="{_e(caption)}">'
            f"<figcaption>{_e(caption)}</figcaption></figure>")


def definitions(extra: tuple[tuple[str, str], ...] = ()) -> str:
    items = "".join(f"<dt>{_e(term)}</dt><dd>{_e(text)}</dd>" for term, text in (*DEFINITIONS, *extra))
    return f'<h2 id="meaning">What each figure means</h2><dl>{items}</dl>'


def page(title: str, lead: str, sections: list[str]) -> str:
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
            f"<title>{_e(title)}</title><style>{_STYLE}</style></head><body>"
            f"<h1>{_e(title)}</h1><p class=\"lead\">{_e(lead)}</p>" + "\n".join(sections)
            + "</body></html>\n")


NA = "n/a"  # a truth figure an ingested run does not have


def pct(bp: int | float | None) -> str:
    return NA if bp is None else f"{bp / 100:.1f} %"


def money(cents: int | None) -> str:
    return NA if cents is None else dollars(cents)


def count(n: int | None) -> str:
    return NA if n is None else f"{n:,}"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with whole_or_absent(path) as part:  # a page stopped mid-write is not left cut short
        part.write_text(text, encoding="utf-8", newline="\n")
    return path


# -- a run --------------------------------------------------------------------------------------
def run_report(out: Path, *, scenario: str, span: str, as_of: str, payers: list[dict[str, Any]],
               practices: list[dict[str, Any]], accuracy: list[dict[str, Any]],
               checks: list[dict[str, Any]], reconciliation: list[dict[str, Any]],
               charts: list[tuple[Path, str]]) -> Path:
    """reports/index.html of a run. `payers`: per-payer totals (tables.total + payer);
    `practices`: practice rows with `program` and `status`; the rest as the CSV files hold them."""
    acc = table(["payer", "members with a known true PCP", "attributed to it", "to another practice",
                 "unattributed", "accuracy"],
                [[r["payer_id"], count(r["members"]), count(r["true_pcp"]), count(r["other_practice"]),
                  count(r["unattributed"]), pct(r["accuracy_bp"])] for r in accuracy])
    figures = "".join(image(p, caption) for p, caption in charts)
    ok = all(c["ok"] for c in checks)
    sections = [
        '<h2 id="summary">Summary</h2><p>Program period ' + _e(span) + "; attribution and risk as of "
        + _e(as_of) + ". Every total reconciles with the ledger: "
        + ('<span class="ok">yes</span>' if ok else '<span class="bad">NO (see Reconciliation)</span>')
        + ".</p>" + _payer_table(payers),
        '<h2 id="practices">Payments by practice</h2><p>Per payer and practice over the program period,'
        " with the practice's program with that payer and its status at the last boundary.</p>"
        + _practice_table(practices),
        '<h2 id="accuracy">Attribution accuracy</h2>' + acc,
        '<h2 id="leakage">Leakage, true vs observed</h2>' + _leakage_table(practices),
        '<h2 id="reconciliation">Reconciliation</h2>' + _reconciliation_tables(checks, reconciliation),
        '<h2 id="charts">Charts</h2>' + figures,
        definitions(),
    ]
    return write(Path(out) / INDEX, page(f"claimsim run: {scenario}",
                                         f"{scenario}, program period {span}", sections))


def _payer_table(payers: list[dict[str, Any]]) -> str:
    """The summary: each payer's totals over the program period, and all payers'."""
    shown = ("prospective", "ffs_paid", "capitation_offsets", "member_cost_share",
             "medicaid_cost_share", "sequestration")
    return table(
        ["payer", "member months", "prospective", "FFS paid", "% prospective", "capitation offset",
         "member cost share", "Medicaid (QMB) cost share", "sequestration"],
        [[r["payer"], count(r["member_months"]), *(money(r[m]) for m in shown[:2]),
          pct(r["prospective_share_bp"]), *(money(r[m]) for m in shown[2:])] for r in payers],
        total=["all payers", count(sum(r['member_months'] for r in payers)),
               *(money(sum(r[m] for r in payers)) for m in shown[:2]),
               pct(_share(payers)), *(money(sum(r[m] for r in payers)) for m in shown[2:])])


def _practice_table(practices: list[dict[str, Any]]) -> str:
    """Payments by payer and practice, for practices with any money or member months."""
    return table(
        ["payer", "practice", "kind", "program", "status", "member months", "prospective",
         "FFS paid", "% prospective", "capitation offset", "member cost share",
         "Medicaid (QMB) cost share"],
        [[r["payer_id"], r["practice_id"], r["practice_kind"], r["program"], r["status"],
          count(r["member_months"]), money(r["prospective"]), money(r["ffs_paid"]),
          pct(r["prospective_share_bp"]), money(r["capitation_offsets"]),
          money(r["member_cost_share"]), money(r["medicaid_cost_share"])]
         for r in practices if r["member_months"] or r["ffs_paid"] or r["prospective"]],
        text_columns=5)


def _leakage_table(practices: list[dict[str, Any]]) -> str:
    """Leakage of the primary-care practices with any qualifying visits or referrals out."""
    primary = [r for r in practices if r["practice_kind"] == "primary_care"
               and (r["qualifying_visits"] or r["avoidable_referrals"] or r["leakage_cost_observed"])]
    return table(["payer", "practice", "program", "leakage rate (observed)",
                  "leakage cost (observed)", "avoidable referrals (true)", "leakage cost (true)"],
                 [[r["payer_id"], r["practice_id"], r["program"],
                   pct(r["leakage_rate_observed_bp"]), money(r["leakage_cost_observed"]),
                   count(r["avoidable_referrals"]), money(r["leakage_cost_true"])]
                  for r in primary], text_columns=3)


def _reconciliation_tables(checks: list[dict[str, Any]],
                           reconciliation: list[dict[str, Any]]) -> str:
    """Each report total against the ledger's, then the year-end reconciliation (if any)."""
    check_rows = [[c["check"], _amount(c["report_cents"]), _amount(c["ledger_cents"]),
                   "matches" if c["ok"] else "MISMATCH"] for c in checks]
    recon = table(["check", "report", "ledger", "result"], check_rows)
    if reconciliation:
        recon += table(["payer", "practice", "year", "program", "prospective", "shadow FFS",
                        "prospective − shadow FFS", "PBIP kept", "PBIP recouped"],
                       [[r["payer_id"], r["practice_id"], str(r["year"]), r["program"],
                         money(r["prospective_total"]), money(r["shadow_ffs"]),
                         money(r["prospective_minus_shadow_ffs"]), money(r["pbip_kept"]),
                         money(r["pbip_recouped"])] for r in reconciliation], text_columns=4)
    return recon


def _share(rows: list[dict[str, Any]]) -> int:
    from claimsim.scenarios.tables import ratio_bp

    prospective = sum(r["prospective"] for r in rows)
    return ratio_bp(prospective, prospective + sum(r["ffs_paid"] for r in rows))


def _amount(cents: int) -> str:
    return money(cents)
