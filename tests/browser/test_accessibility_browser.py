"""Every main page, the live room included, at a desktop and a phone width, checked by axe-core
against WCAG 2.2 AA: no violation at all.

axe-core comes from the npm registry (package.json pins it; `npm ci` installs it) and is read
from node_modules, so nothing is fetched while the tests run.

The people here register themselves (and confirm through the dev outbox), so no other browser
test shares their sessions or bookings.
"""

import re
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import launch_media_browser, open_media_context
from tests.browser.room_support import book, enter_room, expect_connected, log_in, start
from tests.browser.support import alpine_started, create_session, csrf_headers, register
from tests.conftest import unavailable

pytestmark = pytest.mark.browser

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
VIEWPORTS = {
    "desktop": {"width": 1280, "height": 800},
    "phone": {"width": 390, "height": 844},
}
RUN_AXE = """async (tags) => {
  const results = await window.axe.run(document, { runOnly: { type: 'tag', values: tags } });
  return results.violations.map((violation) => ({
    id: violation.id,
    help: violation.help,
    targets: violation.nodes.map((node) => node.target.join(' ')),
  }));
}"""


@pytest.fixture(scope="module")
def axe_source():
    if not AXE.exists():
        unavailable(f"axe-core is not installed ({AXE} missing): run `npm ci`")
    return AXE.read_text()


def audit(page, path, axe_source):
    """Open ``path`` and return axe's violations there, one line each.

    A link to a part of a page (``#what-happened``) is opened at the page itself: axe checks the
    whole document whatever the scroll, but judges a target's size by what covers it, and a page
    opened at an anchor keeps scrolling (smoothly, and again as its layout settles), so whatever
    passes under the sticky header while axe runs would count as crowded. The anchor changes
    nothing else on these pages."""
    response = page.goto(path.split("#")[0])
    assert response is not None and response.ok, (
        f"{path} answered {response.status if response else 'nothing'}"
    )
    alpine_started(page)
    return run_axe(page, path, axe_source)


def run_axe(page, where, axe_source):
    """axe's violations on the page as it is now, one line each: rule, help, first targets."""
    page.add_script_tag(content=axe_source)
    return [
        f"{where}: {violation['id']} ({violation['help']}) at {', '.join(violation['targets'][:5])}"
        for violation in page.evaluate(RUN_AXE, WCAG_TAGS)
    ]


def axe_context(new_context, viewport):
    # The pages' policy allows only scripts from this origin, which an injected script is not:
    # the policy is bypassed for these contexts alone (test_csp_browser.py checks it holds).
    return new_context(bypass_csp=True, viewport=VIEWPORTS[viewport])


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_every_page_meets_wcag_22_aa(new_context, axe_source, viewport):
    violations = []

    visitor = axe_context(new_context, viewport).new_page()
    for path in ("/", "/sessions"):
        violations += audit(visitor, path, axe_source)
    links = visitor.locator("main a[href^='/sessions/']").evaluate_all(
        "links => links.map((a) => a.getAttribute('href'))"
    )
    session_page = next(href for href in links if re.fullmatch(r"/sessions/\d+", href))
    for path in (session_page, "/auth/login", "/auth/register"):
        violations += audit(visitor, path, axe_source)

    mentor = axe_context(new_context, viewport).new_page()
    register(mentor, "mentor", "Mira Access")
    mentor_id = mentor.locator("body").get_attribute("data-user-id")
    session_id = create_session(mentor, minutes_ahead=2 * 24 * 60, price_paise=0)
    for path in ("/teach", "/teach/earnings", "/profile/edit", f"/mentors/{mentor_id}", "/mentors"):
        violations += audit(mentor, path, axe_source)

    learner = axe_context(new_context, viewport).new_page()
    register(learner, "learner", "Lina Access")
    book(learner, session_id)
    for path in ("/learn", "/bookings", "/notifications", "/profile", f"/sessions/{session_id}"):
        violations += audit(learner, path, axe_source)

    # The demo's people, whose dashboards have charts, earnings and history to show (only read).
    for email, paths in (
        ("mentor2@peerlearn.local", ("/teach", "/teach/earnings")),
        ("learner5@peerlearn.local", ("/learn", "/bookings", "/notifications")),
        ("admin@peerlearn.local", ("/admin",)),
    ):
        demo = axe_context(new_context, viewport).new_page()
        log_in(demo, email)
        for path in paths:
            violations += audit(demo, path, axe_source)

    # The learning record: a demo learner's session history and a booking's "What happened",
    # and a demo mentor's record of a past session.
    for email, listing, record in (
        ("learner5@peerlearn.local", "/learn/history", r"/bookings/\d+#what-happened"),
        ("mentor2@peerlearn.local", "/teach/sessions?tab=past", r"/teach/sessions/\d+/record"),
    ):
        demo = axe_context(new_context, viewport).new_page()
        log_in(demo, email)
        violations += audit(demo, listing, axe_source)
        links = demo.locator("main a").evaluate_all(HREFS)
        violations += audit(demo, next(href for href in links if re.fullmatch(record, href)), axe_source)

    assert not violations, f"{len(violations)} WCAG 2.2 AA violations:\n" + "\n".join(violations)


