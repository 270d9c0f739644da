"""Notifications in a real browser: the bell counts up live when a mentor cancels, the center shows
it, clicking a notification marks it read, and "Mark all read" clears the bell in every tab.

The two people here register themselves (and confirm through the dev outbox), so no other browser
test shares their bookings or notifications.
"""

import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from tests.browser.support import csrf_headers, register_confirmed, visit, wait_for_socket

pytestmark = pytest.mark.browser

PHONE_WIDTH = 390


def bell_count(page):
    return page.get_by_test_id("notification-count")


def test_bell_counts_a_cancellation_live_and_the_center_clears_it(new_context):
    mentor = new_context().new_page()
    learner_context = new_context()
    learner = learner_context.new_page()
    register_confirmed(mentor, "mentor", "Neha Notifier")
    register_confirmed(learner, "learner", "Lalit Listener")

    title = f"Bell check {uuid.uuid4().hex[:6]}"
    response = mentor.request.post(
        "/api/sessions/create/",
        data={
            "title": title,
            "description": "A session that will be cancelled.",
            "category": "Programming",
            "starts_at": (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0).isoformat(),
            "duration_minutes": 60,
            "capacity": 4,
            "price_paise": 0,
            "publish": True,
        },
        headers=csrf_headers(mentor),
    )
    assert response.status == 201, response.text()
    session_id = response.json()["data"]["id"]
    response = learner.request.post(f"/api/sessions/{session_id}/book/", headers=csrf_headers(learner))
    assert response.ok and response.json()["data"]["status"] == "confirmed", response.text()

    # The booking confirmation is the learner's one unread notification, rendered with the page.
    visit(learner, "/bookings")
    expect(bell_count(learner)).to_have_text("1")
    wait_for_socket(learner)
    learner.evaluate("window.stillTheSamePage = true")
    other_tab = learner_context.new_page()
    visit(other_tab, "/profile")
    wait_for_socket(other_tab)

    response = mentor.request.post(
        f"/api/sessions/{session_id}/cancel/", data={"reason": "Travelling"}, headers=csrf_headers(mentor)
    )
    assert response.ok, response.text()

    expect(bell_count(learner)).to_have_text("2")
    expect(bell_count(other_tab)).to_have_text("2")
    assert learner.evaluate("window.stillTheSamePage") is True  # no reload happened

    learner.get_by_role("link", name=re.compile(r"^Notifications")).click()
    menu = learner.locator("#notification-menu")
    expect(menu).to_be_visible()
    expect(menu.get_by_role("listitem").first).to_contain_text(f"Session cancelled: {title}")
    menu.get_by_role("link", name="See all notifications").click()

    expect(learner).to_have_url(re.compile(r"/notifications$"))
    center = learner.get_by_test_id("notification-center")
    items = center.locator("[data-notification-id]")
    expect(items).to_have_count(2)
    expect(items.first).to_contain_text(f"Session cancelled: {title}")
    expect(items.first).to_contain_text("Travelling")
    expect(items.nth(1)).to_contain_text(f"Booked: {title}")
    expect(items.first.locator("time")).to_have_text(re.compile(r"just now|second|minute"))

    # Clicking a notification marks it read before following its link.
    items.nth(1).get_by_role("link", name=f"Booked: {title}").click()
    expect(learner).to_have_url(re.compile(r"/bookings/\d+$"))
    expect(bell_count(learner)).to_have_text("1")
    expect(bell_count(other_tab)).to_have_text("1")

    visit(learner, "/notifications")
    learner.get_by_role("button", name="Mark all read").first.click()
    expect(learner.get_by_text("All notifications marked as read.")).to_be_visible()
    expect(bell_count(learner)).to_be_hidden()
    expect(bell_count(other_tab)).to_be_hidden()  # the other tab heard it too, without a reload
    expect(center.locator(".bg-primary-50\\/50")).to_have_count(0)

    # At phone width the bell stays in the bar and the center fits the screen.
    learner.set_viewport_size({"width": PHONE_WIDTH, "height": 844})
    visit(learner, "/notifications")
    expect(learner.get_by_test_id("notification-bell")).to_be_visible()
    scroll_width = learner.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= PHONE_WIDTH, f"the notification center scrolls sideways ({scroll_width} px wide)"
