"""Staff console foundation (issue 12 items 1-2): served at /console/ with a strict CSP, turned off
by a setting, CORS on the staff API for console origins only, sign-in/out in a real browser,
navigation by role (07 CAP), 401 → sign-in with the page remembered, problem details shown."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from polaris_api.app import CONSOLE_DIR
from tests.conftest import make_settings
from tests.console_browser import ConsoleServer, check_axe, needs_chromium, new_page, screenshot, sign_in

CONSOLE = Path(__file__).parents[1] / "clients" / "web" / "console"


def test_console_files_have_no_inline_scripts_styles_or_handlers():
    """Issue 12 item 2: nothing inline, so the strict CSP holds (no 'unsafe-inline')."""
    pages = sorted(CONSOLE.glob("*.html"))
    assert {"index.html", "signin.html"} <= {p.name for p in pages}
    for path in pages:
        html = path.read_text()
        assert "<style" not in html, path
        assert not re.search(r"\sstyle\s*=", html), path
        assert not re.search(r"\son[a-z]+\s*=", html, re.I), path
        for script in re.findall(r"<script[^>]*>", html):
            assert 'src="js/' in script and 'type="module"' in script, (path, script)
        assert not re.search(r"<script[^>]*>\s*[^<\s]", html), path  # no inline script bodies
    for module in (CONSOLE / "js").glob("*.js"):
        text = module.read_text()
        assert "localStorage." not in text, module  # tokens only in sessionStorage
        assert ".innerHTML" not in text, module
        assert 'setAttribute("style"' not in text and "eval(" not in text, module


async def test_console_served_with_strict_csp(client):
    response = await client.get("/console/")
    assert response.status_code == 200
    assert 'src="js/home.js"' in response.text
    csp = response.headers["Content-Security-Policy"]
    for directive in (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "connect-src 'self'",
    ):
        assert directive in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    script = await client.get("/console/js/api.js")
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    assert "Content-Security-Policy" in script.headers


async def test_console_setting_turns_it_off_and_api_origin_goes_into_connect_src(make_app):
    off = make_app(console_enabled=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=off), base_url="http://t") as c:
        assert (await c.get("/console/")).status_code == 404
    other = make_app(console_api_origin="https://api.example.org/")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=other), base_url="http://t") as c:
        csp = (await c.get("/console/signin.html")).headers["Content-Security-Policy"]
    assert "connect-src 'self' https://api.example.org;" in csp


def test_console_api_origin_must_be_an_origin():
    with pytest.raises(ValueError):
        make_settings(console_api_origin="https://x.org; script-src *")


async def test_staff_api_cors_only_for_console_origins(make_app):
    """Hosting the console elsewhere: preflight and bearer requests from a listed origin pass;
    other origins get no CORS headers; no credentials (cookies) are ever allowed."""
    app = make_app(console_origins=["https://console.example.org"])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        allowed = await c.options(
            "/api/v1/auth/me",
            headers={
                "Origin": "https://console.example.org",
                "Access-Control-Request-Method": "PATCH",
                "Access-Control-Request-Headers": "authorization,content-type",
            },
        )
        other = await c.options(
            "/api/v1/auth/me",
            headers={"Origin": "https://evil.example.org", "Access-Control-Request-Method": "GET"},
        )
        simple = await c.get("/api/v1/auth/me", headers={"Origin": "https://console.example.org"})
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://console.example.org"
    assert "authorization" in allowed.headers["access-control-allow-headers"].lower()
    assert "PATCH" in allowed.headers["access-control-allow-methods"]
    assert "access-control-allow-credentials" not in allowed.headers
    assert "access-control-allow-origin" not in other.headers
    assert simple.status_code == 401
    assert simple.headers["access-control-allow-origin"] == "https://console.example.org"


async def test_no_staff_cors_without_console_origins(client):
    response = await client.options(
        "/api/v1/auth/me",
        headers={"Origin": "https://console.example.org", "Access-Control-Request-Method": "GET"},
    )
    assert "access-control-allow-origin" not in response.headers


def test_console_is_package_data():
    """An installed wheel carries the console: polaris_api/console links to clients/web/console
    and pyproject lists its files as package data (a wheel copies the linked files)."""
    assert CONSOLE_DIR.resolve() == CONSOLE.resolve()
    pyproject = (Path(__file__).parents[1] / "pyproject.toml").read_text()
    for pattern in ('"console/*.html"', '"console/*.css"', '"console/js/*.js"'):
        assert pattern in pyproject


# --- in the browser, against `polaris serve --demo` -----------------------------------------------


@needs_chromium
def test_sign_in_nav_sign_out_and_401_remembers_page(
    console_browser, console_server: ConsoleServer, screenshot_dir
):
    page = new_page(console_browser)
    try:
        # not signed in: a console page sends us to sign-in and remembers where we were
        page.goto(f"{console_server.console}syncs.html")
        page.wait_for_url(re.compile(r"signin\.html$"))
        check_axe(page)
        screenshot(page, screenshot_dir, "signin")
        # wrong password: the problem detail is shown, not a generic failure
        page.get_by_label("Email or username").fill(console_server.email)
        page.get_by_label("Password").fill("not the password at all")
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_selector("#status.msg-error")
        message = page.locator("#status").inner_text()
        assert "Signing in failed" in message and "(" in message  # detail (code)
        # right password: back to the remembered page, URL without personal data
        page.get_by_label("Password").fill(console_server.password)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(re.compile(r"syncs\.html$"))
        assert console_server.email not in page.url
        page.wait_for_selector("#sign-out")
        nav = page.locator("#nav ul.menu a").all_inner_texts()
        assert nav[:5] == ["Home", "Publishing", "Syncs", "Imports", "Teacher progress"]
        token = page.evaluate("() => sessionStorage.getItem('polaris.console.token')")
        assert token and page.evaluate("() => localStorage.length") == 0
        # an expired/invalid token: the next API call answers 401 → sign-in, page remembered
        page.evaluate("() => sessionStorage.setItem('polaris.console.token', 'expired')")
        page.goto(f"{console_server.console}index.html")
        page.wait_for_url(re.compile(r"signin\.html$"))
        sign_in(page, console_server)
        assert page.url.endswith("index.html")
        check_axe(page)
        screenshot(page, screenshot_dir, "home")
        cards = page.locator("#cards a.card strong").all_inner_texts()
        assert "Publishing" in cards and "Imports" in cards
        page.click("#sign-out")
        page.wait_for_url(re.compile(r"signin\.html"))
        assert page.evaluate("() => sessionStorage.getItem('polaris.console.token')") is None
        assert "signed out" in page.locator("#status").inner_text()
    finally:
        errors = page.csp_errors + page.js_errors
        page.context.close()
    assert not errors, errors
