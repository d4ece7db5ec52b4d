"""Import this to register every event type (input, ledger and truth) with the registry."""

from claimsim.events import input, ledger, truth  # noqa: F401  (registration side effects)
from claimsim.events.registry import decode, known_types, model_for

__all__ = ["decode", "known_types", "model_for"]
