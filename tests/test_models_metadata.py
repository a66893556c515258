"""The data model's metadata and the ownership registry, checked without a database server.

00 §6 (uniqueness by constraint), 02 SF-10 (mirror columns), 00 OWN-1..3 (ownership registry).
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
import sqlalchemy as sa
from sqlalchemy import Table, UniqueConstraint, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import configure_mappers

import polaris_api.models as m

# FK targets user / api_key live in the lead's module; the ORM needs them to order flushes.
from polaris_api.db import Base
from polaris_api.models.events import remaining_slots_expr
from polaris_api.ownership import (
    COMPUTED_FIELDS,
    OWNERSHIP,
    Owner,
    OwnershipConflict,
    as_public_map,
    check_writable,
    fields_owned_by,
    owner_of,
)

configure_mappers()
TABLES = Base.metadata.tables
MAPPERS = {mapper.local_table.name: mapper for mapper in Base.registry.mappers}


def _unique_column_sets(table: Table, *, partial: bool = False) -> set[frozenset[str]]:
    """Column sets a constraint or unique index makes unique. Partial indexes only if asked."""
    sets: set[frozenset[str]] = {frozenset(c.name for c in table.primary_key.columns)}
    for constraint in table.constraints:
        if isinstance(constraint, UniqueConstraint):
            sets.add(frozenset(c.name for c in constraint.columns))
    for index in table.indexes:
        where = index.dialect_options["postgresql"].get("where") is not None
        if index.unique and (partial or not where):
            sets.add(frozenset(c.name for c in index.columns))
    return sets


def _has_unique(table: str, *columns: str, partial: bool = False) -> bool:
    return frozenset(columns) in _unique_column_sets(TABLES[table], partial=partial)


# --------------------------------------------------------------------------------------
# Metadata


def test_every_table_has_a_primary_key() -> None:
    missing = [name for name, table in TABLES.items() if not table.primary_key.columns]
    assert missing == []


def test_identity_tables_are_not_defined_here() -> None:
    # user, api_key and audit_log belong to models/identity.py and models/audit.py
    own_modules = {
        "polaris_api.models." + n
        for n in ("reference", "people", "events", "teachers", "comms", "imports", "sync", "outbox")
    } | {"polaris_api.models.reports", "polaris_api.models.app_setting"}
    ours = {mp.local_table.name for mp in Base.registry.mappers if mp.class_.__module__ in own_modules}
    assert not ours & {"user", "api_key", "audit_log"}


SF_MIRRORED = [
    "district",
    "school",
    "school_class",
    "organization",
    "teacher",
    "student",
    "event",
    "event_participation",
    "event_student_participation",
    "volunteer_affiliation",
    "volunteer_sf_contact",
]


@pytest.mark.parametrize("table", SF_MIRRORED)
def test_sf_10_mirrored_rows_carry_mirror_columns_and_unique_salesforce_id(table: str) -> None:
    columns = set(TABLES[table].c.keys())
    assert {
        "salesforce_id",
        "sf_modstamp",
        "sf_last_seen_run_id",
        "is_deleted",
        "deleted_in_source_at",
        "deleted_in_source_reason",
    } <= columns
    assert _has_unique(table, "salesforce_id")
    assert TABLES[table].c.salesforce_id.type.length == 18


def test_sf_11_volunteer_and_communication_track_deletion() -> None:
    for table in ("volunteer", "communication"):
        assert {"is_deleted", "deleted_in_source_at", "deleted_in_source_reason", "sf_modstamp"} <= set(
            TABLES[table].c.keys()
        )


UNIQUENESS_00_6 = [
    pytest.param("volunteer_sf_contact", ("salesforce_id",), id="sf-id-per-volunteer-contact-R2"),
    pytest.param(
        "volunteer_email", ("volunteer_id", "email_normalized"), id="normalized-email-per-contact-row"
    ),
    pytest.param("teacher_email", ("teacher_id", "email_normalized"), id="normalized-email-per-teacher-row"),
    pytest.param("event_student_participation", ("event_id", "student_id"), id="event-student"),
    pytest.param("event_teacher", ("event_id", "teacher_id"), id="event-teacher"),
    pytest.param(
        "event_participation", ("event_id", "volunteer_id", "participant_type"), id="event-volunteer-type"
    ),
    pytest.param("event", ("pathful_session_id",), id="pathful-session-id"),
    pytest.param("communication", ("salesforce_activity_id",), id="comms-sf-activity-id"),
    pytest.param("signup", ("event_id", "normalized_email"), id="public-signup-event-email"),
]


@pytest.mark.parametrize(("table", "columns"), UNIQUENESS_00_6)
def test_00_6_uniqueness_is_a_constraint(table: str, columns: tuple[str, ...]) -> None:
    assert _has_unique(table, *columns), f"{table}{columns} is not unique by constraint"


OTHER_UNIQUENESS = [
    pytest.param("district", ("slug",), False, id="district-slug"),
    pytest.param("sf_watermark", ("kind", "sf_object"), False, id="sf-8-watermark"),
    pytest.param("sf_pending_record", ("kind", "salesforce_id"), False, id="sf-18-pending"),
    pytest.param("teacher", ("pathful_user_id",), False, id="pf-13-teacher-pathful-user-id"),
    pytest.param("volunteer", ("pathful_user_id",), False, id="pf-16-volunteer-pathful-user-id"),
    pytest.param("magic_link", ("token_hash",), False, id="ml-4-token-hash"),
    pytest.param("teacher_progress", ("district_id", "academic_year", "email"), False, id="ro-5-roster-key"),
    pytest.param("pathful_unmatched_record", ("type", "session_id", "match_key"), False, id="pf-17-key"),
    pytest.param(
        "district_manual_input",
        ("district_id", "school_year", "host_filter", "data_type"),
        False,
        id="06-6.8-manual-input",
    ),
    pytest.param("skill", ("name_normalized",), False, id="skill-name"),
    pytest.param("communication", ("email_message_salesforce_id",), False, id="sf-35-email-message-id"),
    pytest.param("attendance_override", ("teacher_progress_id", "event_id"), True, id="tp-5-one-active"),
    pytest.param("virtual_session_flag", ("event_id", "flag_type"), True, id="vs-6-one-open"),
    pytest.param(
        "data_quality_flag", ("code", "entity_type", "record_key", "field"), True, id="sf-16-one-open"
    ),
    pytest.param("sync_run", ("kind",), True, id="ops-2-one-active-run"),
]


@pytest.mark.parametrize(("table", "columns", "partial"), OTHER_UNIQUENESS)
def test_spec_uniqueness_rules(table: str, columns: tuple[str, ...], partial: bool) -> None:
    assert _has_unique(table, *columns, partial=partial)


def test_06_p3_minimum_indexes() -> None:
    def indexed(table: str, *columns: str) -> bool:
        heads = {tuple(c.name for c in ix.columns)[: len(columns)] for ix in TABLES[table].indexes}
        heads |= {tuple(c.name for c in uc.columns)[: len(columns)] for uc in TABLES[table].constraints}
        return tuple(columns) in heads

    for table, columns in [
        ("event", ("start_date",)),
        ("event", ("start_day",)),
        ("event", ("status",)),
        ("event", ("type",)),
        ("event", ("school_id",)),
        ("event", ("publish_status",)),
        ("event_district", ("district_id", "event_id")),
        ("event_participation", ("event_id",)),
        ("event_participation", ("volunteer_id",)),
        ("event_student_participation", ("event_id",)),
        ("event_student_participation", ("student_id",)),
        ("event_teacher", ("event_id",)),
        ("event_teacher", ("teacher_id",)),
        ("teacher", ("school_id",)),
        ("school", ("district_id",)),
        ("volunteer", ("email_normalized",)),
        ("teacher", ("email_normalized",)),
        ("student", ("student_id",)),
    ]:
        assert indexed(table, *columns), f"{table}{columns} has no index"


def test_voc_1_vocabulary_columns_are_plain_strings() -> None:
    # no database enum types: the schema must migrate on SQLite too
    for table in TABLES.values():
        for column in table.columns:
            assert not isinstance(column.type, sa.Enum), f"{table.name}.{column.name}"


# --------------------------------------------------------------------------------------
# Constraints on the real, migrated database (PostgreSQL or SQLite, per the suite's run)


async def _event(session: AsyncSession, **values: object) -> m.Event:
    event = m.Event(title="Career Fair", **values)
    session.add(event)
    await session.flush()
    return event


def _signup(event: m.Event, email: str, **values: object) -> m.Signup:
    return m.Signup(
        event_id=event.id,
        normalized_email=email,
        email=email,
        first_name="Ana",
        last_name="Lopez",
        organization="Acme",
        title="Engineer",
        **values,
    )


async def test_sign_5_second_signup_with_same_email_is_refused_by_the_database(session: AsyncSession) -> None:
    event = await _event(session, salesforce_id="a0B5f000001XyZqEAK")
    session.add(_signup(event, "ana@example.com"))
    await session.flush()
    session.add(_signup(event, "ana@example.com"))
    with pytest.raises(IntegrityError):
        await session.flush()
    await session.rollback()


async def test_ops_2_only_one_active_run_per_kind(session: AsyncSession) -> None:
    session.add(m.SyncRun(kind="salesforce-events", status="succeeded"))
    session.add(m.SyncRun(kind="salesforce-events", status="running"))
    await session.flush()
    session.add(m.SyncRun(kind="salesforce-events", status="queued"))
    with pytest.raises(IntegrityError):
        await session.flush()
    await session.rollback()


async def test_sf_16_one_open_flag_per_code_record_field(session: AsyncSession) -> None:
    session.add(m.DataQualityFlag(code="invalid_email", entity_type="volunteer", entity_id=7, field="email"))
    session.add(
        m.DataQualityFlag(
            code="invalid_email", entity_type="volunteer", entity_id=7, field="email", status="resolved"
        )
    )
    await session.flush()
    flag = (await session.scalars(select(m.DataQualityFlag).where(m.DataQualityFlag.status == "open"))).one()
    assert flag.record_key == "7"
    session.add(m.DataQualityFlag(code="invalid_email", entity_type="volunteer", entity_id=7, field="email"))
    with pytest.raises(IntegrityError):
        await session.flush()
    await session.rollback()


async def test_list_6_remaining_slots_counts_signups_salesforce_does_not_reflect(
    session: AsyncSession,
) -> None:
    seen = dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC)
    event = await _event(session, available_slots=3, publishing_last_seen_at=seen)
    full = await _event(session, available_slots=1)
    session.add_all(
        [
            _signup(event, "a@example.com"),  # not pushed: counts
            _signup(event, "b@example.com", sf_pushed_at=seen - dt.timedelta(hours=1)),  # reflected
            _signup(event, "c@example.com", sf_pushed_at=seen + dt.timedelta(minutes=5)),  # counts
            _signup(full, "a@example.com"),
            _signup(full, "b@example.com"),
        ]
    )
    await session.flush()
    rows = {row[0]: row[1] for row in await session.execute(select(m.Event.id, remaining_slots_expr()))}
    assert rows[event.id] == 1
    assert rows[full.id] == 0  # never negative
    assert event.format == "in_person"
    await session.rollback()


async def test_r6_utc_timestamps_round_trip(session: AsyncSession) -> None:
    when = dt.datetime(2026, 3, 12, 9, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
    event = await _event(session, start_date=when, start_day=dt.date(2026, 3, 12), type="virtual_session")
    event_id = event.id
    session.expunge_all()
    loaded = await session.get(m.Event, event_id)
    assert loaded is not None
    assert loaded.start_date == when and loaded.start_date.tzinfo == dt.UTC
    assert loaded.format == "virtual"  # 02 SF-32 default from the type
    await session.rollback()


# --------------------------------------------------------------------------------------
# Ownership registry (00 OWN-*)


def test_own_2_registry_names_only_mapped_attributes_or_computed_fields() -> None:
    problems = []
    for entity, fields in OWNERSHIP.items():
        assert entity in MAPPERS, f"{entity} is not a mapped table"
        mapper = MAPPERS[entity]
        attributes = set(mapper.columns.keys()) | set(mapper.relationships.keys())
        computed = COMPUTED_FIELDS.get(entity, frozenset())
        for field, owner in fields.items():
            if field in attributes:
                continue
            if owner is Owner.derived and field in computed:
                continue
            problems.append(f"{entity}.{field}")
    assert problems == []


def test_own_2_computed_fields_are_derived_and_have_no_column() -> None:
    for entity, names in COMPUTED_FIELDS.items():
        for name in names:
            assert owner_of(entity, name) is Owner.derived
            assert name not in MAPPERS[entity].columns


def test_own_1_every_domain_column_has_an_owner() -> None:
    for entity in ("event", "volunteer", "teacher", "student", "school", "district", "organization"):
        columns = set(MAPPERS[entity].columns.keys())
        assert columns <= set(OWNERSHIP[entity]), f"{entity}: {sorted(columns - set(OWNERSHIP[entity]))}"


def test_own_3_event_ownership_by_domain() -> None:
    assert owner_of("event", "title") is Owner.salesforce
    assert owner_of("event", "available_slots") is Owner.salesforce
    for field in ("display_on_website", "publish_status", "archived_reason", "note", "districts"):
        assert owner_of("event", field) is Owner.publishing
    for field in ("cancellation_reason", "cancellation_notes", "presenters"):
        assert owner_of("event", field) is Owner.polaris
    for field in ("pathful_session_id", "attended_student_count", "career_cluster", "series"):
        assert owner_of("event", field) is Owner.pathful
    assert owner_of("event", "remaining_slots") is Owner.derived


def test_own_2_publishing_cannot_write_sf_owned_event_field() -> None:
    with pytest.raises(OwnershipConflict) as caught:
        check_writable("event", ["title"], Owner.publishing)
    assert (caught.value.entity, caught.value.field, caught.value.owner) == (
        "event",
        "title",
        Owner.salesforce,
    )


def test_own_2_publishing_may_write_note() -> None:
    check_writable("event", ["note"], Owner.publishing)
    check_writable("event", ["note", "display_on_website", "districts"], Owner.publishing)


def test_own_2_first_offending_field_is_reported() -> None:
    with pytest.raises(OwnershipConflict) as caught:
        check_writable("event", ["note", "location", "title"], Owner.publishing)
    assert caught.value.field == "location"


def test_own_3_polaris_virtual_event_owns_its_core_fields() -> None:
    check_writable("event", ["title", "start_date", "districts"], Owner.polaris, sf_linked=False)
    with pytest.raises(OwnershipConflict):
        check_writable("event", ["title"], Owner.polaris)  # SF-linked: Salesforce's


def test_pf_11_pathful_session_fields_are_read_only_in_the_api() -> None:
    with pytest.raises(OwnershipConflict) as caught:
        check_writable("event", ["title"], Owner.polaris, sf_linked=False, pathful_linked=True)
    assert caught.value.owner is Owner.pathful
    check_writable(
        "event",
        ["cancellation_reason", "cancellation_notes"],
        Owner.polaris,
        sf_linked=False,
        pathful_linked=True,
    )
    assert {"title", "start_date", "duration", "status", "attended_student_count"} <= fields_owned_by(
        "event", Owner.pathful, sf_linked=False, pathful_linked=True
    )


def test_own_3_event_teacher_status_is_pathfuls_until_an_admin_annotates_it() -> None:
    assert owner_of("event_teacher", "status") is Owner.pathful
    assert owner_of("event_teacher", "notes") is Owner.polaris
    check_writable("event_teacher", ["status", "notes"], Owner.polaris, admin_annotated=True)


def test_own_3_volunteer_identity_and_demographics() -> None:
    assert owner_of("volunteer", "gender") is Owner.salesforce
    assert owner_of("volunteer", "gender", sf_linked=False) is Owner.website
    assert owner_of("volunteer", "local_status") is Owner.polaris
    assert owner_of("volunteer", "pathful_user_id") is Owner.pathful
    assert owner_of("teacher_progress", "name") is Owner.roster
    assert owner_of("teacher_progress", "status") is Owner.derived
    assert owner_of("teacher", "first_name", sf_linked=False) is Owner.roster


def test_sf_13_importer_field_sets() -> None:
    sf_event = fields_owned_by("event", Owner.salesforce)
    assert "title" in sf_event and "salesforce_id" in sf_event
    assert not sf_event & {"display_on_website", "publish_status", "note", "districts", "cancellation_reason"}
    assert "pathful_session_id" not in sf_event


def test_own_2_public_map_is_json_ready() -> None:
    public = as_public_map()
    assert public["entities"]["event"]["note"] == "publishing"
    assert set(public["owners"]) == {o.value for o in Owner}
    assert any(rule["entity"] == "event" and rule["owner"] == "pathful" for rule in public["conditional"])
    json.dumps(public)
