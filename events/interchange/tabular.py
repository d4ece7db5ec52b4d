"""Reading a CSV or Parquet table in record batches with pyarrow, every cell as trimmed text or
None (CSV cells are read as text, so amounts and codes are never guessed into floats or integers;
Parquet's typed cells are cast to text by Arrow: dates as YYYY-MM-DD, numbers in their shortest
decimal form).

Memory stays flat in the file's size: one batch (about 64k rows) is in memory at a time. CSV is
cut into blocks at line ends and each block parsed on its own: Arrow's streaming CSV reader reads
the raw file ahead of a slow consumer without bound (the whole file, when the consumer is Python
turning rows into events). Values holding newlines are not supported, as Arrow's default
(`newlines_in_values=False`) already assumes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from claimsim.events.errors import UserError

BATCH_ROWS = 65_536
CSV_BLOCK_BYTES = 8 << 20
PARQUET_SUFFIXES = (".parquet", ".pq", ".parq")


def is_parquet(path: Path) -> bool:
    return path.suffix.lower() in PARQUET_SUFFIXES


def columns_of(path: Path, what: str) -> list[str]:
    """The table's column names (lower-cased), or a one-line error saying it is not a table."""
    if not path.is_file():
        raise UserError(f"{path}: no such file")
    if is_parquet(path):
        try:
            return [n.lower() for n in pq.ParquetFile(path).schema_arrow.names]
        except (pa.ArrowInvalid, OSError) as e:
            raise UserError(f"{path}: not a {what} (not a readable Parquet file: {e})") from None
    with open(path, "rb") as f:
        header = f.readline()
    try:
        names = header.decode("utf-8-sig").rstrip("\r\n").split(",")
    except UnicodeDecodeError:
        raise UserError(f"{path}: not a {what} (the first line is not UTF-8 text)") from None
    return [n.strip().strip('"').lower() for n in names]


def batches(path: Path, what: str, wanted: list[str]) -> Iterator[tuple[int, dict[str, list[Any]]]]:
    """(first row number, {column: values}) per batch, for the wanted columns that exist.

    Row numbers are 1-based data rows (a CSV's header is row 0)."""
    for row, cols in arrow_batches(path, what, wanted):
        yield row, {c: v.to_pylist() for c, v in cols.items()}


def arrow_batches(path: Path, what: str, wanted: list[str]) -> Iterator[tuple[int, dict[str, pa.Array]]]:
    """`batches` as Arrow string arrays (trimmed; nulls for Parquet nulls and empty CSV cells)."""
    row = 1
    try:
        if is_parquet(path):
            pf = pq.ParquetFile(path)
            names = {n.lower(): n for n in pf.schema_arrow.names}
            cols = [names[w] for w in wanted if w in names]
            for batch in pf.iter_batches(batch_size=BATCH_ROWS, columns=cols):
                yield row, {c.lower(): _text(batch.column(c)) for c in cols}
                row += batch.num_rows
            return
        names = columns_of(path, what)
        have = [w for w in wanted if w in names]
        convert = pacsv.ConvertOptions(
            column_types={n: pa.string() for n in names}, include_columns=have,
            strings_can_be_null=True, quoted_strings_can_be_null=False)
        read = pacsv.ReadOptions(column_names=names)
        for block in _csv_blocks(path):
            for batch in pacsv.read_csv(pa.py_buffer(block), read_options=read,
                                        convert_options=convert).to_batches(BATCH_ROWS):
                yield row, {c: _text(batch.column(c)) for c in have}
                row += batch.num_rows
    except pa.ArrowInvalid as e:
        raise UserError(f"{path}: not a {what} (row {row} or after: {str(e).splitlines()[0]})") from None


def _text(column: pa.Array) -> pa.Array:
    if not pa.types.is_string(column.type):
        column = pc.cast(column, pa.string())
    return pc.utf8_trim_whitespace(column)


def _csv_blocks(path: Path) -> Iterator[bytes]:
    """The file after its header line, in blocks of whole lines."""
    with open(path, "rb") as f:
        f.readline()
        while block := f.read(CSV_BLOCK_BYTES):
            if not block.endswith(b"\n"):
                block += f.readline()
            yield block
