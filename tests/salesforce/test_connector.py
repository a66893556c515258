"""The Salesforce connector (02 SF-2 … SF-4, SF-7, SF-60) against the test double over HTTPS."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import certifi
import pytest

from polaris_api.settings import Settings
from polaris_api.sync.salesforce.client import (
    SalesforceConnector,
    SalesforceError,
    soql_datetime,
    soql_quote,
)
from polaris_api.testing.fake_salesforce import FakeSalesforce

MakeSettings = Callable[..., Settings]
SleepRecorder = Any  # conftest.SleepRecorder: ``.calls`` lists the recorded waits


async def _read(
    connector: SalesforceConnector, soql: str, *, include_deleted: bool = False
) -> list[list[dict]]:
    pages = []
    async for page in connector.iter_pages(soql, include_deleted=include_deleted):
        pages.append(page)
    return pages


def _contacts(n: int) -> list[dict[str, Any]]:
    return [
        {"Id": f"003{i:012d}AAA", "LastName": f"n{i:05d}", "Email": f"p{i}@example.org"} for i in range(n)
    ]


# --------------------------------------------------------------------------------------------
# SF-2 configuration and auth modes
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "overrides",
    [
        {"salesforce_instance_url": None, "salesforce_access_token": None},  # nothing
        {"salesforce_access_token": None},  # mode B incomplete
        {
            "salesforce_instance_url": None,
            "salesforce_username": "u@example.org",
            "salesforce_password": "pw",
        },
        {"salesforce_username": "u", "salesforce_password": "p", "salesforce_security_token": "t"},  # both
        {"salesforce_access_token": "  "},  # blank is missing
    ],
)
def test_sf_2_not_exactly_one_complete_mode_is_sf_not_configured(sf_settings: MakeSettings, overrides: dict):
    with pytest.raises(SalesforceError) as info:
        SalesforceConnector.from_settings(sf_settings(**overrides), trigger="schedule")
    assert info.value.code == "sf_not_configured"


def test_sf_2_mode_a_is_chosen_with_username_password_token_and_domain(sf_settings: MakeSettings):
    settings = sf_settings(
        salesforce_instance_url=None,
        salesforce_access_token=None,
        salesforce_username="integration@example.org",
        salesforce_password="secret-password",
        salesforce_security_token="secret-token",
        salesforce_domain="test",
        salesforce_api_version="v60.0",
    )
    connector = SalesforceConnector.from_settings(settings, trigger="manual")
    assert connector.config.mode == "password"
    assert connector.config.domain == "test" and connector.config.api_version == "60.0"
    assert "secret" not in repr(connector.config)
    connector.close()


async def test_sf_2_mode_b_reads_over_https_on_a_non_443_port(
    sf: FakeSalesforce, sf_settings: MakeSettings, monkeypatch: pytest.MonkeyPatch
):
    # requests would let REQUESTS_CA_BUNDLE override Session.verify; the connector must not.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", certifi.where())
    monkeypatch.setenv("CURL_CA_BUNDLE", certifi.where())
    sf.admin.replace("Contact", _contacts(2))
    async with SalesforceConnector.from_settings(sf_settings(), trigger="api") as connector:
        pages = await _read(connector, "SELECT Id, LastName FROM Contact ORDER BY Id")
    assert pages == [
        [
            {"Id": "003000000000000AAA", "LastName": "n00000"},
            {"Id": "003000000000001AAA", "LastName": "n00001"},
        ]
    ]
    assert sf.admin.requests()[0]["path"] == "/services/data/v59.0/query/"
    assert connector.api_usage == 1


async def test_sf_2_new_client_per_connector_and_instance_url_without_scheme(
    sf: FakeSalesforce, sf_settings: MakeSettings
):
    settings = sf_settings(salesforce_instance_url=sf.instance_url.removeprefix("https://") + "/")
    async with SalesforceConnector.from_settings(settings, trigger="manual") as connector:
        assert await connector.query_all("SELECT Id FROM Contact", include_deleted=False) == []


async def test_sf_2_without_the_ca_bundle_tls_verification_fails_and_is_not_retried(
    sf: FakeSalesforce, sf_settings: MakeSettings, sleeps: SleepRecorder
):
    settings = sf_settings(salesforce_ca_bundle=certifi.where())
    async with SalesforceConnector.from_settings(settings, trigger="schedule", sleep=sleeps) as connector:
        with pytest.raises(SalesforceError) as info:
            await _read(connector, "SELECT Id FROM Contact")
    assert info.value.code == "sf_unavailable"
    assert "TLS" in info.value.message and sleeps.calls == []


# --------------------------------------------------------------------------------------------
# SF-4 reads
# --------------------------------------------------------------------------------------------


async def test_sf_4_more_than_2000_records_are_read_completely(sf: FakeSalesforce, sf_settings: MakeSettings):
    sf.admin.replace("Contact", _contacts(2345))
    async with SalesforceConnector.from_settings(sf_settings(), trigger="schedule") as connector:
        pages = await _read(
            connector, "SELECT Id, LastName FROM Contact ORDER BY LastName", include_deleted=True
        )
    assert [len(p) for p in pages] == [2000, 345]
    names = [r["LastName"] for page in pages for r in page]
    assert names == [f"n{i:05d}" for i in range(2345)]
    assert [(r["endpoint"], r["status"]) for r in sf.admin.requests()] == [("queryAll", 200), ("more", 200)]


async def test_sf_4_include_deleted_selects_query_all(sf: FakeSalesforce, sf_settings: MakeSettings):
    sf.admin.replace("Contact", _contacts(3))
    sf.admin.delete("Contact", "003000000000001AAA")
    async with SalesforceConnector.from_settings(sf_settings(), trigger="api") as connector:
        live = await connector.query_all("SELECT Id FROM Contact ORDER BY Id", include_deleted=False)
        everything = await connector.query_all(
            "SELECT Id, IsDeleted FROM Contact ORDER BY Id", include_deleted=True
        )
    assert [r["Id"] for r in live] == ["003000000000000AAA", "003000000000002AAA"]
    assert [r["IsDeleted"] for r in everything] == [False, True, False]


async def test_sf_4_attributes_are_stripped_including_nested_relationships(
    sf: FakeSalesforce, sf_settings: MakeSettings
):
    sf.admin.replace("Contact", [{"Id": "003000000000001AAA", "Email": "ann@example.org"}])
    sf.admin.replace("Task", [{"Id": "00T000000000001AAA", "WhoId": "003000000000001AAA"}])
    async with SalesforceConnector.from_settings(sf_settings(), trigger="api") as connector:
        records = await connector.query_all("SELECT Id, Who.Email FROM Task", include_deleted=True)
    assert records == [{"Id": "00T000000000001AAA", "Who": {"Email": "ann@example.org"}}]


async def test_sf_73_paging_page_size_3_over_10_records_through_the_connector(
    sf: FakeSalesforce, sf_settings: MakeSettings
):
    sf.admin.replace("Contact", _contacts(10))
    sf.admin.set_page_size(3)
    async with SalesforceConnector.from_settings(sf_settings(), trigger="schedule") as connector:
        pages = await _read(connector, "SELECT Id FROM Contact ORDER BY Id DESC")
    assert [len(p) for p in pages] == [3, 3, 3, 1]
    assert [r["Id"] for p in pages for r in p] == [f"003{i:012d}AAA" for i in reversed(range(10))]


# --------------------------------------------------------------------------------------------
# SF-7 query shape
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (datetime(2026, 1, 15, 10, 30, 0, 999_999, tzinfo=UTC), "2026-01-15T10:30:00Z"),
        (datetime(2026, 1, 15, 4, 30, 59, 1, tzinfo=timezone(timedelta(hours=-6))), "2026-01-15T10:30:59Z"),
        (datetime(2026, 1, 15, 10, 30), "2026-01-15T10:30:00Z"),  # naive = UTC
    ],
)
def test_sf_7_soql_datetime_is_utc_floored_to_the_second(value: datetime, expected: str):
    assert soql_datetime(value) == expected


def test_sf_7_soql_quote_escapes():
    assert soql_quote("O'Brien \\ x") == "'O\\'Brien \\\\ x'"


async def test_sf_7_incremental_query_with_watermark(sf: FakeSalesforce, sf_settings: MakeSettings):
    sf.admin.replace(
        "Contact",
        [
            {"Id": "003A", "Contact_Type__c": "Volunteer", "SystemModstamp": "2026-01-15T10:29:59.999+0000"},
            {"Id": "003B", "Contact_Type__c": "Volunteer", "SystemModstamp": "2026-01-15T10:30:00.000+0000"},
            {"Id": "003C", "Contact_Type__c": None, "SystemModstamp": "2026-01-15T10:30:00.400+0000"},
            {"Id": "003D", "Contact_Type__c": "Teacher", "SystemModstamp": "2026-01-15T11:00:00.000+0000"},
            {"Id": "003E", "Contact_Type__c": "", "SystemModstamp": "2026-01-15T10:30:00.400+0000"},
        ],
        keep_modstamps=True,
    )
    watermark = datetime(2026, 1, 15, 10, 30, 0, 400_000, tzinfo=UTC)
    soql = (
        "SELECT Id, SystemModstamp, IsDeleted, Contact_Type__c, MasterRecordId FROM Contact "
        "WHERE (Contact_Type__c = 'Volunteer' OR Contact_Type__c = '' OR Contact_Type__c = null) "
        f"AND SystemModstamp >= {soql_datetime(watermark)} ORDER BY SystemModstamp ASC, Id ASC"
    )
    async with SalesforceConnector.from_settings(sf_settings(), trigger="schedule") as connector:
        records = await connector.query_all(soql, include_deleted=True)
    assert [r["Id"] for r in records] == ["003B", "003C", "003E"]


async def test_sf_75_today_evaluated_from_the_clock_endpoint(sf: FakeSalesforce, sf_settings: MakeSettings):
    sf.admin.replace(
        "Session__c",
        [
            {"Id": "a0S1", "Name": "past", "Start_Date__c": "2026-01-14", "Session_Status__c": "Confirmed"},
            {"Id": "a0S2", "Name": "today", "Start_Date__c": "2026-01-15", "Session_Status__c": "Confirmed"},
            {"Id": "a0S3", "Name": "future", "Start_Date__c": "2026-01-16", "Session_Status__c": "Confirmed"},
            {"Id": "a0S4", "Name": "draft", "Start_Date__c": "2026-01-17", "Session_Status__c": "Draft"},
        ],
    )
    sf.admin.set_clock(today="2026-01-15")
    soql = (
        "SELECT Id, Name, Available_Slots__c, Filled_Volunteer_Jobs__c, Date_and_Time_for_Cal__c, "
        "Session_Type__c, Format__c, Registration_Link__c, Display_on_Website__c, Start_Date__c, "
        "Start_Date_and_Time__c, End_Date_and_Time__c, Session_Status__c, Location_Information__c, "
        "Description__c, SystemModstamp FROM Session__c "
        "WHERE Start_Date__c > TODAY AND Session_Status__c != 'Draft' ORDER BY Start_Date__c ASC, Id ASC"
    )
    async with SalesforceConnector.from_settings(sf_settings(), trigger="schedule") as connector:
        records = await connector.query_all(soql, include_deleted=False)
        assert [r["Id"] for r in records] == ["a0S3"]
        assert records[0]["Available_Slots__c"] is None
        sf.admin.set_clock(today="2026-01-13")
        records = await connector.query_all(soql, include_deleted=False)
    assert [r["Id"] for r in records] == ["a0S1", "a0S2", "a0S3"]


# --------------------------------------------------------------------------------------------
# SF-60 retry
# --------------------------------------------------------------------------------------------


async def test_sf_60_401_with_a_bad_token_is_sf_auth_failed_and_not_retried(
    sf: FakeSalesforce, sf_settings: MakeSettings, sleeps: SleepRecorder
):
    settings = sf_settings(salesforce_access_token="wrong-token")
    async with SalesforceConnector.from_settings(settings, trigger="schedule", sleep=sleeps) as connector:
        with pytest.raises(SalesforceError) as info:
            await _read(connector, "SELECT Id FROM Contact")
    assert info.value.code == "sf_auth_failed"
    assert info.value.status == 401 and info.value.sf_error_code == "INVALID_SESSION_ID"
    assert [r["status"] for r in sf.admin.requests()] == [401]
    assert sleeps.calls == []


async def test_sf_60_invalid_session_mid_stream_is_not_retried(
    sf: FakeSalesforce, sf_settings: MakeSettings, sleeps: SleepRecorder
):
    sf.admin.replace("Contact", _contacts(5))
    sf.admin.set_page_size(2)
    sf.admin.add_fault("invalid_session", endpoint="more", after_pages=1)
    async with SalesforceConnector.from_settings(
        sf_settings(), trigger="schedule", sleep=sleeps
    ) as connector:
        with pytest.raises(SalesforceError) as info:
            await _read(connector, "SELECT Id FROM Contact")
    assert info.value.code == "sf_auth_failed"
    assert [(r["endpoint"], r["status"]) for r in sf.admin.requests()] == [("query", 200), ("more", 401)]


@pytest.mark.parametrize(("trigger", "attempts"), [("schedule", 3), ("manual", 2), ("api", 2)])
async def test_sf_60_http_500_on_every_attempt_is_sf_unavailable(
    sf: FakeSalesforce, sf_settings: MakeSettings, sleeps: SleepRecorder, trigger: str, attempts: int
):
    sf.admin.add_fault("http_500", endpoint="any", times=None)
    settings = sf_settings(salesforce_retry_base_delay_s=2)
    async with SalesforceConnector.from_settings(settings, trigger=trigger, sleep=sleeps) as connector:  # type: ignore[arg-type]
        with pytest.raises(SalesforceError) as info:
            await _read(connector, "SELECT Id FROM Contact")
    assert info.value.code == "sf_unavailable"
    assert info.value.attempts == attempts
    assert [r["status"] for r in sf.admin.requests()] == [500] * attempts
    if trigger == "schedule":
        # base × 2^(n−1) ±20 %: about 2 s then 4 s
        assert len(sleeps.calls) == 2
        assert 1.6 <= sleeps.calls[0] <= 2.4 and 3.2 <= sleeps.calls[1] <= 4.8
    else:
        assert sleeps.calls == []  # one immediate retry


async def test_sf_60_transient_503_then_success(
    sf: FakeSalesforce, sf_settings: MakeSettings, sleeps: SleepRecorder
):
    sf.admin.replace("Contact", _contacts(1))
    sf.admin.add_fault("http_503", endpoint="query")
    async with SalesforceConnector.from_settings(
        sf_settings(), trigger="schedule", sleep=sleeps
    ) as connector:
        records = await connector.query_all("SELECT Id FROM Contact", include_deleted=False)
    assert len(records) == 1
    assert [r["status"] for r in sf.admin.requests()] == [503, 200]
    assert len(sleeps.calls) == 1


async def test_sf_60_request_limit_honours_retry_after(
    sf: FakeSalesforce, sf_settings: MakeSettings, sleeps: SleepRecorder
):
    sf.admin.replace("Contact", _contacts(1))
    sf.admin.add_fault("request_limit", endpoint="query", retry_after=9)
    settings = sf_settings(salesforce_retry_base_delay_s=0.01)
    async with SalesforceConnector.from_settings(settings, trigger="schedule", sleep=sleeps) as connector:
        records = await connector.query_all("SELECT Id FROM Contact", include_deleted=False)
    assert len(records) == 1
    assert [r["status"] for r in sf.admin.requests()] == [403, 200]
    assert len(sleeps.calls) == 1 and sleeps.calls[0] >= 9


async def test_sf_60_retry_after_honoured_for_manual_runs_too(
    sf: FakeSalesforce, sf_settings: MakeSettings, sleeps: SleepRecorder
):
    sf.admin.add_fault("request_limit", retry_after=3)
    async with SalesforceConnector.from_settings(sf_settings(), trigger="manual", sleep=sleeps) as connector:
        assert await connector.query_all("SELECT Id FROM Contact", include_deleted=False) == []
    assert sleeps.calls == [3]


async def test_sf_60_retry_after_above_the_maximum_wait_is_sf_rate_limited(
    sf: FakeSalesforce, sf_settings: MakeSettings, sleeps: SleepRecorder
):
    sf.admin.add_fault("request_limit", retry_after=301, times=None)
    settings = sf_settings(salesforce_retry_max_wait_s=300)
    async with SalesforceConnector.from_settings(settings, trigger="schedule", sleep=sleeps) as connector:
        with pytest.raises(SalesforceError) as info:
            await _read(connector, "SELECT Id FROM Contact")
    assert info.value.code == "sf_rate_limited"
    assert sleeps.calls == []
    assert [r["status"] for r in sf.admin.requests()] == [403]


async def test_sf_60_mid_stream_fault_after_pages_1_is_retried(
    sf: FakeSalesforce, sf_settings: MakeSettings, sleeps: SleepRecorder
):
    sf.admin.replace("Contact", _contacts(10))
    sf.admin.set_page_size(3)
    sf.admin.add_fault("http_500", endpoint="more", after_pages=1)
    async with SalesforceConnector.from_settings(
        sf_settings(), trigger="schedule", sleep=sleeps
    ) as connector:
        pages = await _read(connector, "SELECT Id FROM Contact ORDER BY Id", include_deleted=True)
    assert [r["Id"] for p in pages for r in p] == [f"003{i:012d}AAA" for i in range(10)]
    assert [(r["endpoint"], r["page"], r["status"]) for r in sf.admin.requests()] == [
        ("queryAll", 0, 200),
        ("more", 1, 500),
        ("more", 1, 200),
        ("more", 2, 200),
        ("more", 3, 200),
    ]
    assert len(sleeps.calls) == 1


async def test_sf_60_malformed_query_is_sf_query_error_and_not_retried(
    sf: FakeSalesforce, sf_settings: MakeSettings, sleeps: SleepRecorder
):
    soql = "SELECT Id FROM Contact WHERE Email LIKE 'private.person@example.org'"
    async with SalesforceConnector.from_settings(
        sf_settings(), trigger="schedule", sleep=sleeps
    ) as connector:
        with pytest.raises(SalesforceError) as info:
            await _read(connector, soql)
    assert info.value.code == "sf_query_error"
    assert info.value.status == 400 and info.value.sf_error_code == "MALFORMED_QUERY"
    assert "private.person" not in str(info.value)  # no personal data in the message
    assert [r["status"] for r in sf.admin.requests()] == [400]
    assert sleeps.calls == []


async def test_sf_60_unknown_field_is_sf_query_error(sf: FakeSalesforce, sf_settings: MakeSettings):
    async with SalesforceConnector.from_settings(sf_settings(), trigger="api") as connector:
        with pytest.raises(SalesforceError) as info:
            await _read(connector, "SELECT Id, Not_A_Field__c FROM Contact")
    assert (info.value.code, info.value.sf_error_code) == ("sf_query_error", "INVALID_FIELD")


async def test_sf_60_404_is_not_retried(sf: FakeSalesforce, sf_settings: MakeSettings, sleeps: SleepRecorder):
    settings = sf_settings(salesforce_api_version="latest")
    async with SalesforceConnector.from_settings(settings, trigger="schedule", sleep=sleeps) as connector:
        with pytest.raises(SalesforceError) as info:
            await _read(connector, "SELECT Id FROM Contact")
    assert info.value.status == 404 and info.value.code == "sf_query_error"
    assert len(sf.admin.requests()) == 1 and sleeps.calls == []


async def test_sf_60_read_timeout_is_retried(
    sf: FakeSalesforce, sf_settings: MakeSettings, sleeps: SleepRecorder
):
    sf.admin.replace("Contact", _contacts(1))
    sf.admin.add_fault("timeout", endpoint="query", delay_s=0.6)
    settings = sf_settings(salesforce_read_timeout_s=0.2)
    async with SalesforceConnector.from_settings(settings, trigger="manual", sleep=sleeps) as connector:
        records = await connector.query_all("SELECT Id FROM Contact", include_deleted=False)
    assert len(records) == 1
    assert sleeps.calls == []
    await _let_delayed_answers_finish()


async def test_sf_60_timeout_on_every_attempt_is_sf_unavailable(
    sf: FakeSalesforce, sf_settings: MakeSettings, sleeps: SleepRecorder
):
    sf.admin.add_fault("timeout", delay_s=0.6, times=None)
    settings = sf_settings(salesforce_read_timeout_s=0.2)
    async with SalesforceConnector.from_settings(settings, trigger="api", sleep=sleeps) as connector:
        with pytest.raises(SalesforceError) as info:
            await _read(connector, "SELECT Id FROM Contact")
    assert info.value.code == "sf_unavailable" and "timed out" in info.value.message
    assert info.value.attempts == 2
    await _let_delayed_answers_finish()


async def _let_delayed_answers_finish() -> None:
    """The double still answers the abandoned requests after their delay; wait for that, so their
    log entries land in this test and not in the next one's request log."""
    await asyncio.sleep(0.8)


async def test_sf_60_connection_refused_is_retried_then_sf_unavailable(
    sf_settings: MakeSettings, sleeps: SleepRecorder
):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = sf_settings(
        salesforce_instance_url=f"https://127.0.0.1:{port}", salesforce_retry_base_delay_s=0.5
    )
    async with SalesforceConnector.from_settings(settings, trigger="schedule", sleep=sleeps) as connector:
        with pytest.raises(SalesforceError) as info:
            await _read(connector, "SELECT Id FROM Contact")
    assert info.value.code == "sf_unavailable" and info.value.attempts == 3
    assert len(sleeps.calls) == 2
