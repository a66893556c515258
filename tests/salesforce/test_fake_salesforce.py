"""The Salesforce test double (02 SF-70 … SF-78), exercised through simple-salesforce over HTTPS."""

from __future__ import annotations

import json
import re
import ssl
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceExpiredSession,
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceRefusedRequest,
)

from polaris_api.testing.fake_salesforce import FakeSalesforce
from polaris_api.testing.fake_salesforce.runner import FakeSalesforceAdmin

Client = Callable[..., Salesforce]


def _ids(result: dict[str, Any]) -> list[str]:
    return [r["Id"] for r in result["records"]]


def _error(exc: Any) -> str:
    return exc.content[0]["errorCode"]


def _http(sf: FakeSalesforce) -> httpx.Client:
    return httpx.Client(base_url=sf.instance_url, verify=ssl.create_default_context(cafile=str(sf.ca_path)))


SESSIONS = [
    {
        "Id": "a0S000000000001AAA",
        "Name": "Career Day",
        "Session_Status__c": "Confirmed",
        "Start_Date__c": "2026-03-10",
        "Start_Date_and_Time__c": "2026-03-10T15:00:00.000+0000",
        "Available_Slots__c": 3,
        "Display_on_Website__c": True,
        "Session_Type__c": "Career Fair",
    },
    {
        "Id": "a0S000000000002AAA",
        "Name": "draft thing",
        "Session_Status__c": "Draft",
        "Start_Date__c": "2026-03-11",
        "Start_Date_and_Time__c": "2026-03-11T23:30:00.000+0000",
        "Available_Slots__c": 0,
        "Display_on_Website__c": False,
        "Session_Type__c": "",
    },
    {
        "Id": "a0S000000000003AAA",
        "Name": "Mock Interviews",
        "Session_Status__c": None,
        "Start_Date__c": None,
        "Start_Date_and_Time__c": None,
        "Available_Slots__c": None,
        "Session_Type__c": "Connector Session",
    },
    {
        "Id": "a0S000000000004AAA",
        "Name": "career day",
        "Session_Status__c": "confirmed",
        "Start_Date__c": "2026-02-01",
        "Start_Date_and_Time__c": "2026-02-01T05:59:59.000+0000",
        "Available_Slots__c": 12.5,
        "Session_Type__c": "Workplace Visit",
    },
]


# --------------------------------------------------------------------------------------------
# SF-71 endpoints and auth
# --------------------------------------------------------------------------------------------


def test_sf_71_bad_or_missing_token_is_401_invalid_session_id(sf: FakeSalesforce, sf_client: Client):
    with pytest.raises(SalesforceExpiredSession) as info:
        sf_client(token="not-the-token").query("SELECT Id FROM Contact")
    assert info.value.status == 401
    assert _error(info.value) == "INVALID_SESSION_ID"
    with _http(sf) as http:
        response = http.get("/services/data/v59.0/query", params={"q": "SELECT Id FROM Contact"})
    assert response.status_code == 401
    assert response.json()[0]["errorCode"] == "INVALID_SESSION_ID"
    assert [r["status"] for r in sf.admin.requests()] == [401, 401]


def test_sf_71_trailing_slash_optional_for_query_and_query_all(sf: FakeSalesforce):
    sf.admin.upsert("Contact", [{"LastName": "Doe"}])
    headers = {"Authorization": f"Bearer {sf.token}"}
    with _http(sf) as http:
        for path in ("query", "query/", "queryAll", "queryAll/"):
            response = http.get(
                f"/services/data/v61.0/{path}", params={"q": "SELECT Id FROM Contact"}, headers=headers
            )
            assert response.status_code == 200, path
            assert response.json()["totalSize"] == 1
        assert (
            http.get(
                "/services/data/vX/query", params={"q": "SELECT Id FROM Contact"}, headers=headers
            ).status_code
            == 404
        )
        assert (
            http.get("/services/data/v59.0/sobjects", headers=headers).json()[0]["errorCode"] == "NOT_FOUND"
        )


