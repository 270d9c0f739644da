"""The installable app in Chromium: the service worker takes control, the offline page is shown
when the network to the server is cut, a push message (delivered through the DevTools
protocol, as a push service would) becomes a notification, and tapping one takes the app to its
url, this site's only.

Each test starts a server of its own (in the browser's private network where there is one), so
cutting it off cuts only this test's connection: the shared live server the other tests use, and
its service worker scope (another port, another origin), are untouched.
"""

import json
from contextlib import contextmanager

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import DEFAULT_TIMEOUT_MS, _serve
from tests.browser.support import nft_rule, register_confirmed, visit
from tests.conftest import unavailable

WORKER_TIMEOUT_MS = 20_000
NOTIFICATIONS = """async () => {
  const notes = await (await navigator.serviceWorker.ready).getNotifications();
  return notes.map((note) => [note.title, note.body, note.tag, note.data.url]);
}"""
CONTROLLED = "() => Boolean(navigator.serviceWorker && navigator.serviceWorker.controller)"
# In the worker: show a notification carrying `url`, then hand the worker's own notificationclick
# handler a click on it. Neither Playwright nor the DevTools protocol can click a notification, so
# the event is made here; the handler's waitUntil is caught to await what it did (a made event's
# own waitUntil refuses to extend it). Returns ["done", url of the window it went to] or
# ["refused", the browser's error].
TAP = """async (url) => {
  await self.registration.showNotification('Live now: Flask', { tag: 'tap', data: { url } });
  const [notification] = await self.registration.getNotifications({ tag: 'tap' });
  const event = new NotificationEvent('notificationclick', { notification });
  const work = [];
  Object.defineProperty(event, 'waitUntil', { value: (promise) => work.push(promise) });
  self.dispatchEvent(event);
  try {
    const [client] = await Promise.all(work);
    const left = await self.registration.getNotifications({ tag: 'tap' });
    return ['done', client ? client.url : null, left.length];
  } catch (error) {
    return ['refused', String(error)];
  }
}"""


@pytest.fixture
def own_server(private_network):
    server = _serve(private_network, {})
    yield server
    server.stop()


@pytest.fixture
def own_context(browser, own_server, page_guard):
    context = browser.new_context(base_url=own_server.url, permissions=["notifications"])
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    page_guard.watch(context)
    yield context
    context.close()


def controlled_page(context):
    page = context.new_page()
    visit(page, "/sessions")
    page.wait_for_function(CONTROLLED, timeout=WORKER_TIMEOUT_MS)
    return page


def the_worker(context):
    """The service worker controlling the context's pages, as Playwright reaches it."""
    return context.service_workers[0] if context.service_workers else context.wait_for_event("serviceworker")


@contextmanager
def network_cut(network, port):
    """Inside the private network, every connection to ``port`` refused (a reset, as a phone
    without a signal gets at once) while the server behind it keeps running."""
    if network is None:
        unavailable("cutting the network needs the private network namespace the browser runs in")
    with nft_rule(network, "offline", "output", "tcp", "dport", str(port), "reject", "with", "tcp", "reset"):
        yield


def test_the_offline_page_is_shown_when_the_network_is_cut(private_network, own_server, own_context):
    page = controlled_page(own_context)
    cached = page.evaluate(
        "async () => (await caches.keys()).filter((name) => name.startsWith('peerlearn-'))"
    )
    assert any(name.startswith("peerlearn-shell-") for name in cached)

    with network_cut(private_network, own_server.port):
        offline_page_shows(page)
    # With the network back, the same address is the page again.
    page.reload()
    expect(page.get_by_test_id("offline-page")).to_have_count(0)
    expect(page.get_by_role("heading", level=1)).to_be_visible()


def offline_page_shows(page):
    page.goto("/sessions?category=Programming")

    expect(page.get_by_test_id("offline-page")).to_be_visible()
    expect(page.get_by_role("heading", name="You're offline", exact=True)).to_be_visible()
    assert page.url.endswith("/sessions?category=Programming")
    # Its stylesheet came from the cache too: the retry button has the brand colour.
    colour = page.get_by_test_id("offline-retry").evaluate("(el) => getComputedStyle(el).backgroundColor")
    assert colour not in ("", "rgba(0, 0, 0, 0)", "transparent")

    page.get_by_test_id("offline-retry").click()
    expect(page.get_by_test_id("offline-page")).to_be_visible()


