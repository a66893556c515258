"""Reading uploaded spreadsheets (CSV and XLSX) for the Pathful and roster imports (04; PRIV-4; N-5).

Uploads are size-limited, parsed in memory (never written to disk, never served back), and
returned as rows of strings keyed by the file's own header text. Importers map headers through
their aliases and validate each row with the inbound Pydantic model named after the source.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import IO

from fastapi import UploadFile

XLSX_MAGIC = b"PK\x03\x04"
CHUNK = 1024 * 1024
_FLOAT_ID = re.compile(r"^-?\d+\.0+$")


def header_key(text: object) -> str:
    """04 PF-3 header matching (Pathful and roster files): trim, casefold, collapse whitespace."""
    return " ".join(str(text).split()).casefold()


class TableError(ValueError):
    """A file or sheet that cannot be read as a table. ``code`` says why: ``file_too_large``,
    ``empty_file``, ``unreadable_file``, ``missing_header``, ``sheet_unavailable`` or
    ``sheets_not_configured``. The API answers it as the problem+json of the same code (413 for
    ``file_too_large``, else 422; :func:`polaris_api.errors.table_problem`); a sync run fails with it.
    """

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail


@dataclass
class Table:
    """A parsed sheet: headers as written, and each data row as {header: cell text or None}.

    ``row_numbers[i]`` is the spreadsheet row of ``rows[i]`` (header = 1; blank rows are skipped
    but still counted in the numbering, 04 PF-2).
    """

    headers: list[str]
    rows: list[dict[str, str | None]] = field(default_factory=list)
    source_format: str = "csv"
    row_numbers: list[int] = field(default_factory=list)

    def __iter__(self) -> Iterator[dict[str, str | None]]:
        return iter(self.rows)


def cell_text(value: object) -> str | None:
    """N-5: cells become text; ``41872.0`` → ``41872``; empty → None (never ``nan``)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if value != value:  # NaN
            return None
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value).strip()
    if not text or text.lower() == "nan":
        return None
    if _FLOAT_ID.match(text):
        return text.split(".", 1)[0]
    return text


async def read_upload_bytes(upload: UploadFile, max_bytes: int) -> bytes:
    """The whole upload; ``file_too_large`` beyond ``max_bytes`` (PRIV-4), ``empty_file`` if empty."""
    buffer = bytearray()
    while chunk := await upload.read(CHUNK):
        buffer.extend(chunk)
        if len(buffer) > max_bytes:
            raise TableError("file_too_large", f"The file is larger than {max_bytes} bytes.")
    if not buffer:
        raise TableError("empty_file", "The uploaded file is empty.")
    return bytes(buffer)


def parse_table(data: bytes, filename: str | None = None, worksheet: str | None = None) -> Table:
    """CSV or XLSX (detected from content, not the name) → :class:`Table`; :class:`TableError`
    when unreadable.

    ``worksheet`` names the XLSX sheet to read (default: the first); ``sheet_unavailable``
    when the workbook has no such sheet.
    """
    if data.startswith(XLSX_MAGIC):
        return _parse_xlsx(io.BytesIO(data), worksheet)
    return _parse_csv(_decode(data))


def table_from_records(records: Iterable[Sequence[object]], source_format: str = "sheet") -> Table:
    """Rows of cells (first row = headers), e.g. from a Google Sheet, → :class:`Table`."""
    iterator = iter(records)
    header_row = next(iterator, None)
    if header_row is None:
        raise TableError("missing_header", "The sheet is empty.")
    headers = _unique_headers(list(header_row))
    rows, numbers = _rows(headers, (list(r) for r in iterator))
    return Table(headers=headers, rows=rows, source_format=source_format, row_numbers=numbers)


def _decode(data: bytes) -> str:
    if b"\x00" in data[:4096]:
        raise TableError("unreadable_file", "The file is neither CSV text nor an XLSX workbook.")
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return codecs.decode(data, encoding)
        except UnicodeDecodeError:
            continue
    raise TableError("unreadable_file", "The CSV file is not UTF-8 or Windows-1252 text.")


def _unique_headers(raw: list[object]) -> list[str]:
    headers = [cell_text(value) or "" for value in raw]
    while headers and not headers[-1]:
        headers.pop()
    if not any(headers):
        raise TableError("missing_header", "The first row must hold the column names.")
    return headers


def _rows(
    headers: list[str], records: Iterator[list[object]]
) -> tuple[list[dict[str, str | None]], list[int]]:
    rows = []
    numbers = []
    for number, record in enumerate(records, start=2):  # the header is row 1
        cells = [cell_text(value) for value in record]
        if not any(cells):
            continue  # blank line
        rows.append(
            {header: (cells[i] if i < len(cells) else None) for i, header in enumerate(headers) if header}
        )
        numbers.append(number)
    return rows, numbers


def _parse_csv(text: str) -> Table:
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t") if text.strip() else csv.excel
    except csv.Error:
        dialect = csv.excel
    try:
        reader = csv.reader(io.StringIO(text), dialect)
        header_row = next(reader, None)
        if header_row is None:
            raise TableError("missing_header", "The file has no header row.")
        headers = _unique_headers(list(header_row))
        rows, numbers = _rows(headers, (list(r) for r in reader))
        return Table(headers=headers, rows=rows, source_format="csv", row_numbers=numbers)
    except csv.Error as error:
        raise TableError("unreadable_file", f"The CSV file could not be parsed: {error}") from None


def _parse_xlsx(stream: IO[bytes], worksheet: str | None = None) -> Table:
    """XLSX through calamine (Rust; about 10x faster than openpyxl on a 30,000-row report, the
    same cell text). openpyxl stays for writing workbooks only."""
    from python_calamine import CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_filelike(stream)
    except Exception:  # calamine raises several kinds for a broken archive
        raise TableError("unreadable_file", "The XLSX workbook could not be opened.") from None
    try:
        if worksheet is None:
            sheet = workbook.get_sheet_by_index(0)
        elif worksheet in workbook.sheet_names:
            sheet = workbook.get_sheet_by_name(worksheet)
        else:
            raise TableError("sheet_unavailable", "The workbook has no worksheet with that name.")
        records = iter(sheet.iter_rows()) if sheet.start is not None and sheet.start[0] == 0 else iter(())
        header_row = next(records, None)
        if header_row is None:  # an empty sheet, or one whose first row is blank
            raise TableError("missing_header", "The workbook's first sheet is empty.")
        headers = _unique_headers([_xlsx_value(value) for value in header_row])
        rows, numbers = _rows(headers, ([_xlsx_value(value) for value in r] for r in records))
        return Table(headers=headers, rows=rows, source_format="xlsx", row_numbers=numbers)
    except TableError:
        raise
    except Exception:  # a sheet calamine cannot decode
        raise TableError("unreadable_file", "The XLSX workbook could not be read.") from None
    finally:
        workbook.close()


def _xlsx_value(value: object) -> object:
    """A date-only cell reads as midnight of that day, as it always has (openpyxl's reading)."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return dt.datetime.combine(value, dt.time.min)
    return value
