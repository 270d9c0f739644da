"""Browser fixtures: the real server (`flask serve` on embedded SQLite) driven by Debian's Chromium.

Every context these fixtures open is watched: a request to any host but 127.0.0.1, a console
error or an uncaught page error fails the test that caused it.

Where network namespaces are allowed, Playwright's driver, its browsers and the servers all run
in a private network (scripts/netns.py) that holds only loopback and 127.0.0.2, so the WebRTC of
the room tests never touches the machine's own address. Room tests need it; they are skipped
(failed under PEERLEARN_REQUIRE_SERVICES=1) where it can't be made.
"""

import os

import pytest

from scripts.live_server import (
    CHROMIUM,
    LiveServer,
    ServerError,
    block_external_requests,
    is_external,
    launch_chromium,
    missing_assets,
)
from tests.conftest import unavailable

DEFAULT_TIMEOUT_MS = 10_000
LOAD_FAILURE = "Failed to load resource: the server responded with a status of"

GUARD_KEY = pytest.StashKey["PageGuard"]()


class PageGuard:
    """Collects what a well-behaved page never does: leave loopback, log errors, throw."""

    def __init__(self):
        self.reset()

    def reset(self):
        self.requests = []
        self.external_requests = []
        self.console_errors = []
        self.error_documents = set()
        self.page_errors = []
        self.visited = []

    def watch(self, context):
        block_external_requests(context, self._record_external)
        context.on("request", self._on_request)
        context.on("response", self._on_response)
        context.on("console", self._on_console)
        context.on("weberror", lambda error: self.page_errors.append(str(error.error)))
        context.on("page", self._on_page)

    def _record_external(self, url):
        if url not in self.external_requests:
            self.external_requests.append(url)

    def _on_request(self, request):
        self.requests.append(request.url)
        if is_external(request.url):
            self._record_external(request.url)
        if request.is_navigation_request():
            self.visited.append(request.url)

    def _on_response(self, response):
        if 400 <= response.status < 500 and response.request.is_navigation_request():
            self.error_documents.add(response.url)

    def _on_console(self, message):
        if message.type == "error":
            where = message.location.get("url", "") if message.location else ""
            self.console_errors.append((message.text, where))

    def _unexpected_console_errors(self):
        # Chromium logs every 4xx document as "Failed to load resource". A page answered with
        # 401 or 422 on purpose (a refused login, an invalid form) is not a broken page; the tests
        # check those statuses themselves. A 5xx page, or a failed stylesheet, script or image,
        # still counts.
        return [
            f"{text} ({where})"
            for text, where in self.console_errors
            if not (text.startswith(LOAD_FAILURE) and where in self.error_documents)
        ]

    def _on_page(self, page):
        # Routes do not see WebSockets; a socket to another host would still be a leak.
        page.on(
            "websocket",
            lambda ws: self._record_external(ws.url) if is_external(ws.url) else None,
        )

    def problems(self):
        found = []
        if self.external_requests:
            found.append("requests left 127.0.0.1:\n  " + "\n  ".join(self.external_requests))
        console_errors = self._unexpected_console_errors()
        if console_errors:
            found.append("console errors:\n  " + "\n  ".join(console_errors))
        if self.page_errors:
            found.append("uncaught page errors:\n  " + "\n  ".join(self.page_errors))
        return found

    def assert_clean(self):
        found = self.problems()
        assert not found, "\n".join(found)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    # Checked here, not in fixture teardown, so a misbehaving page fails the test itself.
    result = yield
    guard = item.stash.get(GUARD_KEY, None)
    if guard is not None:
        guard.assert_clean()
    return result


@pytest.fixture(scope="session")
def private_network():
    """The session's private network, or None where namespaces can't be made here."""
    from scripts import netns

    if netns.problem() is not None:
        yield None
        return
    network = netns.PrivateNetwork().start()
    yield network
    network.stop()


@pytest.fixture(scope="session")
def media_network(private_network):
    """For tests that make WebRTC connections: the private network, or a skip saying why not."""
    if private_network is None:
        from scripts import netns

        unavailable(f"room tests need a private network namespace: {netns.problem()}")
    return private_network


@pytest.fixture(scope="session")
def browser(private_network):
    if not CHROMIUM.exists():
        unavailable(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    try:
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("the playwright Python package is not installed (pip install -r requirements-test.txt)")

    if private_network is not None:
        from playwright._impl._driver import compute_driver_executable

        node, _cli = compute_driver_executable()
        os.environ["PLAYWRIGHT_NODEJS_PATH"] = private_network.node_wrapper(node)
    playwright = sync_playwright().start()
    try:
        browser = launch_chromium(playwright)
    except PlaywrightError as exc:
        playwright.stop()
        unavailable(f"Playwright could not launch {CHROMIUM}: {exc.message.splitlines()[0]}")
    yield browser
    browser.close()
    playwright.stop()
    os.environ.pop("PLAYWRIGHT_NODEJS_PATH", None)


def _serve(network, settings):
    missing = missing_assets()
    if missing:
        unavailable(
            f"front-end assets not built ({', '.join(missing)} missing): "
            "run `make peerlearn/static/dist/.built`"
        )
    server = LiveServer(startup_timeout=30, network=network, settings=settings)
    try:
        server.start()
    except ServerError as exc:
        pytest.fail(f"the live server did not start: {exc}", pytrace=False)
    return server


@pytest.fixture(scope="session")
def live_server(private_network):
    """The embedded server with browser-to-browser rooms (ROOM_MEDIA=mesh)."""
    server = _serve(private_network, {"ROOM_MEDIA": "mesh"})
    yield server
    server.stop()


@pytest.fixture(scope="session")
def _janus_server(private_network):
    from peerlearn.media.embedded import find_binary

    if private_network is None or find_binary() is None:
        yield None
        return
    # Its local Janus gathers candidates on 127.0.0.2 only, the private network's one address.
    server = _serve(
        private_network,
        {"ROOM_MEDIA": "janus", "JANUS_ICE_ENFORCE_LIST": "127.0.0.2", "ROOM_STAGE_THRESHOLD": "4"},
    )
    yield server
    server.stop()


@pytest.fixture(scope="session")
def janus_server(media_network, _janus_server):
    """The embedded server with its supervised local Janus, in the private network."""
    if _janus_server is None:
        unavailable("Janus is not installed (apt-get install janus)")
    return _janus_server


@pytest.fixture
def page_guard(request):
    guard = PageGuard()
    request.node.stash[GUARD_KEY] = guard
    return guard


@pytest.fixture
def new_context(browser, live_server, page_guard):
    """Open a fresh, watched browser context (its own cookies) on the live server."""
    contexts = []

    def make(**options):
        context = browser.new_context(base_url=live_server.url, **options)
        context.set_default_timeout(DEFAULT_TIMEOUT_MS)
        page_guard.watch(context)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_context):
    return new_context().new_page()
