"""A thin Google Sheets reader (04 PF-1): the cells of one worksheet, as text, via gspread.

Importers depend on the :class:`SheetReader` protocol, not on gspread: the API gets its reader
from :func:`sheet_reader_from_settings` (a FastAPI dependency can be overridden in tests with any
object that has the same ``read`` method). gspread is synchronous (requests / google-auth), so
:func:`read_sheet_table` runs it in a worker thread. Any failure to open or read the sheet is
:class:`~polaris_api.imports.tabular.TableError` ``sheet_unavailable``; no configured service account
is ``sheets_not_configured``.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Protocol, runtime_checkable

from polaris_api.imports.tabular import ReadLimits, Table, TableError, table_from_records
from polaris_api.settings import Settings

log = logging.getLogger(__name__)


@runtime_checkable
class SheetReader(Protocol):
    def read(self, sheet_id: str, worksheet: str | None = None) -> list[list[str]]:
        """Every row of the worksheet (the first one when ``worksheet`` is None), header first."""
        ...


class GspreadSheetReader:
    """Reads with a service account (``POLARIS_GOOGLE_SERVICE_ACCOUNT_FILE``)."""

    def __init__(self, service_account_file: str) -> None:
        self.service_account_file = service_account_file

    def read(self, sheet_id: str, worksheet: str | None = None) -> list[list[str]]:
        import gspread

        client = gspread.service_account(filename=self.service_account_file)
        spreadsheet = client.open_by_key(sheet_id)
        sheet = spreadsheet.worksheet(worksheet) if worksheet else spreadsheet.sheet1
        return sheet.get_all_values()


def sheets_not_configured() -> TableError:
    return TableError(
        "sheets_not_configured",
        "Google Sheets are not configured: set POLARIS_GOOGLE_SERVICE_ACCOUNT_FILE.",
    )


def sheet_reader_from_settings(settings: Settings) -> SheetReader | None:
    """The gspread reader when a service-account file is configured and present, else None."""
    path = settings.google_service_account_file
    if not path or not Path(path).is_file():
        return None
    return GspreadSheetReader(path)


async def read_sheet_table(
    reader: SheetReader | None, sheet_id: str, worksheet: str | None, limits: ReadLimits | None = None
) -> Table:
    """The worksheet as a :class:`Table` (cells as text, N-5), or :class:`TableError` (also
    ``too_many_rows`` / ``too_many_columns`` beyond ``limits``, issue 11 item 3)."""
    if reader is None:
        raise sheets_not_configured()
    try:
        records = await asyncio.to_thread(reader.read, sheet_id, worksheet)
    except TableError:
        raise
    except Exception as error:  # gspread / google-auth / transport: never leak details
        log.warning("google sheet could not be read: %s", type(error).__name__)
        raise TableError("sheet_unavailable", "The Google Sheet could not be read.") from None
    if not records:
        raise TableError("empty_file", "The sheet has no rows.")
    return await asyncio.to_thread(table_from_records, records, "sheet", limits)
