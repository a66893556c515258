"""Reference reads (00 §5.1): districts and schools, scoped for district users (07 AC-2, AC-6, DV-2)."""

from __future__ import annotations

import pytest

from tests.factories import make_district, make_school

DISTRICTS = "/api/v1/districts"
SCHOOLS = "/api/v1/schools"


def names(response) -> list[str]:
    assert response.status_code == 200, response.text
    return [item["name"] for item in response.json()["items"]]


@pytest.fixture
async def world(session):
    alpha = await make_district(session, "Alpha District", district_code="A1")
    beta = await make_district(session, "Beta District")
    gone = await make_district(session, "Gone District", is_deleted=True)
    await make_school(session, "Alpha High", district=alpha, level="high")
    await make_school(session, "Alpha Middle", district=alpha)
    await make_school(session, "Beta Elementary", district=beta)
    await make_school(session, "Closed School", district=alpha, is_deleted=True)
    await make_school(session, "Unattached Academy")
    await session.commit()
    return {"alpha": alpha.id, "beta": beta.id, "gone": gone.id}


async def test_districts_list_excludes_deleted_filters_and_orders_by_name(client, admin, world):
    assert names(await client.get(DISTRICTS, headers=admin["headers"])) == ["Alpha District", "Beta District"]
    assert names(await client.get(DISTRICTS, headers=admin["headers"], params={"q": "BET"})) == [
        "Beta District"
    ]
    only = await client.get(DISTRICTS, headers=admin["headers"], params={"district_id": world["alpha"]})
    assert names(only) == ["Alpha District"]
    item = only.json()["items"][0]
    assert set(item) == {"id", "name", "slug", "district_code", "salesforce_id"}
    assert item["slug"] == "alpha-district" and item["district_code"] == "A1"
    one = await client.get(f"{DISTRICTS}/{world['beta']}", headers=admin["headers"])
    assert one.status_code == 200 and one.json()["name"] == "Beta District"
    for missing in (world["gone"], 999_999):
        response = await client.get(f"{DISTRICTS}/{missing}", headers=admin["headers"])
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"


async def test_schools_list_excludes_deleted_and_filters_by_district_and_text(client, admin, world):
    everything = await client.get(SCHOOLS, headers=admin["headers"])
    assert names(everything) == ["Alpha High", "Alpha Middle", "Beta Elementary", "Unattached Academy"]
    alpha = await client.get(SCHOOLS, headers=admin["headers"], params={"district_id": world["alpha"]})
    assert names(alpha) == ["Alpha High", "Alpha Middle"]
    assert alpha.json()["items"][0]["level"] == "high"
    assert alpha.json()["items"][0]["district_id"] == world["alpha"]
    assert names(await client.get(SCHOOLS, headers=admin["headers"], params={"q": "middle"})) == [
        "Alpha Middle"
    ]
    paged = (await client.get(SCHOOLS, headers=admin["headers"], params={"page": 2, "page_size": 3})).json()
    assert [i["name"] for i in paged["items"]] == ["Unattached Academy"] and paged["total"] == 4


async def test_ac_6_district_user_lists_are_restricted_silently(client, make_user, world):
    user = await make_user(level=0, districts=[world["alpha"]])
    assert names(await client.get(DISTRICTS, headers=user["headers"])) == ["Alpha District"]
    assert names(await client.get(SCHOOLS, headers=user["headers"])) == ["Alpha High", "Alpha Middle"]
    own = await client.get(SCHOOLS, headers=user["headers"], params={"district_id": world["alpha"]})
    assert names(own) == ["Alpha High", "Alpha Middle"]
    nobody = await make_user(level=2, districts=[])  # AC-2: an empty list sees nothing
    assert names(await client.get(DISTRICTS, headers=nobody["headers"])) == []
    assert names(await client.get(SCHOOLS, headers=nobody["headers"])) == []


async def test_ac_6_district_user_tampering_with_district_id_in_path_or_query_is_403(
    client, make_user, world
):
    user = await make_user(level=2, districts=[world["alpha"]])
    for method_url, params in (
        (f"{DISTRICTS}/{world['beta']}", {}),
        (f"{DISTRICTS}/999999", {}),
        (DISTRICTS, {"district_id": world["beta"]}),
        (SCHOOLS, {"district_id": world["beta"]}),
        (SCHOOLS, [("district_id", world["alpha"]), ("district_id", world["beta"])]),
    ):
        response = await client.get(method_url, headers=user["headers"], params=params)
        assert response.status_code == 403, (method_url, params)
        assert response.headers["content-type"] == "application/problem+json"
    assert (await client.get(f"{DISTRICTS}/{world['alpha']}", headers=user["headers"])).status_code == 200


async def test_reference_reads_hostile_inputs_are_4xx_problems_and_credentials_required(client, admin, world):
    for url, params in (
        (f"{DISTRICTS}/99999999999999999999", {}),
        (f"{DISTRICTS}/0", {}),
        (f"{DISTRICTS}/abc", {}),
        (DISTRICTS, {"district_id": "1 OR 1=1"}),
        (SCHOOLS, {"district_id": 10**15}),
        (SCHOOLS, {"q": "x" * 201}),
        (SCHOOLS, {"page_size": 1000}),
    ):
        response = await client.get(url, headers=admin["headers"], params=params)
        assert 400 <= response.status_code < 500, (url, params)
        assert response.headers["content-type"] == "application/problem+json"
    assert names(await client.get(SCHOOLS, headers=admin["headers"], params={"q": "%_"})) == []

    # credentials are required
    for url in (DISTRICTS, SCHOOLS, f"{DISTRICTS}/{world['alpha']}"):
        response = await client.get(url)
        assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer"
