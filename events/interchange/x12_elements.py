"""What may go into an X12 835 element: the interchange's sender ids (ISA06/GS02), the files'
names, and the refusal of any identifier that holds one of the interchange's separators.

`x12_835` writes every segment with `*` between elements, `:` between a composite's components,
`^` as ISA11's repetition separator and `~` (+ newline) after each segment. A value holding one of
them is read back as something else: a claim id `C1*22~X` written into CLP01 is read as claim
`C1` with status 22 (a reversal), and a payer `Acme*Health~Plan` splits the ISA.

Choices where DOMAIN.md and the 835 guide are silent:
- Identifiers (claim, member, practice, NPI, procedure code, modifier) are never changed: one that
  holds a separator is refused (an `InterchangeError` naming the claim or practice and the
  character), since a changed id would name another claim.
- Free-text names (N1*PR, PER*BL, N1*PE) have each separator (and any line break) replaced by a
  space: `Acme*Health~Plan` is written `Acme Health Plan`; the name means the same.
- The sender id (ISA06 padded to 15, GS02, TRN02's first part and the file name) is the payer id
  itself when that is 1-15 characters of A-Z, 0-9 and `-` (`MEDICARE-FFS`); otherwise its letters
  and digits upper-cased, cut to 10, + the first 5 hex digits (upper case) of the SHA-256 of the
  payer id, so two payers that differ only past the cut or in spaces and case still differ:
  `Commercial insurer` -> `COMMERCIAL` + 5 digits. Deterministic: the same id on every export.
"""

from __future__ import annotations

import hashlib
import re

from claimsim.events.interchange.records import InterchangeError

SEPARATORS = "*~:^"  # element, segment, component, repetition (ISA16 and ISA11 as written)
_BREAKS = "\r\n"
_PLAIN_ID = re.compile(r"[A-Z0-9-]{1,15}")
ID_LENGTH, ID_KEPT, ID_HASH = 15, 10, 5


def sender_id(payer_id: str) -> str:
    """ISA06/GS02 for a payer (see the module's docstring): 1-15 characters of A-Z, 0-9, `-`."""
    if _PLAIN_ID.fullmatch(payer_id):
        return payer_id
    kept = "".join(ch for ch in payer_id.upper() if ch.isascii() and ch.isalnum())[:ID_KEPT]
    digest = hashlib.sha256(payer_id.encode()).hexdigest()[:ID_HASH].upper()
    return kept + digest


def name_text(name: str) -> str:
    """A free-text name with each separator or line break replaced by a space."""
    for ch in SEPARATORS + _BREAKS:
        name = name.replace(ch, " ")
    return name


def identifier(value: str, what: str, owner: str) -> str:
    """`value` unchanged, or an `InterchangeError` when it holds a separator: `what` is the
    element ("claim id"), `owner` the claim or practice it belongs to, for the message."""
    bad = [ch for ch in SEPARATORS + _BREAKS if ch in value]
    if bad:
        raise InterchangeError(
            f"835: {owner}: its {what} {value!r} holds {bad[0]!r}, an X12 separator; the 835"
            " cannot carry it unchanged (export --format tuva or eob can)")
    return value
