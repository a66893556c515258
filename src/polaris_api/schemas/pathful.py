"""Pathful Session Report rows (04 PF-2..PF-7) and the API bodies of the Pathful import endpoints.

:class:`PathfulSessionReportRow` is the inbound model of one report row (00 N-6): its aliases are
the report's column names (the email column has four accepted names, first present wins; PF-3
header matching adds the admin-managed ``column_alias`` rows of ``import_type='pathful'``) and its
validators are the transforms: N-2 text, N-1 email, N-5 identifiers, PF-5 counts and duration,
PF-6 / N-4 dates in the local zone, PF-7 status through 08 VOC-12.

A row never fails validation for a bad cell: a date that does not parse or a status that does not
map is kept as ``date_raw`` / ``status_raw`` and :attr:`PathfulSessionReportRow.invalid_reason`
names the first PF-9 step-2 reason, so the import can place the row in its bucket and report it.
Validators read the per-import settings from the validation context (:func:`row_context`).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Annotated, Any, Literal, NamedTuple, Protocol
from zoneinfo import ZoneInfo

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from polaris_api.schemas.common import CleanText, StrictBody
from polaris_api.vocabularies import map_pathful_status, match_key

# ---------------------------------------------------------------------------------------------
# Cell transforms (PF-5, PF-6, N-4, N-5)

NULL_TOKENS = frozenset({"nan", "nat", "none", "null"})
"""PF-5: in ID, number and date columns these texts also mean null (compared casefolded)."""

_FLOAT_ID = re.compile(r"^-?\d+\.0+$")
_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_INTEGRAL = re.compile(r"^\+?(\d{1,9})(?:\.0+)?$")
_WHITESPACE = re.compile(r"\s+")
MAX_COUNT = 1_000_000
MAX_DURATION_MINUTES = 24 * 60

_ISO = re.compile(
    r"^(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})"
    r"(?:[T ](?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:\.(?P<f>\d{1,9}))?)?"
    r"\s*(?P<tz>Z|[+-]\d{2}:?\d{2})?)?$"
)
_US = re.compile(
    r"^(?P<m>\d{1,2})/(?P<d>\d{1,2})/(?P<y>\d{4})"
    r"(?:\s+(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2}))?\s*(?P<ampm>[AaPp][Mm])?)?$"
)


def _text(value: object) -> str | None:
    """N-2: trimmed, whitespace runs collapsed; empty → None.

    A text that is already clean is returned itself (not an equal copy), so a validated row
    shares its strings with the cells it was read from (issue 13 item 4)."""
    if value is None:
        return None
    if not isinstance(value, str):
        value = str(value)
    text = " ".join(value.split())
    if text == value:
        return value or None
    return text or None


def _nullish(value: object) -> str | None:
    """Text of an ID / number / date cell, or None for empty cells and the PF-5 null tokens."""
    text = _text(value)
    if text is None or text.casefold() in NULL_TOKENS:
        return None
    return text


def pathful_id(value: object) -> str | None:
    """N-5 / PF-5: an identifier as digits-only text (``41872.0`` → ``41872``), or None.

    Anything that is not a plain identifier (letters, digits, ``.``, ``_``, ``-``; at most 64
    characters), e.g. a formula, is not an id: None.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, float):
        if value != value or not value.is_integer():  # NaN or a fraction
            return None
        value = int(value)
    text = _nullish(value)
    if text is None:
        return None
    if _FLOAT_ID.match(text):
        text = text.split(".", 1)[0]
    return text if _SAFE_ID.match(text) else None


