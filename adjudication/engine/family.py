"""One subscriber's (family's) adjudication state: what the core needs to adjudicate the family's
next input, and nothing shared with other families. It has two parts, so a store can keep the
small part every input needs apart from the large part only voids, replacements and duplicates
need (DESIGN.md "The two runtimes"; the key layout is in `runtimes/processor.py`):

- the **hot** part (`FamilyState`'s own fields): enrollment, accumulators, visit copays, claim ids
  and how many versions each claim has, and a fingerprint of every paid line: about 1 kB a
  family as `hot_bytes()`, read and written for each of the family's inputs;
- the **claim records** (`ClaimRecords`): each claim's versions (header, line results, the
  paid-line and visit keys it added) and its void, one record per claim root, read only when a
  void or replacement arrives, when a fingerprint matches a paid line (a possible duplicate), or
  when a redelivered input's answer is re-emitted. A record is written once per adjudication.

Choices where DOMAIN.md is silent:
- The duplicate index (DOMAIN.md §3 step 4: every line in force) is kept whole, split the same
  way: the hot part maps a 32-bit fingerprint (`paid_fingerprint`, CRC-32 of the line's key) to
  the claim root(s) holding a line with that key, and the root's record holds the key itself.
  A line whose fingerprint is absent is not a duplicate (no record read); a present fingerprint
  is confirmed against the record, so a fingerprint collision never changes an answer.
- A record read back is trimmed to what the hot part says (version count, voided or not): a
  store that kept a record written by an input whose hot state was then lost (a worker killed
  between the two writes) answers as if that write had not happened, and the input, redelivered,
  writes the same record again.
"""

from __future__ import annotations

import copy
import zlib
from typing import Any, Final, Protocol

import orjson

from claimsim.events.encoding import canonical

# The state is stored as JSON lists (Kafka changelogs, byte comparisons), so its rows keep their
# list layout on the wire; these name the positions. Every module constant the engine reads per
# input is `Final`: the compiled engine then inlines it (or keeps it in a C static) instead of
# looking it up in the module's dict at each use.
# An enrollment span: `[payer_id, plan_id, start, end | None, qmb]`.
SPAN_PAYER: Final = 0
SPAN_PLAN: Final = 1
SPAN_START: Final = 2
SPAN_END: Final = 3
SPAN_QMB: Final = 4
# An accumulator entry: `[family_deductible, family_oop, {member: [deductible, oop]}]`.
ACC_FAMILY_DED: Final = 0
ACC_FAMILY_OOP: Final = 1
ACC_MEMBERS: Final = 2
MEMBER_DED: Final = 0
MEMBER_OOP: Final = 1
# A stored result (input seq -> how to re-emit its ledger entry), by its first element:
ADJUDICATED: Final = "c"  # ["c", claim root, version index]: a claim.adjudicated
REVERSED: Final = "v"  # ["v", claim root]: a claim.reversed (a void)
REJECTED: Final = "r"  # ["r", at, rejection data]: a claim.rejected
NO_EFFECT: Final = "n"  # ["n", at, input type, note]: a no_effect
# `hot_bytes()`: one JSON list, its fields in this order.
HOT_FIELDS = ("subscriber_id", "last_seq", "members", "acc", "visits", "claims", "voided",
              "alias", "paid")


def paid_fingerprint(key: str) -> int:
    """The hot part's fingerprint of a paid-line key (`member|npi|day|code|mods|units`):
    deterministic in every process (CRC-32, not `hash()`)."""
    return zlib.crc32(key.encode())


class ClaimRecords(Protocol):
    """Where a family's claim records live: `{"versions": [version, ...], "void": void | None}`
    by (subscriber, claim root). `get` may return a shared object: callers `put` what they change."""

    def get(self, subscriber: str, root: str) -> dict[str, Any] | None: ...
    def put(self, subscriber: str, root: str, record: dict[str, Any]) -> None: ...


