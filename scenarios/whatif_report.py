"""What a user reads of a what-if sweep: the table `claimsim whatif` prints (means with half
their 95 % interval, then the paired differences from the first point) and the chart against the
varied value, for the practices of the program being varied.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from claimsim.scenarios.whatif import Sweep

PANELS = [
    ("practice revenue", [("net_revenue", "total"), ("prospective", "prospective"),
                          ("ffs_paid", "FFS paid")]),
    ("leakage cost", [("leakage_cost_true", "true (avoidable referrals)"),
                      ("leakage_cost_observed", "observed (capitated services elsewhere)")]),
    ("members and payer", [("member_cost_share", "member cost share"),
                           ("capitation_offsets", "capitation offsets")]),
]
TABLE = (("prospective_share_bp", "% prosp.", "%"), ("prospective", "prospective", "$"),
         ("ffs_paid", "FFS paid", "$"), ("net_revenue", "practice revenue", "$"),
         ("avoidable_referrals", "avoidable refs", "n"), ("leakage_cost_true", "leak. cost true", "$"),
         ("leakage_cost_observed", "leak. cost obs.", "$"),
         ("member_cost_share", "member cost share", "$"),
         ("medicaid_cost_share", "Medicaid (QMB) cost share", "$"),
         ("attribution_accuracy_bp", "attr. acc. %", "%"))


def focus_rows(sweep: Sweep) -> tuple[str, list[dict[str, Any]]]:
    group = sweep.focus if any(r["group"] == sweep.focus for r in sweep.summary) else "all"
    return group, [r for r in sweep.summary if r["group"] == group]


def write_charts(sweep: Sweep, out: Path, title: str) -> list[Path]:
    """Charts against the first varied key (one series per point when it is the only one)."""
    from claimsim.scenarios import charts

    if len(sweep.axes) != 1 or not all(isinstance(v, int) and not isinstance(v, bool)
                                       for v in sweep.axes[0].values):
        return []  # a chart needs one numeric axis; the tables hold every combination
    group, rows = focus_rows(sweep)
    panels = [(name, [(k, label) for k, label in series if all(r[k] is not None for r in rows)])
              for name, series in PANELS]  # a history has no truth series
    axis = sweep.axes[0].path
    label = axis.rsplit(".", 1)[-1]
    if label.endswith("_bp"):
        rows = [{**r, axis: r[axis] / 100} for r in rows]
        label = label.removesuffix("_bp") + " %"
    path = charts.sweep(out / "whatif.png", rows, x_key=axis, x_label=label, panels=panels,
                        title=f"{title}: {group} practices, {sweep.replicates} replicate(s),"
                        " means with 95 % intervals")
    return [path]


def _fmt(value: float | None, kind: str) -> str:
    if value is None:
        return "n/a"  # a truth measure of a history run: not available for ingested runs
    if kind == "$":
        return f"${value / 100:,.0f}"
    if kind == "%":
        return f"{value / 100:.1f}"
    return f"{value:,.1f}"


def _summary_cells(sweep: Sweep, rows: list[dict[str, Any]], keys: list[str]) -> tuple[list[str], list[list[str]]]:
    """The summary table's header and cells, one row per point: the varied values, then each
    metric's mean (± half its 95 % interval with replicates; a metric without a value has none)."""
    header = [k.rsplit(".", 1)[-1] for k in keys] + [label for _, label, _ in TABLE]
    body = []
    for r in rows:
        cells = [str(r[k]) for k in keys]
        for metric, _, kind in TABLE:
            cell = _fmt(r[metric], kind)
            if sweep.replicates > 1 and r[metric] is not None:
                cell += " ±" + _fmt((r[metric + "_hi"] - r[metric + "_lo"]) / 2, kind).lstrip("$")
            cells.append(cell)
        body.append(cells)
    return header, body


def _history_source(sweep: Sweep) -> str:
    """What every point of a history sweep ran on: the same recorded claims, re-paid under the
    point's settings (a history draws no seeds: it is one run per point)."""
    info = sweep.history_info or {}
    return (f"one run per point, each re-paying the history {sweep.history}"
            f" ({info['ingest']['members']:,} members, {info['months']} months) under that"
            " point's settings")


