"""Chronic conditions diagnosed on a submitted claim, read from its raw JSON bytes: observed risk
(DOMAIN.md §4) needs the diagnoses, which only the input log's claims carry, and parsing every
claim in the input log would cost as much as the whole projection fold.
"""

from __future__ import annotations

import re

from claimsim.events.codes import ICD10_CONDITION

# JSON escapes quotes inside strings, so these patterns only match real `"diagnoses": [...]`
# arrays and the code strings in them, whatever else a claim as submitted holds.
_DIAGNOSES = re.compile(rb'"diagnoses":\[([^\]]*)\]')
_CODE = re.compile(rb'"([^"\\]*)"')
_ICD_CONDITION = {code.encode(): cond.value for code, cond in ICD10_CONDITION.items()}
_SEEN: dict[bytes, list[str]] = {}  # diagnoses arrays -> conditions (claims repeat a few combinations)


def claim_conditions(raw: bytes) -> list[str]:
    """The chronic conditions (sorted) diagnosed anywhere on a submitted claim's raw JSON."""
    arrays = _DIAGNOSES.findall(raw)
    if not arrays:
        return []
    key = b"|".join(arrays)
    found = _SEEN.get(key)
    if found is None:
        codes = {code for array in arrays for code in _CODE.findall(array)}
        found = sorted({_ICD_CONDITION[c] for c in codes if c in _ICD_CONDITION})
        if len(_SEEN) < 100_000:
            _SEEN[key] = found
    return found
