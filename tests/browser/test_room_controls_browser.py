"""The live room's controls in a real browser: microphone and camera, raised hands, the mentor's
mute, remove and end, the speaking and connection-quality indicators, the device picker, and
the room on a phone.

Every test opens its own session with its own booking, so no test sees another's room. Signing
in counts against the login rate limit the whole browser suite shares, so each account signs in
once for this module and every test opens fresh contexts with that sign-in's cookies.
"""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import launch_media_browser, open_media_context, voice_argument
from tests.browser.room_support import (
    MEDIA_TIMEOUT_MS,
    PHONE,
    accept_dialogs,
    book,
    control,
    create_session_starting_soon,
    enter_room,
    expect_connected,
    expect_local_track,
    fits_width,
    held_since_start,
    log_in,
    more_option,
    person,
    remote_tile,
    start,
    user_id_of,
)

pytestmark = pytest.mark.browser

# No other browser test runs a room with these accounts.
MENTOR = "mentor1@peerlearn.local"
LEARNER = "learner1@peerlearn.local"
QUALITY = re.compile(r"^(good|fair|poor)$")


@pytest.fixture(scope="module")
def media_browser(browser, media_network, tmp_path_factory):
    """A second Chromium from the same Playwright, launched with fake capture devices whose
    microphone plays a voice."""
    media = launch_media_browser(browser, voice_argument(tmp_path_factory))
    yield media
    media.close()


@pytest.fixture(scope="module")
def sign_ins(media_browser, live_server):
    """Each account's cookies after one login."""
    states = {}
    for email in (MENTOR, LEARNER):
        context = media_browser.new_context(base_url=live_server.url)
        log_in(context.new_page(), email)
        states[email] = context.storage_state()
        context.close()
    return states


@pytest.fixture
def open_page(media_browser, live_server, page_guard, sign_ins):
    """A page for a signed-in account, in a fresh, watched context of the media browser."""
    contexts = []

    def make(email, **options):
        context = open_media_context(
            media_browser, live_server, page_guard, storage_state=sign_ins[email], **options
        )
        contexts.append(context)
        page = context.new_page()
        page.goto("/")
        return page

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def room(open_page):
    """A mentor and a booked learner, connected in the room of a session of their own."""

    def make(learner_options=None):
        mentor = open_page(MENTOR)
        learner = open_page(LEARNER, **(learner_options or {}))
        session_id = create_session_starting_soon(mentor)
        book(learner, session_id)
        start(mentor, session_id)
        enter_room(mentor, session_id)
        enter_room(learner, session_id)
        expect_connected(mentor)
        expect_connected(learner)
        return mentor, learner, session_id

    return make


def test_mute_and_camera_off_reach_the_other_side(room):
    mentor, learner, _ = room()
    on_mentor, on_learner = remote_tile(mentor), remote_tile(learner)
    expect(on_mentor.get_by_label("Muted")).to_be_hidden(timeout=MEDIA_TIMEOUT_MS)
    expect(on_learner.locator(".room-avatar")).to_be_hidden()

    # The learner mutes: their microphone track stops sending sound, the mentor sees them muted.
    expect_local_track(learner, "audio", enabled=True)
    microphone = control(learner, "Mic")
    expect(microphone).to_have_attribute("aria-pressed", "true")
    microphone.click()
    expect(microphone).to_have_attribute("aria-pressed", "false")
    expect_local_track(learner, "audio", enabled=False)
    expect(learner.get_by_test_id("local-tile").get_by_label("Muted")).to_be_visible()
    expect(on_mentor.get_by_label("Muted")).to_be_visible()

    microphone.click()
    expect_local_track(learner, "audio", enabled=True)
    expect(on_mentor.get_by_label("Muted")).to_be_hidden()

    # The mentor turns the camera off: the learner sees the mentor's initials instead of video.
    expect_local_track(mentor, "video", enabled=True)
    camera = control(mentor, "Camera")
    camera.click()
    expect(camera).to_have_attribute("aria-pressed", "false")
    expect_local_track(mentor, "video", enabled=False)
    expect(mentor.get_by_test_id("local-tile").locator(".room-avatar")).to_be_visible()
    expect(on_learner.locator(".room-avatar")).to_have_text("AR")
    expect(on_learner.locator(".room-avatar")).to_be_visible()

    camera.click()
    expect(camera).to_have_attribute("aria-pressed", "true")
    expect_local_track(mentor, "video", enabled=True)
    expect(on_learner.locator(".room-avatar")).to_be_hidden()
    # The mentor's sound was never touched.
    expect(on_learner.get_by_label("Muted")).to_be_hidden()


