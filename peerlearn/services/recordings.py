"""Composing a session's recording: from Janus's raw feeds to one file in storage.

When the session ends ``queue_composition`` marks its recording pending and, once that has
committed, hands it to the ``recordings`` queue (its own queue and timeout, so an hour of video
never holds up an email), or composes it at once when jobs run inline. ``compose`` is what the
job runs:

1. It claims the recording (pending, processing or failed → processing, one more attempt) with a
   conditional update, and a lock file in its work folder keeps a second run of the same
   recording out while one is under way.
2. ``services.composer`` turns the feeds into one file in the work folder, step by step; each
   step's output is written whole or not at all, so a run cut short by a killed worker is picked
   up where it stopped by the retry RQ makes of the abandoned job.
3. The file goes to storage (``services.storage``: the local folder or the bucket) under a key
   naming its content's hash, the row says ready, and only then are the raw feeds and the work
   folder removed. A failure records its error and keeps the raw feeds for a retry
   (``requeue``), by RQ or by the mentor.

Progress goes to the row (``progress``, ``progress_step``), which the mentor's page reads, and as
a ``recording_progress`` event to the mentor's sockets.
"""

import contextlib
import fcntl
import hashlib
import logging
import os
import shutil
from datetime import timedelta
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select, update

from .. import events, system_texts
from ..exceptions import Conflict, NotFound
from ..extensions import db
from ..models import Booking, LearningSession, Recording, RecordingConsent, RecordingStatus, User, utcnow
from . import composer, realtime
from .storage import discard, get_storage
from .transactions import use_case

log = logging.getLogger(__name__)

QUEUE = "recordings"
EVENT_QUEUED = "recording_composition_queued"
# The states a composing run may start from: waiting, cut short (a killed worker), or failed
# (RQ retrying the job, or a requeue).
CLAIMABLE = (RecordingStatus.PENDING.value, RecordingStatus.PROCESSING.value, RecordingStatus.FAILED.value)
ERROR_LIMIT = 2000
# The states queue_composition hands on: the session just ended, a failure, or a pending one whose
# job never reached the queue. A duplicate job is harmless (the claim and the lock).
QUEUEABLE = (RecordingStatus.RECORDING.value, RecordingStatus.PENDING.value, RecordingStatus.FAILED.value)


class RecordingBusy(Exception):
    """Another run holds this recording's work folder."""


@use_case
def queue_composition(recording_id):
    """The session has ended: compose its recording. Returns the recording, or None without one.

    A recording already ready, deleted or being composed is left as it is, so calling this twice
    (the session's end seen twice) queues one job's worth of work; one still pending (its job was
    never handed on: Redis was down) is queued again. The job starts after this commit
    (``events``: the subscriber enqueues it), inline when jobs run inline."""
    recording = db.session.get(Recording, recording_id)
    if recording is None:
        return None
    if recording.status not in QUEUEABLE:
        return recording
    _mark_pending(recording)
    db.session.commit()
    events.record(EVENT_QUEUED, recording.id)
    return recording


def queue_stalled(now=None):
    """The periodic sweep: hand on again every recording left pending longer than
    RECORDINGS_STALLED_MINUTES, whose job never reached the queue (Redis was down when the
    session ended) or was lost with it. A duplicate of a job still waiting behind a long one is
    harmless (the claim and the lock). Returns how many were queued."""
    now = now or utcnow()
    before = now - timedelta(minutes=current_app.config["RECORDINGS_STALLED_MINUTES"])
    stalled = db.session.scalars(
        select(Recording.id)
        .where(Recording.status == RecordingStatus.PENDING.value, Recording.updated_at <= before)
        .order_by(Recording.id)
    ).all()
    db.session.rollback()  # ends the read's transaction
    for recording_id in stalled:
        _queue_again(recording_id, now)
    return len(stalled)


