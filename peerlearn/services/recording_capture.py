"""Recording in the live room: the mentor starts and stops it, each learner chooses whether to be
in it, and the session's end hands what Janus wrote to the composing job.

Only a session whose mentor turned "Record this session" on can be recorded (learners see that
on the session page, at booking and on the pay page, before they pay), and only in a Janus room:
a browser-to-browser room has no server that sees the media.

Who is in the video:
- the mentor, always: they started it (their consent is stored with the first span);
- a learner who answered "be in the recording" (``RecordingConsent.consented``). A learner who
  declined, or has not answered yet, is kept out three ways: the room's ``media:state`` refuses
  their camera, microphone and screen while it records (``publish_refusal``), Janus stops
  forwarding (and so recording) whatever they still send (``keep_out``: a muted stream is
  neither forwarded nor written), and the composing job leaves out everyone without consent.

Each start appends a span ``{"start", "stop": null}`` to the session's one ``Recording`` and
turns Janus's recording of the room on, into ``<RECORDINGS_RAW_DIR>/<session id>``; each stop
closes the span and turns it off. Janus is asked first, in the use case's transaction: when it
refuses, nothing is stored and the mentor hears why. When the session ends (``session_over``),
an open span is closed, Janus stops and the room is destroyed (its files are then complete), and
only then is the composition queued (``services.recordings.queue_composition``). A cancelled
session's recording is stopped the same way and discarded (``session_cancelled``).
"""

import logging
import os
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import lazyload

from ..exceptions import Conflict, MediaUnavailable, NotFound, PermissionDenied
from ..extensions import db
from ..models import LearningSession, MediaMode, Recording, RecordingConsent, RecordingStatus, utcnow
from . import media, recording_library, recordings
from . import room as room_service
from .transactions import use_case

log = logging.getLogger(__name__)

RECORDING = RecordingStatus.RECORDING.value
# What a learner who is not in the recording may not send while it runs.
KINDS = ("audio", "video", "screen")
MESH_REASON = "This room connects browsers directly (no video server), so it can't be recorded."


def _stamp(moment):
    # Milliseconds: the composed file's length is checked against the spans to within a second.
    return moment.isoformat(timespec="milliseconds")


def is_recording(recording):
    """Whether ``recording`` has a span open now."""
    return (
        recording is not None
        and recording.status == RECORDING
        and bool(recording.spans)
        and recording.spans[-1].get("stop") is None
    )


def state_of(recording):
    """``{"recording", "since"}`` as the room shows it: since when the open span runs."""
    if not is_recording(recording):
        return {"recording": False, "since": None}
    return {"recording": True, "since": recording.spans[-1]["start"]}


def recording_of(session_id, *, lock=False):
    query = select(Recording).where(Recording.session_id == session_id)
    if lock:
        # The session is read on its own (a locked outer join is refused by PostgreSQL).
        query = query.options(lazyload(Recording.session)).with_for_update()
    return db.session.scalar(query)


def raw_dir_for(session_id):
    return str(Path(current_app.config["RECORDINGS_RAW_DIR"]) / str(session_id))


def room_state(user, session, mode):
    """The recording part of the ``room:join`` answer: whether this session may be recorded and
    can be here (``available``, else ``reason``), whether it records now and since when, and
    this person's answer (``consent``: True, False, or None when not asked yet; the mentor is
    always in it)."""
    answer = {"enabled": bool(session.recording_enabled), "recording": False, "since": None}
    if not session.recording_enabled:
        return {**answer, "available": False, "reason": "", "consent": None}
    available = mode == MediaMode.JANUS.value
    answer.update(state_of(recording_of(session.id)))
    if user.id == session.mentor_id:
        consent = True
    else:
        row = db.session.get(RecordingConsent, (session.id, user.id))
        consent = None if row is None else row.consented
    return {
        **answer,
        "available": available,
        "reason": "" if available else _(MESH_REASON),
        "consent": consent,
    }


def _mentor_session(user, session_id, now):
    """The session, for its mentor in its room's opening hours."""
    session = room_service.session_for_entry(user, session_id, now)
    if session.mentor_id != user.id:
        raise PermissionDenied(_("Only the mentor can start or stop the recording."), code="mentor_only")
    return session


