"""The learning record: what happened in a session, kept for the people who were there.

A booking's record (``for_booking``) is what its learner sees on the booking page and through
``GET /api/bookings/<id>/record/``; the session's mentor and admins may read it too. A session's
record (``for_session``) is the mentor's: the same parts, with every learner's attendance. Each
holds:

- attendance: whole minutes each person was in the room within the session's slot, overlapping
  stays counted once (``attendance.seconds_within``, the rule settlement uses);
- the recording: its state, and whether this viewer may watch it (the playback page's rule);
- the chat: every message of the session, oldest first, with who wrote it;
- the shared notes (a Markdown download) and the whiteboard's pages (PNG downloads), when the
  room's documents hold any;
- gifts: only those paid (a pending or failed gift never reached the mentor), and whether their
  payment was refunded since (a session not held refunds them);
- reviews: the learner's review, or whether they may still write one.

Everything is read; nothing here writes. Someone who may not see a record gets NotFound, as if
the booking or session did not exist.
"""

from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import and_, bindparam, or_, select
from sqlalchemy.orm import defaultload, lazyload

from ..exceptions import NotFound
from ..extensions import db
from ..models import (
    Attendance,
    Booking,
    BookingStatus,
    ChatMessage,
    Gift,
    GiftStatus,
    LearningSession,
    Payment,
    PaymentStatus,
    Recording,
    RecordingStatus,
    Review,
    SessionStatus,
    User,
    utcnow,
)
from . import recording_library, reviews, room_documents
from .attendance import seconds_within
from .pagination import paginate

# Bookings that held a seat when the session took place (a no-show held one and stayed away).
SEATED = (BookingStatus.CONFIRMED.value, BookingStatus.ATTENDED.value, BookingStatus.NO_SHOW.value)
HISTORY_LIMIT = 5


@dataclass(frozen=True)
class Presence:
    """One person's time in the room: ``role`` is mentor or learner."""

    user: User
    role: str
    minutes: int
    booking_id: int | None = None


@dataclass(frozen=True)
class RecordingState:
    """The session's recording as this viewer sees it. ``status`` is none (nothing was
    recorded), or the recording's own (recording, pending, processing, ready, failed, deleted);
    ``watchable``: this viewer may watch it now; ``page``: the playback page has something to
    show them (the video, or how its preparation is going)."""

    status: str
    watchable: bool = False
    page: bool = False
    duration_ms: int | None = None
    ready_at: datetime | None = None
    expires_at: datetime | None = None


@dataclass(frozen=True)
class Documents:
    """What the room's shared notes and whiteboard hold: ``available`` is False where they are
    not read (the session has not ended, or the viewer may not download them);
    ``whiteboard_pages``: the numbers of the pages with something drawn on them."""

    available: bool
    has_notes: bool = False
    whiteboard_pages: tuple[int, ...] = ()


@dataclass(frozen=True)
class GiftLine:
    gift: Gift
    refunded: bool


@dataclass(frozen=True)
class LearnerRow:
    presence: Presence
    status: str | None
    gifts_paise: int
    review: Review | None


@dataclass
class Record:
    """What happened in ``session``. ``booking`` is the learner's booking for a booking's record,
    None for the mentor's session record. ``ended``: the session is over, so there is something
    to show (it may still be live, or not have started)."""

    session: LearningSession
    viewer_role: str  # learner, mentor or admin
    ended: bool
    booking: Booking | None
    presence: list[Presence]
    recording: RecordingState
    chat: list[ChatMessage]
    documents: Documents
    gifts: list[GiftLine]
    reviews: list[Review]
    can_review: bool = False
    bookings: list[Booking] = field(default_factory=list)

    @property
    def gifts_paise(self):
        """The paid gifts' total, refunded ones left out."""
        return sum(line.gift.amount_paise for line in self.gifts if not line.refunded)

    @property
    def review(self):
        """A booking's record's review, or None (the mentor's record lists all of them)."""
        return self.reviews[0] if self.booking is not None and self.reviews else None

    def minutes_of(self, user_id):
        return next((p.minutes for p in self.presence if p.user.id == user_id), 0)

    def learners(self):
        """The session record's table: per learner, their presence, booking status, the gifts
        they paid (refunded ones left out) and their review."""
        status = {booking.learner_id: booking.status for booking in self.bookings}
        review = {review.learner_id: review for review in self.reviews}
        gifts = {}
        for line in self.gifts:
            if not line.refunded:
                gifts[line.gift.sender_id] = gifts.get(line.gift.sender_id, 0) + line.gift.amount_paise
        return [
            LearnerRow(p, status.get(p.user.id), gifts.get(p.user.id, 0), review.get(p.user.id))
            for p in self.presence
            if p.role == "learner"
        ]


