"""What the aligned-payer measures (`scenarios.aligned_report`) read of the payer state on the
report date, member by member, packed small: who each member is attributed to, with which payers
the member is eligible, the member's qualifying visits and those elsewhere, and the two small
tables (participation, reconciliation) the measures take whole.

The aligned facts the measures fold from the logs are the reports' big part (some 0.9 GB at a
million members) and the payer state is the paying process's (some 1.5 GB): a large run folds the
facts in a child process that holds this digest instead of the state (`aligned_report.AlignedJob`,
beside the other reports), so no process holds both.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass
from typing import Any

from claimsim.adjudication.projections.apm import participation_rows
from claimsim.adjudication.projections.fold.membership import SPAN_PAYER
from claimsim.adjudication.projections.state import PayerState

from claimsim.scenarios.report import reconciliation_rows


@dataclass(slots=True)
class StateDigest:
    """The payer state's answers on `as_of` for every member it knows (`ids()`, in id order), by
    position: `attributed[i]` indexes `practices` (0: attributed to none), `eligible[i]` indexes
    `payer_sets`, `visits[2i]` and `visits[2i + 1]` are the member's qualifying visits (netted of
    voids) and those at another practice than the attributed one (0 and 0 when unattributed).
    The ids travel as one string of them all (`id_text`) and each one's length (`id_lengths`):
    a list of a million strings pickled for the child cost the pickler's memo a million entries
    (about 65 MiB), and orjson's array of them keeps a buffer some 15 times its size."""

    as_of: str
    years: list[int]
    quality_source: str
    id_text: str
    id_lengths: array
    practices: list[str | None]
    attributed: array
    payer_sets: list[frozenset[str]]
    eligible: array
    visits: array
    participation: list[dict[str, Any]]
    reconciled: list[dict[str, Any]]

    @classmethod
    def of(cls, state: PayerState, as_of: str, years: list[int]) -> StateDigest:
        practice_codes: dict[str | None, int] = {None: 0}
        set_codes: dict[frozenset[str], int] = {frozenset(): 0}
        ids = sorted(state.members)
        attributed, eligible, visits = array("i"), array("i"), array("q")
        for mid in ids:
            got = state.attributed_on(mid, as_of)
            attributed.append(practice_codes.setdefault(got, len(practice_codes)))
            payers = frozenset(s[SPAN_PAYER] for s in state.members[mid].spans
                               if state.eligible_on(mid, s[SPAN_PAYER], as_of))
            eligible.append(set_codes.setdefault(payers, len(set_codes)))
            qual = elsewhere = 0
            if got is not None:
                for key, v in state.visit_days(mid).items():
                    qual += v[0]
                    elsewhere += v[0] if key.split("|")[0] != got else 0
            visits.extend((qual, elsewhere))
        claims_quality = state.settings.quality_source == "claims"
        return cls(as_of=as_of, years=list(years), quality_source=state.settings.quality_source,
                   id_text="".join(ids), id_lengths=array("I", map(len, ids)),
                   practices=list(practice_codes), attributed=attributed,
                   payer_sets=list(set_codes), eligible=eligible, visits=visits,
                   participation=participation_rows(state, as_of),
                   reconciled=reconciliation_rows(state, years) if claims_quality else [])

    def ids(self) -> list[str]:
        """Every member's id, in id order (the arrays' positions)."""
        text, ids, at = self.id_text, [], 0
        for n in self.id_lengths:
            ids.append(text[at:at + n])
            at += n
        return ids

    @property
    def members(self) -> int:
        return len(self.id_lengths)

    def attributed_to(self) -> dict[str, str | None]:
        """member -> the practice attributed on `as_of` (None: none), every member."""
        practices = self.practices
        return {mid: practices[code] for mid, code in zip(self.ids(), self.attributed)}

    def positions(self) -> dict[str, int]:
        """member -> its position in the digest's arrays."""
        return {mid: i for i, mid in enumerate(self.ids())}
