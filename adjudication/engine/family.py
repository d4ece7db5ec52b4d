"""One subscriber's (family's) adjudication state: what the core needs to adjudicate the family's
next input, and nothing shared with other families, so the embedded runtime keeps these in a dict
and the Kafka runtime in one faust table keyed by subscriber (DESIGN.md "The two runtimes").

The state is plain JSON-able data (str keys, lists, ints, ISO dates) with a canonical byte form,
so two states compare by bytes and a changelog can store them.
"""

from __future__ import annotations

import copy
from typing import Any

import orjson

from claimsim.events.encoding import canonical

# The state is stored as JSON lists (Kafka changelogs, byte comparisons), so its rows keep their
# list layout on the wire; these name the positions.
# An enrollment span: `[payer_id, plan_id, start, end | None, qmb]`.
SPAN_PAYER, SPAN_PLAN, SPAN_START, SPAN_END, SPAN_QMB = range(5)
# An accumulator entry: `[family_deductible, family_oop, {member: [deductible, oop]}]`.
ACC_FAMILY_DED, ACC_FAMILY_OOP, ACC_MEMBERS = range(3)
MEMBER_DED, MEMBER_OOP = range(2)
# A stored result (input seq -> how to re-emit its ledger entry), by its first element:
ADJUDICATED = "c"  # ["c", claim root, version index]: a claim.adjudicated
REVERSED = "v"  # ["v", claim root]: a claim.reversed (a void)
REJECTED = "r"  # ["r", at, rejection data]: a claim.rejected
NO_EFFECT = "n"  # ["n", at, input type, note]: a no_effect


class FamilyState:
    """Accumulators, enrollment spans, paid-line index, claim versions and stored results.

    - `members`: member id -> list of enrollment spans `[payer_id, plan_id, start, end|None, qmb]`
      (ISO dates, end inclusive), in the order enrolled.
    - `acc`: `"payer|year"` -> `[family_deductible, family_oop, {member: [deductible, oop]}]`,
      cents met so far (accumulators are per payer and plan year: a family can hold plans with
      two payers, and each payer's limits are its own).
    - `visits`: per-visit copays already charged, `"member|practice|day|category"` -> claim root.
    - `paid`: the paid-line index for duplicates (OA-18), `"member|npi|day|code|mods|units"` ->
      claim root, for lines paid or shadow and not reversed.
    - `claims`: claim root id -> `{"versions": [version, ...], "void": void or None}`; a version
      holds its header, its line results and the index/visit keys it added, so a 7 or 8 can undo
      exactly its effects and a redelivered input can be re-emitted from it.
    - `alias`: every claim id seen (originals, replacements, voids) -> its root id.
    - `results`: input seq -> how to re-emit its ledger entry (`[ADJUDICATED, root, version]`,
      `[REVERSED, root]`, `[REJECTED, at, rejection data]`, `[NO_EFFECT, at, input type, note]`).
    - `last_seq`: the last input seq applied (-1: none).
    """

    __slots__ = ("subscriber_id", "last_seq", "members", "acc", "visits", "paid", "claims",
                 "alias", "results")

    def __init__(self, subscriber_id: str):
        self.subscriber_id = subscriber_id
        self.last_seq = -1
        self.members: dict[str, list[list[Any]]] = {}
        self.acc: dict[str, list[Any]] = {}
        self.visits: dict[str, str] = {}
        self.paid: dict[str, str] = {}
        self.claims: dict[str, dict[str, Any]] = {}
        self.alias: dict[str, str] = {}
        self.results: dict[int, list[Any]] = {}

    # -- serialization ---------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """A JSON-able view of the state (shares structure with it: serialize, do not mutate)."""
        return {
            "subscriber_id": self.subscriber_id,
            "last_seq": self.last_seq,
            "members": self.members,
            "acc": self.acc,
            "visits": self.visits,
            "paid": self.paid,
            "claims": self.claims,
            "alias": self.alias,
            "results": {str(seq): r for seq, r in self.results.items()},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FamilyState:
        return cls._from_own(copy.deepcopy(data))

    @classmethod
    def from_bytes(cls, raw: bytes) -> FamilyState:
        """The state whose `to_bytes` these are (a store's value)."""
        return cls._from_own(orjson.loads(raw))  # freshly decoded: no copy needed

    @classmethod
    def _from_own(cls, data: dict[str, Any]) -> FamilyState:
        """A state over `data` itself (the caller hands it over)."""
        state = cls(data["subscriber_id"])
        state.last_seq = data["last_seq"]
        state.members = data["members"]
        state.acc = data["acc"]
        state.visits = data["visits"]
        state.paid = data["paid"]
        state.claims = data["claims"]
        state.alias = data["alias"]
        state.results = {int(seq): r for seq, r in data["results"].items()}
        return state

    def to_bytes(self) -> bytes:
        """Canonical bytes: equal states give equal bytes."""
        return canonical(self.to_dict())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FamilyState) and self.to_bytes() == other.to_bytes()

    def __repr__(self) -> str:
        return (f"FamilyState({self.subscriber_id!r}, last_seq={self.last_seq},"
                f" members={len(self.members)}, claims={len(self.claims)})")

    # -- queries the rules and reports use -------------------------------------------------
    def accumulators(self, payer_id: str, year: int) -> dict[str, Any]:
        """Met amounts for one payer and plan year: family and per-member deductible and OOP."""
        entry = self.acc.get(f"{payer_id}|{year}")
        if entry is None:
            return {"family_deductible": 0, "family_oop": 0, "members": {}}
        return {
            "family_deductible": entry[ACC_FAMILY_DED],
            "family_oop": entry[ACC_FAMILY_OOP],
            "members": {m: {"deductible": v[MEMBER_DED], "oop": v[MEMBER_OOP]}
                        for m, v in sorted(entry[ACC_MEMBERS].items())},
        }

    def set_opening_balances(self, payer_id: str, year: int, *, family_deductible: int = 0,
                             family_oop: int = 0,
                             members: dict[str, tuple[int, int]] | None = None) -> None:
        """Load what the family had already met with a payer in a plan year before go-live
        (cents): the family's deductible and out-of-pocket totals and, per member,
        `(deductible, oop)`. A payer moving a book of business mid-year does this once per family
        before the first claim; the balances then count exactly as if the claims that met them
        had been adjudicated here. Replaces any balances already held for that payer and year."""
        amounts = [family_deductible, family_oop, *(v for pair in (members or {}).values() for v in pair)]
        if any(not isinstance(a, int) or isinstance(a, bool) or a < 0 for a in amounts):
            raise ValueError("opening balances are non-negative integer cents")
        self.acc[f"{payer_id}|{year}"] = [
            family_deductible, family_oop,
            {m: [ded, oop] for m, (ded, oop) in sorted((members or {}).items())}]

    def span_on(self, member_id: str, payer_id: str, day: str) -> list[Any] | None:
        """The member's enrollment span with the payer covering an ISO day (end inclusive), if any."""
        for span in self.members.get(member_id, ()):
            if span[SPAN_PAYER] == payer_id and span[SPAN_START] <= day and (
                    span[SPAN_END] is None or day <= span[SPAN_END]):
                return span
        return None
