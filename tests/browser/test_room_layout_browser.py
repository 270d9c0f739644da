"""The live room page in a real browser: its layouts (grid, speaker, a screen share on stage,
pins), keyboard shortcuts, the movable self-view, the mentor's queue of raised hands, the room
on a phone, and a clock that keeps the server's time and stops when the room ends.

Every test opens its own session. Each account signs in once for this module (the login rate
limit is shared by the whole browser suite); tests open fresh contexts with those cookies.
"""

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import launch_media_browser, open_media_context
from tests.browser.room_support import (
    MEDIA_TIMEOUT_MS,
    PHONE,
    book,
    control,
    create_session_starting_soon,
    enter_room,
    expect_connected,
    expect_frames_flowing,
    expect_local_track,
    fits_width,
    held_since_start,
    log_in,
    person,
    remote_tile,
    send_chat,
    start,
    user_id_of,
)
from tests.browser.support import csrf_headers

pytestmark = pytest.mark.browser

# No other browser test runs a room with mentor3 and these learners together.
MENTOR = "mentor3@peerlearn.local"
LEARNER = "learner4@peerlearn.local"
SECOND = "learner5@peerlearn.local"
# Two more seats, so a session of four learners runs as a stage (the mesh carries four cameras).
AUDIENCE = ["learner1@peerlearn.local", "learner2@peerlearn.local"]
# The demo learners' profile timezone, and a device set to another one.
PROFILE_ZONE = ZoneInfo("Asia/Kolkata")
DEVICE_ZONE = "America/Los_Angeles"


@pytest.fixture(scope="module")
def media_browser(browser, media_network):
    media = launch_media_browser(browser)
    yield media
    media.close()


@pytest.fixture(scope="module")
def sign_ins(media_browser, live_server):
    states = {}
    for email in (MENTOR, LEARNER, SECOND, *AUDIENCE):
        context = media_browser.new_context(base_url=live_server.url)
        log_in(context.new_page(), email)
        states[email] = context.storage_state()
        context.close()
    return states


@pytest.fixture
def open_page(media_browser, live_server, page_guard, sign_ins):
    """A page for a signed-in account, in a fresh, watched context; `clock` sets the device's
    clock (a datetime) before the page loads."""
    contexts = []

    def make(email, clock=None, **options):
        context = open_media_context(
            media_browser, live_server, page_guard, storage_state=sign_ins[email], **options
        )
        contexts.append(context)
        page = context.new_page()
        if clock is not None:
            page.clock.install(time=clock)
        page.goto("/")
        return page

    yield make
    for context in contexts:
        context.close()


def new_session(mentor, *learners):
    """A live session of the mentor's own, booked by the learners."""
    session_id = create_session_starting_soon(mentor)
    for learner in learners:
        book(learner, session_id)
    start(mentor, session_id)
    return session_id


def name_of(page):
    return page.request.get("/api/profile/").json()["data"]["name"]


def above(upper, lower):
    """The first element ends where the second begins, or higher: they do not overlap."""
    return upper.bounding_box()["y"] + upper.bounding_box()["height"] <= lower.bounding_box()["y"] + 1


def add_people(page, count):
    """`count` more people in the room, written into the page's state the way the engine does:
    a crowd the browser mesh could not carry."""
    page.evaluate(
        """(count) => {
            const room = Alpine.$data(document.querySelector('[x-data="room"]'));
            for (let i = 1; i <= count; i++) {
                room.participants.push({
                    user_id: 900000 + i, name: `Guest ${i}`, role: 'learner', hand_raised: false,
                    hand_raised_at: null, on_stage: true, audio: false, video: false, screen: false,
                    held_audio: false, held_video: false, connection: 'connected', quality: '',
                    speaking: false, frames: 0, screenFrames: 0, hasVideo: false, screenLive: false,
                });
            }
        }""",
        count,
    )


def in_quadrant(page, locator, quadrant):
    """Wait until the element's middle is in the given quadrant ("top-left", …) of the stage."""
    page.wait_for_function(
        """([el, quadrant]) => {
            const area = document.querySelector('[data-testid="stage-grid"]').parentElement;
            const stage = area.getBoundingClientRect();
            const box = el.getBoundingClientRect();
            const [vertical, horizontal] = quadrant.split('-');
            const top = box.top + box.height / 2 < stage.top + stage.height / 2;
            const left = box.left + box.width / 2 < stage.left + stage.width / 2;
            return top === (vertical === 'top') && left === (horizontal === 'left');
        }""",
        arg=[locator.element_handle(), quadrant],
    )


