"""The Tuva Input Layer export: `medical_claim` and `eligibility` carry the Input Layer's columns in
its order (plus `received_date` and `rendering_specialty`), every value parses as its column's type, the claim lines are the
final action (no reversed version, each line once), and the money is the ledger's."""

from __future__ import annotations

import csv
import datetime as dt
import re

from claimsim.events.interchange.tuva_export import (
    ELIGIBILITY_COLUMNS, EXTRA_MEDICAL_CLAIM_COLUMNS, MEDICAL_CLAIM_COLUMNS, numeric, tuva_race)
from claimsim.events.log import read
from claimsim.events.reference import ReferenceData

# The Tuva Input Layer dictionary's columns we must carry (from its medical_claim/eligibility
# models), spelled out here so a rename in the code cannot silently pass.
TUVA_MEDICAL_CLAIM_HEAD = [
    "claim_id", "claim_line_number", "claim_type", "person_id", "member_id", "payer", "plan",
    "claim_start_date", "claim_end_date", "claim_line_start_date", "claim_line_end_date"]
TUVA_MONEY = ["paid_amount", "allowed_amount", "charge_amount", "coinsurance_amount",
              "copayment_amount", "deductible_amount", "total_cost_amount"]
TUVA_ELIGIBILITY_KEYS = ["person_id", "member_id", "enrollment_start_date", "enrollment_end_date",
                         "payer", "plan", "data_source"]
NUMERIC = re.compile(r"^-?\d+\.\d{2}$")


def rows(path) -> tuple[list[str], list[dict[str, str]]]:
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        return list(reader.fieldnames), list(reader)


def check_types(table: list[dict[str, str]], columns) -> None:
    for row in table:
        for name, kind in columns:
            value = row[name]
            if value == "":
                continue
            if kind == "date":
                dt.date.fromisoformat(value)
            elif kind == "integer":
                int(value)
            elif kind == "numeric":
                assert NUMERIC.match(value), (name, value)


def test_medical_claim_has_tuva_columns_in_order_and_typed_values(any_run, exported):
    header, table = rows(exported(any_run, "tuva") / "medical_claim.csv")
    assert header == [c for c, _ in MEDICAL_CLAIM_COLUMNS] + ["received_date", "rendering_specialty"]
    assert header[:len(TUVA_MEDICAL_CLAIM_HEAD)] == TUVA_MEDICAL_CLAIM_HEAD
    assert all(m in header for m in TUVA_MONEY) and len(header) == 148 + 2
    check_types(table, MEDICAL_CLAIM_COLUMNS + EXTRA_MEDICAL_CLAIM_COLUMNS)
    assert {r["claim_type"] for r in table} == {"professional"}
    for r in table:  # required by Tuva's marts
        assert r["claim_id"] and r["person_id"] and r["paid_date"] and r["claim_start_date"]
        assert r["received_date"] <= r["paid_date"]


def test_medical_claim_is_final_action_and_pays_what_the_ledger_paid(any_run, exported):
    _, table = rows(exported(any_run, "tuva") / "medical_claim.csv")
    keys = [(r["claim_id"], r["claim_line_number"]) for r in table]
    assert len(keys) == len(set(keys))  # Tuva's primary key (claim_id, claim_line_number)
    reversed_ids, net_paid, allowed = set(), 0, 0
    for env in read(any_run / "ledger"):
        d = env["data"]
        if env["type"] in ("claim.adjudicated", "claim.reversed"):
            if d.get("reversed_claim_id"):
                reversed_ids.add(d["reversed_claim_id"])
            net_paid += sum(ln["plan_paid"] for k in ("lines", "reversed_lines")
                            for ln in d.get(k, ()))
    assert reversed_ids and not reversed_ids & {r["claim_id"] for r in table}
    paid = sum(int(r["paid_amount"].replace(".", "")) for r in table)
    assert paid == net_paid


def test_eligibility_covers_every_claims_member_on_its_service_date(any_run, exported):
    out = exported(any_run, "tuva")
    header, spans = rows(out / "eligibility.csv")
    assert header == [c for c, _ in ELIGIBILITY_COLUMNS]
    assert all(k in header for k in TUVA_ELIGIBILITY_KEYS)
    check_types(spans, ELIGIBILITY_COLUMNS)
    assert {s["gender"] for s in spans} <= {"female", "male", "unknown"}
    assert {s["payer_type"] for s in spans} <= {"medicare", "medicaid", "commercial"}
    by_member: dict[str, list[tuple[str, str]]] = {}
    for s in spans:
        assert s["enrollment_start_date"] <= s["enrollment_end_date"]
        by_member.setdefault(s["member_id"], []).append(
            (s["enrollment_start_date"], s["enrollment_end_date"]))
    _, claims = rows(out / "medical_claim.csv")
    for r in claims:
        if r["paid_amount"] != "0.00":
            day = r["claim_line_start_date"]
            assert any(a <= day <= b for a, b in by_member[r["member_id"]]), r["claim_id"]


