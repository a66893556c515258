"""Hostile and large upload files for the upload-bound tests (issue 11 item 3, PRIV-4) and
``scripts/bench_upload_bounds.py``.

:func:`xlsx_bomb` writes a real XLSX whose one worksheet holds millions of identical rows: deflate
squeezes them about 300:1, so a file of a few hundred KB expands to tens of MB of sheet XML and
millions of rows (the outside testers' 280 KB file expanded to 2 million rows). Built by hand with
:mod:`zipfile` (openpyxl would hold every row in memory and take minutes).
"""

from __future__ import annotations

import io
import struct
import zipfile
from collections.abc import Sequence

PATHFUL_HEADERS = (
    "Session ID",
    "Title",
    "Date",
    "Status",
    "Duration",
    "User Auth Id",
    "Name",
    "SignUp Role",
    "School",
    "District or Company",
    "Partner",
)

_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    "</Types>"
)
_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
    'Target="xl/workbook.xml"/></Relationships>'
)
_WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="Sessions" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
    'Target="worksheets/sheet1.xml"/></Relationships>'
)
SHEET_PART = "xl/worksheets/sheet1.xml"


def _row(cells: Sequence[str]) -> bytes:
    inline = "".join(f'<c t="inlineStr"><is><t>{cell}</t></is></c>' for cell in cells)
    return f"<row>{inline}</row>".encode()


_NUMBER_ROW = b"<row><c><v>1</v></c></row>"


def xlsx_bomb(
    rows: int,
    headers: Sequence[str] = PATHFUL_HEADERS,
    block: int = 10_000,
) -> bytes:
    """An XLSX whose first sheet has ``headers`` and then ``rows`` rows of one number each (26
    bytes of XML a row; the sheet is as wide as its header, so a reader that fills every column
    holds ``rows x len(headers)`` cells)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", _CONTENT_TYPES)
        archive.writestr("_rels/.rels", _RELS)
        archive.writestr("xl/workbook.xml", _WORKBOOK)
        archive.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        with archive.open(SHEET_PART, "w") as sheet:
            sheet.write(
                b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
            )
            sheet.write(_row(headers))
            chunk = _NUMBER_ROW * block
            for _ in range(rows // block):
                sheet.write(chunk)
            sheet.write(_NUMBER_ROW * (rows % block))
            sheet.write(b"</sheetData></worksheet>")
    return buffer.getvalue()


def understate_sizes(data: bytes, part: str = SHEET_PART, claimed: int = 1000) -> bytes:
    """The same archive with ``part``'s uncompressed size understated as ``claimed`` bytes in
    both its local header and the central directory (a bomb that lies about its size)."""
    out = bytearray(data)
    name = part.encode()
    local = out.find(b"PK\x03\x04")
    while local != -1:
        name_length = struct.unpack_from("<H", out, local + 26)[0]
        if bytes(out[local + 30 : local + 30 + name_length]) == name:
            struct.pack_into("<I", out, local + 22, claimed)
            break
        local = out.find(b"PK\x03\x04", local + 4)
    central = out.find(b"PK\x01\x02")
    while central != -1:
        name_length = struct.unpack_from("<H", out, central + 28)[0]
        if bytes(out[central + 46 : central + 46 + name_length]) == name:
            struct.pack_into("<I", out, central + 24, claimed)
            break
        central = out.find(b"PK\x01\x02", central + 4)
    return bytes(out)


def csv_rows(rows: int, headers: Sequence[str] = PATHFUL_HEADERS) -> bytes:
    """A plain CSV with ``rows`` data rows (no compression: size alone bounds it)."""
    line = "51872,Careers,2026-02-10 09:30:00,Completed,45,1,A B,Educator,,,PREP-KC\r\n"
    return (",".join(headers) + "\r\n" + line * rows).encode()


REPORT_HEADERS = (
    *PATHFUL_HEADERS,
    "Registered Student Count",
    "Attended Student Count",
    "Career Cluster",
    "State",
)


def pathful_report_rows(rows: int) -> list[list[str]]:
    """A plausible Pathful Session Report of ``rows`` data rows (header first): sessions of five
    rows (a professional, three educators, a student), most completed, a few without a date."""
    import datetime as dt

    out: list[list[str]] = [list(REPORT_HEADERS)]
    start = dt.datetime(2025, 9, 2, 9, 0)
    session = 0
    while len(out) <= rows:
        session += 1
        when = start + dt.timedelta(hours=3 * session)
        date = "" if session % 50 == 0 else when.strftime("%Y-%m-%d %H:%M:%S")
        status = ("Completed", "Completed", "Completed", "Cancelled", "Published")[session % 5]
        base = [f"{600000 + session}", f"Careers #{session}", date, status, "45"]
        people = [
            (f"{3000000 + session % 1500}", f"Vol{session % 1500} Someone", "Professional", ""),
            *(
                (f"{2000000 + (session * 3 + k) % 4000}", f"Teacher {k}", "Educator", "School 001")
                for k in range(3)
            ),
            (f"{7000000 + session}", "A Student", "Student", "School 001"),
        ]
        for user_id, name, role, school in people:
            if len(out) > rows:
                break
            out.append(
                [
                    *base,
                    user_id,
                    name,
                    role,
                    school,
                    "District",
                    "PREP-KC",
                    "25",
                    "20",
                    "Health Science",
                    "KS",
                ]
            )
    return out


def pathful_report_xlsx(rows: int) -> bytes:
    """:func:`pathful_report_rows` as an XLSX written by openpyxl (write-only, inline strings)."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("Sessions")
    for record in pathful_report_rows(rows):
        sheet.append(record)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
