"""The live room's rules: who may enter when, starting and ending a session, attendance and chat.

The mentor may start a session from ROOM_OPENS_MINUTES before its start; the mentor and learners
with a confirmed booking may enter from then until the end plus ROOM_GRACE_MINUTES. Everyone
else is refused, on the page (403) and at the socket. The mentor may end it for everyone from
its start; ending settles it (services.settlement) by the mentor's time in the room.
"""

import base64
import hashlib
import hmac
from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import Integer, Text, insert, literal, or_, select, update

from .. import events
from ..exceptions import Conflict, DomainError, NotFound, PermissionDenied, ValidationError
from ..extensions import db
from ..formats import localtime
from ..models import (
    Attendance,
    Booking,
    BookingStatus,
    ChatMessage,
    LearningSession,
    RoomRemoval,
    SessionStatus,
    User,
    UTCDateTime,
    utcnow,
)
from . import interactions, media, outbox, realtime, settlement

MAX_CHAT_LENGTH = 2000
CHAT_HISTORY = 200


def opens_at(session):
    return session.starts_at - timedelta(minutes=current_app.config["ROOM_OPENS_MINUTES"])


def closes_at(session):
    return session.ends_at + timedelta(minutes=current_app.config["ROOM_GRACE_MINUTES"])


def is_open(session, now=None):
    now = now or utcnow()
    return session.status in (SessionStatus.SCHEDULED, SessionStatus.LIVE) and opens_at(
        session
    ) <= now < closes_at(session)


def has_seat(user, session):
    """The mentor, or a learner holding a confirmed booking."""
    if user.id == session.mentor_id:
        return True
    return (
        db.session.scalar(
            select(Booking.id).where(
                Booking.session_id == session.id,
                Booking.learner_id == user.id,
                Booking.status.in_((BookingStatus.CONFIRMED.value, BookingStatus.ATTENDED.value)),
            )
        )
        is not None
    )


def entry_refusal(user, session, now=None):
    """Why ``user`` may not enter ``session``'s room now, as a domain error, or None."""
    now = now or utcnow()
    if session is None:
        return NotFound(_("No such session."))
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return PermissionDenied(_("Log in to enter the room."), code="authentication_required")
    # Before the seat check: a cancelled session's learners no longer hold a seat, and should
    # hear why the room is closed rather than that they have no seat.
    if session.status == SessionStatus.CANCELLED:
        if session.mentor_present_minutes is not None:  # settled as not held
            return PermissionDenied(
                _("This session has ended. It was not held, so everyone who paid is refunded in full."),
                code="session_ended",
            )
        return PermissionDenied(_("This session was cancelled."), code="session_cancelled")
    if not has_seat(user, session):
        return PermissionDenied(
            _("Only the mentor and learners with a confirmed booking can enter."), code="no_seat"
        )
    if db.session.get(RoomRemoval, (session.id, user.id)) is not None:
        return PermissionDenied(_("The mentor removed you from this session."), code="removed")
    if session.status == SessionStatus.COMPLETED or now >= closes_at(session):
        return PermissionDenied(_("This session has ended."), code="session_ended")
    if now < opens_at(session):
        minutes = current_app.config["ROOM_OPENS_MINUTES"]
        return PermissionDenied(
            _("The room opens %(minutes)s minutes before the start.", minutes=minutes), code="not_open_yet"
        )
    return media.mode_refusal()


def session_for_entry(user, session_id, now=None):
    session = db.session.get(LearningSession, session_id)
    refusal = entry_refusal(user, session, now)
    if refusal is not None:
        raise refusal
    _remember_chat_window(session_id, (session.starts_at, session.duration_minutes))
    return session