HREFS = "links => links.map((a) => a.getAttribute('href'))"


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_more_pages_meet_wcag_22_aa(new_context, axe_source, viewport):
    """The pages the first walk does not reach: the mentor directory searched (with results and
    without), a mentor's reviews, requests from both sides, a booking, a mentor's own sessions,
    the session form showing its errors, and every admin tab."""
    violations = []

    mentor = axe_context(new_context, viewport).new_page()
    register(mentor, "mentor", "Moti Access")
    mentor_id = mentor.locator("body").get_attribute("data-user-id")
    session_id = create_session(mentor, minutes_ahead=3 * 24 * 60, price_paise=0)

    learner = axe_context(new_context, viewport).new_page()
    register(learner, "learner", "Lalit Access")
    book(learner, session_id)
    preferred = (datetime.now() + timedelta(days=5)).replace(hour=10, minute=0, second=0, microsecond=0)
    response = learner.request.post(
        "/api/requests/",
        data={
            "mentor_id": int(mentor_id),
            "topic": "Reading a flame graph",
            "message": "I profile a slow endpoint and get lost in the graph.",
            "preferred_times": [preferred.isoformat(timespec="minutes")],
        },
        headers=csrf_headers(learner),
    )
    assert response.status == 201, response.text()
    request_id = response.json()["data"]["id"]
    learner.goto("/bookings")
    booking_path = next(
        href
        for href in learner.locator("main a[href^='/bookings/']").evaluate_all(HREFS)
        if re.fullmatch(r"/bookings/\d+", href)
    )
    violations += audit(learner, "/mentors?q=Asha", axe_source)
    expect(learner.locator("[data-mentor-id]").first).to_be_visible()  # found
    violations += audit(learner, "/mentors?q=nobody+teaches+this", axe_source)
    expect(learner.locator("[data-mentor-id]")).to_have_count(0)  # none found
    for path in ("/requests", f"/requests/{request_id}"):
        violations += audit(learner, path, axe_source)
    violations += audit(learner, booking_path, axe_source)
    learner.goto("/mentors?q=Asha")
    demo_mentor_path = learner.locator("main a[href^='/mentors/']").first.get_attribute("href")
    violations += audit(learner, f"{demo_mentor_path}/reviews", axe_source)

    for path in ("/teach/sessions", "/requests/inbox", f"/requests/{request_id}"):
        violations += audit(mentor, path, axe_source)
    violations += audit(mentor, "/teach/sessions/new", axe_source)
    mentor.get_by_role("button", name="Publish", exact=True).click()
    expect(mentor.locator("[aria-invalid='true']").first).to_be_visible()
    violations += run_axe(mentor, "/teach/sessions/new with errors", axe_source)

    admin = axe_context(new_context, viewport).new_page()
    log_in(admin, "admin@peerlearn.local")
    admin.goto("/admin")
    tabs = admin.locator("[data-admin-tabs] a").evaluate_all(HREFS)
    assert len(tabs) == 16, tabs
    for path in tabs[1:]:
        violations += audit(admin, path, axe_source)
    for section in ("/admin/users", "/admin/sessions", "/admin/payments"):
        admin.goto(section)
        detail = admin.locator(f"main a[href^='{section}/']").first.get_attribute("href")
        violations += audit(admin, detail, axe_source)

    assert not violations, f"{len(violations)} WCAG 2.2 AA violations:\n" + "\n".join(violations)


@pytest.fixture(scope="module")
def media_browser(browser, media_network):
    media = launch_media_browser(browser)
    yield media
    media.close()


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_the_mesh_room_meets_wcag_22_aa(media_browser, live_server, page_guard, axe_source, viewport):
    contexts = [
        open_media_context(
            media_browser, live_server, page_guard, bypass_csp=True, viewport=VIEWPORTS[viewport]
        )
        for _ in range(2)
    ]
    try:
        mentor, learner = (context.new_page() for context in contexts)
        register(mentor, "mentor", "Mahi Room")
        register(learner, "learner", "Leo Room")
        session_id = create_session(mentor, minutes_ahead=6, price_paise=0)
        book(learner, session_id)
        start(mentor, session_id)
        enter_room(mentor, session_id)
        enter_room(learner, session_id)
        expect_connected(learner)

        violations = run_axe(learner, "the room", axe_source)
        assert not violations, f"{len(violations)} WCAG 2.2 AA violations:\n" + "\n".join(violations)
    finally:
        for context in contexts:
            context.close()


# The catalog and the mentor directory share one filter form (partials/_filters.html).
FILTER_PAGES = [("/sessions", "Category"), ("/mentors", "Teaches in")]


@pytest.mark.parametrize(("path", "first_filter"), FILTER_PAGES)
def test_the_catalog_does_not_move_when_its_scripts_start_on_a_phone(new_context, path, first_filter):
    """The filters are folded on a phone from the first paint, so the results do not jump up when
    Alpine starts (they did, by the whole filter panel: a layout shift of 0.56 on a phone)."""
    page = new_context(viewport=VIEWPORTS["phone"]).new_page()
    held = []
    page.route(re.compile(r"/static/dist/app-[A-Za-z0-9]+\.js"), lambda route: held.append(route))
    page.goto(path, wait_until="commit")
    page.wait_for_function(
        "() => [...document.styleSheets].some((sheet) => (sheet.href || '').includes('/dist/app-'))"
    )
    results = page.locator("#results-heading")
    before = results.bounding_box()
    filters = page.locator("#filters")
    expect(filters).to_be_hidden()

    assert len(held) == 1, "the page's script was not held back"
    held[0].continue_()
    alpine_started(page)
    assert results.bounding_box() == before
    page.get_by_role("button", name="Filters", exact=True).click()
    expect(filters).to_be_visible()
    expect(page.get_by_label(first_filter)).to_be_visible()


@pytest.mark.parametrize("path", [path for path, _ in FILTER_PAGES])
def test_the_catalog_filters_are_open_without_javascript(new_context, path):
    page = new_context(viewport=VIEWPORTS["phone"], java_script_enabled=False).new_page()
    page.goto(path)
    expect(page.locator("#filters")).to_be_visible()
    expect(page.get_by_role("button", name="Filters", exact=True)).to_be_hidden()