def test_a_screen_share_takes_the_stage_and_a_pin_holds_it(open_page):
    mentor, learner = open_page(MENTOR), open_page(LEARNER)
    session_id = new_session(mentor, learner)
    enter_room(mentor, session_id)
    enter_room(learner, session_id)
    expect_connected(mentor)
    expect_connected(learner)
    learner_id, learner_name = user_id_of(learner), name_of(learner)
    grid, main, strip = (mentor.get_by_test_id(name) for name in ("stage-grid", "stage-main", "filmstrip"))
    camera = f'[data-peer-id="{learner_id}"]'
    screen = f'[data-screen-of="{learner_id}"]'

    # A wide screen starts with the grid.
    expect(grid.locator(camera)).to_be_visible()
    expect(main).to_be_hidden()

    # The learner shares a screen: it takes the main tile, their camera moves to the filmstrip.
    control(learner, "Share screen").click()
    expect(main.locator(screen)).to_be_visible(timeout=MEDIA_TIMEOUT_MS)
    expect_frames_flowing(mentor, main.locator(screen))
    expect(strip.locator(camera)).to_be_visible()
    expect(mentor.locator(camera)).to_have_count(1)
    toolbar = mentor.get_by_role("toolbar", name="Call controls")
    assert above(main, strip) and above(strip, toolbar), "the main tile, filmstrip and controls overlap"

    # Pinning the camera puts it on the main tile instead, until it is unpinned.
    pin = mentor.get_by_role("button", name=f"Pin {learner_name}", exact=True)
    pin.click()
    expect(main.locator(camera)).to_be_visible()
    expect(strip.locator(screen)).to_be_visible()
    expect(pin).to_have_attribute("aria-pressed", "true")
    pin.click()
    expect(main.locator(screen)).to_be_visible()

    # L switches to the grid, where every tile is the same size, and back.
    mentor.keyboard.press("l")
    expect(main).to_be_hidden()
    expect(grid.locator(screen)).to_be_visible()
    expect(grid.locator(camera)).to_be_visible()
    mentor.keyboard.press("l")
    expect(main.locator(screen)).to_be_visible()

    # When the share stops, the camera is on the main tile; the chosen layout outlives a reload.
    control(learner, "Share screen").click()
    expect(mentor.locator(screen)).to_have_count(0, timeout=MEDIA_TIMEOUT_MS)
    expect(main.locator(camera)).to_be_visible()
    mentor.reload()
    expect(mentor.locator("body")).to_have_attribute("data-room", "joined", timeout=MEDIA_TIMEOUT_MS)
    expect(main.locator(camera)).to_have_attribute("data-connection", "connected", timeout=MEDIA_TIMEOUT_MS)
    expect(grid.locator(camera)).to_have_count(0)


