"""Tests of the external formats: the readers and `claimsim ingest` (Tuva, CCLF), and the exports (X12 835, FHIR ExplanationOfBenefit, Tuva Input Layer)."""
