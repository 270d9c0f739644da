"""Going live and ending over the API, watched from a learner's open pages in a real browser: the
dashboard's countdown turns to Ended and its Join button goes, and the "live now" notification
turns into an ended one, without a reload. And the session form's camera warning follows the seat
field as the mentor types. No page here makes a WebRTC connection.
"""

import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from tests.browser.room_support import held_since_start
from tests.browser.support import csrf_headers, register_confirmed, visit, wait_for_socket

pytestmark = pytest.mark.browser


def test_ending_a_live_session_turns_the_learners_open_pages_to_ended(new_context, live_server):
    mentor = new_context().new_page()
    learner_context = new_context()
    home = learner_context.new_page()
    register_confirmed(mentor, "mentor", "Esha Ender")
    register_confirmed(home, "learner", "Lena Learner")

    title = f"Ends early {uuid.uuid4().hex[:6]}"
    response = mentor.request.post(
        "/api/sessions/create/",
        data={
            "title": title,
            "description": "Started and ended over the API.",
            "category": "Programming",
            "starts_at": (datetime.now(UTC) + timedelta(minutes=10)).replace(microsecond=0).isoformat(),
            "duration_minutes": 30,
            "capacity": 3,
            "price_paise": 0,
            "publish": True,
        },
        headers=csrf_headers(mentor),
    )
    assert response.status == 201, response.text()
    session_id = response.json()["data"]["id"]
    response = home.request.post(f"/api/sessions/{session_id}/book/", headers=csrf_headers(home))
    assert response.ok and response.json()["data"]["status"] == "confirmed", response.text()
    response = mentor.request.post(f"/api/sessions/{session_id}/start/", headers=csrf_headers(mentor))
    assert response.ok and response.json()["data"]["status"] == "live", response.text()

    visit(home, "/learn")
    row = home.locator(f'[data-booking-id]:has(a[href="/sessions/{session_id}"])')
    expect(row.get_by_role("link", name="Join the room")).to_be_visible()
    expect(row.get_by_role("timer")).to_have_text("Live now")
    wait_for_socket(home)
    center = learner_context.new_page()
    visit(center, "/notifications")
    notice = center.locator("[data-notification-id]", has_text=f"Live now: {title}")
    expect(notice.get_by_role("link", name=f"Live now: {title}")).to_have_attribute(
        "href", f"/sessions/{session_id}/room"
    )
    wait_for_socket(center)

    # Nobody ends a session before its start: the mentor gives it (the clock moved past its start).
    response = mentor.request.post(f"/api/sessions/{session_id}/end/", headers=csrf_headers(mentor))
    assert response.status == 409 and response.json()["error"]["code"] == "too_early", response.text()
    held_since_start(live_server, session_id, minutes=16)
    response = mentor.request.post(f"/api/sessions/{session_id}/end/", headers=csrf_headers(mentor))
    assert response.ok and response.json()["data"]["status"] == "completed", response.text()

    expect(row.get_by_role("timer")).to_have_text("Ended")
    expect(row.get_by_role("link", name="Join the room")).to_be_hidden()
    expect(row.get_by_text("Booked", exact=True)).to_be_hidden()
    ended = center.get_by_role("link", name=f"Ended: {title}")
    expect(ended).to_be_visible()
    expect(ended).to_have_attribute("href", f"/sessions/{session_id}")
    expect(center.get_by_role("link", name=f"Live now: {title}")).to_be_hidden()

    # The bell, opened now, lists it as ended too.
    home.get_by_role("link", name=re.compile(r"^Notifications")).click()
    menu = home.locator("#notification-menu")
    expect(menu.get_by_role("link", name=re.compile(f"Ended: {title}"))).to_be_visible()
    expect(menu.locator(f'a[href="/sessions/{session_id}/room"]')).to_have_count(0)

    # And a fresh look at the session says so.
    ended.click()
    expect(center).to_have_url(re.compile(rf"/sessions/{session_id}$"))
    expect(center.get_by_text("This session has ended.").first).to_be_visible()
    expect(center.get_by_role("link", name="Join the room")).to_have_count(0)


def test_the_session_form_warns_about_cameras_as_the_seats_change(new_context):
    page = new_context().new_page()
    register_confirmed(page, "mentor", "Seema Seats")
    visit(page, "/teach/sessions/new")
    warning = page.get_by_test_id("seat-warning")
    expect(warning).to_be_hidden()

    seats = page.get_by_role("spinbutton", name="Seats")
    seats.fill("4")
    expect(warning).to_be_visible()
    expect(warning).to_contain_text("Rooms on this site carry at most 4 cameras.")
    expect(warning).to_contain_text("at most 4 on stage at once, you included")
    expect(warning).to_contain_text("Janus")
    seats.fill("3")
    expect(warning).to_be_hidden()
