"""Group rooms through Janus in a real browser: a mentor and learners meet in a VideoRoom room on
the live server's own supervised Janus, all inside the private network namespace.

Chromium's fake camera, microphone and screen stand in for devices; Janus's only ICE candidate
is 127.0.0.2 and the browsers' are on loopback, so nothing leaves the namespace. The server
runs stage rooms above four people (ROOM_STAGE_THRESHOLD=4), so a room of four is a meeting and
one with more booked is a stage.
"""

import json
import re
import shutil

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
    expect_frames_flowing,
    expect_local_track,
    fits_width,
    log_in,
    open_panel,
    start,
)
from tests.browser.support import nft_rule
from tests.conftest import unavailable

pytestmark = pytest.mark.browser

MENTOR = "mentor2@peerlearn.local"
STAGE_MENTOR = "mentor3@peerlearn.local"
LEARNERS = [f"learner{n}@peerlearn.local" for n in range(1, 6)]

# What a page does with Janus, by hand: a Janus session, a VideoRoom handle, a join. Answers the
# VideoRoom's reply to the join (or Janus's error), for checks that Janus itself refuses.
JANUS_JOIN = """
async ([url, core, room, feed, token]) => {
  const ws = new WebSocket(url, 'janus-protocol');
  await new Promise((resolve, reject) => { ws.onopen = resolve; ws.onerror = reject; });
  const waiting = new Map();
  ws.onmessage = (event) => {
    const message = JSON.parse(event.data);
    if (message.janus === 'ack') return;
    const done = waiting.get(message.transaction);
    if (done) { waiting.delete(message.transaction); done(message); }
  };
  let n = 0;
  const send = (body) => new Promise((resolve) => {
    const transaction = `t${++n}`;
    waiting.set(transaction, resolve);
    ws.send(JSON.stringify({ ...body, transaction, token: core }));
  });
  const created = await send({ janus: 'create' });
  if (created.janus !== 'success') { ws.close(); return created; }
  const session_id = created.data.id;
  const attached = await send({ janus: 'attach', plugin: 'janus.plugin.videoroom', session_id });
  const handle_id = attached.data.id;
  const reply = await send({
    janus: 'message', session_id, handle_id,
    body: { request: 'join', ptype: 'publisher', room, id: feed, token },
  });
  ws.close();
  return reply.plugindata ? reply.plugindata.data : reply;
}
"""


@pytest.fixture(scope="module")
def janus_browser(browser, janus_server):
    media = launch_media_browser(browser)
    yield media
    media.close()


@pytest.fixture
def janus_page(janus_browser, janus_server, page_guard):
    contexts = []

    def make(email, **options):
        context = open_media_context(janus_browser, janus_server, page_guard, **options)
        contexts.append(context)
        page = context.new_page()
        log_in(page, email)
        return page

    yield make
    for context in contexts:
        context.close()


def live_session(mentor, learners, capacity=4):
    """A session starting soon, booked by every learner page, gone live: its id."""
    session_id = create_session_starting_soon(mentor, capacity=capacity)
    for learner in learners:
        book(learner, session_id)
    start(mentor, session_id)
    return session_id


def camera_tile(page, user_id):
    return page.locator(f'[data-peer-id="{user_id}"]')


def user_id(page):
    return int(page.locator("body").get_attribute("data-user-id"))


def record_media_answers(page):
    """Keep every media answer the page's socket receives (its join and token acks)."""
    answers = []

    def on_frame(payload):
        text = payload if isinstance(payload, str) else payload.decode("utf-8", "replace")
        match = re.match(r"^43\d*(\[.*\])$", text)  # a Socket.IO ack
        if not match:
            return
        for item in json.loads(match.group(1)):
            if isinstance(item, dict) and isinstance(item.get("media"), dict):
                answers.append(item["media"])

    page.on("websocket", lambda ws: ws.on("framereceived", on_frame))
    return answers


