"""PNG charts of a run and of a what-if sweep (matplotlib, Agg backend: no display needed).

Sized to be read in the HTML report and on their own (about 1100 px wide, 11-12 pt labels), with
axis titles, and each practice labelled with its program so an FFS practice never passes for a
CPC+ one. No timestamp in the metadata, so the same figures give the same bytes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402

from claimsim.events.files import whole_or_absent  # noqa: E402

_DOLLARS = FuncFormatter(lambda v, _: f"-${-v:,.0f}" if v < 0 else f"${v:,.0f}")

_METADATA = {"Software": None}
_DPI = 100
_FONT = {"font.size": 11, "axes.titlesize": 13, "axes.labelsize": 12, "legend.fontsize": 10,
         "xtick.labelsize": 10, "ytick.labelsize": 10}


def _save(fig, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    try:
        with whole_or_absent(path) as part:  # a chart stopped mid-write is not left cut short
            fig.savefig(part, format="png", dpi=_DPI, metadata=_METADATA)
    finally:
        plt.close(fig)
    return path


def _primary_care(rows: list[dict[str, Any]], figures: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """Per primary-care practice (all payers): the figures summed, and its programs (those with
    member months, as the run's summary names them; FFS when it has none)."""
    out: dict[str, dict[str, Any]] = {}
    for r in rows:
        if r["practice_kind"] != "primary_care":
            continue
        t = out.setdefault(r["practice_id"], {**dict.fromkeys(figures, 0), "programs": set()})
        for f in figures:
            t[f] += r[f] or 0  # None: a truth figure, not available for ingested runs
        if r["member_months"]:
            t["programs"].add(r["program"])
    return out


def _label(practice: str, programs: set[str]) -> str:
    return f"{practice}\n{'/'.join(sorted(programs)) or 'ffs'}"


# At most this many practices get a bar: a payer's network has hundreds (800 primary-care
# practices at a million members made a 60,000-pixel-wide PNG, 125 MB of pixels to draw it).
MAX_BARS = 60


def _charted(totals: dict[str, dict[str, Any]], figures: tuple[str, ...], title: str,
             what: str) -> tuple[list[str], str]:
    """The practices to chart and the title: every practice in id order, or past `MAX_BARS` the
    ones with the largest sum of `figures`, largest first, the title saying so."""
    names = sorted(totals)
    if len(names) <= MAX_BARS:
        return names, title
    names = sorted(names, key=lambda n: (-sum(totals[n][f] for f in figures), n))[:MAX_BARS]
    return names, (f"{title}\n(the {MAX_BARS} of {len(totals):,} practices with the most {what};"
                   " every practice is in practices.csv)")


def _bars_figure(n: int):
    with plt.rc_context(_FONT):
        fig, ax = plt.subplots(figsize=(max(8.0, 0.75 * n + 2.5), 5.2))
    return fig, ax


def practice_revenue(path: Path, rows: list[dict[str, Any]], *, title: str) -> Path:
    """Stacked bars per primary-care practice (all payers): prospective and FFS revenue, in $."""
    totals = _primary_care(rows, ("prospective", "ffs_paid"))
    names, title = _charted(totals, ("prospective", "ffs_paid"), title, "revenue")
    with plt.rc_context(_FONT):
        fig, ax = _bars_figure(len(names))
        ffs = [totals[n]["ffs_paid"] / 100 for n in names]
        ax.bar(names, ffs, label="FFS paid", color="#8da0cb")
        ax.bar(names, [totals[n]["prospective"] / 100 for n in names], bottom=ffs,
               label="prospective", color="#fc8d62")
        ax.set_xticks(range(len(names)), [_label(n, totals[n]["programs"]) for n in names],
                      rotation=90)
        ax.yaxis.set_major_formatter(_DOLLARS)
        ax.set_title(title)
        ax.set_xlabel("primary-care practice (its programs)")
        ax.set_ylabel("revenue from all payers ($)")
        ax.grid(axis="y", alpha=0.3)
        ax.legend()
        return _save(fig, path)


def practice_leakage(path: Path, rows: list[dict[str, Any]], *, title: str) -> Path:
    """Grouped bars per primary-care practice (all payers): leakage cost as the payer observes it
    (capitated services paid elsewhere) beside the true cost of its avoidable referrals."""
    totals = _primary_care(rows, ("leakage_cost_observed", "leakage_cost_true"))
    names, title = _charted(totals, ("leakage_cost_observed", "leakage_cost_true"), title,
                            "leakage cost")
    xs = range(len(names))
    with plt.rc_context(_FONT):
        fig, ax = _bars_figure(len(names))
        ax.bar([x - 0.2 for x in xs], [totals[n]["leakage_cost_observed"] / 100 for n in names],
               width=0.4, label="observed (capitated services paid elsewhere)", color="#8da0cb")
        ax.bar([x + 0.2 for x in xs], [totals[n]["leakage_cost_true"] / 100 for n in names],
               width=0.4, label="true (avoidable referrals)", color="#e78ac3")
        ax.set_xticks(list(xs), [_label(n, totals[n]["programs"]) for n in names], rotation=90)
        ax.yaxis.set_major_formatter(_DOLLARS)
        ax.set_title(title)
        ax.set_xlabel("primary-care practice (its programs)")
        ax.set_ylabel("leakage cost, plan paid ($)")
        ax.grid(axis="y", alpha=0.3)
        ax.legend()
        return _save(fig, path)


def sweep(path: Path, points: list[dict[str, Any]], *, x_key: str, x_label: str,
          panels: list[tuple[str, list[tuple[str, str]]]], title: str) -> Path:
    """One panel per (panel title, [(metric, label)]): the metric's mean over replicates against
    the varied value, with its 95 % interval as error bars. `points` rows carry
    `{x_key: value, metric: mean, metric_lo: .., metric_hi: ..}`; money in cents, shown in $."""
    xs = [p[x_key] for p in points]
    with plt.rc_context(_FONT):
        fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 4.6), squeeze=False)
        _sweep_panels(axes[0], points, xs, x_label, panels)
        fig.suptitle(title)
        return _save(fig, path)


def _sweep_panels(axes, points, xs, x_label, panels) -> None:
    for ax, (panel_title, metrics) in zip(axes, panels):
        for metric, label in metrics:
            scale = 100 if metric in _CENTS else 1
            ys = [p[metric] / scale for p in points]
            lo = [(p[metric] - p[metric + "_lo"]) / scale for p in points]
            hi = [(p[metric + "_hi"] - p[metric]) / scale for p in points]
            ax.errorbar(xs, ys, yerr=[lo, hi], marker="o", capsize=3, label=label)
        if all(metric in _CENTS for metric, _ in metrics):
            ax.yaxis.set_major_formatter(_DOLLARS)
            ax.set_ylabel("$ over the program period (mean)")
        else:
            ax.set_ylabel("mean over replicates")
        ax.set_title(panel_title)
        ax.set_xlabel(x_label)
        ax.grid(alpha=0.3)
        ax.legend()


# Metrics measured in cents (charted in dollars); the rest are counts or ratios.
_CENTS = frozenset({"prospective", "ffs_paid", "net_revenue", "leakage_cost_true", "medicaid_cost_share",
                    "leakage_cost_observed", "member_cost_share", "payer_spend",
                    "capitation_offsets", "plan_paid_plus_offset"})
