"""A real headless Chromium against Django's live server, driven by Playwright's sync API.

One browser per test process, a fresh context (cookies, storage, permissions) per test. Without a
Chromium binary the tests are skipped locally, but fail in CI so that they can never be skipped unseen.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    Response,
    ViewportSize,
    sync_playwright,
)
from pytest_django.live_server_helper import LiveServer

from accounts.models import User

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
# Without the networking switches Chromium keeps trying to reach update and sync services, and on a
# machine without internet access it stalls on the refused connections.
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
ASYNC_UNSAFE_SWITCH = "DJANGO_ALLOW_ASYNC_UNSAFE"
VIEWPORT: ViewportSize = {"width": 1280, "height": 900}


def _find_chromium() -> tuple[str | None, str]:
    """The Chromium executable to drive, or None and the reason none was found."""
    configured = os.environ.get("CHROMIUM_PATH", "")
    if configured:
        if Path(configured).is_file():
            return configured, ""
        return None, f"CHROMIUM_PATH is set to {configured!r}, which is not a file."
    for candidate in CHROMIUM_CANDIDATES:
        if Path(candidate).is_file():
            return candidate, ""
    tried = ", ".join(CHROMIUM_CANDIDATES)
    return None, f"No Chromium found (tried {tried}); install Debian's chromium or set CHROMIUM_PATH."


@dataclass(frozen=True)
class BrowserProcess:
    browser: Browser
    # The event loop Playwright's sync API runs on; see the ``browser`` fixture for why it is kept here.
    loop: asyncio.AbstractEventLoop


@pytest.fixture(scope="session")
def browser_process() -> Iterator[BrowserProcess]:
    executable, reason = _find_chromium()
    if executable is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"Browser tests cannot run in CI: {reason}", pytrace=False)
        pytest.skip(reason)
    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, timeout=30_000)
    except BaseException:
        playwright.stop()
        raise
    loop = asyncio.get_running_loop()
    # Between its calls Playwright leaves its loop marked as running in this thread, which makes
    # Django refuse every ORM call. Other tests in this process must not see it: the loop is marked
    # only while a browser test runs.
    asyncio._set_running_loop(None)
    try:
        yield BrowserProcess(browser=browser, loop=loop)
    finally:
        asyncio._set_running_loop(loop)
        try:
            browser.close()
        finally:
            playwright.stop()
            asyncio._set_running_loop(None)


@pytest.fixture
def browser(browser_process: BrowserProcess, transactional_db: None) -> Iterator[Browser]:
    # While Playwright's loop is marked as running, the test's own ORM calls (fixtures, assertions)
    # would be refused as if made from async code; they are plain synchronous calls, so allow them.
    previous = os.environ.get(ASYNC_UNSAFE_SWITCH)
    os.environ[ASYNC_UNSAFE_SWITCH] = "true"
    asyncio._set_running_loop(browser_process.loop)
    try:
        yield browser_process.browser
    finally:
        # Torn down before transactional_db flushes the database, which then runs unmarked.
        asyncio._set_running_loop(None)
        if previous is None:
            del os.environ[ASYNC_UNSAFE_SWITCH]
        else:
            os.environ[ASYNC_UNSAFE_SWITCH] = previous


@dataclass
class PageProblems:
    """What went wrong in the browser without failing a Playwright call: script errors, CSP refusals,
    static files that did not load."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    static_failures: list[str] = field(default_factory=list)
    static_loaded: list[str] = field(default_factory=list)

    def watch(self, page: Page) -> None:
        page.on("console", self._on_console)
        page.on("pageerror", lambda error: self.page_errors.append(f"page error: {error}"))
        page.on("response", self._on_response)

    def _on_console(self, message: ConsoleMessage) -> None:
        # Refused uploads and stale saves are answered with 4xx on purpose; Chromium logs every
        # such response as "Failed to load resource". Static files are checked by their responses.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.console_errors.append(f"console error: {message.text}")

    def _on_response(self, response: Response) -> None:
        path = response.url.split("://", 1)[-1].partition("/")[2]
        if not f"/{path}".startswith(settings.STATIC_URL):
            return
        # 304: the browser revalidated its cached copy (a page loaded again, or a file changed moments ago).
        if response.ok or response.status == 304:
            self.static_loaded.append(f"/{path}")
        else:
            self.static_failures.append(f"static file: {response.status} /{path}")

    @property
    def all(self) -> list[str]:
        return [*self.console_errors, *self.page_errors, *self.static_failures]


@pytest.fixture
def page_problems() -> PageProblems:
    return PageProblems()


NewContext = Callable[[], BrowserContext]


@pytest.fixture
def new_context(browser: Browser, live_server: LiveServer, page_problems: PageProblems) -> Iterator[NewContext]:
    """Makes browser contexts for the live server; every page opened in them is watched for problems."""
    contexts: list[BrowserContext] = []

    def make() -> BrowserContext:
        context = browser.new_context(base_url=live_server.url, viewport=VIEWPORT)
        context.set_default_timeout(10_000)
        context.on("page", page_problems.watch)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def context(new_context: NewContext) -> BrowserContext:
    return new_context()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


def log_in(context: BrowserContext, user: User, live_server: LiveServer) -> None:
    """Signs the context in as ``user`` without the login form (its own test drives the form)."""
    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": cookie.value, "url": live_server.url}])


@pytest.fixture
def screenshot_dir(tmp_path: Path) -> Path:
    """Where screenshots go: BROWSER_SCREENSHOT_DIR when set (to keep them, e.g. as CI artifacts), else a tmp dir."""
    configured = os.environ.get("BROWSER_SCREENSHOT_DIR")
    directory = Path(configured) if configured else tmp_path / "screenshots"
    directory.mkdir(parents=True, exist_ok=True)
    return directory
