"""FHIR R4 ExplanationOfBenefit resources shaped as the CARIN Blue Button professional (non-
clinician) profile: what a member sees of each claim, one resource per adjudicated claim version
and one per reversal, written as NDJSON (one resource per line, orjson) in ledger order.

Each item carries the CARIN adjudication amounts (submitted = billed, eligible = allowed,
benefit = plan paid, paidtoprovider, deductible, coinsurance, copay, memberliability = what the
member owes) and one `adjustmentreason` per claim adjustment (the CARC, its group in the display);
a denied line adds its CARC as `denialreason`. `total` sums the same categories over the items.

Choices where DOMAIN.md is silent:
- Reversals (a void, or the version a replacement replaces) are their own resource, id
  `<claim id>-reversal`, status `cancelled`, every amount negated, `related` naming the claim
  reversed; a replacement's resource names the version it replaces the same way (`prior`).
- memberliability is cost share less `medicaid_cost_share` (a QMB member owes nothing; the PR
  amounts still show as deductible/coinsurance, as on the 835).
- Money is written as a JSON number of dollars from integer cents (orjson writes the shortest
  form, so 15074 cents is exactly 150.74). `created` is the paid date and `meta.lastUpdated`
  the ledger entry's date at 00:00 UTC (no wall clock: the export is the same bytes each time).
- CARIN's 1..1 elements: each item's `benefitpaymentstatus` is `innetwork` (every practice is
  contracted, as `billingnetworkcontractingstatus` says); each diagnosis's `type` is
  `principal` for the claim's first diagnosis (its first line's first) and `secondary` after. Patient,
  Coverage, Organization and Practitioner are references by id only (member id, member id +
  plan, payer id / practice TIN, NPI); ids keep FHIR's [A-Za-z0-9.-] and 64 characters.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import orjson

from claimsim.events.codes import CARC
from claimsim.events.interchange.adjustments import line_adjustments
from claimsim.events.interchange.records import ClaimRecord, PaymentRecord

PROFILE = ("http://hl7.org/fhir/us/carin-bb/StructureDefinition/"
           "C4BB-ExplanationOfBenefit-Professional-NonClinician")
ADJUDICATION = "http://terminology.hl7.org/CodeSystem/adjudication"
C4BB_ADJUDICATION = "http://hl7.org/fhir/us/carin-bb/CodeSystem/C4BBAdjudication"
C4BB_DISCRIMINATOR = "http://hl7.org/fhir/us/carin-bb/CodeSystem/C4BBAdjudicationDiscriminator"
C4BB_SUPPORTING = "http://hl7.org/fhir/us/carin-bb/CodeSystem/C4BBSupportingInfoType"
C4BB_CONTRACTING = "http://hl7.org/fhir/us/carin-bb/CodeSystem/C4BBPayerAdjudicationStatus"
C4BB_CARE_TEAM_ROLE = "http://hl7.org/fhir/us/carin-bb/CodeSystem/C4BBClaimCareTeamRole"
C4BB_IDENTIFIER = "http://hl7.org/fhir/us/carin-bb/CodeSystem/C4BBIdentifierType"
C4BB_DIAGNOSIS_TYPE = "http://hl7.org/fhir/us/carin-bb/CodeSystem/C4BBClaimDiagnosisType"
CLAIM_TYPE = "http://terminology.hl7.org/CodeSystem/claim-type"
RELATED = "http://terminology.hl7.org/CodeSystem/ex-relatedclaimrelationship"
CARC_SYSTEM = "https://x12.org/codes/claim-adjustment-reason-codes"
CPT = "http://www.ama-assn.org/go/cpt"
HCPCS = "https://bluebutton.cms.gov/resources/codesystem/hcpcs"
ICD10 = "http://hl7.org/fhir/sid/icd-10-cm"
POS = "https://www.cms.gov/Medicare/Coding/place-of-service-codes/Place_of_Service_Code_Set"
CLAIM_ID_SYSTEM = "urn:claimsim:claim-id"
FILE_NAME = "ExplanationOfBenefit.ndjson"

# (category system, code, ledger line -> cents), in CARIN's order.
AMOUNTS = (
    (ADJUDICATION, "submitted", lambda ln: ln["billed"]),
    (ADJUDICATION, "eligible", lambda ln: ln["allowed"]),
    (ADJUDICATION, "benefit", lambda ln: ln["plan_paid"]),
    (C4BB_ADJUDICATION, "paidtoprovider", lambda ln: ln["plan_paid"]),
    (ADJUDICATION, "deductible", lambda ln: ln.get("deductible", 0)),
    (C4BB_ADJUDICATION, "coinsurance", lambda ln: ln.get("coinsurance", 0)),
    (ADJUDICATION, "copay", lambda ln: ln.get("copay", 0)),
    (C4BB_ADJUDICATION, "memberliability",
     lambda ln: ln["cost_share"] - ln.get("medicaid_cost_share", 0)),
)
_BAD_ID = re.compile(r"[^A-Za-z0-9.\-]")


def fhir_id(raw: str) -> str:
    return _BAD_ID.sub("-", raw)[:64]


def money(cents: int) -> dict[str, Any]:
    return {"value": cents / 100, "currency": "USD"}


def _coded(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    coding: dict[str, Any] = {"system": system, "code": code}
    if display:
        coding["display"] = display
    return {"coding": [coding]}


def _item(line: dict[str, Any], claim_id: str, pos: str, diagnosis_seq: list[int],
          modifiers: tuple[str, ...]) -> dict[str, Any]:
    adj = line_adjustments(line, claim_id)
    code = line["procedure"]
    system = CPT if code[:1].isdigit() else HCPCS
    adjudication = [{"category": _coded(sys, cat), "amount": money(get(line))}
                    for sys, cat, get in AMOUNTS]
    # CARIN's required (1..1) benefit payment status: every practice is in the payer's network
    adjudication.append({"category": _coded(C4BB_DISCRIMINATOR, "benefitpaymentstatus"),
                         "reason": _coded(C4BB_CONTRACTING, "innetwork")})
    for a in adj.adjustments:
        adjudication.append({
            "category": _coded(C4BB_DISCRIMINATOR, "adjustmentreason"),
            "reason": _coded(CARC_SYSTEM, a.carc, f"{a.group}-{a.carc} {CARC.get(a.carc, '')}".strip()),
            "amount": money(a.amount)})
    if line["status"] == "denied":
        for a in adj.adjustments:
            if a.group != "PR":
                adjudication.append({"category": _coded(C4BB_DISCRIMINATOR, "denialreason"),
                                     "reason": _coded(CARC_SYSTEM, a.carc)})
    item: dict[str, Any] = {
        "sequence": line["line_no"],
        "productOrService": _coded(system, code),
        "servicedDate": line["service_date"],
        "locationCodeableConcept": _coded(POS, pos),
        "quantity": {"value": line["units"]},
        "adjudication": adjudication,
    }
    if diagnosis_seq:
        item["diagnosisSequence"] = diagnosis_seq
    if modifiers:
        item["modifier"] = [_coded(CPT, m) for m in modifiers]
    return item


def explanation_of_benefit(rec: ClaimRecord, *, reversal: bool) -> dict[str, Any]:
    """One EOB: the claim's own lines, or (reversal) the negated lines of the version reversed."""
    d = rec.data
    lines = list(d["reversed_lines"] if reversal else d["lines"])
    claim_id = d["reversed_claim_id"] if reversal else d["claim_id"]
    diagnoses: dict[str, int] = {}
    for ln in lines:
        for code in rec.submitted.diagnoses.get(ln["line_no"], ()):
            diagnoses.setdefault(code, len(diagnoses) + 1)
    items = [_item(ln, claim_id, rec.submitted.place_of_service,
                   [diagnoses[c] for c in rec.submitted.diagnoses.get(ln["line_no"], ())],
                   rec.submitted.modifiers.get(ln["line_no"], ())) for ln in lines]
    dates = sorted(ln["service_date"] for ln in lines)
    plan = rec.member.plan_id if rec.member else d["payer_id"]
    eob: dict[str, Any] = {
        "resourceType": "ExplanationOfBenefit",
        "id": fhir_id(claim_id + ("-reversal" if reversal else "")),
        "meta": {"lastUpdated": f"{rec.at or d['paid']}T00:00:00+00:00", "profile": [PROFILE]},
        "identifier": [{"type": _coded(C4BB_IDENTIFIER, "uc"), "system": CLAIM_ID_SYSTEM,
                        "value": claim_id}],
        "status": "cancelled" if reversal else "active",
        "type": _coded(CLAIM_TYPE, "professional"),
        "use": "claim",
        "patient": {"reference": f"Patient/{fhir_id(d['member_id'])}"},
        "billablePeriod": {"start": dates[0], "end": dates[-1]},
        "created": d["paid"],
        "insurer": {"reference": f"Organization/{fhir_id(d['payer_id'])}"},
        "provider": {"reference": f"Organization/{fhir_id(d['practice_id'])}"},
        "outcome": "complete",
        "supportingInfo": [
            {"sequence": 1, "category": _coded(C4BB_SUPPORTING, "clmrecvddate"),
             "timingDate": d["received"]},
            {"sequence": 2, "category": _coded(C4BB_SUPPORTING, "billingnetworkcontractingstatus"),
             "code": _coded(C4BB_CONTRACTING, "contracted")}],
        "insurance": [{"focal": True, "coverage": {
            "reference": f"Coverage/{fhir_id(d['member_id'] + '.' + plan)}"}}],
        "item": items,
        "total": [{"category": _coded(sys, cat), "amount": money(sum(get(ln) for ln in lines))}
                  for sys, cat, get in AMOUNTS],
        "payment": {"date": d["paid"], "amount": money(sum(ln["plan_paid"] for ln in lines))},
    }
    if d.get("rendering_npi"):
        eob["careTeam"] = [{"sequence": 1,
                            "provider": {"reference": f"Practitioner/{fhir_id(d['rendering_npi'])}"},
                            "role": _coded(C4BB_CARE_TEAM_ROLE, "performing")}]
    prior = d.get("reversed_claim_id") if not reversal else None
    if prior or reversal:
        eob["related"] = [{"relationship": _coded(RELATED, "prior"),
                           "reference": {"system": CLAIM_ID_SYSTEM,
                                         "value": d["reversed_claim_id"] if reversal else prior}}]
    if diagnoses:
        eob["diagnosis"] = [{"sequence": seq, "diagnosisCodeableConcept": _coded(ICD10, code),
                             "type": [_coded(C4BB_DIAGNOSIS_TYPE,
                                             "principal" if seq == 1 else "secondary")]}
                            for code, seq in diagnoses.items()]
    return eob


