"""Recording a live room in real browsers, on the live server's own Janus inside the private
network: the mentor starts it, everyone sees the indicator, each learner is asked first; the one
who stays out keeps camera and microphone off (the server refuses them, Janus forwards nothing of
theirs); Janus writes the raw feeds (.mjr) into the session's folder; the session's end closes the
recording and hands it on for composing.

Chromium's fake camera, microphone and screen stand in for devices (as in the other room tests).
"""

import json
import re
import shutil
import sqlite3
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import launch_media_browser, open_media_context
from tests.browser.room_support import (
    MEDIA_TIMEOUT_MS,
    accept_dialogs,
    book,
    control,
    create_session_starting_soon,
    enter_room,
    expect_local_track,
    held_since_start,
    log_in,
    more_option,
    start,
    user_id_of,
)
from tests.browser.support import csrf_headers
from tests.conftest import unavailable

pytestmark = pytest.mark.browser

MENTOR = "mentor1@peerlearn.local"
IN_IT = "learner4@peerlearn.local"
STAYS_OUT = "learner5@peerlearn.local"
# Janus names a publisher's file videoroom-<room>-user-<feed>-<time>-<audio|video>-<mindex>.mjr.
FEED_FILE = re.compile(r"^videoroom-\d+-user-(\d+)-\d+-(audio|video)-\d+\.mjr$")


@pytest.fixture(scope="module")
def media_browser(browser, janus_server):
    media = launch_media_browser(browser)
    yield media
    media.close()


