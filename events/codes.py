"""Code sets the rules share: procedure code groups, CARC and group codes, rejection reasons,
conditions and their risk coefficients.

One table per concept (DOMAIN.md §2). The simulator draws codes from here and the payer side
classifies them with the same table, so the two can never disagree about what a code is.
"""

from __future__ import annotations

from enum import StrEnum
from typing import NamedTuple


class ProcedureGroup(StrEnum):
    """Groups the payment rules work with (DOMAIN.md §2)."""

    PC_EM = "pc_em"  # office/outpatient E&M 99202-99205, 99211-99215
    AWV = "awv"  # annual wellness visit and IPPE: G0438, G0439, G0402
    PREVENTIVE = "preventive"  # preventive medicine visits 99381-99397
    CARE_MGMT = "care_mgmt"  # transitional and chronic care management
    ECONSULT = "econsult"  # interprofessional e-consults 99451, 99452
    SPECIALIST_EM = "specialist_em"  # office consultations 99242-99245
    ED = "ed"  # emergency department E&M 99281-99285
    IMAGING = "imaging"
    LAB = "lab"
    OFFICE_PROC = "office_proc"  # minor procedures a PCP can do (the "avoidable referral" set)
    # Physician visits in a facility: hospital inpatient (initial, subsequent, discharge,
    # consultation) and nursing facility. Not primary-care E&M for attribution or the hybrid
    # programs' capitated services, whoever bills them; they carry deductible and coinsurance.
    FACILITY_EM = "facility_em"
    THERAPY = "therapy"  # outpatient physical/occupational therapy (timed codes, per unit)


E_AND_M_NEW = ("99202", "99203", "99204", "99205")
E_AND_M_ESTABLISHED = ("99211", "99212", "99213", "99214", "99215")
AWV_CODES = ("G0438", "G0439", "G0402")
PREVENTIVE_CODES = tuple(str(c) for c in (*range(99381, 99388), *range(99391, 99398)))
TCM_CODES = ("99495", "99496")
CCM_CODES = ("99490", "99491", "99487", "99489")
ECONSULT_CODES = ("99451", "99452")
SPECIALIST_EM_CODES = ("99242", "99243", "99244", "99245")
ED_CODES = ("99281", "99282", "99283", "99284", "99285")
IMAGING_CODES = ("71046", "73030", "73562", "70450", "72148", "76700", "77067")
LAB_CODES = ("36415", "80053", "80061", "83036", "84443", "85025", "81002",
             "80048", "82306", "84153", "85610", "82570", "87086")
INPATIENT_EM_CODES = ("99221", "99222", "99223", "99231", "99232", "99233", "99238", "99239")
INPATIENT_CONSULT_CODES = ("99252", "99253", "99254")
NURSING_FACILITY_CODES = ("99307", "99308", "99309", "99310")
THERAPY_CODES = ("97161", "97162", "97110", "97112", "97140", "97530")
OFFICE_PROC_CODES = ("93000", "69210", "11102", "20610", "17110", "11200")

PROCEDURE_GROUPS: dict[str, ProcedureGroup] = {
    **{c: ProcedureGroup.PC_EM for c in (*E_AND_M_NEW, *E_AND_M_ESTABLISHED)},
    **{c: ProcedureGroup.AWV for c in AWV_CODES},
    **{c: ProcedureGroup.PREVENTIVE for c in PREVENTIVE_CODES},
    **{c: ProcedureGroup.CARE_MGMT for c in (*TCM_CODES, *CCM_CODES)},
    **{c: ProcedureGroup.ECONSULT for c in ECONSULT_CODES},
    **{c: ProcedureGroup.SPECIALIST_EM for c in SPECIALIST_EM_CODES},
    **{c: ProcedureGroup.ED for c in ED_CODES},
    **{c: ProcedureGroup.IMAGING for c in IMAGING_CODES},
    **{c: ProcedureGroup.LAB for c in LAB_CODES},
    **{c: ProcedureGroup.OFFICE_PROC for c in OFFICE_PROC_CODES},
    **{c: ProcedureGroup.FACILITY_EM
       for c in (*INPATIENT_EM_CODES, *INPATIENT_CONSULT_CODES, *NURSING_FACILITY_CODES)},
    **{c: ProcedureGroup.THERAPY for c in THERAPY_CODES},
}



