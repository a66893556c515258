"""Reading uploaded spreadsheets (CSV and XLSX) for the Pathful and roster imports (04; PRIV-4; N-5).

Uploads are size-limited, parsed in memory (never written to disk, never served back), and
returned as rows of strings under the file's own header text. Importers map headers through
their aliases and validate each row with the inbound Pydantic model named after the source.

Bounds (issue 11 item 3, PRIV-4; :class:`ReadLimits`, from settings): besides the upload's own
size (``upload_max_bytes``), an XLSX archive is checked *before* calamine opens it. Its declared
uncompressed size must stay within ``upload_max_uncompressed_bytes``, and each worksheet part is
streamed once through :mod:`zipfile` in 1 MB pieces (memory stays flat; a part that lies about its
size fails its CRC) to count its rows and find the farthest cell it addresses: calamine fills a
dense grid from the first to the last addressed cell, so one cell at ``XFD1048576`` would ask for
17 billion cells. More than ``upload_max_rows`` data rows → ``too_many_rows``; a grid wider than
``upload_max_columns`` → ``too_many_columns``; CSV rows are counted while they stream. Rows are
then streamed (:func:`open_table` → :class:`RowStream`) to the importer's validation instead of
being held as dicts of the whole sheet. Parsing is CPU work: callers run it in a worker thread.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import re
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import IO, Any, Protocol
from zlib import error as zlib_error

from fastapi import UploadFile

XLSX_MAGIC = b"PK\x03\x04"
CHUNK = 1024 * 1024
_FLOAT_ID = re.compile(r"^-?\d+\.0+$")


def header_key(text: object) -> str:
    """04 PF-3 header matching (Pathful and roster files): trim, casefold, collapse whitespace."""
    return " ".join(str(text).split()).casefold()


class TableError(ValueError):
    """A file or sheet that cannot be read as a table. ``code`` says why: ``file_too_large``,
    ``upload_too_large``, ``too_many_rows``, ``too_many_columns``, ``empty_file``,
    ``unreadable_file``, ``missing_header``, ``sheet_unavailable`` or ``sheets_not_configured``.
    The API answers it as the problem+json of the same code (413 for ``file_too_large`` and
    ``upload_too_large``, else 422; :func:`polaris_api.errors.table_problem`), with ``extra``
    (``limit`` and ``setting`` for a bound) as members of the body; a sync run fails with it.
    """

    def __init__(self, code: str, detail: str, **extra: Any) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail
        self.extra = extra


@dataclass(frozen=True)
class ReadLimits:
    """What one file may cost to read (issue 11 item 3, PRIV-4); :meth:`of` takes the settings
    ``upload_max_uncompressed_bytes``, ``upload_max_rows`` and ``upload_max_columns``."""

    uncompressed_bytes: int = 200 * 1024 * 1024
    rows: int = 100_000
    columns: int = 100

    @classmethod
    def of(cls, settings: Any) -> ReadLimits:
        return cls(
            uncompressed_bytes=settings.upload_max_uncompressed_bytes,
            rows=settings.upload_max_rows,
            columns=settings.upload_max_columns,
        )


def too_many_rows(limit: int) -> TableError:
    return TableError(
        "too_many_rows",
        f"The file has more than {limit} data rows, the limit (setting POLARIS_UPLOAD_MAX_ROWS); "
        "split it into several files.",
        limit=limit,
        setting="upload_max_rows",
    )


def too_many_columns(limit: int) -> TableError:
    return TableError(
        "too_many_columns",
        f"The sheet is wider than {limit} columns, the limit (setting POLARIS_UPLOAD_MAX_COLUMNS).",
        limit=limit,
        setting="upload_max_columns",
    )


def upload_too_large(limit: int) -> TableError:
    return TableError(
        "upload_too_large",
        f"The workbook expands to more than {limit} bytes, the limit "
        "(setting POLARIS_UPLOAD_MAX_UNCOMPRESSED_BYTES).",
        limit=limit,
        setting="upload_max_uncompressed_bytes",
    )


Cells = list[str | None]


class RowSource(Protocol):
    """Headers, and the data rows as (spreadsheet row number, cells aligned with the headers)."""

    headers: list[str]
    source_format: str

    def numbered_cells(self) -> Iterator[tuple[int, Cells]]: ...


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

    def numbered_cells(self) -> Iterator[tuple[int, Cells]]:
        numbers = (
            self.row_numbers if len(self.row_numbers) == len(self.rows) else range(2, len(self.rows) + 2)
        )
        for number, row in zip(numbers, self.rows, strict=True):
            yield number, [row.get(header) if header else None for header in self.headers]

    @classmethod
    def from_stream(cls, stream: RowStream) -> Table:
        """Every row of ``stream`` held in memory (small files: rosters, the demo)."""
        headers = stream.headers
        rows: list[dict[str, str | None]] = []
        numbers: list[int] = []
        for number, cells in stream.numbered_cells():
            rows.append({header: cells[i] for i, header in enumerate(headers) if header})
            numbers.append(number)
        return cls(headers=headers, rows=rows, source_format=stream.source_format, row_numbers=numbers)


class RowStream:
    """A sheet read once, row by row (:func:`open_table`): blank rows skipped but numbered
    (PF-2), cells as text (N-5) padded or cut to the headers, ``too_many_rows`` past
    ``max_rows`` data rows (blank ones included: they cost reading too)."""

    def __init__(
        self,
        headers: list[str],
        records: Iterator[Sequence[object]],
        source_format: str,
        max_rows: int,
        *,
        convert: Callable[[object], object] | None = None,
        unreadable: Callable[[Exception], TableError] | None = None,
    ) -> None:
        self.headers = headers
        self.source_format = source_format
        self._records: Iterator[Sequence[object]] | None = records
        self._max_rows = max_rows
        self._convert = convert
        self._unreadable = unreadable

    def numbered_cells(self) -> Iterator[tuple[int, Cells]]:
        records, self._records = self._records, None  # one pass; the sheet is freed after it
        if records is None:
            raise RuntimeError("a RowStream is read once")
        try:
            yield from self._numbered(records)
        except TableError:
            raise
        except Exception as error:
            if self._unreadable is None:
                raise
            raise self._unreadable(error) from None

    def _numbered(self, records: Iterator[Sequence[object]]) -> Iterator[tuple[int, Cells]]:
        width = len(self.headers)
        convert = self._convert
        limit = self._max_rows + 1
        # issue 13 item 4: most values repeat from row to row (a status, a partner, a session's
        # title and id); each distinct text or whole number is made into its cell once
        # (``convert`` leaves those as they are), and a repeated one is the same string object in
        # every row
        texts = _CellTexts()
        for number, record in enumerate(records, start=2):  # the header is row 1
            if number > limit:
                raise too_many_rows(self._max_rows)
            if convert is not None:
                cells = [
                    texts[value] if value.__class__ in _PLAIN else cell_text(convert(value))
                    for value in record
                ]
            else:
                cells = [texts[value] if value.__class__ in _PLAIN else cell_text(value) for value in record]
            if len(texts) > _MAX_TEXTS:
                texts.clear()
            if not any(cells):
                continue  # blank line
            if len(cells) < width:
                cells.extend([None] * (width - len(cells)))
            elif len(cells) > width:
                del cells[width:]
            yield number, cells


_MAX_TEXTS = 65_536
# cell values whose text depends on the value alone and never equals the text of an equal value:
# bool and float are left out (True == 1 == 1.0, their texts differ), and so are date-times
# (two equal aware ones in different zones are written differently)
_PLAIN = frozenset({str, int})


class _CellTexts(dict[object, "str | None"]):
    """A text or whole number → :func:`cell_text` of it, made on first use."""

    def __missing__(self, value: object) -> str | None:
        text = self[value] = cell_text(value)
        return text


def cell_text(value: object) -> str | None:
    """N-5: cells become text; ``41872.0`` → ``41872``; empty → None (never ``nan``)."""
    if value.__class__ is str:  # the common case first (issue 13 item 4), as below
        text = value.strip()  # type: ignore[attr-defined]
        if not text or (len(text) == 3 and text.lower() == "nan"):
            return None
        if "." in text and _FLOAT_ID.match(text):
            return text.split(".", 1)[0]
        return text  # type: ignore[no-any-return]
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


def parse_table(
    data: bytes,
    filename: str | None = None,
    worksheet: str | None = None,
    limits: ReadLimits | None = None,
) -> Table:
    """CSV or XLSX (detected from content, not the name) → :class:`Table`; :class:`TableError`
    when unreadable or beyond ``limits`` (default :class:`ReadLimits`).

    ``worksheet`` names the XLSX sheet to read (default: the first); ``sheet_unavailable``
    when the workbook has no such sheet. CPU-bound: call it in a worker thread from async code.
    """
    return Table.from_stream(open_table(data, worksheet, limits))


def open_table(data: bytes, worksheet: str | None = None, limits: ReadLimits | None = None) -> RowStream:
    """CSV or XLSX → a :class:`RowStream` whose rows are read as they are iterated; the bounds
    of :class:`ReadLimits` are checked first (XLSX: before calamine reads the sheet)."""
    limits = limits or ReadLimits()
    if data.startswith(XLSX_MAGIC):
        check_xlsx_bounds(data, limits)
        return _open_xlsx(io.BytesIO(data), worksheet, limits)
    return _open_csv(_decode(data), limits)


def table_from_records(
    records: Iterable[Sequence[object]], source_format: str = "sheet", limits: ReadLimits | None = None
) -> Table:
    """Rows of cells (first row = headers), e.g. from a Google Sheet, → :class:`Table`."""
    limits = limits or ReadLimits()
    iterator = iter(records)
    header_row = next(iterator, None)
    if header_row is None:
        raise TableError("missing_header", "The sheet is empty.")
    headers = _headers(list(header_row), limits)
    return Table.from_stream(RowStream(headers, iterator, source_format, limits.rows))


# --- XLSX bounds, checked on the archive before calamine reads it


_SCAN_CHUNK = 1024 * 1024


def _column_number(letters: bytes) -> int:
    number = 0
    for letter in letters.upper():
        number = number * 26 + letter - 64
    return number


def _column_letters(number: int) -> str:
    letters = ""
    while number:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


class _SheetScan:
    """The extent of one worksheet part, from its XML streamed in pieces (:func:`check_xlsx_bounds`).

    ``rows``: row elements (``<row>``, ``<x:row>``); ``max_row`` / ``max_col``: the farthest
    ``r`` reference beyond the limits (only candidates with as many digits or letters as the limit
    are parsed, so a normal sheet costs a few ``bytes.count`` and one regex scan per piece);
    ``widest``: the most cells in one row, counted only where some cell has no ``r`` (such a cell
    follows the previous one). calamine's grid then stays within twice the limits."""

    def __init__(self, limits: ReadLimits) -> None:
        self.rows = 0
        self.max_row = 0
        self.max_col = 0
        self.widest = 0
        self._current = 0
        # calamine accepts any whitespace around "=", either quote, lower-case letters, leading
        # zeros; one regex finds the references with as many letters or digits as the limits
        digits = len(str(limits.rows + 1))  # the header row
        letters = len(_column_letters(limits.columns))
        self._far_refs = re.compile(
            rb"""r\s*=\s*["']([A-Za-z]{0,3})0*([1-9]\d{%d,})|r\s*=\s*["']([A-Za-z]{%d,})\d"""
            % (digits - 1, letters)
        )

    def feed(self, piece: bytes) -> None:
        """``piece`` ends just before a ``<`` (or holds none), so no tag is cut in two."""
        self.rows += piece.count(b"<row") + piece.count(b":row")
        for letters, digits, far_letters in self._far_refs.findall(piece):
            if digits:
                self.max_row = max(self.max_row, int(digits))
            if letters or far_letters:
                self.max_col = max(self.max_col, _column_number(letters or far_letters))
        cells = piece.count(b"<c") + piece.count(b":c")  # <color or "a:c" in text only add to it
        addressed = piece.count(b'<c r="') + piece.count(b"<c r='")  # "<" never occurs in text
        if cells > addressed or self._current:
            counts = [_cells_in(segment) for segment in piece.split(b"<row")]
            self._current += counts[0]
            for count in counts[1:]:
                self.widest = max(self.widest, self._current)
                self._current = count
            self.widest = max(self.widest, self._current)

    @property
    def grid(self) -> tuple[int, int]:
        """(rows, columns), header row included, each at least half of what calamine allocates."""
        return max(self.rows, self.max_row), max(self.max_col, self.widest)


