"""07 CAP-*, AC-6, DV-*: every endpoint answers each kind of caller exactly as the matrix says.

Roles: anonymous, admin, global users at levels 0 and 2, a district user (district 1),
API keys with `read` and with `sync:run`, and a teacher token. Each row builds a real request;
allowed roles must get the success status, refused roles 403, anonymous callers 401.
A guard test fails when an endpoint exists that this matrix does not cover.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

import pytest

import tests
from polaris_api.security import issue_token
from tests.capability_matrix import ALL_AUTHENTICATED, ROLES, STAFF, Case, only
from tests.conftest import TEST_JWT_SECRET, TEST_PASSWORD

OWN_CASES: list[Case] = [
    Case("GET", "/api/v1/auth/me", 200, ALL_AUTHENTICATED),
    Case(
        "POST",
        "/api/v1/auth/password",
        204,
        STAFF,
        build=lambda ctx, role: {
            "json": {"current_password": TEST_PASSWORD, "new_password": "another long password"}
        },
    ),
    Case("GET", "/api/v1/users", 200, only("admin")),
    Case(
        "POST",
        "/api/v1/users",
        201,
        only("admin"),
        build=lambda ctx, role: {
            "json": {"email": f"new-{role}@example.org", "password": "long enough password"}
        },
    ),
    Case(
        "GET",
        "/api/v1/users/{user_id}",
        200,
        only("admin"),
        url=lambda ctx: f"/api/v1/users/{ctx['target_user']}",
    ),
    Case(
        "PATCH",
        "/api/v1/users/{user_id}",
        200,
        only("admin"),
        url=lambda ctx: f"/api/v1/users/{ctx['target_user']}",
        build=lambda ctx, role: {"json": {"first_name": "Renamed"}},
    ),
    Case("GET", "/api/v1/api-keys", 200, only("admin")),
    Case(
        "POST",
        "/api/v1/api-keys",
        201,
        only("admin"),
        build=lambda ctx, role: {"json": {"name": "cron", "scopes": ["sync:run"]}},
    ),
    Case(
        "DELETE",
        "/api/v1/api-keys/{key_id}",
        200,
        only("admin"),
        url=lambda ctx: f"/api/v1/api-keys/{ctx['target_key']}",
    ),
    Case("GET", "/api/v1/audit-log", 200, only("admin")),
    Case("GET", "/api/v1/meta/ownership", 200, ALL_AUTHENTICATED),
    Case("GET", "/api/v1/meta/vocabularies", 200, ALL_AUTHENTICATED),
]

PUBLIC_PATHS = {"/healthz", "/readyz"}
# Credentials are what these take (07 AC-1): login and the teacher magic-link steps before a token.
UNAUTHENTICATED_PATHS = {
    "/api/v1/auth/token",
    "/api/v1/teacher-access/request",
    "/api/v1/teacher-access/exchange",
}


def _all_cases() -> list[Case]:
    cases = list(OWN_CASES)
    for module in pkgutil.iter_modules(tests.__path__):
        if module.name.startswith("cap_cases_"):
            cases.extend(importlib.import_module(f"tests.{module.name}").CASES)
    return cases


CASES = _all_cases()


@pytest.fixture
async def principals(client, make_user, admin) -> dict[str, Any]:
    headers: dict[str, dict[str, str]] = {"admin": admin["headers"]}
    headers["manager"] = (await make_user(level=2))["headers"]
    headers["user"] = (await make_user(level=0))["headers"]
    headers["district"] = (await make_user(level=2, districts=[1]))["headers"]
    for role, scope in (("key_read", "read"), ("key_sync", "sync:run")):
        created = await client.post(
            "/api/v1/api-keys", headers=admin["headers"], json={"name": role, "scopes": [scope]}
        )
        headers[role] = {"X-API-Key": created.json()["key"]}
    teacher_token, _ = issue_token(
        secret=TEST_JWT_SECRET, subject=1, token_type="teacher", version=1, minutes=5
    )
    headers["teacher"] = {"Authorization": f"Bearer {teacher_token}"}
    target_user = await make_user(level=0)
    target_key = await client.post(
        "/api/v1/api-keys", headers=admin["headers"], json={"name": "t", "scopes": ["read"]}
    )
    return {"headers": headers, "target_user": target_user["id"], "target_key": target_key.json()["id"]}


def case_id(case: Case) -> str:
    return f"{case.method} {case.path}"


@pytest.mark.parametrize("case", CASES, ids=case_id)
async def test_cap_matrix(client, principals, session, case: Case):
    if case.setup is not None:
        await case.setup(principals, session)
    url = case.url(principals) if case.url else case.path
    anonymous = await client.request(case.method, url, **case.build(principals, "anonymous"))
    assert anonymous.status_code == 401, f"anonymous {case_id(case)}"
    assert anonymous.headers["content-type"] == "application/problem+json"
    for role in ROLES:
        response = await client.request(
            case.method, url, headers=principals["headers"][role], **case.build(principals, role)
        )
        expected = case.success if role in case.allowed else 403
        assert response.status_code == expected, (
            f"{role} {case_id(case)}: {response.status_code} {response.text[:200]}"
        )
        if expected == 403:
            assert response.headers["content-type"] == "application/problem+json"


def test_cap_matrix_covers_every_endpoint(app):
    """Every operation in the OpenAPI schema outside public/operations paths has a matrix row."""
    covered = {(case.method, case.path) for case in CASES}
    missing = []
    for path, operations in app.openapi()["paths"].items():
        if not path.startswith("/api/v1/") or path.startswith("/api/v1/public/") or path in PUBLIC_PATHS:
            continue
        if path in UNAUTHENTICATED_PATHS:
            continue
        for method in operations:
            if (method.upper(), path) not in covered:
                missing.append(f"{method.upper()} {path}")
    assert len(covered) >= 12
    assert not missing, f"endpoints missing from the capability matrix: {missing}"
