"""08 VOC-6 ``volunteer.local_status`` end to end: derived from the mailing ZIP code by every
Salesforce volunteer import (run through ``POST /sync/salesforce-volunteers`` against the test
double, like tests/test_sf_imports_volunteers.py) and by a website signup that gives a ZIP code; a
staff override is never overwritten by a re-import."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from polaris_api.models.audit import AuditEntry
from polaris_api.models.events import Signup
from polaris_api.models.people import Volunteer
from tests.read_factories import make_volunteer
from tests.signup_factories import NORMALIZED_EMAIL, listed_event, signup_form
from tests.sync_helpers import sync
from tests.test_sf_imports_volunteers import KIND, _volunteer_of, contact


@pytest.fixture
def settings(sf_app_settings):
    return sf_app_settings(local_zip_prefixes=["641", "661"], partial_zip_prefixes=["644"])


async def _statuses(session) -> dict[int, tuple[str, str]]:
    return {
        n: ((v := await _volunteer_of(session, n)).local_status, v.local_status_source) for n in (1, 2, 3, 4)
    }


async def test_voc_6_import_derives_local_status_from_the_mailing_zip(client, admin, sf, session):
    sf.admin.replace(
        "Contact",
        [
            contact(1, MailingPostalCode="64111-2345", MailingCity="Kansas City"),
            contact(2, MailingPostalCode="64401"),
            contact(3, MailingPostalCode="90210"),
            contact(4),  # no address
        ],
    )
    run = await sync(client, admin["headers"], KIND, mode="full")
    assert run["status"] == "succeeded", run["errors"]
    assert await _statuses(session) == {
        1: ("local", "derived"),
        2: ("partial", "derived"),
        3: ("non_local", "derived"),
        4: ("unknown", "derived"),
    }
    assert (await _volunteer_of(session, 1)).mailing_postal_code == "64111-2345"
    assert (await _volunteer_of(session, 1)).local_status_updated_at is not None


async def test_voc_6_manual_override_survives_reimport(client, admin, sf, session):
    """The override (global staff, audited) wins over every later import; a derived value follows
    the address; clearing the override derives again."""
    sf.admin.replace("Contact", [contact(n, MailingPostalCode="64111") for n in (1, 2, 3, 4)])
    assert (await sync(client, admin["headers"], KIND, mode="full"))["status"] == "succeeded"
    overridden = await _volunteer_of(session, 1)
    response = await client.patch(
        f"/api/v1/volunteers/{overridden.id}", headers=admin["headers"], json={"local_status": "non_local"}
    )
    assert response.status_code == 200, response.text
    # SF changes the addresses of both volunteers (newer SystemModstamp): 1 keeps its override
    sf.admin.replace(
        "Contact",
        [contact(1, MailingPostalCode="66101"), contact(2, MailingPostalCode="64401")]
        + [contact(n, MailingPostalCode="64111") for n in (3, 4)],
    )
    for mode in ("full", "incremental"):
        run = await sync(client, admin["headers"], KIND, mode=mode)
        assert run["status"] == "succeeded", run["errors"]
        statuses = await _statuses(session)
        assert statuses[1] == ("non_local", "manual")
        assert statuses[2] == ("partial", "derived")
    [entry] = (
        (await session.execute(select(AuditEntry).where(AuditEntry.action == "volunteer.reporting.updated")))
        .scalars()
        .all()
    )
    assert entry.changes["local_status"] == {"old": "local", "new": "non_local"}
    cleared = await client.patch(
        f"/api/v1/volunteers/{overridden.id}", headers=admin["headers"], json={"local_status": None}
    )
    assert (cleared.json()["local_status"], cleared.json()["local_status_source"]) == ("local", "derived")


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ({"postal_code": "64111"}, ("local", "derived", "64111")),
        ({"postal_code": "90210", "local_status": "local"}, ("non_local", "derived", "90210")),
        ({"local_status": "partial"}, ("partial", "self_reported", None)),
        ({"postal_code": "not a zip", "local_status": "partial"}, ("partial", "self_reported", "not a zip")),
        ({}, ("unknown", "derived", None)),
    ],
)
async def test_voc_6_website_signup_derives_local_status_from_the_zip(client, session, extra, expected):
    """A new website volunteer: the ZIP code decides; without a usable one, the form's answer
    (03 SIGN-2) is kept as ``self_reported``, which a later import replaces once SF has a ZIP."""
    event = await listed_event(session)
    response = await client.post(f"/api/v1/public/events/{event.id}/signup", json=signup_form(**extra))
    assert response.status_code == 201, response.text
    volunteer = (await session.execute(select(Volunteer))).scalar_one()
    assert (volunteer.local_status, volunteer.local_status_source, volunteer.mailing_postal_code) == expected
    signup = (await session.execute(select(Signup))).scalar_one()
    assert signup.postal_code == extra.get("postal_code")


async def test_voc_6_signup_does_not_change_an_existing_volunteer(client, session):
    existing = await make_volunteer(
        session, email=NORMALIZED_EMAIL, local_status="partial", local_status_source="manual"
    )
    event = await listed_event(session)
    response = await client.post(
        f"/api/v1/public/events/{event.id}/signup", json=signup_form(postal_code="64111")
    )
    assert response.status_code == 201, response.text
    volunteer = (
        await session.execute(select(Volunteer).execution_options(populate_existing=True))
    ).scalar_one()
    assert volunteer.id == existing.id
    assert (volunteer.local_status, volunteer.local_status_source) == ("partial", "manual")


async def test_voc_6_full_reimport_rederives_unchanged_contacts(client, admin, sf, session):
    """A row derived before (another prefix list, or before this rule existed) is re-derived by
    the next full import even when Salesforce did not change the contact."""
    sf.admin.replace("Contact", [contact(1, MailingPostalCode="64111")], keep_modstamps=False)
    assert (await sync(client, admin["headers"], KIND, mode="full"))["status"] == "succeeded"
    volunteer = await _volunteer_of(session, 1)
    volunteer.local_status = "unknown"  # as stored before the rule existed
    await session.commit()
    run = await sync(client, admin["headers"], KIND, mode="full")
    assert run["status"] == "succeeded", run["errors"]
    refreshed = await _volunteer_of(session, 1)
    assert (refreshed.local_status, refreshed.local_status_source) == ("local", "derived")
