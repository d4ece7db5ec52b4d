"""Tests of the external-format readers and `claimsim ingest` (events.interchange)."""
