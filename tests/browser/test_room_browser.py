"""The live room in a real browser: a mentor and a learner see and hear each other over WebRTC,
chat, share a screen and survive a reload; someone without a seat is turned away.

Chromium's fake devices stand in for the camera, microphone and screen, and loopback host
candidates connect the two contexts without any STUN or TURN server.
"""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.room_support import (
    MEDIA_TIMEOUT_MS,
    book,
    control,
    create_session_starting_soon,
    enter_room,
    expect_connected,
    expect_frames_flowing,
    log_in,
    open_panel,
    remote_tile,
    send_chat,
    start,
)

pytestmark = pytest.mark.browser

# No other browser test books with these accounts or signs in as mentor3.
MENTOR = "mentor3@peerlearn.local"
LEARNER = "learner4@peerlearn.local"
OUTSIDER = "learner3@peerlearn.local"


def test_mentor_and_learner_meet_chat_share_and_reload(media_page):
    mentor = media_page()
    learner = media_page()
    log_in(mentor, MENTOR)
    log_in(learner, LEARNER)
    session_id = create_session_starting_soon(mentor)
    book(learner, session_id)
    start(mentor, session_id)

    enter_room(mentor, session_id)
    enter_room(learner, session_id)

    # Video flows both ways over one peer connection each.
    expect_connected(mentor)
    expect_connected(learner)

    # Chat goes both ways, as text.
    hello = "Hello <b>mentor</b>"
    send_chat(learner, hello)
    expect(mentor.get_by_test_id("chat-log")).to_contain_text(hello, timeout=MEDIA_TIMEOUT_MS)
    expect(mentor.get_by_test_id("chat-log").locator("b")).to_have_count(0)
    send_chat(mentor, "Welcome, learner")
    expect(learner.get_by_test_id("chat-log")).to_contain_text("Welcome, learner", timeout=MEDIA_TIMEOUT_MS)

    # The learner shares a screen: the mentor receives it as a second video with its own frames.
    learner_id = remote_tile(mentor).get_attribute("data-peer-id")
    control(learner, "Share screen").click()
    expect(control(learner, "Share screen")).to_have_attribute("aria-pressed", "true")
    screen = mentor.locator(f'[data-screen-of="{learner_id}"]')
    expect(screen).to_have_count(1, timeout=MEDIA_TIMEOUT_MS)
    expect_frames_flowing(mentor, screen)
    width = mentor.wait_for_function(
        "el => el.querySelector('video').videoWidth", arg=screen.element_handle(), timeout=MEDIA_TIMEOUT_MS
    ).json_value()
    assert width > 0

    # Stopping the share takes the screen away and leaves the camera.
    control(learner, "Share screen").click()
    expect(control(learner, "Share screen")).to_have_attribute("aria-pressed", "false")
    expect(screen).to_have_count(0, timeout=MEDIA_TIMEOUT_MS)

    # A reload mid-session: the learner is back, connected, and listed once.
    learner.reload()
    expect(learner.locator("body")).to_have_attribute("data-room", "joined", timeout=MEDIA_TIMEOUT_MS)
    expect_connected(learner)
    expect(remote_tile(mentor)).to_have_count(1)
    expect(remote_tile(mentor)).to_have_attribute("data-connection", "connected", timeout=MEDIA_TIMEOUT_MS)
    expect_frames_flowing(mentor, remote_tile(mentor))
    open_panel(mentor, "People")
    expect(mentor.locator(f'[data-person-id="{learner_id}"]')).to_have_count(1)
    expect(mentor.get_by_test_id("people").get_by_text("(you)")).to_have_count(1)
    # The chat history came back with the reload.
    expect(learner.get_by_test_id("chat-log")).to_contain_text("Welcome, learner")

    # Someone without a booking is refused at the door.
    outsider = media_page()
    log_in(outsider, OUTSIDER)
    response = outsider.goto(f"/sessions/{session_id}/room")
    assert response.status == 403
    expect(outsider.get_by_test_id("room-refusal")).to_contain_text("confirmed booking")


def test_a_gift_paid_in_the_dev_checkout_reaches_the_mentor_and_the_ledger(media_page):
    mentor = media_page()
    learner = media_page()
    log_in(mentor, MENTOR)
    log_in(learner, LEARNER)
    session_id = create_session_starting_soon(mentor)
    book(learner, session_id)
    start(mentor, session_id)
    enter_room(mentor, session_id)
    enter_room(learner, session_id)
    learner_name = learner.request.get("/api/profile/").json()["data"]["name"]

    # The learner picks ₹200 with a note and pays in the dev checkout's own window.
    open_panel(learner, "Gifts")
    form = learner.get_by_test_id("gift-form")
    form.get_by_role("button", name="₹200", exact=True).click()
    form.get_by_role("textbox", name="Message (optional)").fill("Thanks for <i>this</i>!")
    with learner.expect_popup() as opened:
        form.get_by_role("button", name="Send ₹200").click()
    checkout = opened.value
    expect(checkout.get_by_text(re.compile(r"A gift for"))).to_be_visible()
    expect(checkout.locator("[data-amount-paise]")).to_have_attribute("data-amount-paise", "20000")
    with checkout.expect_event("close"):
        checkout.get_by_role("button", name=re.compile(r"^Pay ")).click()

    # It shows up for the mentor, live, with who, how much and the note (as text).
    open_panel(mentor, "Gifts")
    gift = mentor.get_by_test_id("gift-log").locator("[data-gift]")
    expect(gift).to_have_count(1, timeout=MEDIA_TIMEOUT_MS)
    expect(gift).to_have_attribute("data-amount-paise", "20000")
    expect(gift).to_contain_text(f"{learner_name} sent ₹200")
    expect(gift).to_contain_text("Thanks for <i>this</i>!")
    expect(gift.locator("i")).to_have_count(0)
    expect(learner.get_by_test_id("gift-form")).to_contain_text("Your ₹200 gift was sent")
    expect(learner.get_by_test_id("gift-log").locator("[data-gift]")).to_have_count(1)

    # In the mentor's ledger once, less the platform's 12 %.
    earnings = mentor.request.get("/api/earnings/").json()["data"]
    (row,) = [row for row in earnings["by_session"] if row["session_id"] == session_id]
    assert row["earned_paise"] == 17600

    # A reload brings the gifts back with the room.
    mentor.reload()
    expect(mentor.locator("body")).to_have_attribute("data-room", "joined", timeout=MEDIA_TIMEOUT_MS)
    open_panel(mentor, "Gifts")
    expect(mentor.get_by_test_id("gift-log").locator("[data-gift]")).to_have_count(1)
