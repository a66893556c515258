"""The double's fast path (issue 13 item 5): the cache kept in step with every write, the JSON
texts made once per record and field list, and pages joined from them. Each answer is checked
against the plain scan of ``soql.execute`` without a cache (the evaluator the double used before)
and, over HTTP, byte for byte against the page Starlette's JSONResponse wrote before."""

from __future__ import annotations

import json
import ssl
import time
from datetime import date
from typing import Any

import httpx
import pytest

from polaris_api.testing.fake_salesforce import FakeSalesforce, soql
from polaris_api.testing.fake_salesforce.server import FakeState

TODAY = date(2026, 1, 15)


def _stamp(n: int) -> str:
    return f"2025-01-01T{n // 3600 % 24:02d}:{n // 60 % 60:02d}:{n % 60:02d}.000+0000"


def _fixtures() -> dict[str, list[dict[str, Any]]]:
    accounts = [
        {"Id": f"001{i:012d}AAA", "Name": f"Org {i}", "Type": ("School", "Business")[i % 2]} for i in range(6)
    ]
    contacts = [
        {
            "Id": f"003{(40 - i) * 7 % 100:012d}AAA",  # Id order differs from modstamp order
            "LastName": f"Näme {i}",
            "Email": f"c{i}@example.org" if i % 5 else None,
            "Contact_Type__c": ("Volunteer", "Student", "", None, "Teacher")[i % 5],
            "AccountId": accounts[i % 6]["Id"] if i % 3 else None,
            "Number_of_Attended_Volunteer_Sessions__c": i % 4,
            "SystemModstamp": _stamp(i // 2),
        }
        for i in range(40)
    ]
    tasks = [
        {
            "Id": f"00T{i:012d}AAA",
            "WhoId": contacts[i * 3 % 40]["Id"] if i % 4 else None,
            "Subject": f"Call {i}",
            "SystemModstamp": _stamp(i),
        }
        for i in range(30)
    ]
    affiliations = [
        {
            "Id": f"a0A{i:012d}AAA",
            "npe5__Contact__c": contacts[i % 40]["Id"],
            "npe5__Organization__c": accounts[i % 6]["Id"],
            "SystemModstamp": _stamp(i),
        }
        for i in range(50)
    ]
    return {"Account": accounts, "Contact": contacts, "Task": tasks, "npe5__Affiliation__c": affiliations}


QUERIES = [
    "SELECT Id, LastName, Email FROM Contact ORDER BY SystemModstamp ASC, Id ASC",
    "SELECT Id, SystemModstamp, IsDeleted, LastName FROM Contact WHERE (Contact_Type__c = 'Student') "
    "ORDER BY SystemModstamp ASC, Id ASC",
    "SELECT Id FROM Contact WHERE Contact_Type__c NOT IN ('Volunteer', 'teacher') ORDER BY LastName DESC",
    "SELECT Id FROM Contact WHERE Contact_Type__c IN ('volunteer', null) AND SystemModstamp >= "
    "2025-01-01T00:00:05.000+0000 ORDER BY SystemModstamp ASC, Id ASC",
    "SELECT Id, Account.Name, Account.Type, Email FROM Contact WHERE Account.Type != 'School' "
    "ORDER BY Account.Name NULLS LAST, Id",
    "SELECT Id FROM Contact WHERE Number_of_Attended_Volunteer_Sessions__c >= 2 OR Email = null",
    "SELECT Id, Who.Email, Subject FROM Task WHERE (WhoId != null) ORDER BY SystemModstamp ASC, Id ASC",
    "SELECT Id, npe5__Contact__r.LastName FROM npe5__Affiliation__c WHERE "
    "(npe5__Contact__r.Contact_Type__c = 'Volunteer' OR npe5__Contact__r.Contact_Type__c = null) "
    "AND SystemModstamp > 2025-01-01T00:00:10Z ORDER BY SystemModstamp ASC, Id ASC LIMIT 9",
    "SELECT Id, Name FROM Account",
]
ERRORS = [  # type mismatches: the same error both ways
    "SELECT Id FROM Contact WHERE LastName = 5",
    "SELECT Id FROM Contact WHERE Number_of_Attended_Volunteer_Sessions__c = null "
    "OR Number_of_Attended_Volunteer_Sessions__c = 'x'",
]


def _answer(query: str, store: Any, cache: soql.QueryCache | None, include_deleted: bool) -> Any:
    try:
        return soql.execute(query, store, include_deleted=include_deleted, today=TODAY, cache=cache)
    except soql.SoqlError as exc:
        return ("error", exc.error_code, exc.message)


def _check(state: FakeState) -> None:
    for query in QUERIES + ERRORS:
        for include_deleted in (False, True):
            plain = _answer(query, state.objects, None, include_deleted)
            assert _answer(query, state.objects, state.query_cache, include_deleted) == plain, query
            # asked again: from the remembered positions and texts, still the same
            assert _answer(query, state.objects, state.query_cache, include_deleted) == plain, query


def test_issue_13_item_5_cache_follows_every_kind_of_write():
    state = FakeState(fixtures=_fixtures())
    _check(state)
    contacts = state.objects["Contact"]
    # a change of a related record reaches the relationship filters and the nested texts
    state.upsert("Contact", [{"Id": contacts[3]["Id"], "Email": "new@example.org"}], keep_modstamps=False)
    state.upsert("Contact", [{"Id": contacts[1]["Id"], "Contact_Type__c": "Volunteer"}], keep_modstamps=False)
    _check(state)
    # an older SystemModstamp kept on purpose moves a record back in the index
    state.upsert(
        "Contact",
        [{"Id": contacts[30]["Id"], "LastName": "Back", "SystemModstamp": _stamp(1)}],
        keep_modstamps=True,
    )
    state.upsert(
        "Account", [{"Id": state.objects["Account"][1]["Id"], "Type": "School"}], keep_modstamps=False
    )
    _check(state)
    # new records, a new field, a deletion, a create, a record without a SystemModstamp index key
    state.upsert("Contact", [{"LastName": "Late", "Contact_Type__c": "Student"}], keep_modstamps=False)
    state.upsert("Contact", [{"Id": contacts[0]["Id"], "Department": "Art"}], keep_modstamps=False)
    state.delete("Contact", contacts[7]["Id"])
    state.create("Task", {"WhoId": contacts[2]["Id"], "Subject": "Created"})
    _check(state)
    state.upsert("Contact", [{"Id": contacts[5]["Id"], "SystemModstamp": "not a date"}], keep_modstamps=True)
    _check(state)
    state.upsert("Contact", [{"Id": contacts[5]["Id"], "SystemModstamp": _stamp(100)}], keep_modstamps=True)
    _check(state)
    # an object seen for the first time, a replaced object, a reset
    state.upsert("Lead", [{"LastName": "Lead one"}], keep_modstamps=False)
    state.replace("Account", [{"Name": "Only", "Type": "Business"}], keep_modstamps=False)
    _check(state)
    state.reset()
    _check(state)


def test_issue_13_item_5_nested_text_follows_the_related_record():
    state = FakeState(fixtures=_fixtures())
    query = "SELECT Id, Who.Email FROM Task WHERE (WhoId != null) ORDER BY SystemModstamp ASC, Id ASC"
    args: dict[str, Any] = {"include_deleted": False, "today": TODAY, "cache": state.query_cache}
    first = soql.execute(query, state.objects, **args)
    task = first[0]
    who = next(c for c in state.objects["Contact"] if c["Id"] == state.objects["Task"][1]["WhoId"])
    assert task["Who"]["Email"] == who["Email"]
    state.upsert("Contact", [{"Id": who["Id"], "Email": "moved@example.org"}], keep_modstamps=False)
    again = soql.execute(query, state.objects, **args)
    assert again[0]["Who"]["Email"] == "moved@example.org"
    assert again[1:] == first[1:]


def _old_page(records: list[dict[str, Any]], offset: int, size: int, cursor: str | None) -> bytes:
    """The page exactly as the double wrote it before: a dict through JSONResponse's json.dumps."""
    page = records[offset : offset + size]
    done = offset + len(page) >= len(records)
    body: dict[str, Any] = {"totalSize": len(records), "done": done}
    if not done:
        body["nextRecordsUrl"] = f"/services/data/v59.0/query/{cursor}-{offset + len(page)}"
    body["records"] = page
    return json.dumps(body, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")).encode()


@pytest.mark.parametrize("endpoint", ["query", "queryAll"])
def test_issue_13_item_5_pages_are_byte_identical_to_the_old_answer(endpoint: str):
    fixtures = _fixtures()
    with FakeSalesforce(fixtures, page_size=7) as fake:
        fake.admin.delete("Contact", fixtures["Contact"][4]["Id"])
        http = httpx.Client(
            base_url=fake.instance_url,
            verify=ssl.create_default_context(cafile=str(fake.ca_path)),
            headers={"Authorization": f"Bearer {fake.token}"},
        )
        with http:
            for query in QUERIES:
                expected = soql.execute(
                    query,
                    fake.state.objects,
                    include_deleted=endpoint == "queryAll",
                    today=fake.state.today(),
                )
                response = http.get(f"/services/data/v59.0/{endpoint}", params={"q": query})
                assert response.status_code == 200
                assert response.headers["content-type"] == "application/json"
                body = response.json()
                cursor = body["nextRecordsUrl"].rsplit("/", 1)[1].split("-")[0] if not body["done"] else None
                assert response.content == _old_page(expected, 0, 7, cursor), query
                offset = len(body["records"])
                while not body["done"]:
                    response = http.get(body["nextRecordsUrl"])
                    assert response.content == _old_page(expected, offset, 7, cursor), query
                    body = response.json()
                    offset += len(body["records"])
                assert offset == len(expected)


def test_issue_13_item_5_a_write_does_not_rebuild_the_index():
    """After one record changes, the next incremental query costs a small share of the first
    query over the object (which builds the index): the cache follows the write record by record."""
    contacts = [
        {"Id": f"003{i:012d}AAA", "LastName": f"L{i}", "SystemModstamp": _stamp(i % 80_000)}
        for i in range(40_000)
    ]
    state = FakeState(fixtures={"Contact": contacts})
    query = "SELECT Id, LastName FROM Contact WHERE SystemModstamp >= {} ORDER BY SystemModstamp ASC, Id ASC"
    args: dict[str, Any] = {"include_deleted": True, "today": TODAY, "cache": state.query_cache}
    start = time.process_time()
    soql.execute_encoded(query.format("2025-01-01T11:00:00Z"), state.objects, **args)
    cold = time.process_time() - start
    costs = []
    for n in range(5):
        changed = state.upsert(
            "Contact", [{"Id": contacts[n]["Id"], "LastName": f"new {n}"}], keep_modstamps=False
        )
        start = time.process_time()
        texts = soql.execute_encoded(query.format(changed[0]["SystemModstamp"]), state.objects, **args)
        costs.append(time.process_time() - start)
        assert [json.loads(t)["LastName"] for t in texts] == [f"new {n}"]
    assert min(costs) < cold / 10, (costs, cold)
