"""District roster import (04 RO-1..RO-13).

The import is planned first, entirely in memory from preloaded lookups (the district's records for
the year, the teachers with the roster's emails, every school): the plan *is* the report, so a dry
run reports exactly what a real run would change and writes nothing (PF-20). A real run then takes
the per-district import lock, applies the plan and writes its ``import_run`` row, flags and audit
entries in one transaction. After commit, add overrides now counted are auto-resolved (TP-7).

Rules, in order: headers (PF-3: canonical names, model aliases and ``column_alias`` rows; RO-2
missing → 422), rows (RO-3 invalid / other year, RO-4 duplicates), school (RO-11), upsert (RO-5)
with protection (RO-6) and reactivation (RO-7), teacher link (RO-10), deactivation (RO-8) behind
the guard (RO-9), report (RO-13).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import logging
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from sqlalchemy import event, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

from polaris_api.attendance import auto_resolve_overrides
from polaris_api.auth import Principal
from polaris_api.db import utcnow
from polaris_api.errors import Problem, UnknownDistrict
from polaris_api.imports.pathful.importer import exclusive_import
from polaris_api.imports.pathful.unmatched import rematch_pending_teachers
from polaris_api.imports.tabular import Table, header_key
from polaris_api.models.app_setting import bump_reporting_data_version
from polaris_api.models.audit import diff, new_entry
from polaris_api.models.imports import ColumnAlias, ImportRun
from polaris_api.models.people import Teacher, TeacherEmail
from polaris_api.models.reference import District, School, normalize_name
from polaris_api.models.sync import DataQualityFlag
from polaris_api.models.teachers import TeacherProgress
from polaris_api.schemas.common import normalize_email
from polaris_api.schemas.roster import DistrictRosterRow, roster_columns
from polaris_api.settings import Settings
from polaris_api.sync.problems import (
    AmbiguousColumns,
    EmptyFile,
    ImportFailed,
    ImportInProgress,
    MassDeactivationBlocked,
    MissingColumns,
    NoValidRows,
)

log = logging.getLogger(__name__)

KIND = "roster"
PROTECTED_FLAG = "protected_teacher_skipped"
RECORD_FIELDS = ("name", "building", "school_id", "grade", "target_sessions", "virtual_year")
HONORIFICS = frozenset({"dr", "mr", "mrs", "ms", "prof"})
_LOCK_NAMESPACE = 0x524F  # "RO": first key of the PostgreSQL advisory lock
_CHUNK = 500
_WORD = re.compile(r"\w+")

# SQLite runs in one process: a lock per district is enough there (PostgreSQL uses an advisory lock).
_local_locks: dict[int, asyncio.Lock] = {}


# ---------------------------------------------------------------------------------------------
# Names and schools


def norm_name(value: str | None) -> str:
    """04 §0 ``norm_name``: trim, casefold, collapse whitespace, drop one leading honorific."""
    words = (value or "").split()
    if words and words[0].casefold().rstrip(".") in HONORIFICS:
        words = words[1:]
    return " ".join(words).casefold()


def split_teacher_name(name: str) -> tuple[str | None, str]:
    """RO-10: drop the honorific; first token = first name, the rest = last name; one token = last."""
    words = name.split()
    if len(words) > 1 and words[0].casefold().rstrip(".") in HONORIFICS:
        words = words[1:]
    if len(words) == 1:
        return None, words[0][:100]
    return words[0][:100], " ".join(words[1:])[:100]


@dataclass(frozen=True)
class _SchoolKey:
    school_id: int
    district_id: int | None
    keys: tuple[str, ...]
    words: tuple[frozenset[str], ...]


class SchoolResolver:
    """RO-11 on preloaded schools: the district's schools first, then all schools.

    Steps, each over every key of a school (name, alt name, aliases): 1 exact, 2 starts with b,
    3 contains b, 4 every word of b with 3+ letters is a whole word of the key. The first step with
    one candidate decides; a step with several stops the search (``school_ambiguous``).
    """

    def __init__(self, schools: Iterable[_SchoolKey], district_id: int) -> None:
        self.all = list(schools)
        self.local = [school for school in self.all if school.district_id == district_id]
        self._cache: dict[str, tuple[int | None, str | None]] = {}

    @staticmethod
    def _step(candidates: list[_SchoolKey], step: int, b: str, b_words: set[str]) -> set[int]:
        found: set[int] = set()
        for school in candidates:
            for key, words in zip(school.keys, school.words, strict=True):
                if (
                    (step == 1 and key == b)
                    or (step == 2 and key.startswith(b))
                    or (step == 3 and b in key)
                    or (step == 4 and b_words and b_words <= words)
                ):
                    found.add(school.school_id)
                    break
        return found

    def resolve(self, building: str) -> tuple[int | None, str | None]:
        """``(school_id, None)``, or ``(None, 'school_ambiguous' | 'school_unresolved')``."""
        b = normalize_name(building) or ""
        if b in self._cache:
            return self._cache[b]
        b_words = {word for word in _WORD.findall(b) if sum(ch.isalpha() for ch in word) >= 3}
        result: tuple[int | None, str | None] = (None, "school_unresolved")
        for scope in (self.local, self.all):
            decided = False
            for step in (1, 2, 3, 4):
                found = self._step(scope, step, b, b_words)
                if len(found) == 1:
                    result, decided = (found.pop(), None), True
                    break
                if len(found) > 1:
                    result, decided = (None, "school_ambiguous"), True
                    break
            if decided:
                break
        self._cache[b] = result
        return result


def _school_key(school_id: int, district_id: int | None, names: Iterable[str | None]) -> _SchoolKey:
    keys: list[str] = []
    for name in names:
        key = normalize_name(name) if isinstance(name, str) else None
        if key and key not in keys:
            keys.append(key)
    return _SchoolKey(
        school_id, district_id, tuple(keys), tuple(frozenset(_WORD.findall(key)) for key in keys)
    )


# ---------------------------------------------------------------------------------------------
# Plan


@dataclass
class _RowPlan:
    row: int
    data: DistrictRosterRow
    school_id: int | None
    record: TeacherProgress | None
    action: str  # added | updated | unchanged | protected
    fields: list[str] = field(default_factory=list)
    reactivate: bool = False
    teacher: Teacher | None = None
    teacher_action: str = "kept"  # kept | linked | created


@dataclass
class _Plan:
    district_id: int
    academic_year: str | None
    rows_total: int
    warnings: list[dict[str, Any]]
    skipped: int
    rows: list[_RowPlan]
    deactivate: list[TeacherProgress]
    active_before: int
    protected_flags: dict[int, DataQualityFlag]
    guard_exceeded: bool

    def count(self, action: str) -> int:
        return sum(1 for row in self.rows if row.action == action)


def _warning(row: int | None, code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"row": row, "code": code, "message": message, **extra}


async def _header_map(session: AsyncSession, headers: Sequence[str]) -> dict[str, str]:
    """File header → canonical column (PF-3). 422 ``ambiguous_columns`` / ``missing_columns``."""
    known: dict[str, str] = {}
    required: list[str] = []
    for _name, canonical, aliases, is_required in roster_columns():
        for alias in aliases:
            known[header_key(alias)] = canonical
        if is_required:
            required.append(canonical)
    admin_aliases = (
        await session.execute(
            select(ColumnAlias.alias, ColumnAlias.canonical).where(ColumnAlias.import_type == KIND)
        )
    ).all()
    for alias, canonical in admin_aliases:
        target = known.get(header_key(canonical))
        if target is not None:
            known.setdefault(header_key(alias), target)
    mapping: dict[str, str] = {}
    seen: dict[str, list[str]] = {}
    for header in headers:
        found = known.get(header_key(header)) if header else None
        if found is None:
            continue  # unknown headers are ignored
        seen.setdefault(found, []).append(header)
        mapping[header] = found
    ambiguous = {canonical: found for canonical, found in seen.items() if len(found) > 1}
    if ambiguous:
        raise AmbiguousColumns(
            "Several headers name the same column: "
            + "; ".join(f"{c} ({', '.join(h)})" for c, h in ambiguous.items()),
            details={"ambiguous": ambiguous},
        )
    missing = [canonical for canonical in required if canonical not in seen]
    if missing:
        raise MissingColumns(
            "Missing required column(s): " + ", ".join(missing) + ".",
            details={"missing": missing},
        )
    return mapping


def _first_error(error: ValidationError) -> tuple[str | None, str, str]:
    columns = {name: canonical for name, canonical, _aliases, _req in roster_columns()}
    first = error.errors()[0]
    loc = first.get("loc") or ()
    column = next((str(part) for part in loc if isinstance(part, str)), None)
    column = columns.get(column or "", column)
    return column, str(first.get("type")), str(first.get("msg"))


async def _chunked_in(session: AsyncSession, statement_for: Any, values: Sequence[Any]) -> list[Any]:
    rows: list[Any] = []
    for start in range(0, len(values), _CHUNK):
        rows.extend((await session.execute(statement_for(values[start : start + _CHUNK]))).all())
    return rows


async def _teachers_by_email(session: AsyncSession, emails: Sequence[str]) -> dict[str, Teacher]:
    """RO-10 step 2: the teacher with that email (primary or any email row).

    Several candidates: prefer one not merged away and active, then the lowest id.
    """
    if not emails:
        return {}
    candidates: dict[str, dict[int, Teacher]] = {}
    primary = await _chunked_in(
        session,
        lambda chunk: select(Teacher.email_normalized, Teacher).where(
            Teacher.email_normalized.in_(chunk), Teacher.is_deleted.is_(False)
        ),
        emails,
    )
    secondary = await _chunked_in(
        session,
        lambda chunk: (
            select(TeacherEmail.email_normalized, Teacher)
            .join(Teacher, Teacher.id == TeacherEmail.teacher_id)
            .where(TeacherEmail.email_normalized.in_(chunk), Teacher.is_deleted.is_(False))
        ),
        emails,
    )
    for email, teacher in [*primary, *secondary]:
        candidates.setdefault(email, {})[teacher.id] = teacher
    return {
        email: min(found.values(), key=lambda t: (t.merged_into_id is not None, not t.is_active, t.id))
        for email, found in candidates.items()
    }


async def plan_roster(
    session: AsyncSession,
    table: Table,
    *,
    district_id: int,
    settings: Settings,
) -> _Plan:
    """Everything the import would do, computed from reads only."""
    mapping = await _header_map(session, table.headers)
    if not table.rows:
        raise EmptyFile()
    warnings: list[dict[str, Any]] = []
    listed_emails: set[str] = set()
    valid: list[tuple[int, DistrictRosterRow]] = []
    skipped = 0
    for index, raw in enumerate(table.rows):
        # spreadsheet row, header = 1 (PF-2); blank rows are skipped but keep their numbers
        row_number = table.row_numbers[index] if len(table.row_numbers) == len(table.rows) else index + 2
        data = {canonical: raw.get(header) for header, canonical in mapping.items()}
        email_cell = data.get("Teacher Email")
        if email_cell and email_cell.strip():
            listed_emails.add(normalize_email(email_cell))  # RO-8: any row, valid or skipped
        try:
            valid.append((row_number, DistrictRosterRow.model_validate(data)))
        except ValidationError as error:
            column, reason, message = _first_error(error)
            warnings.append(
                _warning(row_number, "invalid_row", f"{column}: {message}", column=column, reason=reason)
            )
            skipped += 1
    if not valid:
        raise NoValidRows(warnings=warnings)
    academic_year = valid[0][1].academic_year  # RO-3: the first valid row's year
    applied: list[tuple[int, DistrictRosterRow]] = []
    first_row_of: dict[str, int] = {}
    for row_number, row in valid:
        if row.academic_year != academic_year:
            warnings.append(
                _warning(
                    row_number,
                    "academic_year_mismatch",
                    f"Academic Year differs from the import year {academic_year}.",
                    column="Academic Year",
                    reason="academic_year_mismatch",
                )
            )
            skipped += 1
        elif row.teacher_email in first_row_of:
            warnings.append(
                _warning(
                    row_number,
                    "duplicate_email",
                    f"The email repeats row {first_row_of[row.teacher_email]}; the first row wins.",
                    first_row=first_row_of[row.teacher_email],
                )
            )
            skipped += 1
        else:
            first_row_of[row.teacher_email] = row_number
            applied.append((row_number, row))

    existing = {
        record.email: record
        for record in (
            await session.execute(
                select(TeacherProgress).where(
                    TeacherProgress.district_id == district_id,
                    TeacherProgress.academic_year == academic_year,
                )
            )
        ).scalars()
    }
    schools = SchoolResolver(
        (
            _school_key(school_id, school_district, [name, alt_name, *(aliases or [])])
            for school_id, school_district, name, alt_name, aliases in await session.execute(
                select(School.id, School.district_id, School.name, School.alt_name, School.aliases).where(
                    School.is_deleted.is_(False)
                )
            )
        ),
        district_id,
    )
    linked_ids = sorted({r.teacher_id for r in existing.values() if r.teacher_id is not None})
    linked = {
        teacher.id: teacher
        for (teacher,) in await _chunked_in(
            session, lambda chunk: select(Teacher).where(Teacher.id.in_(chunk)), linked_ids
        )
    }
    need_lookup = sorted(
        email
        for _n, row in applied
        for email in [row.teacher_email]
        if existing.get(email) is None or existing[email].teacher_id is None
    )
    by_email = await _teachers_by_email(session, need_lookup)

    plans: list[_RowPlan] = []
    for row_number, row in applied:
        school_id, problem = schools.resolve(row.building)
        if problem == "school_ambiguous":
            warnings.append(
                _warning(
                    row_number,
                    problem,
                    "Several schools match School/Building; none was chosen.",
                    column="School/Building",
                )
            )
        elif problem == "school_unresolved":
            warnings.append(
                _warning(row_number, problem, "No school matches School/Building.", column="School/Building")
            )
        record = existing.get(row.teacher_email)
        plan = _RowPlan(row=row_number, data=row, school_id=school_id, record=record, action="added")
        if record is not None and not record.is_active and record.deactivation_source == "manual_admin":
            plan.action = "protected"  # RO-6
            plans.append(plan)
            continue
        values = _record_values(row, school_id)
        if record is not None:
            plan.fields = [name for name in RECORD_FIELDS if getattr(record, name) != values[name]]
            plan.reactivate = not record.is_active  # RO-7 (import_diff)
            plan.action = "updated" if plan.fields or plan.reactivate else "unchanged"
        if record is not None and record.teacher_id is not None:
            plan.teacher = linked.get(record.teacher_id)
            plan.teacher_action = "kept"
        elif row.teacher_email in by_email:
            plan.teacher = by_email[row.teacher_email]
            plan.teacher_action = "linked"
        else:
            plan.teacher_action = "created"
        plans.append(plan)

    active_before = sum(1 for record in existing.values() if record.is_active)
    deactivate = sorted(
        (r for r in existing.values() if r.is_active and r.email not in listed_emails), key=lambda r: r.id
    )
    share = len(deactivate) / active_before if active_before else 0.0
    guard_exceeded = active_before > 0 and share > settings.roster_max_deactivation_share

    protected_ids = [plan.record.id for plan in plans if plan.action == "protected" and plan.record]
    flags: dict[int, DataQualityFlag] = {}
    if protected_ids:
        for (flag,) in await _chunked_in(
            session,
            lambda chunk: select(DataQualityFlag).where(
                DataQualityFlag.code == PROTECTED_FLAG,
                DataQualityFlag.entity_type == "teacher_progress",
                DataQualityFlag.status == "open",
                DataQualityFlag.entity_id.in_(chunk),
            ),
            protected_ids,
        ):
            flags[int(flag.entity_id)] = flag
    warnings.sort(key=lambda w: w["row"] or 0)
    return _Plan(
        district_id=district_id,
        academic_year=academic_year,
        rows_total=len(table.rows),
        warnings=warnings,
        skipped=skipped,
        rows=plans,
        deactivate=deactivate,
        active_before=active_before,
        protected_flags=flags,
        guard_exceeded=guard_exceeded,
    )


def _record_values(row: DistrictRosterRow, school_id: int | None) -> dict[str, Any]:
    return {
        "name": row.teacher_name,
        "building": row.building,
        "school_id": school_id,
        "grade": row.grade,
        "target_sessions": row.target_sessions,
        "virtual_year": row.virtual_year,
    }


def build_report(
    plan: _Plan, *, import_id: int | None, dry_run: bool, forced: bool, started: float
) -> dict[str, Any]:
    """RO-13 report; the invariant holds by construction (each row lands in one count)."""
    protected = [
        {
            "teacher_progress_id": row.record.id,
            "email": row.record.email,
            "name": row.record.name,
            "deactivated_at": row.record.deactivated_at,
            "deactivation_reason": row.record.deactivation_reason,
        }
        for row in plan.rows
        if row.action == "protected" and row.record is not None
    ]
    report: dict[str, Any] = {
        "import_id": import_id,
        "kind": KIND,
        "district_id": plan.district_id,
        "academic_year": plan.academic_year,
        "dry_run": dry_run,
        "forced": forced,
        "duration": round(time.monotonic() - started, 3),
        "rows_total": plan.rows_total,
        "added": plan.count("added"),
        "updated": plan.count("updated"),
        "unchanged": plan.count("unchanged"),
        "deactivated": len(plan.deactivate),
        "skipped": plan.skipped,
        "protected_skipped": protected,
        "warnings": plan.warnings,
        "active_before": plan.active_before,
        "teachers_created": sum(
            1 for row in plan.rows if row.action != "protected" and row.teacher_action == "created"
        ),
        "changes": [
            {
                "row": row.row,
                "email": row.data.teacher_email,
                "action": row.action,
                "teacher_progress_id": row.record.id if row.record is not None else None,
                "fields": list(RECORD_FIELDS) if row.action == "added" else row.fields,
                "reactivated": row.reactivate,
                "teacher": row.teacher_action,
            }
            for row in plan.rows
            if row.action in ("added", "updated")
        ],
        "deactivated_records": [
            {"teacher_progress_id": record.id, "email": record.email, "name": record.name}
            for record in plan.deactivate
        ],
    }
    assert report["rows_total"] == (
        report["added"] + report["updated"] + report["unchanged"] + len(protected) + report["skipped"]
    )
    return report


# ---------------------------------------------------------------------------------------------
# Lock and apply


class _DistrictLock:
    """One roster import per district at a time (RO-1): 409 ``import_in_progress`` otherwise.

    PostgreSQL: a transaction-scoped advisory lock (released by commit or rollback, across
    processes). SQLite (one process): an asyncio lock per district, likewise held until the
    session's transaction ends (the request commits after the handler returned).
    """

    def __init__(self, session: AsyncSession, district_id: int) -> None:
        self.session = session
        self.district_id = district_id
        self.local: asyncio.Lock | None = None

    async def __aenter__(self) -> _DistrictLock:
        busy = ImportInProgress("A roster import for this district is running.")
        if self.session.get_bind().dialect.name == "postgresql":
            got = (
                await self.session.execute(
                    text("SELECT pg_try_advisory_xact_lock(:ns, :district)"),
                    {"ns": _LOCK_NAMESPACE, "district": self.district_id},
                )
            ).scalar_one()
            if not got:
                raise busy
            return self
        lock = _local_locks.setdefault(self.district_id, asyncio.Lock())
        if lock.locked():
            raise busy
        await lock.acquire()
        self.local = lock
        event.listen(self.session.sync_session, "after_transaction_end", self._transaction_ended)
        return self

    def _transaction_ended(self, _session: Session, transaction: SessionTransaction) -> None:
        if transaction.parent is None and self.local is not None and self.local.locked():
            self.local.release()
            self.local = None

    async def __aexit__(self, *_: object) -> None:
        return None


def _teacher_for_new(row: _RowPlan, district_id: int) -> Teacher:
    first, last = split_teacher_name(row.data.teacher_name)
    return Teacher(
        first_name=first,
        last_name=last,
        email_normalized=row.data.teacher_email,
        import_source="roster",
        school_id=row.school_id,
        district_id=district_id,
        is_active=True,
    )


def _keep_teacher_in_step(teacher: Teacher, row: _RowPlan, district_id: int) -> None:
    """RO-10: a roster-owned teacher follows the roster's name and school; others are never renamed."""
    if teacher.district_id is None or teacher.import_source == "roster":
        teacher.district_id = district_id
    if teacher.import_source != "roster" or teacher.salesforce_id is not None:
        return
    first, last = split_teacher_name(row.data.teacher_name)
    if (teacher.first_name, teacher.last_name, teacher.school_id) != (first, last, row.school_id):
        teacher.first_name, teacher.last_name, teacher.school_id = first, last, row.school_id