def test_four_people_meet_share_a_screen_reload_and_one_is_removed(janus_page):
    mentor = janus_page(MENTOR)
    learners = [janus_page(email) for email in LEARNERS[:3]]
    session_id = live_session(mentor, learners)
    removed = learners[2]
    answers = record_media_answers(removed)

    everyone = [mentor, *learners]
    for page in everyone:
        enter_room(page, session_id)
    ids = {page: user_id(page) for page in everyone}
    expect(mentor.locator(".room-chip", has_text="Stage")).to_be_hidden()

    # Every tile on every page decodes frames, through Janus.
    for page in everyone:
        for other in everyone:
            if other is not page:
                expect_frames_flowing(page, camera_tile(page, ids[other]))
    assert answers and answers[-1]["mode"] == "janus"

    # The mentor's screen reaches everyone, as its own feed that takes the stage.
    control(mentor, "Share screen").click()
    for learner in learners:
        screen = learner.locator(f'[data-screen-of="{ids[mentor]}"]')
        expect(screen.first).to_be_visible(timeout=MEDIA_TIMEOUT_MS)
        expect_frames_flowing(learner, screen.first)
    control(mentor, "Share screen").click()
    for learner in learners:
        gone = learner.locator(f'[data-screen-of="{ids[mentor]}"]')
        expect(gone).to_have_count(0, timeout=MEDIA_TIMEOUT_MS)

    # A reload: back with pictures, and nobody sees them twice.
    learners[0].reload()
    expect(learners[0].locator("body")).to_have_attribute("data-room", "joined", timeout=MEDIA_TIMEOUT_MS)
    expect_frames_flowing(learners[0], camera_tile(learners[0], ids[mentor]))
    for page in (mentor, learners[1]):
        tile = camera_tile(page, ids[learners[0]])
        expect(tile).to_have_count(1)
        expect_frames_flowing(page, tile)

    # The mentor removes a learner: their media stops for everyone and their page closes.
    confirms = []
    accept_dialogs(mentor, confirms)
    open_panel(mentor, "People")
    mentor.locator(f'[data-person-id="{ids[removed]}"]').get_by_role("button", name="Remove").click()
    expect(removed.locator("body")).to_have_attribute("data-room", "error", timeout=MEDIA_TIMEOUT_MS)
    expect_local_track(removed, "video", enabled=False)
    for page in (mentor, *learners[:2]):
        expect(camera_tile(page, ids[removed])).to_have_count(0, timeout=MEDIA_TIMEOUT_MS)

    # Back at Janus with the tokens they were given: Janus itself refuses the join.
    media = answers[-1]
    reply = removed.evaluate(
        JANUS_JOIN,
        [media["server"], media["core_token"], media["room"], media["feeds"]["camera"], media["room_token"]],
    )
    assert reply.get("error_code") == 433, reply
    # Someone still in the room is unaffected.
    expect_frames_flowing(learners[1], camera_tile(learners[1], ids[mentor]))


def test_on_a_stage_the_mentor_brings_a_learner_up_and_everyone_sees_them(janus_page):
    mentor = janus_page(STAGE_MENTOR)
    learners = [janus_page(email) for email in LEARNERS]
    session_id = live_session(mentor, learners, capacity=8)  # six people: above the threshold, a stage
    asker, watcher, phone = learners[0], learners[1], learners[4]
    phone.set_viewport_size({"width": PHONE["viewport"]["width"], "height": PHONE["viewport"]["height"]})

    for page in (mentor, asker, watcher, phone):
        enter_room(page, session_id)
    ids = {page: user_id(page) for page in (mentor, asker, watcher, phone)}
    expect(asker.locator(".room-chip", has_text="Stage")).to_be_visible()

    # The audience sees and hears the mentor, and sends nothing: no camera, controls held.
    expect_frames_flowing(watcher, camera_tile(watcher, ids[mentor]))
    expect(control(asker, "Camera")).to_be_disabled()
    expect(camera_tile(watcher, ids[asker])).to_have_count(0)

    # A hand goes up; the mentor brings its owner on stage; everyone sees them.
    control(asker, "Raise hand").click()
    open_panel(mentor, "People")
    queue = mentor.get_by_test_id("hand-queue")
    expect(queue).to_contain_text("Rohan", timeout=MEDIA_TIMEOUT_MS)
    queue.get_by_role("button", name="Bring on stage").click()
    expect(control(asker, "Camera")).to_be_enabled(timeout=MEDIA_TIMEOUT_MS)
    expect(control(asker, "Raise hand")).to_have_attribute("aria-pressed", "false")
    for page in (mentor, watcher):
        expect_frames_flowing(page, camera_tile(page, ids[asker]))

    # A phone in the audience: one main picture, controls on screen, nothing overflowing.
    expect_frames_flowing(phone, camera_tile(phone, ids[mentor]))
    expect(phone.get_by_role("toolbar", name="Call controls")).to_be_in_viewport()
    assert fits_width(phone)

    # Back to the audience: their picture leaves everyone's screen.
    mentor.locator(f'[data-person-id="{ids[asker]}"]').get_by_role("button", name="Move to audience").click()
    expect(control(asker, "Camera")).to_be_disabled(timeout=MEDIA_TIMEOUT_MS)
    for page in (mentor, watcher):
        expect(camera_tile(page, ids[asker])).to_have_count(0, timeout=MEDIA_TIMEOUT_MS)


