"""Ready recordings for tests of watching, keeping and deleting them: a real small video made by
ffmpeg, stored through the app's storage, and the ``Recording`` row the composing job would
leave, with bookings of the learners who may watch it."""

import shutil
import subprocess
import uuid
from datetime import timedelta

from peerlearn.extensions import db
from peerlearn.models import Booking, ChatMessage, Recording, RecordingStatus, utcnow
from peerlearn.services.storage import get_storage
from tests.conftest import extract_csrf, unavailable

SECONDS = 5


def make_video(path, seconds=SECONDS):
    """A WebM of ``seconds`` seconds (VP8 test picture, Opus tone) at ``path``; its bytes."""
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        unavailable("ffmpeg is not installed (apt-get install ffmpeg)")
    subprocess.run(  # noqa: S603 - a fixed argument list of our own, no shell
        [
            ffmpeg, "-loglevel", "error", "-y",
            "-f", "lavfi", "-i", f"testsrc=d={seconds}:s=160x120:r=10",
            "-f", "lavfi", "-i", f"sine=d={seconds}",
            "-c:v", "libvpx", "-b:v", "100k", "-c:a", "libopus", str(path),
        ],
        check=True,
        timeout=120,
    )  # fmt: skip
    return path.read_bytes()


def book(session, learner, status="confirmed"):
    """A booking of ``learner`` in ``session`` in ``status``, as settled bookings end up."""
    booking = Booking(session_id=session.id, learner_id=learner.id, status=status, amount_paise=0)
    if status == "pending_payment":
        booking.hold_expires_at = utcnow() + timedelta(minutes=10)
    db.session.add(booking)
    db.session.commit()
    return booking


def ready_recording(session, data, *, duration_ms=SECONDS * 1000, started=None, **fields):
    """``data`` stored as ``session``'s composed recording and its row, ready; one span of
    ``duration_ms`` from ``started`` (the session's start unless given). ``fields`` override."""
    started = started or session.starts_at
    key = f"recordings/{session.id}/{uuid.uuid4().hex}.webm"
    get_storage().put(key, data, "video/webm")
    values = {
        "session_id": session.id,
        "status": RecordingStatus.READY.value,
        "spans": [
            {
                "start": started.isoformat(),
                "stop": (started + timedelta(milliseconds=duration_ms)).isoformat(),
            }
        ],
        "storage_key": key,
        "content_type": "video/webm",
        "size_bytes": len(data),
        "duration_ms": duration_ms,
        "progress": 100,
        "progress_step": "Ready",
        "layout": {},
        "chapters": [],
        "ready_at": utcnow(),
    }
    values.update(fields)
    recording = Recording(**values)
    db.session.add(recording)
    db.session.commit()
    return recording


def collect_recording_pages(pages, browsers, session, *, learner, mentor):
    """For the HTML checker: ``session``'s recording as its learner and its mentor watch it (chat,
    chapters, the delete form), the admin's page, the delete form sent back with its error, the
    mentor's view while it is composed and once it failed, and the 410 page once deleted.
    ``pages.add(persona, url, response, status=...)`` collects a page; ``browsers`` are signed-in
    test clients by persona."""
    recording = ready_recording(
        session, b"\x1a\x45\xdf\xa3 not played here", chapters=[{"start_ms": 1000, "title": "Screen share"}]
    )
    db.session.add(
        ChatMessage(
            session_id=session.id,
            user_id=learner.id,
            body="Could you repeat that?",
            created_at=session.starts_at + timedelta(seconds=2),
        )
    )
    db.session.add(
        ChatMessage(
            session_id=session.id,
            user_id=mentor.id,
            body="Before we start",
            created_at=session.starts_at - timedelta(minutes=1),
        )
    )
    db.session.commit()
    path = f"/sessions/{session.id}/recording"
    pages.add("learner", path, browsers["learner"].get(path))
    pages.add("mentor", path, browsers["mentor"].get(path))
    admin_path = f"/admin/sessions/{session.id}/recording"
    pages.add("admin", admin_path, browsers["admin"].get(admin_path))
    token = extract_csrf(browsers["mentor"].get(path).get_data(as_text=True))
    response = browsers["mentor"].post(f"{path}/delete", data={"csrf_token": token, "reason": "x" * 300})
    pages.add("mentor", f"{path}/delete (errors)", response, status=422)

    recording.status = RecordingStatus.PROCESSING.value
    recording.progress, recording.progress_step = 40, "Mixing audio"
    db.session.commit()
    pages.add("mentor", f"{path} (composing)", browsers["mentor"].get(path))
    recording.status, recording.error = RecordingStatus.FAILED.value, "RuntimeError: ffmpeg exited 1"
    db.session.commit()
    pages.add("mentor", f"{path} (failed)", browsers["mentor"].get(path))
    recording.status = RecordingStatus.DELETED.value
    recording.deleted_at, recording.delete_reason = utcnow(), "deleted by the mentor"
    db.session.commit()
    pages.add("learner", f"{path} (deleted)", browsers["learner"].get(path), status=410)
