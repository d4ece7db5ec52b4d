"""The run's printed summary rounds each percentage once, from its parts, to a tenth: from the
row's basis points (already rounded) 109/159 = 68.553 % printed 68.5 and 3,082,587/11,480,827
= 26.8497 % printed 26.9 (2,685 bp)."""

from __future__ import annotations

from claimsim.scenarios.run import SUMMARY_COLUMNS, text_table


def test_percentages_are_rounded_once_from_their_parts():
    row = {name: 0 for name, _, _ in SUMMARY_COLUMNS}
    row.update(payer="X", prospective=3_082_587, net_revenue=11_480_827,
               prospective_share_bp=2_685, leakage_visits=83, qualifying_visits=212,
               leakage_rate_observed_bp=3_915, true_panel_attributed=109, true_panel=159,
               attribution_accuracy_bp=6_855, risk_observed_milli=None, risk_true_milli=None)
    _, _, cells = (line.split() for line in text_table([row], ("payer",)).splitlines())
    shown = dict(zip([label for _, label, _ in SUMMARY_COLUMNS], cells[1:]))
    assert (shown["% prosp."], shown["leakage obs. %"], shown["attr. acc. %"]) == (
        "26.8", "39.2", "68.6")
    assert shown["risk obs."] == "n/a"


def test_a_percentage_without_its_parts_is_printed_from_its_basis_points():
    row = {name: 0 for name, _, _ in SUMMARY_COLUMNS}
    row.update(payer="X", attribution_accuracy_bp=None, prospective_share_bp=4_250,
               risk_observed_milli=1_234, risk_true_milli=None)
    _, _, cells = (line.split() for line in text_table([row], ("payer",)).splitlines())
    shown = dict(zip([label for _, label, _ in SUMMARY_COLUMNS], cells[1:]))
    assert (shown["% prosp."], shown["attr. acc. %"], shown["risk obs."]) == ("42.5", "n/a", "1.23")
