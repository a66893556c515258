"""The problems of file imports (Pathful, roster) and sync runs: one class per code (issue 10 item 5).

A low module (only :mod:`polaris_api.errors`): the parsing and import code in ``sync/`` and the
services and routers above it raise and document the same classes. Endpoints list them in
``responses=problem_responses(...)``; see :data:`FILE_SOURCE_PROBLEMS` for the common set of an
upload.
"""

from __future__ import annotations

from polaris_api.errors import NamedProblem

# --- Reading a file or sheet (04 PF-1/PF-2, RO-1; imports/tabular.py, imports/sheets.py)


class FileTooLarge(NamedProblem):
    status, code = 413, "file_too_large"


class UploadTooLarge(NamedProblem):
    """An XLSX whose parts expand beyond ``upload_max_uncompressed_bytes`` (issue 11 item 3);
    the body names the ``limit`` and the ``setting``."""

    status, code = 413, "upload_too_large"


class TooManyRows(NamedProblem):
    """More data rows than ``upload_max_rows`` (issue 11 item 3); ``limit`` and ``setting``."""

    status, code = 422, "too_many_rows"


class TooManyColumns(NamedProblem):
    """A sheet wider than ``upload_max_columns`` (issue 11 item 3); ``limit`` and ``setting``."""

    status, code = 422, "too_many_columns"


class UnsupportedFileType(NamedProblem):
    status, code = 415, "unsupported_file_type"
    default_detail = "Upload a .csv or .xlsx file."


class EmptyFile(NamedProblem):
    status, code = 422, "empty_file"
    default_detail = "The file has no data rows."


class UnreadableFile(NamedProblem):
    status, code = 422, "unreadable_file"


class MissingHeader(NamedProblem):
    status, code = 422, "missing_header"


class SheetUnavailable(NamedProblem):
    status, code = 422, "sheet_unavailable"


class SheetsNotConfigured(NamedProblem):
    status, code = 422, "sheets_not_configured"
    default_detail = "Google Sheets are not configured: set POLARIS_GOOGLE_SERVICE_ACCOUNT_FILE."


class SourceRequired(NamedProblem):
    status, code = 422, "source_required"
    default_detail = "Send either a file or a sheet_id."


class AmbiguousSource(NamedProblem):
    status, code = 422, "ambiguous_source"
    default_detail = "Send either a file or a sheet_id."


# --- Matching headers to columns (04 PF-3, RO-2)


class AmbiguousColumns(NamedProblem):
    status, code = 422, "ambiguous_columns"


class MissingColumns(NamedProblem):
    status, code = 422, "missing_columns"


class CellTooLong(NamedProblem):
    status, code = 422, "cell_too_long"


class FormulaCell(NamedProblem):
    status, code = 422, "formula_cell"


class NoValidRows(NamedProblem):
    status, code = 422, "no_valid_rows"
    default_detail = "No row of the file is valid; see warnings."


# --- Running an import (04 PF-22, RO-10..RO-13)


class ImportInProgress(NamedProblem):
    status, code = 409, "import_in_progress"


class ImportFailed(NamedProblem):
    status, code = 500, "import_failed"
    default_detail = "The import failed and was rolled back; it has been logged."


class MassDeactivationBlocked(NamedProblem):
    """RO-11: the roster would deactivate too many records without ``force``."""

    status, code = 409, "mass_deactivation_blocked"


# --- Pathful import options and the unmatched queue (04 PF-5, PF-18)


class InvalidMode(NamedProblem):
    status, code = 422, "invalid_mode"


class SinceRequired(NamedProblem):
    status, code = 422, "since_required"


class SinceNotAllowed(NamedProblem):
    status, code = 422, "since_not_allowed"


class InvalidStart(NamedProblem):
    status, code = 422, "invalid_start"


class TeacherRequired(NamedProblem):
    status, code = 422, "teacher_required"


class VolunteerRequired(NamedProblem):
    status, code = 422, "volunteer_required"


class WrongRecordType(NamedProblem):
    status, code = 409, "wrong_record_type"


class AlreadyResolved(NamedProblem):
    status, code = 409, "already_resolved"


class EventMissing(NamedProblem):
    status, code = 409, "event_missing"


class NoRows(NamedProblem):
    status, code = 409, "no_rows"


# --- Sync runs (09 §1, OPS-1)


class UnknownSyncKind(NamedProblem):
    status, code = 404, "unknown_sync_kind"


class KindNotAvailable(NamedProblem):
    status, code = 501, "kind_not_available"


class SyncAlreadyRunning(NamedProblem):
    status, code = 409, "sync_already_running"


class InvalidTrigger(NamedProblem):
    status, code = 422, "invalid_trigger"


FILE_SOURCE_PROBLEMS: tuple[type[NamedProblem], ...] = (
    FileTooLarge,
    UploadTooLarge,
    TooManyRows,
    TooManyColumns,
    UnsupportedFileType,
    EmptyFile,
    UnreadableFile,
    MissingHeader,
    SheetUnavailable,
    SheetsNotConfigured,
    SourceRequired,
    AmbiguousSource,
    AmbiguousColumns,
    MissingColumns,
)
"""What reading an uploaded file or a Google Sheet can answer, on every import endpoint."""


UPLOAD_EXTENSIONS = (".csv", ".xlsx")


def check_file_name(filename: str | None) -> None:
    """PF-1 / RO-1: only ``.csv`` and ``.xlsx`` uploads are read (``.xls`` and anything else 415)."""
    if not (filename or "").strip().lower().endswith(UPLOAD_EXTENSIONS):
        raise UnsupportedFileType("Upload a .csv or .xlsx file (.xls and other formats are not read).")


def require_one_source(file: object | None, sheet_id: str | None) -> None:
    """PF-1 / RO-1: an import reads exactly one of an uploaded file and a Google Sheet."""
    if file is None and sheet_id is None:
        raise SourceRequired()
    if file is not None and sheet_id is not None:
        raise AmbiguousSource()


PATHFUL_FILE_PROBLEMS: tuple[type[NamedProblem], ...] = (
    CellTooLong,
    FormulaCell,
    InvalidMode,
    SinceRequired,
    SinceNotAllowed,
)
"""What the Pathful import adds to :data:`FILE_SOURCE_PROBLEMS` (PF-3, PF-10)."""
