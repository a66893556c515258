"""Shared fixtures: a real database (PostgreSQL or SQLite), migrated by Alembic, and the app.

``POLARIS_TEST_DATABASE_URL`` picks the database (``.ci/run`` runs the suite once on a throwaway
PostgreSQL database and once on SQLite). Without it, a temporary SQLite file is used.

Each test runs inside one outer transaction that is rolled back at the end (as Polar's
``tests/fixtures/database.py`` does): ``db`` is a connection with a begun transaction, every
session of the test and of the app is bound to it and turns its commits into savepoints
(``make_sessionmaker`` joins with ``join_transaction_mode="create_savepoint"``). So no test
depends on another's state, and nothing has to be deleted between tests.

Tests that need real commits (several connections, threads or processes: live servers,
concurrency, background sync runs, CLI subprocesses, migrations) are marked
``@pytest.mark.committed_db``: their ``db`` is the engine itself, emptied before the test.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

import polaris_api.models  # noqa: F401
from polaris_api.app import create_app
from polaris_api.db import Base, make_engine, make_sessionmaker
from polaris_api.migrations import upgrade
from polaris_api.models.identity import User
from polaris_api.security import hash_password, issue_token
from polaris_api.settings import Settings
from tests.console_browser import (  # noqa: F401  (staff console browser fixtures and hook, issue 12)
    console_browser,
    console_page,
    console_server,
    pytest_pyfunc_call,
    screenshot_dir,
)
from tests.sf_fixtures import (  # noqa: F401  (Salesforce test double fixtures for the whole suite)
    fake_sf,
    sf,
    sf_app_settings,
    sf_client,
    sf_settings,
    sleeps,
)

TEST_JWT_SECRET = "test-secret-" + "x" * 40
TEST_PASSWORD = "correct horse battery"
TEST_PASSWORD_HASH = hash_password(TEST_PASSWORD)


def _database_url() -> str:
    configured = os.environ.get("POLARIS_TEST_DATABASE_URL")
    if configured:
        return configured
    directory = Path(tempfile.mkdtemp(prefix="polaris-test-"))
    return f"sqlite+aiosqlite:///{directory / 'test.db'}"


DATABASE_URL = _database_url()
IS_POSTGRES = DATABASE_URL.startswith("postgresql")
# POLARIS_TEST_EMPTY_TABLES=1 runs every test the former way (emptied tables, real commits): only
# to compare the suite's speed with the rolled-back transactions on the same code.
EMPTY_TABLES_EVERY_TEST = os.environ.get("POLARIS_TEST_EMPTY_TABLES") == "1"


def make_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "env": "development",
        "database_url": DATABASE_URL,
        "jwt_secret": TEST_JWT_SECRET,
        "email_backend": "disabled",
        "outbox_worker_enabled": False,
        "gc_tuning": False,
        "cors_origins": ["https://www.example.org"],
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture(scope="session")
async def engine() -> AsyncIterator[AsyncEngine]:
    engine = make_engine(DATABASE_URL)
    await upgrade(engine)
    yield engine
    await engine.dispose()


async def _empty_all_tables(engine: AsyncEngine) -> None:
    """Delete every row, children first. On PostgreSQL only tables that hold rows are touched:
    TRUNCATE of every table costs about a second per test, DELETE on a few small tables far less."""
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    async with engine.begin() as connection:
        if IS_POSTGRES:
            probe = " UNION ALL ".join(
                f"SELECT '{name}' FROM \"{name}\" HAVING count(*) > 0" for name in tables
            )
            non_empty = {row[0] for row in await connection.execute(text(probe))}
            tables = [name for name in tables if name in non_empty]
        for name in tables:
            await connection.execute(text(f'DELETE FROM "{name}"'))


async def _rolled_back_connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    async with engine.connect() as connection:
        transaction = await connection.begin()
        if connection.dialect.name == "sqlite":
            # pysqlite defers BEGIN to the first write; without a real BEGIN the first savepoint
            # would open the transaction itself and its RELEASE would commit it.
            await connection.exec_driver_sql("BEGIN")
        try:
            yield connection
        finally:
            if transaction.is_active:
                await transaction.rollback()


# What a test's ``db`` is: a connection inside a transaction rolled back at the end, or, for
# ``committed_db`` tests, the engine itself.
Bind = AsyncConnection | AsyncEngine


@pytest.fixture
async def db(engine: AsyncEngine, request: pytest.FixtureRequest) -> AsyncIterator[Any]:
    """A migrated database that this test alone sees: a connection whose transaction is rolled
    back after the test, or, for tests marked ``committed_db``, the emptied engine."""
    if EMPTY_TABLES_EVERY_TEST or request.node.get_closest_marker("committed_db") is not None:
        await _empty_all_tables(engine)
        yield engine
        await _empty_all_tables(engine)  # the next tests start from an empty database
        return
    async for connection in _rolled_back_connection(engine):
        yield connection


@pytest.fixture
async def committed_db(engine: AsyncEngine, request: pytest.FixtureRequest) -> AsyncEngine:
    """The real database, emptied, for a test that needs commits other connections see.
    Use it through the marker (``@pytest.mark.committed_db``) so ``db``/``app`` follow."""
    assert request.node.get_closest_marker("committed_db") is not None, "mark the test committed_db"
    return engine


def bind_app(application: Any, db: Bind) -> Any:
    """Point an app's sessions at the test's connection; a no-op for ``committed_db`` tests.
    ``state.engine`` becomes the test engine (statement listeners see the app's statements); the
    app's own engine never connected, so nothing is left to dispose."""
    if isinstance(db, AsyncConnection):
        application.state.sessionmaker = make_sessionmaker(db)
        application.state.engine = db.engine
    return application


async def dispose_app(application: Any, db: Bind) -> None:
    if not isinstance(db, AsyncConnection):
        await application.state.engine.dispose()
    assert_problems_documented(application)


def assert_problems_documented(application: Any) -> None:
    """Issue 10 item 5: a problem code an endpoint answered during the test must be listed in
    its ``responses=`` (the app records misses; see tests/test_problem_docs.py)."""
    missing = sorted(set(getattr(application.state, "undocumented_problems", [])))
    assert not missing, f"problems answered but not listed in the route's responses=: {missing}"


@pytest.fixture
async def make_app(db: Bind) -> AsyncIterator[Callable[..., Any]]:
    """``create_app(make_settings(**overrides))`` bound to the test's database."""
    created: list[Any] = []

    def factory(**overrides: Any) -> Any:
        application = bind_app(create_app(make_settings(**overrides)), db)
        created.append(application)
        return application

    yield factory
    for application in created:
        await dispose_app(application, db)


@pytest.fixture
async def session(db: Bind) -> AsyncIterator[AsyncSession]:
    async with make_sessionmaker(db)() as session:
        yield session


@pytest.fixture
def settings() -> Settings:
    return make_settings()


@pytest.fixture
async def app(db: Bind, settings: Settings) -> AsyncIterator[Any]:
    application = bind_app(create_app(settings), db)
    yield application
    await dispose_app(application, db)


@pytest.fixture
async def client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


UserFactory = Callable[..., Awaitable[dict[str, Any]]]


@pytest.fixture
def make_user(db: Bind) -> UserFactory:
    """Create a user directly and return ``{id, email, headers}`` with a valid bearer token."""
    counter = {"n": 0}

    async def factory(
        level: int = 0,
        districts: list[int] | None = None,
        email: str | None = None,
        password: str = TEST_PASSWORD,
    ) -> dict[str, Any]:
        counter["n"] += 1
        email = email or f"user{counter['n']}-l{level}@example.org"
        # Rows are inserted directly with a hash computed once: argon2 is deliberately slow and
        # the matrix creates hundreds of users. The hashing path itself is tested in test_auth.
        password_hash = TEST_PASSWORD_HASH if password == TEST_PASSWORD else hash_password(password)
        async with make_sessionmaker(db)() as session:
            user = User(
                email=email.strip().lower(),
                password_hash=password_hash,
                security_level=level,
                scope_type="district" if districts is not None else "global",
                allowed_district_ids=districts or [],
            )
            session.add(user)
            await session.commit()
        token, _ = issue_token(
            secret=TEST_JWT_SECRET,
            subject=user.id,
            token_type="staff",
            version=user.token_version,
            minutes=60,
        )
        return {
            "id": user.id,
            "email": email,
            "password": password,
            "headers": {"Authorization": f"Bearer {token}"},
        }

    return factory


@pytest.fixture
async def admin(make_user: UserFactory) -> dict[str, Any]:
    return await make_user(level=3)