KEEP_PEER_CONNECTIONS = """
(() => {
  const Native = window.RTCPeerConnection;
  window.__pcs = [];
  window.RTCPeerConnection = class extends Native {
    constructor(...args) { super(...args); window.__pcs.push(this); }
  };
})();
"""

AUDIO_PACKETS = """
async (feed) => {
  const element = document.querySelector(`audio[data-feed="${feed}"]`);
  const track = element && element.srcObject && element.srcObject.getAudioTracks()[0];
  let packets = 0;
  for (const pc of window.__pcs) {
    if (!track || pc.connectionState === 'closed') continue;
    (await pc.getStats()).forEach((s) => {
      const ours = s.type === 'inbound-rtp' && s.kind === 'audio' && s.trackIdentifier === track.id;
      if (ours) packets += s.packetsReceived;
    });
  }
  return packets;
}
"""

# What a page that ignores the mentor does: it turns its own track back on, telling nobody.
IGNORE_THE_MENTOR = """
(kind) => {
  const stream = document.querySelector('[data-testid="local-tile"] video').srcObject;
  stream.getTracks().filter((t) => t.kind === kind).forEach((t) => { t.enabled = true; });
}
"""


def rising(read, page, *args, wait=2.5):
    before = read(page, *args)
    page.wait_for_timeout(wait * 1000)
    return read(page, *args) > before


def audio_packets(page, feed):
    return page.evaluate(AUDIO_PACKETS, feed)


def video_frames(page, user):
    return int(camera_tile(page, user).get_attribute("data-frames") or 0)


def test_mute_and_stop_video_hold_at_janus_even_if_the_page_ignores_them(janus_page):
    mentor = janus_page("mentor1@peerlearn.local")
    learner = janus_page("learner4@peerlearn.local")
    mentor.context.add_init_script(KEEP_PEER_CONNECTIONS)
    session_id = live_session(mentor, [learner])
    enter_room(mentor, session_id)
    enter_room(learner, session_id)
    learner_id = user_id(learner)
    feed = learner_id * 10 + 1
    expect_frames_flowing(mentor, camera_tile(mentor, learner_id))
    mentor.wait_for_function(
        f"() => document.querySelector('audio[data-feed=\"{feed}\"]')", timeout=MEDIA_TIMEOUT_MS
    )
    assert rising(audio_packets, mentor, feed)

    open_panel(mentor, "People")
    row = mentor.locator(f'[data-person-id="{learner_id}"]')
    row.get_by_role("button", name="Ask to mute").click()
    expect_local_track(learner, "audio", enabled=False)
    learner.evaluate(IGNORE_THE_MENTOR, "audio")
    mentor.wait_for_timeout(1000)  # packets already on their way
    assert not rising(audio_packets, mentor, feed), "Janus still forwards a muted microphone"

    row.get_by_role("button", name="Stop video").click()
    expect_local_track(learner, "video", enabled=False)
    learner.evaluate(IGNORE_THE_MENTOR, "video")
    mentor.wait_for_timeout(1000)
    assert not rising(video_frames, mentor, learner_id), "Janus still forwards a stopped camera"

    # Turned on again the proper way, the mentor hears and sees them again.
    control(learner, "Mic").click()
    control(learner, "Camera").click()
    expect(control(learner, "Mic")).to_have_attribute("aria-pressed", "true")
    expect(control(learner, "Camera")).to_have_attribute("aria-pressed", "true")
    mentor.wait_for_timeout(1000)
    assert rising(audio_packets, mentor, feed)
    assert rising(video_frames, mentor, learner_id)


def test_a_big_tile_gets_the_top_layer_and_a_small_one_the_low_layer(janus_page):
    mentor = janus_page("mentor1@peerlearn.local")
    viewer = janus_page("learner1@peerlearn.local")
    other = janus_page("learner2@peerlearn.local")
    session_id = live_session(mentor, [viewer, other])
    for page in (mentor, viewer, other):
        enter_room(page, session_id)
    mentor_tile = camera_tile(viewer, user_id(mentor))
    other_tile = camera_tile(viewer, user_id(other))
    expect_frames_flowing(viewer, mentor_tile)

    # The viewer pins the mentor: the mentor fills the stage, the other learner is a thumbnail.
    mentor_tile.get_by_role("button", name=re.compile(r"^Pin ")).click()
    expect_frames_flowing(viewer, other_tile)
    assert mentor_tile.bounding_box()["height"] >= 200 > other_tile.bounding_box()["height"]
    big = viewer.wait_for_function(
        "(tile) => tile.querySelector('video').videoWidth >= 480 && tile.querySelector('video').videoWidth",
        arg=mentor_tile.element_handle(),
        timeout=MEDIA_TIMEOUT_MS,
    ).json_value()
    small = viewer.wait_for_function(
        "(tile) => { const w = tile.querySelector('video').videoWidth; return w > 0 && w <= 360 && w; }",
        arg=other_tile.element_handle(),
        timeout=MEDIA_TIMEOUT_MS,
    ).json_value()
    assert big >= 2 * small  # the top layer, and the half-size one

    # Unpinned, back to the grid of big tiles: the other learner comes in at the top layer.
    mentor_tile.get_by_role("button", name=re.compile(r"^Pin ")).click()
    viewer.wait_for_function(
        "(tile) => tile.querySelector('video').videoWidth >= 480",
        arg=other_tile.element_handle(),
        timeout=MEDIA_TIMEOUT_MS,
    )


