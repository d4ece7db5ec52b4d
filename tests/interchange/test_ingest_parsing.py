"""The cell parsers every reader shares (money to the cent, units, dates, sex codes, roles), as
properties and worked examples; and a Parquet table with the Tuva data dictionary's types (dates,
decimals, integers) read exactly as the same table in CSV text."""

from __future__ import annotations

import datetime as dt
import decimal

import orjson
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from hypothesis import given
from hypothesis import strategies as st


from claimsim.events.interchange import ingest_model as m
from claimsim.events.providers import ClinicianRole

from ..fixtures.ingest import TUVA_CLAIMS, TUVA_ELIGIBILITY, claimsim, events


@given(st.integers(0, 10**9), st.integers(0, 99))
def test_two_decimal_amounts_are_exact_cents(dollars, cents):
    assert m.cents(f"{dollars}.{cents:02d}") == dollars * 100 + cents
    assert m.cents(decimal.Decimal(f"{dollars}.{cents:02d}")) == dollars * 100 + cents


@given(st.integers(-10**9, 10**9))
def test_more_decimals_round_half_away_from_zero_once(mills):
    text = f"{'-' if mills < 0 else ''}{abs(mills) // 1000}.{abs(mills) % 1000:03d}"
    expected = int(decimal.Decimal(mills).scaleb(-1).quantize(0, rounding=decimal.ROUND_HALF_UP))
    assert m.cents(text, allow_negative=True) == expected


@pytest.mark.parametrize("raw,cents", [("12", 1200), ("12.5", 1250), ("$1,234.56", 123456),
                                       ("0.005", 1), ("93.34", 9334), (93.34, 9334), (7, 700)])
def test_amount_examples(raw, cents):
    assert m.cents(raw) == cents


@pytest.mark.parametrize("raw,reason", [("-1.00", m.RowReason.NEGATIVE_AMOUNT),
                                        ("1x0", m.RowReason.BAD_AMOUNT), ("", m.RowReason.BAD_AMOUNT),
                                        (".", m.RowReason.BAD_AMOUNT),
                                        ("100000000000.01", m.RowReason.BAD_AMOUNT),
                                        ("99999999999999999999", m.RowReason.BAD_AMOUNT),
                                        # digits `str.isdigit` passes and `int` refuses
                                        ("\u00b2", m.RowReason.BAD_AMOUNT),
                                        ("1\u00b2.00", m.RowReason.BAD_AMOUNT),
                                        ("12.\u00b2\u00b3", m.RowReason.BAD_AMOUNT),
                                        ("\u0661.00", m.RowReason.BAD_AMOUNT)])
def test_bad_amounts_name_their_reason(raw, reason):
    with pytest.raises(m.BadValue) as e:
        m.cents(raw)
    assert e.value.reason is reason


@pytest.mark.parametrize("raw,units", [("1", 1), ("3.000", 3), ("1.0000", 1)])
def test_whole_units(raw, units):
    assert m.units(raw) == units


def test_a_line_number_of_digit_like_characters_is_a_bad_code_not_a_crash():
    for raw in ("\u00b2", "1\u00b2", "\u0661"):
        with pytest.raises(m.BadValue) as e:
            m.line_number(raw)
        assert e.value.reason is m.RowReason.BAD_CODE
        assert e.value.message == f"not a line number from 1 to 1,000,000,000: {raw!r}"
    with pytest.raises(m.BadValue):
        m.day("2024\u00b20305", compact=True)


def test_the_largest_amount_a_file_may_carry_is_read():
    assert m.cents("100000000000.00") == m.MAX_FILE_CENTS == 10**13


@pytest.mark.parametrize("raw", ["0", "1.5", "-1", "x", "", "1000000001", "99999999999999999999",
                                 "\u00b2", "1.\u00b2"])
def test_units_that_are_not_whole_and_positive_are_rejected(raw):
    with pytest.raises(m.BadValue) as e:
        m.units(raw)
    assert e.value.reason is m.RowReason.BAD_UNITS


@pytest.mark.parametrize("raw,iso", [("2024-03-05", "2024-03-05"), (dt.date(2024, 3, 5), "2024-03-05"),
                                     ("2024-03-05 00:00:00", "2024-03-05"),
                                     ("2024-03-05T10:00:00", "2024-03-05"),
                                     ("2024-03-05T10:00:00Z", "2024-03-05"),
                                     ("2024-03-05 00:00:00.000000+01:00", "2024-03-05")])