def test_raised_hand_shows_everywhere_and_survives_a_reload(room):
    mentor, learner, _ = room()
    learner_id = user_id_of(learner)
    on_mentor = remote_tile(mentor)
    in_people = person(mentor, learner_id)
    expect(on_mentor.get_by_label("Hand raised")).to_be_hidden()

    hand = control(learner, "Raise hand")
    hand.click()
    expect(hand).to_have_attribute("aria-pressed", "true")
    expect(on_mentor.get_by_label("Hand raised")).to_be_visible()
    expect(in_people.get_by_label("Hand raised")).to_be_visible()

    # A reload keeps the hand up, on both sides.
    learner.reload()
    expect(learner.locator("body")).to_have_attribute("data-room", "joined", timeout=MEDIA_TIMEOUT_MS)
    expect(hand).to_have_attribute("aria-pressed", "true")
    expect(learner.get_by_test_id("local-tile").get_by_label("Hand raised")).to_be_visible()
    expect_connected(learner)
    expect(on_mentor).to_have_count(1)
    expect(on_mentor).to_have_attribute("data-connection", "connected", timeout=MEDIA_TIMEOUT_MS)
    expect(on_mentor.get_by_label("Hand raised")).to_be_visible()
    expect(in_people.get_by_label("Hand raised")).to_be_visible()

    hand.click()
    expect(hand).to_have_attribute("aria-pressed", "false")
    expect(on_mentor.get_by_label("Hand raised")).to_be_hidden()
    expect(in_people.get_by_label("Hand raised")).to_be_hidden()

    # Lowered stays lowered after another reload.
    learner.reload()
    expect(learner.locator("body")).to_have_attribute("data-room", "joined", timeout=MEDIA_TIMEOUT_MS)
    expect(hand).to_have_attribute("aria-pressed", "false")
    expect(on_mentor).to_have_attribute("data-connection", "connected", timeout=MEDIA_TIMEOUT_MS)
    expect(on_mentor.get_by_label("Hand raised")).to_be_hidden()


def test_mentor_asks_a_learner_to_mute_and_stops_their_video(room):
    mentor, learner, _ = room()
    learner_id = user_id_of(learner)

    # Only the mentor has the controls.
    person(learner, user_id_of(mentor))
    control(learner, "More options").click()
    for name in ("Ask to mute", "Stop video", "Remove", "End for all"):
        expect(learner.get_by_role("button", name=name)).to_have_count(0)

    ask = person(mentor, learner_id).get_by_role("button", name="Ask to mute")
    ask.click()
    expect(mentor.get_by_text("Asked Rohan Gupta to mute.")).to_be_visible()

    expect(control(learner, "Mic")).to_have_attribute("aria-pressed", "false")
    expect_local_track(learner, "audio", enabled=False)
    expect(learner.get_by_text("The mentor muted your microphone.")).to_be_visible()
    expect(remote_tile(mentor).get_by_label("Muted")).to_be_visible()
    expect(ask).to_be_hidden()

    # The learner can speak again when they choose to.
    control(learner, "Mic").click()
    expect(remote_tile(mentor).get_by_label("Muted")).to_be_hidden()
    expect(ask).to_be_visible()

    # Their camera goes off the same way, and back on when they choose.
    stop = person(mentor, learner_id).get_by_role("button", name="Stop video")
    stop.click()
    expect(control(learner, "Camera")).to_have_attribute("aria-pressed", "false")
    expect_local_track(learner, "video", enabled=False)
    expect(remote_tile(mentor).locator(".room-avatar")).to_be_visible()
    expect(stop).to_be_hidden()
    control(learner, "Camera").click()
    expect(remote_tile(mentor).locator(".room-avatar")).to_be_hidden()
    expect(stop).to_be_visible()