class OwnRecords(dict):
    """Claim records held by the state itself (a family adjudicated outside any store: tests, the
    core on its own). Keyed by root; the subscriber is the state's."""

    def get(self, subscriber: str, root: str) -> dict[str, Any] | None:  # type: ignore[override]
        return dict.get(self, root)

    def put(self, subscriber: str, root: str, record: dict[str, Any]) -> None:
        self[root] = record


class FamilyState:
    """The hot part of a family's state, and where its claim records are (`records`).

    - `members`: member id -> list of enrollment spans `[payer_id, plan_id, start, end|None, qmb]`
      (ISO dates, end inclusive), in the order enrolled.
    - `acc`: `"payer|year"` -> `[family_deductible, family_oop, {member: [deductible, oop]}]`,
      cents met so far (accumulators are per payer and plan year: a family can hold plans with
      two payers, and each payer's limits are its own).
    - `visits`: per-visit copays already charged, `"member|practice|day|category"` -> claim root.
    - `claims`: claim root id -> how many versions it has (an original, then one per
      replacement); `voided`: the roots voided. The versions are in the claim's record.
    - `alias`: every claim id seen that is not a root (replacements, voids) -> its root id.
    - `paid`: the paid-line index for duplicates (OA-18) as fingerprints, `paid_fingerprint(key)`
      -> the root holding a line in force with that key (a list of roots when two keys share a
      fingerprint); each version's record holds its keys (`dups`).
    - `results`: input seq -> how to re-emit its ledger entry (`[ADJUDICATED, root, version]`,
      `[REVERSED, root]`, `[REJECTED, at, rejection data]`, `[NO_EFFECT, at, input type, note]`);
      not part of `hot_bytes()`: a processor moves them to the store after each input, or drops
      them where the ledger already holds every answer.
    - `last_seq`: the last input seq applied (-1: none).
    """

    __slots__ = ("subscriber_id", "last_seq", "members", "acc", "visits", "claims", "voided",
                 "alias", "paid", "results", "records")

    def __init__(self, subscriber_id: Any, records: ClaimRecords | None = None):
        # Any: an input's key as it came (a hostile log can carry a non-string one, which the
        # core answers with a rejection; a compiled engine would raise on a `str`).
        self.subscriber_id = subscriber_id
        self.last_seq = -1
        self.members: dict[str, list[list[Any]]] = {}
        self.acc: dict[str, list[Any]] = {}
        self.visits: dict[str, str] = {}
        self.claims: dict[str, int] = {}
        self.voided: set[str] = set()
        self.alias: dict[str, str] = {}
        self.paid: dict[int, str | list[str]] = {}
        self.results: dict[int, list[Any]] = {}
        self.records: ClaimRecords = OwnRecords() if records is None else records

    # -- claim records -----------------------------------------------------------------------
    def root_of(self, claim_id: str) -> str | None:
        """The root of the claim a claim id belongs to (None: never seen)."""
        return claim_id if claim_id in self.claims else self.alias.get(claim_id)

    def record(self, root: str) -> dict[str, Any]:
        """A claim's record, trimmed to what the hot part knows (module docstring)."""
        record: Any = self.records.get(self.subscriber_id, root)  # present: the root is known
        versions = self.claims[root]
        if len(record["versions"]) > versions or (record["void"] is not None
                                                  and root not in self.voided):
            record = {"versions": record["versions"][:versions],
                      "void": record["void"] if root in self.voided else None}
        return record

    def put_record(self, root: str, record: dict[str, Any]) -> None:
        self.claims[root] = len(record["versions"])
        if record["void"] is not None:
            self.voided.add(root)
        self.records.put(self.subscriber_id, root, record)

    def holds_paid_line(self, key: str, fingerprint: int, root: str, pending: list[str]) -> bool:
        """Whether a line with this paid-line key is in force: `pending` holds the keys the
        version of `root` being adjudicated has added so far (its record is not written yet)."""
        owners = self.paid.get(fingerprint)
        if owners is None:
            return False
        for owner in (owners,) if type(owners) is str else owners:
            if owner == root:
                if key in pending:
                    return True
            elif key in self.record(owner)["versions"][-1]["dups"]:
                return True
        return False

    def add_paid_line(self, fingerprint: int, root: str) -> None:
        owners = self.paid.get(fingerprint)
        if owners is None:
            self.paid[fingerprint] = root
        else:  # two keys in force share the fingerprint: keep both owners
            self.paid[fingerprint] = [*((owners,) if type(owners) is str else owners), root]

    def drop_paid_line(self, key: str, root: str) -> None:
        fingerprint = paid_fingerprint(key)
        owners = self.paid[fingerprint]
        if type(owners) is str:
            del self.paid[fingerprint]
            return
        rest = list(owners)
        rest.remove(root)
        self.paid[fingerprint] = rest[0] if len(rest) == 1 else rest

    # -- serialization ---------------------------------------------------------------------
    def hot_bytes(self) -> bytes:
        """The hot part as one compact JSON list (`HOT_FIELDS`), deterministic: what a store
        holds under the family's key. Results are not in it."""
        paid: list[Any] = []  # flat: [fingerprint, owners, ...] in the index's (deterministic) order
        for fingerprint, owners in self.paid.items():
            paid.append(fingerprint)
            paid.append(owners)
        return orjson.dumps((self.subscriber_id, self.last_seq, self.members, self.acc,
                             self.visits, self.claims, sorted(self.voided) if self.voided else (), self.alias, paid))

    @classmethod
    def from_hot(cls, raw: bytes, records: ClaimRecords) -> FamilyState:
        """The state whose `hot_bytes()` these are, its claim records in `records`."""
        sub, last, members, acc, visits, claims, voided, alias, paid = orjson.loads(raw)
        state = cls(sub, records)
        state.last_seq, state.members, state.acc, state.visits = last, members, acc, visits
        state.claims, state.voided, state.alias = claims, set(voided), alias
        it = iter(paid)
        state.paid = dict(zip(it, it))
        return state

    def to_dict(self) -> dict[str, Any]:
        """The whole state as one JSON-able view, claim records and the full paid-line index
        included (for comparisons and tests; a store holds the parts apart)."""
        records = {root: self.record(root) for root in sorted(self.claims)}
        paid = {key: root for root, record in records.items() if record["void"] is None
                for key in record["versions"][-1]["dups"]}
        return {
            "subscriber_id": self.subscriber_id,
            "last_seq": self.last_seq,
            "members": self.members,
            "acc": self.acc,
            "visits": self.visits,
            "paid": dict(sorted(paid.items())),
            "claims": records,
            "alias": {**self.alias, **{root: root for root in self.claims}},
            "results": {str(seq): r for seq, r in self.results.items()},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FamilyState:
        """A state (holding its own claim records) from a `to_dict()` view."""
        data = copy.deepcopy(data)
        state = cls(data["subscriber_id"])
        state.last_seq = data["last_seq"]
        state.members, state.acc, state.visits = data["members"], data["acc"], data["visits"]
        for root, record in data["claims"].items():
            state.put_record(root, record)
        state.alias = {cid: root for cid, root in data["alias"].items() if cid != root}
        for key, root in data["paid"].items():
            state.add_paid_line(paid_fingerprint(key), root)
        state.results = {int(seq): r for seq, r in data["results"].items()}
        return state

    def to_bytes(self) -> bytes:
        """Canonical bytes of `to_dict()`: equal states give equal bytes."""
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
        """The member's enrollment span with the payer covering an ISO day (end inclusive), if any.
        Typed (a list, str fields): compiled, the loop indexes the list and compares the payer
        natively, where `.get(member_id, ())` was iterated and compared as generic objects."""
        spans = self.members.get(member_id)
        if spans is None:
            return None
        for span in spans:
            payer: str = span[SPAN_PAYER]
            if payer == payer_id:
                start: str = span[SPAN_START]
                end: str | None = span[SPAN_END]
                if start <= day and (end is None or day <= end):
                    return span
        return None
