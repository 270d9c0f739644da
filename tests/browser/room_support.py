"""What the live-room browser tests share: signing in (and waiting to be past the login page),
a session starting soon, booking, starting and entering the room, the room's controls and panels,
media and connection checks, and a phone's viewport."""

import re
import sqlite3
import uuid
from datetime import UTC, datetime, timedelta

from playwright.sync_api import expect

from tests.browser.support import csrf_headers
from tests.browser.support import log_in as submit_log_in

PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 3,
    "is_mobile": True,
    "has_touch": True,
}
# Media needs longer than a page: capture, ICE, DTLS and the first decoded frames.
MEDIA_TIMEOUT_MS = 30_000


def log_in(page, email):
    """Sign in with the demo password and wait until the page has left the log-in form."""
    submit_log_in(page, email)
    expect(page).not_to_have_url(re.compile(r"/auth/login"))


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


def frames(locator):
    return int(locator.get_attribute("data-frames") or 0)


def expect_local_track(page, kind, enabled):
    """The page's own camera or microphone track is on, or off (disabled or stopped)."""
    page.wait_for_function(
        """([kind, enabled]) => {
            const stream = document.querySelector('[data-testid="local-tile"] video').srcObject;
            const track = stream && stream.getTracks().find((t) => t.kind === kind);
            return Boolean(track && track.enabled && track.readyState === 'live') === enabled;
        }""",
        arg=[kind, enabled],
    )


def person(page, user_id):
    open_panel(page, "People")
    return page.locator(f'[data-person-id="{user_id}"]')


def user_id_of(page):
    """The signed-in user's id, from the room page's own configuration."""
    return page.evaluate("JSON.parse(document.getElementById('room-config').textContent).userId")


def accept_dialogs(page, seen):
    def accept(dialog):
        seen.append(dialog.message)
        dialog.accept()

    page.on("dialog", accept)


def fits_width(page):
    return page.evaluate("document.documentElement.scrollWidth <= innerWidth")
