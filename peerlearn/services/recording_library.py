"""Watching, keeping and deleting a session's composed recording.

Who may watch: the session's mentor, admins, and learners whose booking held a seat in it:
confirmed, attended, or no-show (a learner who paid and missed the session is the one who most
needs the recording). A cancelled or expired booking gave its seat, and usually its money, back,
so it carries no right to the recording; nor does a pending hold that was never paid. A learner
the mentor removed from the room is refused too: the mentor chose they should not be there.
Everyone else is told the recording does not exist (404), whatever its state, so its existence
is not given away.

What they see (``recording_for``): a ready file to watch, or the state it is in. A recording
deleted by its mentor, an admin or retention answers 410 Gone to those who may watch it, saying
when and why, so a learner who comes back to a link knows it was removed rather than never made.

Retention: a ready recording is kept RECORDING_RETENTION_DAYS (90 by default) from when it became
ready (``expires_at``, set by the composing job, else counted from ``ready_at``), then its file is
removed and its row marked deleted by ``delete_expired``, a periodic job.

Deleting (by the mentor, an admin or retention) removes the stored file first and marks the row
after: when the storage cannot be reached nothing changes and the person is told to try again,
and a retry removes what is left. An admin's or mentor's deletion is in the audit log.
"""

import logging
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import and_, or_, select

from .. import system_texts
from ..exceptions import Conflict, DomainError, NotFound, PermissionDenied, ValidationError
from ..extensions import db
from ..models import (
    Booking,
    BookingStatus,
    ChatMessage,
    LearningSession,
    Recording,
    RecordingConsent,
    RecordingStatus,
    RoomRemoval,
    User,
    utcnow,
)
from . import audit, storage
from .transactions import use_case

log = logging.getLogger(__name__)

# Bookings whose learner may watch the session's recording (see the module docstring).
WATCHING_BOOKINGS = (BookingStatus.CONFIRMED.value, BookingStatus.ATTENDED.value, BookingStatus.NO_SHOW.value)
DEFAULT_RETENTION_DAYS = 90
# A presigned link lives this long: enough to start playing; seeking later re-asks the page.
LINK_SECONDS = 300
MAX_REASON_LENGTH = 200
# Recordings the retention job deletes per run, so one run stays short.
EXPIRE_BATCH = 100

# Why a recording was deleted (``delete_reason``), as the playback page words it.
REASON_MENTOR = system_texts.DELETED_BY_MENTOR
REASON_RETENTION = system_texts.DELETED_AT_RETENTION
REASON_CANCELLED = system_texts.DELETED_SESSION_CANCELLED


class RecordingGone(DomainError):
    """The recording existed and was deleted: 410 to those who could have watched it."""

    status = 410
    code = "recording_deleted"


# --- who may watch ------------------------------------------------------------------------------


def may_watch(user, session):
    """Whether ``user`` may see ``session``'s recording (see the module docstring)."""
    if session is None or user is None or not getattr(user, "is_authenticated", False):
        return False
    if not user.is_active:
        return False
    if user.is_admin or user.id == session.mentor_id:
        return True
    if db.session.get(RoomRemoval, (session.id, user.id)) is not None:
        return False
    booking_id = db.session.scalar(
        select(Booking.id).where(
            Booking.session_id == session.id,
            Booking.learner_id == user.id,
            Booking.status.in_(WATCHING_BOOKINGS),
        )
    )
    return booking_id is not None


def recording_for(user, session_id):
    """``(session, recording)`` for someone who may watch it, in whatever state it is; NotFound
    for everyone else, and when the session has no recording."""
    session = db.session.get(LearningSession, session_id)
    if not may_watch(user, session):
        raise NotFound(_("No such recording."))
    recording = db.session.scalar(select(Recording).where(Recording.session_id == session_id))
    if recording is None:
        raise NotFound(_("This session was not recorded."))
    return session, recording


def watchable(user, session_id):
    """The ready recording of ``session_id`` that ``user`` may watch now, or None (no access, no
    recording, not ready yet, deleted or expired). For pages linking to the playback page."""
    session = db.session.get(LearningSession, session_id)
    if not may_watch(user, session):
        return None
    recording = db.session.scalar(
        select(Recording).where(
            Recording.session_id == session_id, Recording.status == RecordingStatus.READY.value
        )
    )
    if recording is None or not recording.storage_key or is_expired(recording):
        return None
    return recording


