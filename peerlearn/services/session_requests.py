"""Session requests: a learner asks a mentor for a session; the mentor accepts or declines.

State machine (forward only, one function per transition): pending → accepted | declined |
withdrawn | expired; accepted → withdrawn (the learner turns the offer down) | expired (the
learner never took the seat).

Accepting publishes a one-seat session filled in from the request. Until the request's window
closes (``expires_at``: ``REQUEST_EXPIRY_DAYS`` after the acceptance, never past the start) that
session is reserved for the learner who asked: the booking service refuses everyone else
(``booking.reserved_for``). The learner takes the seat with ``confirm``, which goes through the ordinary
booking service: free → confirmed; paid → a held seat to pay for at the usual checkout. A hold
that lapses unpaid can be taken again while the window is open.

Every transition is one conditional UPDATE on the request's status, so a mentor accepting while
the learner withdraws (or the sweep expires it) ends with exactly one winner.
"""

from datetime import datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select, update

from .. import events
from ..exceptions import Conflict, DomainError, NotFound, PermissionDenied, ValidationError
from ..extensions import db
from ..inputs import clean_text, refuse_unknown_fields
from ..limits import MAX_PRICE_PAISE, MIN_PAID_PRICE_PAISE, PRICE_MESSAGE
from ..models import (
    ACTIVE_BOOKING_STATUSES,
    Booking,
    BookingStatus,
    LearningSession,
    RequestStatus,
    SessionRequest,
    SessionStatus,
    utcnow,
)
from ..models.email import DropReason
from . import booking as booking_service
from . import notifications, outbox
from . import sessions as session_service
from .pagination import paginate
from .people import active_mentor
from .transactions import use_case

MAX_TOPIC = 120
MIN_TOPIC = 3
MAX_MESSAGE = 2000
MAX_NOTE = 2000
MAX_TIMES = 3
MAX_PENDING_PER_MENTOR = 3  # open requests one learner may have with one mentor
DEFAULT_DURATION = 60
DEFAULT_CATEGORY = "Other"
REQUEST_FIELDS = {"topic", "message", "preferred_times", "budget_paise"}
ACCEPT_FIELDS = {"starts_at", "price_paise", "category", "skills", "duration_minutes", "note"}
OPEN_STATUSES = (RequestStatus.PENDING.value, RequestStatus.ACCEPTED.value)


def _window():
    return timedelta(days=current_app.config["REQUEST_EXPIRY_DAYS"])


def preferred_times(request):
    """The request's preferred start times as aware UTC datetimes, in the learner's order."""
    return [datetime.fromisoformat(value) for value in request.preferred_times or []]


def is_open(request, now=None):
    """Whether anyone can still act on the request (its window has not closed)."""
    now = now or utcnow()
    return request.status in OPEN_STATUSES and request.expires_at > now


# --------------------------------------------------------------------------------- looking up


def request_for(user, request_id):
    """A request ``user`` is a party to (its learner or its mentor); anyone else's is 404."""
    request = db.session.get(SessionRequest, request_id)
    if request is None or user.id not in (request.learner_id, request.mentor_id):
        raise NotFound(_("No such request."))
    return request


def _as_mentor(mentor, request_id):
    request = request_for(mentor, request_id)
    if request.mentor_id != mentor.id:
        raise PermissionDenied(
            _("Only the mentor who was asked can answer this request."), code="not_the_mentor"
        )
    return request


def _as_learner(learner, request_id):
    request = request_for(learner, request_id)
    if request.learner_id != learner.id:
        raise PermissionDenied(_("Only the learner who asked can do this."), code="not_the_learner")
    return request


SIDES = ("received", "sent")