@use_case
def _queue_again(recording_id, now):
    recording = db.session.get(Recording, recording_id)
    if recording is None or recording.status != RecordingStatus.PENDING.value:
        return
    recording.updated_at = now  # the next sweep waits as long again
    db.session.commit()
    events.record(EVENT_QUEUED, recording.id)


@use_case
def requeue(recording_id):
    """Compose a failed recording again from its kept raw feeds (the mentor's or an admin's retry)."""
    recording = db.session.get(Recording, recording_id)
    if recording is None:
        raise NotFound(_("No such recording."))
    if recording.status != RecordingStatus.FAILED.value:
        raise Conflict(_("Only a recording that failed to compose can be tried again."))
    _mark_pending(recording)
    db.session.commit()
    events.record(EVENT_QUEUED, recording.id)
    return recording


def _mark_pending(recording):
    recording.status = RecordingStatus.PENDING.value
    recording.progress = 0
    recording.progress_step = system_texts.STEP_WAITING
    recording.error = ""


def work_dir_of(recording_id, app=None):
    app = app or current_app
    return Path(app.config["RECORDINGS_WORK_DIR"]) / str(recording_id)


def compose(recording_id, on_progress=None):
    """Compose the recording ``recording_id`` into one stored file (the ``recordings`` job).

    Safe to run twice: a ready or deleted recording is left alone, and a run finding another at
    work on it (the lock) returns. ``on_progress()`` is called at each progress report (the job
    renews its heartbeat there). Raises what made it fail, after recording the error, so RQ
    counts the failure and retries."""
    if not _claim(recording_id):
        log.info("recording %s: nothing to compose", recording_id)
        return None
    work_dir = work_dir_of(recording_id)
    work_dir.mkdir(parents=True, exist_ok=True)
    try:
        with _locked(work_dir):
            return _compose_claimed(recording_id, work_dir, on_progress)
    except RecordingBusy:
        log.info("recording %s: another run is composing it", recording_id)
        return None
    except Exception as exc:
        db.session.rollback()
        _fail(recording_id, exc)
        raise


@use_case
def _claim(recording_id):
    claimed = db.session.execute(
        update(Recording)
        .where(Recording.id == recording_id, Recording.status.in_(CLAIMABLE))
        .values(
            status=RecordingStatus.PROCESSING.value,
            attempts=Recording.attempts + 1,
            error="",
            progress_step=system_texts.STEP_STARTING,
        )
    ).rowcount
    db.session.commit()
    return claimed == 1


