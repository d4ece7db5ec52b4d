"""Every built-in scenario validates and runs (at a small size) to a report whose totals
reconcile with the ledger, and the same seed gives the same report bytes."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from claimsim.events.log import read
from claimsim.events.programs import ProgramKind
from claimsim.scenarios.run import run_scenario
from claimsim.scenarios.spec import builtin_names, load, validate
from claimsim.scenarios.vary import with_value


def small(name: str, members: int = 500, months: int = 8, seed: int | None = None):
    """A built-in at test size: fewer members and months, every program's minimum volume at 5 so
    the small practices' programs stay active."""
    _, data, origin = load(name)
    data = {**data, "members": members, "months": months,
            "clock": {**data.get("clock", {}), "baseline_months": 4}}
    if seed is not None:
        data["seed"] = seed
    for kind in ProgramKind:
        data = with_value(data, f"region.programs.{kind.value}.minimum_attributed", 5)
    region = data["region"]
    region.setdefault("members_per_primary_care_practice", 100)
    region["members_per_primary_care_practice"] = min(region["members_per_primary_care_practice"], 100)
    return validate(data, origin)


def _ledger_totals(run_dir: Path) -> dict[str, int]:
    """Recomputed here from the raw ledger, independently of the report code."""
    t = dict.fromkeys(("allowed", "plan_paid", "cost_share", "cap_offset", "sequestration",
                       "prospective"), 0)
    for env in read(run_dir / "ledger"):
        d = env["data"]
        if env["type"] == "payment.prospective":
            t["prospective"] += d["amount"]
        elif env["type"] in ("claim.adjudicated", "claim.reversed"):
            for line in (*d.get("lines", ()), *d.get("reversed_lines", ())):
                for k in ("allowed", "plan_paid", "cost_share", "cap_offset", "sequestration"):
                    t[k] += line[k]
    return t


def _csv(path: Path) -> list[dict[str, str]]:
    with open(path) as f:
        return list(csv.DictReader(f))


@pytest.mark.parametrize("name", builtin_names())
def test_builtin_runs_small_and_its_report_reconciles(name, tmp_path):
    result = run_scenario(small(name), tmp_path / name)
    assert all(c["ok"] for c in result.checks), [c for c in result.checks if not c["ok"]]
    ledger = _ledger_totals(tmp_path / name)
    # allowed = plan paid + cost share + offset (+ sequestration), in aggregate
    assert ledger["allowed"] == (ledger["plan_paid"] + ledger["cost_share"] + ledger["cap_offset"]
                                 + ledger["sequestration"])
    # Sum of practice net over every snapshot month = prospective + FFS paid + adjustments.
    snaps = _csv(tmp_path / name / "reports" / "snapshots.csv")
    net = sum(int(r["net_cents"]) for r in snaps)
    assert net == ledger["prospective"] + ledger["plan_paid"]
    assert sum(int(r["prospective_cents"]) + int(r["prospective_adjustments_cents"]) for r in snaps) == ledger["prospective"]
    # The practice table's window is part of the run: its figures are within the totals.
    rows = _csv(tmp_path / name / "reports" / "practices.csv")
    assert rows and all(int(r["net_revenue_cents"]) == int(r["prospective_cents"]) + int(r["ffs_paid_cents"]) for r in rows)
    assert 0 < sum(int(r["ffs_paid_cents"]) for r in rows) <= ledger["plan_paid"]
    assert sum(int(r["prospective_cents"]) for r in rows) <= ledger["prospective"]
    if name != "demo":  # every built-in but the all-programs demo is about prospective payment
        assert sum(int(r["prospective_cents"]) for r in rows) > 0
    for suffix in ("practices.parquet", "practice_revenue.png", "checks.csv"):
        assert (tmp_path / name / "reports" / suffix).stat().st_size > 0


def test_same_seed_gives_the_same_report_bytes(tmp_path):
    scenario = small("multipayer", members=400, months=7)
    run_scenario(scenario, tmp_path / "a")
    run_scenario(scenario, tmp_path / "b")
    names = sorted(p.name for p in (tmp_path / "a" / "reports").iterdir())
    assert {"practices.csv", "practices.parquet", "snapshots.csv", "practice_revenue.png"} <= set(names)
    for n in names:
        assert (tmp_path / "a" / "reports" / n).read_bytes() == (tmp_path / "b" / "reports" / n).read_bytes(), n
    other = small("multipayer", members=400, months=7, seed=99)
    run_scenario(other, tmp_path / "c")
    assert ((tmp_path / "a" / "reports" / "practices.csv").read_bytes()
            != (tmp_path / "c" / "reports" / "practices.csv").read_bytes())