def _cells_in(segment: bytes) -> int:
    return segment.count(b"<c") + segment.count(b":c")


def _safe_cut(piece: bytes) -> int:
    """Where ``piece`` can be cut without cutting a tag name or an ``r`` reference: before its
    last ``<``; in a tag longer than the piece, before its last whitespace (a reference starts
    with one); failing both, keep the last 64 bytes for the next piece."""
    cut = piece.rfind(b"<")
    if cut <= 0:
        cut = max(piece.rfind(space) for space in (b" ", b"\t", b"\n", b"\r"))
    if cut <= 0:
        cut = max(0, len(piece) - 64)
    return cut


def check_xlsx_bounds(data: bytes, limits: ReadLimits) -> None:
    """Refuse a workbook beyond ``limits`` before calamine reads it (issue 11 item 3, PRIV-4).

    The central directory's uncompressed sizes must add up to at most
    ``limits.uncompressed_bytes`` (``upload_too_large``). Each worksheet part is then streamed
    through :mod:`zipfile`, which stops at the declared size and checks the CRC (a part that
    understates its size is ``unreadable_file``); the scan stops as soon as the part holds more
    than ``limits.rows`` data rows (``too_many_rows``), and the farthest cell it addresses must
    stay within the rows and ``limits.columns`` (``too_many_columns``). Memory stays at a few MB.
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, EOFError):
        raise TableError("unreadable_file", "The XLSX workbook could not be opened.") from None
    with archive:
        entries = archive.infolist()
        if sum(entry.file_size for entry in entries) > limits.uncompressed_bytes:
            raise upload_too_large(limits.uncompressed_bytes)
        max_grid_rows = limits.rows + 1  # the header row
        for entry in entries:
            name = entry.filename.lower()
            if not (name.startswith("xl/worksheets/") and name.endswith(".xml")):
                continue
            scan = _SheetScan(limits)
            try:
                with archive.open(entry) as part:
                    carry = b""
                    while chunk := part.read(_SCAN_CHUNK):
                        piece = carry + chunk
                        cut = _safe_cut(piece)
                        scan.feed(piece[:cut])
                        carry = piece[cut:]
                        if scan.rows > max_grid_rows:
                            raise too_many_rows(limits.rows)
                    scan.feed(carry)
            except TableError:
                raise
            except (zipfile.BadZipFile, zlib_error, EOFError, NotImplementedError, ValueError, OSError):
                raise TableError("unreadable_file", "The XLSX workbook could not be read.") from None
            rows, columns = scan.grid
            if rows > max_grid_rows:
                raise too_many_rows(limits.rows)
            if columns > limits.columns:
                raise too_many_columns(limits.columns)


def _decode(data: bytes) -> str:
    if b"\x00" in data[:4096]:
        raise TableError("unreadable_file", "The file is neither CSV text nor an XLSX workbook.")
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return codecs.decode(data, encoding)
        except UnicodeDecodeError:
            continue
    raise TableError("unreadable_file", "The CSV file is not UTF-8 or Windows-1252 text.")


def _headers(raw: list[object], limits: ReadLimits) -> list[str]:
    if len(raw) > limits.columns and any(cell_text(value) for value in raw[limits.columns :]):
        raise too_many_columns(limits.columns)
    headers = [cell_text(value) or "" for value in raw[: limits.columns]]
    while headers and not headers[-1]:
        headers.pop()
    if not any(headers):
        raise TableError("missing_header", "The first row must hold the column names.")
    return headers


def _csv_unreadable(error: Exception) -> TableError:
    return TableError("unreadable_file", f"The CSV file could not be parsed: {error}")


def _open_csv(text: str, limits: ReadLimits) -> RowStream:
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t") if text.strip() else csv.excel
    except csv.Error:
        dialect = csv.excel
    try:
        reader = csv.reader(_lines(text), dialect)
        header_row = next(reader, None)
    except csv.Error as error:
        raise _csv_unreadable(error) from None
    if header_row is None:
        raise TableError("missing_header", "The file has no header row.")
    headers = _headers(list(header_row), limits)
    _check_csv_rows(text, dialect, limits)
    return RowStream(headers, reader, "csv", limits.rows, unreadable=_csv_unreadable)


def _lines(text: str) -> Iterator[str]:
    """The lines of ``text`` (each with its "\\n"), one at a time: ``io.StringIO`` would hold a
    second copy of the whole text at four bytes a character."""
    start = 0
    end = text.find("\n")
    while end != -1:
        yield text[start : end + 1]
        start = end + 1
        end = text.find("\n", start)
    if start < len(text):
        yield text[start:]


def _check_csv_rows(text: str, dialect: Any, limits: ReadLimits) -> None:
    """``too_many_rows`` before any row is kept: when the text has more line breaks than the
    limit allows, count the records in a first pass that holds none of them."""
    if max(text.count("\n"), text.count("\r")) <= limits.rows + 1:
        return  # a record takes at least one line break
    try:
        for number, _record in enumerate(csv.reader(_lines(text), dialect)):
            if number > limits.rows:  # the header is record 0
                raise too_many_rows(limits.rows)
    except csv.Error:
        return  # the streaming read reports where it fails


def _xlsx_unreadable(_error: Exception) -> TableError:
    return TableError("unreadable_file", "The XLSX workbook could not be read.")


def _open_xlsx(stream: IO[bytes], worksheet: str | None, limits: ReadLimits) -> RowStream:
    """XLSX through calamine (Rust; about 10x faster than openpyxl on a 30,000-row report, the
    same cell text). openpyxl stays for writing workbooks only. The workbook is closed once the
    sheet is loaded; the returned stream holds the sheet until it has been read."""
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
        if sheet.height > limits.rows + 1:  # already refused by check_xlsx_bounds; a second guard
            raise too_many_rows(limits.rows)
        records = iter(sheet.iter_rows()) if sheet.start is not None and sheet.start[0] == 0 else iter(())
        header_row = next(records, None)
        if header_row is None:  # an empty sheet, or one whose first row is blank
            raise TableError("missing_header", "The workbook's first sheet is empty.")
        headers = _headers([_xlsx_value(value) for value in header_row], limits)
    except TableError:
        raise
    except Exception:  # a sheet calamine cannot decode
        raise TableError("unreadable_file", "The XLSX workbook could not be read.") from None
    finally:
        workbook.close()
    return RowStream(headers, records, "xlsx", limits.rows, convert=_xlsx_value, unreadable=_xlsx_unreadable)


def _xlsx_value(value: object) -> object:
    """A date-only cell reads as midnight of that day, as it always has (openpyxl's reading)."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return dt.datetime.combine(value, dt.time.min)
    return value
