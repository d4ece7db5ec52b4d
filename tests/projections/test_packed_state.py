"""The fold's compact storage (`fold.packed`, `fold.membership.Member`): a member's visit, FFS
and condition rows packed in bytes read back as the lists the state always held, members read as
the dicts they replaced, and a checkpoint written in pieces is the same bytes as one written
whole (so checkpoints and `audit verify` are unchanged by the packing)."""

from __future__ import annotations

import struct
from pathlib import Path
from types import SimpleNamespace

import orjson
import pytest
from hypothesis import given, settings, strategies as st

from claimsim.events.codes import PROCEDURE_GROUPS
from claimsim.events.encoding import canonical, canonical_pieces
from claimsim.events.projection import ProjectionRunner

from claimsim.adjudication.projections.fold import packed
from claimsim.adjudication.projections.fold.claims import FFS_ROW, VISIT_ROW, qualifying_on
from claimsim.adjudication.projections.fold.membership import Member
from claimsim.adjudication.projections.fold.packed import Codes, LatestDates
from claimsim.adjudication.projections.fold.rows import PackedRows
from claimsim.adjudication.projections.fold.payments import MemberPayments
from claimsim.adjudication.projections.state import PayerState

from ..fixtures.projections import FEES, PAYER, Feed, reference

PC_EM = PROCEDURE_GROUPS["99213"].value


def test_visit_rows_read_back_in_the_order_added_with_their_strings_and_signed_money():
    codes = Codes()
    visits = PackedRows(VISIT_ROW, (0, 1), codes)
    visits.add("M1", ("P1", "2025-03-10", 1, 0, 0, 9070))
    visits.add("M2", ("P2", "2025-03-11", 0, 1, 0, 17_500))
    visits.add("M1", ("P1", "2025-03-10", -1, 0, 0, -9070))  # a void nets the day out
    visits.add("M1", ("P2", "2025-04-01", 2, 0, 1, 5_000_000_000))  # past 32 bits of cents
    assert visits.get("M1") == [["P1", "2025-03-10", 1, 0, 0, 9070],
                                ["P1", "2025-03-10", -1, 0, 0, -9070],
                                ["P2", "2025-04-01", 2, 0, 1, 5_000_000_000]]
    assert visits["M2"] == [["P2", "2025-03-11", 0, 1, 0, 17_500]]
    assert visits.get("M3", ()) == () and "M3" not in visits and len(visits) == 2
    # Six fields in 28 bytes a row; "P1", "P2" and the three days are stored once, in `codes`.
    assert visits.nbytes() == 4 * 28 and visits.rows_count() == 4
    assert codes.text == ["P1", "2025-03-10", "P2", "2025-03-11", "2025-04-01"]


def test_a_checkpoints_rows_load_back_to_the_same_json_whatever_codes_the_new_store_gives():
    """A restored store meets its strings in another order (other codes): the JSON is the same."""
    ffs = PackedRows(FFS_ROW, (0, 1, 2), Codes())
    ffs.add("M2", ("P9", "2025-01", PC_EM, 100))
    ffs.add("M1", ("P1", "2025-02", PC_EM, -250))
    saved = orjson.loads(canonical(ffs.to_json()))
    other = Codes()
    other.of("something else first")
    again = PackedRows(FFS_ROW, (0, 1, 2), other)
    again.load(saved)
    assert canonical(again.to_json()) == canonical(ffs.to_json()) == canonical(
        {"M1": [["P1", "2025-02", PC_EM, -250]], "M2": [["P9", "2025-01", PC_EM, 100]]})


def test_stores_sharing_a_members_table_each_hold_only_their_own_members():
    """The stores of a state share one table of members (`Codes.slot_of`): a member one store
    holds is not in another that holds nothing of it, and each store reads back only its own."""
    codes = Codes()
    visits, ffs, dx = (PackedRows(VISIT_ROW, (0, 1), codes), PackedRows(FFS_ROW, (0, 1, 2), codes),
                       LatestDates(codes))
    ffs.add("M2", ("P1", "2025-03", PC_EM, 7_000))
    visits.add("M1", ("P1", "2025-03-10", 1, 0, 0, 9070))
    dx.note("M3", [], "2025-03-10")  # nothing to note: M3 gets no slot
    dx.note("M1", ["E11.9"], "2025-03-10")
    visits.add("M2", ("P2", "2025-03-11", 0, 1, 0, 17_500))
    assert codes.members == ["M2", "M1"] and codes.slot == {"M2": 0, "M1": 1}
    assert list(visits) == ["M2", "M1"] and list(ffs) == ["M2"] and list(dx) == ["M1"]
    assert (len(visits), len(ffs), len(dx)) == (2, 1, 1)
    assert "M1" not in ffs and ffs.get("M1", ()) == () and "M2" not in dx and "M3" not in dx
    with pytest.raises(KeyError):
        ffs["M1"]
    assert ffs.packed("M1") == b"" and ffs.nbytes() == 20 and visits.nbytes() == 2 * 28
    assert dx.to_json() == {"M1": {"E11.9": "2025-03-10"}}
    assert visits["M1"] == [["P1", "2025-03-10", 1, 0, 0, 9070]]


