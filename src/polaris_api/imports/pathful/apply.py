"""Writing a Pathful :class:`Plan` in bulk (04 PF-11..PF-17, PF-22; 09 SCALE-2; 07 AUD-*).

Every write is a set-based statement: multi-row INSERTs (with RETURNING where ids are needed)
and ORM bulk UPDATEs by primary key, a few statements per table whatever the file size. The
caller owns the transaction. Each change is audited; changes made by the import carry the actor
``import:pathful:<import id>`` (PF-11), changes replayed by a person carry that person.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import bindparam, insert, update
from sqlalchemy.ext.asyncio import AsyncSession

from polaris_api.auth import Principal
from polaris_api.imports.pathful.lookups import EventState, Lookups
from polaris_api.imports.pathful.planner import Plan
from polaris_api.models.audit import AuditEntry, audit_payload
from polaris_api.models.events import Event, EventParticipation, EventTeacher
from polaris_api.models.imports import PathfulUnmatchedRecord
from polaris_api.models.people import Teacher, Volunteer
from polaris_api.observability import client_ip_var, request_id_var

BATCH = 1000
T = TypeVar("T")


@dataclass(frozen=True)
class Actor:
    """Who an audit entry names (07 AUD-2)."""

    type: str
    id: int | None
    role: str | None

    @classmethod
    def for_import(cls, import_id: int | None) -> Actor:
        return cls("import", import_id, f"import:pathful:{import_id}")

    @classmethod
    def for_principal(cls, principal: Principal | None) -> Actor:
        if principal is None:
            return cls("system", None, None)
        return cls(principal.kind, principal.id, principal.role)


class AuditBuffer:
    """Audit entries collected during an import and inserted in one executemany."""

    def __init__(self, actor: Actor, now: dt.datetime) -> None:
        self.actor = actor
        self.now = now
        self.entries: list[dict[str, Any]] = []
        self._request_id = request_id_var.get()
        self._client_ip = client_ip_var.get()

    def add(
        self,
        action: str,
        entity_type: str,
        entity_id: Any,
        changes: dict[str, tuple[Any, Any]] | None = None,
        details: dict[str, Any] | None = None,
        actor: Actor | None = None,
    ) -> None:
        actor = actor or self.actor
        self.entries.append(
            {
                "occurred_at": self.now,
                "actor_type": actor.type,
                "actor_id": actor.id,
                "actor_role": actor.role,
                "action": action,
                "entity_type": entity_type,
                "entity_id": None if entity_id is None else str(entity_id),
                "changes": (changes, details),  # made the stored payload batch by batch in flush
                "request_id": self._request_id,
                "client_ip": self._client_ip,
            }
        )

    async def flush(self, session: AsyncSession) -> None:
        await bulk_insert(session, AuditEntry, self.entries, build=_with_payload)
        self.entries.clear()

    async def flush_batches(self, session: AsyncSession) -> None:
        """Insert the whole batches collected so far and keep the rest (issue 13 item 4): the
        entries of a large import are not all held until its end, and the statements are the
        same as one :meth:`flush` at the end would send."""
        whole = len(self.entries) - len(self.entries) % BATCH
        if whole:
            await bulk_insert(session, AuditEntry, self.entries[:whole], build=_with_payload)
            del self.entries[:whole]


def _raw_data(cells: Mapping[str, Any]) -> dict[str, Any]:
    """An unmatched record's raw_data: the row's cells as a plain dict (the planner keeps the
    row's compact cells until they are written)."""
    return cells if isinstance(cells, dict) else dict(cells)


def _with_payload(entry: dict[str, Any]) -> dict[str, Any]:
    return {**entry, "changes": audit_payload(*entry["changes"])}


def _batches(rows: Sequence[T], size: int = BATCH) -> Iterable[Sequence[T]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


async def bulk_insert(
    session: AsyncSession,
    model: type[Any],
    rows: Sequence[Any],
    returning: tuple[str, ...] = (),
    *,
    build: Callable[[Any], dict[str, Any]] | None = None,
) -> list[Any]:
    """Core multi-row INSERT (executemany / insertmanyvalues) in batches; every row gets the
    same keys (missing ones as NULL) so that the driver batches never split.

    Each batch's parameters are made just before it is sent (``build``, when given, turns a row
    into its parameters), so the event loop answers other requests between batches instead of
    waiting for all of them to be built (issue 11 item 3)."""
    if not rows:
        return []
    table = model.__table__
    keys = None if build is not None else list(dict.fromkeys(key for row in rows for key in row))
    width = len(keys) if keys is not None else 0
    statement = insert(table)
    if returning:
        statement = statement.returning(*(table.c[name] for name in returning))
    result_rows: list[Any] = []
    for batch in _batches(rows):
        if build is not None:
            chunk = [build(row) for row in batch]  # every built row has the same keys
        else:  # a row with every key is sent as it is; the others get the missing ones
            chunk = [row if len(row) == width else {key: row.get(key) for key in keys or ()} for row in batch]
        result = await session.execute(statement, chunk)
        if returning:
            result_rows.extend(result.all())
    return result_rows


async def bulk_update(session: AsyncSession, model: type[Any], rows: list[dict[str, Any]]) -> None:
    """Core UPDATE ... WHERE id = :pk as executemany, one statement per set of changed columns."""
    table = model.__table__
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(tuple(sorted(key for key in row if key != "id")), []).append(row)
    for keys, group in groups.items():
        statement = (
            update(table)
            .where(table.c.id == bindparam("pk_"))
            .values({key: bindparam(f"v_{key}") for key in keys})
        )
        params = [{"pk_": row["id"], **{f"v_{key}": row[key] for key in keys}} for row in group]
        for batch in _batches(params):
            await session.execute(statement, batch)


async def apply_plan(
    session: AsyncSession,
    plan: Plan,
    lookups: Lookups,
    *,
    import_id: int | None,
    now: dt.datetime,
    audit: AuditBuffer,
) -> None:
    """Write ``plan``; ``lookups.events`` get the ids of the events inserted here."""
    # --- events (PF-11); each batch's rows are made as it is sent (issue 13 item 4)
    if plan.event_inserts:

        def event_row(state: EventState) -> dict[str, Any]:
            return {
                **state.values,
                "pathful_session_id": state.session_id,
                "type": "virtual_session",
                "format": "virtual",
                "source": "pathful",
                "available_slots": 0,
                "filled_volunteer_jobs": 0,
                "display_on_website": False,
                "is_deleted": False,
                "created_at": now,
                "updated_at": now,
            }

        for event_id, session_id in await bulk_insert(
            session, Event, plan.event_inserts, ("id", "pathful_session_id"), build=event_row
        ):
            lookups.events[session_id].id = event_id
        for state in plan.event_inserts:
            audit.add(
                "event.pathful_import.created",
                "event",
                state.id,
                {
                    "pathful_session_id": (None, state.session_id),
                    **{k: (None, v) for k, v in state.values.items()},
                },
            )
            if len(audit.entries) >= BATCH:
                await audit.flush_batches(session)
    if plan.event_updates:
        updates = []
        for session_id, changes in plan.event_updates.items():
            event_id = lookups.events[session_id].id
            updates.append({"id": event_id, "updated_at": now, **{k: new for k, (_, new) in changes.items()}})
            audit.add("event.pathful_import.updated", "event", event_id, changes)
        await bulk_update(session, Event, updates)

    await audit.flush_batches(session)

    # --- PF-13 back-fills
    if plan.teacher_backfills:
        await bulk_update(
            session,
            Teacher,
            [
                {"id": t, "pathful_user_id": pid, "updated_at": now}
                for t, pid in plan.teacher_backfills.items()
            ],
        )
        for teacher_id, pid in plan.teacher_backfills.items():
            audit.add(
                "teacher.pathful_user_id.backfilled", "teacher", teacher_id, {"pathful_user_id": (None, pid)}
            )
    if plan.volunteer_backfills:
        await bulk_update(
            session,
            Volunteer,
            [
                {"id": v, "pathful_user_id": pid, "updated_at": now}
                for v, pid in plan.volunteer_backfills.items()
            ],
        )
        for volunteer_id, pid in plan.volunteer_backfills.items():
            audit.add(
                "volunteer.pathful_user_id.backfilled",
                "volunteer",
                volunteer_id,
                {"pathful_user_id": (None, pid)},
            )

    await audit.flush_batches(session)

    # --- event_teacher (PF-14/15), batch by batch with their audit entries
    def link_row(values: dict[str, Any]) -> dict[str, Any]:
        return {
            "event_id": lookups.events[values["session_id"]].id,
            "teacher_id": values["teacher_id"],
            "status": values["status"],
            "attendance_confirmed_at": values["attendance_confirmed_at"],
            "source": "pathful",
            "last_import_id": import_id,
            "is_deleted": False,
            "created_at": now,
            "updated_at": now,
        }

    for batch in _batches(plan.teacher_link_inserts):
        returned = await bulk_insert(
            session, EventTeacher, batch, ("id", "event_id", "teacher_id"), build=link_row
        )
        ids = {(event_id, teacher_id): link_id for link_id, event_id, teacher_id in returned}
        for values in batch:
            event_id = lookups.events[values["session_id"]].id
            audit.add(
                "event_teacher.pathful_import.created",
                "event_teacher",
                ids[(event_id, values["teacher_id"])],
                {
                    "status": (None, values["status"]),
                    "attendance_confirmed_at": (None, values["attendance_confirmed_at"]),
                },
                {"event_id": event_id, "teacher_id": values["teacher_id"]},
            )
        await audit.flush_batches(session)
    if plan.teacher_link_updates:
        rows = []
        for link_id, values in plan.teacher_link_updates.items():
            before = plan.teacher_link_before[link_id]
            new = {"status": values["status"], "attendance_confirmed_at": values["attendance_confirmed_at"]}
            rows.append({"id": link_id, **new, "last_import_id": import_id, "updated_at": now})
            changes = {k: (before[k], v) for k, v in new.items() if before[k] != v}
            audit.add("event_teacher.pathful_import.updated", "event_teacher", link_id, changes)
        await bulk_update(session, EventTeacher, rows)

    await audit.flush_batches(session)

    # --- presenters (PF-16), batch by batch with their audit entries
    def presenter_row(values: dict[str, Any]) -> dict[str, Any]:
        return {
            "event_id": lookups.events[values["session_id"]].id,
            "volunteer_id": values["volunteer_id"],
            "participant_type": "presenter",
            "status": values["status"],
            "delivery_hours": values["delivery_hours"],
            "source": "pathful",
            "is_deleted": False,
            "created_at": now,
            "updated_at": now,
        }

    for batch in _batches(plan.presenter_inserts):
        returned = await bulk_insert(
            session, EventParticipation, batch, ("id", "event_id", "volunteer_id"), build=presenter_row
        )
        ids = {(event_id, volunteer_id): part_id for part_id, event_id, volunteer_id in returned}
        for values in batch:
            event_id = lookups.events[values["session_id"]].id
            audit.add(
                "event_participation.pathful_import.created",
                "event_participation",
                ids[(event_id, values["volunteer_id"])],
                {"status": (None, values["status"]), "delivery_hours": (None, values["delivery_hours"])},
                {
                    "event_id": event_id,
                    "volunteer_id": values["volunteer_id"],
                    "participant_type": "presenter",
                },
            )
        await audit.flush_batches(session)
    if plan.presenter_updates:
        rows = []
        for part_id, values in plan.presenter_updates.items():
            before = plan.presenter_before[part_id]
            new = {"status": values["status"], "delivery_hours": values["delivery_hours"]}
            rows.append({"id": part_id, **new, "updated_at": now})
            changes = {k: (before[k], v) for k, v in new.items() if before[k] != v}
            audit.add("event_participation.pathful_import.updated", "event_participation", part_id, changes)
        await bulk_update(session, EventParticipation, rows)

    await audit.flush_batches(session)

    # --- queues (PF-17); an unmatched row's cells become its raw_data as its batch is sent
    if plan.unmatched_inserts:
        keys = list(dict.fromkeys(key for values in plan.unmatched_inserts.values() for key in values))

        def record_row(values: dict[str, Any]) -> dict[str, Any]:
            row = {key: values.get(key) for key in keys}
            row.update(raw_data=_raw_data(values["raw_data"]), created_at=now, updated_at=now)
            return row

        returned = await bulk_insert(
            session,
            PathfulUnmatchedRecord,
            list(plan.unmatched_inserts.values()),
            ("id", "type", "session_id", "match_key"),
            build=record_row,
        )
        for record_id, kind, session_id, match_key in returned:
            lookups.unmatched[(kind, session_id, match_key)].id = record_id
    if plan.unmatched_updates:
        await bulk_update(
            session,
            PathfulUnmatchedRecord,
            [
                {"id": record_id, **values, "updated_at": now}
                | ({"raw_data": _raw_data(values["raw_data"])} if "raw_data" in values else {})
                for record_id, values in plan.unmatched_updates.items()
            ],
        )
    for record_id, key in plan.resolved_unmatched:
        unmatched = lookups.unmatched[key]
        audit.add(
            "pathful_unmatched_record.auto_resolved",
            "pathful_unmatched_record",
            record_id if record_id is not None else unmatched.id,
            {"status": (None, "resolved")},
            {"import_id": import_id},
        )
