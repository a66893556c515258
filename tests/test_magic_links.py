"""04 ML-* teacher magic links, 07 PRIV-2 (no roster disclosure, digests only), PRIV-7 (kill switch),
ML-10 data issues and their staff review."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from sqlalchemy import select, update

from polaris_api.db import make_sessionmaker, utcnow
from polaris_api.models.audit import AuditEntry
from polaris_api.models.outbox import OutboxMessage
from polaris_api.models.teachers import DataIssue, MagicLink, TeacherProgress
from polaris_api.security import issue_token, sha256_hex
from polaris_api.services import outbox
from polaris_api.services.teacher_progress import current_academic_year, window_for
from tests.conftest import TEST_JWT_SECRET, bind_app, dispose_app, make_settings
from tests.factories import make_district
from tests.teacher_factories import ZONE, link_teacher, make_record, make_teacher, make_virtual_event

EMAIL = "maria@one.example"
REQUEST = "/api/v1/teacher-access/request"
EXCHANGE = "/api/v1/teacher-access/exchange"
ME = "/api/v1/teacher-access/me"
ISSUES = "/api/v1/teacher-access/issues"


@pytest.fixture
def settings():
    return make_settings(magic_link_limit_per_ip="1000/hour", magic_link_limit_per_email="1000/hour")


class Capture:
    """An email backend that keeps what it is given."""

    name = "console"

    def __init__(self) -> None:
        self.sent: list[Any] = []

    async def send(self, email: Any, mime: Any) -> None:
        self.sent.append(email)


async def roster(session, *, email: str = EMAIL, name: str = "Maria Delgado", sessions: bool = True) -> dict:
    """A district, a teacher with a current-year record, one past attended and one future session."""
    now = utcnow()
    year = current_academic_year(ZONE, now)
    window = window_for(year, ZONE)
    district = await make_district(session)
    teacher = await make_teacher(session, name.split()[0], name.split()[-1], email=email)
    record = await make_record(
        session, district, email, name=name, teacher=teacher, academic_year=year, target_sessions=3
    )
    ids: dict[str, Any] = {"record": record.id, "district": district.id, "teacher": teacher.id}
    if sessions:
        past = await make_virtual_event(
            session, max(window.start + dt.timedelta(hours=1), now - dt.timedelta(days=1)), title="Past"
        )
        future = await make_virtual_event(
            session, now + dt.timedelta(days=2), title="Future", status="published"
        )
        await link_teacher(session, past, teacher, "attended")
        await link_teacher(session, future, teacher, "registered")
        ids.update(past=past.id, future=future.id)
    await session.commit()
    return ids


async def deliver(app) -> list[Any]:
    capture = Capture()
    await outbox.deliver_due(app.state.sessionmaker, app.state.settings, backend=capture)
    return capture.sent


def token_from(body: str) -> str:
    match = re.search(r"\?token=([A-Za-z0-9_\-]+)", body)
    assert match, "no link in the email"
    return match.group(1)


async def issue_link(client, app) -> str:
    response = await client.post(REQUEST, json={"email": EMAIL})
    assert response.status_code == 202
    sent = await deliver(app)
    assert len(sent) == 1
    return token_from(sent[0].body_text)


async def teacher_headers(client, app) -> dict[str, str]:
    token = await issue_link(client, app)
    response = await client.post(EXCHANGE, json={"token": token})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def fresh(db, model, *where) -> list[Any]:
    async with make_sessionmaker(db)() as s:
        return list((await s.execute(select(model).where(*where))).scalars())


# --- ML-1, ML-2, PRIV-2 -------------------------------------------------------------------------


async def test_ml_1_priv_2_known_and_unknown_emails_get_byte_identical_answers(client, session, db):
    await roster(session)
    known = await client.post(REQUEST, json={"email": "  Maria@One.Example "})
    unknown = await client.post(REQUEST, json={"email": "nobody@nowhere.example"})
    assert known.status_code == unknown.status_code == 202
    assert known.content == unknown.content == b'{"status":"accepted"}'
    skip = {"x-request-id", "date"}
    assert {k: v for k, v in known.headers.items() if k not in skip} == {
        k: v for k, v in unknown.headers.items() if k not in skip
    }
    links = await fresh(db, MagicLink)
    messages = await fresh(db, OutboxMessage)
    assert len(links) == 1 and links[0].email == EMAIL  # the unknown email stored nothing
    assert len(messages) == 1 and messages[0].recipient == EMAIL and messages[0].kind == "magic_link"


async def test_ml_2_inactive_record_gets_no_link(client, session, db):
    ids = await roster(session, sessions=False)
    await session.execute(
        update(TeacherProgress).where(TeacherProgress.id == ids["record"]).values(is_active=False)
    )
    await session.commit()
    response = await client.post(REQUEST, json={"email": EMAIL})
    assert response.status_code == 202
    assert await fresh(db, MagicLink) == [] and await fresh(db, OutboxMessage) == []


async def test_ml_2_latest_academic_year_is_the_target(client, session, db):
    ids = await roster(session, sessions=False)
    district = await make_district(session)
    old = await make_record(session, district, EMAIL, academic_year="2001-2002")
    await session.commit()
    await client.post(REQUEST, json={"email": EMAIL})
    [link] = await fresh(db, MagicLink)
    assert link.teacher_progress_id == ids["record"] != old.id


# --- ML-4, PRIV-2: digests only, sealed body, purged after sending -------------------------------


async def test_ml_4_priv_2_only_the_digest_is_stored_and_the_body_is_sealed_then_purged(
    client, app, session, db
):
    """ML-4, PRIV-2 and ML-11: only digests stored, body sealed then purged, issue audited without token or email."""
    await roster(session)
    await client.post(REQUEST, json={"email": EMAIL})
    [message] = await fresh(db, OutboxMessage)
    assert message.body_encrypted is True and "token=" not in (message.body_text or "")
    sent = await deliver(app)
    token = token_from(sent[0].body_text)
    assert sent[0].body_text.startswith("Open this link")
    assert app.state.settings.teacher_portal_url + "?token=" + token in sent[0].body_text
    [link] = await fresh(db, MagicLink)
    assert link.token_hash == sha256_hex(token) and token not in link.token_hash
    assert link.expires_at - link.created_at == dt.timedelta(hours=48)
    [message] = await fresh(db, OutboxMessage)
    assert message.status == "sent" and message.body_purged_at is not None
    assert message.body_text is None and message.body_html is None
    audit = await fresh(db, AuditEntry)
    dump = repr([(a.action, a.changes) for a in audit])
    assert "magic_link.issued" in dump
    assert token not in dump and EMAIL not in dump


async def test_ml_5_new_link_invalidates_the_older_one(client, app, session):
    await roster(session)
    first = await issue_link(client, app)
    second = await issue_link(client, app)
    assert (await client.post(EXCHANGE, json={"token": first})).status_code == 401
    assert (await client.post(EXCHANGE, json={"token": second})).status_code == 200


# --- ML-6, ML-7 -----------------------------------------------------------------------------------


async def test_ml_6_a_token_works_once(client, app, session, db):
    await roster(session)
    token = await issue_link(client, app)
    first = await client.post(EXCHANGE, json={"token": token})
    assert first.status_code == 200
    assert first.json()["token_type"] == "bearer" and first.json()["expires_in"] == 8 * 3600
    again = await client.post(EXCHANGE, json={"token": token})
    assert again.status_code == 401 and again.json()["code"] == "invalid_link"
    bogus = await client.post(EXCHANGE, json={"token": "not-a-token"})
    assert bogus.content == again.content  # every failure is the same answer
    actions = [a.action for a in await fresh(db, AuditEntry)]
    assert actions.count("magic_link.exchanged") == 1 and actions.count("magic_link.exchange_failed") == 2


async def test_ml_6_expired_link_is_refused(client, app, session, db):
    await roster(session)
    token = await issue_link(client, app)
    async with make_sessionmaker(db)() as s:
        await s.execute(update(MagicLink).values(expires_at=utcnow() - dt.timedelta(seconds=1)))
        await s.commit()
    response = await client.post(EXCHANGE, json={"token": token})
    assert response.status_code == 401 and response.json()["code"] == "invalid_link"


async def test_ml_6_link_of_a_deactivated_record_is_refused(client, app, session, db):
    ids = await roster(session)
    token = await issue_link(client, app)
    async with make_sessionmaker(db)() as s:
        await s.execute(
            update(TeacherProgress).where(TeacherProgress.id == ids["record"]).values(is_active=False)
        )
        await s.commit()
    assert (await client.post(EXCHANGE, json={"token": token})).status_code == 401


async def test_ml_7_session_rechecks_the_record_on_each_request(client, app, session, db):
    ids = await roster(session)
    headers = await teacher_headers(client, app)
    assert (await client.get(ME, headers=headers)).status_code == 200
    async with make_sessionmaker(db)() as s:
        await s.execute(
            update(TeacherProgress)
            .where(TeacherProgress.id == ids["record"])
            .values(email="changed@one.example")
        )
        await s.commit()
    assert (await client.get(ME, headers=headers)).status_code == 401


# --- ML-8, ML-9 -----------------------------------------------------------------------------------


async def test_ml_9_view_has_exactly_the_teachers_own_data(client, app, session):
    ids = await roster(session)
    headers = await teacher_headers(client, app)
    response = await client.get(ME, headers=headers)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {
        "name",
        "email",
        "status",
        "target_sessions",
        "completed_sessions",
        "past",
        "upcoming",
    }
    assert body["name"] == "Maria Delgado" and body["email"] == EMAIL
    assert (
        body["completed_sessions"] == 1 and body["target_sessions"] == 3 and body["status"] == "in_progress"
    )
    assert [item["event_id"] for item in body["past"]] == [ids["past"]]
    assert [item["event_id"] for item in body["upcoming"]] == [ids["future"]]
    assert set(body["past"][0]) == {"event_id", "title", "date", "status"}
    assert body["past"][0]["status"] == "attended" and body["upcoming"][0]["status"] == "registered"
    assert re.search(r"[+-]\d\d:\d\d$", body["past"][0]["date"])


async def test_ml_8_teacher_token_cannot_read_another_teachers_data(client, app, session):
    await roster(session)
    other = await roster(session, email="other@two.example", name="Other Person")
    headers = await teacher_headers(client, app)
    # no parameter chooses the teacher: query strings are ignored, staff paths refuse teachers
    mine = await client.get(ME, headers=headers, params={"teacher_progress_id": other["record"]})
    assert mine.status_code == 200 and mine.json()["email"] == EMAIL
    assert "Other Person" not in mine.text
    for path in (
        f"/api/v1/teacher-progress/{other['record']}",
        f"/api/v1/teacher-progress/{other['record']}/teacher-view",
        "/api/v1/teacher-progress",
        "/api/v1/data-issues",
    ):
        response = await client.get(path, headers=headers)
        assert response.status_code in (403, 404), path
        assert "Other Person" not in response.text and "other@two.example" not in response.text
    forged, _ = issue_token(
        secret=TEST_JWT_SECRET, subject=other["record"], token_type="teacher", version=1, minutes=5
    )
    response = await client.get(ME, headers={"Authorization": f"Bearer {forged}"})
    assert response.status_code == 401 and "Other Person" not in response.text


async def test_ml_8_district_users_get_403_on_the_support_view(client, session, make_user, admin):
    ids = await roster(session)
    district_user = await make_user(level=2, districts=[ids["district"]])
    path = f"/api/v1/teacher-progress/{ids['record']}/teacher-view"
    assert (await client.get(path, headers=district_user["headers"])).status_code == 403
    support = await client.get(path, headers=admin["headers"])
    assert support.status_code == 200 and support.json()["email"] == EMAIL
    assert (
        await client.get("/api/v1/teacher-progress/999999/teacher-view", headers=admin["headers"])
    ).status_code == 404


# --- ML-3 rate limits -----------------------------------------------------------------------------


async def test_ml_3_per_email_limit_applies_the_same_to_unknown_emails(db, session):
    import httpx

    from polaris_api.app import create_app

    await roster(session, sessions=False)
    app = bind_app(
        create_app(make_settings(magic_link_limit_per_ip="100/hour", magic_link_limit_per_email="2/hour")), db
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
        for email in (EMAIL, "nobody@nowhere.example"):
            codes = [(await http.post(REQUEST, json={"email": email})).status_code for _ in range(3)]
            assert codes == [202, 202, 429], email
        limited = await http.post(REQUEST, json={"email": EMAIL.upper()})
        assert limited.status_code == 429 and limited.json()["code"] == "rate_limited"
        assert int(limited.headers["Retry-After"]) >= 1
    await dispose_app(app, db)
    assert len(await fresh(db, MagicLink)) == 2  # no link issued past the limit


async def test_ml_3_per_ip_limit(db, session):
    import httpx

    from polaris_api.app import create_app

    app = bind_app(
        create_app(make_settings(magic_link_limit_per_ip="3/hour", magic_link_limit_per_email="100/hour")), db
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
        codes = [(await http.post(REQUEST, json={"email": f"t{i}@x.example"})).status_code for i in range(4)]
        assert codes == [202, 202, 202, 429]
        exchanges = [(await http.post(EXCHANGE, json={"token": "x"})).status_code for _ in range(4)]
        assert exchanges == [401, 401, 401, 429]
    await dispose_app(app, db)


# --- PRIV-7 kill switch ---------------------------------------------------------------------------


async def test_priv_7_kill_switch_answers_503_and_issues_nothing(client, app, session, db, admin, make_user):
    await roster(session)
    headers = await teacher_headers(client, app)
    token = await issue_link(client, app)
    manager = await make_user(level=2)
    off = {"enabled": False}
    assert (
        await client.put("/api/v1/teacher-access/settings", json=off, headers=manager["headers"])
    ).status_code == 403
    response = await client.put("/api/v1/teacher-access/settings", json=off, headers=admin["headers"])
    assert response.status_code == 200 and response.json() == off
    links_before = len(await fresh(db, MagicLink))
    for method, path, kwargs in (
        ("POST", REQUEST, {"json": {"email": EMAIL}}),
        ("POST", EXCHANGE, {"json": {"token": token}}),
        ("GET", ME, {"headers": headers}),
        ("POST", ISSUES, {"json": {"category": "missing_data", "note": "x"}, "headers": headers}),
    ):
        answer = await client.request(method, path, **kwargs)
        assert answer.status_code == 503, path
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["code"] == "teacher_access_disabled"
    assert len(await fresh(db, MagicLink)) == links_before
    assert [
        link.used_at for link in await fresh(db, MagicLink, MagicLink.token_hash == sha256_hex(token))
    ] == [None]
    assert await fresh(db, DataIssue) == []
    assert (await client.get("/api/v1/teacher-access/settings", headers=admin["headers"])).json() == off
    await client.put("/api/v1/teacher-access/settings", json={"enabled": True}, headers=admin["headers"])
    assert (await client.post(EXCHANGE, json={"token": token})).status_code == 200
    actions = [a.action for a in await fresh(db, AuditEntry)]
    assert actions.count("teacher_access.settings.updated") == 2


# --- ML-10 data issues ----------------------------------------------------------------------------


async def test_ml_10_data_issue_submission_and_admin_review(client, app, session, db, admin, make_user):
    ids = await roster(session)
    other = await roster(session, email="other@two.example", name="Other Person")
    headers = await teacher_headers(client, app)
    created = await client.post(
        ISSUES,
        headers=headers,
        json={"category": "incorrect_data", "note": "I attended", "event_id": ids["past"]},
    )
    assert created.status_code == 201 and created.json()["status"] == "open"
    bad = await client.post(ISSUES, headers=headers, json={"category": "other", "note": "x"})
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_choice"
    foreign = await client.post(
        ISSUES, headers=headers, json={"category": "missing_data", "note": "x", "event_id": other["past"]}
    )
    assert foreign.status_code == 422 and foreign.json()["code"] == "unknown_event"
    for key, value in (
        ("teacher_progress_id", other["record"]),
        ("teacher_id", other["teacher"]),
        ("email", "o@x"),
    ):
        naming = await client.post(
            ISSUES, headers=headers, json={"category": "missing_data", "note": "x", key: value}
        )
        assert naming.status_code == 403, key
    assert (
        await client.post(ISSUES, headers=headers, json={"category": "missing_data", "note": ""})
    ).status_code == 422
    [issue] = await fresh(db, DataIssue)
    assert issue.teacher_progress_id == ids["record"] and issue.event_id == ids["past"]

    queue = await client.get("/api/v1/data-issues", headers=admin["headers"], params={"status": "open"})
    assert queue.status_code == 200 and queue.json()["total"] == 1
    assert queue.json()["items"][0]["teacher_progress_id"] == ids["record"]
    outsider = await make_user(level=2, districts=[other["district"]])
    assert (await client.get("/api/v1/data-issues", headers=outsider["headers"])).json()["total"] == 0
    patch = {"status": "resolved", "resolution_note": "fixed in Pathful"}
    path = f"/api/v1/data-issues/{issue.id}"
    assert (await client.patch(path, json=patch, headers=outsider["headers"])).status_code == 403
    resolved = await client.patch(path, json=patch, headers=admin["headers"])
    assert resolved.status_code == 200
    assert resolved.json()["status"] == "resolved" and resolved.json()["resolved_by_id"] == admin["id"]
    assert (
        await client.patch("/api/v1/data-issues/999999", json=patch, headers=admin["headers"])
    ).status_code == 404
    assert (await client.get("/api/v1/data-issues", headers=headers)).status_code == 403


async def test_ml_10_limit_ten_a_day(client, app, session):
    await roster(session, sessions=False)
    headers = await teacher_headers(client, app)
    codes = [
        (
            await client.post(ISSUES, headers=headers, json={"category": "missing_data", "note": f"n{i}"})
        ).status_code
        for i in range(11)
    ]
    assert codes == [201] * 10 + [429]


async def test_ml_5_link_expires_after_magic_link_ttl_hours(client, app, session, db, settings):
    """A link issued 48 h + 1 s ago (the service takes ``now``) is refused; one issued 47 h ago works."""
    from polaris_api.services import magic_links

    await roster(session, sessions=False)
    async with make_sessionmaker(db)() as s:
        await magic_links.request_link(
            s, settings, EMAIL, client_ip=None, now=utcnow() - dt.timedelta(hours=48, seconds=1)
        )
        await s.commit()  # the service flushes; its caller owns the transaction
    [sent] = await deliver(app)
    assert (await client.post(EXCHANGE, json={"token": token_from(sent.body_text)})).status_code == 401
    async with make_sessionmaker(db)() as s:
        await magic_links.request_link(
            s, settings, EMAIL, client_ip=None, now=utcnow() - dt.timedelta(hours=47)
        )
        await s.commit()
    [sent] = await deliver(app)
    assert (await client.post(EXCHANGE, json={"token": token_from(sent.body_text)})).status_code == 200