# --------------------------------------------------------------------------------------------
# SF-72 response shape
# --------------------------------------------------------------------------------------------


def test_sf_72_records_have_attributes_then_fields_in_select_order(sf: FakeSalesforce, sf_client: Client):
    sf.admin.replace("Session__c", SESSIONS)
    result = sf_client().query(
        "SELECT Start_Date__c, Name, Id, Description__c FROM Session__c WHERE Id = 'a0S000000000001AAA'"
    )
    assert list(result) == ["totalSize", "done", "records"]
    assert result["totalSize"] == 1 and result["done"] is True
    record = result["records"][0]
    assert list(record) == ["attributes", "Start_Date__c", "Name", "Id", "Description__c"]
    assert record["attributes"] == {
        "type": "Session__c",
        "url": "/services/data/v59.0/sobjects/Session__c/a0S000000000001AAA",
    }
    # Description__c is a schema field that no fixture record holds: selectable, null.
    assert record["Description__c"] is None
    # Field names come back in their API casing whatever the query used.
    lower = sf_client().query("select name, ID from SESSION__C where id = 'a0S000000000001AAA'")
    assert list(lower["records"][0]) == ["attributes", "Name", "Id"]


def test_sf_72_relationship_paths_are_nested_objects_or_null(sf: FakeSalesforce, sf_client: Client):
    sf.admin.replace(
        "Contact",
        [
            {"Id": "003000000000001AAA", "Email": "ann@example.org", "Contact_Type__c": "Volunteer"},
            {"Id": "003000000000002AAA", "Email": "bob@example.org", "Contact_Type__c": "Teacher"},
            {"Id": "003000000000003AAA", "Email": "cy@example.org", "Contact_Type__c": None},
        ],
    )
    sf.admin.replace(
        "Task",
        [
            {"Id": "00T000000000001AAA", "WhoId": "003000000000001AAA", "Subject": "Call"},
            {"Id": "00T000000000002AAA", "WhoId": None, "Subject": "No who"},
            # a nested fixture object supplies the path directly (SF-76)
            {"Id": "00T000000000003AAA", "WhoId": "003XYZ", "Who": {"Email": "nested@example.org"}},
        ],
    )
    result = sf_client().query_all("SELECT Id, Who.Email, Subject FROM Task ORDER BY Id")
    records = result["records"]
    assert list(records[0]) == ["attributes", "Id", "Who", "Subject"]
    assert records[0]["Who"] == {
        "attributes": {"type": "Contact", "url": "/services/data/v59.0/sobjects/Contact/003000000000001AAA"},
        "Email": "ann@example.org",
    }
    assert records[1]["Who"] is None
    assert records[2]["Who"]["Email"] == "nested@example.org"

    sf.admin.replace(
        "npe5__Affiliation__c",
        [
            {"Id": "a0A000000000001AAA", "npe5__Contact__c": "003000000000001AAA"},
            {"Id": "a0A000000000002AAA", "npe5__Contact__c": "003000000000002AAA"},
            {"Id": "a0A000000000003AAA", "npe5__Contact__c": "003000000000003AAA"},
            {"Id": "a0A000000000004AAA", "npe5__Contact__c": None},
        ],
    )
    volunteers = sf_client().query_all(
        "SELECT Id, npe5__Contact__r.Contact_Type__c FROM npe5__Affiliation__c "
        "WHERE (npe5__Contact__r.Contact_Type__c = 'Volunteer' OR npe5__Contact__r.Contact_Type__c = '' "
        "OR npe5__Contact__r.Contact_Type__c = null) ORDER BY Id"
    )
    # A missing related record counts as null for the filter.
    assert _ids(volunteers) == ["a0A000000000001AAA", "a0A000000000003AAA", "a0A000000000004AAA"]
    assert volunteers["records"][0]["npe5__Contact__r"]["Contact_Type__c"] == "Volunteer"
    assert volunteers["records"][2]["npe5__Contact__r"] is None


