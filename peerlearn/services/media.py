"""How a live room carries audio and video, and the media server's side of the room's rules.

Two ways, chosen per room when it first opens and kept for that session:

- ``janus``: every participant sends one stream (with simulcast layers) to a Janus VideoRoom room
  and receives what they look at. The app creates the room on the least loaded instance, and only
  the people the room service lets in get the tokens Janus asks for: a core token lasting the
  session plus its grace, and a room token for one join within a minute, which the app also adds
  to the room's list of allowed tokens (so a removed person's tokens can be taken back at once).
- ``mesh``: browser to browser, every camera to everyone; fine for a few people.

Rooms for more people than ROOM_STAGE_THRESHOLD (by confirmed bookings, the mentor included) run
as a *stage*: learners join with camera and microphone off, and publish only while the mentor has
them on stage. A mesh room is a stage above MESH_MAX_CAMERAS, so it never carries more cameras.

Janus participant ids ("feeds") are derived from user ids: ``user_id * 10 + 1`` for the camera and
microphone, ``user_id * 10 + 2`` for a screen share. The room page publishes its camera feed as
audio first (mid "0") and video second (mid "1"), and a screen share as video (mid "0"), which is
what moderation addresses.
"""

import logging
import secrets
import time
from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from ..exceptions import Conflict, MediaUnavailable
from ..extensions import db
from ..media import tokens
from ..media.janus import (
    NO_SUCH_ROOM,
    ROOM_EXISTS,
    Instance,
    Janus,
    JanusError,
    JanusUnavailable,
)
from ..models import (
    Booking,
    BookingStatus,
    LearningSession,
    MediaMode,
    MediaRoom,
    Recording,
    RecordingStatus,
    SessionStatus,
    utcnow,
)

log = logging.getLogger(__name__)

CAMERA, SCREEN = "camera", "screen"
FEED_KINDS = {CAMERA: 1, SCREEN: 2}
FEED_BASE = 10
# Which mids of which feed carry a kind of media, as the room page publishes them.
MIDS = {"audio": ((CAMERA, "0"),), "video": ((CAMERA, "1"),), "screen": ((SCREEN, "0"),)}
# After the room closes (end plus grace), a core token stays valid this long, so nobody is cut
# off mid-word by the clock.
CORE_TOKEN_MARGIN = timedelta(minutes=5)


def feed_id(user_id, kind=CAMERA):
    return user_id * FEED_BASE + FEED_KINDS[kind]


# ----- configuration ---------------------------------------------------------------------------


def configured_mode():
    """The mode a room opening now gets: "janus", "mesh", or None when none is allowed (a
    production install without Janus and without ALLOW_MESH_ROOMS)."""
    config = current_app.config
    if config["ROOM_MEDIA"] != "mesh" and config["JANUS_INSTANCES"]:
        return MediaMode.JANUS.value
    if config["ALLOW_MESH_ROOMS"]:
        return MediaMode.MESH.value
    return None


def mode_refusal():
    """Why no room can open on this install, as a domain error, or None."""
    if configured_mode() is None:
        return MediaUnavailable(
            _("Live rooms need the Janus media server, which this site has not configured yet."),
            code="media_not_configured",
        )
    return None


def instances():
    return [Instance.from_config(item) for item in current_app.config["JANUS_INSTANCES"]]


def client(instance):
    config = current_app.config
    return Janus(
        instance,
        token_secret=config["JANUS_TOKEN_SECRET"],
        admin_secret=config["JANUS_ADMIN_SECRET"],
        admin_key=config["JANUS_ADMIN_KEY"],
        timeout=config["JANUS_TIMEOUT_SECONDS"],
    )


def _client_for(name):
    for instance in instances():
        if instance.name == name:
            return client(instance)
    return None


def least_loaded(exclude=()):
    """The reachable instance with the fewest participants (Janus's own count), or None."""
    best = None
    for instance in instances():
        if instance.name in exclude:
            continue
        try:
            load = client(instance).load()
        except JanusError as exc:
            log.warning("Janus %s left out of room placement: %s", instance.name, exc)
            continue
        if best is None or load < best[0]:
            best = (load, instance)
    return best[1] if best else None


