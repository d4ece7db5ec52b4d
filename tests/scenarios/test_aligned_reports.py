"""The built-in multipayer scenario (at test size) reports all four aligned-payer measures per
payer, and they are reproducible: the ledger replays, and the measures rebuilt from seq 0 (in a
child process, as a payer-scale run computes them) are the written files byte for byte."""

from __future__ import annotations

import pickle
import pickletools
from array import array
from pathlib import Path

import pytest

from claimsim.adjudication.audit.replay import replay
from claimsim.adjudication.audit.run_dir import fold
from claimsim.scenarios.aligned_digest import StateDigest
from claimsim.scenarios.aligned_report import write_aligned
from claimsim.scenarios.run import run_scenario

from .test_builtin_scenarios import small

NAMES = ("primary_care_spend", "apm_adoption", "vbp_participation", "practice_prospective_share",
         "claims_quality", "equity")


def test_multipayer_reports_every_measure_per_payer_and_replay_reproduces_them(tmp_path):
    result = run_scenario(small("multipayer", members=600, months=6), tmp_path / "run", charts_too=False)
    payers = {"MEDICARE-FFS", "MEDICARE-ADV", "MEDICAID", "COMMERCIAL"}
    found = result.aligned
    assert {r["payer_id"] for r in found["primary_care_spend"]} == payers | {"all"}
    assert {(r["payer_id"], r["convention"]) for r in found["apm_adoption"]} == {
        (p, c) for p in payers | {"all"} for c in ("payment", "contract")}
    assert {r["payer_id"] for r in found["vbp_participation"]} == payers | {"all"}
    assert {(r["payer_id"], r["dimension"]) for r in found["equity"]} == {
        (p, d) for p in payers | {"all"} for d in ("race", "ethnicity", "language")}
    for r in found["apm_adoption"]:  # every dollar is in exactly one category
        assert r["total"] == sum(r[k] for k in ("cat_1", "cat_2A", "cat_2C", "cat_3A_3B", "cat_4A", "cat_4B"))
    assert replay(result.run_dir).ok
    rebuilt = tmp_path / "rebuilt"
    (rebuilt / "reports").mkdir(parents=True)
    for name in ("input", "ledger", "truth", "reference.json"):
        (rebuilt / name).symlink_to(result.run_dir / name)
    years = sorted({r["year"] for r in found["primary_care_spend"]})
    # Rebuilt in a child process handed the state's digest (as a payer-scale run does), where the
    # run wrote them in process: the same tables, the same bytes.
    _, apart = write_aligned(rebuilt, fold(result.run_dir), result.window.as_of, years, apart=True)
    assert apart == found
    for name in NAMES:
        written = (result.run_dir / "reports" / f"{name}.csv").read_bytes()
        assert written == (rebuilt / "reports" / f"{name}.csv").read_bytes(), name


def test_the_digest_hands_a_child_its_member_ids_whole_and_without_a_memo_entry_each():
    """The digest crosses to the child as a pickle: its ids travel as one string and their
    lengths (any characters, a newline or a quote included) and come back in order, so positions and
    attributions line up; pickling 10,000 members memoizes a few objects, not one per member."""
    ids = ["A1", "M\n1", 'Z"2'] + [f"M{i:05d}" for i in range(10_000)]
    digest = StateDigest(as_of="2025-12-31", years=[2025], quality_source="reported",
                         id_text="".join(ids), id_lengths=array("I", map(len, ids)),
                         practices=[None, "P1"],
                         attributed=array("i", [1, 0, 1] + [0] * 10_000),
                         payer_sets=[frozenset()], eligible=array("i", [0] * len(ids)),
                         visits=array("q", [0] * 2 * len(ids)), participation=[], reconciled=[])
    again = pickle.loads(pickle.dumps(digest, protocol=pickle.HIGHEST_PROTOCOL))
    assert again.ids() == ids and again.members == len(ids)
    assert again.positions()["M\n1"] == 1 and again.positions()['Z"2'] == 2
    assert again.attributed_to()["A1"] == "P1" and again.attributed_to()["M\n1"] is None
    memoized = sum(op.name == "MEMOIZE" for op, _, _ in
                   pickletools.genops(pickle.dumps(digest, protocol=pickle.HIGHEST_PROTOCOL)))
    assert memoized < 50


def _children_started(monkeypatch) -> list:
    """Every aligned child a run starts, kept to look at; every run's facts folded apart."""
    from claimsim.scenarios import aligned_report

    started: list = []

    def start(fn, *args):
        started.append(aligned_report.Child(fn, args))
        return started[-1]

    monkeypatch.setattr(aligned_report, "APART_MEMBERS", 0)
    monkeypatch.setattr(aligned_report, "start_child", start)
    return started


def test_a_run_folds_its_aligned_facts_in_a_child_beside_its_other_reports(tmp_path, monkeypatch):
    """Apart (a payer's scale: the threshold set to 0 here), the child is started before the
    other reports and its tables are the ones folded in this process."""
    started = _children_started(monkeypatch)
    result = run_scenario(small("multipayer", members=300, months=5), tmp_path / "run", charts_too=False)
    assert len(started) == 1 and started[0].process.returncode == 0
    years = sorted({r["year"] for r in result.aligned["primary_care_spend"]})
    rebuilt = tmp_path / "rebuilt"
    (rebuilt / "reports").mkdir(parents=True)
    for name in ("input", "ledger", "truth", "reference.json"):
        (rebuilt / name).symlink_to(result.run_dir / name)
    _, here = write_aligned(rebuilt, fold(result.run_dir), result.window.as_of, years, apart=False)
    assert here == result.aligned


def test_a_run_whose_other_reports_fail_ends_its_aligned_child(tmp_path, monkeypatch):
    from claimsim.scenarios import run as run_module

    started = _children_started(monkeypatch)

    def fails(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(run_module, "write_reports", fails)
    with pytest.raises(OSError, match="disk full"):
        run_scenario(small("multipayer", members=300, months=5), tmp_path / "run", charts_too=False)
    assert len(started) == 1 and started[0].process.returncode is not None  # ended, not left running
    assert not started[0].scratch.exists()
