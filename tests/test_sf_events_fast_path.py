"""Issue 13 item 5: the raw fast path of the events import (02 SF-32; engine ``RawScreen``).

An event row is shared with the hourly publishing sync (SF-40), which writes its own subset of the
Session__c fields and moves ``sf_modstamp`` too. So a session is set aside unparsed only when it
carries ``events_import_sf_modstamp`` (the stamp of the record this import last wrote) and what the
full path derives would not change: the school and district it resolves to now (SF-17), VOC-16 (a
cancellation reason is initialised while Polaris' is null) and the ``source='salesforce'`` skill
links. Anything else takes the full path."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import delete, select

from polaris_api.models.events import Event, EventSkill
from polaris_api.models.reference import District, School, Skill
from tests.sync_helpers import account_id, session_id, sf_session, sync

KIND = "salesforce-events"


@pytest.fixture
def settings(sf_app_settings):
    return sf_app_settings(salesforce_batch_size=2)


async def _rows(session) -> dict[str, Event]:
    statement = select(Event).execution_options(populate_existing=True)
    return {row.salesforce_id: row for row in (await session.execute(statement)).scalars().all()}


async def _skills(session, event_id: int) -> list[tuple[str, str]]:
    rows = await session.execute(
        select(Skill.name, EventSkill.source)
        .join(EventSkill, EventSkill.skill_id == Skill.id)
        .where(EventSkill.event_id == event_id)
    )
    return sorted((name, source) for name, source in rows.all())


async def _accounts(client, admin, sf) -> None:
    sf.admin.replace(
        "Account",
        [
            {"Id": account_id(1), "Name": "KCPS", "Type": "School District"},
            {"Id": account_id(2), "Name": "Central High", "Type": "School", "ParentId": account_id(1)},
        ],
    )
    run = await sync(client, admin["headers"], "salesforce-districts-schools")
    assert run["status"] == "succeeded", run


def _sessions() -> list[dict[str, Any]]:
    return [
        sf_session(1, School__c=account_id(2), District__c=account_id(1), Requested_Skills__c="Welding"),
        sf_session(2, Parent_Account__c=account_id(1), Cancellation_Reason__c="Weather"),
        sf_session(3, Legacy_Skills_Needed__c="Python;Robotics"),
    ]


async def test_sf_32_an_unchanged_session_is_set_aside_and_nothing_is_written(client, admin, sf, session):
    await _accounts(client, admin, sf)
    sf.admin.replace("Session__c", _sessions())
    first = await sync(client, admin["headers"], KIND, mode="full")
    assert first["counts"]["created"] == 3
    before = await _rows(session)
    assert before[session_id(2)].district_salesforce_id == account_id(1)  # the parent, a district
    updated_at = {k: r.updated_at for k, r in before.items()}

    run = await sync(client, admin["headers"], KIND, mode="full")
    assert run["status"] == "succeeded", run
    counts = run["counts"]
    assert (counts["unchanged"], counts["updated"], counts["deleted_in_source"]) == (3, 0, 0), counts
    rows = await _rows(session)
    assert {k: r.updated_at for k, r in rows.items()} == updated_at
    # set aside: not even the seen mark is written, and the snapshot still counts them as seen
    assert {r.sf_last_seen_run_id for r in rows.values()} == {first["id"]}
    assert not any(r.is_deleted for r in rows.values())


async def test_sf_40_a_session_publishing_wrote_since_takes_the_full_path(client, admin, sf, session):
    """Publishing read the edited record first and moved ``sf_modstamp``: the events import must
    still write the reporting fields publishing does not read."""
    sf.admin.replace("Session__c", [sf_session(1, Session_Host__c="PREP-KC")])
    await sync(client, admin["headers"], KIND, mode="full")
    sf.admin.upsert("Session__c", [{"Id": session_id(1), "Session_Host__c": "Partner", "Name": "Renamed"}])
    published = await sync(client, admin["headers"], "salesforce-publishing")
    assert published["status"] == "succeeded", published
    row = (await _rows(session))[session_id(1)]
    assert (row.title, row.session_host) == ("Renamed", "PREP-KC")  # publishing's subset only

    run = await sync(client, admin["headers"], KIND, mode="full")
    assert run["counts"]["updated"] == 1, run["counts"]
    row = (await _rows(session))[session_id(1)]
    assert row.session_host == "Partner"
    assert row.events_import_sf_modstamp == row.sf_modstamp


async def test_sf_32_voc_16_skill_links_and_cancellation_are_derived_again_when_changed(
    client, admin, sf, session
):
    await _accounts(client, admin, sf)
    sf.admin.replace("Session__c", _sessions())
    await sync(client, admin["headers"], KIND, mode="full")
    rows = await _rows(session)
    one, two, three = (rows[session_id(n)] for n in (1, 2, 3))
    assert two.cancellation_reason == "weather"
    # staff removed an imported skill link, added their own, and cleared a cancellation reason
    await session.execute(delete(EventSkill).where(EventSkill.event_id == one.id))
    robotics = (await session.execute(select(Skill).where(Skill.name == "Robotics"))).scalar_one()
    await session.execute(
        delete(EventSkill).where(EventSkill.event_id == three.id, EventSkill.skill_id != robotics.id)
    )
    (
        await session.execute(select(EventSkill).where(EventSkill.event_id == three.id))
    ).scalar_one().source = "polaris"
    two.cancellation_reason = None
    await session.commit()

    run = await sync(client, admin["headers"], KIND, mode="full")
    assert (run["counts"]["updated"], run["counts"]["unchanged"]) == (3, 0), run["counts"]
    rows = await _rows(session)
    assert await _skills(session, rows[session_id(1)].id) == [("Welding", "salesforce")]
    # a wanted skill linked by staff stays theirs; the missing one is linked again
    assert await _skills(session, rows[session_id(3)].id) == [
        ("Python", "salesforce"),
        ("Robotics", "polaris"),
    ]
    assert rows[session_id(2)].cancellation_reason == "weather"  # VOC-16: initialised while null

    again = await sync(client, admin["headers"], KIND, mode="full")
    assert (again["counts"]["updated"], again["counts"]["unchanged"]) == (0, 3), again["counts"]
    # a staff link to a skill the record does not name is not the import's: it stays and changes nothing
    extra = Skill(name="Leadership", name_normalized="leadership")
    session.add(extra)
    await session.flush()
    session.add(EventSkill(event_id=rows[session_id(1)].id, skill_id=extra.id, source="polaris"))
    await session.commit()
    third = await sync(client, admin["headers"], KIND, mode="full")
    assert (third["counts"]["updated"], third["counts"]["unchanged"]) == (0, 3), third["counts"]


async def test_sf_17_a_session_whose_school_or_district_changed_is_not_set_aside(client, admin, sf, session):
    await _accounts(client, admin, sf)
    sf.admin.replace("Session__c", _sessions())
    await sync(client, admin["headers"], KIND, mode="full")
    district = (await session.execute(select(District))).scalar_one()
    district.name = "Kansas City Public Schools"
    await session.commit()

    renamed = await sync(client, admin["headers"], KIND, mode="full")
    assert (renamed["counts"]["updated"], renamed["counts"]["unchanged"]) == (2, 1), renamed["counts"]
    rows = await _rows(session)
    assert {rows[session_id(n)].district_partner for n in (1, 2)} == {"Kansas City Public Schools"}

    school = (await session.execute(select(School))).scalar_one()
    school.is_deleted = True
    district.is_deleted = True
    await session.commit()
    gone = await sync(client, admin["headers"], KIND, mode="full")
    assert (gone["counts"]["updated"], gone["counts"]["unchanged"]) == (2, 1), gone["counts"]
    rows = await _rows(session)
    one, two = rows[session_id(1)], rows[session_id(2)]
    assert (one.school_id, one.school_salesforce_id, one.district_partner) == (None, account_id(2), None)
    # the parent account is no longer a live district: the session has none
    assert (two.district_salesforce_id, two.district_partner) == (None, None)
