"""Fixtures for the Salesforce test double (02 SF-70) and the connector, for the whole suite
(imported by ``tests/conftest.py``).

* ``fake_sf`` (session): one :class:`FakeSalesforce` on a free port, empty fixture set.
* ``sf`` (function): the same double, reset first (objects, faults, page size, clock,
  request log, cursors), so every test starts clean.
* ``sf_settings(**overrides)``: ``Settings`` in mode B pointing at the double.
* ``sleeps``: an async sleep recorder to pass as the connector's ``sleep``.
* ``sf_client(token=None)``: a raw simple-salesforce client against the double.
* ``sf_app_settings(**overrides)``: the app's ``Settings`` (test database) pointing at the double,
  for modules that override the ``settings`` fixture to drive syncs through HTTP.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from simple_salesforce import Salesforce

from polaris_api.settings import Settings
from polaris_api.testing.fake_salesforce import FakeSalesforce

__all__ = ["SleepRecorder", "fake_sf", "sf", "sf_app_settings", "sf_client", "sf_settings", "sleeps"]


@pytest.fixture(scope="session")
def fake_sf() -> Iterator[FakeSalesforce]:
    with FakeSalesforce() as fake:
        yield fake


@pytest.fixture
def sf(fake_sf: FakeSalesforce) -> Iterator[FakeSalesforce]:
    fake_sf.admin.reset()
    yield fake_sf
    fake_sf.admin.reset()


class SleepRecorder:
    """Stands in for ``anyio.sleep``: records the waits instead of waiting."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


@pytest.fixture
def sleeps() -> SleepRecorder:
    return SleepRecorder()


@pytest.fixture
def sf_settings(sf: FakeSalesforce) -> Callable[..., Settings]:
    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "salesforce_instance_url": sf.instance_url,
            "salesforce_access_token": sf.token,
            "salesforce_ca_bundle": str(sf.ca_path),
            "salesforce_username": None,
            "salesforce_password": None,
            "salesforce_security_token": None,
            "salesforce_connect_timeout_s": 2,
            "salesforce_read_timeout_s": 5,
            "salesforce_retry_base_delay_s": 2,
            "salesforce_retry_max_wait_s": 300,
        }
        values.update(overrides)
        return Settings(_env_file=None, **values)  # type: ignore[call-arg]

    return make


class _CaSession(requests.Session):
    """``requests`` lets REQUESTS_CA_BUNDLE override ``Session.verify``; pass it per request."""

    def request(self, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        kwargs.setdefault("verify", self.verify)
        kwargs.setdefault("timeout", (2, 5))
        return super().request(*args, **kwargs)


@pytest.fixture
def sf_client(sf: FakeSalesforce) -> Iterator[Callable[..., Salesforce]]:
    sessions: list[requests.Session] = []

    def make(token: str | None = None) -> Salesforce:
        session = _CaSession()
        session.verify = str(sf.ca_path)
        sessions.append(session)
        return Salesforce(
            instance_url=sf.instance_url,
            session_id=token or sf.token,
            session=session,
            object_pairs_hook=dict,
        )

    yield make
    for session in sessions:
        session.close()


@pytest.fixture
def sf_app_settings(sf: FakeSalesforce) -> Callable[..., Settings]:
    from tests.conftest import make_settings

    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "salesforce_instance_url": sf.instance_url,
            "salesforce_access_token": sf.token,
            "salesforce_ca_bundle": str(sf.ca_path),
            "salesforce_connect_timeout_s": 2,
            "salesforce_read_timeout_s": 10,
            "salesforce_retry_base_delay_s": 0.01,
        }
        values.update(overrides)
        return make_settings(**values)

    return make
