"""Alembic environment: runs on a connection handed over by ``polaris_api.migrations``.

Run migrations with ``polaris db upgrade`` (or ``alembic upgrade head`` with
``POLARIS_DATABASE_URL`` set; this file then opens the async engine itself).
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

import polaris_api.models  # noqa: F401  (registers every table)
from polaris_api.db import Base, make_engine
from polaris_api.settings import Settings

target_metadata = Base.metadata


def _configure_and_run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_with_own_engine() -> None:
    engine = make_engine(Settings().database_url)
    async with engine.begin() as connection:
        await connection.run_sync(_configure_and_run)
    await engine.dispose()


connection = context.config.attributes.get("connection")
if connection is not None:
    _configure_and_run(connection)
else:
    asyncio.run(_run_with_own_engine())
