"""The live room in a real browser: a mentor and a learner see and hear each other over WebRTC,
chat, share a screen and survive a reload; someone without a seat is turned away.

Chromium's fake devices stand in for the camera, microphone and screen, and loopback host
candidates connect the two contexts without any STUN or TURN server.
"""

import re
import sqlite3
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from peerlearn.demo import DEMO_PASSWORD
from tests.browser.conftest import launch_media_browser, open_media_context

pytestmark = pytest.mark.browser

# No other browser test books with these accounts or signs in as mentor3.
MENTOR = "mentor3@peerlearn.local"
LEARNER = "learner4@peerlearn.local"
OUTSIDER = "learner3@peerlearn.local"
# Media needs longer than a page: capture, ICE, DTLS and the first decoded frames.
MEDIA_TIMEOUT_MS = 30_000


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


def log_in(page, email):
    page.goto("/auth/login")
    page.locator("#email").fill(email)
    page.locator("#password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in", exact=True).click()
    expect(page).not_to_have_url(re.compile(r"/auth/login"))


def csrf_headers(page):
    return {"X-CSRFToken": page.locator('meta[name="csrf-token"]').get_attribute("content")}


def create_session_starting_soon(mentor_page, capacity=4):
    """A free session six minutes from now, through the API the mentor's pages use."""
    starts_at = (datetime.now(UTC) + timedelta(minutes=6)).replace(microsecond=0)
    response = mentor_page.request.post(
        "/api/sessions/create/",
        data={
            "title": f"Live room check {uuid.uuid4().hex[:8]}",
            "description": "Two browsers meet in the live room.",
            "category": "Programming",
            "starts_at": starts_at.isoformat(),
            "duration_minutes": 60,
            "capacity": capacity,
            "price_paise": 0,
            "publish": True,
        },
        headers=csrf_headers(mentor_page),
    )
    assert response.status == 201, response.text()
    return response.json()["data"]["id"]


def held_since_start(server, session_id, *, minutes=31):
    """Move a session's start ``minutes`` into the past, its mentor in the room since then, so
    End for all (refused before the start) finds it held. The server runs in its own process,
    whose clock a test can't move; its SQLite file can be moved instead."""
    start = datetime.now(UTC) - timedelta(minutes=minutes)
    stamp = start.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
    with sqlite3.connect(server.instance_dir / "peerlearn.sqlite3", timeout=10) as database:
        (mentor_id,) = database.execute(
            "SELECT mentor_id FROM learning_sessions WHERE id = ?", (session_id,)
        ).fetchone()
        database.execute("UPDATE learning_sessions SET starts_at = ? WHERE id = ?", (stamp, session_id))
        database.execute(
            "UPDATE attendance SET joined_at = ? WHERE session_id = ? AND user_id = ?",
            (stamp, session_id, mentor_id),
        )
        if database.total_changes == 1:  # not in the room yet: as if they were, until now
            now = datetime.now(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
            database.execute(
                "INSERT INTO attendance (session_id, user_id, joined_at, left_at, connection_id)"
                " VALUES (?, ?, ?, ?, 'test')",
                (session_id, mentor_id, stamp, now),
            )


def book(learner_page, session_id):
    response = learner_page.request.post(
        f"/api/sessions/{session_id}/book/", headers=csrf_headers(learner_page)
    )
    assert response.ok, response.text()
    assert response.json()["data"]["status"] == "confirmed"


def start(mentor_page, session_id):
    response = mentor_page.request.post(f"/sessions/{session_id}/start", headers=csrf_headers(mentor_page))
    assert response.ok, response.text()


def enter_room(page, session_id):
    response = page.goto(f"/sessions/{session_id}/room")
    assert response.ok, f"the room answered {response.status}"
    expect(page.locator("body")).to_have_attribute("data-room", "joined", timeout=MEDIA_TIMEOUT_MS)


def remote_tile(page):
    return page.locator("[data-peer-id]")


def frames(locator):
    return int(locator.get_attribute("data-frames") or 0)


def expect_frames_flowing(page, locator):
    """The tile's decoded-frame count is past zero and still rising."""
    expect(locator).to_have_attribute("data-frames", re.compile(r"^[1-9]\d*$"), timeout=MEDIA_TIMEOUT_MS)
    seen = frames(locator)
    page.wait_for_function(
        "([el, seen]) => Number(el.dataset.frames) > seen",
        arg=[locator.element_handle(), seen],
        timeout=MEDIA_TIMEOUT_MS,
    )


def expect_connected(page):
    tile = remote_tile(page)
    expect(tile).to_have_count(1, timeout=MEDIA_TIMEOUT_MS)
    expect(tile).to_have_attribute("data-connection", "connected", timeout=MEDIA_TIMEOUT_MS)
    expect_frames_flowing(page, tile)


def control(page, name):
    """A button of the room's control bar, by its accessible name."""
    return page.get_by_role("toolbar", name="Call controls").get_by_role("button", name=name, exact=True)


def open_panel(page, name):
    """Open the Chat, People or Gifts panel (a bottom sheet on a phone), unless it is open."""
    button = control(page, name)
    if button.get_attribute("aria-expanded") != "true":
        button.click()
    panel = page.get_by_role("region", name=re.compile(rf"^{name}"))
    expect(panel).to_be_visible()
    return panel


def more_option(page, name):
    """Click an item of the control bar's More options menu."""
    control(page, "More options").click()
    page.get_by_role("group", name="More options").get_by_role("button", name=name, exact=True).click()


def send_chat(page, text):
    open_panel(page, "Chat")
    page.get_by_role("textbox", name="Message").fill(text)
    page.get_by_role("button", name="Send", exact=True).click()


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
