"""The double's query cache (issue 13 item 5): incremental queries of the sync engine
(``… SystemModstamp >= wm ORDER BY SystemModstamp ASC, Id ASC``) are answered from an index by
object and SystemModstamp, with exactly the records and order of a full scan, and every change
made through the control API is seen by the next query."""

from __future__ import annotations

import time
from datetime import date
from typing import Any

import pytest

from polaris_api.testing.fake_salesforce import soql
from polaris_api.testing.fake_salesforce.server import FakeState

TODAY = date(2026, 1, 15)


def _stamp(n: int) -> str:
    # several records share a second (ties are ordered by Id)
    return f"2025-01-01T{n // 3600 % 24:02d}:{n // 60 % 60:02d}:{n % 60:02d}.000+0000"


def _fixtures(n: int) -> dict[str, list[dict[str, Any]]]:
    contacts = [
        {
            "Id": f"003{(n - i) * 7 % 10_000:012d}AAA",  # Id order differs from modstamp order
            "LastName": f"L{i}",
            "Contact_Type__c": ("Volunteer", "Student", "", None)[i % 4],
            "SystemModstamp": _stamp(i // 2),
        }
        for i in range(n)
    ]
    affiliations = [
        {
            "Id": f"a0A{i:012d}AAA",
            "npe5__Contact__c": contacts[i % n]["Id"],
            "SystemModstamp": _stamp(i),
        }
        for i in range(n)
    ]
    return {"Contact": contacts, "npe5__Affiliation__c": affiliations}


QUERIES = [
    "SELECT Id, LastName FROM Contact ORDER BY SystemModstamp ASC, Id ASC",
    "SELECT Id FROM Contact WHERE (Contact_Type__c = 'Student') ORDER BY SystemModstamp ASC, Id ASC",
    "SELECT Id FROM Contact WHERE (Contact_Type__c = 'Volunteer' OR Contact_Type__c = '') "
    "AND SystemModstamp >= 2025-01-01T00:00:40.000+0000 ORDER BY SystemModstamp ASC, Id ASC",
    "SELECT Id FROM Contact WHERE SystemModstamp > 2025-01-01T00:00:40Z ORDER BY SystemModstamp, Id",
    "SELECT Id FROM npe5__Affiliation__c WHERE (npe5__Contact__r.Contact_Type__c = 'Volunteer' "
    "OR npe5__Contact__r.Contact_Type__c = null) AND SystemModstamp >= 2025-01-01T00:01:10.000+0000 "
    "ORDER BY SystemModstamp ASC, Id ASC",
    # not the engine's shape: answered by the full scan, still through the cached catalog
    "SELECT Id FROM Contact WHERE SystemModstamp >= 2025-01-01T00:00:40Z ORDER BY Id DESC",
    "SELECT Id FROM Contact WHERE SystemModstamp >= 2025-01-01T00:00:40Z OR LastName = 'L1' "
    "ORDER BY SystemModstamp ASC, Id ASC LIMIT 7",
]


def _both(state: FakeState, query: str, include_deleted: bool) -> tuple[list[Any], list[Any]]:
    args: dict[str, Any] = {"include_deleted": include_deleted, "today": TODAY}
    plain = soql.execute(query, state.objects, **args)
    cached = soql.execute(query, state.objects, cache=state.query_cache, **args)
    return plain, cached


@pytest.mark.parametrize("query", QUERIES)
def test_issue_13_item_5_indexed_queries_answer_like_a_full_scan(query: str):
    state = FakeState(fixtures=_fixtures(300))
    for include_deleted in (False, True):
        plain, cached = _both(state, query, include_deleted)
        assert cached == plain and plain
    # changes through the control API are seen by the next query (the cache is invalidated)
    contact = state.objects["Contact"][5]["Id"]
    state.upsert("Contact", [{"Id": contact, "Contact_Type__c": "Volunteer"}], keep_modstamps=False)
    state.upsert("Contact", [{"LastName": "New", "Contact_Type__c": "Student"}], keep_modstamps=False)
    state.delete("Contact", state.objects["Contact"][9]["Id"])
    state.upsert("npe5__Affiliation__c", [{"npe5__Contact__c": contact}], keep_modstamps=False)
    for include_deleted in (False, True):
        plain, cached = _both(state, query, include_deleted)
        assert cached == plain
    state.reset()
    assert _both(state, query, True)[1] == _both(state, query, True)[0]


def test_issue_13_item_5_incremental_query_does_not_scan_every_record():
    """An incremental read of the last few records costs a small share of a full scan (CPU)."""
    state = FakeState(fixtures=_fixtures(40_000))
    query = (
        "SELECT Id FROM Contact WHERE (Contact_Type__c = 'Student') "
        "AND SystemModstamp >= 2025-01-01T05:33:00.000+0000 ORDER BY SystemModstamp ASC, Id ASC"
    )
    args: dict[str, Any] = {"include_deleted": True, "today": TODAY}
    start = time.process_time()
    plain = soql.execute(query, state.objects, **args)
    scan = time.process_time() - start
    soql.execute(query, state.objects, cache=state.query_cache, **args)  # builds the index once
    start = time.process_time()
    for _ in range(5):
        cached = soql.execute(query, state.objects, cache=state.query_cache, **args)
    indexed = (time.process_time() - start) / 5
    assert cached == plain and 0 < len(plain) < 200
    assert indexed < scan / 10, (indexed, scan)