# --------------------------------------------------------------------------------------------
# SF-73 paging
# --------------------------------------------------------------------------------------------


def test_sf_73_paging_page_size_3_over_10_records_returns_all_in_order(sf: FakeSalesforce, sf_client: Client):
    sf.admin.replace("Contact", [{"Id": f"003{i:015d}", "LastName": f"n{i:02d}"} for i in range(10)])
    sf.admin.set_page_size(3)
    client = sf_client()
    first = client.query("SELECT Id, LastName FROM Contact ORDER BY LastName DESC")
    assert first["totalSize"] == 10 and first["done"] is False and len(first["records"]) == 3
    assert re.fullmatch(r"/services/data/v59\.0/query/01g[A-Za-z0-9]+-3", first["nextRecordsUrl"])
    names = [r["LastName"] for r in first["records"]]
    page = first
    sizes = [3]
    while not page["done"]:
        page = client.query_more(page["nextRecordsUrl"], identifier_is_url=True)
        sizes.append(len(page["records"]))
        names += [r["LastName"] for r in page["records"]]
    assert sizes == [3, 3, 3, 1]
    assert names == [f"n{i:02d}" for i in reversed(range(10))]
    assert "nextRecordsUrl" not in page
    log = sf.admin.requests()
    assert [(r["endpoint"], r["page"], r["status"]) for r in log] == [
        ("query", 0, 200),
        ("more", 1, 200),
        ("more", 2, 200),
        ("more", 3, 200),
    ]
    # query_all follows the same cursor chain
    assert len(client.query_all("SELECT Id FROM Contact")["records"]) == 10


def test_sf_73_pages_come_from_a_snapshot_taken_at_the_first_page(sf: FakeSalesforce, sf_client: Client):
    sf.admin.replace("Contact", [{"Id": f"003{i:015d}", "LastName": f"n{i}"} for i in range(5)])
    sf.admin.set_page_size(2)
    client = sf_client()
    first = client.query("SELECT Id, LastName FROM Contact ORDER BY Id")
    sf.admin.upsert("Contact", [{"Id": "003000000000000004", "LastName": "changed"}, {"LastName": "new"}])
    sf.admin.delete("Contact", "003000000000000003")
    rest: list[dict[str, Any]] = []
    page = first
    while not page["done"]:
        page = client.query_more(page["nextRecordsUrl"], identifier_is_url=True)
        rest += page["records"]
    assert [r["LastName"] for r in rest] == ["n2", "n3", "n4"]


def test_sf_73_query_all_next_url_uses_query_path_and_unknown_cursor_is_400(
    sf: FakeSalesforce, sf_client: Client
):
    sf.admin.replace("Contact", [{"LastName": f"n{i}", "IsDeleted": i % 2 == 0} for i in range(6)])
    sf.admin.set_page_size(2)
    client = sf_client()
    first = client.query("SELECT Id FROM Contact", include_deleted=True)
    assert first["totalSize"] == 6
    assert first["nextRecordsUrl"].startswith("/services/data/v59.0/query/01g")
    assert len(client.query_all("SELECT Id FROM Contact", include_deleted=True)["records"]) == 6
    with pytest.raises(SalesforceMalformedRequest) as info:
        client.query_more("/services/data/v59.0/query/01gDoesNotExist0000-2", identifier_is_url=True)
    assert _error(info.value) == "INVALID_QUERY_LOCATOR"
    with pytest.raises(SalesforceMalformedRequest):
        client.query_more("/services/data/v59.0/query/garbage", identifier_is_url=True)


