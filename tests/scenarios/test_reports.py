"""The files a run leaves for an analyst (DOMAIN.md §7, §9): one CSV writer (LF, a header
always), money columns that say their unit, one name per concept across files, what members owe
with Medicaid's QMB part beside it, integer cents in what-if tables, and one self-contained HTML
report per run and per what-if."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

from claimsim.cli import main
from claimsim.events.log import read

from claimsim.adjudication.audit.tables import write_csv

ARGS = ["--members", "300", "--months", "8", "--seed", "11"]


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("demo") / "run"
    import contextlib
    import io

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert main(["demo", "--out", str(out), *ARGS]) == 0
    return out, buf.getvalue()


def _csvs(run: Path) -> list[Path]:
    return sorted((run / "reports").glob("*.csv"))


def _header(path: Path) -> list[str]:
    with open(path, newline="") as f:
        return next(csv.reader(f))


def test_an_empty_table_is_written_with_its_header_and_lf_line_endings(tmp_path):
    path = write_csv(tmp_path / "empty.csv", [], columns=["payer_id", "amount_cents"])
    assert path.read_bytes() == b"payer_id,amount_cents\n"
    path = write_csv(tmp_path / "one.csv", [{"payer_id": "MCR", "amount_cents": 5}])
    assert path.read_bytes() == b"payer_id,amount_cents\nMCR,5\n"


def test_every_csv_of_a_run_has_lf_line_endings_and_a_header(demo):
    run, _ = demo
    files = _csvs(run)
    assert len(files) >= 8
    for path in files:
        data = path.read_bytes()
        assert b"\r" not in data, path.name
        assert data.endswith(b"\n") and data.split(b"\n", 1)[0], path.name


# Money figures are integer cents: their columns end in `_cents`. Everything else is a count, an
# id, a date, a rate in basis points (`_bp`), a risk score in thousandths (`_milli`) or a flag.
_NOT_MONEY = re.compile(r"(_id|_bp|_milli|_cents|month|as_of|date|members|months|visits|lines|"
                        r"program|kind|basis|status|referrals|panel|attributed|check|ok|report|"
                        r"ledger|last_visit|unattributed|other_practice|true_pcp|year|epoch|"
                        r"active|fallback|reason|mm|below_minimum|convention|lob|dimension|group|tested|"
                        r"known_pcp|per_1000|practices|meets_[a-z0-9_]+|year|visits_elsewhere|in_vbp)$")  # counts of epochs, too


def test_money_columns_say_their_unit(demo):
    run, _ = demo
    for path in _csvs(run):
        for column in _header(path):
            assert _NOT_MONEY.search(column), f"{path.name}: column {column!r} has no unit"


# One concept, one name (DOMAIN.md's words): any of these spellings in a report is a second name.
_SECOND_NAMES = {"cap_offset", "cap_offset_cents", "capitation_offsets", "capitation_offsets_cents",
                 "leakage_cost", "leakage_cost_cents", "line_of_business", "cost_share",
                 "cost_share_cents", "prospective", "ffs_paid", "plan_paid", "allowed"}


def test_each_concept_has_one_name_across_files(demo):
    run, _ = demo
    for path in _csvs(run):
        assert not set(_header(path)) & _SECOND_NAMES, path.name
    names = {c for path in _csvs(run) for c in _header(path)}
    assert {"capitation_offset_cents", "member_cost_share_cents", "medicaid_cost_share_cents",
            "leakage_cost_observed_cents", "payer_id"} <= names
    # Payers are named by payer id everywhere (COMMERCIAL, not commercial).
    with open(run / "reports" / "demo_summary.csv") as f:
        assert {r["payer_id"] for r in csv.DictReader(f)} >= {"COMMERCIAL", "MEDICARE-FFS"}


def test_reports_show_what_members_owe_and_medicaids_qmb_share_beside_it(demo):
    """Over the ledger: member cost share = Σ(cost_share − medicaid_cost_share) and Medicaid
    (QMB) cost share = Σ medicaid_cost_share; demo_summary.csv and snapshots.csv both say so."""
    run, _ = demo
    owed = medicaid = 0
    for env in read(run / "ledger"):
        if env["type"] in ("claim.adjudicated", "claim.reversed"):
            for field in ("lines", "reversed_lines"):
                for ln in env["data"].get(field, ()):
                    owed += ln["cost_share"] - ln["medicaid_cost_share"]
                    medicaid += ln["medicaid_cost_share"]
    assert medicaid > 0  # the demo's Medicare FFS has QMB members
    with open(run / "reports" / "demo_summary.csv") as f:
        rows = list(csv.DictReader(f))
    assert sum(int(r["member_cost_share_cents"]) for r in rows) == owed
    assert sum(int(r["medicaid_cost_share_cents"]) for r in rows) == medicaid
    with open(run / "reports" / "snapshots.csv") as f:
        rows = list(csv.DictReader(f))
    assert sum(int(r["member_cost_share_cents"]) for r in rows) == owed
    assert sum(int(r["medicaid_cost_share_cents"]) for r in rows) == medicaid


def test_the_demo_ends_by_naming_its_html_report(demo):
    run, text = demo
    last = text.strip().splitlines()[-1]
    assert str(run / "reports" / "index.html") in last


def test_the_html_report_is_self_contained_and_has_every_section(demo):
    run, _ = demo
    html = (run / "reports" / "index.html").read_text()
    assert not re.search(r"""(src|href)=["'](?!data:|#)""", html), "refers to another file"
    assert "http://" not in html and "https://" not in html.replace("https://www.w3.org", "")
    for section in ("Summary", "Payments by practice", "Attribution accuracy", "Leakage",
                    "Reconciliation", "What each figure means"):
        assert f">{section}" in html, section
    assert html.count('<img src="data:image/png;base64,') >= 2
    assert "cpcplus_t2" in html and "PC001" in html