def test_mentor_removes_a_learner_for_good(room):
    mentor, learner, session_id = room()
    learner_id = user_id_of(learner)
    confirms = []
    accept_dialogs(mentor, confirms)

    person(mentor, learner_id).get_by_role("button", name="Remove").click()
    assert confirms == ["Remove Rohan Gupta from this session? They won't be able to come back."]

    expect(learner.get_by_test_id("room-closed")).to_contain_text("The mentor removed you from this session.")
    expect(learner.locator("body")).to_have_attribute("data-room", "error")
    expect_local_track(learner, "video", enabled=False)  # the camera is released
    expect(remote_tile(mentor)).to_have_count(0)
    expect(mentor.locator(f'[data-person-id="{learner_id}"]')).to_have_count(0)
    expect(mentor.locator("body")).to_have_attribute("data-room", "joined")

    response = learner.goto(f"/sessions/{session_id}/room")
    assert response.status == 403
    expect(learner.get_by_test_id("room-refusal")).to_contain_text("removed you")


def test_mentor_ends_the_session_for_everyone(room, live_server):
    mentor, learner, session_id = room()
    confirms = []
    accept_dialogs(mentor, confirms)
    question = (
        "End this session for everyone? It counts as held only if you were here for at least 30 "
        "minutes of its time; otherwise everyone who paid is refunded."
    )

    # Gone live before the start: End for all is refused, and the room goes on for both.
    more_option(mentor, "End for all")
    assert confirms == [question]
    expect(mentor.get_by_text("You can end the session once it has started")).to_be_visible()
    expect(mentor.locator("body")).to_have_attribute("data-room", "joined")
    expect(learner.locator("body")).to_have_attribute("data-room", "joined")

    held_since_start(live_server, session_id)
    more_option(mentor, "End for all")
    assert confirms == [question, question]

    expect(learner.get_by_test_id("room-closed")).to_contain_text("This session has ended.")
    expect_local_track(learner, "video", enabled=False)
    # The mentor lands on the session's page, which shows it over; their list has it completed.
    expect(mentor).to_have_url(re.compile(rf"/sessions/{session_id}$"))
    expect(mentor.get_by_role("main").get_by_role("status")).to_contain_text("This session has ended.")
    mentor.goto("/teach/sessions?tab=past")
    expect(mentor.locator(f'[data-session-id="{session_id}"] .badge')).to_have_text("completed")

    for page in (mentor, learner):
        response = page.goto(f"/sessions/{session_id}/room")
        assert response.status == 403
        expect(page.get_by_test_id("room-refusal")).to_contain_text("has ended")


def test_speaking_and_connection_quality_show_once_connected(room):
    mentor, learner, _ = room()
    for page in (mentor, learner):
        tile = remote_tile(page)
        expect(tile).to_have_attribute("data-quality", QUALITY, timeout=MEDIA_TIMEOUT_MS)
        # The People list says the same in words.
        user_id = tile.get_attribute("data-peer-id")
        expect(person(page, user_id)).to_contain_text(re.compile(r"Connection (good|fair|poor)"))
        # The fake microphones speak: the speaker's tile lights up, on both sides.
        for speaker in (tile, page.get_by_test_id("local-tile")):
            page.wait_for_function(
                "el => el.classList.contains('is-speaking')",
                arg=speaker.element_handle(),
                timeout=MEDIA_TIMEOUT_MS,
            )
    # Muted, the ring goes out.
    control(learner, "Mic").click()
    expect(remote_tile(mentor).get_by_label("Muted")).to_be_visible()
    expect(remote_tile(mentor)).not_to_have_class(re.compile(r"\bis-speaking\b"))
    expect(learner.get_by_test_id("local-tile")).not_to_have_class(re.compile(r"\bis-speaking\b"))


