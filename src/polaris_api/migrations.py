"""Alembic, driven from code: upgrade, downgrade and revision checks on both databases.

The migration scripts live in ``alembic/`` at the repository root (``POLARIS_ALEMBIC_DIR``
overrides). Commands run on a connection of the app's async engine, so they work from the CLI,
from the app and from tests inside a running event loop.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine


def alembic_dir() -> Path:
    configured = os.environ.get("POLARIS_ALEMBIC_DIR")
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parents[2] / "alembic"


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(alembic_dir()))
    config.attributes["connection"] = connection
    return config


@lru_cache
def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


async def _run(engine: AsyncEngine, action: Any, *args: Any) -> None:
    async with engine.begin() as connection:
        await connection.run_sync(lambda sync_conn: action(alembic_config(sync_conn), *args))


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    await _run(engine, command.upgrade, revision)


async def downgrade(engine: AsyncEngine, revision: str = "base") -> None:
    await _run(engine, command.downgrade, revision)


async def database_revision(engine: AsyncEngine) -> str | None:
    async with engine.connect() as connection:
        return await connection.run_sync(lambda conn: MigrationContext.configure(conn).get_current_revision())
