"""Waitlists: a line of learners for a full session, and each freed seat offered to the first.

Joining takes the session's row lock (``booking.lock_session``) and checks under it that the
session is full, so nobody joins a line while a seat stands free. Every path that frees a seat
(a booking cancelled, a hold expired, more seats) records ``seat_freed`` in its own transaction
with the session's row locked; ``seat_freed`` then hands the freed seats to the line, first
joined first: for each, one conditional ``UPDATE`` takes the seat (``booking.take_seat``) and a
``pending_payment`` booking holds it for the learner for ``WAITLIST_CLAIM_MINUTES``, never past
the start. The lock makes the offers strictly ordered and the partial unique index on open entries
and the unique ``booking_id`` keep a seat from being offered twice: two seats freed at once go to
the first two in line, whatever order the two transactions commit in.

The learner claims the seat by paying the hold through the normal pay flow (``booking_confirmed``
marks the entry claimed). A hold that lapses expires with the other holds (``booking.expire_holds``,
which frees its seat again): the entry is ``passed`` and the seat goes to the next in line. A free
session has nothing to pay: its freed seat is confirmed for the first in line at once (they can
cancel it as any free booking).
"""

from datetime import timedelta

from flask import current_app, url_for
from flask_babel import gettext as _
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from .. import events, i18n, system_texts
from ..exceptions import Conflict, NotFound, PermissionDenied
from ..extensions import db
from ..formats import localtime
from ..links import external_url
from ..models import (
    OPEN_WAITLIST_STATUSES,
    Booking,
    BookingStatus,
    LearningSession,
    NotificationKind,
    SessionStatus,
    WaitlistEntry,
    WaitlistStatus,
    utcnow,
)
from . import booking as booking_service
from . import interactions, notifications
from .notifications.email import Email
from .sessions import viewable_session
from .transactions import use_case


def ordinal(number):
    """1st, 2nd, 3rd, 4th, ... 11th, 12th, 13th, 21st in English; the plain number in other
    languages, whose sentences are worded around it."""
    if i18n.current_language() != i18n.DEFAULT_LANGUAGE:
        return str(number)
    teens = 10 <= number % 100 <= 20
    suffix = "th" if teens else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"


# ---------------------------------------------------------------------------- reading


def open_entry(session_id, learner_id):
    """The learner's waiting or offered entry in the session's line, or None."""
    return db.session.scalar(
        select(WaitlistEntry).where(
            WaitlistEntry.session_id == session_id,
            WaitlistEntry.learner_id == learner_id,
            WaitlistEntry.status.in_(OPEN_WAITLIST_STATUSES),
        )
    )


def position(entry):
    """Where a waiting entry stands in its line (1 is next), or None when it is not waiting."""
    if entry is None or entry.status != WaitlistStatus.WAITING:
        return None
    return db.session.scalar(
        select(func.count(WaitlistEntry.id)).where(
            WaitlistEntry.session_id == entry.session_id,
            WaitlistEntry.status == WaitlistStatus.WAITING.value,
            WaitlistEntry.id <= entry.id,
        )
    )


def waiting_count(session_id):
    """How many learners wait in the session's line."""
    return db.session.scalar(
        select(func.count(WaitlistEntry.id)).where(
            WaitlistEntry.session_id == session_id,
            WaitlistEntry.status == WaitlistStatus.WAITING.value,
        )
    )


def waiting_counts(session_ids):
    """{session id: learners waiting} for the sessions that have any (a mentor's dashboard)."""
    if not session_ids:
        return {}
    rows = db.session.execute(
        select(WaitlistEntry.session_id, func.count(WaitlistEntry.id))
        .where(
            WaitlistEntry.session_id.in_(list(session_ids)),
            WaitlistEntry.status == WaitlistStatus.WAITING.value,
        )
        .group_by(WaitlistEntry.session_id)
    ).all()
    return dict(rows)


