"""`leakage.csv`'s observed rate is rounded once, half up, as every other rate (`tables.ratio_bp`):
26 of 95 visits is 2,736.8 bp, so 2,737 (it was floored to 2,736, one off `practices.csv`)."""

from __future__ import annotations

from claimsim.scenarios.report import leakage_rows


def test_the_observed_leakage_rate_is_rounded_half_up(tmp_path):
    snapshots = [
        {"payer_id": "COM", "practice_id": "P1", "qualifying_visits": 60, "leakage_visits": 20,
         "leakage_cost": 1_000},
        {"payer_id": "COM", "practice_id": "P1", "qualifying_visits": 35, "leakage_visits": 6,
         "leakage_cost": 500},
        {"payer_id": "COM", "practice_id": "P2", "qualifying_visits": 0, "leakage_visits": 0,
         "leakage_cost": 300},
    ]
    rows = leakage_rows(tmp_path, None, snapshots)  # an ingested run: no truth/
    assert [(r["practice_id"], r["qualifying_visits"], r["leakage_visits"], r["leakage_cost"],
             r["leakage_rate_bp"], r["avoidable_referrals"]) for r in rows] == [
        ("P1", 95, 26, 1_500, 2_737, None), ("P2", 0, 0, 300, 0, None)]