def has_ended(session, now=None):
    """Whether ``session`` is over, so its record has something to show: completed, settled as
    not held, or past the end of its slot (the sweep completes it soon after)."""
    now = now or utcnow()
    if session.status == SessionStatus.COMPLETED:
        return True
    if session.status == SessionStatus.CANCELLED:
        return session.mentor_present_minutes is not None  # settled as not held
    return session.status != SessionStatus.DRAFT and now >= session.ends_at


def held_a_seat(booking):
    """The booking held a seat when the session took place: seated, or cancelled by the
    session's settlement as not held (a learner can cancel only before the start)."""
    if booking.status in SEATED:
        return True
    session = booking.session
    return (
        booking.status == BookingStatus.CANCELLED
        and booking.confirmed_at is not None
        and session.mentor_present_minutes is not None
        and booking.cancelled_at is not None
        and booking.cancelled_at >= session.starts_at
    )


def _role(user, session, booking=None):
    if booking is not None and user.id == booking.learner_id:
        return "learner"
    if user.id == session.mentor_id:
        return "mentor"
    if user.is_admin:
        return "admin"
    return None


def for_booking(user, booking_id, now=None):
    """The record of one booking, for its learner, the session's mentor or an admin; anyone else
    gets NotFound. A booking that held no seat (cancelled before the start) shows its
    attendance and review only: the room's chat, recording and documents are for those who had
    a place in it."""
    now = now or utcnow()
    booking = db.session.get(Booking, booking_id)
    role = _role(user, booking.session, booking) if booking is not None else None
    if role is None:
        raise NotFound(_("No such booking."))
    session = booking.session
    ended = has_ended(session, now)
    shared = held_a_seat(booking) or role != "learner"
    people = {session.mentor_id: "mentor", booking.learner_id: "learner"}
    presence = _presence(session, people, {booking.learner_id: booking.id}, now)
    reviews = list(db.session.scalars(select(Review).where(Review.booking_id == booking.id)))
    return Record(
        session=session,
        viewer_role=role,
        ended=ended,
        booking=booking,
        presence=presence,
        recording=_recording(user, session) if shared else RecordingState("none"),
        chat=_chat(session.id) if shared else [],
        documents=_documents(user, session.id) if shared and ended else Documents(False),
        gifts=_gifts(session.id, sender_id=booking.learner_id),
        reviews=reviews,
        can_review=role == "learner" and not reviews and ended and _may_review(user, session, now),
    )


def for_session(user, session_id, now=None):
    """The mentor's record of their session, with every learner who held a seat in it; for the
    session's mentor or an admin, NotFound for anyone else (and for a draft)."""
    now = now or utcnow()
    session = db.session.get(LearningSession, session_id)
    role = _role(user, session) if session is not None and session.status != SessionStatus.DRAFT else None
    if role is None:
        raise NotFound(_("No such session."))
    # Each booking's session is this one, found in the identity map rather than loaded again.
    bookings = [
        booking
        for booking in db.session.scalars(
            select(Booking)
            .where(
                Booking.session_id == session.id,
                or_(Booking.status.in_(SEATED), Booking.confirmed_at.is_not(None)),
            )
            .options(defaultload(Booking.learner).lazyload(User.skills), lazyload(Booking.session))
            .order_by(Booking.id)
        )
        if held_a_seat(booking)
    ]
    people = {session.mentor_id: "mentor"} | {booking.learner_id: "learner" for booking in bookings}
    booking_of = {booking.learner_id: booking.id for booking in bookings}
    ended = has_ended(session, now)
    return Record(
        session=session,
        viewer_role=role,
        ended=ended,
        booking=None,
        presence=_presence(session, people, booking_of, now),
        recording=_recording(user, session),
        chat=_chat(session.id),
        documents=_documents(user, session.id) if ended else Documents(False),
        gifts=_gifts(session.id),
        reviews=list(
            db.session.scalars(select(Review).where(Review.session_id == session.id).order_by(Review.id))
        ),
        bookings=bookings,
    )


def _presence(session, people, booking_of, now):
    """Minutes within the slot for each of ``people`` ({user id: role}), the mentor first, then
    the learners by name; stays are read in one statement."""
    stays = {}
    for user_id, joined, left in db.session.execute(
        select(Attendance.user_id, Attendance.joined_at, Attendance.left_at)
        .where(Attendance.session_id == session.id, Attendance.user_id.in_(list(people)))
        .order_by(Attendance.user_id, Attendance.joined_at, Attendance.id)
    ):
        stays.setdefault(user_id, []).append((joined, left))
    users = {
        user.id: user
        for user in db.session.scalars(
            select(User).where(User.id.in_(list(people))).options(lazyload(User.skills))
        )
    }
    rows = [
        Presence(
            user=users[user_id],
            role=role,
            minutes=int(
                seconds_within(stays.get(user_id, []), session.starts_at, session.ends_at, now) // 60
            ),
            booking_id=booking_of.get(user_id),
        )
        for user_id, role in people.items()
        if user_id in users
    ]
    return sorted(rows, key=lambda p: (p.role != "mentor", p.user.name.lower(), p.user.id))