def test_device_picker_lists_the_fake_devices(room):
    mentor, learner, _ = room()
    found = mentor.evaluate(
        """async () => {
            const devices = await navigator.mediaDevices.enumerateDevices();
            const labels = (kind) => devices.filter((d) => d.kind === kind).map((d) => d.label);
            return { microphones: labels('audioinput'), cameras: labels('videoinput') };
        }"""
    )
    # Chromium's fake devices, by the names it gives them once capture is allowed.
    assert len(found["microphones"]) > 1 and all("Fake" in label for label in found["microphones"])
    assert found["cameras"] and all("fake" in label for label in found["cameras"])

    more_option(mentor, "Devices")
    devices = mentor.get_by_role("dialog", name="Devices")
    microphone = devices.get_by_role("combobox", name="Microphone")
    expect(microphone.locator("option")).to_have_text(found["microphones"])
    expect(devices.get_by_role("combobox", name="Camera").locator("option")).to_have_text(found["cameras"])
    # The microphone in use is the one selected.
    in_use = (
        "document.querySelector('[data-testid=\"local-tile\"] video').srcObject.getAudioTracks()[0].label"
    )
    expect(microphone.locator("option:checked")).to_have_text(mentor.evaluate(in_use))

    # Picking another microphone swaps the track in place; the call carries on.
    other = found["microphones"][-1]
    assert other != mentor.evaluate(in_use)
    microphone.select_option(label=other)
    mentor.wait_for_function(f"label => {in_use} === label", arg=other)
    expect(microphone.locator("option:checked")).to_have_text(other)
    expect_local_track(mentor, "audio", enabled=True)
    expect(remote_tile(learner).get_by_label("Muted")).to_be_hidden()
    expect(remote_tile(learner)).to_have_attribute("data-connection", "connected")
    devices.get_by_role("button", name="Done").click()
    expect(devices).to_be_hidden()


def test_room_fits_a_phone(room):
    _, learner, _ = room(learner_options=PHONE)
    assert learner.evaluate("innerWidth") == 390
    assert fits_width(learner), "the room scrolls sideways on a phone"
    expect(remote_tile(learner)).to_be_in_viewport()
    expect(learner.get_by_test_id("local-tile")).to_be_in_viewport()

    toolbar = learner.get_by_role("toolbar", name="Call controls")
    for name in ("Mic", "Camera", "Raise hand", "Chat", "People", "Gifts", "More options"):
        button = toolbar.get_by_role("button", name=name, exact=True)
        expect(button).to_be_visible()
        box = button.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390, f"{name} sticks out"
    leave = toolbar.get_by_role("link", name="Leave")
    expect(leave).to_be_in_viewport()

    # The controls work by touch, and the panels that open still fit.
    toolbar.get_by_role("button", name="Raise hand").tap()
    expect(toolbar.get_by_role("button", name="Raise hand")).to_have_attribute("aria-pressed", "true")
    toolbar.get_by_role("button", name="More options").tap()
    learner.get_by_role("group", name="More options").get_by_role("button", name="Devices").tap()
    expect(learner.get_by_role("combobox", name="Camera")).to_be_visible()
    learner.get_by_role("dialog", name="Devices").get_by_role("button", name="Done").tap()
    toolbar.get_by_role("button", name="People").tap()
    expect(learner.get_by_test_id("people")).to_be_visible()
    toolbar.get_by_role("button", name="Chat").tap()
    expect(learner.get_by_role("textbox", name="Message")).to_be_visible()
    assert fits_width(learner), "the room scrolls sideways on a phone with its panels open"
    # The sheet leaves the controls on screen.
    expect(toolbar.get_by_role("button", name="Mic", exact=True)).to_be_in_viewport()
    expect(leave).to_be_in_viewport()