def test_keyboard_shortcuts_work_outside_text_boxes_and_are_listed(open_page):
    mentor, learner = open_page(MENTOR), open_page(LEARNER)
    session_id = new_session(mentor, learner)
    enter_room(learner, session_id)
    microphone, camera, hand = (control(learner, name) for name in ("Mic", "Camera", "Raise hand"))
    expect(microphone).to_have_attribute("aria-pressed", "true")

    learner.keyboard.press("m")
    expect(microphone).to_have_attribute("aria-pressed", "false")
    expect_local_track(learner, "audio", enabled=False)
    learner.keyboard.press("m")
    expect(microphone).to_have_attribute("aria-pressed", "true")
    learner.keyboard.press("v")
    expect(camera).to_have_attribute("aria-pressed", "false")
    expect_local_track(learner, "video", enabled=False)
    learner.keyboard.press("v")
    expect(camera).to_have_attribute("aria-pressed", "true")
    learner.keyboard.press("h")
    expect(hand).to_have_attribute("aria-pressed", "true")
    learner.keyboard.press("h")
    expect(hand).to_have_attribute("aria-pressed", "false")

    # C opens the chat with the cursor in its box, where the same letters are only text.
    learner.keyboard.press("c")
    chat = learner.get_by_role("region", name="Chat")
    message = chat.get_by_role("textbox", name="Message")
    expect(message).to_be_focused()
    learner.keyboard.type("mvh")
    expect(message).to_have_value("mvh")
    expect(microphone).to_have_attribute("aria-pressed", "true")
    expect(camera).to_have_attribute("aria-pressed", "true")
    expect(hand).to_have_attribute("aria-pressed", "false")
    # Esc closes it and puts focus back on its button.
    learner.keyboard.press("Escape")
    expect(chat).to_be_hidden()
    expect(control(learner, "Chat")).to_be_focused()

    learner.keyboard.press("p")
    expect(learner.get_by_role("region", name=re.compile(r"^People"))).to_be_visible()
    learner.keyboard.press("p")
    expect(learner.get_by_role("region", name=re.compile(r"^People"))).to_be_hidden()
    learner.keyboard.press("g")
    expect(learner.get_by_test_id("gift-form")).to_be_visible()
    learner.keyboard.press("Escape")
    expect(learner.get_by_test_id("gift-form")).to_be_hidden()

    # ? lists the shortcuts; while the list is open, keys are not shortcuts.
    learner.keyboard.press("?")
    help_dialog = learner.get_by_role("dialog", name="Keyboard shortcuts")
    expect(help_dialog).to_be_visible()
    expect(help_dialog).to_contain_text("Switch between grid and speaker layout")
    learner.keyboard.press("m")
    expect(microphone).to_have_attribute("aria-pressed", "true")
    learner.keyboard.press("Escape")
    expect(help_dialog).to_be_hidden()

    # L switches the layout, as the More menu shows.
    control(learner, "More options").click()
    layout = learner.get_by_role("group", name="Layout")
    expect(layout.get_by_role("button", name="Grid layout")).to_have_attribute("aria-pressed", "true")
    learner.keyboard.press("Escape")
    learner.keyboard.press("l")
    control(learner, "More options").click()
    expect(layout.get_by_role("button", name="Speaker layout")).to_have_attribute("aria-pressed", "true")


def test_self_view_drags_to_a_corner_and_stays_there(open_page):
    mentor, learner = open_page(MENTOR), open_page(LEARNER)
    session_id = new_session(mentor, learner)
    enter_room(learner, session_id)
    own = learner.get_by_test_id("local-tile")
    expect(own).to_be_visible()
    # Your own camera is an overlay, not one of the tiles.
    expect(learner.get_by_test_id("stage-grid").get_by_test_id("local-tile")).to_have_count(0)
    in_quadrant(learner, own, "bottom-right")

    # Dragged towards the top left, it snaps into that corner.
    box = own.bounding_box()
    stage = learner.get_by_role("region", name="Video").bounding_box()
    learner.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    learner.mouse.down()
    learner.mouse.move(stage["x"] + 60, stage["y"] + 60, steps=12)
    learner.mouse.up()
    in_quadrant(learner, own, "top-left")

    # It is still there after a reload.
    learner.reload()
    expect(learner.locator("body")).to_have_attribute("data-room", "joined", timeout=MEDIA_TIMEOUT_MS)
    in_quadrant(learner, own, "top-left")

    # Without a pointer, its button moves it on to the next corner.
    own.get_by_role("button", name="Move your video to another corner").click()
    in_quadrant(learner, own, "top-right")


def test_the_mentor_sees_raised_hands_in_order_with_a_toast(open_page):
    mentor, first, second = open_page(MENTOR), open_page(LEARNER), open_page(SECOND)
    session_id = new_session(mentor, first, second)
    for page in (mentor, first, second):
        enter_room(page, session_id)
    expect(remote_tile(mentor)).to_have_count(2, timeout=MEDIA_TIMEOUT_MS)
    first_name, second_name = name_of(first), name_of(second)
    toasts = mentor.locator("[data-hand-toast]")
    queue = mentor.get_by_test_id("hand-queue").locator("li")

    control(first, "Raise hand").click()
    expect(toasts.filter(has_text=f"{first_name} raised a hand")).to_be_visible()
    control(second, "Raise hand").click()
    expect(toasts.filter(has_text=f"{second_name} raised a hand")).to_be_visible()
    # The toast is the mentor's: learners are not interrupted by each other's hands.
    expect(first.locator("[data-hand-toast]")).to_have_count(0)
    expect(control(mentor, "People")).to_contain_text("2")

    # The toast leads to the queue, first raised first.
    toasts.filter(has_text=second_name).get_by_role("button", name="View").click()
    expect(mentor.get_by_role("region", name=re.compile(r"^People"))).to_be_visible()
    expect(queue).to_have_text([re.compile(first_name), re.compile(second_name)])

    # A hand lowered and raised again goes to the back of the line.
    control(first, "Raise hand").click()
    expect(queue).to_have_text([re.compile(second_name)])
    control(first, "Raise hand").click()
    expect(queue).to_have_text([re.compile(second_name), re.compile(first_name)])

    # The mentor answers the first in line: their hand goes down, on their page too.
    queue.filter(has_text=second_name).get_by_role("button", name="Answer").click()
    expect(queue).to_have_text([re.compile(first_name)])
    expect(control(second, "Raise hand")).to_have_attribute("aria-pressed", "false")
    expect(
        second.get_by_text(re.compile(r"^The mentor (is taking your question|saw your hand)"))
    ).to_be_visible()