def status(learner, session_id):
    """What the learner's place in the session's line is, for the page and the API (a session
    they may not see is not found)."""
    viewable_session(learner, session_id)
    entry = open_entry(session_id, learner.id)
    place = position(entry)
    return {
        "session_id": session_id,
        "status": entry.status if entry is not None else None,
        "position": place,
        "position_text": _("You're %(place)s in line", place=ordinal(place)) if place else "",
        "waiting": waiting_count(session_id),
        "booking_id": entry.booking_id if entry is not None else None,
        "offer_expires_at": entry.offer_expires_at if entry is not None else None,
        "joined_at": entry.created_at if entry is not None else None,
    }


def for_page(viewer, session, is_owner):
    """What a session's page says of its line: to its mentor how many wait, to a signed-in learner
    where they stand (``position`` None when not in line); nothing to a visitor."""
    if is_owner:
        return {"waiting": waiting_count(session.id)}
    if not getattr(viewer, "is_authenticated", False):
        return {}
    entry = open_entry(session.id, viewer.id)
    place = position(entry)
    return {
        "waiting": waiting_count(session.id),
        "position": place,
        "position_text": _("You're %(place)s in line", place=ordinal(place)) if place else "",
    }


def learner_waitlists(learner, now=None):
    """The learner's open entries of sessions yet to start, soonest first, each with its place."""
    now = now or utcnow()
    entries = db.session.scalars(
        select(WaitlistEntry)
        .join(LearningSession, LearningSession.id == WaitlistEntry.session_id)
        .where(
            WaitlistEntry.learner_id == learner.id,
            WaitlistEntry.status.in_(OPEN_WAITLIST_STATUSES),
            LearningSession.starts_at > now,
        )
        .order_by(LearningSession.starts_at, WaitlistEntry.id)
    ).all()
    return [(entry, position(entry)) for entry in entries]


def dashboard_waitlists(learner, now=None):
    """``learner_waitlists`` with each place said ("3rd"), for the learner's dashboard."""
    return [(entry, ordinal(place) if place else "") for entry, place in learner_waitlists(learner, now)]


# ---------------------------------------------------------------------------- joining and leaving


def _refusal(session, learner, now):
    if session is None or session.status == SessionStatus.DRAFT:
        return NotFound(_("No such session."))
    if session.mentor_id == learner.id:
        return Conflict(_("You can't join the waitlist of your own session."), code="own_session")
    if not learner.is_verified:
        return PermissionDenied(_("Confirm your email address first."), code="email_unverified")
    if session.status == SessionStatus.CANCELLED:
        return Conflict(_("This session was cancelled."), code="session_cancelled")
    if session.status != SessionStatus.SCHEDULED or session.starts_at <= now:
        return Conflict(_("This session has already started."), code="session_started")
    if booking_service.active_booking(session.id, learner.id) is not None:
        return Conflict(_("You already have a seat in this session."), code="already_booked")
    holder = booking_service.reserved_for(session.id, now)
    if holder is not None and holder != learner.id:
        return Conflict(_("This session is kept for the learner who asked for it."), code="session_reserved")
    if session.seats_taken < session.capacity:
        return Conflict(_("This session has free seats: book one instead."), code="not_full")
    return None


@use_case
def join(session_id, learner, *, now=None):
    """Put ``learner`` at the end of a full session's line. Returns ``(entry, created)``; joining
    again while in line returns the entry already there."""
    now = now or utcnow()
    existing = open_entry(session_id, learner.id)
    if existing is not None:
        return existing, False
    # Under the session's lock no seat can free meanwhile: "full" stays true until the commit.
    booking_service.lock_session(session_id)
    session = db.session.get(LearningSession, session_id, populate_existing=True)
    refusal = _refusal(session, learner, now)
    if refusal is not None:
        raise refusal
    entry = WaitlistEntry(session_id=session_id, learner_id=learner.id, status=WaitlistStatus.WAITING.value)
    db.session.add(entry)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()  # a second click of the same learner won the index
        existing = open_entry(session_id, learner.id)
        if existing is None:
            raise
        return existing, False
    db.session.commit()
    return entry, True