def text_table(sweep: Sweep) -> str:
    group, rows = focus_rows(sweep)
    keys = [a.path for a in sweep.axes]
    header, body = _summary_cells(sweep, rows, keys)
    widths = [max(len(row[i]) for row in [header, *body]) for i in range(len(header))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(row, widths)) for row in [header, *body]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines += _diff_lines(sweep, group, rows, keys)
    if sweep.history is not None:
        note = f"{group} practices (all payers), program period; {_history_source(sweep)}"
    else:
        note = (f"{group} practices (all payers), program period; mean over {sweep.replicates}"
                f" replicate(s) (seeds {sweep.base_seed}.."
                f"{sweep.base_seed + sweep.replicates - 1} at every point)"
                + (", ± half the 95 % interval" if sweep.replicates > 1 else ""))
    return note + "\n" + "\n".join(lines)


DIFF_TABLE = (("prospective", "prospective", "$"), ("ffs_paid", "FFS paid", "$"),
              ("net_revenue", "practice revenue", "$"), ("avoidable_referrals", "avoidable refs", "n"),
              ("leakage_cost_true", "leak. cost true", "$"),
              ("member_cost_share", "member cost share", "$"))


def _diff_lines(sweep: Sweep, group: str, rows: list[dict[str, Any]], keys: list[str]) -> list[str]:
    """The paired differences from the first point (same seeds), and the payer's total spend."""
    if len(rows) < 2 or "net_revenue_diff" not in rows[0]:
        return []
    spend = {r["point"]: r for r in sweep.summary if r["group"] == "all"}
    header = [k.rsplit(".", 1)[-1] for k in keys] + [label for _, label, _ in DIFF_TABLE] + ["payer spend (all)"]
    body = []
    for r in rows:
        cells = [str(r[k]) for k in keys]
        for metric, _, kind in (*DIFF_TABLE, ("payer_spend", "", "$")):
            src = spend[r["point"]] if metric == "payer_spend" else r
            value = src.get(metric + "_diff", 0)
            cell = ("+" if value and value > 0 else "") + _fmt(value, kind).replace("$-", "-$")
            if sweep.replicates > 1 and value is not None:
                cell += " ±" + _fmt((src[metric + "_diff_hi"] - src[metric + "_diff_lo"]) / 2, kind).lstrip("$")
            cells.append(cell)
        body.append(cells)
    widths = [max(len(row[i]) for row in [header, *body]) for i in range(len(header))]
    out = ["", "difference from the first point, replicate by replicate (common random numbers):"]
    out += ["  ".join(c.rjust(w) for c, w in zip(row, widths)) for row in [header, *body]]
    out.insert(3, "  ".join("-" * w for w in widths))
    return out


def write_html(sweep: Sweep, out: Path, title: str, charts: list[Path]) -> Path:
    """The sweep's self-contained page, OUT/index.html: the means per point (± half the 95 %
    interval), the paired differences from the first point, the chart, and what each means."""
    from claimsim.scenarios import html_report

    group, rows = focus_rows(sweep)
    keys = [a.path for a in sweep.axes]
    header, body = _summary_cells(sweep, rows, keys)
    diff = _diff_lines(sweep, group, rows, keys)
    if sweep.history is not None:
        note = f"{group} practices (all payers) over the program period; {_history_source(sweep)}"
    else:
        note = (f"{group} practices (all payers) over the program period; mean over"
                f" {sweep.replicates} replicate(s), seeds {sweep.base_seed}.."
                f"{sweep.base_seed + sweep.replicates - 1} at every point (common random numbers)")
    sections = [
        '<h2 id="summary">Summary</h2><p>' + html_report._e(note) + ".</p>"
        + html_report.table(header, body, text_columns=len(keys)),
        ('<h2 id="differences">Difference from the first point</h2><pre>'
         + html_report._e("\n".join(diff[1:])) + "</pre>") if diff else "",
        '<h2 id="charts">Charts</h2>' + "".join(
            html_report.image(p, "Each metric's mean against the varied value, with its 95 %"
                                 " interval over replicates as error bars.") for p in charts),
        html_report.definitions((
            ("same claims at every point", "each point re-pays the history's claims, so a"
             " difference between points is the setting, not noise.")
            if sweep.history is not None else
            ("replicates, intervals", "each point is run once per replicate with the same seeds"
             " as every other point, so a difference between points is the setting, not noise;"
             " ± is half the 95 % t-interval of the mean over replicates."),
            ("practice revenue", "prospective + FFS paid for the focus practices."),
            ("payer spend (all)", "everything the payers paid for the window's services: FFS and"
             " prospective, all practices."))),
    ]
    return html_report.write(Path(out) / html_report.INDEX, html_report.page(
        f"claimsim what-if: {title}", note, sections))