# ----- the room's media record ------------------------------------------------------------------


def stage_cap(room):
    """How many people (mentor included) may publish at once in this room."""
    config = current_app.config
    if room.mode == MediaMode.MESH.value:
        return config["MESH_MAX_CAMERAS"]
    return config["ROOM_STAGE_THRESHOLD"]


def expected_people(session_id):
    """The mentor plus learners holding a confirmed (or attended) booking."""
    learners = db.session.scalar(
        select(func.count(Booking.id)).where(
            Booking.session_id == session_id,
            Booking.status.in_((BookingStatus.CONFIRMED.value, BookingStatus.ATTENDED.value)),
        )
    )
    return learners + 1


def needs_stage(mode, session_id):
    config = current_app.config
    limit = config["MESH_MAX_CAMERAS"] if mode == MediaMode.MESH.value else config["ROOM_STAGE_THRESHOLD"]
    return expected_people(session_id) > limit


def open_room(session):
    """The session's media record, made the first time anyone enters (with Janus: its VideoRoom
    room created on the least loaded reachable instance, and made again if the record says it was
    closed). Whether Janus still has the room is learnt when the next token goes into it
    (``_grant``), so an ordinary join costs one Janus session, not two."""
    room = db.session.get(MediaRoom, session.id)
    created = False
    if room is None:
        mode = configured_mode()
        if mode is None:
            raise mode_refusal()
        room = MediaRoom(session_id=session.id, mode=mode, stage=needs_stage(mode, session.id))
        if mode == MediaMode.JANUS.value:
            _place(room)
        db.session.add(room)
        try:
            db.session.commit()
            created = True
        except IntegrityError:
            # Someone else opened it at the same moment: theirs is the room.
            db.session.rollback()
            room = db.session.get(MediaRoom, session.id)
    elif not room.stage and needs_stage(room.mode, session.id):
        # More people booked since it opened; a stage never becomes open again mid-session.
        room.stage = True
        db.session.commit()
    if room.mode == MediaMode.JANUS.value and (created or room.closed_at is not None):
        _ensure_janus_room(room, session)
    return room


def _place(room, exclude=()):
    instance = least_loaded(exclude=exclude)
    if instance is None:
        raise MediaUnavailable(_("The video server can't be reached right now. Try again in a moment."))
    room.instance = instance.name
    room.janus_room = secrets.randbelow(2**52 - 1) + 1
    room.secret = secrets.token_urlsafe(24)
    room.closed_at = None


def _create_janus_room(janus, room, session):
    config = current_app.config
    capacity = session.capacity + 1
    try:
        janus.create_room(
            room.janus_room,
            secret=room.secret,
            description=f"PeerLearn session {session.id}",  # i18n: not text
            # Everyone joins as a possible publisher (a camera feed and a screen feed each).
            publishers=max(2 * capacity, 4),
            bitrate=config["JANUS_BITRATE"],
            # Made again (Janus restarted, or another instance) while the mentor records: it
            # goes on recording into the same folder.
            rec_dir=_recording_into(session.id),
        )
    except JanusError as exc:
        if exc.code != ROOM_EXISTS:
            raise


def _ensure_janus_room(room, session):
    janus = _client_for(room.instance)
    try:
        if janus is None:
            raise JanusUnavailable(f"instance {room.instance} is no longer configured")
        if room.closed_at is not None or not janus.room_exists(room.janus_room):
            _create_janus_room(janus, room, session)
            if room.closed_at is not None:
                room.closed_at = None
                db.session.commit()
        return
    except JanusUnavailable as exc:
        log.warning(
            "Janus %s is unavailable for session %s (%s); moving the room", room.instance, session.id, exc
        )
        gone = room.instance
    # Its instance is gone: the room starts again on another.
    _place(room, exclude=(gone,))
    db.session.commit()
    try:
        _create_janus_room(_client_for(room.instance), room, session)
    except JanusError as exc:
        raise MediaUnavailable(
            _("The video server can't be reached right now. Try again in a moment.")
        ) from exc


