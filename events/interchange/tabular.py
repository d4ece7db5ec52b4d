"""Reading a CSV or Parquet table in record batches with pyarrow, every cell as trimmed text or
None (CSV cells are read as text, so amounts and codes are never guessed into floats or integers;
Parquet's typed cells are cast to text by Arrow: dates as YYYY-MM-DD, numbers in their shortest
decimal form).

Memory stays flat in the file's size: one batch (about 64k rows) is in memory at a time. CSV is
cut into blocks at line ends and each block parsed on its own: Arrow's streaming CSV reader reads
the raw file ahead of a slow consumer without bound (the whole file, when the consumer is Python
turning rows into events). A block is not cut inside a quoted value holding a line end: while a
block holds an odd number of quote characters it takes the next line too (up to
`CSV_QUOTE_REACH` more bytes, so a stray quote cannot pull the rest of the file into memory).

A CSV row with the wrong number of fields is not the file's end: it is handed on as a
`Rejection` (`bad_row`, with Arrow's message) in its place, and the rows around it keep their
numbers. Only an empty cell is null (Arrow's default null texts `NaN`, `N/A`, `NULL`, ... are
values, so an amount column refuses them by name).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from claimsim.events.errors import UserError
from claimsim.events.interchange.ingest_model import Rejection, RowReason

BATCH_ROWS = 65_536
CSV_BLOCK_BYTES = 8 << 20
CSV_QUOTE_REACH = 1 << 20
PARQUET_SUFFIXES = (".parquet", ".pq", ".parq")
SHOWN_TEXT = 80  # characters of a bad row's text quoted in its rejection


def is_parquet(path: Path) -> bool:
    return path.suffix.lower() in PARQUET_SUFFIXES


def readable(path: Path) -> None:
    """A one-line error unless `path` is a file this process may read."""
    if path.is_dir():
        raise UserError(f"{path}: is a directory, not a file")
    if not path.is_file():
        raise UserError(f"{path}: no such file")
    try:
        with open(path, "rb"):
            pass
    except OSError as e:
        raise UserError(f"{path}: cannot be read ({e.strerror or e})") from None


def columns_of(path: Path, what: str) -> list[str]:
    """The table's column names (lower-cased), or a one-line error saying it is not a table."""
    readable(path)
    if is_parquet(path):
        try:
            schema = pq.ParquetFile(path).schema_arrow
        except (pa.ArrowInvalid, OSError) as e:
            raise UserError(f"{path}: not a {what} (not a readable Parquet file: {e})") from None
        return [n.lower() for n in schema.names]
    with open(path, "rb") as f:
        header = f.readline()
    if b"\r" in header.rstrip(b"\r\n"):
        raise UserError(f"{path}: not a {what} (CR-only line endings: save it with LF or CRLF"
                        " line endings)")
    try:
        names = header.decode("utf-8-sig").rstrip("\r\n").split(",")
    except UnicodeDecodeError:
        raise UserError(f"{path}: not a {what} (the first line is not UTF-8 text)") from None
    return [n.strip().strip('"').lower() for n in names]


Batch = tuple[int, dict[str, pa.Array]]


def batches(path: Path, what: str, wanted: list[str]
            ) -> Iterator[tuple[int, dict[str, list[Any]]] | Rejection]:
    """(first row number, {column: values}) per batch, for the wanted columns that exist, and a
    `Rejection` in place of each CSV row that is not a row of the table.

    Row numbers are 1-based data rows (a CSV's header is row 0)."""
    for item in arrow_batches(path, what, wanted):
        if isinstance(item, Rejection):
            yield item
        else:
            row, cols = item
            yield row, {c: v.to_pylist() for c, v in cols.items()}