def ready_recording(user, session_id):
    """The recording to play, for its page, its file and the API: NotFound without access or
    while it is not ready; RecordingGone once deleted."""
    _session, recording = recording_for(user, session_id)
    if recording.status == RecordingStatus.DELETED or (recording.is_ready and is_expired(recording)):
        raise RecordingGone(_("This recording was deleted."))
    if not recording.is_ready or not recording.storage_key:
        raise NotFound(_("This recording is not ready yet."))
    return recording


# --- retention ----------------------------------------------------------------------------------


def retention_days():
    return int(current_app.config.get("RECORDING_RETENTION_DAYS", DEFAULT_RETENTION_DAYS))


def expires_at(recording):
    """When retention deletes ``recording``: its ``expires_at``, else RECORDING_RETENTION_DAYS
    after it became ready; None while it is not ready."""
    if recording.expires_at is not None:
        return recording.expires_at
    if recording.ready_at is None:
        return None
    return recording.ready_at + timedelta(days=retention_days())


def is_expired(recording, now=None):
    due = expires_at(recording)
    return due is not None and due <= (now or utcnow())


def delete_expired(now=None):
    """The periodic job: remove the files of ready recordings past their expiry and mark them
    deleted. Safe to run twice, or after a run cut short: a deleted recording is not looked at
    again, and removing a file that is already gone does nothing. A file the storage cannot
    remove now stays ready (past its expiry nobody is shown it) and is tried on the next run.
    Returns how many were deleted."""
    now = now or utcnow()
    ready_before = now - timedelta(days=retention_days())
    due = db.session.scalars(
        select(Recording)
        .where(
            Recording.status == RecordingStatus.READY.value,
            or_(
                Recording.expires_at <= now,
                and_(Recording.expires_at.is_(None), Recording.ready_at <= ready_before),
            ),
        )
        .order_by(Recording.id)
        .limit(EXPIRE_BATCH)
    ).all()
    deleted = 0
    for recording in due:
        try:
            _remove_files(recording)
        except storage.StorageUnavailable:
            log.warning(
                "recording %s expired but its file could not be removed; next run retries", recording.id
            )
            continue
        _mark_deleted(recording, None, REASON_RETENTION, now)
        db.session.commit()
        deleted += 1
    db.session.rollback()  # nothing left to write; ends the read's transaction
    return deleted


# --- deleting -----------------------------------------------------------------------------------


def discard_cancelled(recording, now=None):
    """A cancelled session's recording is never composed: everyone's seat was cancelled and
    refunded, so only the mentor could watch what the learners agreed to share with the class.
    Its raw feeds are removed and the row says why (the caller commits). A recording already
    composed or deleted is left alone: the session was cancelled after it was held."""
    if recording is None or recording.status != RecordingStatus.RECORDING:
        return False
    raw = _raw_folder(recording)
    if raw is not None:
        shutil.rmtree(raw, ignore_errors=True)
    _mark_deleted(recording, None, REASON_CANCELLED, now or utcnow())
    return True


@use_case
def delete(actor, session_id, reason="", origin=None, now=None):
    """The mentor or an admin deletes the recording: its stored file (and any raw feeds left of
    it) are removed and the row says who did it, when and why; audited. Learners cannot.
    A recording still being captured or composed cannot be deleted yet (409): the job would
    write it again."""
    now = now or utcnow()
    session, recording = recording_for(actor, session_id)
    if not actor.is_admin and actor.id != session.mentor_id:
        raise PermissionDenied(_("Only the mentor or an admin can delete this recording."))
    reason = _reason(reason)
    if recording.status == RecordingStatus.DELETED:
        return recording  # a second click of the button: already done
    if recording.status not in (RecordingStatus.READY, RecordingStatus.FAILED):
        raise Conflict(
            _("The recording is still being made. Delete it once it is ready."), code="recording_busy"
        )
    _remove_files(recording)
    why = reason or (REASON_MENTOR if actor.id == session.mentor_id else system_texts.DELETED_BY_ADMIN)
    _mark_deleted(recording, actor, why, now)
    audit.record(
        actor,
        audit.RECORDING_DELETE,
        target_type="session",
        target_id=session.id,
        details={"recording_id": recording.id, "reason": why},
        origin=origin,
    )
    db.session.commit()
    return recording


def retry(actor, session_id):
    """The mentor or an admin has a failed recording composed again from its kept raw feeds
    (``services.recordings.requeue``; 409 unless it failed). Learners cannot (PermissionDenied)."""
    from . import recordings

    session, recording = recording_for(actor, session_id)
    if not actor.is_admin and actor.id != session.mentor_id:
        raise PermissionDenied(_("Only the mentor or an admin can try again."))
    return recordings.requeue(recording.id)