@contextlib.contextmanager
def _locked(work_dir):
    with open(work_dir / ".lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RecordingBusy() from None
        yield


def _compose_claimed(recording_id, work_dir, on_progress):
    recording = db.session.get(Recording, recording_id)
    session = recording.session
    raw_dir = Path(recording.raw_dir) if recording.raw_dir else None
    if raw_dir is None or not raw_dir.is_dir():
        raise composer.CompositionError(f"the raw feeds' folder {recording.raw_dir!r} is not there")
    participants = _participants(session)
    spans = list(recording.spans or [])
    mentor_id, session_id = session.mentor_id, session.id
    config = current_app.config
    db.session.commit()  # end the read transaction: composing takes minutes

    def progress(percent, step):
        _report(recording_id, mentor_id, percent, step)
        if on_progress is not None:
            on_progress()

    result = composer.compose(
        raw_dir,
        participants,
        spans,
        work_dir,
        progress=progress,
        container=config["RECORDINGS_CONTAINER"],
    )
    log.info(
        "recording %s composed: %d steps made, %d found done by an earlier run",
        recording_id,
        len(result.steps_run),
        len(result.steps_skipped),
    )
    # Hashed and stored a piece at a time: an hour's file is hundreds of megabytes.
    with result.path.open("rb") as file:
        digest = hashlib.file_digest(file, "sha256").hexdigest()[:16]
        size = file.tell()
        key = f"recordings/{session_id}/{recording_id}-{digest}{result.path.suffix}"
        progress(97, system_texts.STEP_STORING)
        file.seek(0)
        get_storage().put(key, file, result.content_type)
    _finish(recording_id, key, result, size, config["RECORDING_RETENTION_DAYS"])
    # The file is stored and the row says so: what it was made from can go.
    shutil.rmtree(raw_dir, ignore_errors=True)
    shutil.rmtree(work_dir, ignore_errors=True)
    realtime.emit(
        "recording_progress",
        {"recording_id": recording_id, "status": RecordingStatus.READY.value, "progress": 100},
        room=realtime.user_room(mentor_id),
    )
    return key


def _participants(session):
    """Everyone who may be in the feeds: the mentor (who chose to record) and each learner who
    booked, in the picture only with a recorded "yes"."""
    consents = dict(
        db.session.execute(
            select(RecordingConsent.user_id, RecordingConsent.consented).where(
                RecordingConsent.session_id == session.id
            )
        ).all()
    )
    learner_ids = set(
        db.session.scalars(select(Booking.learner_id).where(Booking.session_id == session.id)).all()
    )
    ids = {session.mentor_id} | learner_ids | set(consents)
    names = dict(db.session.execute(select(User.id, User.name).where(User.id.in_(ids))).all())
    return [
        composer.Participant(
            user_id=user_id,
            name=names.get(user_id, f"Participant {user_id}"),
            role="mentor" if user_id == session.mentor_id else "learner",
            consented=user_id == session.mentor_id or consents.get(user_id, False),
        )
        for user_id in sorted(ids)
    ]


@use_case
def _report(recording_id, mentor_id, percent, step):
    db.session.execute(
        update(Recording)
        .where(Recording.id == recording_id)
        .values(progress=max(0, min(100, int(percent))), progress_step=step[:60])
    )
    db.session.commit()
    realtime.emit(
        "recording_progress",
        {"recording_id": recording_id, "status": "processing", "progress": int(percent), "step": step},
        room=realtime.user_room(mentor_id),
    )


@use_case
def _finish(recording_id, key, result, size, retention_days):
    recording = db.session.get(Recording, recording_id)
    now = utcnow()
    previous = recording.storage_key
    recording.status = RecordingStatus.READY.value
    recording.storage_key = key
    recording.content_type = result.content_type
    recording.size_bytes = size
    recording.duration_ms = result.duration_ms
    recording.layout = result.layout
    recording.chapters = result.chapters
    recording.progress = 100
    recording.progress_step = system_texts.STEP_READY
    recording.error = ""
    recording.ready_at = now
    recording.expires_at = now + timedelta(days=retention_days)
    db.session.commit()
    if previous and previous != key:
        discard(previous)


@use_case
def _fail(recording_id, exc):
    message = f"{type(exc).__name__}: {exc}"[:ERROR_LIMIT]
    log.error("recording %s failed to compose: %s", recording_id, message)
    db.session.execute(
        update(Recording)
        .where(Recording.id == recording_id, Recording.status == RecordingStatus.PROCESSING.value)
        .values(status=RecordingStatus.FAILED.value, error=message, progress_step=system_texts.STEP_FAILED)
    )
    db.session.commit()
    mentor_id = db.session.scalar(
        select(LearningSession.mentor_id)
        .join(Recording, Recording.session_id == LearningSession.id)
        .where(Recording.id == recording_id)
    )
    db.session.rollback()  # read only: end the transaction
    if mentor_id is not None:
        realtime.emit(
            "recording_progress",
            {"recording_id": recording_id, "status": RecordingStatus.FAILED.value, "progress": 0},
            room=realtime.user_room(mentor_id),
        )


def raw_files(recording_id):
    """The raw feed files kept for ``recording_id`` (for tests and the admin's look)."""
    recording = db.session.get(Recording, recording_id)
    if recording is None or not recording.raw_dir or not os.path.isdir(recording.raw_dir):
        return []
    return sorted(Path(recording.raw_dir).iterdir())