def test_on_a_phone_one_main_tile_a_filmstrip_and_bottom_sheets(open_page):
    mentor, learner = open_page(MENTOR), open_page(LEARNER, **PHONE)
    session_id = new_session(mentor, learner)
    enter_room(mentor, session_id)
    enter_room(learner, session_id)
    expect_connected(learner)
    mentor_id = user_id_of(mentor)
    main, strip = learner.get_by_test_id("stage-main"), learner.get_by_test_id("filmstrip")
    toolbar = learner.get_by_role("toolbar", name="Call controls")

    expect(main.locator(f'[data-peer-id="{mentor_id}"]')).to_be_in_viewport()
    expect(learner.get_by_test_id("local-tile")).to_be_in_viewport()

    # The mentor presents: the screen fills the phone's main tile, the camera goes to the strip.
    control(mentor, "Share screen").click()
    expect(main.locator(f'[data-screen-of="{mentor_id}"]')).to_be_in_viewport(timeout=MEDIA_TIMEOUT_MS)
    expect(strip.locator(f'[data-peer-id="{mentor_id}"]')).to_be_in_viewport()
    assert fits_width(learner), "the room scrolls sideways on a phone"

    # Chat, People and Gifts open as sheets above the controls, which stay on screen.
    for name in ("Chat", "People", "Gifts"):
        toolbar.get_by_role("button", name=name, exact=True).tap()
        sheet = learner.get_by_role("region", name=re.compile(rf"^{name}"))
        expect(sheet).to_be_in_viewport(ratio=1)
        assert sheet.bounding_box()["y"] + sheet.bounding_box()["height"] <= toolbar.bounding_box()["y"] + 1
        expect(toolbar.get_by_role("link", name="Leave")).to_be_in_viewport(ratio=1)
        assert fits_width(learner), f"the {name} sheet makes the room scroll sideways"
        sheet.get_by_role("button", name=f"Close {name.lower()}").tap()
        expect(sheet).to_be_hidden()

    # Screen sharing, which phones seldom offer, waits in the More menu.
    expect(toolbar.get_by_role("button", name="Share screen")).to_be_hidden()
    toolbar.get_by_role("button", name="More options").tap()
    more = learner.get_by_role("group", name="More options")
    expect(more.get_by_role("button", name="Share screen")).to_be_visible()


def test_the_clock_keeps_server_time_and_stops_when_the_room_ends(open_page, live_server):
    mentor = open_page(MENTOR)
    # The learner's device is three hours fast and set to another timezone than their profile's.
    learner = open_page(
        LEARNER,
        clock=datetime.now(UTC) + timedelta(hours=3),
        timezone_id=DEVICE_ZONE,
        locale="en-US",
    )
    session_id = new_session(mentor, learner)
    enter_room(learner, session_id)

    # Before the start it counts down the minutes the server says are left.
    expect(learner.get_by_test_id("room-clock")).to_have_text(re.compile(r"^\s*Starts in [0-6]:\d\d\s*$"))

    # Chat times are in the profile's timezone, whatever the device is set to.
    def profile_time(moment):
        local = moment.astimezone(PROFILE_ZONE)
        return f"{local.hour % 12 or 12}:{local.minute:02d} {'AM' if local.hour < 12 else 'PM'}"

    before = datetime.now(UTC)
    send_chat(learner, "What time is it?")
    after = datetime.now(UTC)
    sent = learner.get_by_test_id("chat-log").locator("[data-chat-message]", has_text="What time is it?")
    expect(sent.locator("time")).to_have_text(
        re.compile(rf"^\s*({profile_time(before)}|{profile_time(after)})\s*$")
    )
    # Its datetime is the server's moment in a form HTML accepts (at most milliseconds).
    machine = sent.locator("time").get_attribute("datetime")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,3})?Z", machine), machine
    moment = datetime.fromisoformat(machine.replace("Z", "+00:00"))
    assert before - timedelta(seconds=1) <= moment <= after + timedelta(seconds=1), (before, machine, after)

    # The mentor ends the session once it has started (the server's clock moved past the start):
    # the room closes and no clock or countdown is left running.
    held_since_start(live_server, session_id)
    response = mentor.request.post(f"/api/sessions/{session_id}/end/", headers=csrf_headers(mentor))
    assert response.ok, response.text()
    expect(learner.get_by_test_id("room-closed")).to_contain_text("This session has ended.")
    expect(learner.get_by_test_id("room-clock")).to_have_count(0)
    expect(learner.get_by_text(re.compile(r"Starts in|min left|overtime"))).to_have_count(0)
    expect(learner.get_by_role("toolbar", name="Call controls")).to_be_hidden()


