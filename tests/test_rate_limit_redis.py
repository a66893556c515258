"""Issue 11 item 5: rate limits in Redis (07 AC-3 login, 03 SIGN-10 signup, 04 ML magic links;
09 SCALE-5 several processes share one store).

Against the Redis server of this machine and CI (``POLARIS_TEST_REDIS_URL``, default
``redis://127.0.0.1:6379/14``). Every test counts under its own key prefix and deletes its keys
afterwards, so no test depends on what an earlier run left behind.

When Redis is unreachable (or does not answer within ``POLARIS_RATE_LIMIT_TIMEOUT_SECONDS``) the
limited endpoints fail closed: 503 ``rate_limit_unavailable`` with ``Retry-After``, never a 500,
and nothing is written.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import AsyncIterator, Callable
from importlib.metadata import distribution, version
from typing import Any

import coredis
import httpx
import pytest
from packaging.requirements import Requirement
from sqlalchemy import func, select

from polaris_api.models.events import Signup
from polaris_api.ratelimit import UNAVAILABLE_RETRY_AFTER_SECONDS
from tests.signup_factories import listed_event, signup_form

REDIS_URL = os.environ.get("POLARIS_TEST_REDIS_URL", "redis://127.0.0.1:6379/14")
UNREACHABLE = "redis://127.0.0.1:1"  # nothing listens on port 1
LOGIN_LIMIT = 5


@pytest.fixture
async def key_prefix() -> AsyncIterator[str]:
    """A prefix no other test or run uses; its keys are deleted after the test."""
    prefix = f"polaris-test-{uuid.uuid4().hex}"
    yield prefix
    client: Any = coredis.Redis.from_url(REDIS_URL)
    keys = [key async for key in client.scan_iter(match=f"{prefix}*")]
    if keys:
        await client.delete(keys)


async def _redis_keys(prefix: str) -> list[bytes]:
    client: Any = coredis.Redis.from_url(REDIS_URL)
    return [key async for key in client.scan_iter(match=f"{prefix}*")]


def _client(app: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")


async def _bad_login(http: httpx.AsyncClient) -> httpx.Response:
    return await http.post(
        "/api/v1/auth/token", data={"username": "nobody@example.org", "password": "wrong password"}
    )


def _redis_app(make_app: Callable[..., Any], prefix: str, url: str = REDIS_URL, **overrides: Any) -> Any:
    return make_app(
        rate_limit_storage=url,
        rate_limit_key_prefix=prefix,
        login_rate_limit_per_minute=LOGIN_LIMIT,
        **overrides,
    )


def test_issue_11_item_5_fresh_install_brings_a_redis_client_limits_supports():
    """The project depends on ``limits[async-redis]``, and the coredis installed with it is one
    that ``limits`` declares it supports (coredis was missing; coredis 6 broke every login)."""
    requirements = [Requirement(r) for r in distribution("polaris-api").requires or []]
    limits_req = next(r for r in requirements if r.name == "limits" and r.marker is None)
    assert "async-redis" in limits_req.extras
    coredis_req = next(
        Requirement(r)
        for r in distribution("limits").requires or []
        if Requirement(r).name == "coredis" and 'extra == "async-redis"' in str(Requirement(r).marker)
    )
    assert coredis_req.specifier.contains(version("coredis"))


async def test_issue_11_item_5_login_limit_counts_in_redis(make_app, key_prefix):
    """AC-3 with Redis storage: 5 refused logins, then 429 with Retry-After; the counts are in
    Redis under the configured prefix."""
    app = _redis_app(make_app, key_prefix)
    async with _client(app) as http:
        statuses = [(await _bad_login(http)).status_code for _ in range(LOGIN_LIMIT)]
        blocked = await _bad_login(http)
    assert statuses == [401] * LOGIN_LIMIT
    assert blocked.status_code == 429
    assert blocked.json()["code"] == "rate_limited"
    assert 1 <= int(blocked.headers["retry-after"]) <= 61
    assert await _redis_keys(key_prefix), "the login attempts were not counted in Redis"


async def test_issue_11_item_5_scale_5_two_app_instances_share_the_login_limit(make_app, key_prefix):
    """Two app instances (as two server processes would) over one Redis share one count: three
    attempts on one and two on the other use up the limit for both. Another prefix (another
    deployment on the same Redis) counts apart."""
    first, second = _redis_app(make_app, key_prefix), _redis_app(make_app, key_prefix)
    other_deployment = _redis_app(make_app, f"{key_prefix}-other")
    async with _client(first) as a, _client(second) as b, _client(other_deployment) as c:
        statuses = [(await _bad_login(a)).status_code for _ in range(3)]
        statuses += [(await _bad_login(b)).status_code for _ in range(2)]
        blocked = [(await _bad_login(a)).status_code, (await _bad_login(b)).status_code]
        elsewhere = (await _bad_login(c)).status_code
    assert statuses == [401] * LOGIN_LIMIT
    assert blocked == [429, 429]
    assert elsewhere == 401


def _assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "rate_limit_unavailable"
    assert response.headers["retry-after"] == str(UNAVAILABLE_RETRY_AFTER_SECONDS)


async def test_issue_11_item_5_unreachable_redis_is_503_with_retry_after_not_500(make_app, session):
    """Login, signup and both magic-link endpoints answer 503 ``rate_limit_unavailable`` with
    Retry-After (today: 500); the signup writes nothing."""
    event_id = (await listed_event(session)).id
    app = _redis_app(make_app, "unused", url=UNREACHABLE)
    started = time.monotonic()
    async with _client(app) as http:
        login = await _bad_login(http)
        signup = await http.post(f"/api/v1/public/events/{event_id}/signup", json=signup_form())
        request = await http.post("/api/v1/teacher-access/request", json={"email": "t@example.org"})
        exchange = await http.post("/api/v1/teacher-access/exchange", json={"token": "x" * 43})
    elapsed = time.monotonic() - started
    for response in (login, signup, request, exchange):
        _assert_unavailable(response)
    assert await session.scalar(select(func.count()).select_from(Signup)) == 0
    assert elapsed < 5


async def test_issue_11_item_5_redis_that_does_not_answer_is_503_within_the_timeout(make_app):
    """A store that accepts the connection but never answers (a hung Redis, a black-holed
    network) is refused within about twice ``rate_limit_timeout_seconds``, not after minutes."""
    hung: list[asyncio.StreamWriter] = []

    async def never_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        hung.append(writer)

    server = await asyncio.start_server(never_answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    app = _redis_app(make_app, "unused", url=f"redis://127.0.0.1:{port}", rate_limit_timeout_seconds=0.3)
    try:
        async with _client(app) as http:
            started = time.monotonic()
            response = await _bad_login(http)
            elapsed = time.monotonic() - started
    finally:
        for writer in hung:
            writer.close()
        server.close()
        await server.wait_closed()
    _assert_unavailable(response)
    assert elapsed < 2
