"""What-if sweeps: every point is the scenario with only the varied key changed, and
replicate r runs with seed `seed + r` at every point (common random numbers); means and 95 %
intervals over replicates; tables and a chart written."""

from __future__ import annotations

import csv
import math

import orjson
import pytest

from claimsim.events.errors import UserError
from claimsim.events.money import nearest_cent
from claimsim.events.programs import ProgramKind
from claimsim.scenarios.spec import load, validate
from claimsim.scenarios.vary import parse_vary, points, with_value
from claimsim.scenarios.whatif import interval, run_sweep
from claimsim.scenarios.whatif_report import write_charts


def _demo_small():
    _, data, origin = load("demo")
    data = {**data, "members": 300, "months": 6}
    for kind in ProgramKind:
        data = with_value(data, f"region.programs.{kind.value}.minimum_attributed", 5)
    return validate(data, origin), data, origin


def _diff(a, b, path=""):
    """Dotted paths where two JSON trees differ."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in sorted(set(a) | set(b)):
            out += _diff(a.get(k), b.get(k), f"{path}.{k}" if path else k)
        return out
    return [] if a == b else [path]


def test_sweep_points_differ_only_in_the_varied_key_and_replicates_share_seeds(tmp_path):
    scenario, data, origin = _demo_small()
    axes = [parse_vary("programs.cpcplus_t2.hybrid_bp=0,6500")]
    sw = run_sweep(scenario, data, axes, tmp_path / "w", origin=origin, replicates=2, jobs=2)
    runs = tmp_path / "w" / "runs"
    config = {name: orjson.loads((runs / name / "scenario.json").read_bytes())
              for name in ("p00_r00", "p00_r01", "p01_r00", "p01_r01")}
    for r in ("r00", "r01"):
        assert _diff(config[f"p00_{r}"], config[f"p01_{r}"]) == ["region.programs.cpcplus_t2.hybrid_bp"]
    assert _diff(config["p00_r00"], config["p00_r01"]) == ["seed"]
    assert [config[n]["seed"] for n in sorted(config)] == [7, 8, 7, 8]
    # The run logs are dropped by default; the reports stay.
    assert not (runs / "p00_r00" / "ledger").exists()
    assert (runs / "p00_r00" / "reports" / "practices.csv").exists()

    with open(tmp_path / "w" / "whatif.csv") as f:
        rows = [r for r in csv.DictReader(f) if r["group"] == "all"]
    assert [int(r["region.programs.cpcplus_t2.hybrid_bp"]) for r in rows] == [0, 6500]
    with open(tmp_path / "w" / "replicates.csv") as f:
        reps = [r for r in csv.DictReader(f) if r["group"] == "all" and r["point"] == "1"]
    values = [int(r["net_revenue_cents"]) for r in reps]
    mean, lo, hi = interval(values)  # money in the tables: to the nearest whole cent
    assert int(rows[1]["net_revenue_cents"]) == nearest_cent(mean)
    assert (int(rows[1]["net_revenue_lo_cents"]), int(rows[1]["net_revenue_hi_cents"])) == (
        nearest_cent(lo), nearest_cent(hi))
    assert (tmp_path / "w" / "whatif.parquet").stat().st_size > 0
    chart = write_charts(sw, tmp_path / "w", "demo")
    assert chart and 0 < chart[0].stat().st_size < 200_000


def test_interval_is_the_student_t_95_percent_interval_of_the_mean():
    """Values 10, 12, 14: mean 12, sd 2, se 2/sqrt(3) = 1.1547; t(0.975, 2 df) = 4.303, so the
    half-width is 4.9686."""
    mean, lo, hi = interval([10, 12, 14])
    assert mean == 12
    assert hi - mean == pytest.approx(4.303 * 2 / math.sqrt(3))
    assert mean - lo == pytest.approx(hi - mean)
    assert interval([5]) == (5, 5, 5)


def test_bad_value_for_a_point_names_the_key_value_and_file():
    _, data, origin = _demo_small()
    with pytest.raises(UserError) as e:
        points(data, [parse_vary("programs.cpcplus_t2.hybrid_bp=0,12000")], origin)
    assert str(e.value).startswith("demo.toml with region.programs.cpcplus_t2.hybrid_bp=12000:"
                                   " region.programs.cpcplus_t2.hybrid_bp:")


def test_every_combination_of_two_axes_is_a_point():
    _, data, origin = _demo_small()
    grid = points(data, [parse_vary("programs.cpcplus_t2.hybrid_bp=0,4000"),
                         parse_vary("referrals.avoidable_slope_bp=0,1000,2000")], origin)
    assert [p.values for p, _, _ in grid][:2] == [
        (("region.programs.cpcplus_t2.hybrid_bp", 0), ("referrals.avoidable_slope_bp", 0)),
        (("region.programs.cpcplus_t2.hybrid_bp", 0), ("referrals.avoidable_slope_bp", 1000))]
    assert len(grid) == 6
    assert grid[5][1].referrals.avoidable_slope_bp == 2000
    assert grid[5][1].region.programs[ProgramKind.CPCP_T2].hybrid_bp == 4000


def test_sweep_refuses_a_non_empty_output_directory(tmp_path):
    scenario, data, origin = _demo_small()
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "f").write_text("")
    with pytest.raises(UserError, match="not empty"):
        run_sweep(scenario, data, [parse_vary("seed=1,2")], tmp_path / "x", origin=origin)


def test_a_sweep_stopped_part_way_goes_on_with_resume_to_the_same_tables(tmp_path):
    """A sweep whose runs stopped part way (one finished run's metrics lost as if the kill came
    before it wrote them, another's folder half written) goes on with `resume`: only those runs
    are run again, and the tables are an uninterrupted sweep's, byte for byte. A resume of
    another sweep (other values) is refused by name, as is a plain rerun into the folder."""
    import shutil

    from claimsim.scenarios import whatif_resume

    scenario, data, origin = _demo_small()
    axes = [parse_vary("programs.cpcplus_t2.hybrid_bp=0,6500")]
    whole = tmp_path / "whole"
    run_sweep(scenario, data, axes, whole, origin=origin, replicates=2, jobs=2)
    stopped = tmp_path / "stopped"
    shutil.copytree(whole, stopped)
    for name in ("whatif.csv", "whatif.parquet", "replicates.csv", "replicates.parquet"):
        (stopped / name).unlink()
    (stopped / "runs" / "p01_r00" / whatif_resume.METRICS_FILE).unlink()
    shutil.rmtree(stopped / "runs" / "p00_r01" / "reports")
    (stopped / "runs" / "p00_r01" / whatif_resume.METRICS_FILE).unlink()
    kept = (stopped / "runs" / "p00_r00" / "reports" / "practices.csv").stat().st_mtime_ns

    with pytest.raises(UserError, match="not empty.*--resume"):
        run_sweep(scenario, data, axes, stopped, origin=origin, replicates=2)
    with pytest.raises(UserError, match="holds a sweep of other runs"):
        run_sweep(scenario, data, [parse_vary("programs.cpcplus_t2.hybrid_bp=0,4000")], stopped,
                  origin=origin, replicates=2, resume=True)
    run_sweep(scenario, data, axes, stopped, origin=origin, replicates=2, jobs=2, resume=True)
    for name in ("whatif.csv", "replicates.csv"):
        assert (stopped / name).read_bytes() == (whole / name).read_bytes(), name
    assert (stopped / "runs" / "p00_r00" / "reports" / "practices.csv").stat().st_mtime_ns == kept
    assert (stopped / "runs" / "p00_r01" / "reports" / "practices.csv").exists()
    with pytest.raises(UserError, match="no sweep to resume"):
        run_sweep(scenario, data, axes, tmp_path / "new", origin=origin, resume=True)
