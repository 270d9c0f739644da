"""The playback page in Chromium against the real server: the video loads (its metadata, and a
duration within a frame or two of the file's), a chat time and a chapter seek the player, the
content security policy holds (the page guard fails on any console error), and the recording's
pages meet WCAG 2.2 AA by axe-core.

The recording itself is put where the composing job would leave it: a real WebM made by ffmpeg in
the server's upload folder and its row in the server's SQLite file (the server is its own
process, so the test writes its files as the job would)."""

import json
import sqlite3
import subprocess
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.room_support import book
from tests.browser.support import create_session, log_in, register, visit
from tests.conftest import unavailable
from tests.support.recordings import SECONDS, make_video

pytestmark = pytest.mark.browser

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
RUN_AXE = """async (tags) => {
  const results = await window.axe.run(document, { runOnly: { type: 'tag', values: tags } });
  return results.violations.map((violation) => `${violation.id} (${violation.help}) at `
    + violation.nodes.slice(0, 5).map((node) => node.target.join(' ')).join(', '));
}"""
VIDEO_READY = "() => { const v = document.querySelector('video'); return v && v.readyState >= 1; }"


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    return make_video(tmp_path_factory.mktemp("video") / "x.webm")


def stamp(moment):
    """A time as the server's SQLite file keeps it (naive UTC)."""
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


def put_recording(server, session_id, data, *, status="ready"):
    """Store ``data`` as the session's composed file and add its row, recorded from 30 s ago for
    the file's length, with a chapter at 3 s and a chat message said 2 s in."""
    key = f"recordings/{session_id}/{uuid.uuid4().hex}.webm"
    path = server.instance_dir / "uploads" / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    started = datetime.now(UTC) - timedelta(seconds=30)
    spans = [{"start": started.isoformat(), "stop": (started + timedelta(seconds=SECONDS)).isoformat()}]
    now = stamp(datetime.now(UTC))
    with sqlite3.connect(server.instance_dir / "peerlearn.sqlite3", timeout=10) as database:
        (mentor_id,) = database.execute(
            "SELECT mentor_id FROM learning_sessions WHERE id = ?", (session_id,)
        ).fetchone()
        database.execute(
            "INSERT INTO recordings (session_id, status, spans, raw_dir, storage_key, content_type,"
            " size_bytes, duration_ms, progress, progress_step, attempts, error, layout, chapters,"
            " ready_at, expires_at, delete_reason, created_at, updated_at)"
            " VALUES (?, ?, ?, '', ?, 'video/webm', ?, ?, ?, ?, 1, '', '{}', ?, ?, ?, '', ?, ?)",
            (
                session_id,
                status,
                json.dumps(spans),
                key,
                len(data),
                SECONDS * 1000,
                100 if status == "ready" else 45,
                "Ready" if status == "ready" else "Mixing audio",
                json.dumps([{"start_ms": 3000, "title": "Screen share"}]),
                now if status == "ready" else None,
                stamp(datetime.now(UTC) + timedelta(days=90)) if status == "ready" else None,
                now,
                now,
            ),
        )
        database.execute(
            "INSERT INTO chat_messages (session_id, user_id, body, created_at) VALUES (?, ?, ?, ?)",
            (session_id, mentor_id, "Look at this part", stamp(started + timedelta(seconds=2))),
        )


def axe(page, axe_source):
    page.add_script_tag(content=axe_source)
    return [f"{page.url}: {line}" for line in page.evaluate(RUN_AXE, WCAG_TAGS)]


def test_the_video_plays_and_the_chat_and_chapters_seek_it(new_context, live_server, video):
    mentor = new_context().new_page()
    register(mentor, "mentor", "Rekha Recorder")
    session_id = create_session(mentor, minutes_ahead=2 * 24 * 60, price_paise=0)
    learner = new_context().new_page()
    register(learner, "learner", "Lekha Watcher")
    book(learner, session_id)
    put_recording(live_server, session_id, video)

    visit(learner, f"/sessions/{session_id}/recording")
    learner.wait_for_function(VIDEO_READY)
    duration = learner.locator("video").evaluate("(v) => v.duration")
    expected = float(
        subprocess.run(
            ["/usr/bin/ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", "-"],
            input=video,
            capture_output=True,
            check=True,
        ).stdout
    )
    assert abs(duration - expected) < 0.25, (duration, expected)

    learner.get_by_role("button", name="Play from 0:02").click()
    learner.wait_for_function("() => document.querySelector('video').currentTime >= 2")
    position = learner.locator("video").evaluate("(v) => v.currentTime")
    assert 2 <= position < SECONDS, position

    learner.locator("[data-testid='recording-chapters'] button", has_text="Screen share").click()
    learner.wait_for_function("() => document.querySelector('video').currentTime >= 3")
    assert learner.locator("video").evaluate("(v) => v.currentTime") >= 3
    # The learner has no delete button; the mentor has.
    expect(learner.locator("[data-testid='recording-delete']")).to_have_count(0)
    visit(mentor, f"/sessions/{session_id}/recording")
    expect(mentor.locator("[data-testid='recording-delete']")).to_have_count(1)


