"""The Tuva reader's column-wise fast path (events/interchange/tuva_batch.py) changes speed only:
fixtures ingest to the same bytes as before it existed (sha256 taken with the row-by-row reader),
and on any mix of good and bad cells each row gives exactly what the row reader gives."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import given, settings, strategies as st

from claimsim.events.interchange import tuva_batch, tuva_ingest
from claimsim.events.interchange.ingest_model import Rejection
from claimsim.scenarios.tuva_sample import write_tuva_sample

from ..fixtures.ingest import DATA, TUVA_CLAIMS, TUVA_ELIGIBILITY, claimsim

# sha256 of each file the row-by-row reader wrote (commit 4ea5406), per fixture and mode; the
# fixture's rejections.csv again after the units message named its range.
BEFORE = {
    "fixture": {
        "input/000000000000.jsonl": "ca711531a659eb2250bf08fb38edf3afd0b287b054bba9b64c907efdc30f51f6",
        "reference.json": "eedd9fec5b4f82ed0d6a6e0763037e2cdf37b3e19f77ced2477c992f6bdb5b1b",
        "rejections.csv": "fe1606845b8d02b65a3fb6efeab57c9c8d3d69038e2c1184bc55c25d7d1023ea",
        "run.json": "c859bbf53374f174d53ba612e2a656218d0f110d59cd5a83398e81f4e5b17125"},
    "sample": {
        "input/000000000000.jsonl": "606f7265eb07bf398fa062c3c4e1114212c12060c04e58ad1fe193802b7463ee",
        "reference.json": "368a528d61319a4f660531f25c46e524321c0d3b28c85e5be1e697000a54b841",
        "rejections.csv": "5905e5df265356f5628409233bb6919efdcc0923077dc753b608c46f7488063a",
        "run.json": "6a595dabf86bab89e13d917a1adda9a2c7334b9632dce2bf44d7df6541d1af11"},
    "priced_from_file": {
        "input/000000000000.jsonl": "959d480c51ca860aeae7910e8cbc07b43be6b2fa163c2943788fb2d118fe3db6",
        "reference.json": "730917c466a9f7e725db20154afb01da3c7a4f57c33a27dd1c2e1c330605d760",
        "rejections.csv": "fb941e2b54144c9d93a287446cff7ffc4a4f0927fb618eb45b13efb2e2af60ca",
        "run.json": "c3227befee00c737f34be37288692de01c07013f68d920d4da61fe4a618b1baa"},
}


def _digests(run: Path) -> dict[str, str]:
    return {name: hashlib.sha256((run / name).read_bytes()).hexdigest() for name in BEFORE["sample"]}


def test_fixtures_ingest_to_the_same_bytes_as_with_the_row_by_row_reader(tmp_path):
    claims, eligibility = write_tuva_sample(tmp_path, 20_000, tins=20)
    runs = {
        "fixture": (TUVA_CLAIMS, TUVA_ELIGIBILITY),
        "sample": (claims, eligibility),
        "priced_from_file": (DATA / "tuva_priced_claim.csv", DATA / "tuva_priced_eligibility.csv",
                             "--price-from-file"),
    }
    for name, args in runs.items():
        run = tmp_path / name
        assert claimsim("ingest", "--format", "tuva", *args, "--out", run, "--no-progress") == 0
        assert _digests(run) == BEFORE[name], name


# Per column, values the row reader accepts and values it rejects (or reads differently).
CELLS = {
    "claim_id": ["C1", "C2", "", None],
    "claim_line_number": ["1", "2", "01", "0", "x", None],
    "claim_type": ["professional", "PROFESSIONAL", "institutional", "", None],
    "member_id": ["M1", "", None],
    "person_id": ["P1", None],
    "payer": ["medicare", "", None],
    "plan": ["part b", None],
    "claim_start_date": ["2024-03-05", "2024-02-30", None],
    "claim_end_date": ["2024-03-05", "2024-03-01", "2024-03-05T10:00", "20240305", None],
    "claim_line_start_date": ["2024-03-05", "2024-03-04", "2024-13-01", "", None],
    "place_of_service_code": ["11", "2", "02", "19", "41", "", None],
    "hcpcs_code": ["99213", "g0439", "ABC", "9921É", None],
    "hcpcs_modifier_1": ["25", "lt", "", None],
    "service_unit_quantity": ["1", "2.000", "1.5", "0", "", None],
    "rendering_npi": ["1000000001", "", None],
    "billing_npi": ["1999999999", None],
    "billing_tin": ["111111111", "", None],
    "paid_date": ["2024-03-20", "2024-3-20", None],
    "received_date": ["2024-03-18", "bad", None],
    "charge_amount": ["150.00", "150", "150.005", "-5.00", "1x0", "$1,500.00", None],
    "allowed_amount": ["93.34", "93.3", None],
    "paid_amount": ["0.00", "10", None],
    "deductible_amount": ["93.34", "-1", None],
    "coinsurance_amount": ["0.00", None],
    "copayment_amount": ["30.00", None],
    "diagnosis_code_1": ["E119", "e11.9", "I10", "", None],
    "diagnosis_code_2": ["Z0000", None],
    "rendering_specialty": ["08", "06", "207Q00000X", "", None],
}
NAMES = list(CELLS)
# Values that make a row bad whatever the other cells; the rest make good rows together.
BAD = {"claim_id": ("", None), "claim_line_number": ("0", "x", None),
       "claim_type": ("institutional", "", None), "payer": ("", None), "plan": (None,),
       "claim_start_date": ("2024-02-30",), "claim_end_date": ("2024-03-01", None),
       "claim_line_start_date": ("2024-13-01",), "place_of_service_code": ("41", "", None),
       "hcpcs_code": ("ABC", "9921É", None), "service_unit_quantity": ("1.5", "0"),
       "billing_tin": ("", None), "paid_date": ("2024-3-20",), "received_date": ("bad",),
       "charge_amount": ("-5.00", "1x0", "$1,500.00"), "deductible_amount": ("-1",)}
GOOD = {c: [v for v in values if v not in BAD.get(c, ())] for c, values in CELLS.items()}


@st.composite
def tables(draw) -> list[dict]:
    """Rows of good cells with up to two cells drawn from all values, good or bad."""
    rows = []
    for _ in range(draw(st.integers(1, 10))):
        row = {c: draw(st.sampled_from(GOOD[c])) for c in NAMES}
        for c in draw(st.lists(st.sampled_from(NAMES), max_size=2)):
            row[c] = draw(st.sampled_from(CELLS[c]))
        rows.append(row)
    return rows


@settings(max_examples=200, deadline=None)
@given(rows=tables())
def test_every_row_reads_as_the_row_reader_reads_it(rows):
    present = tuva_ingest._Present(("diagnosis_code_1", "diagnosis_code_2"), ("hcpcs_modifier_1",), True)
    text = {c: pc.utf8_trim_whitespace(pa.array([r[c] for r in rows], pa.string())) for c in NAMES}

    def by_row(row, cells):
        try:
            return tuva_ingest._claim_line("f.csv", row, cells, present)
        except tuva_ingest._Bad as bad:
            return Rejection("f.csv", row, bad.column, bad.reason, bad.message)

    fast = tuva_batch.claim_lines("f.csv", 1, text, present, by_row, tuva_ingest.icd10)
    slow = [by_row(1 + i, {c: text[c][i].as_py() for c in NAMES}) for i in range(len(rows))]
    assert fast == slow


def test_the_good_values_make_good_rows():
    """The property above mostly draws good rows, so it checks the fast path's own lines."""
    present = tuva_ingest._Present(("diagnosis_code_1", "diagnosis_code_2"), ("hcpcs_modifier_1",), True)
    text = {c: pa.array([GOOD[c][0]], pa.string()) for c in NAMES}
    [line] = tuva_batch.claim_lines("f.csv", 1, text, present, None, tuva_ingest.icd10)
    assert (line.claim_id, line.units, line.billed, line.diagnoses) == ("C1", 1, 15_000, ("E11.9", "Z00.00"))