def _record_consent(session_id, user_id, consented, now):
    row = db.session.get(RecordingConsent, (session_id, user_id))
    if row is None:
        db.session.add(
            RecordingConsent(session_id=session_id, user_id=user_id, consented=consented, decided_at=now)
        )
    elif row.consented != consented:
        row.consented = consented
        row.decided_at = now


@use_case
def start(mentor, session_id, now=None):
    """The mentor starts recording (again): a new span, and Janus records the room. Starting
    while it records changes nothing. Returns the room's recording state."""
    now = now or utcnow()
    session = _mentor_session(mentor, session_id, now)
    if not session.recording_enabled:
        raise Conflict(
            _(
                "Recording is off for this session: turn on “Record this session” in its settings before "
                "anyone books, so learners know before they pay."
            ),
            code="recording_disabled",
        )
    refusal = media.recording_refusal(session_id)
    if refusal is not None:
        raise refusal
    recording = recording_of(session_id, lock=True)
    if recording is None:
        recording = Recording(
            session_id=session_id, status=RECORDING, spans=[], raw_dir=raw_dir_for(session_id)
        )
        db.session.add(recording)
        try:
            db.session.flush()
        except IntegrityError:
            # The same start from another tab or process made it first: use theirs.
            db.session.rollback()
            recording = recording_of(session_id, lock=True)
    if recording.status != RECORDING:
        raise Conflict(
            _("This session's recording is closed: it is being made into a video."), code="recording_closed"
        )
    if is_recording(recording):
        return state_of(recording)
    raw_dir = recording.raw_dir or raw_dir_for(session_id)
    _prepare_raw_dir(raw_dir)
    media.set_recording(session_id, True, raw_dir)  # refused: nothing is stored
    recording.raw_dir = raw_dir
    recording.spans = [*recording.spans, {"start": _stamp(now), "stop": None}]
    _record_consent(session_id, mentor.id, True, now)
    try:
        db.session.commit()
    except Exception:
        db.session.rollback()
        _turn_janus_off(session_id)  # nothing says it records: neither may Janus
        raise
    return state_of(recording)


@use_case
def stop(mentor, session_id, now=None):
    """The mentor stops recording: the open span closes and Janus stops writing. If Janus can't
    be told, the span stays open (the room still shows that it records) and the mentor hears
    why. Stopping when nothing records changes nothing."""
    now = now or utcnow()
    session = db.session.get(LearningSession, session_id)
    if session is None:
        raise NotFound(_("No such session."))
    if session.mentor_id != mentor.id:
        raise PermissionDenied(_("Only the mentor can start or stop the recording."), code="mentor_only")
    recording = recording_of(session_id, lock=True)
    if not is_recording(recording):
        return state_of(recording)
    media.set_recording(session_id, False)
    _close_span(recording, now)
    db.session.commit()
    return state_of(recording)


def _prepare_raw_dir(raw_dir):
    """Make the session's raw-feed folder before Janus writes into it, writable by the app's
    group: in production Janus runs as a user of its own in that group, and the worker, as the
    app's user, removes the feeds once composed (a folder Janus made would be its own). Where
    Janus is on another machine the folder may not be ours to make: Janus makes it there."""
    try:
        Path(raw_dir).mkdir(parents=True, exist_ok=True)
        os.chmod(raw_dir, 0o2770)  # noqa: S103 - the app's group alone (Janus's user is in it)
    except OSError as exc:
        log.warning("could not prepare the recording folder %s (%s); Janus makes it", raw_dir, exc)


def _close_span(recording, now):
    last = dict(recording.spans[-1], stop=_stamp(now))
    recording.spans = [*recording.spans[:-1], last]


def _turn_janus_off(session_id):
    try:
        media.set_recording(session_id, False)
    except MediaUnavailable:
        log.warning("could not stop Janus recording session %s", session_id, exc_info=True)


