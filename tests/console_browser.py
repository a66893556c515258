"""Shared fixtures and helpers of the staff console browser tests (issue 12).

One demo server per test session: ``polaris serve --demo`` in a temporary directory, exactly what
the README tells people to run (its own SQLite demo database, the Salesforce double in-process so
syncs run), and one headless Debian Chromium. Each test gets a fresh browser context signed in
through the real sign-in form.
"""

from __future__ import annotations

import inspect
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.live_server import free_port

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# Outside CI a machine without Chromium skips these tests; in CI (.ci/run installs Chromium) they run.
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None and not os.environ.get("CI"),
    reason="needs Debian's chromium package (.ci/run installs it)",
)


@dataclass
class ConsoleServer:
    base: str
    email: str
    password: str
    token: str

    @property
    def console(self) -> str:
        return f"{self.base}/console/"

    def api(self) -> httpx.Client:
        return httpx.Client(base_url=self.base, headers={"Authorization": f"Bearer {self.token}"}, timeout=30)


def _start_demo(workdir: Path) -> tuple[subprocess.Popen[bytes], ConsoleServer]:
    """``polaris serve --demo`` with its output in a file (a pipe nobody reads would fill up and
    block the server once its request logs pass the pipe's buffer)."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("POLARIS_")}
    env["POLARIS_OUTBOX_WORKER_ENABLED"] = "false"
    log_path = workdir / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "polaris_api.cli", "serve", "--demo", "--port", str(port)],
            cwd=workdir,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    match = None
    while match is None:
        output = log_path.read_text(errors="replace")
        match = re.search(r"Demo admin\S*: (\S+) / (\S+)", output)
        if match is None:
            if process.poll() is not None:
                raise RuntimeError(f"demo server exited: {output[-3000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError("demo server did not print its admin")
            time.sleep(0.3)
    while True:
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("demo server did not become ready")
        time.sleep(0.3)
    token = httpx.post(
        f"{base}/api/v1/auth/token", data={"username": match.group(1), "password": match.group(2)}
    ).json()["access_token"]
    return process, ConsoleServer(base, match.group(1), match.group(2), token)


@pytest.fixture(scope="session")
def console_server() -> Iterator[ConsoleServer]:
    with tempfile.TemporaryDirectory(prefix="polaris-console-") as workdir:
        process, server = _start_demo(Path(workdir))
        try:
            yield server
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


# Playwright's sync API runs an event loop of its own in the thread that starts it; in the main
# thread that loop would stay "running" for the rest of the session and break every async test
# after the first browser test. So Playwright lives in one worker thread: the fixtures below
# create browsers and pages there, and pytest_pyfunc_call runs each browser test's body there.
_BROWSER_THREAD = ThreadPoolExecutor(max_workers=1, thread_name_prefix="console-browser")


def in_browser_thread(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    return _BROWSER_THREAD.submit(function, *args, **kwargs).result()


def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Run a (sync) test that uses the console browser in the browser thread."""
    if "console_browser" not in pyfuncitem.fixturenames or inspect.iscoroutinefunction(pyfuncitem.obj):
        return None
    names = pyfuncitem._fixtureinfo.argnames
    in_browser_thread(pyfuncitem.obj, **{name: pyfuncitem.funcargs[name] for name in names})
    return True


@pytest.fixture(scope="session")
def console_browser() -> Iterator[Any]:
    def start() -> tuple[Any, Any]:
        from playwright.sync_api import sync_playwright

        playwright = sync_playwright().start()
        return playwright, playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )

    playwright, chromium = in_browser_thread(start)
    try:
        yield chromium
    finally:

        def stop() -> None:
            chromium.close()
            playwright.stop()

        in_browser_thread(stop)


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    configured = os.environ.get("POLARIS_SCREENSHOT_DIR")
    path = Path(configured) if configured else Path(tempfile.mkdtemp(prefix="polaris-console-shots-"))
    path.mkdir(parents=True, exist_ok=True)
    return path


