"""DOMAIN.md §4 "Expected directions", each checked on a fixed seed with what-if sweeps of small
built-in scenarios (common random numbers: every point of a sweep uses the same seed, so the
difference between points is the setting).

Sizes: the CPC+ and PCF regions at 1,600 members in 4 practices over 9 months (4 baseline),
minimum volume 20; the demo region at 1,200 members. Each sweep runs its points on 2 processes.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from claimsim.events.log import read
from claimsim.events.programs import ProgramKind
from claimsim.scenarios.spec import load, validate
from claimsim.scenarios.vary import parse_vary, with_value
from claimsim.scenarios.whatif import run_sweep

pytestmark = pytest.mark.slow  # what-if sweeps: minutes, outside the fast inner loop


def sweep(tmp: Path, name: str, varies: list[str], *, members: int = 1600, per_pc: int = 400,
          keep_logs: bool = False, **settings):
    _, data, origin = load(name)
    data = {**data, "members": members, "months": 9,
            "clock": {**data.get("clock", {}), "baseline_months": 4}}
    for kind in ProgramKind:
        data = with_value(data, f"region.programs.{kind.value}.minimum_attributed", 20)
    data = with_value(data, "region.members_per_primary_care_practice", per_pc)
    for path, value in settings.items():
        data = with_value(data, path.replace("__", "."), value)
    scenario = validate(data, origin)
    return run_sweep(scenario, data, [parse_vary(v) for v in varies], tmp, origin=origin, jobs=2,
                     keep_logs=keep_logs)


def at(sw, group: str, **where) -> dict:
    """The summary row of `group` at the point whose varied keys end with the given names."""
    for row in sw.summary:
        if row["group"] == group and all(
                row[next(a.path for a in sw.axes if a.path.endswith(k))] == v for k, v in where.items()):
            return row
    raise KeyError((group, where))


@pytest.fixture(scope="module")
def hybrid(tmp_path_factory):
    """CPC+ with the default avoidable-referral slope (30 % more propensity at h = 100 %)."""
    return sweep(tmp_path_factory.mktemp("hybrid"), "cpcplus",
                 ["programs.cpcplus_t2.hybrid_bp=0,4000,6500"])


@pytest.fixture(scope="module")
def same_visits(tmp_path_factory):
    """CPC+ with the slope at 0, so every point has the same visits and referrals."""
    return sweep(tmp_path_factory.mktemp("same"), "cpcplus",
                 ["programs.cpcplus_t2.hybrid_bp=0,4000",
                  "programs.cpcplus_t2.cost_share_basis=full,reduced"],
                 referrals__avoidable_slope_bp=0)


def test_raising_hybrid_moves_cpcplus_t2_revenue_from_ffs_to_prospective(hybrid):
    rows = [at(hybrid, "cpcplus_t2", hybrid_bp=h) for h in (0, 4000, 6500)]
    shares = [r["prospective_share_bp"] for r in rows]
    assert shares[0] < shares[1] < shares[2]
    assert rows[0]["prospective"] < rows[1]["prospective"] < rows[2]["prospective"]
    assert rows[0]["ffs_paid"] > rows[1]["ffs_paid"] > rows[2]["ffs_paid"]
    assert rows[0]["capitation_offsets"] == 0 < rows[1]["capitation_offsets"] < rows[2]["capitation_offsets"]


def test_with_the_referral_slope_true_leakage_and_its_cost_rise_with_hybrid(hybrid):
    """Propensity = base + slope x h: a higher h refers out a superset of avoidable services."""
    rows = [at(hybrid, "cpcplus_t2", hybrid_bp=h) for h in (0, 4000, 6500)]
    refs = [r["avoidable_referrals"] for r in rows]
    cost = [r["leakage_cost_true"] for r in rows]
    assert refs[0] < refs[1] < refs[2]
    assert cost[0] < cost[1] < cost[2]
    # The FFS practices' behaviour does not depend on the CPC+ hybrid %.
    ffs = [at(hybrid, "ffs", hybrid_bp=h)["avoidable_referrals"] for h in (0, 4000, 6500)]
    assert ffs[0] == ffs[1] == ffs[2]


def test_for_the_same_visits_hybrid_with_enhancement_raises_practice_revenue_and_payer_spend(same_visits):
    low, high = (at(same_visits, "cpcplus_t2", hybrid_bp=h, cost_share_basis="full") for h in (0, 4000))
    assert low["allowed"] == high["allowed"]  # the same services, priced the same
    assert high["net_revenue"] > low["net_revenue"]
    spend = [at(same_visits, "all", hybrid_bp=h, cost_share_basis="full")["payer_spend"] for h in (0, 4000)]
    assert spend[1] > spend[0]


def test_member_cost_share_unchanged_under_full_lower_under_reduced_and_payer_share_the_other_way(same_visits):
    """Under `full` the member owes what FFS would charge (C from allowed); under `reduced` C comes
    from allowed - h x allowed, so it is lower, and the payer's part of allowed (plan paid +
    capitation offset) is higher by exactly what the cost share falls by (allowed is the same):
    what members owe plus the QMB part Medicaid pays for them."""
    ffs = at(same_visits, "cpcplus_t2", hybrid_bp=0, cost_share_basis="full")
    full = at(same_visits, "cpcplus_t2", hybrid_bp=4000, cost_share_basis="full")
    reduced = at(same_visits, "cpcplus_t2", hybrid_bp=4000, cost_share_basis="reduced")
    assert full["member_cost_share"] == ffs["member_cost_share"]
    assert reduced["member_cost_share"] < full["member_cost_share"]
    saved = sum(full[k] - reduced[k] for k in ("member_cost_share", "medicaid_cost_share"))
    payer = {k: r["ffs_paid"] + r["capitation_offsets"] for k, r in (("full", full), ("reduced", reduced))}
    assert payer["reduced"] - payer["full"] == saved
    assert reduced["allowed"] == full["allowed"]


def _pbp(run_dir: Path) -> dict[tuple[str, str, str], tuple[int, int, int]]:
    """PBP per payer x practice x month as first paid: (amount, leakage bp in its basis, member
    months)."""
    out = {}
    for env in read(run_dir / "ledger"):
        d = env["data"]
        if env["type"] == "payment.prospective" and d["kind"] == "pbp" and not d.get("adjusts_month"):
            basis = (d.get("detail") or {}).get("basis") or {}
            out[(d["payer_id"], d["practice_id"], d["month"])] = (
                d["amount"], basis.get("leakage_bp", 0), d["member_months"])
    return out


def test_pcf_leakage_adjustment_lowers_pbp_most_where_leakage_is_highest(tmp_path):
    """Same seed, adjustment off vs on, at low and high away-visit rates: each PBP becomes
    PBP x (1 - leakage rate) (to a cent per member), so the share taken rises with leakage, and
    the region's practices lose a larger share when their members see other practices more."""
    sw = sweep(tmp_path, "pcf", ["utilization.away_visit_bp=300,2500",
                                 "programs.pcf.leakage_adjustment=false,true"], keep_logs=True)
    runs = {(p["utilization.away_visit_bp"], p["region.programs.pcf.leakage_adjustment"]): p["point"]
            for p in sw.summary if p["group"] == "all"}
    taken, compared = {}, 0
    for away in (300, 2500):
        off = _pbp(tmp_path / "runs" / f"p{runs[(away, False)]:02d}_r00")
        on = _pbp(tmp_path / "runs" / f"p{runs[(away, True)]:02d}_r00")
        assert off.keys() == on.keys() and off
        for key, (amount_on, leak, members) in on.items():
            amount_off, _, members_off = off[key]
            assert amount_on <= amount_off and members == members_off
            # PBP x (1 - leakage), rounded once per member in each run: each member's two
            # roundings put it within a cent per member of the unadjusted payment's share.
            assert abs(amount_on * 10_000 - amount_off * (10_000 - leak)) <= 10_000 * members
        high = [k for k, (_, leak, _) in on.items() if leak >= 2000]
        low = [k for k, (_, leak, _) in on.items() if 0 < leak < 1000]
        if high and low:
            share = lambda ks: 1 - sum(on[k][0] for k in ks) / sum(off[k][0] for k in ks)  # noqa: E731
            assert share(high) > share(low)
            compared += 1
        taken[away] = 1 - sum(a for a, _, _ in on.values()) / sum(a for a, _, _ in off.values())
    assert compared >= 1  # the high-away-visit run has practices on both sides
    assert taken[2500] > taken[300] > 0


def test_attribution_accuracy_rises_with_alignment_and_falls_as_visits_spread(tmp_path):
    align = sweep(tmp_path / "align", "demo", ["enrollment.alignment_bp=0,5000"], members=1200, per_pc=150)
    spread = sweep(tmp_path / "spread", "demo", ["utilization.away_visit_bp=200,3000"], members=1200, per_pc=150)
    a0, a1 = (at(align, "all", alignment_bp=v)["attribution_accuracy_bp"] for v in (0, 5000))
    s0, s1 = (at(spread, "all", away_visit_bp=v)["attribution_accuracy_bp"] for v in (200, 3000))
    assert a1 > a0
    assert s1 < s0