def _minutes(stays, session, now):
    return int(seconds_within(stays, session.starts_at, session.ends_at, now) // 60)


def _chat(session_id):
    return list(
        db.session.scalars(
            select(ChatMessage)
            .where(ChatMessage.session_id == session_id)
            .order_by(ChatMessage.created_at, ChatMessage.id)
        )
    )


def _gifts(session_id, sender_id=None):
    """Paid gifts of the session (of ``sender_id`` alone when given), oldest first, each with
    whether its payment has been refunded in full since."""
    query = (
        select(Gift, Payment.status)
        .outerjoin(Payment, Payment.id == Gift.payment_id)
        .where(Gift.session_id == session_id, Gift.status == GiftStatus.PAID.value)
        .order_by(Gift.paid_at, Gift.id)
    )
    if sender_id is not None:
        query = query.where(Gift.sender_id == sender_id)
    return [
        GiftLine(gift, refunded=status == PaymentStatus.REFUNDED.value)
        for gift, status in db.session.execute(query)
    ]


def _recording(user, session):
    """The recording's state as ``user`` sees it; who may watch is recording_library's rule. A
    ready recording past its retention reads as deleted (the retention job removes it soon)."""
    recording = db.session.scalar(select(Recording).where(Recording.session_id == session.id))
    if recording is None:
        return RecordingState("none")
    status = recording.status
    if status == RecordingStatus.READY.value and recording_library.is_expired(recording):
        status = RecordingStatus.DELETED.value
    may_watch = recording_library.may_watch(user, session)
    ready = status == RecordingStatus.READY.value
    return RecordingState(
        status,
        watchable=ready and recording_library.watchable(user, session.id) is not None,
        page=may_watch and status != RecordingStatus.DELETED.value,
        duration_ms=recording.duration_ms,
        ready_at=recording.ready_at,
        expires_at=recording_library.expires_at(recording) if ready else None,
    )


def _documents(user, session_id):
    """The room's notes, when they hold any text, and its whiteboard pages with something drawn
    on them (counted from 1, as their downloads are), for someone who may download them
    (services.room_documents' rule, so no link here leads to a 404)."""
    try:
        room_documents.readable_session(user, session_id)
    except NotFound:
        return Documents(False)
    notes = room_documents.notes_markdown(session_id)
    pages = tuple(
        page
        for page in range(1, room_documents.whiteboard_page_count(session_id) + 1)
        if room_documents.whiteboard_shapes(session_id, page)
    )
    return Documents(True, has_notes=bool(notes.strip()), whiteboard_pages=pages)


def _may_review(user, session, now):
    return reviews.eligibility(user, session, now).allowed


# --- Session history --------------------------------------------------------------------------


def _history_query(learner_id):
    """A learner's bookings in sessions that are over, latest first: held ones, and those
    settled as not held while the learner held a seat."""
    settled_not_held = and_(
        LearningSession.status == SessionStatus.CANCELLED.value,
        LearningSession.mentor_present_minutes.is_not(None),
        Booking.status == BookingStatus.CANCELLED.value,
        Booking.confirmed_at.is_not(None),
        Booking.cancelled_at >= LearningSession.starts_at,
    )
    return (
        select(Booking)
        .join(LearningSession, LearningSession.id == Booking.session_id)
        .where(
            Booking.learner_id == learner_id,
            or_(
                and_(LearningSession.status == SessionStatus.COMPLETED.value, Booking.status.in_(SEATED)),
                settled_not_held,
            ),
        )
        .options(
            defaultload(Booking.session).lazyload(LearningSession.skills),
            defaultload(Booking.session).defaultload(LearningSession.mentor).lazyload(User.skills),
            lazyload(Booking.learner),
        )
        .order_by(LearningSession.starts_at.desc(), Booking.id.desc())
    )


_STATEMENTS = {}


def _statement(key, build):
    """Built once: a prebuilt statement keeps its cache key, which saves the dashboard the CPU of
    building it on every request (see services.dashboards)."""
    statement = _STATEMENTS.get(key)
    if statement is None:
        statement = _STATEMENTS[key] = build()
    return statement


def recent_history(learner, limit=HISTORY_LIMIT):
    """The learner's latest ``limit`` past bookings , and whether there are
    more, in one statement: the dashboard's "Session history"."""
    statement = _statement(
        ("history", limit), lambda: _history_query(bindparam("learner_id")).limit(limit + 1)
    )
    bookings = list(db.session.scalars(statement, {"learner_id": learner.id}).unique())
    return bookings[:limit], len(bookings) > limit


def history_page(learner, *, page, per_page):
    """One page (services.pagination) of the learner's past bookings, latest first."""
    return paginate(_history_query(learner.id), page=page, per_page=per_page)