def test_a_push_message_becomes_a_notification(own_context):
    page = controlled_page(own_context)
    cdp = own_context.new_cdp_session(page)
    registrations = []
    cdp.on(
        "ServiceWorker.workerRegistrationUpdated", lambda event: registrations.extend(event["registrations"])
    )
    cdp.send("ServiceWorker.enable")
    page.wait_for_function("() => true")  # let the registration event arrive
    origin = page.evaluate("() => window.location.origin")
    [registration] = [
        item for item in registrations if item["scopeURL"] == f"{origin}/" and not item["isDeleted"]
    ]

    message = {
        "title": "Live now: Flask",
        "body": "Asha has started.",
        "url": "/sessions",
        "tag": "s-1",
    }
    cdp.send(
        "ServiceWorker.deliverPushMessage",
        {"origin": origin, "registrationId": registration["registrationId"], "data": json.dumps(message)},
    )

    shown = []
    for _attempt in range(80):  # the worker shows it asynchronously; 20 s at most
        shown = page.evaluate(NOTIFICATIONS)
        if shown:
            break
        page.wait_for_timeout(250)
    assert shown == [["Live now: Flask", "Asha has started.", "s-1", "/sessions"]]


def test_tapping_a_notification_takes_the_open_tab_to_its_url_on_this_site_only(own_context):
    page = controlled_page(own_context)
    origin = page.evaluate("() => window.location.origin")
    worker = the_worker(own_context)

    # The open tab goes to the notification's page, and the notification is closed.
    assert worker.evaluate(TAP, "/sessions?category=Design") == [
        "done",
        f"{origin}/sessions?category=Design",
        0,
    ]
    expect(page).to_have_url(f"{origin}/sessions?category=Design")
    expect(page.get_by_role("heading", level=1)).to_be_visible()

    # A tab already on that page is only brought to the front, not loaded again nor doubled.
    # Chromium lets a worker focus a window only for a click it saw itself, so it refuses here:
    # the refusal shows the handler asked for exactly that.
    assert worker.evaluate(TAP, "/sessions?category=Design") == [
        "refused",
        "InvalidAccessError: Not allowed to focus a window.",
    ]
    assert [p.url for p in own_context.pages] == [f"{origin}/sessions?category=Design"]

    # Another site's address, or a script, opens this site's home page instead.
    assert worker.evaluate(TAP, "https://elsewhere.example/sessions") == ["done", f"{origin}/", 0]
    expect(page).to_have_url(f"{origin}/")
    visit(page, "/sessions")
    assert worker.evaluate(TAP, "javascript:alert(1)") == ["done", f"{origin}/", 0]
    expect(page).to_have_url(f"{origin}/")


def test_tapping_a_notification_with_no_tab_open_asks_for_a_new_window(own_context):
    page = controlled_page(own_context)
    worker = the_worker(own_context)
    elsewhere = own_context.new_page()  # keeps the browser context open; not one of the app's tabs
    page.close()

    # With no tab of the app open, the handler opens one. Chromium allows clients.openWindow only
    # for a click it saw itself, so for this made click it refuses: the refusal is the proof that
    # the handler got as far as asking, and no page of the app opened behind its back.
    assert worker.evaluate(TAP, "/sessions") == [
        "refused",
        "InvalidAccessError: Not allowed to open a window.",
    ]
    assert [p.url for p in own_context.pages] == [elsewhere.url]


def test_the_phone_notifications_switch_reads_this_browsers_state(new_context):
    # The live server runs as `make run` does: a VAPID pair kept in its instance folder.
    page = new_context().new_page()
    register_confirmed(page, "learner", "Meera Learner")
    visit(page, "/notifications/preferences")

    switch = page.get_by_test_id("push-switch")
    state = page.get_by_test_id("push-state")
    expect(state.get_by_text("Off for this device.")).to_be_visible()
    expect(state.get_by_text("On for this device.")).to_be_hidden()
    expect(switch).to_be_enabled()
    expect(switch).to_have_attribute("aria-checked", "false")
    expect(switch).to_have_accessible_name("Phone notifications")
