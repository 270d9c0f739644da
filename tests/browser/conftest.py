"""Browser fixtures: the real server (`flask serve` on embedded SQLite) driven by Debian's Chromium.

Every context these fixtures open is watched: a request to any host but 127.0.0.1, a console
error or an uncaught page error fails the test that caused it.

Where network namespaces are allowed, Playwright's driver, its browsers and the servers all run
in a private network (scripts/netns.py) that holds only loopback and 127.0.0.2, so the WebRTC of
the room tests never touches the machine's own address. Room tests need it; they are skipped
(failed under PEERLEARN_REQUIRE_SERVICES=1) where it can't be made.
"""

import math
import os
import struct
import wave
from urllib.parse import urlsplit

import pytest

from scripts.live_server import (
    CHROMIUM,
    CHROMIUM_ARGS,
    LiveServer,
    ServerError,
    block_external_requests,
    is_external,
    launch_chromium,
    missing_assets,
)
from tests.conftest import unavailable

DEFAULT_TIMEOUT_MS = 10_000
# Chromium's stand-ins for a camera, a microphone and a screen, and host candidates on loopback.
MEDIA_ARGS = [
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--allow-loopback-in-peer-connection",
]
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
        request = response.request
        # The service worker (static/src/js/pwa) fetches each page for its navigation: the page
        # then reports the address asked for (before any redirect), and the worker's own fetch
        # the address answered, which is where Chromium's "Failed to load resource" points.
        if not 400 <= response.status < 500:
            return
        # The worker's own fetches of the built files (/static/) still count when they fail.
        page_through_worker = (
            request.service_worker is not None
            and request.resource_type == "fetch"
            and "/static/" not in urlsplit(response.url).path
        )
        if request.is_navigation_request() or page_through_worker:
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
    # Every page of the whole browser suite comes from one address, standing for dozens of
    # people: limits per address would answer 429 to the later tests' sign-ups and sign-ins.
    # Limits per account stay as configured (and are tested without a browser).
    per_address = dict.fromkeys(
        ("REGISTER_LIMIT_PER_IP", "LOGIN_LIMIT_PER_IP", "RESET_LIMIT_PER_IP"), "1000 per minute"
    )
    server = LiveServer(startup_timeout=30, network=network, settings={**per_address, **settings})
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


def write_voice(path, rate=48_000):
    """Four seconds of sound for the fake microphone to loop: three of a voice-like hum (a
    150 Hz tone with overtones, swelling four times a second) and one of silence.

    Chromium's own fake microphone only beeps briefly twice a second, which a speaking meter
    sampling every 200 ms catches by chance, and noise suppression learns to filter out.
    """
    frames = bytearray()
    for i in range(rate * 4):
        t = i / rate
        sample = 0.0
        if t < 3:
            swell = 0.5 + 0.5 * math.sin(2 * math.pi * 4 * t)
            sample = 0.35 * swell * sum(math.sin(2 * math.pi * 150 * k * t) / k for k in range(1, 6))
        frames += struct.pack("<h", round(max(-1.0, min(1.0, sample)) * 32767))
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(bytes(frames))


def voice_argument(tmp_path_factory):
    """The Chromium argument that makes its fake microphone play write_voice's sound."""
    voice = tmp_path_factory.mktemp("fake-microphone") / "voice.wav"
    write_voice(voice)
    return f"--use-file-for-fake-audio-capture={voice}"


def launch_media_browser(browser, *extra_args):
    """A second Chromium from the same Playwright (so inside the private network), with fake
    capture devices; ``extra_args`` such as a voice for the fake microphone."""
    return browser.browser_type.launch(
        executable_path=str(CHROMIUM), headless=True, args=[*CHROMIUM_ARGS, *MEDIA_ARGS, *extra_args]
    )


def open_media_context(media_browser, server, guard, **options):
    """A fresh, watched context of a media browser on ``server``, allowed camera and microphone."""
    context = media_browser.new_context(base_url=server.url, permissions=["camera", "microphone"], **options)
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    guard.watch(context)
    return context


@pytest.fixture
def page_guard(request):
    guard = PageGuard()
    request.node.stash[GUARD_KEY] = guard
    return guard


def watched_contexts(browser, base_url, page_guard):
    """For a fixture to yield: a maker of fresh, watched browser contexts (their own cookies) on
    ``base_url``, each closed when the fixture ends."""
    contexts = []

    def make(**options):
        context = browser.new_context(base_url=base_url, **options)
        context.set_default_timeout(DEFAULT_TIMEOUT_MS)
        page_guard.watch(context)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def new_context(browser, live_server, page_guard):
    """Open a fresh, watched browser context (its own cookies) on the live server."""
    yield from watched_contexts(browser, live_server.url, page_guard)


@pytest.fixture
def page(new_context):
    return new_context().new_page()


@pytest.fixture(scope="module")
def media_browser(browser, media_network):
    """A second Chromium from the same Playwright, launched with fake capture devices."""
    media = launch_media_browser(browser)
    yield media
    media.close()


@pytest.fixture
def media_page(media_browser, live_server, page_guard):
    """Open a page in a fresh, watched context (its own cookies) of the media browser."""
    contexts = []

    def make():
        context = open_media_context(media_browser, live_server, page_guard)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()