def arrow_batches(path: Path, what: str, wanted: list[str]) -> Iterator[Batch | Rejection]:
    """`batches` as Arrow string arrays (trimmed; nulls for Parquet nulls and empty CSV cells)."""
    if is_parquet(path):
        yield from _parquet_batches(path, what, wanted)
        return
    names = columns_of(path, what)
    have = [w for w in wanted if w in names]
    convert = pacsv.ConvertOptions(
        column_types={n: pa.string() for n in names}, include_columns=have,
        strings_can_be_null=True, null_values=[""], quoted_strings_can_be_null=False)
    row = 1
    for block in _csv_blocks(path):
        bad: list[pacsv.InvalidRow] = []
        parse = pacsv.ParseOptions(invalid_row_handler=lambda r: bad.append(r) or "skip")
        # One thread: Arrow numbers the rows it hands the handler only when it reads in order.
        # The block is one Arrow block, so Arrow never cuts it (inside a quoted value) itself.
        read = pacsv.ReadOptions(column_names=names, use_threads=False,
                                 block_size=len(block) + 1)
        try:
            table = pacsv.read_csv(pa.py_buffer(block), read_options=read, parse_options=parse,
                                   convert_options=convert)
        except pa.ArrowInvalid as e:
            raise UserError(f"{path}: not a {what} (row {row} or after:"
                            f" {str(e).splitlines()[0]})") from None
        yield from _around_bad_rows(path.name, row, table, bad, have)
        row += table.num_rows + len(bad)


def _around_bad_rows(name: str, row: int, table: pa.Table, bad: list, have: list[str]
                     ) -> Iterator[Batch | Rejection]:
    """A block's good rows in batches numbered as the file numbers them, with a `bad_row`
    rejection where each row Arrow skipped stood (`row`: the block's first row number)."""
    at = 0  # the table's next row
    for i, r in enumerate(bad):
        number = r.number if r.number is not None else at + i + 1  # None: not known; not seen
        yield from _numbered(table.slice(at, number - 1 - i - at), row + at + i, have)
        at = number - 1 - i
        shown = r.text if len(r.text) <= SHOWN_TEXT else r.text[:SHOWN_TEXT] + "..."
        yield Rejection(name, row + number - 1, "", RowReason.BAD_ROW,
                        f"expected {r.expected_columns} fields, got {r.actual_columns}: {shown}")
    yield from _numbered(table.slice(at), row + at + len(bad), have)


def _numbered(table: pa.Table, row: int, have: list[str]) -> Iterator[Batch]:
    for batch in table.to_batches(BATCH_ROWS):
        if batch.num_rows:
            yield row, {c: _text(batch.column(c)) for c in have}
            row += batch.num_rows


def _parquet_batches(path: Path, what: str, wanted: list[str]) -> Iterator[Batch]:
    columns_of(path, what)
    pf = pq.ParquetFile(path)
    names = {n.lower(): n for n in pf.schema_arrow.names}
    cols = [names[w] for w in wanted if w in names]
    for c in cols:
        kind = pf.schema_arrow.field(c).type
        if pa.types.is_nested(kind):
            raise UserError(f"{path}: not a {what} (column {c} holds {kind}, not single values)")
    row = 1
    try:
        for batch in pf.iter_batches(batch_size=BATCH_ROWS, columns=cols):
            yield row, {c.lower(): _text(batch.column(c)) for c in cols}
            row += batch.num_rows
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OSError) as e:
        raise UserError(f"{path}: not a {what} (row {row} or after:"
                        f" {str(e).splitlines()[0]})") from None


def _text(column: pa.Array) -> pa.Array:
    if not pa.types.is_string(column.type):
        column = pc.cast(column, pa.string())
    return pc.utf8_trim_whitespace(column)


def _csv_blocks(path: Path) -> Iterator[bytes]:
    """The file after its header line, in blocks of whole lines, not cut inside a quoted value
    (an odd count of quote characters in a block means its end is inside one)."""
    with open(path, "rb") as f:
        f.readline()
        while block := f.read(CSV_BLOCK_BYTES):
            if not block.endswith(b"\n"):
                block += f.readline()
            odd, more = block.count(b'"') % 2, []
            reach = CSV_QUOTE_REACH
            while odd and reach > 0 and (line := f.readline()):
                more.append(line)
                odd ^= line.count(b'"') % 2
                reach -= len(line)
            yield block + b"".join(more) if more else block
