"""Calendar files: one booking as an .ics download, and each user's private subscription feed.

Events carry a UID that never changes for a booking (or, in a mentor's feed, a session) and the
session's ``schedule_version`` as SEQUENCE, so calendar apps replace an entry when the mentor
moves it instead of showing the old and the new time side by side. Times are written in UTC.

The words in an event are the reader's: a download speaks the language of the request (or, as an
email's attachment, of the email's recipient); the feed, fetched by a calendar app with no cookie
and no sign-in, speaks its owner's saved language. Dates and codes stay iCalendar's.
"""

import secrets
from datetime import timedelta
from email.utils import parseaddr

from flask import current_app
from flask_babel import gettext as _
from flask_babel import ngettext
from icalendar import Alarm, Calendar, Event, vCalAddress
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from .. import i18n
from ..extensions import db
from ..links import external_url, public_host
from ..models import Booking, BookingStatus, LearningSession, SessionStatus, User, utcnow

PRODUCT_ID = "-//PeerLearn//Sessions//EN"
# How often subscribed calendar apps are asked to fetch the feed again (most poll less often).
FEED_REFRESH = timedelta(hours=1)
# Sessions that started up to this long ago stay in the feed, so one in progress is still shown.
FEED_LOOKBACK = timedelta(hours=12)
TOKEN_BYTES = 32
DESCRIPTION_EXCERPT = 500


def _host():
    return public_host() or "peerlearn"


def _session_url(session):
    return external_url("sessions.detail", session_id=session.id)


def _organizer(session):
    # Calendar apps need an address for ORGANIZER; the mentor's own is private, so the
    # platform's sending address stands in, with the mentor's name shown.
    _name, address = parseaddr(current_app.config["MAIL_DEFAULT_SENDER"] or "")
    organizer = vCalAddress(f"mailto:{address or 'no-reply@' + _host()}")
    organizer.params["cn"] = session.mentor.name
    return organizer


