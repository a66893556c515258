"""Login, tokens, passwords and API keys (07 AC-3, AC-4, AC-5, AC-6)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from polaris_api.models.identity import ApiKey, User
from polaris_api.security import sha256_hex
from tests.conftest import TEST_PASSWORD


async def login(client, email: str, password: str = TEST_PASSWORD, ip: str | None = None):
    headers = {"X-Forwarded-For": ip} if ip else {}
    return await client.post(
        "/api/v1/auth/token", data={"username": email, "password": password}, headers=headers
    )


async def test_ac_4_login_issues_bearer_token_that_works(client, make_user):
    user = await make_user(level=1)
    response = await login(client, user["email"].upper())
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 3600
    me = await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200
    assert me.json()["user"]["security_level_name"] == "supervisor"


async def test_ac_6_wrong_password_is_401_problem(client, make_user):
    user = await make_user()
    response = await login(client, user["email"], "wrong password here")
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"] == "Bearer"
    assert (await login(client, "nobody@example.org")).status_code == 401


async def test_ac_6_missing_or_garbage_credentials_are_401(client):
    for headers in ({}, {"Authorization": "Bearer not-a-jwt"}, {"X-API-Key": "pk_nope"}):
        response = await client.get("/api/v1/auth/me", headers=headers)
        assert response.status_code == 401
        assert response.json()["code"] == "unauthorized"


async def test_ac_3_login_rate_limited_after_five_attempts_per_minute(client, make_user):
    user = await make_user()
    statuses = [(await login(client, user["email"], "wrong password!!")).status_code for _ in range(5)]
    assert statuses == [401] * 5
    blocked = await login(client, user["email"])  # even the right password is refused now
    assert blocked.status_code == 429
    assert int(blocked.headers["retry-after"]) >= 1
    other = await make_user()
    assert (await login(client, other["email"])).status_code == 200  # per (IP, username)


async def test_ac_3_passwords_stored_as_argon2_digest(session, make_user):
    user = await make_user()
    row = (await session.execute(select(User).where(User.id == user["id"]))).scalar_one()
    assert row.password_hash.startswith("$argon2id$")
    assert TEST_PASSWORD not in row.password_hash


async def test_ac_3_password_minimum_length(client, admin):
    response = await client.post(
        "/api/v1/users",
        headers=admin["headers"],
        json={"email": "short@example.org", "password": "elevenchars"},
    )
    assert response.status_code == 422


async def test_ac_4_token_stops_working_after_password_change(client, make_user):
    user = await make_user()
    token = (await login(client, user["email"])).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    changed = await client.post(
        "/api/v1/auth/password",
        headers=headers,
        json={"current_password": TEST_PASSWORD, "new_password": "a brand new passphrase"},
    )
    assert changed.status_code == 204
    assert (await client.get("/api/v1/auth/me", headers=headers)).status_code == 401
    assert (await login(client, user["email"], "a brand new passphrase")).status_code == 200


async def test_ac_4_wrong_current_password_changes_nothing(client, make_user):
    user = await make_user()
    response = await client.post(
        "/api/v1/auth/password",
        headers=user["headers"],
        json={"current_password": "not my password", "new_password": "a brand new passphrase"},
    )
    assert response.status_code == 400
    assert (await client.get("/api/v1/auth/me", headers=user["headers"])).status_code == 200


async def test_ac_4_token_stops_working_after_deactivation_and_role_change(client, admin, make_user):
    deactivated = await make_user()
    demoted = await make_user(level=2)
    r1 = await client.patch(
        f"/api/v1/users/{deactivated['id']}", headers=admin["headers"], json={"is_active": False}
    )
    r2 = await client.patch(
        f"/api/v1/users/{demoted['id']}", headers=admin["headers"], json={"security_level": 0}
    )
    assert r1.status_code == r2.status_code == 200
    assert (await client.get("/api/v1/auth/me", headers=deactivated["headers"])).status_code == 401
    assert (await client.get("/api/v1/auth/me", headers=demoted["headers"])).status_code == 401
    assert (await login(client, deactivated["email"])).status_code == 401


async def test_ac_4_name_change_keeps_tokens_valid(client, admin, make_user):
    user = await make_user()
    response = await client.patch(
        f"/api/v1/users/{user['id']}", headers=admin["headers"], json={"first_name": "Ann"}
    )
    assert response.status_code == 200
    assert (await client.get("/api/v1/auth/me", headers=user["headers"])).status_code == 200


async def create_key(client, admin, scopes, **extra):
    response = await client.post(
        "/api/v1/api-keys", headers=admin["headers"], json={"name": "scheduler", "scopes": scopes, **extra}
    )
    assert response.status_code == 201, response.text
    return response.json()


async def test_ac_5_api_key_shown_once_stored_as_digest(client, admin, session):
    created = await create_key(client, admin, ["sync:run"])
    assert created["key"].startswith("pk_") and len(created["key"]) > 40
    assert created["key"].startswith(created["prefix"])
    row = (await session.execute(select(ApiKey).where(ApiKey.id == created["id"]))).scalar_one()
    assert row.key_digest == sha256_hex(created["key"])
    assert created["key"] not in {row.key_digest, row.prefix, row.name}
    listed = (await client.get("/api/v1/api-keys", headers=admin["headers"])).json()
    assert listed["total"] == 1 and "key" not in listed["items"][0]


async def test_ac_5_api_key_works_until_revoked_and_rotation_overlaps(client, admin, session):
    old = await create_key(client, admin, ["read"])
    new = await create_key(client, admin, ["read"])
    for key in (old, new):
        assert (await client.get("/api/v1/auth/me", headers={"X-API-Key": key["key"]})).status_code == 200
    revoked = await client.delete(f"/api/v1/api-keys/{old['id']}", headers=admin["headers"])
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    assert (await client.get("/api/v1/auth/me", headers={"X-API-Key": old["key"]})).status_code == 401
    me = await client.get("/api/v1/auth/me", headers={"X-API-Key": new["key"]})
    assert me.status_code == 200 and me.json()["api_key_scopes"] == ["read"]
    row = (await session.execute(select(ApiKey).where(ApiKey.id == new["id"]))).scalar_one()
    assert row.last_used_at is not None


async def test_ac_5_expired_api_key_is_refused(client, admin, session):
    key = await create_key(
        client, admin, ["read"], expires_at=(dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).isoformat()
    )
    row = (await session.execute(select(ApiKey).where(ApiKey.id == key["id"]))).scalar_one()
    row.expires_at = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    await session.commit()
    assert (await client.get("/api/v1/auth/me", headers={"X-API-Key": key["key"]})).status_code == 401


async def test_ac_5_api_key_of_deactivated_owner_stops_working(client, admin, make_user):
    other_admin = await make_user(level=3)
    key = await create_key(client, other_admin, ["read"])
    await client.patch(
        f"/api/v1/users/{other_admin['id']}", headers=admin["headers"], json={"is_active": False}
    )
    assert (await client.get("/api/v1/auth/me", headers={"X-API-Key": key["key"]})).status_code == 401


async def test_ac_5_api_key_scopes_are_validated(client, admin):
    response = await client.post(
        "/api/v1/api-keys", headers=admin["headers"], json={"name": "x", "scopes": ["admin:everything"]}
    )
    assert response.status_code == 422


async def test_users_email_unique_and_normalized(client, admin):
    body = {"email": " New.Person@Example.org ", "password": "long enough password"}
    first = await client.post("/api/v1/users", headers=admin["headers"], json=body)
    assert first.status_code == 201 and first.json()["email"] == "new.person@example.org"
    second = await client.post(
        "/api/v1/users", headers=admin["headers"], json={**body, "email": "NEW.PERSON@example.org"}
    )
    assert second.status_code == 409


async def test_ac_2_district_scope_rules(client, admin):
    both = {"email": "d@example.org", "password": "long enough password"}
    bad = await client.post(
        "/api/v1/users",
        headers=admin["headers"],
        json={**both, "scope_type": "global", "allowed_district_ids": [1]},
    )
    assert bad.status_code == 422
    ok = await client.post(
        "/api/v1/users",
        headers=admin["headers"],
        json={**both, "scope_type": "district", "allowed_district_ids": [4, 4, 2]},
    )
    assert ok.status_code == 201 and ok.json()["allowed_district_ids"] == [2, 4]


async def test_admin_cannot_lock_themselves_out(client, admin):
    response = await client.patch(
        f"/api/v1/users/{admin['id']}", headers=admin["headers"], json={"is_active": False}
    )
    assert response.status_code == 409