def test_a_store_made_after_others_hold_values_widens_their_table_and_loses_none_of_them():
    """A member's values of every store stand side by side in the codes' tables (`Codes.table`,
    and `Codes.heads` for the row stores): a store made once others hold values widens its
    table, each keeping its own; loading one store anew clears only its own."""
    codes = Codes()
    visits, dx = PackedRows(VISIT_ROW, (0, 1), codes), LatestDates(codes)
    visits.add("M1", ("P1", "2025-03-10", 1, 0, 0, 9070))
    dx.note("M2", ["chf"], "2025-03-10")
    ffs = PackedRows(FFS_ROW, (0, 1, 2), codes)
    ffs.add("M2", ("P1", "2025-03", PC_EM, 7_000))
    visits.add("M2", ("P2", "2025-03-11", 0, 1, 0, 17_500))
    assert codes.width == 1 and len(codes.table) == 2
    assert codes.head_width == 2 and len(codes.heads) == 2 * 2
    assert visits.to_json() == {"M1": [["P1", "2025-03-10", 1, 0, 0, 9070]],
                                "M2": [["P2", "2025-03-11", 0, 1, 0, 17_500]]}
    assert dx.to_json() == {"M2": {"chf": "2025-03-10"}}
    assert ffs.to_json() == {"M2": [["P1", "2025-03", PC_EM, 7_000]]}
    visits.load({"M3": [["P3", "2025-04-01", 1, 0, 0, 1]]})
    assert list(visits) == ["M3"] and len(visits) == 1 and visits.nbytes() == 28
    assert list(dx) == ["M2"] and list(ffs) == ["M2"] and len(ffs) == 1


def test_a_count_beyond_32_bits_is_refused_not_wrapped():
    visits = PackedRows(VISIT_ROW, (0, 1), Codes())
    with pytest.raises(struct.error):
        visits.add("M1", ("P1", "2025-03-10", 2**31, 0, 0, 0))
    assert "M1" not in visits


def test_latest_dates_keep_each_conditions_latest_service_date_in_first_seen_order():
    dx = LatestDates(Codes())
    dx.note("M1", ["diabetes", "chf"], "2025-03-10")
    dx.note("M1", ["diabetes"], "2025-02-01")  # earlier: ignored
    dx.note("M1", ["copd", "chf"], "2025-05-20")
    assert dx.get("M1") == {"diabetes": "2025-03-10", "chf": "2025-05-20", "copd": "2025-05-20"}
    assert list(dx.get("M1")) == ["diabetes", "chf", "copd"]
    assert dx.get("M2") is None and "M2" not in dx
    with pytest.raises(KeyError):
        dx["M2"]
    restored = LatestDates(Codes())
    restored.load(orjson.loads(canonical(dx.to_json())))
    assert restored.to_json() == dx.to_json()


def test_a_member_reads_and_writes_as_the_dict_it_replaced():
    m = Member(birth="1950-06-15", hospice=False, payer=PAYER, plan="MCR-B", qmb=True, sex="F",
               spans=((PAYER, "2024-01-01", None),), sub="S1")
    as_dict = {"spans": [[PAYER, "2024-01-01", None]], "sub": "S1", "payer": PAYER,
               "plan": "MCR-B", "birth": "1950-06-15", "sex": "F", "hospice": False, "qmb": True}
    assert canonical(m) == canonical(as_dict)  # orjson writes the fields, declared sorted
    assert (m["payer"], m.get("qmb"), m.get("nothing", 7)) == (PAYER, True, 7)
    with pytest.raises(KeyError):
        m["nothing"]
    assert Member.of(orjson.loads(canonical(m))) == m


def _folded() -> Feed:
    """M1 at P1 (99213, 9070) on 03-10, voided; M2 at P2 on 03-11 with a diabetes diagnosis,
    then again on 04-02."""
    feed = Feed(reference())
    for member in ("M1", "M2"):
        feed.enroll(member)
    claim = feed.visit("M1", "P1", "2025-03-10")
    feed.void(claim, "2025-03-20")
    feed.visit("M2", "P2", "2025-03-11", dx=("E11.9",))
    feed.visit("M2", "P2", "2025-04-02", dx=("E11.9",))
    return feed