def pathful_count(value: object) -> int | None:
    """PF-5: an integer ≥ 0 (``22``, ``22.0``); ``n/a``, ``-``, other text, negatives → None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 <= value <= MAX_COUNT else None
    if isinstance(value, float):
        return int(value) if value == value and value.is_integer() and 0 <= value <= MAX_COUNT else None
    text = _nullish(value)
    if text is None:
        return None
    match = _INTEGRAL.match(text)
    if not match:
        return None
    number = int(match.group(1))
    return number if number <= MAX_COUNT else None


def parse_pathful_datetime(value: object, tz: dt.tzinfo) -> dt.datetime | None:
    """PF-6 / N-4: a date cell → aware UTC datetime; None when empty; ValueError when unparseable.

    Accepted: ``YYYY-MM-DD[( |T)HH:MM[:SS[.fff]]][Z|±HH[:]MM]`` and ``MM/DD/YYYY[ HH:MM[:SS][ AM|PM]]``
    and native datetimes. Values without an offset are local time in ``tz`` (a date alone is
    00:00; DST ambiguity resolved with ``fold=0``).
    """
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, dt.date):
        moment = dt.datetime.combine(value, dt.time())
    else:
        text = _nullish(value)
        if text is None:
            return None
        moment = _parse_text(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz, fold=0)
    return moment.astimezone(dt.UTC)


def _parse_text(text: str) -> dt.datetime:
    match = _ISO.match(text)
    if match:
        fraction = (match.group("f") or "0")[:6].ljust(6, "0")
        moment = dt.datetime(
            int(match.group("y")),
            int(match.group("m")),
            int(match.group("d")),
            int(match.group("H") or 0),
            int(match.group("M") or 0),
            int(match.group("S") or 0),
            int(fraction),
        )
        offset = match.group("tz")
        if offset:
            moment = moment.replace(tzinfo=_offset(offset))
        return moment
    match = _US.match(text)
    if match:
        hour = int(match.group("H") or 0)
        ampm = (match.group("ampm") or "").lower()
        if ampm:
            if not 1 <= hour <= 12:
                raise ValueError("bad 12-hour time")
            hour = hour % 12 + (12 if ampm == "pm" else 0)
        return dt.datetime(
            int(match.group("y")),
            int(match.group("m")),
            int(match.group("d")),
            hour,
            int(match.group("M") or 0),
            int(match.group("S") or 0),
        )
    raise ValueError("not a recognised date")


def _offset(text: str) -> dt.timezone:
    if text == "Z":
        return dt.UTC
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:])
    if hours > 23 or minutes > 59:
        raise ValueError("bad offset")
    return dt.timezone(sign * dt.timedelta(hours=hours, minutes=minutes))


def normalize_pathful_email(value: object) -> str | None:
    """PF-5 / N-1: trimmed, lowercased; without ``@`` → None."""
    text = _text(value)
    if text is None:
        return None
    text = text.replace(" ", "").lower()
    return text if "@" in text else None


MAX_EMAIL = 255


def pathful_email(value: object) -> str | None:
    """The Email column (PF-5 / N-1): normalized, or None without ``@`` or beyond 255 characters."""
    email = normalize_pathful_email(value)
    return email if email is None or len(email) <= MAX_EMAIL else None


def pathful_duration(value: object) -> int | None:
    """The Duration column (PF-5): whole minutes, 1 to 24 hours; anything else → None (the default)."""
    minutes = pathful_count(value)
    return minutes if minutes and minutes <= MAX_DURATION_MINUTES else None


def pathful_role(signup_role: str | None) -> str:
    """``educator``, ``professional`` or ``other`` (Student, Parent, ...) from the SignUp Role."""
    key = match_key(signup_role or "")
    return key if key in ("educator", "professional") else "other"


def pathful_status(raw: str | None, context: Mapping[str, Any]) -> str | None:
    """PF-7: a Status cell's text → its ``event_status`` (VOC-12), cached per import context."""
    if raw is None:
        return None
    cache: dict[str, str | None] = context["status_cache"]
    if raw not in cache:
        cache[raw] = map_pathful_status(raw, context["status_aliases"])
    return cache[raw]


def pathful_date(value: object, tz: dt.tzinfo) -> dt.datetime | None:
    """PF-6: a Date cell → aware UTC datetime; None when empty or unparseable (kept in date_raw)."""
    try:
        return parse_pathful_datetime(value, tz)
    except (ValueError, OverflowError):
        return None


def raw_date(value: object) -> str | None:
    """``date_raw``: a Date cell's text as written (None for a native datetime or an empty cell)."""
    return None if isinstance(value, dt.datetime) else _nullish(value)


_TITLES = frozenset({"dr", "dr.", "mr", "mr.", "mrs", "mrs.", "ms", "ms.", "prof", "prof."})


def norm_name(value: str | None) -> str | None:
    """04 §0 ``norm_name``: trim, casefold, collapse whitespace, drop one leading title."""
    if value is None:
        return None
    parts = value.casefold().split()
    if len(parts) > 1 and parts[0] in _TITLES:
        parts = parts[1:]
    return " ".join(parts) or None