# --------------------------------------------------------------------------------------------
# SF-74 SOQL subset, SF-75 semantics
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("Session_Status__c != 'Draft'", [1, 3, 4]),  # != is true for null
        ("Session_Status__c = 'CONFIRMED'", [1, 4]),  # text compares case-insensitively
        ("Session_Type__c = ''", [2]),  # '' equals null (and '')
        ("Session_Type__c = null", [2]),
        ("Session_Type__c != null", [1, 3, 4]),
        ("Session_Status__c IN ('draft', 'Confirmed')", [1, 2, 4]),
        ("Session_Status__c NOT IN ('Draft')", [1, 3, 4]),  # NOT IN is true for null
        ("Available_Slots__c > 0", [1, 4]),  # null > 0 is false
        ("Available_Slots__c <= 3", [1, 2]),
        ("Available_Slots__c >= 12.5", [4]),
        ("Available_Slots__c < 0", []),
        ("Display_on_Website__c = true", [1]),
        ("Display_on_Website__c = FALSE", [2]),
        ("Display_on_Website__c != true", [2, 3, 4]),
        ("Start_Date__c > 2026-03-10", [2]),
        ("Start_Date__c >= 2026-03-10", [1, 2]),
        ("Start_Date__c < 2026-03-10", [4]),
        ("Start_Date_and_Time__c >= 2026-03-10T15:00:00Z", [1, 2]),
        ("Start_Date_and_Time__c > 2026-03-10T10:00:00.000-0500", [2]),  # instants, any offset
        ("Start_Date_and_Time__c = 2026-03-10T09:00:00-06:00", [1]),
        ("Session_Status__c = 'Draft' OR Session_Type__c = 'Connector Session'", [2, 3]),
        ("Session_Status__c != 'Draft' AND Session_Type__c != 'Connector Session'", [1, 4]),
        ("(Session_Status__c = 'Draft' OR Available_Slots__c > 5) AND Name != null", [2, 4]),
        ("Name = 'Career Day' AND (Start_Date__c > 2026-03-01 OR Start_Date__c = null)", [1]),
        ("Id IN ('a0S000000000003AAA', 'a0S000000000004AAA')", [3, 4]),
        ("Name = 'it\\'s'", []),
    ],
)
def test_sf_74_soql_subset_where_clauses(
    sf: FakeSalesforce, sf_client: Client, where: str, expected: list[int]
):
    sf.admin.replace("Session__c", SESSIONS)
    result = sf_client().query_all(f"SELECT Id FROM Session__c WHERE {where} ORDER BY Id")
    assert _ids(result) == [f"a0S00000000000{n}AAA" for n in expected]


def test_sf_74_keywords_case_insensitive_and_limit(sf: FakeSalesforce, sf_client: Client):
    sf.admin.replace("Session__c", SESSIONS)
    result = sf_client().query_all(
        "select Id from Session__c where session_status__c != 'Draft' order by Start_Date__c asc nulls last limit 2"
    )
    assert _ids(result) == ["a0S000000000004AAA", "a0S000000000001AAA"]
    assert sf_client().query_all("SELECT Id FROM Session__c LIMIT 0")["records"] == []


@pytest.mark.parametrize(
    ("order_by", "expected"),
    [
        ("Start_Date__c ASC, Id ASC", [3, 4, 1, 2]),  # nulls first by default for ASC
        ("Start_Date__c ASC NULLS LAST", [4, 1, 2, 3]),
        ("Start_Date__c DESC", [2, 1, 4, 3]),  # nulls last by default for DESC
        ("Start_Date__c DESC NULLS FIRST", [3, 2, 1, 4]),
        ("Name ASC, Id DESC", [4, 1, 2, 3]),  # 'career day' ties 'Career Day' case-insensitively
        ("Available_Slots__c DESC NULLS LAST, Name", [4, 1, 2, 3]),
        ("Start_Date_and_Time__c ASC NULLS LAST", [4, 1, 2, 3]),
    ],
)
def test_sf_75_order_by_several_fields_asc_desc_nulls(
    sf: FakeSalesforce, sf_client: Client, order_by: str, expected: list[int]
):
    sf.admin.replace("Session__c", SESSIONS)
    result = sf_client().query_all(f"SELECT Id FROM Session__c ORDER BY {order_by}")
    assert _ids(result) == [f"a0S00000000000{n}AAA" for n in expected]


