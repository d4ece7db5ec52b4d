"""The Tuva Project's claims Input Layer from a run: `medical_claim.csv` (one row per claim line)
and `eligibility.csv` (one row per enrollment span), with the Input Layer's column names, order
and types, so Tuva's dbt marts can run on a simulated run. Two extra columns follow Tuva's on
`medical_claim`: `received_date` (the day the payer received the claim) and `rendering_specialty`
(the rendering clinician's CMS specialty code). Tuva ignores columns it does not know;
`claimsim ingest --format tuva` reads both, to replay claims in arrival order and to know which
clinicians are primary care (attribution and the capitated services depend on it), so that an
export ingested again and paid under the same scenario gives the same line results
(`claimsim export --format tuva --check-roundtrip`).

Choices where DOMAIN.md is silent:
- Final action: Tuva's marts expect each claim line once (its "population health" view of
  adjustments, denials and reversals), so `medical_claim` holds the claim versions still in force
  at the end of the run: a voided claim and a replaced version are left out, the replacement is
  in. Denied lines stay in with paid 0. Finding the reversed versions takes one read of the
  ledger's reversal entries first (memory: their claim ids only).
- Amounts come from the ledger line: paid = plan paid, allowed, charge = billed, deductible,
  coinsurance, copayment (a QMB line keeps its PR amounts here, as on the 835); total_cost_amount
  is left empty (Tuva derives it). Diagnoses are the claim's (every line's, first-seen order).
- Eligibility: `member.enrolled` opens a span, `member.terminated` ends it; a span still open at
  the end of the input log ends on the run's last day of coverage (Tuva needs an end date):
  the day before the service period's exclusive end, never after the last input the ledger
  answers (`RunReader.coverage_end`); not the run-out's horizon, whose months Tuva would count
  as member months no claim could fall in.
- gender is female/male/unknown; race is Tuva's race terminology (`TUVA_RACE`: ours mapped to
  the OMB categories, `multiracial_other` to "other race"), empty when the enrollment has none;
  payer_type medicare/medicaid/commercial; QMB members get dual_status_code 01 ("QMB only").
  Names, addresses and SSNs are not simulated and stay empty.
- `payer` and `plan` are the payer's and the plan's names (the Input Layer's meaning; Tuva's
  `payer_type` cannot tell Medicare Advantage from Medicare FFS, the payer's name can), or their
  ids where two payers (or two plans of one payer) share a name.
- `rendering_specialty`: primary care 08 (family practice), emergency 93 (emergency medicine),
  specialists 99 (unknown physician specialty), other clinicians (labs, imaging, therapy, urgent
  care) 88 (unknown supplier/provider specialty): the simulator has roles, not specialties.
- `data_source` is `claimsim` + the scenario name; `ingest_datetime` and `file_date` stay empty
  (no wall clock in exports).
"""

from __future__ import annotations

import csv
import datetime as dt
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from claimsim.events.interchange.alignment_file import alignment_rows, write_alignment
from claimsim.events.interchange.records import ClaimRecord, MemberFacts, PaymentRecord
from claimsim.events.plans import LineOfBusiness
from claimsim.events.providers import ClinicianRole
from claimsim.events.reference import ReferenceData