def test_dates(raw, iso):
    assert m.day(raw) == iso


@pytest.mark.parametrize("raw", ["2024-02-30", "03/05/2024", "20240305", "2024-3-5",
                                 "2024-03-05 junk", "2024-03-05T", "2024-03-05 25:00"])
def test_bad_dates(raw):
    with pytest.raises(m.BadValue) as e:
        m.day(raw)
    assert e.value.reason is m.RowReason.BAD_DATE


@pytest.mark.parametrize("code,role", [
    ("08", ClinicianRole.PRIMARY_CARE), ("11", ClinicianRole.PRIMARY_CARE), ("50", ClinicianRole.PRIMARY_CARE),
    ("06", ClinicianRole.SPECIALIST), ("93", ClinicianRole.EMERGENCY), ("8", ClinicianRole.PRIMARY_CARE),
    ("207Q00000X", ClinicianRole.PRIMARY_CARE), ("207R00000X", ClinicianRole.PRIMARY_CARE),
    ("207RC0000X", ClinicianRole.SPECIALIST), ("207P00000X", ClinicianRole.EMERGENCY),
    ("363L00000X", ClinicianRole.PRIMARY_CARE), ("", None)])
def test_roles_from_cms_specialty_and_nucc_taxonomy_codes(code, role):
    assert m.role_of_specialty(code) is role


def test_typed_parquet_reads_as_the_same_table_in_csv(tmp_path):
    """Tuva's types: dates as date32, amounts as decimal(18,2) or double, line numbers as int."""
    dates = ("claim_start_date", "claim_end_date", "claim_line_start_date", "claim_line_end_date",
             "paid_date", "birth_date", "enrollment_start_date", "enrollment_end_date")
    for src in (TUVA_CLAIMS, TUVA_ELIGIBILITY):
        names = src.read_text().splitlines()[0].split(",")
        table = pacsv.read_csv(src, convert_options=pacsv.ConvertOptions(
            column_types={n: pa.string() for n in names}))
        cols = {}
        for name in names:
            col = table.column(name)
            good = all(_is(v, name) for v in col.to_pylist())
            if name in dates and good:
                col = pa.array([None if v is None else dt.date.fromisoformat(v) for v in col.to_pylist()])
            elif name == "charge_amount" and good:
                col = pa.array([None if v is None else decimal.Decimal(v) for v in col.to_pylist()],
                               pa.decimal128(18, 2))
            elif name == "paid_amount" and good:
                col = pa.array([None if v is None else float(v) for v in col.to_pylist()])
            elif name == "claim_line_number" and good:
                col = pa.array([None if v is None else int(v) for v in col.to_pylist()])
            cols[name] = col
        pq.write_table(pa.table(cols), tmp_path / (src.stem + ".parquet"))
    csv_run, pq_run = tmp_path / "csv", tmp_path / "pq"
    assert claimsim("ingest", "--format", "tuva", TUVA_CLAIMS, TUVA_ELIGIBILITY, "--out", csv_run,
                    "--no-progress", "--price-from-file") == 0
    assert claimsim("ingest", "--format", "tuva", tmp_path / "tuva_medical_claim.parquet",
                    tmp_path / "tuva_eligibility.parquet", "--out", pq_run, "--no-progress",
                    "--price-from-file") == 0
    claims = lambda run: [e["data"] for e in events(run / "input")]  # noqa: E731
    assert claims(pq_run) == claims(csv_run)
    typed = orjson.loads((pq_run / "run.json").read_bytes())["ingest"]["rejections"]
    assert typed == orjson.loads((csv_run / "run.json").read_bytes())["ingest"]["rejections"]


def _is(value: str | None, name: str) -> bool:
    """Whether a CSV cell survives being typed (the fixture's bad cells stay text columns)."""
    if value is None:
        return True
    try:
        if name.endswith("_date"):
            dt.date.fromisoformat(value)
        elif name in ("charge_amount", "paid_amount"):
            decimal.Decimal(value)
        elif name == "claim_line_number":
            int(value)
        return True
    except (ValueError, decimal.InvalidOperation):
        return False
