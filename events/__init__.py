"""The shared vocabulary of claimsim: event types, reference data, canonical encoding and the log.

Everything the simulator and the payer side must agree on lives here, and this package imports
nothing else of ours (DESIGN.md "Layout").
"""