@use_case
def set_consent(user, session_id, consented, now=None):
    """A participant's answer to "this session is recorded": in the video (camera and microphone
    may be on) or out of it (they stay off while it records). Asked on entering a room that
    records or may record, and whenever recording starts; the latest answer counts. Returns the
    answer with the room's recording state."""
    now = now or utcnow()
    session = room_service.session_for_entry(user, session_id, now)
    if not session.recording_enabled:
        raise Conflict(_("This session is not recorded."), code="recording_disabled")
    if user.id == session.mentor_id:
        if not consented:
            raise Conflict(
                _("You are in the recording you run. Stop the recording to leave it."),
                code="mentor_always_recorded",
            )
        return {"consent": True, **state_of(recording_of(session_id))}
    _record_consent(session_id, user.id, consented, now)
    try:
        db.session.commit()
    except IntegrityError:
        # Two answers at once from two tabs: the other one's row is there now; this one wins.
        db.session.rollback()
        _record_consent(session_id, user.id, consented, now)
        db.session.commit()
    return {"consent": consented, **state_of(recording_of(session_id))}


def consenting_ids(session_id):
    return set(
        db.session.scalars(
            select(RecordingConsent.user_id).where(
                RecordingConsent.session_id == session_id, RecordingConsent.consented.is_(True)
            )
        )
    )


UNANSWERED, DECLINED = "unanswered", "declined"


def exclusion(state):
    """Whether a person with this ``room_state`` is out of a running recording: "unanswered",
    "declined", or None (nothing records, or they are in it). Kept with them in the room's roster
    (``recording_out``), so ``media:state``, a relayed event, decides without the database."""
    if not state["recording"] or state["consent"] is True:
        return None
    return UNANSWERED if state["consent"] is None else DECLINED


def publish_refusal(out):
    """Why someone ``out`` of the running recording (``exclusion``) may not turn a camera,
    microphone or screen on, or None."""
    if out is None:
        return None
    if out == UNANSWERED:
        message = _(
            "This session is being recorded. Choose whether to be in the recording before turning on "
            "your camera, microphone or screen."
        )
    else:
        message = _(
            "This session is being recorded and you chose to stay out of it, so your camera, microphone "
            "and screen stay off. Choose “Be in the recording” to turn them on."
        )
    return PermissionDenied(message, code="recording_consent")


def left_out(session_id, participants):
    """Of the room's ``participants`` (roster entries), the learners not in the recording, each
    with why (``{user_id: "unanswered" | "declined"}``)."""
    answers = dict(
        db.session.execute(
            select(RecordingConsent.user_id, RecordingConsent.consented).where(
                RecordingConsent.session_id == session_id
            )
        ).all()
    )
    return {
        p["user_id"]: UNANSWERED if answers.get(p["user_id"]) is None else DECLINED
        for p in participants
        if p.get("role") != "mentor" and answers.get(p["user_id"]) is not True
    }


def keep_out(session_id, user_ids):
    """Janus stops forwarding, and so recording, what these people still send."""
    for user_id in user_ids:
        media.moderate(session_id, user_id, list(KINDS), mute=True)


def let_in(session_id, participant):
    """Janus forwards this person's media again, except what the mentor holds (a mute, a stopped
    camera) and, in a stage room, everything while they are in the audience."""
    if not participant.get("on_stage", True):
        return
    kinds = [kind for kind in KINDS if not participant.get(f"held_{kind}")]
    if kinds:
        media.moderate(session_id, participant["user_id"], kinds, mute=False)


def session_over(session_id, now=None):
    """After the session's end has committed (``sessions.announce_completed``): close the open
    span and stop Janus's recording, destroy the media room (Janus closes every file), then
    queue the composition. Safe to call twice: a recording already handed on is left alone."""
    now = now or utcnow()
    recording = recording_of(session_id, lock=True)
    if is_recording(recording):
        _turn_janus_off(session_id)  # destroying the room below stops it too
        _close_span(recording, now)
    db.session.commit()
    media.close(session_id)
    if recording is None or recording.status != RECORDING:
        return None
    recordings.queue_composition(recording.id)
    return recording.id


def session_cancelled(session_id, now=None):
    """After a cancellation has committed (``sessions.cancel_session``), live or not: Janus
    stops recording and the room is destroyed, and what it wrote is discarded, not composed
    (``recording_library.discard_cancelled`` says why). Safe to call twice."""
    now = now or utcnow()
    recording = recording_of(session_id, lock=True)
    if is_recording(recording):
        _turn_janus_off(session_id)
        _close_span(recording, now)
    recording_library.discard_cancelled(recording, now)
    db.session.commit()
    media.close(session_id)