@use_case
def leave(session_id, learner, *, now=None):
    """Step out of the session's line. An offered seat is given up too: its hold is cancelled,
    which frees the seat for the next in line. Returns the entry."""
    entry = open_entry(session_id, learner.id)
    if entry is None:
        raise NotFound(_("You're not on this session's waitlist."), code="not_waiting")
    if entry.status == WaitlistStatus.OFFERED:
        held = db.session.get(Booking, entry.booking_id)
        # cancel() locks the session, frees the seat and (through seat_freed) closes this entry.
        booking_service.cancel(held, learner, reason=system_texts.LEFT_WAITLIST, now=now)
        db.session.refresh(entry)
        return entry
    left = db.session.execute(
        update(WaitlistEntry)
        .where(WaitlistEntry.id == entry.id, WaitlistEntry.status == WaitlistStatus.WAITING.value)
        .values(status=WaitlistStatus.LEFT.value, updated_at=now or utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    if not left:  # offered meanwhile: leave again, now giving the seat up
        db.session.rollback()
        return leave(session_id, learner, now=now)
    db.session.commit()
    db.session.refresh(entry)
    return entry


# ---------------------------------------------------------------------------- seats freed


def seat_freed(session_id, *, now=None):
    """In the transaction that freed a seat of ``session_id`` (its row locked): close the offers
    whose hold ended, then offer every free seat to the line in order. Commits nothing."""
    now = now or utcnow()
    booking_service.lock_session(session_id)  # the caller's lock already; taken again, it is kept
    _close_ended_offers(session_id, now)
    return _offer_free_seats(session_id, now)


def _close_ended_offers(session_id, now):
    ended = db.session.execute(
        select(WaitlistEntry.id, Booking.status)
        .join(Booking, Booking.id == WaitlistEntry.booking_id)
        .where(
            WaitlistEntry.session_id == session_id,
            WaitlistEntry.status == WaitlistStatus.OFFERED.value,
            Booking.status.in_((BookingStatus.EXPIRED.value, BookingStatus.CANCELLED.value)),
        )
    ).all()
    for entry_id, booking_status in ended:
        # A lapsed hold passes the seat on; a hold given up (cancelled) is the learner leaving.
        closed = WaitlistStatus.PASSED if booking_status == BookingStatus.EXPIRED else WaitlistStatus.LEFT
        _set_status(entry_id, WaitlistStatus.OFFERED, closed, now)


def _set_status(entry_id, old, new, now):
    return db.session.execute(
        update(WaitlistEntry)
        .where(WaitlistEntry.id == entry_id, WaitlistEntry.status == old.value)
        .values(status=new.value, updated_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount


def _first_waiting(session_id):
    return db.session.scalar(
        select(WaitlistEntry)
        .where(WaitlistEntry.session_id == session_id, WaitlistEntry.status == WaitlistStatus.WAITING.value)
        .order_by(WaitlistEntry.id)
        .limit(1)
        .execution_options(populate_existing=True)
    )


def _offer_free_seats(session_id, now):
    """Offer each free seat to the first waiting learner; returns the entries offered a seat."""
    session = db.session.get(LearningSession, session_id, populate_existing=True)
    if session is None:
        return []
    if session.status != SessionStatus.SCHEDULED or session.starts_at <= now:
        return []
    offered = []
    while True:
        entry = _first_waiting(session_id)
        if entry is None:
            break
        # Booked another way meanwhile, or the account was suspended or deleted: out of the line.
        if not entry.learner.is_active or booking_service.active_booking(session_id, entry.learner_id):
            _set_status(entry.id, WaitlistStatus.WAITING, WaitlistStatus.LEFT, now)
            continue
        if not booking_service.take_seat(session_id, now):
            break  # no free seat left
        held = _hold_for(entry, session, now)
        db.session.execute(
            update(WaitlistEntry)
            .where(WaitlistEntry.id == entry.id, WaitlistEntry.status == WaitlistStatus.WAITING.value)
            .values(
                status=(
                    WaitlistStatus.CLAIMED
                    if held.status == BookingStatus.CONFIRMED
                    else WaitlistStatus.OFFERED
                ).value,
                offered_at=now,
                offer_expires_at=held.hold_expires_at,
                booking_id=held.id,
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        )
        db.session.refresh(entry)
        if held.status == BookingStatus.CONFIRMED:
            events.record("booking_confirmed", held)  # the mentor hears of it as of any booking
            interactions.booked(held)
        _tell_of_offer(entry, held, session)
        offered.append(entry)
    return offered


def _hold_for(entry, session, now):
    """The booking that holds a freed seat for ``entry``'s learner (confirmed at once when free)."""
    held = Booking(
        session_id=session.id,
        learner_id=entry.learner_id,
        amount_paise=session.price_paise,
        currency=session.currency,
    )
    if session.price_paise == 0:
        held.status = BookingStatus.CONFIRMED.value
        held.confirmed_at = now
    else:
        held.status = BookingStatus.PENDING_PAYMENT.value
        minutes = current_app.config["WAITLIST_CLAIM_MINUTES"]
        held.hold_expires_at = min(now + timedelta(minutes=minutes), session.starts_at)
    db.session.add(held)
    db.session.flush()
    return held


def _tell_of_offer(entry, held, session):
    learner = entry.learner
    with i18n.for_user(learner):  # the learner's language, whoever freed the seat
        when = localtime(session.starts_at, "%a %d %b %Y, %I:%M %p", tz=learner.timezone)
        if held.status == BookingStatus.CONFIRMED:
            title = _("You're in: a seat opened in %(title)s", title=session.title)
            lines = [
                _(
                    "A seat opened in %(title)s (%(when)s) and, as it is free, it is yours: you're booked.",
                    title=session.title,
                    when=when,
                ),
                _(
                    "If you can't come after all, cancel the booking so the next learner in line "
                    "gets the seat."
                ),
            ]
            endpoint, values, action = "booking.detail", {"booking_id": held.id}, _("View your booking")
        else:
            until = localtime(held.hold_expires_at, "%I:%M %p", tz=learner.timezone)
            title = _("A seat opened in %(title)s: claim it by %(until)s", title=session.title, until=until)
            lines = [
                _(
                    "A seat opened in %(title)s (%(when)s) and it is held for you, first in line, "
                    "until %(until)s (%(timezone)s).",
                    title=session.title,
                    when=when,
                    until=until,
                    timezone=learner.timezone,
                ),
                _("Pay before then to take it; after that it goes to the next learner in line."),
            ]
            endpoint, values, action = (
                "payments.checkout",
                {"booking_id": held.id},
                _("Pay and claim your seat"),
            )
    with current_app.test_request_context():
        path = url_for(endpoint, **values)
    email = Email(
        "notice",
        title,
        {
            "heading": title,
            "lines": lines,
            "action_label": action,
            "action_url": external_url(endpoint, **values),
        },
    )
    notifications.notify(
        learner,
        NotificationKind.WAITLIST_OFFER,
        title=title,
        body=" ".join(lines),
        url=path,
        data={"session_id": session.id, "booking_id": held.id, "waitlist_entry_id": entry.id},
        email=email,
    )


# ---------------------------------------------------------------------------- other events


def booking_confirmed(booking, payment=None):
    """A hold offered from the line was paid: its entry is claimed. A learner who took a seat
    another way leaves the line."""
    now = utcnow()
    db.session.execute(
        update(WaitlistEntry)
        .where(WaitlistEntry.booking_id == booking.id, WaitlistEntry.status != WaitlistStatus.CLAIMED.value)
        .values(status=WaitlistStatus.CLAIMED.value, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        update(WaitlistEntry)
        .where(
            WaitlistEntry.session_id == booking.session_id,
            WaitlistEntry.learner_id == booking.learner_id,
            WaitlistEntry.status == WaitlistStatus.WAITING.value,
        )
        .values(status=WaitlistStatus.LEFT.value, updated_at=now)
        .execution_options(synchronize_session=False)
    )


def session_cancelled(session, bookings=None, **_):
    """A cancelled session's line ends: nobody in it will get a seat."""
    db.session.execute(
        update(WaitlistEntry)
        .where(
            WaitlistEntry.session_id == session.id,
            WaitlistEntry.status.in_(OPEN_WAITLIST_STATUSES),
        )
        .values(status=WaitlistStatus.EXPIRED.value, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
