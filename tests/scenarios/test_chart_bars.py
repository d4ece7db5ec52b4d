"""Per-practice bar charts stay readable (and small to draw) at a payer's scale: up to
`MAX_BARS` practices all get a bar in id order; past it, the ones with the most of the charted
figures, largest first, and the title says how many of how many."""

from __future__ import annotations

from claimsim.scenarios.charts import MAX_BARS, _charted, practice_revenue


def _totals(n: int, tie: bool = False) -> dict[str, dict[str, int]]:
    # Practice i has revenue i (FFS) + 2i (prospective); `tie`: PC000 ties the last one charted.
    totals = {f"PC{i:03d}": {"ffs_paid": i, "prospective": 2 * i} for i in range(1, n + 1)}
    if tie:
        totals["PC000"] = dict(totals[f"PC{n - MAX_BARS + 1:03d}"])
    return totals


def test_a_small_network_charts_every_practice_in_id_order_under_its_own_title():
    totals = _totals(MAX_BARS - 1)
    names, title = _charted(totals, ("ffs_paid", "prospective"), "revenue", "revenue")
    assert names == sorted(totals) and title == "revenue"


def test_a_large_network_charts_the_largest_first_and_says_so():
    totals = _totals(800, tie=True)
    names, title = _charted(totals, ("ffs_paid", "prospective"), "revenue", "revenue")
    assert len(names) == MAX_BARS
    assert names[:3] == ["PC800", "PC799", "PC798"]
    # PC741 (3 x 741) and PC000 (its copy) tie for the last place: the lower id wins it.
    assert names[-1] == "PC000" and "PC741" not in names
    assert title == ("revenue\n(the 60 of 801 practices with the most revenue;"
                     " every practice is in practices.csv)")


def test_the_chart_of_a_large_network_is_drawn_at_a_readable_width(tmp_path):
    rows = [{"practice_kind": "primary_care", "practice_id": f"PC{i:03d}", "program": "pcf",
             "member_months": 10, "ffs_paid": 100 * i, "prospective": 200 * i} for i in range(800)]
    path = practice_revenue(tmp_path / "r.png", rows, title="revenue")
    width = int.from_bytes(path.read_bytes()[16:20], "big")  # the PNG header's width
    assert width == 100 * (0.75 * MAX_BARS + 2.5)
