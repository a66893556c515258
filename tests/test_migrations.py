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