@pytest.fixture(scope="module")
def speaking_browser(browser, janus_server, tmp_path_factory):
    """Chromium whose fake microphone plays a voice (three seconds of hum, one of silence)."""
    media = launch_media_browser(browser, voice_argument(tmp_path_factory))
    yield media
    media.close()


def test_janus_says_who_is_talking_and_the_speaker_becomes_the_active_tile(
    speaking_browser, janus_server, janus_page, page_guard
):
    context = open_media_context(speaking_browser, janus_server, page_guard)
    try:
        speaker = context.new_page()
        log_in(speaker, "mentor3@peerlearn.local")
        listener = janus_page("learner5@peerlearn.local")
        session_id = live_session(speaker, [listener])
        enter_room(speaker, session_id)
        enter_room(listener, session_id)
        tile = camera_tile(listener, user_id(speaker))
        expect_frames_flowing(listener, tile)
        # The listener's page measures no audio of its own for others: this comes from Janus's
        # talking events for the speaker's feed.
        for state in ("is-speaking", "is-active"):
            listener.wait_for_function(
                f"el => el.classList.contains('{state}')", arg=tile.element_handle(), timeout=MEDIA_TIMEOUT_MS
            )
        # And when the voice pauses, the ring goes out (the tile stays the active speaker).
        listener.wait_for_function(
            "el => !el.classList.contains('is-speaking') && el.classList.contains('is-active')",
            arg=tile.element_handle(),
            timeout=MEDIA_TIMEOUT_MS,
        )
    finally:
        context.close()


SUBSCRIBER_PORT = """
async () => {
  // The local UDP port of the connection that receives video (the subscriber).
  for (const pc of window.__pcs) {
    if (pc.connectionState !== 'connected') continue;
    const report = await pc.getStats();
    let receives = false;
    let pair = null;
    report.forEach((s) => {
      if (s.type === 'inbound-rtp' && s.kind === 'video') receives = true;
      if (s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded') pair = s;
    });
    if (receives && pair) return report.get(pair.localCandidateId).port;
  }
  return null;
}
"""


def test_a_lossy_connection_drops_to_the_low_layer_and_comes_back(janus_page, media_network):
    if shutil.which("nft") is None:
        unavailable("nft not found (apt-get install nftables): it makes the packet loss")
    mentor = janus_page("mentor2@peerlearn.local")
    viewer = janus_page("learner3@peerlearn.local")
    viewer.context.add_init_script(KEEP_PEER_CONNECTIONS)
    session_id = live_session(mentor, [viewer])
    enter_room(mentor, session_id)
    enter_room(viewer, session_id)
    tile = camera_tile(viewer, user_id(mentor))
    expect_frames_flowing(viewer, tile)
    wide = "(tile) => tile.querySelector('video').videoWidth >= 480"
    viewer.wait_for_function(wide, arg=tile.element_handle(), timeout=MEDIA_TIMEOUT_MS)
    port = viewer.evaluate(SUBSCRIBER_PORT)
    assert port, "no receiving connection"

    # A quarter of what reaches the viewer's receiving connection is lost (the mentor's upload
    # and Janus are untouched): the viewer asks Janus for the low layer.
    lossy = ("udp", "dport", str(port), "numgen", "random", "mod", "4", "0", "drop")
    with nft_rule(media_network, "lossy", "input", *lossy):
        viewer.wait_for_function(
            "(tile) => { const w = tile.querySelector('video').videoWidth; return w > 0 && w <= 360; }",
            arg=tile.element_handle(),
            timeout=MEDIA_TIMEOUT_MS,
        )
    # A clean stretch later it goes back up.
    viewer.wait_for_function(wide, arg=tile.element_handle(), timeout=MEDIA_TIMEOUT_MS)