@dataclass(frozen=True)
class CutOut:
    """What ``cut_out`` did for a learner's request to be left out of a recording."""

    recording: Recording
    learner: User
    # "deleted": the composed file mixed them in and was removed; "withdrawn": no file held them
    # yet, and the job composes without them.
    outcome: str


@use_case
def cut_out(admin, session_id, learner_id, note="", origin=None, now=None):
    """An admin acts on a learner's request to be cut out of a session's recording.

    Their consent is recorded as withdrawn, so no composing of this session (a retry of a failed
    job, a later run) puts them in. A composed file cannot be taken apart again: its audio is one
    mix and its picture one image, so when the file exists it is deleted (the raw feeds are gone
    after a successful composing, and without them no version without the learner can be made).
    While the file does not exist yet (being captured, waiting, failed with its feeds kept), the
    withdrawn consent is enough: the composing job leaves out whoever did not consent.
    Audited either way; see docs/recordings.md."""
    now = now or utcnow()
    if not admin.is_admin:
        raise PermissionDenied(_("Only an admin can do this."))
    session, recording = recording_for(admin, session_id)
    learner = db.session.get(User, learner_id)
    if learner is None or learner.id == session.mentor_id or not _was_booked(learner.id, session.id):
        raise ValidationError(_("Choose a learner who had a seat in this session."), code="not_a_participant")
    note = _reason(note)
    if recording.status == RecordingStatus.DELETED:
        raise Conflict(_("This recording is already deleted."), code="recording_deleted")
    if recording.status == RecordingStatus.PROCESSING:
        raise Conflict(
            _("The recording is being composed right now. Try again once it is ready or has failed."),
            code="recording_busy",
        )
    consent = db.session.get(RecordingConsent, (session.id, learner.id))
    if consent is None:
        db.session.add(
            RecordingConsent(session_id=session.id, user_id=learner.id, consented=False, decided_at=now)
        )
    else:
        consent.consented = False
        consent.decided_at = now
    if recording.status == RecordingStatus.READY:
        _remove_files(recording)
        _mark_deleted(recording, admin, f"{learner.name} asked to be cut out", now)
        outcome = "deleted"
    else:
        outcome = "withdrawn"
    audit.record(
        admin,
        audit.RECORDING_CUT_OUT,
        target_type="session",
        target_id=session.id,
        details={"recording_id": recording.id, "learner_id": learner.id, "outcome": outcome, "note": note},
        origin=origin,
    )
    db.session.commit()
    return CutOut(recording, learner, outcome)


def learners_of(session_id):
    """The learners who held a seat in the session, with their recorded consent (True, False, or
    None when they never answered), for the admin's cut-out form."""
    rows = db.session.execute(
        select(User, RecordingConsent.consented)
        .join(Booking, Booking.learner_id == User.id)
        .outerjoin(
            RecordingConsent,
            and_(RecordingConsent.session_id == Booking.session_id, RecordingConsent.user_id == User.id),
        )
        .where(Booking.session_id == session_id, Booking.status.in_(WATCHING_BOOKINGS))
        .order_by(User.name, User.id)
    ).all()
    return [(user, consented) for user, consented in rows]


def _was_booked(learner_id, session_id):
    return (
        db.session.scalar(
            select(Booking.id).where(Booking.session_id == session_id, Booking.learner_id == learner_id)
        )
        is not None
    )


def _reason(text):
    text = " ".join(str(text or "").split())
    if len(text) > MAX_REASON_LENGTH:
        raise ValidationError(
            _("Keep the reason under %(num)s characters.", num=MAX_REASON_LENGTH), code="reason_too_long"
        )
    return text


def _remove_files(recording):
    """Remove the composed file (StorageUnavailable when the storage cannot now) and any raw
    feeds of it still on this machine."""
    if recording.storage_key:
        storage.get_storage().delete(recording.storage_key)
    raw = _raw_folder(recording)
    if raw is not None:
        shutil.rmtree(raw, ignore_errors=True)


def _raw_folder(recording):
    """The recording's raw-feed folder when it is inside RECORDINGS_RAW_DIR, else None (never a
    folder elsewhere, whatever the row says)."""
    root = current_app.config.get("RECORDINGS_RAW_DIR")
    if not recording.raw_dir or not root:
        return None
    root = Path(root).resolve()
    folder = Path(recording.raw_dir)
    folder = (folder if folder.is_absolute() else root / folder).resolve()
    if folder == root or root not in folder.parents or not folder.is_dir():
        return None
    return folder


