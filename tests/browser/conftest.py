"""Browser fixtures: the app served on a real port, headless Chromium from Debian driven by Playwright."""

from __future__ import annotations

import functools
import itertools
import shutil
import threading
import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright
from werkzeug.serving import make_server

from app.extensions import db
from tests import factories

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}
DESKTOP = {"viewport": {"width": 1280, "height": 900}}


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


class _Answered:
    """A response body that reports when it has been sent to the end or closed, whichever comes first: werkzeug
    skips close() when the browser resets the connection before the server has drained the request."""

    def __init__(self, body, done) -> None:
        self.body = body
        self.done = done

    def __iter__(self):
        try:
            yield from self.body
        finally:
            self.done()

    def close(self) -> None:
        try:
            if hasattr(self.body, "close"):
                self.body.close()
        finally:
            self.done()


class InFlight:
    """WSGI middleware counting the requests the live server is still answering (body sent to the end)."""

    def __init__(self, app) -> None:
        self.app = app
        self.active: dict[int, str] = {}
        self.changed = threading.Condition()
        self._ids = itertools.count()

    def __call__(self, environ, start_response):
        key = next(self._ids)
        with self.changed:
            self.active[key] = f"{environ['REQUEST_METHOD']} {environ.get('PATH_INFO', '')}"
        done = functools.partial(self._done, key)
        try:
            body = self.app(environ, start_response)
        except BaseException:
            done()
            raise
        return _Answered(body, done)

    def _done(self, key: int) -> None:
        with self.changed:
            self.active.pop(key, None)
            self.changed.notify_all()

    def wait_idle(self, timeout: float = 30.0) -> list[str]:
        """Waits until no request is in flight; returns those still in flight after timeout seconds."""
        with self.changed:
            self.changed.wait_for(lambda: not self.active, timeout)
            return list(self.active.values())


@pytest.fixture(scope="session")
def served(app) -> Iterator[tuple[str, InFlight]]:
    """The test app on 127.0.0.1 (a secure context, so service workers and the camera work)."""
    in_flight = InFlight(app)
    server = make_server("127.0.0.1", 0, in_flight, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    app.config["BASE_URL"] = base
    yield base, in_flight
    server.shutdown()
    thread.join(10)


@pytest.fixture(scope="session")
def live_server(served) -> str:
    return served[0]


@pytest.fixture(autouse=True)
def _server_settles(served) -> Iterator[None]:
    """After a test's browsers have closed, wait for the requests they left in flight (a service worker's
    Background Sync may still be landing) before the tables are emptied for the next test."""
    yield
    left = served[1].wait_idle()
    assert not left, f"the live server was still answering {left} 30 s after the test ended"


@pytest.fixture(scope="session")
def playwright_instance():
    with sync_playwright() as pw:
        yield pw


def launch(playwright_instance, extra_args: list[str] | None = None) -> Browser:
    """Debian's Chromium, headless; extra_args for things like the fake camera."""
    assert shutil.which("chromium") or CHROMIUM, "install Debian's chromium (make test does it when root)"
    return playwright_instance.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS + (extra_args or [])
    )


@pytest.fixture(scope="session")
def browser(playwright_instance) -> Iterator[Browser]:
    browser = launch(playwright_instance)
    yield browser
    browser.close()


@pytest.fixture
def phone_context(browser, live_server) -> Iterator[BrowserContext]:
    context = browser.new_context(base_url=live_server, **PHONE)
    yield context
    context.close()


@pytest.fixture
def phone(phone_context) -> Page:
    """A page in a 390×844 phone-sized context."""
    page = phone_context.new_page()
    page.set_default_timeout(10_000)
    return page


@pytest.fixture
def desktop(browser, live_server) -> Iterator[Page]:
    context = browser.new_context(base_url=live_server, **DESKTOP)
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


@pytest.fixture
def staff_user(app):
    """Make a staff login: staff_user(role, *campus_codes) → (email, password)."""

    def make(role: str = "tech", *campus_codes: str) -> tuple[str, str]:
        from app.models import Role

        with app.app_context():
            user = factories.make_user(Role(role), *campus_codes)
            db.session.commit()
            return user.email, factories.PASSWORD

    return make


def wait_for(predicate, timeout: float = 15.0):
    """Poll a server-side predicate (the database) until it is truthy, and return its value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


def wait_until(page: Page, script: str, timeout: float = 15.0):
    """Poll a page expression (sync or async) until it is truthy; fail after the deadline.

    page.evaluate goes through the DevTools protocol, which the pages' CSP does not govern, whereas
    wait_for_function compiles its predicate inside the page, which a CSP without 'unsafe-eval' refuses.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = page.evaluate(script)
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {script[:60]}"
        page.wait_for_timeout(100)


def sign_in(page: Page, email: str, password: str = factories.PASSWORD, next_path: str = "/") -> None:
    """Sign in through the real form and wait for the landing page."""
    page.goto(f"/login?next={next_path}")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/login" not in url)