def test_whatif_tables_hold_integer_cents_and_the_sweep_has_its_html_report(tmp_path, capsys):
    out = tmp_path / "w"
    assert main(["whatif", "demo", "--members", "300", "--months", "6", "--no-progress",
                 "--vary", "programs.cpcplus_t2.hybrid_bp=0,6500", "--replicates", "2",
                 "--out", str(out), "--jobs", "2"]) == 0
    capsys.readouterr()
    with open(out / "whatif.csv") as f:
        rows = list(csv.DictReader(f))
    assert rows
    checked = 0
    for row in rows:
        for column, value in row.items():
            if column.endswith("_cents") and value != "":  # "" where a group lacks the metric
                assert re.fullmatch(r"-?\d+", value), (column, value)
                checked += 1
    assert checked > 50 and "prospective_lo_cents" in rows[0]
    html = (out / "index.html").read_text()
    assert '<img src="data:image/png;base64,' in html and ">What each figure means" in html


def test_the_practice_tables_truth_keeps_only_what_it_uses_and_each_risk_once(demo):
    """`read_truth` is held beside a million members' payer state: the payer of only the members
    with an avoidable referral (the one place the table asks), and each true risk value as one int
    object however many members share it. Its answers are the truth log's own."""
    from claimsim.scenarios.tables import read_truth

    run, _ = demo
    payer_of, risk, avoidable = {}, {}, {}
    for env in read(run / "truth"):
        d = env["data"]
        if env["type"] == "truth.member":
            payer_of.setdefault(d["member_id"], d["payer_id"])
            risk[d["member_id"]] = d["risk_milli"]
        elif env["type"] == "truth.referral" and d["avoidable"] and d.get("claim_id"):
            avoidable[d["claim_id"]] = (d["member_id"], d["from_practice"], str(d["service_date"]))
    truth = read_truth(run, "2025-08-31")
    referring = {m for m, _, _ in avoidable.values()}
    assert avoidable and len(referring) < len(payer_of)  # the cut is a real one here
    assert truth.avoidable == avoidable and truth.risk == risk
    assert truth.payer_of == {m: payer_of[m] for m in referring}
    big = [v for v in risk.values() if v > 256]  # ints above 256 are not CPython's shared ones
    assert len({id(truth.risk[m]) for m, v in risk.items() if v > 256}) == len(set(big)) < len(big)
