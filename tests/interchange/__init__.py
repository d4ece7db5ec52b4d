"""Tests of the exports (X12 835, FHIR ExplanationOfBenefit, Tuva Input Layer)."""