class CodeValidity(NamedTuple):
    """A code that is valid only for a span of service dates (ISO, inclusive; None: open)."""

    group: ProcedureGroup
    valid_from: str | None
    valid_to: str | None


# Codes CMS added or deleted, with the service dates they are valid for. Claims for years when a
# code was valid are real (public CMS claims files before 2021 carry 99201) and count as their
# group for those dates; outside its span a code is "invalid on the date of service" (CARC 181).
# Every code in PROCEDURE_GROUPS is valid on every date.
DATED_CODES: dict[str, CodeValidity] = {
    "99201": CodeValidity(ProcedureGroup.PC_EM, None, "2020-12-31"),  # deleted from CPT 2021
}


def valid_on(code: str, day: str) -> bool:
    """Whether a dated code is valid on an ISO service date (undated codes: always)."""
    span = DATED_CODES.get(code)
    if span is None:
        return True
    return (span.valid_from is None or span.valid_from <= day) and (
        span.valid_to is None or day <= span.valid_to)


def procedure_group_on(code: str, day: str) -> ProcedureGroup | None:
    """The code's group on an ISO service date: None for a code unknown or not valid that day."""
    group = PROCEDURE_GROUPS.get(code)
    if group is not None:
        return group
    span = DATED_CODES.get(code)
    return span.group if span is not None and valid_on(code, day) else None


# HbA1c testing for the claims-based quality measure (DOMAIN.md §9): the lab tests 83036/83037 and
# the CPT II result codes 3044F-3046F. Only 83036 is on the default fee schedule; the others are
# the measure's code set, counted when a scenario's fee schedule lists them.
HBA1C_CODES = frozenset({"83036", "83037", "3044F", "3045F", "3046F"})

# Groups whose lines count as qualifying primary-care visits for attribution and for PCF's
# leakage rate (DOMAIN.md §4, §6): E&M, AWV/IPPE, TCM/CCM, when billed by a primary-care clinician.
QUALIFYING_PRIMARY_CARE = frozenset(
    {ProcedureGroup.PC_EM, ProcedureGroup.AWV, ProcedureGroup.CARE_MGMT}
)

# The default capitated services of hybrid programs (DOMAIN.md §4: primary-care E&M, AWV,
# care management). A program may override the set.
DEFAULT_CAPITATED_GROUPS = frozenset(
    {ProcedureGroup.PC_EM, ProcedureGroup.AWV, ProcedureGroup.CARE_MGMT}
)


class VisitCategory(StrEnum):
    """What a per-visit copay is charged for (DOMAIN.md §5)."""

    PCP = "pcp"
    SPECIALIST = "specialist"
    ED = "ed"
    URGENT = "urgent"


class PlaceOfService(StrEnum):
    OFFICE = "11"
    URGENT_CARE = "20"
    OUTPATIENT_HOSPITAL = "22"
    EMERGENCY_ROOM = "23"
    INDEPENDENT_LAB = "81"
    TELEHEALTH = "10"
    INPATIENT_HOSPITAL = "21"
    SKILLED_NURSING_FACILITY = "31"


PLACES_OF_SERVICE = frozenset(p.value for p in PlaceOfService)


class GroupCode(StrEnum):
    """X12 claim adjustment group codes."""

    CO = "CO"  # contractual obligation (provider write-off)
    PR = "PR"  # patient responsibility
    OA = "OA"  # other adjustment
    PI = "PI"  # payer initiated reduction