def requests_for(user, *, status=None, side=None, page=1, per_page=20):
    """One page of the user's requests, newest first, and how many match: ``side`` "received"
    (the mentor's inbox) or "sent" (as a learner). Unsaid, a mentor's inbox, anyone else's sent
    requests, as before accounts could do both."""
    if side is None:
        side = "received" if user.is_mentor else "sent"
    if side not in SIDES:
        raise ValidationError(
            _("side must be received or sent."), fields={"side": [_("Choose received or sent.")]}
        )
    column = SessionRequest.mentor_id if side == "received" else SessionRequest.learner_id
    query = select(SessionRequest).where(column == user.id)
    if status is not None:
        if status not in {s.value for s in RequestStatus}:
            raise ValidationError(
                "status must be one of: " + ", ".join(s.value for s in RequestStatus) + ".",
                fields={"status": [_("Unknown status.")]},
            )
        query = query.where(SessionRequest.status == status)
    ordered = query.order_by(SessionRequest.created_at.desc(), SessionRequest.id.desc())
    return paginate(ordered, page=page, per_page=per_page)


# What others are told of a session made from a request: its title is the request's topic.
PRIVATE_SESSION_TITLE = "A 1:1 session on request"


def made_for_requests(session_ids):
    """Which of ``session_ids`` are sessions mentors made from learners' requests.

    Their title and description are the learner's own words from a private request: nobody but
    that learner and the mentor (and admins) reads them, whatever became of the request."""
    ids = {session_id for session_id in session_ids if session_id is not None}
    if not ids:
        return set()
    return set(
        db.session.scalars(select(SessionRequest.session_id).where(SessionRequest.session_id.in_(ids)))
    )


def made_session(request):
    """The session the mentor made from ``request`` on accepting it, or None."""
    return db.session.get(LearningSession, request.session_id) if request.session_id else None


def made_sessions(requests):
    """{session id: session} for the sessions mentors made from ``requests`` on accepting them."""
    ids = {request.session_id for request in requests if request.session_id}
    if not ids:
        return {}
    return {s.id: s for s in db.session.scalars(select(LearningSession).where(LearningSession.id.in_(ids)))}


def learner_booking(request):
    """The learner's booking in the request's session: the live one, else the latest."""
    if request.session_id is None:
        return None
    return db.session.scalar(
        select(Booking)
        .where(Booking.session_id == request.session_id, Booking.learner_id == request.learner_id)
        .order_by(Booking.status.in_(ACTIVE_BOOKING_STATUSES).desc(), Booking.id.desc())
        .limit(1)
    )


def _has_taken_seat(request):
    """Whether the learner holds (or once had) a seat: then the request is done, not lapsed."""
    booking = learner_booking(request)
    return booking is not None and (booking.is_active or booking.confirmed_at is not None)


# ---------------------------------------------------------------------------------- validation


def _times(values, timezone, errors, now):
    """1–3 distinct future start times; naive ones are read in ``timezone``. Sorted as given."""
    if values is None or values == [] or values == "":
        errors["preferred_times"] = [_("Give at least one preferred start time.")]
        return []
    if isinstance(values, str | datetime):
        values = [values]
    if not isinstance(values, list | tuple):
        errors["preferred_times"] = [_("Send a list of start times.")]
        return []
    if len(values) > MAX_TIMES:
        errors["preferred_times"] = [_("Give at most %(count)s preferred start times.", count=MAX_TIMES)]
        return []
    times = []
    for value in values:
        try:
            moment = session_service.parse_start(value, timezone)
        except ValidationError:
            errors["preferred_times"] = [_("Use dates and times like 2026-12-01T18:30.")]
            return []
        if moment <= now:
            errors["preferred_times"] = [_("Choose times in the future.")]
            return []
        if moment > now + timedelta(days=365):
            errors["preferred_times"] = [_("Choose times within the next year.")]
            return []
        if moment not in times:
            times.append(moment)
    return times


def _budget(value, errors):
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        errors["budget_paise"] = [_("A whole number of paise, or leave it out.")]
        return None
    if not 0 <= value <= MAX_PRICE_PAISE:
        errors["budget_paise"] = [PRICE_MESSAGE]
    elif 0 < value < MIN_PAID_PRICE_PAISE:
        errors["budget_paise"] = [_("At least ₹1 (or ₹0 for a free session).")]
    return value


# ---------------------------------------------------------------------------------- transitions