def test_specialty_says_each_rendering_clinicians_role_and_payer_is_the_payers_name(any_run, exported):
    """Primary care 08, emergency 93, specialist 99, other 88 (read back by ingest as primary
    care, emergency and specialist); payer and plan hold the names, which say Medicare
    Advantage where Tuva's payer_type cannot."""
    reference = ReferenceData.load(any_run)
    role = {npi: c.role.value for npi, (_, c) in reference.clinician.items()}
    code = {"primary_care": "08", "emergency": "93", "specialist": "99", "other": "88"}
    _, table = rows(exported(any_run, "tuva") / "medical_claim.csv")
    for r in table:
        assert r["rendering_specialty"] == code[role[r["rendering_npi"]]], r["claim_id"]
    assert {"08", "99"} <= {r["rendering_specialty"] for r in table}
    names = {p.name for p in reference.payers}
    assert {r["payer"] for r in table} <= names and "Medicare Advantage plan" in names
    plans = {p.name for p in reference.plans}
    _, spans = rows(exported(any_run, "tuva") / "eligibility.csv")
    assert {s["plan"] for s in spans} <= plans and {s["payer"] for s in spans} <= names


def test_alignment_file_holds_every_voluntary_alignment_of_the_input(any_run, exported):
    declared = [env for env in read(any_run / "input") if env["type"] == "alignment.declared"]
    _, aligned = rows(exported(any_run, "tuva") / "alignment.csv")
    assert declared and len(aligned) == len(declared)
    name = {p.payer_id: p.name for p in ReferenceData.load(any_run).payers}
    first, row = declared[0], aligned[0]
    assert row == {"member_id": first["data"]["member_id"], "payer": name[first["data"]["payer_id"]],
                   "practice_tin": first["data"]["practice_id"],
                   "effective_date": first["data"]["effective"], "declared_date": first["at"]}


def test_numeric_is_two_decimals_exactly():
    assert [numeric(c) for c in (15074, 15070, 0, -5, -100)] == [
        "150.74", "150.70", "0.00", "-0.05", "-1.00"]


def test_an_open_span_ends_on_the_runs_last_day_of_coverage_not_its_run_out(demo_run, exported):
    """12 months from 2025-01-01: service to 2026-01-01 (exclusive), paid on to 2026-04-01. A
    member never terminated is covered to 2025-12-31, not to the run-out's horizon (three more
    member months Tuva would count)."""
    inputs = list(read(demo_run / "input"))
    terminated = {e["data"]["member_id"] for e in inputs if e["type"] == "member.terminated"}
    _, spans = rows(exported(demo_run, "tuva") / "eligibility.csv")
    assert max(s["enrollment_end_date"] for s in spans) == "2025-12-31"
    stayed = [s for s in spans if s["member_id"] not in terminated]
    assert stayed and {s["enrollment_end_date"] for s in stayed} == {"2025-12-31"}


def test_eligibility_race_is_the_enrollments_in_tuvas_terminology(demo_run, exported):
    """Each span's race is its member's `member.enrolled` race, in Tuva's race terminology
    (the descriptions its data-quality checks join to): black -> 'black or african american',
    multiracial_other -> 'other race'."""
    race = {e["data"]["member_id"]: e["data"].get("race") for e in read(demo_run / "input")
            if e["type"] == "member.enrolled"}
    _, spans = rows(exported(demo_run, "tuva") / "eligibility.csv")
    mapped = {"white": "white", "black": "black or african american", "asian": "asian",
              "american_indian_alaska_native": "american indian or alaska native",
              "native_hawaiian_pacific_islander": "native hawaiian or other pacific islander",
              "multiracial_other": "other race", "unknown": "unknown"}
    assert {race[s["member_id"]] for s in spans} >= {"white", "black", "multiracial_other"}
    for s in spans:
        assert s["race"] == mapped[race[s["member_id"]]], s["member_id"]


def test_race_outside_both_terminologies_is_unknown_and_absent_race_is_empty():
    assert [tuva_race(r) for r in ("", "asked but unknown", "martian", "asian")] == [
        "", "asked but unknown", "unknown", "asian"]
