"""07 AC-6 (issue 11 item 6): a district id spelled another way (``+1``, `` 1``, ``1.0``) must not
slip past the district scope. Every endpoint taking ``district_id`` in its path or query is
called, from its capability-matrix row, by a user scoped to district 2 asking for district 1:
never a success. The id types accept one spelling (ASCII digits), so a non-canonical one is a
422 for every caller.
"""

from __future__ import annotations

from typing import Any

import pytest

from polaris_api.app import create_app
from tests.capability_matrix import Case
from tests.conftest import make_settings
from tests.test_capabilities import CASES, principals  # noqa: F401  (the matrix's fixture)

# raw as they go on the wire: path segments percent-encoded, query values encoded by httpx
PATH_SPELLINGS = ["%2B1", "%201", "1%20", "1.0", "1e0", "1_0"]
QUERY_SPELLINGS = ["+1", " 1", "1 ", "1.0", "1e0", "\uff11"]  # the last: a fullwidth digit one


def _district_params(app: Any) -> dict[tuple[str, str], set[str]]:
    """(method, path) → where the operation takes ``district_id`` ("path" and/or "query")."""
    found: dict[tuple[str, str], set[str]] = {}
    for path, operations in app.openapi()["paths"].items():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                if parameter["name"] == "district_id" and parameter["in"] in ("path", "query"):
                    found.setdefault((method.upper(), path), set()).add(parameter["in"])
    return found


DISTRICT_PARAMS = _district_params(create_app(make_settings()))
SCOPED = [
    (case, DISTRICT_PARAMS[(case.method, case.path)])
    for case in CASES
    if (case.method, case.path) in DISTRICT_PARAMS
]


def _request(case: Case, ctx: dict[str, Any], where: set[str], spelling: str) -> tuple[str, dict[str, Any]]:
    url = case.url(ctx) if case.url else case.path
    if "path" in where:
        template, concrete = case.path.split("/"), url.split("/")
        concrete[template.index("{district_id}")] = spelling
        url = "/".join(concrete)
    kwargs = dict(case.build(ctx, "district"))
    if "query" in where and "path" not in where:
        kwargs["params"] = {**(kwargs.get("params") or {}), "district_id": spelling}
    return url, kwargs


def test_ac_6_every_district_id_endpoint_is_covered():
    """The walk below must see every operation that takes ``district_id`` (none slips by)."""
    assert sorted(DISTRICT_PARAMS) == sorted((case.method, case.path) for case, _ in SCOPED)
    assert ("GET", "/api/v1/districts/{district_id}") in DISTRICT_PARAMS
    assert ("GET", "/api/v1/teacher-progress/summary") in DISTRICT_PARAMS


@pytest.mark.parametrize(("case", "where"), SCOPED, ids=[f"{c.method} {c.path}" for c, _ in SCOPED])
async def test_ac_6_non_canonical_district_ids_do_not_bypass_the_scope(
    client,
    principals,
    make_user,
    session,
    case: Case,
    where: set[str],  # noqa: F811
):
    outsider = (await make_user(level=2, districts=[2]))["headers"]
    insider = principals["headers"]["district"]  # scoped to district 1
    admin = principals["headers"]["admin"]
    if case.setup is not None:
        await case.setup(principals, session)
    canonical_url, canonical = _request(case, principals, where, "1")
    control = await client.request(case.method, canonical_url, headers=outsider, **canonical)
    assert control.status_code == 403, f"canonical id: {control.status_code}"
    leaks: list[str] = []
    for spelling in PATH_SPELLINGS if "path" in where else QUERY_SPELLINGS:
        url, kwargs = _request(case, principals, where, spelling)
        response = await client.request(case.method, url, headers=outsider, **kwargs)
        if response.status_code not in (403, 422):
            leaks.append(f"district 2 user, {url} {kwargs.get('params')}: {response.status_code}")
        # one spelling per id: a non-canonical id is refused as invalid (the district 1 user may
        # get a 403 first: ``1_0`` reads as district 10)
        answer = await client.request(case.method, url, headers=admin, **kwargs)
        if answer.status_code != 422:
            leaks.append(f"admin, {url} {kwargs.get('params')}: {answer.status_code}, not 422")
        answer = await client.request(case.method, url, headers=insider, **kwargs)
        if answer.status_code not in (403, 422):
            leaks.append(f"district 1 user, {url} {kwargs.get('params')}: {answer.status_code}")
    assert leaks == []