def check_can_ask(user, mentor):
    """Refuse, as a domain error, a user who may not ask ``mentor`` for a session."""
    if mentor.id == user.id:
        raise ValidationError(
            _("You can't ask yourself for a session."),
            fields={"mentor_id": [_("That's you.")]},
            code="own_request",
        )
    if not user.is_verified:
        raise PermissionDenied(
            _("Confirm your email address before asking for a session."), code="email_unverified"
        )


@use_case
def create_request(learner, mentor_id, data, *, now=None):
    """``learner`` asks the mentor for a session. ``data``: topic, message, preferred_times
    (1–3; ISO 8601, naive ones in the learner's timezone), budget_paise (optional)."""
    now = now or utcnow()
    mentor = active_mentor(mentor_id)
    check_can_ask(learner, mentor)
    refuse_unknown_fields(data, REQUEST_FIELDS)
    errors = {}
    topic = clean_text(data.get("topic"), "topic", errors, max_length=MAX_TOPIC, min_length=MIN_TOPIC)
    message = clean_text(data.get("message"), "message", errors, max_length=MAX_MESSAGE, multiline=True)
    times = _times(data.get("preferred_times"), learner.timezone, errors, now)
    budget = _budget(data.get("budget_paise"), errors)
    if errors:
        raise ValidationError(_("Please correct the highlighted fields."), fields=errors)
    waiting = db.session.scalar(
        select(func.count(SessionRequest.id)).where(
            SessionRequest.learner_id == learner.id,
            SessionRequest.mentor_id == mentor.id,
            SessionRequest.status == RequestStatus.PENDING.value,
            SessionRequest.expires_at > now,
        )
    )
    if waiting >= MAX_PENDING_PER_MENTOR:
        raise Conflict(
            _(
                "You already have %(count)s requests waiting for %(name)s's answer.",
                count=waiting,
                name=mentor.first_name,
            ),
            code="too_many_pending",
        )
    request = SessionRequest(
        learner_id=learner.id,
        mentor_id=mentor.id,
        topic=topic,
        message=message,
        preferred_times=[t.isoformat() for t in times],
        budget_paise=budget,
        status=RequestStatus.PENDING.value,
        created_at=now,
        expires_at=now + _window(),
    )
    db.session.add(request)
    db.session.flush()
    events.record("request_received", request)
    db.session.commit()
    outbox.dispatch()
    return request