def test_the_fold_keeps_the_rows_it_always_kept():
    """The state's JSON, by hand: a visit row [practice, day, counted, AWV, CCM, allowed] per
    claim entry and day (the void's row takes back the count and the allowed), an FFS row
    [practice, month, group, allowed less cost share], the latest date of each condition."""
    state = _folded().state.state()
    assert FEES["99213"] == 9070
    assert state["visits"] == {
        "M1": [["P1", "2025-03-10", 1, 0, 0, 9070], ["P1", "2025-03-10", -1, 0, 0, -9070]],
        "M2": [["P2", "2025-03-11", 1, 0, 0, 9070], ["P2", "2025-04-02", 1, 0, 0, 9070]]}
    assert state["ffs"] == {
        "M1": [["P1", "2025-03", PC_EM, 9070], ["P1", "2025-03", PC_EM, -9070]],
        "M2": [["P2", "2025-03", PC_EM, 9070], ["P2", "2025-04", PC_EM, 9070]]}
    assert state["dx"] == {"M2": {"diabetes": "2025-04-02"}}
    assert canonical(state["members"]["M1"]) == canonical(
        {"birth": "1950-06-15", "hospice": False, "payer": PAYER, "plan": "MCR-B", "qmb": False,
         "sex": "F", "spans": [[PAYER, "2024-01-01", None]], "sub": "M1"})
    assert _folded().state.visit_days("M1") == {"P1|2025-03-10": [0, 0, 0, 0]}


@settings(max_examples=30, deadline=None)
@given(st.dictionaries(st.text("ab\u00e9\"\\", min_size=1, max_size=4), st.integers(-5, 5),
                       max_size=30), st.integers(1, 7))
def test_a_mapping_written_in_pieces_is_its_canonical_bytes(mapping, batch):
    assert b"".join(canonical_pieces(mapping, batch=batch)) == canonical(mapping)


def test_a_checkpoint_written_in_pieces_is_the_checkpoint_written_whole(tmp_path: Path):
    """More members than a piece holds: the runner's file is canonical(projection, position,
    state), byte for byte, and restores to the same state."""
    feed = Feed(reference())
    for i in range(30):
        feed.enroll(f"M{i:02d}")
        feed.visit(f"M{i:02d}", "P1" if i % 2 else "P2", f"2025-03-{1 + i % 28:02d}")
    state = feed.state
    assert b"".join(state.state_pieces()) == canonical(state.state())

    # The same projection without pieces: the runner's plain path.
    whole = SimpleNamespace(name=state.name, apply=state.apply, state=state.state,
                            restore=state.restore)
    written = []
    for projection in (state, whole):
        runner = ProjectionRunner(tmp_path, projection, tmp_path / f"ck{len(written)}.json")
        runner.last_seq, runner.last_hash = 61, "ab" * 32
        runner.save_checkpoint()
        written.append((tmp_path / f"ck{len(written)}.json").read_bytes())
    assert written[0] == written[1] == canonical(
        {"projection": state.name, "last_seq": 61, "last_hash": "ab" * 32, "state": state.state()})
    again = PayerState(state.reference)
    again.restore(orjson.loads(written[0])["state"])
    assert canonical(again.state()) == canonical(state.state())


def test_a_checkpoint_encodes_payments_a_few_practice_months_at_a_time():
    """Each practice-month of payments holds every member paid for it: 200 practice-months of
    300 members go out MemberPayments.PIECE_KEYS practice-months a piece, not all at once (4,096
    a piece held 3 million member amounts at a million members); the bytes are unchanged."""
    feed = Feed(reference())
    feed.enroll("M1")
    state = feed.state
    for practice in range(200):
        state.paid.add(f"{PAYER}|P{practice:03d}|2025-03", "cmf",
                       {f"M{m:04d}": 1500 + m for m in range(300)})
    one_month = len(canonical(state.paid[f"{PAYER}|P000|2025-03"]))
    pieces = list(state.state_pieces())
    assert b"".join(pieces) == canonical(state.state())
    assert max(len(p) for p in pieces) < 33 * one_month  # at most 32 practice-months a piece


def test_payments_by_member_sum_originals_and_adjustments_and_drop_members_netted_to_zero():
    """P1's March CMF: 1500 for M1 and M2; a true-up recoups M1's 1500 and pays M3 900."""
    paid = MemberPayments()
    key = f"{PAYER}|P1|2025-03"
    paid.add(key, "cmf", {"M2": 1500, "M1": 1500})
    paid.add(key, "cmf", {"M1": -1500, "M3": 900})
    paid.add(key, "pbip", {})  # a payment with no members still names its kind
    assert [paid.cents(key, "cmf", m) for m in ("M1", "M2", "M3", "M4")] == [0, 1500, 900, 0]
    assert paid.cents(key, "cpcp", "M2") == 0 and paid.cents("other", "cmf", "M2") == 0
    assert paid[key] == {"cmf": {"M2": 1500, "M3": 900}, "pbip": {}}
    again = MemberPayments()
    again.load(orjson.loads(canonical(paid.to_json())))
    assert canonical(again.to_json()) == canonical({key: {"cmf": {"M2": 1500, "M3": 900},
                                                          "pbip": {}}})