def school_key(value: str | None) -> str | None:
    """04 §0 school key: trim, casefold, collapse whitespace."""
    if value is None:
        return None
    return " ".join(value.split()).casefold() or None


# ---------------------------------------------------------------------------------------------
# Session classes (PF-7 table, 08 VOC-12)

STATUS_CLASS: Mapping[str, str] = {
    "completed": "C",
    "simulcast": "C",
    "count": "C",
    "cancelled": "X",
    "no_show": "X",
    "draft": "R",
    "requested": "R",
    "confirmed": "R",
    "published": "R",
}


def row_context(timezone: str | dt.tzinfo, status_aliases: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The validation context of one import: zone, operator status aliases, a status cache.

    Raises ValueError when an alias targets an unknown ``event_status`` (configuration error).
    """
    map_pathful_status("completed", status_aliases)  # validates the alias table once
    tz = ZoneInfo(timezone) if isinstance(timezone, str) else timezone
    return {"tz": tz, "status_aliases": dict(status_aliases or {}), "status_cache": {}}


def _context(info: ValidationInfo) -> dict[str, Any]:
    context = info.context
    if context is None:
        context = row_context("America/Chicago")
    return context  # type: ignore[no-any-return]


EMAIL_COLUMNS = ("Email", "Educator Email", "Teacher Email", "Login Email")


class PathfulSessionReportRow(BaseModel):
    """One row of a Pathful Session Report (04 PF-3 columns, PF-5..PF-7 transforms)."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    row: int = Field(0, alias="_row", description="spreadsheet row number, header = 1 (PF-2)")
    # --- required columns
    session_id: str | None = Field(None, alias="Session ID")
    title: str | None = Field(None, alias="Title")
    date: dt.datetime | None = Field(None, alias="Date")
    status: str | None = Field(None, alias="Status", description="mapped event_status (VOC-12)")
    name: str | None = Field(None, alias="Name")
    signup_role: str | None = Field(None, alias="SignUp Role")
    partner: str | None = Field(None, alias="Partner")
    # --- optional columns
    duration: int | None = Field(None, alias="Duration", description="minutes; null → the default")
    user_auth_id: str | None = Field(None, alias="User Auth Id")
    school: str | None = Field(None, alias="School")
    district_or_company: str | None = Field(None, alias="District or Company")
    registered_student_count: int | None = Field(None, alias="Registered Student Count")
    attended_student_count: int | None = Field(None, alias="Attended Student Count")
    registered_educator_count: int | None = Field(None, alias="Registered Educator Count")
    attended_educator_count: int | None = Field(None, alias="Attended Educator Count")
    career_cluster: str | None = Field(None, alias="Career Cluster")
    work_based_learning: str | None = Field(None, alias="Work Based Learning")
    series: str | None = Field(None, alias="Series or Event Title")
    state: str | None = Field(None, alias="State")
    email: str | None = Field(None, validation_alias=AliasChoices(*EMAIL_COLUMNS))
    # --- kept from the raw cells for PF-9 step 2 and the report
    date_raw: str | None = Field(None, exclude=True)
    status_raw: str | None = Field(None, exclude=True)
    role: str = Field(
        "other", exclude=True, description="educator, professional or other (Student, Parent, ...)"
    )

    @model_validator(mode="before")
    @classmethod
    def _keep_raw(cls, data: Any) -> Any:
        if isinstance(data, Mapping):
            data = dict(data)
            data["date_raw"] = raw_date(data.get("Date", data.get("date")))
            data["status_raw"] = _text(data.get("Status", data.get("status")))
        return data

    @field_validator(
        "title",
        "name",
        "signup_role",
        "partner",
        "school",
        "district_or_company",
        "career_cluster",
        "work_based_learning",
        "series",
        "state",
        mode="before",
    )
    @classmethod
    def _clean(cls, value: object) -> str | None:
        return _text(value)

    @field_validator("session_id", "user_auth_id", mode="before")
    @classmethod
    def _id(cls, value: object) -> str | None:
        return pathful_id(value)

    @field_validator(
        "registered_student_count",
        "attended_student_count",
        "registered_educator_count",
        "attended_educator_count",
        mode="before",
    )
    @classmethod
    def _count(cls, value: object) -> int | None:
        return pathful_count(value)

    @field_validator("duration", mode="before")
    @classmethod
    def _duration(cls, value: object) -> int | None:
        return pathful_duration(value)

    @field_validator("email", mode="before")
    @classmethod
    def _email(cls, value: object) -> str | None:
        return pathful_email(value)

    @field_validator("date", mode="before")
    @classmethod
    def _date(cls, value: object, info: ValidationInfo) -> dt.datetime | None:
        return pathful_date(value, _context(info)["tz"])

    @field_validator("status", mode="before")
    @classmethod
    def _status(cls, value: object, info: ValidationInfo) -> str | None:
        return pathful_status(_text(value), _context(info))

    # ------------------------------------------------------------------ derived
    @model_validator(mode="after")
    def _role(self) -> PathfulSessionReportRow:
        self.role = pathful_role(self.signup_role)
        return self

    @property
    def status_class(self) -> str | None:
        return STATUS_CLASS.get(self.status or "")

    @property
    def invalid_reason(self) -> tuple[str, str | None] | None:
        """PF-9 step 2: the first reason and the offending value, or None when the row is valid."""
        return row_invalid_reason(self)

    @property
    def match_key(self) -> str:
        """PF-17 key of an unmatched record: the User Auth Id, else ``norm_name`` of the name."""
        return self.user_auth_id or norm_name(self.name) or ""


class RowFields(Protocol):
    """What PF-9 step 2 reads of a row (:class:`PathfulSessionReportRow` or :class:`ReportRow`)."""

    @property
    def session_id(self) -> str | None: ...
    @property
    def title(self) -> str | None: ...
    @property
    def status(self) -> str | None: ...
    @property
    def status_raw(self) -> str | None: ...
    @property
    def signup_role(self) -> str | None: ...
    @property
    def role(self) -> str: ...
    @property
    def name(self) -> str | None: ...
    @property
    def date(self) -> dt.datetime | None: ...
    @property
    def date_raw(self) -> str | None: ...


def row_invalid_reason(row: RowFields) -> tuple[str, str | None] | None:
    """PF-9 step 2: the first reason and the offending value, or None when the row is valid."""
    for name, value in (
        ("session_id", row.session_id),
        ("title", row.title),
        ("status", row.status_raw),
        ("signup_role", row.signup_role),
    ):
        if value is None:
            return f"missing_{name}", None
    if row.role != "other" and row.name is None:
        return "missing_name", None
    if row.date is None and row.date_raw is not None:
        return "bad_date", row.date_raw
    if row.status is None:
        return "unknown_status", row.status_raw
    return None


class ReportRow(NamedTuple):
    """One validated report row as an import keeps it (issue 13 item 4): the fields of
    :class:`PathfulSessionReportRow`, with the same values, in one tuple (about 0.25 KB instead of
    3.5 KB for a model). Made by :func:`row_validator`; the planner reads either kind."""

    row: int
    session_id: str | None
    title: str | None
    date: dt.datetime | None
    status: str | None
    name: str | None
    signup_role: str | None
    partner: str | None
    duration: int | None
    user_auth_id: str | None
    school: str | None
    district_or_company: str | None
    registered_student_count: int | None
    attended_student_count: int | None
    registered_educator_count: int | None
    attended_educator_count: int | None
    career_cluster: str | None
    work_based_learning: str | None
    series: str | None
    state: str | None
    email: str | None
    date_raw: str | None
    status_raw: str | None
    role: str

    @property
    def status_class(self) -> str | None:
        return STATUS_CLASS.get(self.status or "")

    @property
    def invalid_reason(self) -> tuple[str, str | None] | None:
        return row_invalid_reason(self)

    @property
    def match_key(self) -> str:
        return self.user_auth_id or norm_name(self.name) or ""


# Columns whose values repeat from row to row (a session's rows share its title, date, status...):
# their transforms are memoised per import. People's columns are nearly all distinct: not memoised.
_DISTINCT_COLUMNS = frozenset({"Name", "User Auth Id", "Email"})


def row_validator(columns: Sequence[str], context: Mapping[str, Any]) -> Callable[[Sequence[Any]], ReportRow]:
    """The validation of :class:`PathfulSessionReportRow` as one function over a row's cells
    (issue 13 item 4): ``columns`` names each position of the cells (``_row`` and the canonical
    display names, as :class:`~polaris_api.imports.pathful.columns.CellRow` holds them) and the
    result equals ``PathfulSessionReportRow.model_validate(cells, context=context)`` field by field
    (tests/test_pathful_rows.py compares them). The same transforms, without a model per row;
    repeated cells are transformed once per import (a session's title, date, status)."""
    tz = context["tz"]
    position = {name: at for at, name in enumerate(columns)}
    transforms: dict[str, Callable[[Any], Any]] = {
        "session_id": pathful_id,
        "user_auth_id": pathful_id,
        "date": lambda value: pathful_date(value, tz),
        "status": lambda value: pathful_status(_text(value), context),
        "duration": pathful_duration,
        "email": pathful_email,
        "registered_student_count": pathful_count,
        "attended_student_count": pathful_count,
        "registered_educator_count": pathful_count,
        "attended_educator_count": pathful_count,
    }
    field_column = {field_name: column for column, field_name in CANONICAL_COLUMNS.items()}
    field_column["email"] = EMAIL_COLUMNS[0]
    # (position in the row, position in the cells or -1, transform, memo or None)
    steps: list[tuple[int, int, Callable[[Any], Any], dict[Any, Any] | None]] = []
    for at, field_name in enumerate(ReportRow._fields):
        if field_name == "row":
            column = "_row"
            transform: Callable[[Any], Any] = _same
        elif field_name == "date_raw":
            column, transform = "Date", raw_date
        elif field_name == "status_raw":
            column, transform = "Status", _text
        elif field_name == "role":
            continue  # from the validated SignUp Role, below
        else:
            column = field_column[field_name]
            transform = transforms.get(field_name, _text)
        memo: dict[Any, Any] | None = None if column in _DISTINCT_COLUMNS or column == "_row" else {}
        steps.append((at, position.get(column, -1), transform, memo))
    role_at, signup_at = ReportRow._fields.index("role"), ReportRow._fields.index("signup_role")
    roles: dict[str | None, str] = {}
    width = len(ReportRow._fields)
    missing = object()

    def validate(cells: Sequence[Any]) -> ReportRow:
        values: list[Any] = [None] * width
        for at, source, transform, memo in steps:
            if source < 0:
                continue  # a column the file lacks: the field's default (None)
            value = cells[source]
            if value is None:
                continue  # every transform keeps an empty cell empty
            if memo is None:
                values[at] = transform(value)
                continue
            result = memo.get(value, missing)
            if result is missing:
                result = memo[value] = transform(value)
            values[at] = result
        signup = values[signup_at]
        role = roles.get(signup)
        if role is None:
            role = roles[signup] = pathful_role(signup)
        values[role_at] = role
        return tuple.__new__(ReportRow, values)

    return validate


def _same(value: Any) -> Any:
    return value


# Canonical columns: display name → field name; the email column is the group EMAIL_COLUMNS.
CANONICAL_COLUMNS: dict[str, str] = {
    str(info.alias): name
    for name, info in PathfulSessionReportRow.model_fields.items()
    if info.alias and not info.alias.startswith("_") and name not in ("date_raw", "status_raw")
}
REQUIRED_COLUMNS = ("Session ID", "Title", "Date", "Status", "Name", "SignUp Role", "Partner")
ID_COLUMNS = ("Session ID", "User Auth Id")


# ---------------------------------------------------------------------------------------------
# API bodies

ImportMode = Literal["full", "current_semester", "last_6_months", "since"]


class InvalidRow(BaseModel):
    row: int
    session_id: str | None
    reason: str
    value: str | None


class EventChange(BaseModel):
    session_id: str
    event_id: int | None
    action: Literal["created", "updated"]
    fields: list[str]


class ParticipationChange(BaseModel):
    row: int
    session_id: str
    type: Literal["teacher", "presenter"]
    person_id: int
    action: Literal["created", "updated"]
    status: str


class PathfulImportReport(BaseModel):
    """04 PF-19: the report of a Pathful import (or of an undated-session resolution)."""

    import_id: int | None = Field(description="null for a dry run (nothing is stored)")
    kind: Literal["pathful", "undated_resolution"]
    status: Literal["succeeded", "failed"] = "succeeded"
    mode: ImportMode
    since: dt.date | None = None
    cutoff_date: dt.date | None
    dry_run: bool
    duration: float = Field(description="seconds")
    source_type: str | None = None
    source_name: str | None = None
    rows_total: int
    processed: int = Field(description="created_participations + updated_participations + unchanged")
    created_events: int
    updated_events: int
    created_participations: int
    updated_participations: int
    unchanged: int
    skipped_other_partner: int
    skipped_role: int
    skipped_before_cutoff: int
    skipped_draft_no_date: int
    queued_no_date: int
    unmatched_teachers: int
    unmatched_volunteers: int
    invalid: int
    invalid_rows: list[InvalidRow]
    backfilled_ids: int = Field(0, description="teacher / volunteer pathful_user_id filled (PF-13)")
    resolved_unmatched: int = Field(0, description="queue records this import resolved (PF-17)")
    event_changes: list[EventChange] = Field(
        default_factory=list, description="what changes on events (first 1000)"
    )
    participation_changes: list[ParticipationChange] = Field(
        default_factory=list, description="what changes on participations (first 1000)"
    )
    changes_truncated: bool = False
    warnings: list[str] = Field(default_factory=list)


class ImportRunOut(BaseModel):
    """A stored import (any kind): its PF-19 / RO-13 report as returned, plus the run's state."""

    model_config = ConfigDict(extra="allow")

    import_id: int
    kind: str
    status: str
    dry_run: bool
    rows_total: int
    started_at: dt.datetime
    finished_at: dt.datetime | None
    error_code: str | None = None
    error_detail: str | None = None


class UnmatchedRecordOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    type: str
    session_id: str
    user_auth_id: str | None
    match_key: str
    attempted_name: str | None
    attempted_email: str | None
    attempted_school: str | None
    raw_data: dict[str, Any]
    candidates: list[Any]
    reason: str | None
    status: str
    first_import_id: int | None
    last_import_id: int | None
    resolved_teacher_id: int | None
    resolved_volunteer_id: int | None
    resolved_import_id: int | None
    resolution_note: str | None
    resolved_by_id: int | None
    resolved_at: dt.datetime | None
    ignored_reason: str | None
    created_at: dt.datetime
    updated_at: dt.datetime


_MAX_ID = 2_147_483_647
RecordId = Annotated[int, Field(ge=1, le=_MAX_ID)]
Note = Annotated[CleanText, StringConstraints(max_length=2000)]


class ResolveBody(StrictBody):
    """PF-18: exactly one of ``teacher_id`` (teacher records) or ``volunteer_id`` (volunteer records)."""

    teacher_id: RecordId | None = None
    volunteer_id: RecordId | None = None
    note: Note | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> ResolveBody:
        if (self.teacher_id is None) == (self.volunteer_id is None):
            raise ValueError("give exactly one of teacher_id or volunteer_id")
        return self


class ResolveResult(BaseModel):
    record: UnmatchedRecordOut
    outcome: Literal["created_participations", "updated_participations", "unchanged"]
    event_id: int
    also_resolved: list[UnmatchedRecordOut]


class DateBody(StrictBody):
    start: Annotated[
        str,
        Field(
            min_length=10,
            max_length=40,
            description="local `YYYY-MM-DD HH:MM`, or ISO-8601 with an offset",
            examples=["2026-04-02 10:00"],
        ),
    ]


class IgnoreBody(StrictBody):
    reason: Annotated[str, Field(min_length=1, max_length=2000)]


class BulkIgnoreBody(StrictBody):
    ids: Annotated[list[RecordId], Field(min_length=1, max_length=100)]
    reason: Annotated[str, Field(min_length=1, max_length=2000)]


class BulkIgnoreResult(BaseModel):
    ignored: list[int]
    skipped: list[int] = Field(description="records already resolved: left as they are")


__all__ = [
    "CANONICAL_COLUMNS",
    "EMAIL_COLUMNS",
    "ID_COLUMNS",
    "REQUIRED_COLUMNS",
    "STATUS_CLASS",
    "BulkIgnoreBody",
    "BulkIgnoreResult",
    "DateBody",
    "IgnoreBody",
    "ImportMode",
    "ImportRunOut",
    "PathfulImportReport",
    "PathfulSessionReportRow",
    "ReportRow",
    "ResolveBody",
    "ResolveResult",
    "UnmatchedRecordOut",
    "norm_name",
    "parse_pathful_datetime",
    "pathful_count",
    "pathful_id",
    "row_context",
    "row_validator",
    "school_key",
]
