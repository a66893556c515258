"""PRIV-1, OBS-2: logs never contain an email, a name, a password, a token or a key."""

from __future__ import annotations

import logging
import sys

import pytest

from polaris_api.observability import JsonFormatter, RequestIdFilter

EMAIL = "Wilhelmina.Testperson@Example.org"
PASSWORD = "hunter2-supersecret-passphrase"
NAME = "Wilhelmina"


@pytest.fixture
def captured_logs():
    records: list[str] = []
    formatter = JsonFormatter()

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(formatter.format(record))

    handler = Collect(level=logging.DEBUG)
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield records
    root.removeHandler(handler)
    root.setLevel(previous)


def assert_clean(records: list[str], *secrets: str) -> None:
    text = "\n".join(records).lower()
    assert records, "expected some log lines"
    for secret in secrets:
        assert secret.lower() not in text


async def test_priv_1_login_failures_never_log_personal_data(client, make_user, captured_logs):
    await make_user(email=EMAIL.lower())
    for password in (PASSWORD, "another-wrong-password"):
        response = await client.post("/api/v1/auth/token", data={"username": EMAIL, "password": password})
        assert response.status_code == 401
    await client.post("/api/v1/auth/token", data={"username": "unknown." + EMAIL, "password": PASSWORD})
    assert_clean(captured_logs, EMAIL, PASSWORD, NAME, "testperson")
    assert any('"route":"/api/v1/auth/token"' in line for line in captured_logs)


async def test_priv_1_validation_errors_never_log_personal_data(client, admin, captured_logs):
    response = await client.post(
        "/api/v1/users",
        headers=admin["headers"],
        json={"email": EMAIL + "@@", "first_name": NAME, "password": PASSWORD[:5], "unknown": EMAIL},
    )
    assert response.status_code == 422
    assert_clean(captured_logs, EMAIL, PASSWORD[:5] + '"', NAME)
    assert NAME not in response.text


async def test_priv_1_tokens_and_keys_never_logged(client, admin, captured_logs):
    created = await client.post(
        "/api/v1/api-keys", headers=admin["headers"], json={"name": "k", "scopes": ["read"]}
    )
    key = created.json()["key"]
    await client.get("/api/v1/auth/me", headers={"X-API-Key": key})
    token = admin["headers"]["Authorization"].split()[1]
    assert_clean(captured_logs, key, token)


async def test_priv_1_a_logged_database_error_keeps_its_type_and_frames_not_its_values(session):
    """The database quotes the refused values (PostgreSQL ``Key (email_normalized)=(…)``,
    SQLAlchemy the statement's parameters); both log formats leave the message out."""
    from sqlalchemy.exc import IntegrityError

    from polaris_api.models.people import Volunteer
    from polaris_api.observability import TextFormatter

    email = EMAIL.lower()
    for _ in range(2):
        session.add(Volunteer(source="salesforce", last_name=NAME, email_normalized=email, is_deleted=False))
    try:
        await session.flush()
    except IntegrityError:
        record = logging.getLogger("polaris_api.test").makeRecord(
            "polaris_api.test", logging.ERROR, __file__, 1, "import failed", (), sys.exc_info()
        )
    else:
        pytest.fail("the duplicate email was accepted")
    await session.rollback()
    assert email in str(record.exc_info[1]).lower()  # the message itself does carry the value
    for formatter in (JsonFormatter(), TextFormatter()):
        record.request_id = None
        text = formatter.format(record)
        record.exc_text = None  # logging caches the rendered exception on the record
        assert "IntegrityError (message withheld)" in text and "test_logging_privacy.py" in text
        assert email not in text.lower() and NAME.lower() not in text.lower()
