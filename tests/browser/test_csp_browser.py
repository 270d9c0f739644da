"""The pages under their real content security policy, in a real browser: no eval, connections
only to this origin. Every page the policy now constrains runs its Alpine components, its socket
and its room without a single `securitypolicyviolation` event, console error or page error (the
page guard of conftest.py fails the test on those).

The people here register themselves (and confirm through the dev outbox), so no other browser
test shares their sessions, bookings or notifications.
"""

import re

import pytest
from playwright.sync_api import expect

from peerlearn.demo import DEMO_PASSWORD
from scripts.live_server import LiveServer, ServerError
from tests.browser.conftest import DEFAULT_TIMEOUT_MS
from tests.browser.room_support import book, control, enter_room, expect_connected, open_panel, start
from tests.browser.support import alpine_started, create_session, register

pytestmark = pytest.mark.browser

# Records what the policy refused, from before the page's first script runs.
WATCH_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (event) => {
  window.__cspViolations.push(
    `${event.effectiveDirective} refused ${event.blockedURI || '(inline)'}`
      + ` at ${event.sourceFile}:${event.lineNumber}`
  );
});
"""
SOCKET_ON_WEBSOCKET = """() => {
  const socket = window.peerlearn && window.peerlearn.socket;
  return Boolean(socket && socket.connected && socket.io.engine.transport.name === 'websocket');
}"""
CHECKOUT_PAGE = re.compile(r"/bookings/(\d+)/pay$")


def directives(policy):
    return {name: sources for name, *sources in (part.split() for part in policy.split(";"))}


def watched(context):
    context.add_init_script(WATCH_VIOLATIONS)
    return context


def violations(page):
    return page.evaluate("window.__cspViolations || []")


def visit(page, path, server_url):
    """Open ``path``; its policy is the one this install should send, and nothing was refused."""
    response = page.goto(path)
    assert response is not None and response.ok, (
        f"{path} answered {response.status if response else 'nothing'}"
    )
    policy = directives(response.headers["content-security-policy"])
    assert policy["script-src"] == ["'self'"], path
    assert policy["connect-src"] == ["'self'", server_url.replace("http://", "ws://")], path
    alpine_started(page)
    assert violations(page) == [], path
    return response


def test_eval_is_refused_and_reported(browser, live_server):
    # Not a watched context: the refusal is the point, and Chromium logs it as an error.
    context = watched(browser.new_context(base_url=live_server.url))
    try:
        page = context.new_page()
        page.goto("/")
        alpine_started(page)
        # A string handed to setTimeout is compiled later, by the page itself, like Function().
        page.evaluate("() => { setTimeout('window.evalRan = true', 0); }")
        page.wait_for_function("window.__cspViolations.length > 0")
        assert page.evaluate("window.evalRan") is None
        assert violations(page)[0].startswith("script-src refused eval")
    finally:
        context.close()


def test_the_pages_run_under_the_policy(new_context, live_server):
    url = live_server.url
    visitor = watched(new_context()).new_page()
    for path in ("/", "/auth/login", "/sessions?q=python", "/sessions"):
        visit(visitor, path, url)
    links = visitor.locator("main a[href^='/sessions/']").evaluate_all(
        "links => links.map((a) => a.getAttribute('href'))"
    )
    session_page = next(href for href in links if re.fullmatch(r"/sessions/\d+", href))
    visit(visitor, session_page, url)

    # Sign-up: the mentor's fields follow the role picked.
    visit(visitor, "/auth/register", url)
    mentor_fields = visitor.get_by_text("Your mentor profile")
    expect(mentor_fields).to_be_hidden()
    visitor.get_by_label("Learn and teach").check()
    expect(mentor_fields).to_be_visible()
    visitor.get_by_label("Learn", exact=True).check()
    expect(mentor_fields).to_be_hidden()

    mentor = watched(new_context()).new_page()
    register(mentor, "mentor", "Meera Policy")
    learner = watched(new_context(permissions=["clipboard-read", "clipboard-write"])).new_page()
    register(learner, "learner", "Lata Policy")
    paid = create_session(mentor, minutes_ahead=3 * 24 * 60, price_paise=49_900)
    free = create_session(mentor, minutes_ahead=2 * 24 * 60, price_paise=0)
    book(learner, free)

    # The mentor's pages: dashboard, the session form's seat warning, payout details.
    visit(mentor, "/teach", url)
    mentor.wait_for_function(SOCKET_ON_WEBSOCKET, timeout=DEFAULT_TIMEOUT_MS)
    visit(mentor, "/teach/sessions/new", url)
    warning = mentor.get_by_test_id("seat-warning")
    expect(warning).to_be_hidden()
    mentor.locator('input[name="capacity"]').fill("12")
    expect(warning).to_be_visible()
    visit(mentor, "/teach/payout-details", url)
    bank = mentor.locator("[data-method=bank]")
    expect(bank).to_be_hidden()
    mentor.get_by_label("Bank transfer").check()
    expect(bank).to_be_visible()
    expect(mentor.locator("[data-method=upi]")).to_be_hidden()
    visit(mentor, "/teach/earnings", url)
    visit(mentor, "/profile/edit", url)

    # The learner's: checkout with its hold timer, dashboard, bookings with the calendar link,
    # notifications (the bell too), profile.
    visit(learner, f"/sessions/{paid}", url)
    learner.get_by_role("button", name=re.compile(r"^Book for ")).click()
    expect(learner).to_have_url(CHECKOUT_PAGE)
    alpine_started(learner)
    expect(learner.locator("[data-countdown]")).to_have_text(re.compile(r"^\d+:\d\d left$"))
    expect(learner.locator("[data-pay-button]")).to_be_enabled()
    assert violations(learner) == []
    visit(learner, "/learn", url)
    learner.wait_for_function(SOCKET_ON_WEBSOCKET, timeout=DEFAULT_TIMEOUT_MS)
    visit(learner, "/bookings", url)
    learner.get_by_role("button", name="Create my calendar link").click()
    alpine_started(learner)
    copy = learner.get_by_role("button", name="Copy link")
    copy.click()
    expect(learner.get_by_role("button", name="Copied")).to_be_visible()
    feed = learner.get_by_label("Your calendar link").input_value()
    assert learner.evaluate("navigator.clipboard.readText()") == feed
    expect(copy).to_have_text("Copy link", timeout=DEFAULT_TIMEOUT_MS)
    visit(learner, "/notifications", url)
    # The bell's menu: each notification links to its page, or to the center.
    bell = learner.get_by_test_id("notification-bell")
    bell.get_by_role("link", name=re.compile(r"^Notifications")).click()
    notes = bell.locator("ul a")
    expect(notes.first).to_be_visible()
    hrefs = notes.evaluate_all("links => links.map((a) => a.getAttribute('href'))")
    assert all(href.startswith("/") for href in hrefs), hrefs
    visit(learner, "/profile/edit", url)

    admin = watched(new_context()).new_page()
    admin.goto("/auth/login")
    admin.locator("#email").fill("admin@peerlearn.local")
    admin.locator("#password").fill(DEMO_PASSWORD)
    admin.get_by_role("button", name="Log in", exact=True).click()
    expect(admin).not_to_have_url(re.compile(r"/auth/login"))
    visit(admin, "/admin", url)
    expect(admin.locator("[data-chart-ready=true]").first).to_be_attached()

    for page in (visitor, mentor, learner, admin):
        assert violations(page) == [], page.url


class ServerNamedElsewhere(LiveServer):
    """The embedded server, reached at 127.0.0.1 while its PUBLIC_BASE_URL names another origin
    (its sockets accept this one through SOCKETIO_CORS_ORIGINS): the policy's ws: source is then
    not this page's, and only 'self' can let the page's socket in."""

    def environment(self):
        env = super().environment()
        env.update(PUBLIC_BASE_URL="http://localhost:9", SOCKETIO_CORS_ORIGINS=self.url)
        return env


@pytest.fixture
def server_named_elsewhere(private_network):
    server = ServerNamedElsewhere(
        startup_timeout=30, network=private_network, settings={"ROOM_MEDIA": "mesh"}
    )
    try:
        server.start()
    except ServerError as exc:
        pytest.fail(f"the live server did not start: {exc}", pytrace=False)
    yield server
    server.stop()


def test_self_alone_lets_the_socket_use_its_websocket(browser, server_named_elsewhere, page_guard):
    """CSP3: 'self' matches this origin's ws: too, so the socket needs no ws: source of its own
    (PUBLIC_BASE_URL's is named for browsers older than that)."""
    server = server_named_elsewhere
    context = watched(browser.new_context(base_url=server.url))
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    page_guard.watch(context)
    try:
        page = context.new_page()
        register(page, "learner", "Sami Socket")
        response = page.goto("/learn")
        assert directives(response.headers["content-security-policy"])["connect-src"] == [
            "'self'",
            "ws://localhost:9",
        ]
        page.wait_for_function(SOCKET_ON_WEBSOCKET, timeout=DEFAULT_TIMEOUT_MS)
        assert violations(page) == []
    finally:
        context.close()


def test_the_mesh_room_runs_under_the_policy(media_page, live_server):
    mentor, learner = media_page(), media_page()
    for page in (mentor, learner):
        watched(page.context)
    register(mentor, "mentor", "Meena Room")
    register(learner, "learner", "Lalit Room")
    session_id = create_session(mentor, minutes_ahead=6, price_paise=0)
    book(learner, session_id)
    start(mentor, session_id)
    enter_room(mentor, session_id)
    enter_room(learner, session_id)
    expect_connected(mentor)
    expect_connected(learner)

    # A raised hand's toast: View opens the people panel and drops the toast (one method now,
    # where the template had two statements).
    control(learner, "Raise hand").click()
    toast = mentor.locator("[data-hand-toast]")
    expect(toast).to_contain_text("Lalit Room raised a hand")
    toast.get_by_role("button", name="View").click()
    expect(toast).to_have_count(0)
    expect(mentor.get_by_role("region", name=re.compile("^People"))).to_contain_text("Lalit Room")
    open_panel(learner, "Chat")
    learner.get_by_role("textbox", name="Message").fill("Under the policy")
    learner.get_by_role("button", name="Send", exact=True).click()
    expect(mentor.get_by_test_id("chat-log")).to_contain_text("Under the policy", timeout=30_000)
    for page in (mentor, learner):
        assert violations(page) == [], page.url
