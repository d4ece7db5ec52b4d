"""The aligned-payer chart of a run: each payer's primary care spend share beside its LAN APM mix
(by payment), for the run's last year. Same conventions as `scenarios.charts` (Agg, no timestamp).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from claimsim.scenarios.charts import _save, plt

APM_BARS = (("cat_1_bp", "1 FFS"), ("cat_2A_bp", "2A"), ("cat_2C_bp", "2C"),
            ("cat_3A_3B_bp", "3A/3B"), ("cat_4A_bp", "4A"), ("cat_4B_bp", "4B"))


def aligned_measures(path: Path, found: dict[str, list[dict[str, Any]]], *, title: str) -> Path:
    spend = found["primary_care_spend"]
    year = max((r["year"] for r in spend), default=0)
    payers = [r["payer_id"] for r in spend if r["year"] == year]
    share = [r["primary_care_share_bp"] / 100 for r in spend if r["year"] == year]
    apm = {r["payer_id"]: r for r in found["apm_adoption"]
           if r["year"] == year and r["convention"] == "payment"}
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6))
    left.barh(payers, share, color="#4c72b0")
    left.axvline(15, color="#c44e52", linestyle="--", linewidth=1, label="OHCA 15 % by 2034")
    left.set_xlabel(f"primary care share of total medical expense, {year} (%)")
    left.legend(fontsize=8)
    bottom = [0.0] * len(payers)
    for key, label in APM_BARS:
        values = [apm[p][key] / 100 if p in apm else 0 for p in payers]
        right.barh(payers, values, left=bottom, label=label)
        bottom = [b + v for b, v in zip(bottom, values)]
    right.set_xlabel("LAN APM category, % of dollars (by payment)")
    right.legend(fontsize=7, ncol=3, loc="lower right")
    fig.suptitle(title, fontsize=10)
    return _save(fig, path)