def start(mentor, session_id, now=None):
    """The mentor opens the session: it goes live. Booked learners are told in real time."""
    now = now or utcnow()
    session = db.session.get(LearningSession, session_id)
    if session is None or session.mentor_id != mentor.id:
        raise NotFound(_("No such session."))
    if session.status == SessionStatus.LIVE:
        return session
    if session.status != SessionStatus.SCHEDULED:
        raise Conflict(
            _("A %(status)s session can't be started.", status=session.status), code="not_startable"
        )
    if now < opens_at(session):
        minutes = current_app.config["ROOM_OPENS_MINUTES"]
        raise Conflict(
            _("You can start the session from %(minutes)s minutes before its time.", minutes=minutes),
            code="too_early",
        )
    if now >= closes_at(session):
        raise Conflict(_("This session's time has passed."), code="too_late")
    refusal = media.mode_refusal()
    if refusal is not None:
        raise refusal
    won = db.session.execute(
        update(LearningSession)
        .where(LearningSession.id == session.id, LearningSession.status == SessionStatus.SCHEDULED.value)
        .values(status=SessionStatus.LIVE.value, started_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if won:
        events.record(
            "session_started", session, [db.session.get(User, uid) for uid in booked_learner_ids(session.id)]
        )
    db.session.commit()
    db.session.refresh(session)
    if won:
        outbox.dispatch()
        for learner_id in booked_learner_ids(session.id):
            realtime.emit(
                "session:started",
                {"session_id": session.id, "title": session.title},
                room=realtime.user_room(learner_id),
            )
    return session


def end(mentor, session_id, now=None):
    """The mentor ends the session for everyone, from its scheduled start on: it is settled
    (services.settlement) as held (completed) or not held (cancelled, everyone refunded).

    Before the start it is refused: a session nobody can have attended can't be ended as done.
    Ending again, or after the sweep settled it, returns the session as it is.
    """

    now = now or utcnow()
    session = db.session.get(LearningSession, session_id)
    if session is None or session.mentor_id != mentor.id:
        raise NotFound(_("No such session."))
    if session.status == SessionStatus.COMPLETED or settlement.was_not_held(session):
        return session
    if session.status not in (SessionStatus.SCHEDULED, SessionStatus.LIVE):
        raise Conflict(_("A %(status)s session can't be ended.", status=session.status), code="not_endable")
    if now < session.starts_at:
        zone = mentor.timezone
        same_day = localtime(session.starts_at, "%Y%m%d", tz=zone) == localtime(now, "%Y%m%d", tz=zone)
        at = localtime(session.starts_at, " %I:%M %p" if same_day else "%a %d %b, %I:%M %p", tz=zone).strip()
        raise Conflict(
            _(
                "You can end the session once it has started (at %(time)s). To call it off instead, "
                "cancel it from My sessions: everyone who booked is refunded.",
                time=at,
            ),
            code="too_early",
        )
    try:
        outcome = settlement.settle_session(session, now, ended_at=now)
    except DomainError:
        db.session.rollback()  # nothing of the settlement is kept; End or the sweep tries again
        raise
    db.session.commit()
    if outcome is not None:
        outcome.dispatch()
    db.session.refresh(session)
    return session


def booked_learner_ids(session_id):
    return list(
        db.session.scalars(
            select(Booking.learner_id).where(
                Booking.session_id == session_id, Booking.status == BookingStatus.CONFIRMED.value
            )
        )
    )


def record_join(session_id, user_id, connection_id, now=None):
    """Open an attendance stay for this connection, closing any stay the same person left open
    (a reload or a dropped connection: one person is never present twice)."""
    now = now or utcnow()
    db.session.execute(
        update(Attendance)
        .where(
            Attendance.session_id == session_id, Attendance.user_id == user_id, Attendance.left_at.is_(None)
        )
        .values(left_at=now)
        .execution_options(synchronize_session=False)
    )
    stay = Attendance(session_id=session_id, user_id=user_id, joined_at=now, connection_id=connection_id[:64])
    db.session.add(stay)
    interactions.attended(session_id, user_id, now)
    db.session.commit()
    return stay


def record_leave(session_id, user_id, connection_id, now=None):
    """Close this connection's stay. Returns True if it was still open."""
    now = now or utcnow()
    closed = db.session.execute(
        update(Attendance)
        .where(
            Attendance.session_id == session_id,
            Attendance.user_id == user_id,
            Attendance.connection_id == connection_id[:64],
            Attendance.left_at.is_(None),
        )
        .values(left_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    return closed == 1


def check_chat(user, session_id, now=None):
    """Refuse a chat line from ``user``, already in the room, once they may no longer be there;
    return the session's ``(starts_at, duration_minutes)`` when they may.

    Being in the room's roster means they passed session_for_entry at join; what can change
    since is the session ending or being cancelled, its time running out, their seat going and
    the mentor removing them. Those are read in one narrow statement (a chat line is frequent:
    loading the session with its mentor and skills for each would be most of its cost). A
    refusal is explained by session_for_entry, as at the door.
    """
    now = now or utcnow()
    row = db.session.execute(
        select(
            LearningSession.status,
            LearningSession.starts_at,
            LearningSession.duration_minutes,
            LearningSession.mentor_id,
            _booked(session_id, user.id),
            _removed(session_id, user.id),
        ).where(LearningSession.id == session_id)
    ).one_or_none()
    if row is not None:
        status, starts_at, duration_minutes, mentor_id, is_booked, is_removed = row
        window = (starts_at, duration_minutes)
        if (
            status in (SessionStatus.SCHEDULED, SessionStatus.LIVE)
            and (user.id == mentor_id or is_booked)
            and not is_removed
            and _chat_open(window, now)
        ):
            return window
    session_for_entry(user, session_id, now)  # raises the reason
    raise PermissionDenied(_("This session has ended."), code="session_ended")


def _booked(session_id, user_id):
    return (
        select(Booking.id)
        .where(
            Booking.session_id == session_id,
            Booking.learner_id == user_id,
            Booking.status.in_((BookingStatus.CONFIRMED.value, BookingStatus.ATTENDED.value)),
        )
        .exists()
    )


def _removed(session_id, user_id):
    return (
        select(RoomRemoval.user_id)
        .where(RoomRemoval.session_id == session_id, RoomRemoval.user_id == user_id)
        .exists()
    )


def _chat_open(window, now):
    """Whether a session starting at ``starts_at`` for ``duration_minutes`` has its room open."""
    starts_at, duration_minutes = window
    config = current_app.config
    opens = starts_at - timedelta(minutes=config["ROOM_OPENS_MINUTES"])
    closes = starts_at + timedelta(minutes=duration_minutes + config["ROOM_GRACE_MINUTES"])
    return opens <= now < closes


CHAT_WINDOWS_KEPT = 10_000


def _chat_windows():
    """session id -> (starts_at, duration_minutes) as this process last read them, for post_chat;
    each app has its own."""
    return current_app.extensions.setdefault("peerlearn_chat_windows", {})


def _remember_chat_window(session_id, window):
    windows = _chat_windows()
    if len(windows) >= CHAT_WINDOWS_KEPT and session_id not in windows:
        windows.clear()
    windows[session_id] = window


def post_chat(user, session_id, body, now=None):
    """Save ``user``'s chat line in the room of ``session_id`` if they may still post there (the
    rule of check_chat) and return it, detached with every column set; else raise why not.

    The rule and the insert are one statement, ``INSERT … SELECT … WHERE`` the session is open
    to them, and on PostgreSQL it runs as its own transaction (autocommit): one round trip to the
    database, where the session's BEGIN, SELECT, INSERT and COMMIT took four, each a wake-up of
    the server's process and of ours, which on a busy machine was most of a chat line's delay.
    The line is still committed before anyone is sent it.

    Only the time window cannot be written portably in SQL (a timestamp plus a column of
    minutes), so it is checked here on the session's start and duration as this process last
    read them (when someone entered the room, through session_for_entry), and the statement
    inserts only while they are still the session's: a session rescheduled meanwhile inserts
    nothing, and check_chat reads it again (as it does when this process has not read the
    session, and for every refusal, which it explains).
    """
    body = _chat_body(body)
    now = now or utcnow()
    windows = _chat_windows()
    for _attempt in range(2):
        window = windows.get(session_id)
        if window is not None and _chat_open(window, now):
            message_id = _insert_chat_if_allowed(user.id, session_id, body, now, window)
            if message_id is not None:
                return ChatMessage(
                    id=message_id, session_id=session_id, user_id=user.id, body=body, created_at=now
                )
        window = check_chat(user, session_id, now)  # raises why not
        db.session.commit()  # ends the read; the insert is a transaction of its own
        _remember_chat_window(session_id, window)
    # Allowed when read, refused when inserted, twice: the session keeps changing under us.
    raise Conflict(
        _("The session changed while your message was sent. Send it again."), code="session_changed"
    )


def _insert_chat_if_allowed(user_id, session_id, body, now, window):
    """Insert the line if check_chat's rule holds (with the session's times still ``window``);
    its id, or None when nothing was inserted."""
    starts_at, duration_minutes = window
    allowed = select(
        literal(session_id, Integer),
        literal(user_id, Integer),
        literal(body, Text),
        literal(now, UTCDateTime()),
    ).where(
        LearningSession.id == session_id,
        LearningSession.status.in_((SessionStatus.SCHEDULED.value, SessionStatus.LIVE.value)),
        LearningSession.starts_at == starts_at,
        LearningSession.duration_minutes == duration_minutes,
        or_(LearningSession.mentor_id == user_id, _booked(session_id, user_id)),
        ~_removed(session_id, user_id),
    )
    statement = (
        insert(ChatMessage)
        .from_select(["session_id", "user_id", "body", "created_at"], allowed)
        .returning(ChatMessage.id)
    )
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            return connection.scalar(statement)
    # SQLite is in this process (no round trips to save), and its in-memory database, which the
    # tests use, is one connection per thread: a second connection here would be that same one.
    message_id = db.session.scalar(statement)
    db.session.commit()
    return message_id


def _chat_body(body):
    if not isinstance(body, str):
        raise ValidationError(_("A message is text."), code="invalid_payload")
    body = body.strip()
    if not body:
        raise ValidationError(_("Write something first."), code="empty_message")
    if len(body) > MAX_CHAT_LENGTH:
        raise ValidationError(
            _("Keep messages under %(num)s characters.", num=MAX_CHAT_LENGTH), code="message_too_long"
        )
    return body


def add_chat(session_id, user_id, body, now=None):
    """Save a chat message (before anyone sees it) and return it, with no check of who may post
    (post_chat is the room's way in).

    The message comes back detached with every column loaded (not its ``user``), so reading
    it after the commit costs no statement."""
    body = _chat_body(body)
    message = ChatMessage(session_id=session_id, user_id=user_id, body=body, created_at=now or utcnow())
    db.session.add(message)
    db.session.flush()  # the id, from the INSERT itself
    db.session.expunge(message)
    db.session.commit()
    return message


def chat_history(session_id, limit=CHAT_HISTORY):
    messages = db.session.scalars(
        select(ChatMessage)
        .where(ChatMessage.session_id == session_id)
        .order_by(ChatMessage.id.desc())
        .limit(limit)
    ).all()
    return list(reversed(messages))


def remove_participant(mentor, session_id, user_id):
    """The mentor removes someone; they cannot come back to this session's room."""
    session = db.session.get(LearningSession, session_id)
    if session is None or session.mentor_id != mentor.id:
        raise NotFound(_("No such session."))
    if user_id == mentor.id:
        raise Conflict(_("You can't remove yourself."), code="cannot_remove_self")
    if db.session.get(RoomRemoval, (session_id, user_id)) is None:
        db.session.add(RoomRemoval(session_id=session_id, user_id=user_id, removed_by_id=mentor.id))
    record_leave_all(session_id, user_id)
    db.session.commit()


def record_leave_all(session_id, user_id, now=None):
    db.session.execute(
        update(Attendance)
        .where(
            Attendance.session_id == session_id, Attendance.user_id == user_id, Attendance.left_at.is_(None)
        )
        .values(left_at=now or utcnow())
        .execution_options(synchronize_session=False)
    )


def ice_servers(user, now=None):
    """The RTCIceServer list for ``user``: configured servers, plus short-lived TURN credentials
    (coturn's REST API scheme: username "<expiry>:<user id>", credential base64(HMAC-SHA1))."""

    config = current_app.config
    servers = list(config.get("ICE_SERVERS") or [])
    secret, urls = config.get("TURN_SECRET"), config.get("TURN_URLS") or []
    if secret and urls:
        expiry = int((now or utcnow()).timestamp()) + config["TURN_TTL_SECONDS"]
        username = f"{expiry}:{user.id}"
        digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
        servers.append({"urls": urls, "username": username, "credential": base64.b64encode(digest).decode()})
    return servers
