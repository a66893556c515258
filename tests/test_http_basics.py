"""Cross-cutting HTTP behaviour: problem+json, request ids, security headers (OBS-1/2, PRIV-6)."""

from __future__ import annotations

import pytest


async def test_404_and_405_are_problem_json(client, admin):
    missing = await client.get("/api/v1/no-such-thing")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    assert missing.json()["type"] == "/problems/not_found" and missing.json()["status"] == 404
    wrong_method = await client.put("/api/v1/audit-log", headers=admin["headers"])
    assert wrong_method.status_code == 405
    assert wrong_method.json()["code"] == "method_not_allowed"


async def test_validation_error_lists_fields_without_echoing_values(client, admin):
    secret_value = "Zebulon.Quixote@Example.org<script>"
    response = await client.post(
        "/api/v1/users",
        headers=admin["headers"],
        json={"email": secret_value, "password": 5, "bogus": secret_value},
    )
    assert response.status_code == 422
    body = response.json()
    assert response.headers["content-type"] == "application/problem+json"
    locs = {tuple(error["loc"]) for error in body["errors"]}
    assert ("body", "email") in locs and ("body", "bogus") in locs and ("body", "password") in locs
    assert "Zebulon" not in response.text and "Quixote" not in response.text


async def test_malformed_json_is_422_problem(client, admin):
    response = await client.post(
        "/api/v1/users",
        headers={**admin["headers"], "Content-Type": "application/json"},
        content=b"{not json",
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"


async def test_obs_2_request_id_generated_and_echoed(client):
    generated = await client.get("/healthz")
    assert len(generated.headers["x-request-id"]) == 32
    given = await client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert given.headers["x-request-id"] == "abc-123"
    hostile = await client.get("/healthz", headers={"X-Request-ID": "x" * 500})
    assert hostile.headers["x-request-id"] != "x" * 500


async def test_priv_6_security_headers_and_no_store(client, admin):
    response = await client.get("/api/v1/auth/me", headers=admin["headers"])
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["cache-control"] == "no-store"
    error = await client.get("/api/v1/auth/me")
    assert error.headers["cache-control"] == "no-store"


async def test_obs_1_healthz_and_readyz(client):
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "ok"


async def test_obs_1_readyz_503_when_database_not_migrated(tmp_path):
    import httpx

    from polaris_api.app import create_app
    from tests.conftest import make_settings

    app = create_app(make_settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
        response = await http.get("/readyz")
    await app.state.engine.dispose()
    assert response.status_code == 503 and response.json()["reason"] == "migrations not at head"


@pytest.mark.parametrize("path", ["/api/v1/users", "/api/v1/api-keys", "/api/v1/audit-log"])
async def test_pagination_bounds(client, admin, path):
    assert (await client.get(path, headers=admin["headers"], params={"page_size": 201})).status_code == 422
    assert (await client.get(path, headers=admin["headers"], params={"page": 0})).status_code == 422
    page = (await client.get(path, headers=admin["headers"], params={"page_size": 200})).json()
    assert set(page) == {"items", "page", "page_size", "total"}


async def test_values_the_database_cannot_hold_are_422_not_500(client, admin):
    """A NUL character or an out-of-range date reaching the database is bad input (non-negotiable 4)."""
    for params in (
        {"action": "user.created\x00"},
        {"entity_id": "a\x00b"},
        {"since": "0001-01-01T00:00:00Z"},
    ):
        response = await client.get("/api/v1/audit-log", headers=admin["headers"], params=params)
        assert response.status_code in (200, 422), (params, response.status_code)
        if response.status_code == 422:
            assert response.headers["content-type"] == "application/problem+json"