def room_for(session_id):
    return db.session.get(MediaRoom, session_id)


# ----- recording ----------------------------------------------------------------------------------


def _recording_into(session_id):
    """The folder Janus records this session's room into while a span is open, else None."""
    recording = db.session.scalar(
        select(Recording).where(
            Recording.session_id == session_id, Recording.status == RecordingStatus.RECORDING.value
        )
    )
    if recording is None or not recording.spans or recording.spans[-1].get("stop") is not None:
        return None
    return recording.raw_dir


def recording_refusal(session_id):
    """Why this session's room can't be recorded now, as a domain error, or None. Only Janus
    records: a browser-to-browser room has no server that sees the media."""
    room = room_for(session_id)
    if room is None or room.closed_at is not None:
        return Conflict(_("Open the room first: recording starts from inside it."), code="room_not_open")
    if room.mode != MediaMode.JANUS.value:
        return Conflict(
            _("This room connects browsers directly (no video server), so it can't be recorded."),
            code="recording_unavailable",
        )
    return None


def set_recording(session_id, record, rec_dir=None):
    """Start (into ``rec_dir``) or stop Janus's recording of the session's room. Raises
    MediaUnavailable when Janus can't be reached or refuses; a room already closed is left alone
    (closing it ended its recording)."""
    room, janus = _janus_room(session_id)
    if janus is None:
        if record:
            raise recording_refusal(session_id) or MediaUnavailable(
                _("The video server can't be reached right now. Try again in a moment.")
            )
        return False
    try:
        janus.set_recording(room.janus_room, secret=room.secret, record=record, rec_dir=rec_dir)
    except JanusError as exc:
        log.warning(
            "Janus did not %s recording session %s: %s", "start" if record else "stop", session_id, exc
        )
        raise MediaUnavailable(
            _("The video server could not start recording. Try again in a moment.")
            if record
            else _("The video server could not stop recording. Try again in a moment.")
        ) from exc
    return True


# ----- joining ----------------------------------------------------------------------------------


def join_answer(user, session, *, closes_at, resume=False):
    """What a participant's page needs to send and receive media, for the ``room:join`` ack.

    ``closes_at`` is when the room closes (the core token lasts until a little after). A fresh
    page (not ``resume``) replaces whatever this person left in the Janus room (a reload,
    another tab): their old feeds are kicked before they join again, so nobody sees a ghost.
    """
    room = open_room(session)
    answer = {"mode": room.mode, "stage": room.stage, "stage_cap": stage_cap(room)}
    if room.mode == MediaMode.MESH.value:
        return answer
    token = _grant(room, session, user.id, kick=not resume)
    config = current_app.config
    core_expiry = (closes_at + CORE_TOKEN_MARGIN).timestamp()
    answer.update(
        server=_client_for(room.instance).instance.public,
        core_token=tokens.core_token(config["JANUS_TOKEN_SECRET"], core_expiry),
        room=room.janus_room,
        room_token=token,
        feeds={CAMERA: feed_id(user.id, CAMERA), SCREEN: feed_id(user.id, SCREEN)},
        feed_base=FEED_BASE,
    )
    return answer


def room_token(user, session):
    """A fresh room token, for a screen share or a subscription."""
    room = room_for(session.id)
    if room is None or room.mode != MediaMode.JANUS.value:
        raise Conflict(_("This room does not use the video server."), code="not_janus")
    return _grant(room, session, user.id, kick=False)


class _RoomGone(Exception):
    """Janus does not have the room (it restarted, or the room was destroyed meanwhile)."""


def _grant(room, session, user_id, *, kick):
    """A room token for ``user_id``, added to the room's allowed list (and their old feeds kicked
    when ``kick``). If Janus lost the room, or its instance is gone, the room is made again (on
    another instance if need be) and the token is issued there."""
    try:
        return _issue_room_token(room, user_id, kick=kick)
    except (JanusUnavailable, _RoomGone) as exc:
        log.info("the Janus room of session %s needs making again: %s", session.id, exc)
    _ensure_janus_room(room, session)
    try:
        return _issue_room_token(room, user_id, kick=kick)
    except (JanusError, _RoomGone) as exc:
        raise MediaUnavailable(
            _("The video server can't be reached right now. Try again in a moment.")
        ) from exc