@dataclass(slots=True)
class EobSummary:
    files: int = 0
    resources: int = 0
    cancelled: int = 0
    items: int = 0
    benefit: int = 0  # cents: sum of every resource's total benefit
    ledger_paid: int = 0  # the ledger's own sum of plan paid, for the check

    def balances(self) -> bool:
        return self.benefit == self.ledger_paid


def write_eob(entries: Iterable[ClaimRecord | PaymentRecord], out_dir: Path) -> EobSummary:
    """Every claim entry as EOB resources in `out_dir/ExplanationOfBenefit.ndjson`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    summary = EobSummary(files=1)
    with open(out_dir / FILE_NAME, "wb") as f:
        for rec in entries:
            if not isinstance(rec, ClaimRecord):
                continue
            for key in ("lines", "reversed_lines"):
                summary.ledger_paid += sum(ln["plan_paid"] for ln in rec.data.get(key, ()))
            if rec.data.get("reversed_lines"):
                _write(f, explanation_of_benefit(rec, reversal=True), summary)
            if rec.type == "claim.adjudicated":
                _write(f, explanation_of_benefit(rec, reversal=False), summary)
    return summary


def _write(f: IO[bytes], eob: dict[str, Any], summary: EobSummary) -> None:
    f.write(orjson.dumps(eob) + b"\n")
    summary.resources += 1
    summary.cancelled += eob["status"] == "cancelled"
    summary.items += len(eob["item"])
    benefit = next(t for t in eob["total"] if t["category"]["coding"][0]["code"] == "benefit")
    summary.benefit += round(benefit["amount"]["value"] * 100)