def test_a_crowd_is_paged_so_only_tiles_on_screen_are_drawn(open_page):
    mentor, learner = open_page(MENTOR), open_page(LEARNER)
    session_id = new_session(mentor, learner)
    enter_room(learner, session_id)
    add_people(learner, 11)
    grid = learner.get_by_test_id("stage-grid")

    expect(grid.locator("[data-peer-id]")).to_have_count(9)
    expect(learner.get_by_text("Page 1 of 2")).to_be_visible()
    learner.get_by_role("button", name="Next page of people").click()
    expect(grid.locator("[data-peer-id]")).to_have_count(2)
    expect(grid).to_contain_text("Guest 11")
    expect(learner.get_by_text("Page 2 of 2")).to_be_visible()

    # The speaker layout draws one main tile and a filmstrip that fits the screen, paged too.
    learner.keyboard.press("l")
    expect(grid.locator("[data-peer-id]")).to_have_count(0)
    expect(learner.get_by_test_id("stage-main").locator("[data-peer-id]")).to_have_count(1)
    shown = learner.get_by_test_id("filmstrip").locator("[data-peer-id]")
    expect(shown.first).to_be_visible()
    assert shown.count() < 10
    for tile in shown.all():
        expect(tile).to_be_in_viewport(ratio=1)
    expect(learner.get_by_role("button", name="Show more people")).to_be_enabled()


def test_a_stage_room_keeps_the_audience_off_camera_until_the_mentor_brings_them_up(open_page):
    mentor, learner = open_page(MENTOR), open_page(LEARNER)
    seated = [open_page(email) for email in (SECOND, *AUDIENCE)]
    session_id = new_session(mentor, learner, *seated)
    enter_room(mentor, session_id)
    enter_room(learner, session_id)
    learner_id, learner_name = user_id_of(learner), name_of(learner)

    # The learner is in the audience: their microphone and camera wait for the mentor.
    hint = learner.get_by_text("You’re in the audience. Raise your hand to speak.")
    expect(hint).to_be_visible()
    for name in ("Mic", "Camera"):
        expect(control(learner, name)).to_be_disabled()
        expect(control(learner, name)).to_have_accessible_description(re.compile("Raise your hand to speak"))
    # The mentor sees them among the audience in People, not as a video tile.
    expect(remote_tile(mentor)).to_have_count(0)
    row = person(mentor, learner_id)
    expect(row).to_contain_text("audience")
    expect(mentor.get_by_role("region", name=re.compile(r"^People"))).to_contain_text("On stage: 1 of 4")

    # A raised hand, and the mentor brings them on stage from the queue: they can speak.
    control(learner, "Raise hand").click()
    queue = mentor.get_by_test_id("hand-queue").locator("li")
    expect(queue).to_have_text([re.compile(learner_name)])
    queue.get_by_role("button", name="Bring on stage").click()
    expect(hint).to_be_hidden()
    expect(control(learner, "Mic")).to_be_enabled()
    expect(control(learner, "Raise hand")).to_have_attribute("aria-pressed", "false")
    expect(queue).to_have_count(0)
    expect_connected(mentor)

    # Back to the audience: the tile goes, and so do their microphone and camera.
    row.get_by_role("button", name="Move to audience").click()
    expect(remote_tile(mentor)).to_have_count(0)
    expect(control(learner, "Mic")).to_be_disabled()
    expect(hint).to_be_visible()
