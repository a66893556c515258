"""Bad input on every endpoint: 4xx problem+json, never a 500 (00 §5, non-negotiable 4).

Schemathesis generates requests from the app's own OpenAPI schema, valid and invalid, and sends
them over HTTP to the real app under uvicorn, authenticated as an admin so that requests reach
validation and the services.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from polaris_api.app import create_app
from polaris_api.db import make_engine, make_sessionmaker
from polaris_api.migrations import upgrade
from polaris_api.schemas.identity import UserCreate
from polaris_api.security import issue_token
from polaris_api.services.identity import create_user
from tests.conftest import DATABASE_URL, TEST_JWT_SECRET, _empty_all_tables, make_settings
from tests.live_server import serve_in_thread

schema = schemathesis.openapi.from_dict(create_app(make_settings()).openapi())

# Endpoints whose side effects would lock the fuzzing admin out of the rest of the run.
SELF_LOCKING = {("POST", "/api/v1/auth/password")}


async def _prepare_admin() -> str:
    engine = make_engine(DATABASE_URL)
    await upgrade(engine)
    await _empty_all_tables(engine)
    async with make_sessionmaker(engine)() as session:
        user = await create_user(
            session,
            None,
            UserCreate(email="fuzz-admin@example.org", password="fuzzing password", security_level=3),
        )
        await session.commit()
    await engine.dispose()
    token, _ = issue_token(secret=TEST_JWT_SECRET, subject=user.id, token_type="staff", version=1, minutes=60)
    return token


@pytest.fixture(scope="module")
def fuzz_target() -> Iterator[dict[str, object]]:
    import concurrent.futures

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        token = pool.submit(asyncio.run, _prepare_admin()).result()
    app = create_app(make_settings(login_rate_limit_per_minute=10_000))
    with serve_in_thread(app) as base_url:
        yield {"base_url": base_url, "headers": {"Authorization": f"Bearer {token}"}}
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, _empty_database()).result()  # later tests start from an empty database


async def _empty_database() -> None:
    engine = make_engine(DATABASE_URL)
    await _empty_all_tables(engine)
    await engine.dispose()


@schema.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
def test_bad_input_never_500_and_errors_are_problem_json(case, fuzz_target):
    if (case.method.upper(), case.path) in SELF_LOCKING:
        return
    response = case.call(base_url=fuzz_target["base_url"], headers=fuzz_target["headers"], timeout=30)
    assert response.status_code < 500, (
        f"{case.method} {case.formatted_path}: {response.status_code} {response.text[:300]}"
    )
    if response.status_code >= 400:
        content_type = response.headers.get("content-type") or [""]
        content_type = content_type[0] if isinstance(content_type, list) else content_type
        assert content_type.startswith("application/problem+json"), response.text[:200]