S, I, D, N = "string", "integer", "date", "numeric"
_25 = range(1, 26)
MEDICAL_CLAIM_COLUMNS: tuple[tuple[str, str], ...] = (
    ("claim_id", S), ("claim_line_number", I), ("claim_type", S), ("person_id", S),
    ("member_id", S), ("payer", S), ("plan", S), ("claim_start_date", D), ("claim_end_date", D),
    ("claim_line_start_date", D), ("claim_line_end_date", D), ("admission_date", D),
    ("discharge_date", D), ("admit_source_code", S), ("admit_type_code", S),
    ("discharge_disposition_code", S), ("place_of_service_code", S), ("bill_type_code", S),
    ("drg_code_type", S), ("drg_code", S), ("revenue_center_code", S),
    ("service_unit_quantity", I), ("hcpcs_code", S),
    *((f"hcpcs_modifier_{i}", S) for i in range(1, 6)),
    ("rendering_npi", S), ("rendering_tin", S), ("billing_npi", S), ("billing_tin", S),
    ("facility_npi", S), ("paid_date", D), ("paid_amount", N), ("allowed_amount", N),
    ("charge_amount", N), ("coinsurance_amount", N), ("copayment_amount", N),
    ("deductible_amount", N), ("total_cost_amount", N), ("diagnosis_code_type", S),
    *((f"diagnosis_code_{i}", S) for i in _25), *((f"diagnosis_poa_{i}", S) for i in _25),
    ("procedure_code_type", S), *((f"procedure_code_{i}", S) for i in _25),
    *((f"procedure_date_{i}", D) for i in _25),
    ("in_network_flag", I), ("data_source", S), ("file_name", S), ("file_date", D),
    ("ingest_datetime", "timestamp"),
)
EXTRA_MEDICAL_CLAIM_COLUMNS = (("received_date", D), ("rendering_specialty", S))
ELIGIBILITY_COLUMNS: tuple[tuple[str, str], ...] = (
    ("person_id", S), ("member_id", S), ("subscriber_id", S), ("gender", S), ("race", S),
    ("birth_date", D), ("death_date", D), ("death_flag", I), ("enrollment_start_date", D),
    ("enrollment_end_date", D), ("payer", S), ("payer_type", S), ("plan", S),
    ("original_reason_entitlement_code", S), ("dual_status_code", S),
    ("medicare_status_code", S), ("group_id", S), ("group_name", S), ("first_name", S),
    ("last_name", S), ("social_security_number", S), ("subscriber_relation", S), ("address", S),
    ("city", S), ("state", S), ("zip_code", S), ("phone", S), ("data_source", S),
    ("file_name", S), ("file_date", D), ("ingest_datetime", "timestamp"),
)
PAYER_TYPE = {LineOfBusiness.MEDICARE_FFS: "medicare", LineOfBusiness.MEDICARE_ADVANTAGE: "medicare",
              LineOfBusiness.MEDICAID: "medicaid", LineOfBusiness.COMMERCIAL: "commercial"}
GENDER = {"F": "female", "M": "male"}
# Our race groups (`simulator.config`'s race mix) -> Tuva's race terminology (its `description`
# column, which Tuva's data-quality checks join `race` to: OMB categories, lower case).
TUVA_RACE = {"white": "white", "black": "black or african american", "asian": "asian",
             "american_indian_alaska_native": "american indian or alaska native",
             "native_hawaiian_pacific_islander": "native hawaiian or other pacific islander",
             "multiracial_other": "other race", "unknown": "unknown"}
TUVA_RACE_VALUES = frozenset(TUVA_RACE.values()) | {"asked but unknown"}


def tuva_race(race: str) -> str:
    """Tuva's value for an enrollment's race: ours mapped, Tuva's own kept, '' when absent,
    'unknown' for anything else (a value Tuva's terminology would not join)."""
    if not race:
        return ""
    return TUVA_RACE.get(race) or (race if race in TUVA_RACE_VALUES else "unknown")
QMB_DUAL_STATUS = "01"
ALIGNMENT_FILE = "alignment.csv"
# CMS provider specialty code written for each clinician role (read back by `ingest_model`).
SPECIALTY_OF_ROLE = {ClinicianRole.PRIMARY_CARE: "08", ClinicianRole.EMERGENCY: "93",
                     ClinicianRole.SPECIALIST: "99", ClinicianRole.OTHER: "88"}