def test_the_recording_pages_meet_wcag_22_aa(new_context, live_server, video):
    if not AXE.exists():
        unavailable(f"axe-core is not installed ({AXE} missing): run `npm ci`")
    axe_source = AXE.read_text()
    # Axe is a script the pages' policy does not allow: bypassed for these contexts alone.
    mentor = new_context(bypass_csp=True).new_page()
    register(mentor, "mentor", "Arun Access")
    ready_id = create_session(mentor, minutes_ahead=2 * 24 * 60, price_paise=0)
    processing_id = create_session(mentor, minutes_ahead=2 * 24 * 60, price_paise=0)
    put_recording(live_server, ready_id, video)
    put_recording(live_server, processing_id, video, status="processing")

    violations = []
    for session_id in (ready_id, processing_id):
        visit(mentor, f"/sessions/{session_id}/recording")
        violations += axe(mentor, axe_source)
    # Deleted through its own form: the 410 page that learners coming back then see.
    visit(mentor, f"/sessions/{ready_id}/recording")
    mentor.get_by_text("Delete this recording…").click()
    mentor.get_by_role("button", name="Delete the recording for everyone").click()
    expect(mentor.locator("[data-testid='recording-state']")).to_have_attribute("data-status", "deleted")
    violations += axe(mentor, axe_source)
    admin = new_context(bypass_csp=True).new_page()
    log_in(admin, "admin@peerlearn.local")
    visit(admin, f"/admin/sessions/{processing_id}/recording")
    violations += axe(admin, axe_source)
    assert not violations, f"{len(violations)} WCAG 2.2 AA violations:\n" + "\n".join(violations)


def update_recording(server, session_id, **values):
    """Change the session's recording row as the composing job does in the server's SQLite file."""
    columns = ", ".join(f"{name} = ?" for name in values)
    with sqlite3.connect(server.instance_dir / "peerlearn.sqlite3", timeout=10) as database:
        statement = f"UPDATE recordings SET {columns} WHERE session_id = ?"  # noqa: S608 - our own column names
        database.execute(statement, (*values.values(), session_id))


def test_a_hindi_mentor_follows_the_composing_steps_in_hindi(new_context, live_server, video):
    # The job stores and sends its steps in English (peerlearn/system_texts.py); the page draws
    # the first in Hindi and its script translates the ones it hears after.
    mentor = new_context(locale="hi-IN").new_page()
    register(mentor, "mentor", "Hema Hindi")
    session_id = create_session(mentor, minutes_ahead=2 * 24 * 60, price_paise=0)
    put_recording(live_server, session_id, video, status="processing")
    update_recording(live_server, session_id, progress=45, progress_step="Composing part 2 of 3")

    visit(mentor, f"/sessions/{session_id}/recording")
    expect(mentor.locator("html")).to_have_attribute("lang", "hi")
    expect(mentor.get_by_text("3 में से हिस्सा 2 तैयार हो रहा है: 45%")).to_be_visible()
    update_recording(live_server, session_id, progress=92, progress_step="Joining the parts")
    expect(mentor.get_by_text("हिस्से जोड़े जा रहे हैं: 92%")).to_be_visible()


def test_a_page_waiting_for_the_video_follows_it_and_shows_it_when_ready(new_context, live_server, video):
    mentor = new_context().new_page()
    register(mentor, "mentor", "Wanda Waiting")
    session_id = create_session(mentor, minutes_ahead=2 * 24 * 60, price_paise=0)
    learner = new_context().new_page()
    register(learner, "learner", "Lalit Waiting")
    book(learner, session_id)
    put_recording(live_server, session_id, video, status="processing")

    visit(mentor, f"/sessions/{session_id}/recording")
    visit(learner, f"/sessions/{session_id}/recording")
    expect(mentor.get_by_text("Mixing audio: 45%")).to_be_visible()
    # The job reports a step: the mentor's page follows it without being reloaded.
    update_recording(live_server, session_id, progress=70, progress_step="Encoding video")
    expect(mentor.get_by_text("Encoding video: 70%")).to_be_visible()
    assert mentor.locator("progress").evaluate("(bar) => bar.value") == 70
    # Ready: both pages draw the player, the learner's too, who hears no progress.
    now = stamp(datetime.now(UTC))
    update_recording(
        live_server,
        session_id,
        status="ready",
        progress=100,
        progress_step="Ready",
        ready_at=now,
        expires_at=stamp(datetime.now(UTC) + timedelta(days=90)),
    )
    for page in (mentor, learner):
        page.wait_for_function(VIDEO_READY)
        expect(page.locator("[data-testid='recording-state']")).to_have_count(0)