def _mark_deleted(recording, actor, reason, now):
    recording.status = RecordingStatus.DELETED.value
    recording.deleted_at = now
    recording.deleted_by_id = actor.id if actor is not None else None
    recording.delete_reason = reason[:MAX_REASON_LENGTH]


# --- what the playback page shows ---------------------------------------------------------------


def _spans(recording):
    """The recorded spans as (start, stop) datetimes; an open span ends with the file."""
    spans = []
    for span in recording.spans or []:
        try:
            start = datetime.fromisoformat(span["start"])
            stop = datetime.fromisoformat(span["stop"]) if span.get("stop") else None
        except (KeyError, TypeError, ValueError):
            continue
        # Written as UTC; a stamp without its offset is read as UTC too, never compared naive.
        start = start if start.tzinfo else start.replace(tzinfo=UTC)
        stop = stop if stop is None or stop.tzinfo else stop.replace(tzinfo=UTC)
        spans.append((start, stop))
    return spans


def video_offset_ms(recording, when):
    """Where in the video ``when`` (a wall time) is: the recorded spans before it played one
    after another, plus how far into its own span it is. None when nothing was being recorded
    then (before, between or after the spans)."""
    elapsed = 0
    for start, stop in _spans(recording):
        if stop is None and recording.duration_ms is not None:
            stop = start + timedelta(milliseconds=max(0, recording.duration_ms - elapsed))
        if when < start:
            return None
        if stop is None or when <= stop:
            offset = elapsed + int((when - start).total_seconds() * 1000)
            if recording.duration_ms is not None and offset > recording.duration_ms:
                return None
            return offset
        elapsed += int((stop - start).total_seconds() * 1000)
    return None


def clock(ms):
    """A position in the video as people read it: 4:05, or 1:02:03 past an hour."""
    seconds = max(0, int(ms)) // 1000
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


def chat_marks(recording):
    """The session's chat, each message with where it falls in the video (``offset_ms``, None
    when it was said while nothing was recorded)."""
    messages = db.session.scalars(
        select(ChatMessage).where(ChatMessage.session_id == recording.session_id).order_by(ChatMessage.id)
    ).all()
    return [
        {
            "id": message.id,
            "author": message.user.name,
            "body": message.body,
            "at": message.created_at,
            "offset_ms": offset,
            "clock": clock(offset) if offset is not None else None,
        }
        for message, offset in ((m, video_offset_ms(recording, m.created_at)) for m in messages)
    ]


def chapters(recording):
    """The chapters as ``{"start_ms", "title"}``, in order, within the video."""
    found = []
    for chapter in recording.chapters or []:
        if not isinstance(chapter, dict):
            continue
        start = chapter.get("start_ms")
        if not isinstance(start, int) or start < 0:
            continue
        if recording.duration_ms is not None and start > recording.duration_ms:
            continue
        title = str(chapter.get("title") or "Chapter")[:120]
        found.append({"start_ms": start, "title": title, "clock": clock(start)})
    return sorted(found, key=lambda chapter: chapter["start_ms"])


# --- handing out the file -----------------------------------------------------------------------


@dataclass(frozen=True)
class Delivery:
    """How the media endpoint hands the file over: ``kind`` "file" (``path``, served by the app
    with ranges), "accel" (``path``: nginx serves it from its internal location) or "link"
    (``url``: a short-lived link to the bucket)."""

    kind: str
    content_type: str
    path: Path | None = None
    url: str | None = None
    accel: str | None = None


def media_origin():
    """The origin the browser fetches files from when the storage hands out links (a bucket),
    for the playback page's content security policy; None when the app serves them itself.
    Signing a link is local work: nothing is asked of the bucket."""
    url = storage.get_storage().private_url("recordings/origin", expires_in=LINK_SECONDS)
    if not url:
        return None
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else None


def delivery(recording):
    """How the file of a ready ``recording`` reaches the browser with the app's settings."""
    key = recording.storage_key
    content_type = recording.content_type or storage.content_type_of(key)
    backend = storage.get_storage()
    url = backend.private_url(key, expires_in=LINK_SECONDS)
    if url is not None:
        return Delivery("link", content_type, url=url)
    path = backend.path(key)
    accel = current_app.config.get("RECORDINGS_ACCEL_REDIRECT")
    if accel:
        return Delivery("accel", content_type, path=path, accel=accel.rstrip("/") + "/" + key)
    return Delivery("file", content_type, path=path)
