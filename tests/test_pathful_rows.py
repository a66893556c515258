"""Issue 13 item 4: Pathful rows validated without a model per row, read as a stream.

``row_validator`` must give, field by field, what ``PathfulSessionReportRow.model_validate`` gives
for the same cells (the model stays the definition of a row: PF-5..PF-7 transforms, PF-9 step 2
reasons, PF-17 keys); and reading a file keeps each row once, compactly.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import tracemalloc
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from polaris_api.imports.pathful.columns import canonical_columns, iter_canonical, map_headers
from polaris_api.imports.pathful.importer import _collect_rows
from polaris_api.imports.tabular import ReadLimits, open_table
from polaris_api.schemas.pathful import (
    CANONICAL_COLUMNS,
    PathfulSessionReportRow,
    ReportRow,
    row_context,
    row_validator,
)

COLUMNS = [*CANONICAL_COLUMNS, "Email"]
TRICKY: dict[str, list[Any]] = {
    "Session ID": ["41872", "41872.0", "=1+1", "12.5", "nan", "NULL", " 77 ", "a b", "x" * 70, "-3"],
    "User Auth Id": ["900", "900.00", "None", "id_7-a.b", "=A1", "é1"],
    "Title": ["  Careers   in  Health ", "Careers", "nan", "\tTab\nLine"],
    "Date": [
        "2026-02-10 09:30:00",
        "2026-02-10",
        "02/10/2026",
        "2/3/2026 1:05 PM",
        "2/3/2026 13:05 PM",
        "2025-03-05T14:15:00.000+0000",
        "2025-03-05T14:15:00Z",
        "2025-03-05T14:15:00+25:00",
        "2026-13-45",
        "2026-03-08 02:30:00",
        "2025-11-02 01:30:00",
        "9999-12-31 23:59:59+0100",
        "tomorrow",
        "NaT",
        "nan",
    ],
    "Status": [
        "Completed",
        "completed",
        "Teacher No-Show",
        "Cancelled",
        "Wrapped up",
        "Rescheduled",
        "draft",
    ],
    "Name": ["Mr.  Samuel Okafor", "Samuel", "  ", "Dr X"],
    "SignUp Role": ["Educator", " educator ", "Professional", "Student", "Parent", "EDUCATOR"],
    "Partner": ["PREP-KC", "prep-kc", "KC STEM Alliance"],
    "Duration": ["60", "60.0", "0", "1440", "1441", "n/a", "-", "2.5"],
    "Registered Student Count": ["22", "22.0", "1000000", "1000001", "n/a", "-3", "+4"],
    "Attended Student Count": ["0", "n/a"],
    "Registered Educator Count": ["1"],
    "Attended Educator Count": ["1", "0", "n/a"],
    "Email": [" A@B.Example ", "no-at-sign", "a b@c.d", "x@" + "y" * 260],
}
cell = st.one_of(st.none(), st.text(max_size=12), st.just("nan"))


def _cells(values: dict[str, Any], columns: list[str]) -> tuple[Any, ...]:
    return tuple(values.get(column) if column != "_row" else values["_row"] for column in columns)


def _same_row(model: PathfulSessionReportRow, fast: ReportRow) -> None:
    for name in ReportRow._fields:
        expected, got = getattr(model, name), getattr(fast, name)
        assert got == expected and type(got) is type(expected), (name, expected, got)
        if isinstance(expected, dt.datetime):
            assert got.utcoffset() == expected.utcoffset() == dt.timedelta(0)
    assert fast.invalid_reason == model.invalid_reason
    assert fast.match_key == model.match_key
    assert fast.status_class == model.status_class


def test_report_row_has_every_field_of_the_model() -> None:
    """A column added to the model must be added to ReportRow (and its transform to
    row_validator) too, or the import would not see it."""
    assert list(ReportRow._fields) == list(PathfulSessionReportRow.model_fields)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    st.fixed_dictionaries(
        {column: st.one_of(cell, st.sampled_from(TRICKY.get(column, ["x"]))) for column in COLUMNS}
    ),
    st.sets(st.sampled_from([c for c in COLUMNS if c not in ("Session ID", "Title", "Status")])),
    st.integers(min_value=2, max_value=10**6),
)
def test_row_validator_equals_the_model(values: dict[str, Any], absent: set[str], number: int) -> None:
    """Any cells, any optional columns missing from the file: the same values as the model."""
    context = row_context("America/Chicago", {"Wrapped Up": "completed"})
    columns = ["_row", *(column for column in COLUMNS if column not in absent)]
    cells = _cells({**values, "_row": number}, columns)
    model = PathfulSessionReportRow.model_validate(dict(zip(columns, cells, strict=True)), context=context)
    validate = row_validator(columns, row_context("America/Chicago", {"Wrapped Up": "completed"}))
    _same_row(model, validate(cells))
    _same_row(model, validate(cells))  # the second time from the memoised transforms


def test_row_validator_every_tricky_cell() -> None:
    """Each tricky cell of each column in an otherwise valid row, through one validator (so the
    memoised transforms are shared between rows, as in an import)."""
    base = {
        "Session ID": "5",
        "Title": "Careers",
        "Date": "2026-02-10 09:30",
        "Status": "Completed",
        "Name": "Ana Ruiz",
        "SignUp Role": "Educator",
        "Partner": "PREP-KC",
    }
    context = row_context("Europe/Berlin", {"Wrapped Up": "completed"})
    columns = ["_row", *COLUMNS]
    validate = row_validator(columns, context)
    number = 2
    for column, tricky in TRICKY.items():
        for value in [*tricky, None]:
            for _ in range(2):
                cells = _cells({**base, column: value, "_row": number}, columns)
                model = PathfulSessionReportRow.model_validate(
                    dict(zip(columns, cells, strict=True)), context=context
                )
                _same_row(model, validate(cells))
                number += 1


HEADER = ["Session ID", "Title", "Date", "Status", "Name", "SignUp Role", "Partner", "User Auth Id", "Email"]


def _report(rows: int) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADER)
    for i in range(rows):
        session = 600000 + i // 5
        partner = "PREP-KC" if session % 10 else "Other Partner"
        role = ("Professional", "Educator", "Educator", "Educator", "Student")[i % 5]
        writer.writerow(
            [
                session,
                f"Careers #{session}",
                "2026-02-10 09:30:00",
                "Completed",
                f"Person {i}",
                role,
                partner,
                2_000_000 + i,
                f"p{i}@example.org",
            ]
        )
    return buffer.getvalue().encode()


def test_reading_keeps_each_row_once_and_compactly() -> None:
    """A file is validated as it is read: the rows kept cost well under the ~4.5 KB a row of cells
    plus a model cost (issue 13 item 4); rows of another partner are dropped, not kept."""
    rows = 5000
    data = _report(rows)
    context = row_context("America/Chicago")

    def collect() -> tuple[Any, int]:
        table = open_table(data, None, ReadLimits())
        column_map = map_headers(table.headers, {})
        tracemalloc.start()
        try:
            collected = _collect_rows(table, column_map, context, "PREP-KC")
            return collected, tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    collected, peak = collect()
    assert collected.rows_total == rows
    assert collected.skipped_other_partner == rows // 10
    assert len(collected.contributing) == rows - rows // 10
    assert len(collected.session_ids) == rows // 5
    assert collected.educators and collected.professionals
    assert peak / rows < 1500, f"{peak / rows:.0f} bytes per row while reading"
    row, cells = collected.contributing[0]
    assert isinstance(row, ReportRow) and row.email == "p5@example.org" and row.role == "professional"
    assert dict(cells)["Email"] == "p5@example.org" and dict(cells)["_row"] == 7


def test_repeated_cells_are_shared_between_rows() -> None:
    table = open_table(_report(10), None, ReadLimits())
    column_map = map_headers(table.headers, {})
    first, second = list(iter_canonical(table, column_map))[:2]
    assert canonical_columns(column_map)[0] == "_row"
    assert first["Title"] is second["Title"] and first["Status"] is second["Status"]
    assert first["Name"] != second["Name"]


def test_repeated_typed_xlsx_cells_keep_their_own_text() -> None:
    """Cells made into text once per distinct value (issue 13 item 4) still tell True from 1 and
    1.0, a date from a date-time, in whatever order they repeat (N-5 texts)."""
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["a", "b", "c", "d", "e"])
    when = dt.datetime(2025, 1, 1, 9, 30)
    for _ in range(2):
        sheet.append([1, True, 1.0, when, dt.date(2025, 1, 2)])
        sheet.append([True, 1, 0, False, 0.0])
        sheet.append([2.5, "1", " nan ", when, " x "])
    buffer = io.BytesIO()
    workbook.save(buffer)
    rows = [cells for _, cells in open_table(buffer.getvalue(), None, ReadLimits()).numbered_cells()]
    assert rows == 2 * [
        ["1", "true", "1", "2025-01-01 09:30:00", "2025-01-02 00:00:00"],
        ["true", "1", "0", "false", "0"],
        ["2.5", "1", None, "2025-01-01 09:30:00", "x"],
    ]