def test_condition_notes_of_members_interleaved_keep_each_ones_latest_dates():
    """Notes of two members interleaved: M1 ends with diabetes from 03-10, chf and copd from 05-20,
    in first-seen order; M2's earlier note of copd does not move its later date."""
    dx = LatestDates(Codes())
    for member, keys, day in [("M1", ["diabetes", "chf"], "2025-03-10"),
                              ("M2", ["copd"], "2025-01-05"), ("M1", ["diabetes"], "2025-02-01"),
                              ("M1", ["copd", "chf"], "2025-05-20"), ("M2", ["copd"], "2025-01-04")]:
        dx.note(member, keys, day)
    assert list(dx.get("M1").items()) == [("diabetes", "2025-03-10"), ("chf", "2025-05-20"),
                                          ("copd", "2025-05-20")]
    assert dx.to_json()["M2"] == {"copd": "2025-01-05"}


def test_a_conditions_code_found_among_date_codes_is_not_taken_for_its_pair():
    """A member's pairs are searched as bytes for the key's code: where the same code is also a
    date's (the table shares its codes) or spans two codes, that match is not the key's pair.
    Codes: day1 0, k0 1, day2 2, k1 3; then k2's code 4 ... with a date coded 1 in M1's pairs."""
    codes = Codes()
    dx = LatestDates(codes)
    dx.note("M1", ["k0"], "2025-01-01")  # M1: (k0=1, 2025-01-01=0)
    codes.of("2025-02-01")  # code 2
    dx.note("M2", ["k1"], "k0")  # an odd date whose code is k0's (1): M2 (k1=3, 1)
    dx.note("M2", ["k0"], "2025-02-01")  # k0's code (1) is in M2's bytes as a date: a new pair
    assert dx.get("M2") == {"k1": "k0", "k0": "2025-02-01"}
    assert list(dx.get("M2")) == ["k1", "k0"]
    dx.note("M2", ["k0"], "2025-03-01")
    dx.note("M2", ["k1"], "2024-12-31")  # "2024-12-31" sorts before "k0": kept
    assert dx.get("M2") == {"k1": "k0", "k0": "2025-03-01"}
    assert dx.get("M1") == {"k0": "2025-01-01"}


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 600), st.lists(st.tuples(st.sampled_from(["M1", "M2", "M3"]),
                                               st.lists(st.integers(0, 40), max_size=3),
                                               st.integers(0, 60)), max_size=60))
def test_condition_notes_keep_what_a_dict_of_latest_dates_keeps(before: int, notes: list) -> None:
    """Against the plain reading (a dict per member, a key's date replaced by a later one, new
    keys last), with the code table started `before` strings in: codes past one byte, keys and
    dates sharing codes, so a key's bytes turn up where they are not its pair."""
    codes = Codes()
    for i in range(before):
        codes.of(f"x{i}")
    dx, expected = LatestDates(codes), {}
    for member, keys, day in notes:
        names, when = [f"k{k}" for k in keys], f"2025-{1 + day // 28:02d}-{1 + day % 28:02d}"
        dx.note(member, names, when)
        held = expected.setdefault(member, {}) if names else expected.get(member, {})
        for name in names:
            if name not in held or held[name] < when:
                held[name] = when
    expected = {m: held for m, held in expected.items() if held}
    assert orjson.dumps(dx.to_json()) == orjson.dumps(expected)


def test_a_voids_count_read_off_the_packed_rows_is_the_visit_days_count():
    """`fold.claims.qualifying_on` (voids) against `PayerState.visit_days`, which it inlines: M1's
    two visits at P1 on 03-10 net to 2 - 1 = 1; none at P2 that day, none on a day never seen."""
    feed = Feed(reference())
    feed.enroll("M1")
    feed.visit("M1", "P1", "2025-03-10")
    claim = feed.visit("M1", "P1", "2025-03-10")
    feed.visit("M1", "P2", "2025-03-11")
    feed.void(claim, "2025-03-20")
    state = feed.state
    for practice, day in (("P1", "2025-03-10"), ("P2", "2025-03-11"), ("P2", "2025-03-10"),
                          ("P1", "2031-01-01")):
        expected = state.visit_days("M1").get(f"{practice}|{day}", [0])[0]
        assert qualifying_on(state, "M1", practice, day) == expected
    assert qualifying_on(state, "M1", "P1", "2025-03-10") == 1
