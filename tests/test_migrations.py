"""00 §6 / non-negotiable 7: Alembic owns the schema; migrations go up and down on both databases
and match the ORM models exactly."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine

from polaris_api.db import Base, make_engine
from polaris_api.migrations import database_revision, downgrade, head_revision, upgrade
from tests.conftest import DATABASE_URL, IS_POSTGRES


@pytest.fixture
async def scratch_engine(tmp_path) -> AsyncIterator[AsyncEngine]:
    """A brand-new empty database of the same kind as the suite's."""
    if not IS_POSTGRES:
        engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'scratch.db'}")
        yield engine
        await engine.dispose()
        return
    name = f"polaris_scratch_{uuid.uuid4().hex[:10]}"
    server_url = DATABASE_URL.rsplit("/", 1)[0] + "/postgres"
    admin = make_engine(server_url, isolation_level="AUTOCOMMIT")
    async with admin.connect() as connection:
        await connection.execute(text(f"CREATE DATABASE {name}"))
    engine = make_engine(DATABASE_URL.rsplit("/", 1)[0] + f"/{name}")
    try:
        yield engine
    finally:
        await engine.dispose()
        async with admin.connect() as connection:
            await connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        await admin.dispose()


async def _tables(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as connection:
        return set(await connection.run_sync(lambda conn: inspect(conn).get_table_names()))


async def test_migrations_upgrade_downgrade_upgrade(scratch_engine):
    await upgrade(scratch_engine)
    assert await database_revision(scratch_engine) == head_revision()
    assert set(Base.metadata.tables) <= await _tables(scratch_engine)
    await downgrade(scratch_engine, "base")
    assert await _tables(scratch_engine) <= {"alembic_version"}
    await upgrade(scratch_engine)
    assert await database_revision(scratch_engine) == head_revision()


async def test_migrations_match_the_models(engine):
    """Autogenerate finds nothing to add: every model change has its migration."""

    def differences(connection):  # noqa: ANN001, ANN202
        context = MigrationContext.configure(connection, opts={"compare_type": False})
        return compare_metadata(context, Base.metadata)

    async with engine.connect() as connection:
        diff = await connection.run_sync(differences)
    assert diff == [], f"models and migrations differ: {diff[:5]}"


async def test_migration_0006_keeps_the_task_stamp_of_rows_a_task_wrote_alone(scratch_engine):
    """0006 (SF-10, issue 13 item 5): a communication row without an EmailMessage was written by its
    Task alone, so its ``sf_modstamp`` becomes ``task_sf_modstamp``; a row shared with an email
    has the email's stamp, so it gets none (its Task's next read sets it)."""
    import datetime as dt

    import sqlalchemy as sa

    from polaris_api.db import UTCDateTime

    await upgrade(scratch_engine, "0005")
    stamp = dt.datetime(2025, 3, 4, 15, 0, tzinfo=dt.UTC)
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    communication = sa.table(
        "communication",
        sa.column("salesforce_activity_id", sa.String),
        sa.column("email_message_salesforce_id", sa.String),
        sa.column("kind", sa.String),
        sa.column("to_addresses", sa.JSON),
        sa.column("cc_addresses", sa.JSON),
        sa.column("match_status", sa.String),
        sa.column("sf_modstamp", UTCDateTime(timezone=True)),
        sa.column("created_at", UTCDateTime(timezone=True)),
        sa.column("updated_at", UTCDateTime(timezone=True)),
    )
    common = {"kind": "call", "to_addresses": [], "cc_addresses": [], "match_status": "unmatched"}
    async with scratch_engine.begin() as connection:
        for activity, email in (("00T000000000001AAA", None), ("00T000000000002AAA", "02s000000000002AAA")):
            await connection.execute(
                communication.insert().values(
                    **common,
                    salesforce_activity_id=activity,
                    email_message_salesforce_id=email,
                    sf_modstamp=stamp,
                    created_at=now,
                    updated_at=now,
                )
            )
    await upgrade(scratch_engine)
    task_stamp = sa.column("task_sf_modstamp", UTCDateTime(timezone=True))
    async with scratch_engine.connect() as connection:
        rows = dict(
            (
                await connection.execute(
                    sa.select(sa.column("salesforce_activity_id"), task_stamp).select_from(
                        sa.table("communication")
                    )
                )
            ).all()
        )
    assert rows == {"00T000000000001AAA": stamp, "00T000000000002AAA": None}
