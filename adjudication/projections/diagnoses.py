"""Chronic conditions diagnosed on a claim: observed risk (DOMAIN.md §4) needs the diagnoses.
A v2 ledger's claim lines carry them (`line_conditions`); for a v1 ledger they are read from the
submitted claim's raw JSON bytes (`claim_conditions`), since parsing every claim in the input log
would cost as much as the whole projection fold.

Choices where DOMAIN.md is silent: a claim's diagnoses are its lines' (as an 837P's diagnosis
pointers make them), so both readers give the same conditions for a claim the engine accepted.
"""

from __future__ import annotations

import re

from claimsim.events.codes import ICD10_CONDITION

from claimsim.adjudication.projections.claim_entry import ClaimLine

# JSON escapes quotes inside strings, so these patterns only match real `"diagnoses": [...]`
# arrays and the code strings in them, whatever else a claim as submitted holds.
_DIAGNOSES = re.compile(rb'"diagnoses":\[([^\]]*)\]')
_CODE = re.compile(rb'"([^"\\]*)"')
_ICD_CONDITION = {code.encode(): cond.value for code, cond in ICD10_CONDITION.items()}
_ICD_TEXT = {code: cond.value for code, cond in ICD10_CONDITION.items()}
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


_LINES_SEEN: dict[tuple[str, ...], list[str]] = {}  # lines' codes -> conditions


def line_conditions(lines: list[ClaimLine]) -> list[str]:
    """The chronic conditions (sorted) diagnosed on any of a claim entry's lines (v2 lines carry
    their diagnoses as submitted; `claim_entry.ClaimLine`s, as the fold reads them)."""
    first = lines[0].diagnoses
    for line in lines:  # most claims repeat the claim's diagnoses on every line
        if line.diagnoses != first:
            key = tuple(code for line in lines for code in line.diagnoses)
            break
    else:  # every line's codes are the first's: their conditions are the first line's
        key = tuple(first)
    found = _LINES_SEEN.get(key)
    if found is None:
        found = sorted({_ICD_TEXT[c] for c in key if c in _ICD_TEXT})
        if len(_LINES_SEEN) < 100_000:
            _LINES_SEEN[key] = found
    return found