@dataclass(frozen=True, slots=True)
class Names:
    """What the export writes for ids the Input Layer names: payers, plans, clinicians."""

    payer: dict[str, str]  # payer id -> the `payer` value
    plan: dict[str, str]  # plan id -> the `plan` value
    specialty: dict[str, str]  # rendering NPI -> CMS specialty code

    @classmethod
    def of(cls, reference: ReferenceData) -> Names:
        payer_names = Counter(p.name for p in reference.payers)
        plan_names = Counter((p.payer_id, p.name) for p in reference.plans)
        return cls(
            payer={p.payer_id: p.name if payer_names[p.name] == 1 and p.name else p.payer_id
                   for p in reference.payers},
            plan={p.plan_id: p.name if plan_names[p.payer_id, p.name] == 1 and p.name else p.plan_id
                  for p in reference.plans},
            specialty={npi: SPECIALTY_OF_ROLE[c.role] for npi, (_, c) in reference.clinician.items()})


def numeric(cents: int) -> str:
    """numeric(38,2): dollars with two decimals (-150.70)."""
    sign = "-" if cents < 0 else ""
    whole, frac = divmod(abs(cents), 100)
    return f"{sign}{whole}.{frac:02d}"


def reversed_claim_ids(ledger: Iterable[dict[str, Any]]) -> set[str]:
    """The claim versions a later void or replacement reversed (raw ledger envelopes in)."""
    out = set()
    for env in ledger:
        if env["type"] in ("claim.adjudicated", "claim.reversed"):
            rid = env["data"].get("reversed_claim_id")
            if rid:
                out.add(rid)
    return out


def claim_rows(rec: ClaimRecord, names: Names, data_source: str) -> Iterator[dict[str, Any]]:
    d = rec.data
    lines = d["lines"]
    dates = sorted(ln["service_date"] for ln in lines)
    diagnoses = list(dict.fromkeys(c for ln in lines
                                   for c in rec.submitted.diagnoses.get(ln["line_no"], ())))[:25]
    header = {
        "claim_id": d["claim_id"], "claim_type": "professional", "person_id": d["member_id"],
        "member_id": d["member_id"], "payer": names.payer.get(d["payer_id"], d["payer_id"]),
        "plan": names.plan.get(rec.member.plan_id, rec.member.plan_id) if rec.member else "",
        "claim_start_date": dates[0], "claim_end_date": dates[-1],
        "place_of_service_code": rec.submitted.place_of_service,
        "rendering_npi": d.get("rendering_npi", ""), "rendering_tin": d["practice_id"],
        "billing_tin": rec.submitted.billing_tin or d["practice_id"],
        "paid_date": d["paid"], "diagnosis_code_type": "icd-10-cm" if diagnoses else "",
        **{f"diagnosis_code_{i}": code for i, code in enumerate(diagnoses, 1)},
        "in_network_flag": 1, "data_source": data_source, "file_name": "medical_claim.csv",
        "received_date": d["received"],
        "rendering_specialty": names.specialty.get(d.get("rendering_npi", ""), ""),
    }
    for ln in lines:
        mods = rec.submitted.modifiers.get(ln["line_no"], ())[:5]
        yield {**header, "claim_line_number": ln["line_no"],
               "claim_line_start_date": ln["service_date"],
               "claim_line_end_date": ln["service_date"],
               "service_unit_quantity": ln["units"], "hcpcs_code": ln["procedure"],
               **{f"hcpcs_modifier_{i}": m for i, m in enumerate(mods, 1)},
               "paid_amount": numeric(ln["plan_paid"]), "allowed_amount": numeric(ln["allowed"]),
               "charge_amount": numeric(ln["billed"]),
               "coinsurance_amount": numeric(ln.get("coinsurance", 0)),
               "copayment_amount": numeric(ln.get("copay", 0)),
               "deductible_amount": numeric(ln.get("deductible", 0))}


