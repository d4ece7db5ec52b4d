"""Effective-dated code sets (DOMAIN.md §2, §6): a code counts in the years it was valid. CMS
deleted 99201 (new-patient office visit, straightforward) from 2021; claims for earlier years
carry it and it is a primary-care E&M there, and "invalid on the date of service" (CARC 181)
afterwards, whatever a fee schedule says."""

from __future__ import annotations

import datetime as dt

from claimsim.events.codes import ProcedureGroup, procedure_group, procedure_group_on
from claimsim.events.programs import ProgramKind

from ..fixtures.adjudication import (FEES, PCP_COPAY, Harness, adjustment_codes, contract, line,
                                     only_line, plan, reference)


def test_99201_is_new_patient_e_and_m_until_its_deletion_in_2021():
    assert procedure_group_on("99201", "2020-12-31") is ProcedureGroup.PC_EM
    assert procedure_group_on("99201", "2019-03-01") is ProcedureGroup.PC_EM
    assert procedure_group_on("99201", "2021-01-01") is None
    assert procedure_group_on("99213", "2020-06-01") is ProcedureGroup.PC_EM
    assert procedure_group("99213") is ProcedureGroup.PC_EM


def _ref_2020(**kw):
    """The fixture schedule for 2020 and 2021, with 99201 at $45 in both years (a payer's file
    may keep a deleted code; the code set decides whether it is valid on the day)."""
    ref = reference([plan(years=(2020, 2021), **kw)], fee_years=(2020, 2021))
    fs = ref.fee_schedules[0]
    amounts = {y: {**FEES, "99201": 4_500} for y in (2020, 2021)}
    return ref.model_copy(update={"fee_schedules": (fs.model_copy(update={"amounts": amounts}),)})


def test_a_2020_claim_billing_99201_is_paid_as_a_primary_care_visit_with_its_copay():
    """2020: 99201 billed $50, allowed 4500 (CO-45 500); as a PCP E&M line it takes the $25 PCP
    copay (PR-3 2500) and plan pays 2000."""
    h = Harness(_ref_2020(copays=PCP_COPAY))
    h.enroll("M1", start="2020-01-01")
    ln = only_line(h.claim("C1", "M1", [line("99201", 5_000, day="2020-06-01")],
                           received="2020-06-10"))
    assert (ln["status"], ln["allowed"], ln["copay"], ln["plan_paid"]) == ("paid", 4_500, 2_500, 2_000)
    assert adjustment_codes(ln) == [("CO", "45", 500), ("PR", "3", 2_500)]


def test_a_2020_99201_at_a_hybrid_practice_is_a_capitated_service():
    """CPC+ Track 2 at 40 % for an attributed member: 99201 allowed 4500, no cost share (no
    copay, deductible 0, coinsurance 0): offset 40 % x 4500 = 1800 (CO-24), plan paid 2700."""
    h = Harness(_ref_2020(deductible_individual=0, deductible_family=0, coinsurance_bp=0)
                .model_copy(update={"contracts": (contract(
                    ProgramKind.CPCP_T2, hybrid_bp=4000, start=dt.date(2020, 1, 1)),)}))
    h.enroll("M1", start="2020-01-01")
    h.attribute("M1", "PCP1", effective="2020-01-01")
    ln = only_line(h.claim("C1", "M1", [line("99201", 4_500, day="2020-06-01")],
                           received="2020-06-10"))
    assert (ln["capitated"], ln["cap_offset"], ln["plan_paid"]) == (True, 1_800, 2_700)


def test_99201_in_2021_is_rejected_as_invalid_on_the_date_of_service():
    h = Harness(_ref_2020())
    h.enroll("M1", start="2020-01-01")
    event = h.claim("C1", "M1", [line("99201", 5_000, day="2021-02-01")], received="2021-02-10")
    assert event["type"] == "claim.rejected"
    d = event["data"]
    assert (d["reason"], d["carc"], d["field"]) == ("unknown_code", "181", "lines.0.procedure")