# X12 claim adjustment reason codes used by the engine, with their published meaning.
CARC: dict[str, str] = {
    "1": "Deductible amount",
    "2": "Coinsurance amount",
    "3": "Co-payment amount",
    "16": "Claim/service lacks information or has submission/billing error(s)",
    "18": "Exact duplicate claim/service",
    "24": "Charges are covered under a capitation agreement/managed care plan",
    "27": "Expenses incurred after coverage terminated",
    "29": "The time limit for filing has expired",
    "31": "Patient cannot be identified as our insured",
    "45": "Charge exceeds fee schedule/maximum allowable or contracted/legislated fee arrangement",
    "96": "Non-covered charge(s)",
    "97": "The benefit for this service is included in the payment/allowance for another service",
    "181": "Procedure code was invalid on the date of service",
    "253": "Sequestration - reduction in federal payment",
}

# Remark codes that go with CARC 96 (which X12 requires to carry a remark).
REMARK_NOT_COVERED_BY_PROGRAM = "N20"  # "Service not payable with other service rendered on the same date"
REMARK_ROUTINE_PHYSICAL = "N130"  # "Consult plan benefit documents for information about restrictions"
# Remark codes on a QMB member's PR adjustments (CMS CR 9911): the amount may not be collected from
# the member, who is a Medicaid/Qualified Medicare Beneficiary; keyed by the PR adjustment's CARC.
QMB_REMARKS: dict[str, str] = {
    "1": "N781",  # no deductible may be collected: QMB
    "2": "N782",  # no coinsurance may be collected: QMB
    "3": "N783",  # no copayment may be collected: QMB
}


class RejectReason(StrEnum):
    """Why a submitted claim was rejected before adjudication (DOMAIN.md §3 step 1).

    Each maps to the CARC an 835 would carry (`REJECT_CARC`).
    """

    MALFORMED = "malformed"  # not the shape of a claim at all
    MISSING_FIELD = "missing_field"
    UNKNOWN_CODE = "unknown_code"
    NEGATIVE_AMOUNT = "negative_amount"
    BAD_UNITS = "bad_units"
    BAD_DATE = "bad_date"
    DATE_AFTER_RECEIVED = "date_after_received"
    UNKNOWN_MEMBER = "unknown_member"
    UNKNOWN_PROVIDER = "unknown_provider"
    UNKNOWN_ORIGINAL = "unknown_original"  # 7/8 for a claim we never saw
    SUBSCRIBER_MISMATCH = "subscriber_mismatch"  # 7/8 under another subscriber
    BAD_FREQUENCY = "bad_frequency"
    DUPLICATE_CLAIM_ID = "duplicate_claim_id"  # an original reusing a claim id already adjudicated
    UNSUPPORTED_YEAR = "unsupported_year"  # a plan year the plan, fee schedule or program lacks
    OVER_LIMIT = "over_limit"  # units, billed, modifiers or diagnoses past the documented limits
    TOO_MANY_LINES = "too_many_lines"  # more service lines than a claim may carry
    FIELD_TOO_LONG = "field_too_long"  # an identifier or code longer than the limit
    UNREADABLE_INPUT = "unreadable_input"  # an input log line that is not a JSON envelope
    UNKNOWN_INPUT_TYPE = "unknown_input_type"  # an input event type or version this code cannot read


REJECT_CARC: dict[RejectReason, str] = {
    RejectReason.MALFORMED: "16",
    RejectReason.MISSING_FIELD: "16",
    RejectReason.UNKNOWN_CODE: "181",
    RejectReason.NEGATIVE_AMOUNT: "16",
    RejectReason.BAD_UNITS: "16",
    RejectReason.BAD_DATE: "16",
    RejectReason.DATE_AFTER_RECEIVED: "16",
    RejectReason.UNKNOWN_MEMBER: "31",
    RejectReason.UNKNOWN_PROVIDER: "16",
    RejectReason.UNKNOWN_ORIGINAL: "16",
    RejectReason.SUBSCRIBER_MISMATCH: "16",
    RejectReason.BAD_FREQUENCY: "16",
    RejectReason.DUPLICATE_CLAIM_ID: "18",
    RejectReason.UNSUPPORTED_YEAR: "16",
    RejectReason.OVER_LIMIT: "16",
    RejectReason.TOO_MANY_LINES: "16",
    RejectReason.FIELD_TOO_LONG: "16",
    RejectReason.UNREADABLE_INPUT: "16",
    RejectReason.UNKNOWN_INPUT_TYPE: "16",
}