def _transition(request, *, from_statuses, now, **values):
    """Move ``request`` on if nobody else did first (status unchanged, window still open)."""
    result = db.session.execute(
        update(SessionRequest)
        .where(
            SessionRequest.id == request.id,
            SessionRequest.status.in_(from_statuses),
            SessionRequest.expires_at > now,
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.session.rollback()
        db.session.refresh(request)
        raise _closed(request, now)


def _closed(request, now):
    if request.status in OPEN_STATUSES and request.expires_at <= now:
        return Conflict(_("This request has expired."), code="request_expired")
    return Conflict(request_is(request.status), code=f"request_{request.status}")


def request_is(status):
    """ "This request is accepted." and its kind, in the reader's language."""
    words = {
        RequestStatus.PENDING.value: _("This request is pending."),
        RequestStatus.ACCEPTED.value: _("This request is accepted."),
        RequestStatus.DECLINED.value: _("This request is declined."),
        RequestStatus.WITHDRAWN.value: _("This request is withdrawn."),
        RequestStatus.EXPIRED.value: _("This request is expired."),
    }
    return words.get(str(status), _("This request is %(status)s.", status=status))


def _default_start(request, now):
    """The first preferred time the mentor can still schedule (at least 5 minutes ahead)."""
    for moment in preferred_times(request):
        if moment > now + timedelta(minutes=5):
            return moment
    raise ValidationError(
        _("Every preferred time has passed: choose another start time."),
        fields={"starts_at": [_("Choose a start time.")]},
    )


def default_price(request, mentor, duration=DEFAULT_DURATION):
    """The learner's budget, else the mentor's hourly rate for the duration (to the rupee)."""
    if request.budget_paise is not None:
        return request.budget_paise
    return mentor.hourly_rate_paise * duration // 60 // 100 * 100


@use_case
def accept(mentor, request_id, choices=None, *, now=None):
    """The mentor accepts: a one-seat session is published from the request and kept for the
    learner. ``choices`` (all optional): starts_at (default: the first preferred time still
    ahead; naive times in the mentor's timezone), price_paise (default: ``default_price``),
    category (default "Other"), skills, duration_minutes (default 60), note.
    Returns ``(request, session)``."""
    now = now or utcnow()
    choices = dict(choices or {})
    request = _as_mentor(mentor, request_id)
    refuse_unknown_fields(choices, ACCEPT_FIELDS)
    if not is_open(request, now) or request.status != RequestStatus.PENDING:
        raise _closed(request, now)
    if not mentor.is_verified:
        raise PermissionDenied(_("Confirm your email address before publishing."), code="email_unverified")
    session_service.check_can_publish(mentor)  # accepting publishes a session
    errors = {}
    note = clean_text(choices.get("note"), "note", errors, max_length=MAX_NOTE, multiline=True)
    if errors:
        raise ValidationError(_("Please correct the highlighted fields."), fields=errors)
    starts_at = choices.get("starts_at")
    if starts_at in (None, ""):
        starts_at = _default_start(request, now)
    duration = choices.get("duration_minutes", DEFAULT_DURATION)
    price = choices.get("price_paise")
    if price is None:
        price = default_price(request, mentor, duration if isinstance(duration, int) else DEFAULT_DURATION)
    fields = {
        "title": request.topic,
        "description": request.message,
        "category": choices.get("category") or DEFAULT_CATEGORY,
        "skills": choices.get("skills") or [],
        "starts_at": starts_at,
        "duration_minutes": duration,
        "capacity": 1,
        "price_paise": price,
    }
    # Checked as the mentor's own session form would be, but written in this transaction, so the
    # session exists exactly when the request says it was accepted. It is published without
    # the followers' announcement (sessions._publish): it is kept for one learner.
    try:
        clean = session_service._validate(fields, mentor, now=now)
    except DomainError:
        db.session.rollback()
        raise
    session = LearningSession(
        mentor_id=mentor.id, status=SessionStatus.SCHEDULED.value, published_at=now, **clean
    )
    db.session.add(session)
    db.session.flush()
    _transition(
        request,
        from_statuses=(RequestStatus.PENDING.value,),
        now=now,
        status=RequestStatus.ACCEPTED.value,
        session_id=session.id,
        response_note=note,
        responded_at=now,
        expires_at=min(now + _window(), session.starts_at),
    )
    db.session.refresh(request)
    _answered(request)
    events.record("request_accepted", request, session)
    db.session.commit()
    outbox.dispatch()
    return request, session


@use_case
def decline(mentor, request_id, note="", *, now=None):
    """The mentor declines, optionally with a note the learner receives."""
    now = now or utcnow()
    request = _as_mentor(mentor, request_id)
    errors = {}
    note = clean_text(note, "note", errors, max_length=MAX_NOTE, multiline=True)
    if errors:
        raise ValidationError(_("Please correct the highlighted fields."), fields=errors)
    if not is_open(request, now) or request.status != RequestStatus.PENDING:
        raise _closed(request, now)
    _transition(
        request,
        from_statuses=(RequestStatus.PENDING.value,),
        now=now,
        status=RequestStatus.DECLINED.value,
        response_note=note,
        responded_at=now,
    )
    db.session.refresh(request)
    _answered(request)
    events.record("request_declined", request)
    db.session.commit()
    outbox.dispatch()
    return request


def _answered(request):
    """The mentor answered in the app: the email telling them of the request, if still waiting,
    has nothing left to say."""
    notifications.drop_waiting_email(
        request.mentor_id, notifications.request_key(request.id), DropReason.ANSWERED
    )


@use_case
def withdraw(learner, request_id, *, now=None):
    """The learner withdraws a pending request, or turns down an accepted one they have not
    taken a seat in (the session then opens to everyone)."""
    now = now or utcnow()
    request = _as_learner(learner, request_id)
    if not is_open(request, now):
        raise _closed(request, now)
    if request.status == RequestStatus.ACCEPTED and _has_taken_seat(request):
        raise Conflict(
            _("You have a seat in this session: cancel the booking instead."), code="request_booked"
        )
    was_accepted = request.status == RequestStatus.ACCEPTED
    _transition(
        request,
        from_statuses=(request.status,),
        now=now,
        status=RequestStatus.WITHDRAWN.value,
    )
    db.session.refresh(request)
    retracted = None
    if not was_accepted:
        # Its notice is taken back if it has not reached the mentor: then there is nothing to
        # tell them, and a request made and withdrawn again and again costs them nothing.
        retracted = notifications.retract(request.mentor_id, notifications.request_key(request.id))
    if retracted is None or retracted.already_told:
        events.record("request_withdrawn", request, was_accepted=was_accepted)
    db.session.commit()
    if retracted is not None:
        notifications.announce_removed(request.mentor_id, retracted)
    outbox.dispatch()
    return request


@use_case
def confirm(learner, request_id, *, now=None):
    """The learner takes the seat the mentor made for them, through the booking service.
    Returns ``(request, booking, created)``: a free seat is confirmed, a paid one held for payment."""

    now = now or utcnow()
    request = _as_learner(learner, request_id)
    existing = learner_booking(request)
    if existing is not None and existing.is_active:
        return request, existing, False
    if request.status != RequestStatus.ACCEPTED or request.expires_at <= now:
        raise _closed(request, now)
    booking, created = booking_service.book(request.session_id, learner, now=now)
    request.booking_id = booking.id
    if created and booking.status == BookingStatus.CONFIRMED:
        events.record("request_confirmed", request, booking)
    db.session.commit()
    outbox.dispatch()
    return request, booking, created


def session_cancelled(session):
    """In the cancellation's transaction: an accepted request whose session is cancelled before
    its learner took the seat is declined, with the cancellation's reason, and the learner told."""
    request = db.session.scalar(
        select(SessionRequest).where(
            SessionRequest.session_id == session.id, SessionRequest.status == RequestStatus.ACCEPTED.value
        )
    )
    if request is None or _has_taken_seat(request):
        return None
    note = session.cancel_reason or _("The session made for this request was cancelled.")
    won = db.session.execute(
        update(SessionRequest)
        .where(SessionRequest.id == request.id, SessionRequest.status == RequestStatus.ACCEPTED.value)
        .values(status=RequestStatus.DECLINED.value, response_note=note[:2000], responded_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    if won:
        db.session.refresh(request)
        events.record("request_declined", request)
    return request


def expire_requests(now=None):
    """Close requests whose window has passed: pending ones nobody answered, and accepted ones
    whose learner never took the seat. Both sides are told. Returns how many."""
    now = now or utcnow()
    candidates = list(
        db.session.scalars(
            select(SessionRequest).where(
                SessionRequest.status.in_(OPEN_STATUSES), SessionRequest.expires_at <= now
            )
        )
    )
    expired = 0
    for request in candidates:
        if request.status == RequestStatus.ACCEPTED and _has_taken_seat(request):
            continue  # done: the learner has their seat
        was_accepted = request.status == RequestStatus.ACCEPTED
        won = db.session.execute(
            update(SessionRequest)
            .where(SessionRequest.id == request.id, SessionRequest.status == request.status)
            .values(status=RequestStatus.EXPIRED.value)
            .execution_options(synchronize_session=False)
        ).rowcount
        if won:
            db.session.refresh(request)
            events.record("request_expired", request, was_accepted=was_accepted)
            expired += 1
        db.session.commit()
    outbox.dispatch()
    return expired


def mentor_can_act(request, now=None):
    return request.status == RequestStatus.PENDING and is_open(request, now)


def learner_can_confirm(request, now=None):
    return request.status == RequestStatus.ACCEPTED and is_open(request, now)
