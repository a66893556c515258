"""Organizations (00 §5.1 ``GET /api/v1/organizations``): text and type filters, order, pagination;
global staff and ``read`` keys only (district users 403: organizations are not listed in DV-2)."""

from __future__ import annotations

import pytest

from tests.read_factories import make_organization

ORGANIZATIONS = "/api/v1/organizations"


def names(response) -> list[str]:
    assert response.status_code == 200, response.text
    return [item["name"] for item in response.json()["items"]]


@pytest.fixture
async def world(session):
    await make_organization(session, "Acme Engineering", type="Business", billing_city="Kansas City")
    await make_organization(session, "beacon Health", type="Non-Profit")
    await make_organization(session, "Cobalt 100%_ Partners", type="business")
    await make_organization(session, "Defunct LLC", type="Business", is_deleted=True)
    await session.commit()


async def test_list_excludes_deleted_orders_by_name_and_filters(client, admin, world):
    response = await client.get(ORGANIZATIONS, headers=admin["headers"])
    assert names(response) == ["Acme Engineering", "beacon Health", "Cobalt 100%_ Partners"]
    item = response.json()["items"][0]
    assert item["type"] == "Business" and item["billing_city"] == "Kansas City" and item["salesforce_id"]
    assert names(await client.get(ORGANIZATIONS, headers=admin["headers"], params={"q": "HEALTH"})) == [
        "beacon Health"
    ]
    assert names(await client.get(ORGANIZATIONS, headers=admin["headers"], params={"q": "100%_"})) == [
        "Cobalt 100%_ Partners"
    ]
    assert names(await client.get(ORGANIZATIONS, headers=admin["headers"], params={"q": "%"})) == [
        "Cobalt 100%_ Partners"
    ]
    assert names(await client.get(ORGANIZATIONS, headers=admin["headers"], params={"type": "BUSINESS"})) == [
        "Acme Engineering",
        "Cobalt 100%_ Partners",
    ]
    assert names(
        await client.get(ORGANIZATIONS, headers=admin["headers"], params={"type": "business", "q": "acme"})
    ) == ["Acme Engineering"]
    second = (
        await client.get(ORGANIZATIONS, headers=admin["headers"], params={"page": 2, "page_size": 2})
    ).json()
    assert [i["name"] for i in second["items"]] == ["Cobalt 100%_ Partners"] and second["total"] == 3


async def test_district_users_are_refused_and_read_keys_allowed(client, admin, make_user, world):
    district_user = await make_user(level=3, districts=[1])
    refused = await client.get(ORGANIZATIONS, headers=district_user["headers"])
    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/problem+json"
    created = await client.post(
        "/api/v1/api-keys", headers=admin["headers"], json={"name": "bi", "scopes": ["read"]}
    )
    assert len(names(await client.get(ORGANIZATIONS, headers={"X-API-Key": created.json()["key"]}))) == 3


async def test_hostile_query_values_are_4xx_problems(client, admin):
    for params in (
        {"q": "x" * 201},
        {"q": "nul\x00"},
        {"type": "a\tb"},
        {"page": "-1"},
        {"page_size": "abc"},
    ):
        response = await client.get(ORGANIZATIONS, headers=admin["headers"], params=params)
        assert 400 <= response.status_code < 500, params
        assert response.headers["content-type"] == "application/problem+json"
