"""Pure translations between external formats and our events. Imports only `claimsim.events`.

In: `tabular` reads CSV/Parquet in batches, `tuva_ingest` the Tuva Project's Input Layer
(`medical_claim`, `eligibility`), `cclf` CMS CCLF5/CCLF8 fixed-width files, with `ingest_model`
(records, rejection reasons, parsers) and `ingest_reference` (payers, plans, practices).
Out: `records` streams a run directory's ledger joined with its input log (one claim entry at a
time, never the whole ledger); `x12_835` writes X12 835 remittance advice, `fhir_eob` FHIR R4
ExplanationOfBenefit (CARIN Blue Button professional) as NDJSON, `tuva_export` the Tuva Input
Layer.
"""

from claimsim.events.interchange.records import (
    ClaimRecord, InterchangeError, MemberFacts, PaymentRecord, RunReader)

__all__ = ["ClaimRecord", "InterchangeError", "MemberFacts", "PaymentRecord", "RunReader"]