def _calendar(name=None):
    calendar = Calendar()
    calendar.add("prodid", PRODUCT_ID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    if name:
        calendar.add("name", name)
        calendar.add("x-wr-calname", name)
    return calendar


def _description(session, lead):
    url = _session_url(session)
    parts = [lead, _("Join: %(url)s", url=url)]
    if session.description:
        excerpt = session.description.strip()
        if len(excerpt) > DESCRIPTION_EXCERPT:
            excerpt = excerpt[:DESCRIPTION_EXCERPT].rstrip() + "…"
        parts.append(excerpt)
    return "\n\n".join(parts)


def _event(session, *, uid, sequence, status, lead, now):
    event = Event()
    event.add("uid", uid)
    event.add("sequence", sequence)
    event.add("dtstamp", now)
    event.add("dtstart", session.starts_at)
    event.add("dtend", session.ends_at)
    event.add("summary", session.title)
    event.add("description", _description(session, lead))
    event.add("url", _session_url(session))
    event.add("organizer", _organizer(session))
    event.add("status", status)
    event.add("transp", "OPAQUE")
    return event


def _reminder(minutes=15):
    alarm = Alarm()
    alarm.add("action", "DISPLAY")
    alarm.add("description", _("PeerLearn session starting soon"))
    alarm.add("trigger", timedelta(minutes=-minutes))
    return alarm


def _booking_status(booking):
    if booking.status in (BookingStatus.CANCELLED, BookingStatus.EXPIRED) or (
        booking.session.status == SessionStatus.CANCELLED
    ):
        return "CANCELLED"
    if booking.status == BookingStatus.PENDING_PAYMENT:
        return "TENTATIVE"  # a seat held until payment, not yet a place in the session
    return "CONFIRMED"


def booking_event(booking, now=None):
    """The VEVENT for one booking: UID fixed per booking, SEQUENCE following the schedule."""
    now = now or utcnow()
    session = booking.session
    status = _booking_status(booking)
    # A cancellation is a change too: it must outrank the version the calendar already has.
    # A learner's move to another session (services.reschedule) raises the offset.
    sequence = (
        session.schedule_version + booking.calendar_sequence_offset + (1 if status == "CANCELLED" else 0)
    )
    event = _event(
        session,
        uid=f"booking-{booking.id}@{_host()}",
        sequence=sequence,
        status=status,
        lead=_("Live session with %(mentor)s on PeerLearn.", mentor=session.mentor.name),
        now=now,
    )
    if status != "CANCELLED":
        event.add_component(_reminder())
    return event


def session_event(session, now=None):
    """The VEVENT for a mentor's own session in their feed."""
    now = now or utcnow()
    seats = ngettext(
        "%(taken)s of %(num)s seat booked.",
        "%(taken)s of %(num)s seats booked.",
        session.capacity,
        taken=session.seats_taken,
    )
    event = _event(
        session,
        uid=f"session-{session.id}@{_host()}",
        sequence=session.schedule_version,
        status="CANCELLED" if session.status == SessionStatus.CANCELLED else "CONFIRMED",
        lead=_("You are teaching this session on PeerLearn.") + " " + seats,
        now=now,
    )
    event.add_component(_reminder())
    return event


def booking_ics(booking, now=None):
    """One booking as an iCalendar file (bytes)."""
    calendar = _calendar()
    calendar.add_component(booking_event(booking, now))
    return calendar.to_ical()


def _upcoming_bookings(user, now):
    rows = db.session.scalars(
        select(Booking)
        .join(LearningSession, LearningSession.id == Booking.session_id)
        .where(
            Booking.learner_id == user.id,
            Booking.status.in_((BookingStatus.CONFIRMED.value, BookingStatus.PENDING_PAYMENT.value)),
            LearningSession.status.in_((SessionStatus.SCHEDULED.value, SessionStatus.LIVE.value)),
            LearningSession.starts_at > now - FEED_LOOKBACK,
        )
        .order_by(LearningSession.starts_at)
    )
    return [b for b in rows if b.session.ends_at > now]


def _upcoming_sessions(user, now):
    rows = db.session.scalars(
        select(LearningSession)
        .where(
            LearningSession.mentor_id == user.id,
            LearningSession.status.in_((SessionStatus.SCHEDULED.value, SessionStatus.LIVE.value)),
            LearningSession.starts_at > now - FEED_LOOKBACK,
        )
        .order_by(LearningSession.starts_at)
    )
    return [s for s in rows if s.ends_at > now]


def feed_ics(user, now=None):
    """The user's private feed: upcoming booked seats and, for mentors, the sessions they teach,
    in the user's own language whoever's browser or app asks for it."""
    now = now or utcnow()
    with i18n.for_user(user):
        calendar = _calendar(f"PeerLearn · {user.name}")
        calendar.add("x-wr-caldesc", _("Your upcoming PeerLearn sessions."))
        calendar.add("refresh-interval", FEED_REFRESH, parameters={"VALUE": "DURATION"})
        calendar.add("x-published-ttl", FEED_REFRESH)
        for booking in _upcoming_bookings(user, now):
            calendar.add_component(booking_event(booking, now))
        if user.is_mentor:
            for session in _upcoming_sessions(user, now):
                calendar.add_component(session_event(session, now))
        return calendar.to_ical()


# ---------------------------------------------------------------------------- feed tokens


def _assign_token(user):
    """Give ``user`` a fresh random token; the unique column rules out a (vanishingly unlikely) twin."""
    for _attempt in range(3):
        user.calendar_token = secrets.token_urlsafe(TOKEN_BYTES)
        try:
            db.session.commit()
        except IntegrityError:
            db.session.rollback()
            continue
        return user.calendar_token
    raise RuntimeError("could not find an unused calendar token")


def ensure_calendar_token(user):
    """The user's feed token, creating one on first use."""
    if user.calendar_token:
        return user.calendar_token
    return _assign_token(user)


def regenerate_calendar_token(user):
    """Replace the feed token: the old feed URL stops working at once."""
    return _assign_token(user)


def replace_calendar_token(user):
    """Give a feed that exists a new URL in the caller's transaction (after a password change or
    "log out everywhere"); the old URL stops working when it commits."""
    if user.calendar_token:
        user.calendar_token = secrets.token_urlsafe(TOKEN_BYTES)
    return user.calendar_token


def user_for_calendar_token(token):
    """The active user whose feed this token opens, or None."""
    if not isinstance(token, str) or not 20 <= len(token) <= 64:
        return None
    return db.session.scalar(select(User).where(User.calendar_token == token, User.suspended_at.is_(None)))
