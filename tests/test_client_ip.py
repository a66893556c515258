"""Issue 11 item 4: the client address behind every per-IP limit (07 AC-3 login, 03 SIGN-10
signup, 04 ML magic links). The app is served by uvicorn with ``Settings.uvicorn_options()``
(what ``polaris serve`` passes): X-Forwarded-For counts only from ``POLARIS_TRUSTED_PROXIES``.

Both directions: without trusted proxies a loopback caller cannot dodge the login limit by
spoofing the header (uvicorn's default trusts loopback); behind a trusted proxy each forwarded
client has its own signup bucket instead of the whole website sharing the proxy's.
"""

from __future__ import annotations

import httpx
import pytest
from pydantic import ValidationError

from polaris_api.app import create_app
from polaris_api.settings import Settings
from tests.conftest import make_settings
from tests.live_server import serve_in_thread
from tests.signup_factories import listed_event, signup_form

LOGIN_LIMIT = 5
# the server runs in its own thread with its own connections: it must see committed rows
live = pytest.mark.committed_db


async def _serve(db, **overrides):
    settings = make_settings(
        login_rate_limit_per_minute=LOGIN_LIMIT, signup_rate_limit_per_minute=2, **overrides
    )
    app = create_app(settings)
    return app, settings


def _bad_logins(base_url: str, forwarded: list[str | None]) -> list[int]:
    statuses = []
    with httpx.Client(base_url=base_url) as http:
        for address in forwarded:
            headers = {"X-Forwarded-For": address} if address else {}
            response = http.post(
                "/api/v1/auth/token",
                data={"username": "nobody@example.org", "password": "wrong"},
                headers=headers,
            )
            statuses.append(response.status_code)
    return statuses


@live
async def test_ac_3_spoofed_forwarded_for_does_not_dodge_the_login_limit(db):
    app, settings = await _serve(db)
    assert settings.uvicorn_options() == {"proxy_headers": False}
    spoofed = [f"203.0.113.{n}" for n in range(LOGIN_LIMIT + 1)]
    with serve_in_thread(app, **settings.uvicorn_options()) as base_url:
        statuses = _bad_logins(base_url, spoofed)
    await app.state.engine.dispose()
    assert statuses == [401] * LOGIN_LIMIT + [429]


@live
async def test_ac_3_an_untrusted_peer_forwarded_for_is_ignored(db):
    """Trusted proxies are configured, but the caller (loopback) is not one of them."""
    app, settings = await _serve(db, trusted_proxies=["10.0.0.0/8"])
    with serve_in_thread(app, **settings.uvicorn_options()) as base_url:
        statuses = _bad_logins(base_url, [f"203.0.113.{n}" for n in range(LOGIN_LIMIT + 1)])
    await app.state.engine.dispose()
    assert statuses[-1] == 429


@live
async def test_sign_10_behind_a_trusted_proxy_each_client_has_its_own_bucket(db, session):
    event_id = (await listed_event(session)).id
    await session.commit()
    await session.close()  # no open read transaction while the server writes (SQLite)
    app, settings = await _serve(db, trusted_proxies=["127.0.0.1"])
    url = f"/api/v1/public/events/{event_id}/signup"
    with (
        serve_in_thread(app, **settings.uvicorn_options()) as base_url,
        httpx.Client(base_url=base_url) as http,
    ):

        def post(n: int, address: str) -> int:
            body = signup_form(email=f"person{n}@example.org")
            return http.post(url, json=body, headers={"X-Forwarded-For": address}).status_code

        # the proxy appends the client it saw; the rightmost untrusted address is the client
        first = [post(n, f"198.51.100.7, 192.0.2.{1 + n % 2}") for n in range(4)]
        third = post(9, "192.0.2.3")
        again = post(10, "192.0.2.1")
    await app.state.engine.dispose()
    assert first == [201, 201, 201, 201]  # two clients, two each: within 2 per minute
    assert (third, again) == (201, 429)


def test_trusted_proxies_setting_accepts_addresses_and_networks_only():
    settings = Settings(_env_file=None, trusted_proxies="10.0.0.1, 172.16.0.0/12,::1")  # type: ignore[call-arg]
    assert settings.trusted_proxies == ["10.0.0.1", "172.16.0.0/12", "::1"]
    assert settings.uvicorn_options() == {
        "proxy_headers": True,
        "forwarded_allow_ips": "10.0.0.1,172.16.0.0/12,::1",
    }
    with pytest.raises(ValidationError):
        Settings(_env_file=None, trusted_proxies="proxy.internal")  # type: ignore[call-arg]