def test_sf_75_without_order_by_records_come_in_fixture_order(sf: FakeSalesforce, sf_client: Client):
    shuffled = [SESSIONS[2], SESSIONS[0], SESSIONS[3], SESSIONS[1]]
    sf.admin.replace("Session__c", shuffled)
    assert _ids(sf_client().query_all("SELECT Id FROM Session__c")) == [s["Id"] for s in shuffled]


@pytest.mark.parametrize(
    "soql",
    [
        "SELECT COUNT(Id) FROM Session__c",
        "SELECT Id FROM Session__c GROUP BY Id",
        "SELECT Name, COUNT(Id) FROM Session__c GROUP BY Name HAVING COUNT(Id) > 1",
        "SELECT Id, (SELECT Id FROM Session_Participants__r) FROM Session__c",
        "SELECT Id FROM Session__c WHERE Id IN (SELECT Session__c FROM Session_Participant__c)",
        "SELECT Id FROM Session__c WHERE Name LIKE 'Career%'",
        "SELECT Id FROM Session__c WHERE NOT Name = 'x'",
        "SELECT Id FROM Session__c WHERE Start_Date__c > YESTERDAY",
        "SELECT Id FROM Session__c WHERE Start_Date__c > LAST_N_DAYS:3",
        "SELECT Id FROM Session__c WHERE CALENDAR_YEAR(Start_Date__c) = 2026",
        "SELECT Id FROM Session__c LIMIT 5 OFFSET 5",
        "SELECT Id FROM Session__c ORDER BY Name LIMIT 5 FOR UPDATE",
        "SELECT Id FROM Session__c WHERE Name = 'a' AND Id = 'b' OR Id = 'c'",
        "SELECT Id FROM Session__c s",
        "SELECT * FROM Session__c",
        "SELECT FIELDS(ALL) FROM Session__c LIMIT 200",
        "SELECT Id FROM Session__c WHERE Name = :name",
        "SELECT Id FROM Session__c WHERE Name <> 'x'",
        'SELECT Id FROM Session__c WHERE Name = "x"',
        "SELECT School__r.Parent.Name FROM Session__c",
        "SELECT Id FROM Session__c WHERE Display_on_Website__c > true",
        "SELECT Id FROM Session__c WHERE Name IN ()",
        "SELECT Id FROM Session__c WHERE Name =",
        "SELECT Id, Id FROM Session__c",
        "SELECT Id FROM Session__c WITH SECURITY_ENFORCED",
        "SELECT TYPEOF What WHEN Account THEN Name END FROM Task",
        "SELECT Id FROM",
        "",
    ],
)
def test_sf_74_unsupported_syntax_is_malformed_query(sf: FakeSalesforce, sf_client: Client, soql: str):
    sf.admin.replace("Session__c", SESSIONS)
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf_client().query(soql)
    assert _error(info.value) == "MALFORMED_QUERY"


@pytest.mark.parametrize(
    ("soql", "code"),
    [
        ("SELECT Id FROM NoSuchObject__c", "INVALID_TYPE"),
        ("SELECT Id, No_Such_Field__c FROM Session__c", "INVALID_FIELD"),
        ("SELECT Id FROM Session__c WHERE No_Such_Field__c = 'x'", "INVALID_FIELD"),
        ("SELECT Id FROM Session__c ORDER BY No_Such_Field__c", "INVALID_FIELD"),
        ("SELECT Id, Nope__r.Name FROM Session__c", "INVALID_FIELD"),
        ("SELECT Id, School__r.No_Such_Field__c FROM Session__c", "INVALID_FIELD"),
        ("SELECT Id FROM Session__c WHERE Start_Date_and_Time__c > 2026-01-01", "INVALID_FIELD"),
        ("SELECT Id FROM Session__c WHERE Start_Date__c > 2026-01-01T00:00:00Z", "INVALID_FIELD"),
        ("SELECT Id FROM Session__c WHERE Available_Slots__c = '3'", "INVALID_FIELD"),
    ],
)
def test_sf_74_unknown_object_or_field_or_type_mismatch(
    sf: FakeSalesforce, sf_client: Client, soql: str, code: str
):
    sf.admin.replace("Session__c", SESSIONS)
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf_client().query(soql)
    assert _error(info.value) == code