def eligibility_rows(enrollments: Iterable[dict[str, Any]], reference: ReferenceData,
                     last_day: str, data_source: str, names: Names | None = None
                     ) -> Iterator[dict[str, Any]]:
    """Enrollment spans from `member.enrolled`/`member.terminated` envelopes, in input order
    of their end (open spans last, by member id). Memory: the spans open at once."""
    open_spans: dict[str, tuple[MemberFacts, str, str | None]] = {}
    names = names or Names.of(reference)

    def row(facts: MemberFacts, start: str, end: str | None) -> dict[str, Any]:
        payer = reference.payer.get(facts.payer_id)
        return {"person_id": facts.member_id, "member_id": facts.member_id,
                "subscriber_id": facts.subscriber_id, "gender": GENDER.get(facts.sex, "unknown"),
                "race": tuva_race(facts.race),
                "birth_date": facts.birth_date, "death_flag": 0,
                "enrollment_start_date": start, "enrollment_end_date": end or last_day,
                "payer": names.payer.get(facts.payer_id, facts.payer_id),
                "payer_type": PAYER_TYPE.get(payer.lob, "") if payer else "",
                "plan": names.plan.get(facts.plan_id, facts.plan_id),
                "dual_status_code": QMB_DUAL_STATUS if facts.qmb else "",
                "subscriber_relation": facts.relationship, "data_source": data_source,
                "file_name": "eligibility.csv"}

    for env in enrollments:
        data = env["data"]
        member = data["member_id"]
        if env["type"] == "member.enrolled":
            if member in open_spans:
                facts, start, end = open_spans.pop(member)
                day_before = (dt.date.fromisoformat(data["start"]) - dt.timedelta(days=1)).isoformat()
                yield row(facts, start, min(end, day_before) if end else day_before)
            open_spans[member] = (MemberFacts.of(data), data["start"], data.get("end"))
        elif member in open_spans:
            facts, start, _ = open_spans.pop(member)
            yield row(facts, start, data["end"])
    for member in sorted(open_spans):
        yield row(*open_spans[member])


@dataclass(slots=True)
class TuvaSummary:
    files: int = 0
    claim_rows: int = 0
    claims: int = 0
    eligibility_rows: int = 0
    alignment_rows: int = 0
    paid: int = 0  # cents over medical_claim rows
    allowed: int = 0
    ledger_in_force_paid: int = 0  # the ledger's plan paid net of reversals, for the check

    def balances(self) -> bool:
        return self.paid == self.ledger_in_force_paid


def write_tuva(entries: Iterable[ClaimRecord | PaymentRecord], reversed_ids: set[str],
               enrollments: Iterable[dict[str, Any]], reference: ReferenceData, out_dir: Path,
               *, last_day: str, data_source: str,
               alignments: Iterable[dict[str, Any]] = ()) -> TuvaSummary:
    """`medical_claim.csv`, `eligibility.csv` and (not a Tuva table) `alignment.csv`, the
    members' voluntary alignment from the `alignment.declared` input envelopes."""
    out_dir.mkdir(parents=True, exist_ok=True)
    summary = TuvaSummary(files=3)
    names = Names.of(reference)
    columns = [c for c, _ in MEDICAL_CLAIM_COLUMNS + EXTRA_MEDICAL_CLAIM_COLUMNS]
    with open(out_dir / "medical_claim.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        for rec in entries:
            if not isinstance(rec, ClaimRecord):
                continue
            d = rec.data
            for key in ("lines", "reversed_lines"):
                summary.ledger_in_force_paid += sum(ln["plan_paid"] for ln in d.get(key, ()))
            if rec.type != "claim.adjudicated" or d["claim_id"] in reversed_ids:
                continue
            summary.claims += 1
            for r in claim_rows(rec, names, data_source):
                writer.writerow(r)
                summary.claim_rows += 1
            summary.paid += sum(ln["plan_paid"] for ln in d["lines"])
            summary.allowed += sum(ln["allowed"] for ln in d["lines"])
    with open(out_dir / "eligibility.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=[c for c, _ in ELIGIBILITY_COLUMNS],
                                lineterminator="\n")
        writer.writeheader()
        for r in eligibility_rows(enrollments, reference, last_day, data_source, names):
            writer.writerow(r)
            summary.eligibility_rows += 1
    summary.alignment_rows = write_alignment(out_dir / ALIGNMENT_FILE,
                                             alignment_rows(alignments, names.payer))
    return summary
