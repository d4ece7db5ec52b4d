"""The simulator's output as the payer side reads it: every event validates against the `events` models,
the input log is in received-date order, claims name real clinicians of their billing practice,
members are enrolled before their claims arrive, and both logs verify."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from claimsim.events import vocabulary  # noqa: F401  (registers every event type)
from claimsim.events.codes import PROCEDURE_GROUPS
from claimsim.events.input import SubmittedClaim
from claimsim.events.log import read
from claimsim.events.log_verify import verify
from claimsim.events.reference import ReferenceData
from claimsim.events.registry import decode
from claimsim.simulator.config import SimConfig
from claimsim.simulator.model import simulate
from claimsim.simulator.region import build_region
from claimsim.simulator.run_dir import simulate_to_dir


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("sim") / "run"
    config = SimConfig(seed=3, members=1500, months=12, runout_months=3)
    summary = simulate_to_dir(config, run_dir)
    inputs = list(read(run_dir / "input"))
    truth = list(read(run_dir / "truth"))
    return run_dir, config, summary, inputs, truth


def _claims(inputs):
    return [e["data"]["claim"] for e in inputs if e["type"] == "claim.submitted"]


def test_both_logs_verify_and_match_the_summary(run):
    run_dir, _, summary, inputs, truth = run
    for name, events in (("input", inputs), ("truth", truth)):
        result = verify(run_dir / name)
        assert result.ok, f"{name}: {result.problem} at {result.seq}: {result.message}"
        assert result.count == len(events)
    assert summary.claims == len(_claims(inputs))
    assert sum(summary.truth_events.values()) == len(truth)


def test_every_event_decodes_with_its_registered_model(run):
    _, _, _, inputs, truth = run
    for envelope in inputs + truth:
        decode(envelope)  # raises on any unknown type or invalid data
    kinds = {e["type"] for e in inputs}
    assert kinds == {"member.enrolled", "member.terminated", "alignment.declared",
                     "practice.quality_reported", "claim.submitted"}
    assert {e["type"] for e in truth} == {"truth.member", "truth.pcp_changed", "truth.referral",
                                         "truth.fault"}


def test_good_claims_validate_and_name_a_clinician_of_their_billing_practice(run):
    run_dir, _, _, inputs, truth = run
    reference = ReferenceData.load(run_dir)
    malformed = {e["data"]["claim_id"] for e in truth
                 if e["type"] == "truth.fault" and e["data"]["kind"] == "malformed"}
    plans_of_payer = {p.payer_id for p in reference.plans}
    good = [c for c in _claims(inputs) if c["claim_id"] not in malformed]
    assert len(good) > 5000
    for claim in good:
        model = SubmittedClaim.model_validate(claim)
        practice, _clinician = reference.clinician[model.rendering_npi]
        assert practice.practice_id == model.billing_tin
        assert model.payer_id in plans_of_payer
        assert model.place_of_service in {"11", "20", "21", "22", "23", "31", "81"}
        for line in model.lines:
            assert line.procedure in PROCEDURE_GROUPS
            assert line.service_date <= model.received
            assert line.billed > 0 and line.units >= 1


def test_billed_is_the_fee_schedule_times_the_practice_charge_multiplier(run):
    """billed = apply_rate(fee, charge_bp) per unit: e.g. 99213 at $90.70 x 2.0 = $181.40."""
    run_dir, config, _, inputs, _ = run
    region = build_region(config)
    charge = {p.practice_id: p.charge_bp for p in region.practices}
    fees = region.reference.fee_schedules[0]
    from claimsim.events.money import apply_rate

    checked = 0
    for claim in _claims(inputs)[:3000]:
        for line in claim["lines"]:
            fee = fees.allowed_for(int(line["service_date"][:4]), line["procedure"])
            if fee is None or line["units"] < 1 or line["billed"] < 0:
                continue  # a malformed claim
            assert line["billed"] == apply_rate(fee, charge[claim["billing_tin"]]) * line["units"]
            checked += 1
    assert checked > 1000


def test_input_log_is_in_received_date_order_and_claims_arrive_on_their_received_date(run):
    _, _, _, inputs, _ = run
    dates = [e["at"] for e in inputs]
    assert dates == sorted(dates)
    for e in inputs:
        if e["type"] == "claim.submitted":
            assert e["at"] == e["data"]["claim"]["received"]
            assert e["key"] == e["data"]["claim"].get("subscriber_id", "")


def test_members_are_enrolled_before_any_of_their_claims(run):
    _, _, _, inputs, _ = run
    enrolled: set[str] = set()
    for e in inputs:
        if e["type"] == "member.enrolled":
            enrolled.add(e["data"]["member_id"])
        elif e["type"] == "claim.submitted" and "member_id" in e["data"]["claim"]:
            assert e["data"]["claim"]["member_id"] in enrolled


def test_claims_arrive_after_a_lag_and_nothing_after_the_horizon(run):
    _, config, summary, inputs, _ = run
    lags = []
    for c in _claims(inputs):
        received = dt.date.fromisoformat(c["received"])
        assert received < dt.date.fromisoformat(summary.horizon)
        first = min(dt.date.fromisoformat(line["service_date"]) for line in c["lines"])
        lags.append((received - first).days)
    lags.sort()
    median = lags[len(lags) // 2]
    assert 5 <= median <= 40, f"median submission lag {median} days"
    assert lags[-1] > 60  # a tail of months


def test_quality_reports_every_primary_care_practice_and_payer_once_a_year(run):
    run_dir, config, _, inputs, _ = run
    reference = ReferenceData.load(run_dir)
    pcs = [p.practice_id for p in reference.practices if p.is_primary_care]
    reports = [e for e in inputs if e["type"] == "practice.quality_reported"]
    got = sorted((e["data"]["practice_id"], e["data"]["payer_id"]) for e in reports)
    assert got == sorted((p, payer.payer_id) for p in pcs for payer in reference.payers)
    assert {e["data"]["performance_year"] for e in reports} == {2025}
    assert {e["at"] for e in reports} == {"2026-01-31"}


def test_memory_in_flight_does_not_grow_with_the_length_of_the_run():
    """The queue holds only what is in flight (the lag window): twice the months, about twice
    the claims, about the same peak."""
    peaks, claims = [], []
    for months in (6, 12):
        summary = simulate(SimConfig(seed=5, members=800, months=months, runout_months=0),
                           lambda e: None, lambda e: None)
        peaks.append(summary.max_in_flight)
        claims.append(summary.claims)
    assert claims[1] > 1.8 * claims[0]
    assert peaks[1] < 1.2 * peaks[0]


def test_run_json_names_scenario_seed_and_window(run):
    import orjson

    run_dir, config, summary, _, _ = run
    manifest = orjson.loads((run_dir / "run.json").read_bytes())
    assert manifest["scenario"] == "default"
    assert manifest["seed"] == 3
    assert manifest["members"] == 1500
    assert manifest["start"] == "2025-01-01"
    assert manifest["months"] == 12
    assert manifest["reference_digest"] == ReferenceData.load(run_dir).digest()
    assert SimConfig.model_validate(manifest["config"]) == config
    assert manifest["summary"]["claims"] == summary.claims


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32), members=st.integers(1, 60), months=st.integers(1, 4))
def test_any_small_run_is_received_ordered_and_decodes(seed, members, months):
    inputs: list[dict] = []
    truth: list[dict] = []
    summary = simulate(SimConfig(seed=seed, members=members, months=months), inputs.append,
                       truth.append)
    assert [e["at"] for e in inputs] == sorted(e["at"] for e in inputs)
    assert sum(1 for e in inputs if e["type"] == "member.enrolled") == summary.members_ever
    assert summary.members_ever >= members
    for envelope in inputs + truth:
        decode(envelope)


def test_no_service_falls_after_the_service_window_even_for_referrals_and_tcm():
    """A run ending 2026-12-31 (the last priced plan year): referrals and TCM that would fall in
    2027 are not made, so every line has a service date in the window and a price."""
    config = SimConfig(seed=2, members=1500, months=6, start=dt.date(2026, 7, 1), runout_months=3)
    inputs: list[dict] = []
    summary = simulate(config, inputs.append, lambda e: None)
    assert summary.service_end == "2027-01-01"
    dates = [line["service_date"] for c in _claims(inputs) for line in c["lines"]]
    late = [d for d in dates if d >= "2027-01-01"]
    # Only malformed "service date after received" lines may name a later date.
    assert len(late) <= summary.faults_by_kind.get("malformed", 0)
    assert max(e["at"] for e in inputs) >= "2027-01-01"  # claims still arrive in the run-out
