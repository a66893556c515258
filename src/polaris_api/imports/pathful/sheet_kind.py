"""The `pathful-sheet` sync kind (09 OPS table, 04 PF-1): the Pathful import from the configured
Google Sheet, run by the scheduler like any other kind."""

from __future__ import annotations

from polaris_api.errors import Problem
from polaris_api.imports.pathful.importer import import_pathful_sheet
from polaris_api.imports.sheets import sheet_reader_from_settings
from polaris_api.imports.tabular import TableError
from polaris_api.sync.runs import RunContext, RunFailed


async def run(ctx: RunContext) -> None:
    settings = ctx.settings
    if not settings.pathful_sheet_id:
        raise RunFailed("sheets_not_configured", "POLARIS_PATHFUL_SHEET_ID is not set.")
    reader = sheet_reader_from_settings(settings)
    if reader is None:
        raise RunFailed("sheets_not_configured", "POLARIS_GOOGLE_SERVICE_ACCOUNT_FILE is not set or missing.")
    async with ctx.sessionmaker() as session:
        try:
            report = await import_pathful_sheet(
                session,
                settings,
                reader,
                settings.pathful_sheet_id,
                settings.pathful_sheet_worksheet,
                principal=None,
                sync_run_id=ctx.run_id,
            )
        except TableError as error:
            raise RunFailed(error.code, error.detail) from None
        except Problem as problem:
            raise RunFailed(problem.code, problem.detail or problem.code) from None
    ctx.count("read", int(report.get("rows_total", 0)))
    ctx.count("processed", int(report.get("processed", 0)))
    for row in report.get("invalid_rows", [])[:100]:
        ctx.add_error({"code": row.get("reason", "invalid_row"), "row": row.get("row")})