def _issue_room_token(room, user_id, *, kick):
    janus = _client_for(room.instance)
    if janus is None:
        raise JanusUnavailable(f"instance {room.instance} is no longer configured")
    config = current_app.config
    expiry = tokens.room_token_expiry(time.time(), config["JANUS_ROOM_TOKEN_SECONDS"])
    token = tokens.room_token(config["JANUS_TOKEN_SECRET"], room.janus_room, user_id, expiry)
    kick = [feed_id(user_id, kind) for kind in FEED_KINDS] if kick else ()
    try:
        janus.update_access(room.janus_room, secret=room.secret, allow=[token], kick=kick)
    except JanusUnavailable:
        raise
    except JanusError as exc:
        if exc.code == NO_SUCH_ROOM:
            raise _RoomGone(str(exc)) from exc
        raise MediaUnavailable(
            _("The video server refused the room's token. Try again in a moment.")
        ) from exc
    return token


# ----- the mentor's controls on the media server ------------------------------------------------


def _janus_room(session_id):
    room = room_for(session_id)
    if room is None or room.mode != MediaMode.JANUS.value or room.closed_at is not None:
        return None, None
    return room, _client_for(room.instance)


def remove(session_id, user_id):
    """Cut a removed participant off: their feeds are kicked (their media stops, their
    subscriptions go dark) and every room token they may still hold is taken back, so Janus
    refuses them even before the tokens expire."""
    room, janus = _janus_room(session_id)
    if janus is None:
        return False
    config = current_app.config
    revoked = tokens.live_room_tokens(
        config["JANUS_TOKEN_SECRET"],
        room.janus_room,
        user_id,
        time.time(),
        config["JANUS_ROOM_TOKEN_SECONDS"],
    )
    feeds = [feed_id(user_id, kind) for kind in FEED_KINDS]
    try:
        janus.update_access(room.janus_room, secret=room.secret, revoke=revoked, kick=feeds)
    except JanusError:
        log.warning(
            "could not remove user %s from the Janus room of session %s", user_id, session_id, exc_info=True
        )
        return False
    return True


def moderate(session_id, user_id, kinds, *, mute):
    """Stop (``mute``) or resume forwarding someone's audio, video and/or screen at Janus.
    Streams they do not publish are skipped. True if Janus took it."""
    room, janus = _janus_room(session_id)
    if janus is None:
        return False
    streams = [(feed_id(user_id, feed_kind), mid) for kind in kinds for feed_kind, mid in MIDS[kind]]
    try:
        janus.moderate(room.janus_room, secret=room.secret, streams=streams, mute=mute)
    except JanusError:
        log.warning("could not moderate user %s in session %s", user_id, session_id, exc_info=True)
        return False
    return True


def close(session_id, now=None):
    """The session is over: destroy its Janus room (everyone still in it is dropped)."""
    room = room_for(session_id)
    if room is None or room.closed_at is not None:
        return False
    if room.mode == MediaMode.JANUS.value:
        janus = _client_for(room.instance)
        try:
            if janus is not None:
                janus.destroy_room(room.janus_room, secret=room.secret)
        except JanusError:
            log.warning(
                "could not destroy the Janus room of session %s; the sweep retries", session_id, exc_info=True
            )
            return False
    room.closed_at = now or utcnow()
    db.session.commit()
    return True


def close_finished_rooms(now=None):
    """Destroy the media rooms of sessions that ended or were cancelled (the periodic sweep)."""
    finished = db.session.scalars(
        select(MediaRoom.session_id)
        .join(LearningSession, LearningSession.id == MediaRoom.session_id)
        .where(
            MediaRoom.closed_at.is_(None),
            LearningSession.status.in_((SessionStatus.COMPLETED.value, SessionStatus.CANCELLED.value)),
        )
    ).all()
    return sum(1 for session_id in finished if close(session_id, now))