def test_sf_74_schema_objects_and_fields_known_without_fixtures(sf_client: Client):
    client = sf_client()
    for obj in (
        "Session__c",
        "Contact",
        "Account",
        "npe5__Affiliation__c",
        "Class__c",
        "Session_Participant__c",
        "Task",
        "EmailMessage",
    ):
        assert client.query_all(f"SELECT Id, SystemModstamp, IsDeleted FROM {obj}")["records"] == []
    result = client.query_all(
        "SELECT Id, WhoId, Who.Email, WhatId, Subject, Description, Type, TaskSubtype, Status, ActivityDate, "
        "CompletedDateTime, CreatedDate FROM Task WHERE WhoId != null"
    )
    assert result["totalSize"] == 0


def test_sf_75_today_comes_from_the_clock_endpoint(sf: FakeSalesforce, sf_client: Client):
    sf.admin.replace("Session__c", SESSIONS)
    soql = (
        "SELECT Id FROM Session__c WHERE Start_Date__c > TODAY AND Session_Status__c != 'Draft' ORDER BY Id"
    )
    sf.admin.set_clock(today="2026-01-15")
    assert _ids(sf_client().query_all(soql)) == ["a0S000000000001AAA", "a0S000000000004AAA"]
    sf.admin.set_clock(today="2026-02-01")
    assert _ids(sf_client().query_all(soql)) == ["a0S000000000001AAA"]
    # `now` alone sets TODAY to its date in America/Chicago: 2026-03-11 03:00Z is the 10th there.
    clock = sf.admin.set_clock(now="2026-03-11T03:00:00Z")
    assert clock["effective_today"] == "2026-03-10"
    assert _ids(sf_client().query_all("SELECT Id FROM Session__c WHERE Start_Date__c = TODAY")) == [
        "a0S000000000001AAA"
    ]
    # TODAY against a datetime compares its local date: 2026-02-01T05:59:59Z is Jan 31 in Chicago.
    sf.admin.set_clock(today="2026-01-31")
    assert _ids(sf_client().query_all("SELECT Id FROM Session__c WHERE Start_Date_and_Time__c = TODAY")) == [
        "a0S000000000004AAA"
    ]


def test_sf_75_query_hides_deleted_records_query_all_includes_them(sf: FakeSalesforce, sf_client: Client):
    sf.admin.replace("Contact", [{"Id": f"003{i:015d}", "LastName": f"n{i}"} for i in range(3)])
    deleted = sf.admin.delete("Contact", "003000000000000001")
    assert deleted["IsDeleted"] is True
    client = sf_client()
    soql = "SELECT Id, IsDeleted FROM Contact ORDER BY Id"
    live = client.query_all(soql)
    everything = client.query_all(soql, include_deleted=True)
    assert _ids(live) == ["003000000000000000", "003000000000000002"]
    assert [(r["Id"], r["IsDeleted"]) for r in everything["records"]] == [
        ("003000000000000000", False),
        ("003000000000000001", True),
        ("003000000000000002", False),
    ]
    assert _ids(client.query_all("SELECT Id FROM Contact WHERE IsDeleted = true", include_deleted=True)) == [
        "003000000000000001"
    ]


# --------------------------------------------------------------------------------------------
# SF-76 fixtures
# --------------------------------------------------------------------------------------------


