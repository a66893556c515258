"""CSV / XLSX writers of metric and report exports (06 §7, 07 PRIV-3, AUD-1).

XLSX: one sheet per table plus a ``metadata`` sheet holding the §7 block (dotted keys). CSV: the
rows, with the block base64url-encoded in the ``X-Report-Meta`` response header. Every text cell
goes through the PRIV-3 neutraliser. Exports are audited with who, what, filters and row count.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

from openpyxl import Workbook
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from polaris_api.auth import Principal
from polaris_api.services import audit
from polaris_api.services.metrics.meta import iso_z, meta_header
from polaris_api.spreadsheet import cell_safe, csv_safe

CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
META_HEADER = "X-Report-Meta"
ExportFormat = Literal["csv", "xlsx"]

Table = tuple[Sequence[str], Iterable[Sequence[Any]]]
"""Column names and rows."""

FILE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "JSON, or with format=csv|xlsx the same figures as a file (06 §7 meta attached)",
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            XLSX_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}},
        },
    }
}


def csv_bytes(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([csv_safe(column) for column in columns])
    for row in rows:
        writer.writerow([csv_safe(value) for value in row])
    return buffer.getvalue().encode("utf-8")


def flatten(value: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """Nested mappings as ``(dotted.key, scalar)`` pairs; lists as JSON text."""
    if isinstance(value, Mapping):
        pairs: list[tuple[str, Any]] = []
        for key, item in value.items():
            pairs.extend(flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return pairs
    if isinstance(value, list | tuple):
        return [(prefix, json.dumps(list(value), default=str))]
    if hasattr(value, "isoformat"):
        return [(prefix, iso_z(value) if hasattr(value, "tzinfo") else value.isoformat())]
    return [(prefix, value)]


def xlsx_bytes(sheets: Mapping[str, Table], meta: Mapping[str, Any]) -> bytes:
    """A workbook with the given sheets, in order, then ``metadata`` (key, value)."""
    workbook = Workbook(write_only=True)
    for title, (columns, rows) in sheets.items():
        sheet = workbook.create_sheet(title)
        sheet.append([cell_safe(column) for column in columns])
        for row in rows:
            sheet.append([cell_safe(value) for value in row])
    metadata = workbook.create_sheet("metadata")
    metadata.append(["key", "value"])
    for key, value in flatten(meta):
        metadata.append([cell_safe(key), cell_safe(value)])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def file_response(
    format: ExportFormat, filename: str, sheets: Mapping[str, Table], meta: Mapping[str, Any]
) -> Response:
    """The export as a download. CSV carries the first sheet and ``X-Report-Meta``."""
    if format == "csv":
        columns, rows = next(iter(sheets.values()))
        return Response(
            csv_bytes(columns, rows),
            media_type=CSV_MEDIA_TYPE,
            headers={
                META_HEADER: meta_header(dict(meta)),
                "Content-Disposition": f'attachment; filename="{filename}.csv"',
            },
        )
    return Response(
        xlsx_bytes(sheets, meta),
        media_type=XLSX_MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{filename}.xlsx"'},
    )


async def audit_export(
    session: AsyncSession,
    principal: Principal,
    *,
    action: str,
    format: ExportFormat,
    filters: Mapping[str, Any],
    row_count: int,
    entity_type: str | None = None,
    entity_id: Any = None,
) -> None:
    """AUD-1: who (the actor), what (action, format), filters and row count; commits with the
    request's unit of work."""
    await audit.record(
        session,
        action,
        actor=principal,
        entity_type=entity_type,
        entity_id=entity_id,
        details={"format": format, "filters": dict(filters), "row_count": row_count},
    )
