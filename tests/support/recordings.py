"""Ready recordings for tests of watching, keeping and deleting them: a real small video made by
ffmpeg, stored through the app's storage, and the ``Recording`` row the composing job would
leave, with bookings of the learners who may watch it."""

import shutil
import subprocess
import uuid
from datetime import timedelta

from peerlearn.extensions import db
from peerlearn.models import Booking, Recording, RecordingStatus, utcnow
from peerlearn.services.storage import get_storage
from tests.conftest import unavailable

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