class Frequency(StrEnum):
    """Claim frequency code (837 CLM05-3)."""

    ORIGINAL = "1"
    REPLACEMENT = "7"
    VOID = "8"


class Condition(StrEnum):
    """Chronic conditions the simulator gives members and the payer infers from diagnoses."""

    DIABETES = "diabetes"
    CHF = "chf"
    COPD = "copd"
    CKD = "ckd"
    DEMENTIA = "dementia"
    DEPRESSION = "depression"
    CANCER = "cancer"
    VASCULAR = "vascular"
    RHEUMATOID = "rheumatoid"
    MORBID_OBESITY = "morbid_obesity"
    HYPERTENSION = "hypertension"  # common, little risk weight in HCC models
    ASTHMA = "asthma"


# Risk weight in thousandths (HCC-shaped, not CMS's table): added to the demographic base.
CONDITION_RISK_MILLI: dict[Condition, int] = {
    Condition.DIABETES: 166,
    Condition.CHF: 360,
    Condition.COPD: 319,
    Condition.CKD: 289,
    Condition.DEMENTIA: 341,
    Condition.DEPRESSION: 299,
    Condition.CANCER: 525,
    Condition.VASCULAR: 288,
    Condition.RHEUMATOID: 374,
    Condition.MORBID_OBESITY: 186,
    Condition.HYPERTENSION: 0,
    Condition.ASTHMA: 90,
}

# ICD-10-CM codes per condition: the first is the one claims usually carry.
CONDITION_ICD10: dict[Condition, tuple[str, ...]] = {
    Condition.DIABETES: ("E11.9", "E11.65", "E11.22"),
    Condition.CHF: ("I50.9", "I50.22"),
    Condition.COPD: ("J44.9", "J44.1"),
    Condition.CKD: ("N18.4", "N18.30"),
    Condition.DEMENTIA: ("F03.90", "G30.9"),
    Condition.DEPRESSION: ("F33.1", "F32.2"),
    Condition.CANCER: ("C50.919", "C61", "C34.90"),
    Condition.VASCULAR: ("I73.9", "I70.209"),
    Condition.RHEUMATOID: ("M06.9",),
    Condition.MORBID_OBESITY: ("E66.01",),
    Condition.HYPERTENSION: ("I10",),
    Condition.ASTHMA: ("J45.909",),
}

ICD10_CONDITION: dict[str, Condition] = {
    code: condition for condition, codes in CONDITION_ICD10.items() for code in codes
}

# Diagnoses for visits with no chronic condition behind them (acute and screening).
ACUTE_ICD10 = ("J06.9", "M54.50", "R05.9", "Z00.00", "Z00.01", "R10.9", "N39.0", "L30.9")


def demographic_risk_milli(age: int, sex: str) -> int:
    """The demographic base score (thousandths) that members with no claims keep.

    Shaped like the CMS-HCC community segment: rising with age, slightly higher for men past 65.
    """
    if age < 18:
        base = 250
    elif age < 35:
        base = 300
    elif age < 50:
        base = 400
    elif age < 65:
        base = 550
    elif age < 75:
        base = 420
    elif age < 85:
        base = 580
    else:
        base = 750
    if sex == "M" and age >= 65:
        base += 40
    return base


def procedure_group(code: str) -> ProcedureGroup | None:
    """The group of a code valid on every date (dated codes: `procedure_group_on`)."""
    return PROCEDURE_GROUPS.get(code)
