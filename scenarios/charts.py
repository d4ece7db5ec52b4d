"""PNG charts of a run and of a what-if sweep (matplotlib, Agg backend: no display needed).

Small files on purpose (a user opens them; the docs commit one): modest size and dpi, and no
timestamp in the metadata, so the same figures give the same bytes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402

_DOLLARS = FuncFormatter(lambda v, _: f"-${-v:,.0f}" if v < 0 else f"${v:,.0f}")

_METADATA = {"Software": None}
_DPI = 80


def _save(fig, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=_DPI, metadata=_METADATA)
    plt.close(fig)
    return path


def practice_revenue(path: Path, rows: list[dict[str, Any]], *, title: str) -> Path:
    """Stacked bars per primary-care practice (all payers): prospective and FFS revenue, in $."""
    totals: dict[str, list[int]] = {}
    for r in rows:
        if r["practice_kind"] != "primary_care":
            continue
        t = totals.setdefault(r["practice_id"], [0, 0])
        t[0] += r["prospective"]
        t[1] += r["ffs_paid"]
    names = sorted(totals)
    prospective = [totals[n][0] / 100 for n in names]
    ffs = [totals[n][1] / 100 for n in names]
    fig, ax = plt.subplots(figsize=(max(5, 0.5 * len(names) + 2), 3.5))
    ax.bar(names, ffs, label="FFS paid", color="#8da0cb")
    ax.bar(names, prospective, bottom=ffs, label="prospective", color="#fc8d62")
    ax.yaxis.set_major_formatter(_DOLLARS)
    ax.set_title(title, fontsize=10)
    ax.tick_params(axis="x", labelrotation=90, labelsize=7)
    ax.legend(fontsize=8)
    return _save(fig, path)


def practice_leakage(path: Path, rows: list[dict[str, Any]], *, title: str) -> Path:
    """Grouped bars per primary-care practice (all payers): leakage cost as the payer observes it
    (capitated services paid elsewhere) beside the true cost of its avoidable referrals."""
    totals: dict[str, list[int]] = {}
    for r in rows:
        if r["practice_kind"] == "primary_care":
            t = totals.setdefault(r["practice_id"], [0, 0])
            t[0] += r["leakage_cost_observed"]
            t[1] += r["leakage_cost_true"] or 0  # None: not available for ingested runs
    names = sorted(totals)
    xs = range(len(names))
    fig, ax = plt.subplots(figsize=(max(5, 0.5 * len(names) + 2), 3.5))
    ax.bar([x - 0.2 for x in xs], [totals[n][0] / 100 for n in names], width=0.4,
           label="observed (capitated services elsewhere)", color="#8da0cb")
    ax.bar([x + 0.2 for x in xs], [totals[n][1] / 100 for n in names], width=0.4,
           label="true (avoidable referrals)", color="#e78ac3")
    ax.set_xticks(list(xs), names)
    ax.yaxis.set_major_formatter(_DOLLARS)
    ax.set_title(title, fontsize=10)
    ax.tick_params(axis="x", labelrotation=90, labelsize=7)
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=2)
    return _save(fig, path)


def sweep(path: Path, points: list[dict[str, Any]], *, x_key: str, x_label: str,
          panels: list[tuple[str, list[tuple[str, str]]]], title: str) -> Path:
    """One panel per (panel title, [(metric, label)]): the metric's mean over replicates against
    the varied value, with its 95 % interval as error bars. `points` rows carry
    `{x_key: value, metric: mean, metric_lo: .., metric_hi: ..}`; money in cents, shown in $."""
    xs = [p[x_key] for p in points]
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.4), squeeze=False)
    for ax, (panel_title, metrics) in zip(axes[0], panels):
        for metric, label in metrics:
            scale = 100 if metric in _CENTS else 1
            ys = [p[metric] / scale for p in points]
            lo = [(p[metric] - p[metric + "_lo"]) / scale for p in points]
            hi = [(p[metric + "_hi"] - p[metric]) / scale for p in points]
            ax.errorbar(xs, ys, yerr=[lo, hi], marker="o", capsize=3, label=label)
        if all(metric in _CENTS for metric, _ in metrics):
            ax.yaxis.set_major_formatter(_DOLLARS)
        ax.tick_params(labelsize=8)
        ax.set_title(panel_title, fontsize=10)
        ax.set_xlabel(x_label)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle(title, fontsize=10)
    return _save(fig, path)


# Metrics measured in cents (charted in dollars); the rest are counts or ratios.
_CENTS = frozenset({"prospective", "ffs_paid", "net_revenue", "leakage_cost_true",
                    "leakage_cost_observed", "member_cost_share", "payer_spend",
                    "capitation_offsets", "plan_paid_plus_offset"})