DOCS_SCREENSHOT = Path(__file__).parents[1] / "docs" / "console.png"


def screenshot(page: Any, directory: Path, name: str) -> Path:
    target = directory / f"{name}.png"
    page.screenshot(path=str(target), full_page=True)
    return target


def docs_screenshot(page: Any, directory: Path) -> Path:
    """The README's picture of the console: the visible part of the page, into the screenshot
    directory, and into docs/console.png when ``POLARIS_UPDATE_DOCS_SCREENSHOT=1`` (then commit it)."""
    target = directory / "console-readme.png"
    page.screenshot(path=str(target), full_page=False)
    if os.environ.get("POLARIS_UPDATE_DOCS_SCREENSHOT") == "1":
        DOCS_SCREENSHOT.parent.mkdir(exist_ok=True)
        shutil.copyfile(target, DOCS_SCREENSHOT)
    return target


def new_page(browser: Any) -> Any:
    """A fresh context and page that records CSP violations and page errors."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(60_000)
    context.set_default_navigation_timeout(60_000)
    page = context.new_page()
    page.csp_errors = []  # type: ignore[attr-defined]
    page.js_errors = []  # type: ignore[attr-defined]

    def on_console(message: Any) -> None:
        if "Content Security Policy" in message.text or "Refused to" in message.text:
            page.csp_errors.append(message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda error: page.js_errors.append(str(error)))
    return page


def sign_in(page: Any, server: ConsoleServer, email: str | None = None, password: str | None = None) -> None:
    page.goto(f"{server.console}signin.html")
    page.get_by_label("Email or username").fill(email or server.email)
    page.get_by_label("Password").fill(password or server.password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_selector("#sign-out")


def sign_in_with_token(page: Any, server: ConsoleServer, token: str | None = None) -> None:
    """Put a token where the sign-in page puts it (sessionStorage) and open the home page.
    The sign-in form itself is tested in test_console_foundation; the API allows only 5 logins a
    minute per user (07 AC-3), so the other tests reuse the session's token."""
    page.goto(f"{server.console}signin.html")
    page.evaluate("(token) => sessionStorage.setItem('polaris.console.token', token)", token or server.token)
    page.goto(f"{server.console}index.html")
    page.wait_for_selector("#sign-out")


@pytest.fixture
def console_page(console_browser: Any, console_server: ConsoleServer) -> Iterator[Any]:
    """A page signed in as the demo admin; fails the test on CSP violations or script errors."""

    def open_page() -> Any:
        page = new_page(console_browser)
        sign_in_with_token(page, console_server)
        return page

    current = in_browser_thread(open_page)
    yield current
    errors = current.csp_errors + current.js_errors
    in_browser_thread(current.context.close)
    assert not errors, errors


def check_axe(page: Any) -> None:
    """axe-core over the page: no serious or critical violation."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    bad = [
        (violation["id"], violation["impact"], [node["target"] for node in violation["nodes"]][:5])
        for violation in results.response["violations"]
        if violation["impact"] in ("serious", "critical")
    ]
    assert not bad, bad


def wait_text(page: Any, selector: str, text: str, timeout: float = 60_000) -> str:
    """Wait until the element's text contains ``text`` (a function, not a string expression:
    the console's CSP forbids eval) and return the whole text."""
    page.wait_for_function(
        "([selector, text]) => (document.querySelector(selector)?.textContent || '').includes(text)",
        arg=[selector, text],
        timeout=timeout,
    )
    return str(page.locator(selector).inner_text())


def wait_match(page: Any, selector: str, pattern: str, timeout: float = 60_000) -> str:
    """Wait until the element's text matches the regular expression ``pattern``."""
    page.wait_for_function(
        "([selector, pattern]) => new RegExp(pattern).test(document.querySelector(selector)?.textContent || '')",
        arg=[selector, pattern],
        timeout=timeout,
    )
    return str(page.locator(selector).inner_text())
