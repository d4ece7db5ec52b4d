"""Pure translations between a run's logs and the formats payers and analysts already use.

`records` streams a run directory's ledger joined with its input log (one claim entry at a time,
never the whole ledger); `x12_835` writes X12 835 remittance advice, `fhir_eob` FHIR R4
ExplanationOfBenefit (CARIN Blue Button professional) as NDJSON, `tuva_export` the Tuva Project's
Input Layer (`medical_claim`, `eligibility`). This package imports only `claimsim.events`.
"""

from claimsim.events.interchange.records import (
    ClaimRecord, InterchangeError, MemberFacts, PaymentRecord, RunReader)

__all__ = ["ClaimRecord", "InterchangeError", "MemberFacts", "PaymentRecord", "RunReader"]