async def _apply(
    session: AsyncSession, plan: _Plan, run: ImportRun, actor: Principal, now: dt.datetime
) -> None:
    district_id = plan.district_id
    for row in plan.rows:
        if row.action == "protected":
            continue
        if row.teacher_action == "created":
            row.teacher = _teacher_for_new(row, district_id)
            session.add(row.teacher)
    await session.flush()

    for row in plan.rows:
        if row.action == "protected":
            assert row.record is not None
            flag = plan.protected_flags.get(row.record.id)
            if flag is None:
                flag = DataQualityFlag(
                    code=PROTECTED_FLAG,
                    entity_type="teacher_progress",
                    entity_id=row.record.id,
                    field="",
                    status="open",
                )
                session.add(flag)
            flag.last_seen_at = now
            flag.last_import_id = run.id
            flag.details = {"row": row.row, "academic_year": plan.academic_year, "district_id": district_id}
            continue
        values = _record_values(row.data, row.school_id)
        teacher = row.teacher
        if teacher is not None:
            _keep_teacher_in_step(teacher, row, district_id)
        record = row.record
        if record is None:
            record = TeacherProgress(
                district_id=district_id,
                academic_year=plan.academic_year,
                email=row.data.teacher_email,
                is_active=True,
                **values,
            )
            session.add(record)
            row.record = record
        else:
            for name in row.fields:
                setattr(record, name, values[name])
            if row.reactivate:
                before = {"is_active": record.is_active, "deactivation_source": record.deactivation_source}
                record.is_active = True
                record.deactivation_source = None
                record.deactivated_at = None
                session.add(
                    new_entry(
                        "teacher_progress.reactivated",
                        actor=actor,
                        entity_type="teacher_progress",
                        entity_id=record.id,
                        changes=diff(before, {"is_active": True, "deactivation_source": None}),
                        details={"import_id": run.id, "source": "roster_import"},
                    )
                )
        if teacher is not None and record.teacher_id != teacher.id:
            record.teacher_id = teacher.id
        record.last_import_id = run.id

    for record in plan.deactivate:  # RO-8
        record.is_active = False
        record.deactivation_source = "import_diff"
        record.deactivated_at = now
        session.add(
            new_entry(
                "teacher_progress.deactivated",
                actor=actor,
                entity_type="teacher_progress",
                entity_id=record.id,
                changes={"is_active": (True, False), "deactivation_source": (None, "import_diff")},
                details={"import_id": run.id, "source": "roster_import"},
            )
        )
    await session.flush()