def test_sf_76_fixtures_in_both_shapes_and_missing_modstamp_set_at_load(tmp_path: Path):
    wrapped = tmp_path / "wrapped.json"
    wrapped.write_text(
        json.dumps(
            {
                "objects": {
                    "Contact": [
                        {
                            "Id": "003000000000000001",
                            "LastName": "A",
                            "SystemModstamp": "2025-01-01T00:00:00.000+0000",
                        },
                        {"Id": "003000000000000002", "LastName": "B"},
                    ]
                }
            }
        )
    )
    bare = tmp_path / "bare.json"
    bare.write_text(json.dumps({"Custom_Object__c": [{"Id": "a0X000000000000001", "Custom_Field__c": 7}]}))
    for path, soql in (
        (wrapped, "SELECT Id, SystemModstamp, IsDeleted FROM Contact ORDER BY Id"),
        (bare, "SELECT Id, Custom_Field__c, SystemModstamp FROM Custom_Object__c"),
    ):
        with FakeSalesforce(path) as fake:
            http = FakeSalesforceAdmin(fake.instance_url, fake.ca_path).http
            response = http.get(
                "/services/data/v59.0/query",
                params={"q": soql},
                headers={"Authorization": f"Bearer {fake.token}"},
            )
            http.close()
            records = response.json()["records"]
            for record in records:
                assert re.fullmatch(
                    r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}\+0000", record["SystemModstamp"]
                )
            if path is wrapped:
                assert records[0]["SystemModstamp"] == "2025-01-01T00:00:00.000+0000"
                assert records[1]["SystemModstamp"] > records[0]["SystemModstamp"]
                assert records[1]["IsDeleted"] is False
            else:
                assert records[0]["Custom_Field__c"] == 7


# --------------------------------------------------------------------------------------------
# SF-77 control API
# --------------------------------------------------------------------------------------------


def test_sf_77_every_change_bumps_system_modstamp_strictly_increasing(sf: FakeSalesforce):
    stamps: list[str] = []
    created = sf.admin.replace("Contact", [{"LastName": f"n{i}"} for i in range(3)])
    stamps += [r["SystemModstamp"] for r in created]
    updated = sf.admin.upsert(
        "Contact", [{"Id": created[0]["Id"], "LastName": "renamed"}, {"LastName": "new"}]
    )
    assert updated[0]["Id"] == created[0]["Id"] and updated[0]["LastName"] == "renamed"
    stamps += [r["SystemModstamp"] for r in updated]
    stamps.append(sf.admin.delete("Contact", created[1]["Id"])["SystemModstamp"])
    # A fixed clock still gives strictly increasing stamps (+1 ms each).
    sf.admin.set_clock(now="2030-01-01T00:00:00Z")
    fixed = sf.admin.upsert("Contact", [{"LastName": "x"}, {"LastName": "y"}])
    stamps += [r["SystemModstamp"] for r in fixed]
    assert fixed[0]["SystemModstamp"] == "2030-01-01T00:00:00.000+0000"
    assert fixed[1]["SystemModstamp"] == "2030-01-01T00:00:00.001+0000"
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)
    records = {r["Id"]: r for r in sf.admin.records("Contact")}
    assert len(records) == 6 and records[created[1]["Id"]]["IsDeleted"] is True


def test_sf_77_keep_modstamps_option_and_missing_record_delete(sf: FakeSalesforce):
    stored = sf.admin.replace(
        "Contact",
        [{"Id": "003A", "SystemModstamp": "2026-01-15T10:30:00.500+0000"}],
        keep_modstamps=True,
    )
    assert stored[0]["SystemModstamp"] == "2026-01-15T10:30:00.500+0000"
    with pytest.raises(httpx.HTTPStatusError):
        sf.admin.delete("Contact", "003-missing")


def test_sf_77_request_log_page_size_and_clock(sf: FakeSalesforce, sf_client: Client):
    sf.admin.replace("Contact", [{"LastName": "A"}])
    sf_client().query("SELECT Id FROM Contact WHERE LastName = 'A'")
    log = sf.admin.requests()
    assert log == [
        {
            "method": "GET",
            "path": "/services/data/v59.0/query/",
            "endpoint": "query",
            "soql": "SELECT Id FROM Contact WHERE LastName = 'A'",
            "object": "Contact",
            "status": 200,
            "page": 0,
            "records": 1,
        }
    ]
    sf.admin.clear_requests()
    assert sf.admin.requests() == []
    with pytest.raises(httpx.HTTPStatusError):
        sf.admin.set_page_size(0)
    sf.admin.set_page_size(1)
    assert sf.admin.http.get("/__admin/page-size").json() == {"page_size": 1}
    assert sf.admin.set_clock()["today"] is None