@pytest.fixture
def janus_page(media_browser, janus_server, page_guard):
    """Pages of signed-in people on the Janus server. Three media pages at once on a busy
    two-core machine: clicks and checks get the media timeout, not a page's."""
    contexts = []

    def make(email):
        context = open_media_context(media_browser, janus_server, page_guard)
        context.set_default_timeout(MEDIA_TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        log_in(page, email)
        return page

    expect.set_options(timeout=MEDIA_TIMEOUT_MS)
    yield make
    expect.set_options(timeout=5_000)
    for context in contexts:
        context.close()


def recorded_session(mentor, learners):
    """A free session starting soon with "Record this session" on, booked and gone live."""
    session_id = create_session_starting_soon(mentor, capacity=4)
    response = mentor.request.patch(
        f"/api/sessions/{session_id}/", data={"recording_enabled": True}, headers=csrf_headers(mentor)
    )
    assert response.ok and response.json()["data"]["recording_enabled"] is True, response.text()
    for learner in learners:
        book(learner, session_id)
    start(mentor, session_id)
    return session_id


def raw_feeds(folder):
    """{(feed, kind): bytes} of the .mjr files Janus wrote into ``folder``."""
    sizes = {}
    for path in Path(folder).glob("*.mjr"):
        match = FEED_FILE.match(path.name)
        if match:
            key = (int(match.group(1)), match.group(2))
            sizes[key] = sizes.get(key, 0) + path.stat().st_size
    return sizes


def wait_for(condition, what, timeout=MEDIA_TIMEOUT_MS / 1000):
    """Poll ``condition`` (returns a value, falsy while waiting) until it holds; its value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


def recording_row(server, session_id):
    with sqlite3.connect(server.instance_dir / "peerlearn.sqlite3", timeout=10) as database:
        database.row_factory = sqlite3.Row
        return database.execute("SELECT * FROM recordings WHERE session_id = ?", (session_id,)).fetchone()


def consents(server, session_id):
    with sqlite3.connect(server.instance_dir / "peerlearn.sqlite3", timeout=10) as database:
        rows = database.execute(
            "SELECT user_id, consented FROM recording_consents WHERE session_id = ?", (session_id,)
        ).fetchall()
    return {user_id: bool(consented) for user_id, consented in rows}


def test_recording_with_consent_writes_janus_feeds_and_ends_with_the_session(janus_page, janus_server):
    mentor, in_it, stays_out = janus_page(MENTOR), janus_page(IN_IT), janus_page(STAYS_OUT)
    session_id = recorded_session(mentor, [in_it, stays_out])
    for page in (mentor, in_it, stays_out):
        enter_room(page, session_id)
    ids = {page: user_id_of(page) for page in (mentor, in_it, stays_out)}
    raw_dir = janus_server.instance_dir / "recordings" / "raw" / str(session_id)

    record = control(mentor, "Record")
    expect(record).to_be_visible()
    expect(record).to_have_attribute("aria-pressed", "false")
    for page in (mentor, in_it, stays_out):
        expect(page.get_by_test_id("recording-indicator")).to_be_hidden()
    record.click()

    # Everyone sees it; screen readers hear it.
    for page in (mentor, in_it, stays_out):
        expect(page.get_by_test_id("recording-indicator")).to_be_visible()
        expect(page.locator('p.sr-only[role="status"]')).to_have_text("Recording started")
    expect(record).to_have_attribute("aria-pressed", "true")

    # Each learner is asked first, in a dialog that holds the focus; until they answer, their
    # camera and microphone are off.
    for page in (in_it, stays_out):
        dialog = page.get_by_role("dialog", name="This session is being recorded")
        expect(dialog).to_be_visible()
        expect(dialog.get_by_role("button", name="Stay out, camera and mic off")).to_be_focused()
        expect_local_track(page, "video", enabled=False)
        expect_local_track(page, "audio", enabled=False)

    stays_out.get_by_role("button", name="Stay out, camera and mic off").click()
    in_it.get_by_role("button", name="Be in the recording").click()
    wait_for(lambda: len(consents(janus_server, session_id)) == 3, "the answers to be stored")
    assert consents(janus_server, session_id) == {ids[mentor]: True, ids[in_it]: True, ids[stays_out]: False}

    # The one who stays out can't turn the camera on; the one in it can.
    control(stays_out, "Camera").click()
    expect(stays_out.get_by_text("you chose to stay out of it")).to_be_visible()
    expect_local_track(stays_out, "video", enabled=False)
    control(in_it, "Camera").click()
    control(in_it, "Mic").click()
    expect_local_track(in_it, "video", enabled=True)
    expect_local_track(in_it, "audio", enabled=True)

    # Janus writes the feeds of the mentor and the learner in it, and grows them.
    mentor_feed, in_it_feed, out_feed = (ids[p] * 10 + 1 for p in (mentor, in_it, stays_out))
    wait_for(
        lambda: all(
            raw_feeds(raw_dir).get((feed, "video"), 0) > 20_000 for feed in (mentor_feed, in_it_feed)
        ),
        "Janus to write video of the mentor and the consenting learner",
    )
    control(mentor, "Share screen").click()
    screen_feed = ids[mentor] * 10 + 2
    wait_for(lambda: raw_feeds(raw_dir).get((screen_feed, "video"), 0) > 10_000, "the screen share's feed")
    before = raw_feeds(raw_dir)
    wait_for(
        lambda: raw_feeds(raw_dir)[(in_it_feed, "video")] > before[(in_it_feed, "video")] + 20_000,
        "the consenting learner's feed to grow",
    )
    # Of the learner who stays out, Janus keeps nothing but what it got before hearing the answer.
    now = raw_feeds(raw_dir)
    assert now.get((out_feed, "video"), 0) < now[(in_it_feed, "video")] / 10, now

    # Stopped: the indicator goes, the files stop growing, the span is closed.
    record.click()
    for page in (mentor, in_it, stays_out):
        expect(page.get_by_test_id("recording-indicator")).to_be_hidden()
    row = wait_for(
        lambda: (r := recording_row(janus_server, session_id)) and '"stop": null' not in r["spans"] and r,
        "the span to close",
    )
    assert row["status"] == "recording" and row["raw_dir"] == str(raw_dir)
    stopped = raw_feeds(raw_dir)
    time.sleep(2)
    assert raw_feeds(raw_dir) == stopped
    # Once it stops, the learner who stayed out may turn the camera on.
    control(stays_out, "Camera").click()
    expect_local_track(stays_out, "video", enabled=True)

    # A second span, then the session ends while it records: the span closes and the recording
    # leaves the "recording" state for the composer.
    record.click()
    expect(mentor.get_by_test_id("recording-indicator")).to_be_visible()
    expect(stays_out.get_by_role("dialog", name="This session is being recorded")).to_be_hidden()
    expect_local_track(stays_out, "video", enabled=False)
    confirms = []
    accept_dialogs(mentor, confirms)
    held_since_start(janus_server, session_id)
    more_option(mentor, "End for all")
    expect(in_it.get_by_test_id("room-closed")).to_contain_text("This session has ended.")
    row = wait_for(
        lambda: (r := recording_row(janus_server, session_id)) and r["status"] != "recording" and r,
        "the recording to be handed on",
    )
    assert '"stop": null' not in row["spans"] and row["spans"].count('"start"') == 2


def compose_inline(server, recording_id):
    """Run the composing job (the ``recordings`` queue's function) on the live server's own
    instance, as the embedded mode runs jobs: in a process of its own, with the server's settings."""
    script = (
        "import sys\n"
        "from peerlearn import create_app\n"
        "from peerlearn.tasks.recordings import compose_recording\n"
        "with create_app().app_context():\n"
        "    compose_recording(int(sys.argv[1]))\n"
    )
    subprocess.run(  # noqa: S603 - our own interpreter and script, no shell
        [sys.executable, "-c", script, str(recording_id)],
        cwd=Path(__file__).resolve().parents[2],
        env=server.environment(),
        check=True,
        timeout=900,
        capture_output=True,
    )


def probe(path):
    ffprobe = shutil.which("ffprobe")
    if ffprobe is None:
        unavailable("ffprobe is not installed (apt-get install ffmpeg)")
    result = subprocess.run(  # noqa: S603 - a fixed argument list of our own, no shell
        [
            ffprobe,
            "-v",
            "error",
            "-show_entries",
            "format=duration:stream=codec_type",
            "-of",
            "json",
            str(path),
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return json.loads(result.stdout)


def test_twenty_recorded_seconds_with_a_screen_share_become_one_file_without_the_learner_who_stayed_out(
    janus_page, janus_server
):
    mentor, in_it, stays_out = janus_page(MENTOR), janus_page(IN_IT), janus_page(STAYS_OUT)
    session_id = recorded_session(mentor, [in_it, stays_out])
    for page in (mentor, in_it, stays_out):
        enter_room(page, session_id)
    ids = {page: user_id_of(page) for page in (mentor, in_it, stays_out)}
    raw_dir = janus_server.instance_dir / "recordings" / "raw" / str(session_id)

    control(mentor, "Record").click()
    in_it.get_by_role("button", name="Be in the recording").click()
    stays_out.get_by_role("button", name="Stay out, camera and mic off").click()
    control(in_it, "Camera").click()
    control(in_it, "Mic").click()
    expect_local_track(in_it, "video", enabled=True)
    # The mentor presents for part of it: the screen becomes the main picture, and a chapter.
    wait_for(lambda: raw_feeds(raw_dir).get((ids[mentor] * 10 + 1, "video"), 0) > 20_000, "the mentor's feed")
    control(mentor, "Share screen").click()
    wait_for(lambda: raw_feeds(raw_dir).get((ids[mentor] * 10 + 2, "video"), 0) > 10_000, "the screen's feed")
    time.sleep(20)  # the recorded time itself: what the file's length is checked against
    control(mentor, "Record").click()
    expect(mentor.get_by_test_id("recording-indicator")).to_be_hidden()

    confirms = []
    accept_dialogs(mentor, confirms)
    held_since_start(janus_server, session_id)
    more_option(mentor, "End for all")
    expect(in_it.get_by_test_id("room-closed")).to_contain_text("This session has ended.")
    row = wait_for(
        lambda: (r := recording_row(janus_server, session_id)) and r["status"] != "recording" and r,
        "the recording to be handed on",
    )
    compose_inline(janus_server, row["id"])
    row = wait_for(
        lambda: (r := recording_row(janus_server, session_id)) and r["status"] in ("ready", "failed") and r,
        "the composition",
        timeout=600,
    )
    assert row["status"] == "ready", row["error"]

    [span] = json.loads(row["spans"])
    recorded = (datetime.fromisoformat(span["stop"]) - datetime.fromisoformat(span["start"])).total_seconds()
    assert recorded >= 20
    stored = janus_server.instance_dir / "uploads" / row["storage_key"]
    info = probe(stored)
    assert abs(float(info["format"]["duration"]) - recorded) <= 1.0, (info, recorded)
    # One picture and one sound (MP4 keeps its chapters as a data track beside them).
    kinds = [stream["codec_type"] for stream in info["streams"]]
    assert kinds.count("video") == 1 and kinds.count("audio") == 1, kinds

    layout = json.loads(row["layout"])
    included = {person["user_id"] for person in layout["included"]}
    assert ids[mentor] in included and ids[in_it] in included
    assert ids[stays_out] not in included
    assert ids[stays_out] in {person["user_id"] for person in layout["excluded"]}
    # The screen share opened a chapter; the raw feeds are gone once the file is stored.
    assert json.loads(row["chapters"])
    assert not raw_dir.exists()