async def import_roster(
    session: AsyncSession,
    table: Table,
    *,
    district_id: int,
    actor: Principal,
    settings: Settings,
    force: bool = False,
    dry_run: bool = False,
    source_type: str = "file",
    source_name: str | None = None,
    source_bytes: bytes | None = None,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """Run (or dry-run) a roster import of ``table`` for ``district_id``; returns the RO-13 report.

    Refusals write nothing: 422 ``unknown_district`` / ``missing_columns`` / ``ambiguous_columns``
    / ``empty_file`` / ``no_valid_rows``, 409 ``mass_deactivation_blocked`` (with the would-be
    report) and 409 ``import_in_progress``. An unexpected error rolls back, stores a ``failed``
    ``import_run`` and answers 500 ``import_failed``.
    """
    started = time.monotonic()
    now = now or utcnow()
    if await session.get(District, district_id) is None:
        raise UnknownDistrict()
    if dry_run:
        plan = await plan_roster(session, table, district_id=district_id, settings=settings)
        report = build_report(
            plan, import_id=None, dry_run=True, forced=plan.guard_exceeded and force, started=started
        )
        await session.rollback()
        _guard(plan, force, report)
        return report

    async with _DistrictLock(session, district_id):
        plan = await plan_roster(session, table, district_id=district_id, settings=settings)
        if plan.guard_exceeded and not force:
            report = build_report(plan, import_id=None, dry_run=False, forced=False, started=started)
            await session.rollback()
            _guard(plan, force, report)
        forced = plan.guard_exceeded and force
        try:
            run = ImportRun(
                kind=KIND,
                status="running",
                dry_run=False,
                forced=forced,
                district_id=district_id,
                academic_year=plan.academic_year,
                source_type=source_type,
                source_name=(source_name or "")[:255] or None,
                source_sha256=hashlib.sha256(source_bytes).hexdigest() if source_bytes is not None else None,
                requested_by_id=actor.user_id,
                started_at=now,
                rows_total=plan.rows_total,
            )
            session.add(run)
            await session.flush()
            await _apply(session, plan, run, actor, now)
            report = build_report(plan, import_id=run.id, dry_run=False, forced=forced, started=started)
            run.status = "succeeded"
            run.finished_at = utcnow()
            run.duration_s = report["duration"]
            run.counts = {
                key: report[key]
                for key in ("rows_total", "added", "updated", "unchanged", "deactivated", "skipped")
            } | {"protected_skipped": len(report["protected_skipped"])}
            run.report = _jsonable(report)
            session.add(
                new_entry(
                    "import.roster.completed",
                    actor=actor,
                    entity_type="import_run",
                    entity_id=run.id,
                    details={
                        "district_id": district_id,
                        "academic_year": plan.academic_year,
                        "forced": forced,
                        **run.counts,
                    },
                )
            )
            await bump_reporting_data_version(session)
            await session.flush()
        except Problem:
            await session.rollback()
            raise
        except Exception:
            log.exception("roster import failed (district %s)", district_id)
            await session.rollback()
            await _record_failure(
                session, district_id, plan.academic_year, actor, source_type, source_name, now
            )
            raise ImportFailed() from None

    await _auto_resolve_after_import(session, report, plan, settings)
    await _rematch_pathful_teachers(session, report, settings)
    return report


def _guard(plan: _Plan, force: bool, report: dict[str, Any]) -> None:
    """RO-9: more than the allowed share would be deactivated and ``force`` is not set → 409."""
    if plan.guard_exceeded and not force:
        raise MassDeactivationBlocked(
            f"The import would deactivate {len(plan.deactivate)} of {plan.active_before} active records, "
            "more than the allowed share; send force=true to proceed.",
            report=_jsonable(report),
        )


async def _record_failure(
    session: AsyncSession,
    district_id: int,
    academic_year: str | None,
    actor: Principal,
    source_type: str,
    source_name: str | None,
    now: dt.datetime,
) -> None:
    try:
        session.add(
            ImportRun(
                kind=KIND,
                status="failed",
                district_id=district_id,
                academic_year=academic_year,
                source_type=source_type,
                source_name=(source_name or "")[:255] or None,
                requested_by_id=actor.user_id,
                started_at=now,
                finished_at=utcnow(),
                error_code="import_failed",
            )
        )
        await session.flush()  # the router commits it before answering 500 import_failed
    except Exception:  # pragma: no cover - the failure row is best effort
        log.exception("could not record the failed roster import")
        await session.rollback()


async def _auto_resolve_after_import(
    session: AsyncSession, report: dict[str, Any], plan: _Plan, settings: Settings
) -> None:
    """TP-7 for this scope (a newly linked teacher may now count an add override's event), in a
    savepoint: when it fails the import itself still commits."""
    ids = [
        row.record.id
        for row in plan.rows
        if row.action in ("added", "updated", "unchanged") and row.record is not None
    ]
    try:
        async with session.begin_nested():
            closed = await auto_resolve_overrides(
                session, report["import_id"], zone=settings.tz, teacher_progress_ids=ids
            )
            if closed:
                await bump_reporting_data_version(session)
    except Exception:  # the savepoint is rolled back, the import stands; log and move on
        log.exception("auto-resolving overrides after roster import %s failed", report["import_id"])


async def _rematch_pathful_teachers(
    session: AsyncSession, report: dict[str, Any], settings: Settings
) -> None:
    """RO-12 under the Pathful import lock, in a savepoint: when it fails (or a Pathful import
    is running) the roster import still commits and the records stay pending for the next one."""
    try:
        async with exclusive_import(session, rollback_when_busy=False), session.begin_nested():
            await rematch_pending_teachers(session, settings, roster_import_id=report["import_id"])
    except Exception:
        log.exception("re-matching Pathful teachers after roster import %s failed", report["import_id"])


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_jsonable(item) for item in value]
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value