# --------------------------------------------------------------------------------------------
# SF-78 fault injection
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "exc_type", "status", "code"),
    [
        ("http_500", SalesforceGeneralError, 500, "UNKNOWN_EXCEPTION"),
        ("http_503", SalesforceGeneralError, 503, "SERVER_UNAVAILABLE"),
        ("request_limit", SalesforceRefusedRequest, 403, "REQUEST_LIMIT_EXCEEDED"),
        ("invalid_session", SalesforceExpiredSession, 401, "INVALID_SESSION_ID"),
    ],
)
def test_sf_78_fault_kinds(
    sf: FakeSalesforce, sf_client: Client, kind: str, exc_type: type, status: int, code: str
):
    sf.admin.add_fault(kind, endpoint="query", retry_after=5 if kind == "request_limit" else None)
    client = sf_client()
    with pytest.raises(exc_type) as info:
        client.query("SELECT Id FROM Contact")
    assert info.value.status == status and _error(info.value) == code
    # times=1: the next call succeeds
    assert client.query("SELECT Id FROM Contact")["totalSize"] == 0
    assert [(r["status"], r.get("fault")) for r in sf.admin.requests()] == [(status, kind), (200, None)]


def test_sf_78_request_limit_carries_retry_after(sf: FakeSalesforce):
    sf.admin.add_fault("request_limit", retry_after=7)
    with _http(sf) as http:
        response = http.get(
            "/services/data/v59.0/queryAll/",
            params={"q": "SELECT Id FROM Contact"},
            headers={"Authorization": f"Bearer {sf.token}"},
        )
    assert response.status_code == 403
    assert response.headers["Retry-After"] == "7"


def test_sf_78_fault_filters_object_endpoint_after_pages_and_times(sf: FakeSalesforce, sf_client: Client):
    sf.admin.replace("Contact", [{"LastName": f"n{i}"} for i in range(10)])
    sf.admin.set_page_size(3)
    sf.admin.add_fault("http_500", endpoint="any", object="Account", times=None)
    sf.admin.add_fault("http_503", endpoint="queryAll", object="Contact")
    sf.admin.add_fault("http_500", endpoint="more", object="contact", after_pages=2, times=2)
    client = sf_client()
    with pytest.raises(SalesforceGeneralError):
        client.query("SELECT Id FROM Account")
    with pytest.raises(SalesforceGeneralError):
        client.query("SELECT Id FROM Account")  # times=None: until cleared
    first = client.query("SELECT Id FROM Contact")  # the queryAll fault does not hit query
    second = client.query_more(first["nextRecordsUrl"], identifier_is_url=True)  # page 1 is fine
    for _ in range(2):
        with pytest.raises(SalesforceGeneralError):
            client.query_more(second["nextRecordsUrl"], identifier_is_url=True)  # page 2 fails twice
    third = client.query_more(second["nextRecordsUrl"], identifier_is_url=True)
    assert len(third["records"]) == 3
    faults = sf.admin.http.get("/__admin/faults").json()
    assert [(f["kind"], f["object"]) for f in faults] == [("http_500", "Account"), ("http_503", "Contact")]
    sf.admin.clear_faults()
    assert client.query("SELECT Id FROM Account")["totalSize"] == 0


def test_sf_78_invalid_fault_specs_are_rejected(sf: FakeSalesforce):
    for body in (
        {"kind": "explode"},
        {"kind": "http_500", "endpoint": "sobjects"},
        {"kind": "http_500", "times": 0},
    ):
        response = sf.admin.http.post("/__admin/faults", json=body)
        assert response.status_code == 400
        assert response.json()[0]["errorCode"] == "INVALID_REQUEST"
