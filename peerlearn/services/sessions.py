"""Mentors' sessions: create, edit, publish, cancel; and the sweep that completes them.

State machine (forward only): draft → scheduled → live → completed; draft/scheduled/live →
cancelled. Times are entered in the mentor's timezone and stored in UTC.
"""

import logging
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, case, func, or_, select, update
from sqlalchemy.orm import lazyload

from .. import events, system_texts
from ..exceptions import Conflict, NotFound, PermissionDenied, ValidationError
from ..extensions import db
from ..inputs import clean_text, refuse_unknown_fields
from ..limits import (
    DURATION_MESSAGE,
    MAX_DESCRIPTION_LENGTH,
    MAX_DURATION_MINUTES,
    MAX_PRICE_PAISE,
    MAX_TITLE_LENGTH,
    MIN_DURATION_MINUTES,
    MIN_TITLE_LENGTH,
    PRICE_MESSAGE,
    SEATS_MESSAGE,
)
from ..models import (
    CATEGORIES,
    LANGUAGES,
    MAX_CAPACITY,
    MIN_PAID_PRICE_PAISE,
    Booking,
    BookingStatus,
    LearningSession,
    Payment,
    SessionLevel,
    SessionRequest,
    SessionStatus,
    utcnow,
)
from . import avatars, outbox, realtime, recording_capture, room, settlement, skills, storage
from .booking import lock_session
from .pagination import paginate
from .refunds import dispatch_refund
from .transactions import use_case

EDITABLE_FIELDS = {
    "title",
    "description",
    "category",
    "skills",
    "level",
    "language",
    "starts_at",
    "duration_minutes",
    "capacity",
    "price_paise",
    "recording_enabled",
}
log = logging.getLogger(__name__)

CANCELLABLE_STATUSES = (SessionStatus.DRAFT.value, SessionStatus.SCHEDULED.value, SessionStatus.LIVE.value)

COVER_SIZE = (1200, 675)


def local_to_utc(naive, timezone):
    """A wall-clock time in ``timezone`` as an aware UTC datetime (DST gaps resolve forward)."""
    return naive.replace(tzinfo=ZoneInfo(timezone)).astimezone(UTC)


def parse_start(value, timezone):
    """Accept an aware datetime, an ISO 8601 string with an offset, or a naive wall-clock time
    (then read in ``timezone``)."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError as exc:
            raise ValidationError(
                _("Use a date and time like 2026-12-01T18:30."),
                fields={"starts_at": [_("Not a valid date and time.")]},
            ) from exc
    if not isinstance(value, datetime):
        raise ValidationError(_("Give a start time."), fields={"starts_at": [_("This field is required.")]})
    if value.tzinfo is None:
        return local_to_utc(value, timezone)
    return value.astimezone(UTC)


def _int(changes, name, errors, low, high, message):
    value = changes[name]
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        errors[name] = [message]
        return None
    return value


def _validate(changes, mentor, session=None, *, now):
    """Check the given fields; returns cleaned values or raises ValidationError with all problems."""
    refuse_unknown_fields(changes, EDITABLE_FIELDS)
    errors, clean = {}, {}
    for name, limit, required in (
        ("title", MAX_TITLE_LENGTH, True),
        ("description", MAX_DESCRIPTION_LENGTH, False),
    ):
        if name in changes:
            clean[name] = clean_text(
                changes[name],
                name,
                errors,
                max_length=limit,
                min_length=MIN_TITLE_LENGTH if required else 0,
                multiline=name == "description",
                required_message=_("Use at least %(num)s characters.", num=MIN_TITLE_LENGTH),
            )
    if "category" in changes:
        if changes["category"] not in CATEGORIES:
            errors["category"] = [_("Choose a category from the list.")]
        clean["category"] = changes["category"]
    if "level" in changes:
        # A list, not a set: a JSON list or object sent as the level is refused, not a TypeError.
        if changes["level"] not in [lvl.value for lvl in SessionLevel]:
            errors["level"] = [_("Choose a level from the list.")]
        clean["level"] = changes["level"]
    if "language" in changes:
        if changes["language"] not in LANGUAGES:
            errors["language"] = [_("Choose a language from the list.")]
        clean["language"] = changes["language"]
    if "duration_minutes" in changes:
        clean["duration_minutes"] = _int(
            changes,
            "duration_minutes",
            errors,
            MIN_DURATION_MINUTES,
            MAX_DURATION_MINUTES,
            _(DURATION_MESSAGE),
        )
    if "capacity" in changes:
        clean["capacity"] = _int(changes, "capacity", errors, 1, MAX_CAPACITY, _(SEATS_MESSAGE))
        if session is not None and clean["capacity"] is not None and clean["capacity"] < session.seats_taken:
            errors["capacity"] = [_("%(num)s seats are already booked.", num=session.seats_taken)]
    if "price_paise" in changes:
        price = _int(changes, "price_paise", errors, 0, MAX_PRICE_PAISE, _(PRICE_MESSAGE))
        if price is not None and 0 < price < MIN_PAID_PRICE_PAISE:
            errors["price_paise"] = [_("A paid session costs at least ₹1 (or make it free with ₹0).")]
        clean["price_paise"] = price
    if "starts_at" in changes:
        try:
            starts_at = parse_start(changes["starts_at"], mentor.timezone)
        except ValidationError as exc:
            errors.update(exc.fields)
        else:
            if starts_at <= now + timedelta(minutes=5):
                errors["starts_at"] = [_("Choose a time at least 5 minutes from now.")]
            elif starts_at > now + timedelta(days=365):
                errors["starts_at"] = [_("Choose a time within the next year.")]
            clean["starts_at"] = starts_at
    if "recording_enabled" in changes:
        if not isinstance(changes["recording_enabled"], bool):
            errors["recording_enabled"] = [_("Use true or false.")]
        clean["recording_enabled"] = changes["recording_enabled"]
    if "skills" in changes:
        try:
            clean["skills"] = skills.resolve(changes["skills"], field="skills")
        except ValidationError as exc:
            errors.update(exc.fields)
    if errors:
        raise ValidationError(_("Please correct the highlighted fields."), fields=errors)
    return clean


def _require_mentor(user):
    if not user.is_mentor:
        raise PermissionDenied(_("Only mentors can publish sessions."), code="not_a_mentor")


def create_session(mentor, data, *, publish=False, cover=None, now=None):
    """A new draft (or, with ``publish``, a scheduled session) for ``mentor``, with its
    ``cover`` (an image's bytes) if given: all of it is saved, or nothing."""
    now = now or utcnow()
    stored = None
    try:
        _require_mentor(mentor)
        encoded = _encode_cover(cover)
        if publish:
            check_can_publish(mentor)
        missing = [name for name in ("title", "category", "starts_at") if name not in data]
        if missing:
            raise ValidationError(
                _("Fill in %(fields)s.", fields=", ".join(missing)),
                fields={name: [_("This field is required.")] for name in missing},
            )
        clean = _validate(data, mentor, now=now)
        stored = _put_cover(encoded)
        session = LearningSession(
            mentor_id=mentor.id, status=SessionStatus.DRAFT.value, cover_filename=stored, **clean
        )
        db.session.add(session)
        db.session.flush()
        if publish:
            _publish(session, mentor, now)
        db.session.commit()
    except Exception:
        _undo(stored)
        raise
    outbox.dispatch()
    return session


def mentor_session(mentor, session_id):
    """A session ``mentor`` owns; anyone else's is 404."""
    session = db.session.get(LearningSession, session_id)
    if session is None or session.mentor_id != mentor.id:
        raise NotFound(_("No such session."))
    return session


def may_read(viewer, session, request_learner_id=None, *, looked_up=False):
    """Whether ``viewer`` may see ``session``'s own words (title, description, page): always,
    unless it was made from a request and ``viewer`` is neither its learner nor its mentor nor
    an admin. ``looked_up``: ``request_learner_id`` was already read with the session (None:
    not made from a request)."""
    if getattr(viewer, "is_authenticated", False) and (viewer.is_admin or viewer.id == session.mentor_id):
        return True
    if not looked_up:
        request_learner_id = db.session.scalar(_request_learner(session.id))
    if request_learner_id is None:
        return True
    return getattr(viewer, "is_authenticated", False) and viewer.id == request_learner_id


def _request_learner(session_id):
    """The learner of the request ``session_id`` was made from (None: not made from one)."""
    return select(SessionRequest.learner_id).where(SessionRequest.session_id == session_id).limit(1)


def viewable_session(viewer, session_id):
    """A session as a visitor may see it: drafts only for their mentor (and admins); one made
    from a learner's private request only for that learner, its mentor and admins.

    One statement: the session, its mentor and the request it was made from (if any). Its
    skills load when read; the page reads them only when it draws its cached parts again."""
    row = db.session.execute(
        select(LearningSession, _request_learner(LearningSession.id).scalar_subquery())
        .where(LearningSession.id == session_id)
        .options(lazyload(LearningSession.skills))
    ).first()
    if row is None:
        raise NotFound(_("No such session."))
    session, request_learner_id = row
    if not may_read(viewer, session, request_learner_id, looked_up=True):
        raise NotFound(_("No such session."))
    if session.status == SessionStatus.DRAFT:
        is_owner = (
            viewer is not None
            and getattr(viewer, "is_authenticated", False)
            and (viewer.id == session.mentor_id or viewer.is_admin)
        )
        if not is_owner:
            raise NotFound(_("No such session."))
    return session


def bookings_in(learner_id, session_ids):
    """Every booking of ``learner_id`` (in any state, cancelled too) in ``session_ids``."""
    ids = sorted(session_ids)
    if not ids:
        return []
    return list(
        db.session.scalars(
            select(Booking).where(Booking.learner_id == learner_id, Booking.session_id.in_(ids))
        )
    )


def price_locked(session):
    """Whether the price can no longer change: someone holds, has or paid for a seat."""
    return (
        db.session.scalar(
            select(Booking.id)
            .where(
                Booking.session_id == session.id,
                Booking.status.in_((BookingStatus.PENDING_PAYMENT.value, BookingStatus.CONFIRMED.value)),
            )
            .limit(1)
        )
        is not None
        or db.session.scalar(
            select(Payment.id).where(Payment.booking.has(Booking.session_id == session.id)).limit(1)
        )
        is not None
    )


def find_session(session_id):
    """The session with this id, whatever its state or whoever asks, or None; the caller decides
    who may see it (``room.entry_refusal``, ``viewable_session``)."""
    return db.session.get(LearningSession, session_id)


def booked_count(session):
    """Learners holding or having a seat: these hear about a new time or a cancellation."""
    return db.session.scalar(
        select(func.count(Booking.id)).where(
            Booking.session_id == session.id,
            Booking.status.in_((BookingStatus.PENDING_PAYMENT.value, BookingStatus.CONFIRMED.value)),
        )
    )


def paid_booking_count(session):
    """Learners with a confirmed seat they paid for: these are refunded if the session is cancelled."""
    return db.session.scalar(
        select(func.count(Booking.id)).where(
            Booking.session_id == session.id,
            Booking.status == BookingStatus.CONFIRMED.value,
            Booking.amount_paise > 0,
        )
    )


def update_session(mentor, session_id, changes, *, now=None):
    """Edit a draft or scheduled session (see ``save_session``)."""
    return save_session(mentor, session_id, changes, now=now)


def save_session(mentor, session_id, changes, *, cover=None, publish=False, now=None):
    """Edit a draft or scheduled session, give it a new ``cover`` (an image's bytes) and, with
    ``publish``, publish the draft: one transaction, so a refused publish leaves nothing of the
    edit or the cover saved. The price is fixed after the first booking; a new time is
    announced to everyone booked, who may then cancel with a full refund."""
    now = now or utcnow()
    stored = old_cover = None
    try:
        encoded = _encode_cover(cover)
        session = mentor_session(mentor, session_id)
        stored = _put_cover(encoded)
        _apply_changes(session, mentor, changes, now)
        if stored is not None:
            old_cover, session.cover_filename = session.cover_filename, stored
        if publish and session.status != SessionStatus.SCHEDULED:
            _publish_draft(session, mentor, now)
        db.session.commit()
    except Exception:
        _undo(stored)
        raise
    outbox.dispatch()
    _remove_cover(old_cover)
    return session


def _apply_changes(session, mentor, changes, now):
    """The edit of ``save_session``, in the caller's transaction."""
    if session.status not in (SessionStatus.DRAFT, SessionStatus.SCHEDULED):
        raise Conflict(_("A %(status)s session can't be edited.", status=session.status), code="not_editable")
    clean = _validate(changes, mentor, session, now=now)
    if "price_paise" in clean and clean["price_paise"] != session.price_paise and price_locked(session):
        raise Conflict(
            _("The price is fixed once someone has booked."),
            fields={"price_paise": [_("Fixed after the first booking.")]},
            code="price_locked",
        )
    if clean.get("recording_enabled") and not session.recording_enabled and price_locked(session):
        # Learners who booked were told it would not be recorded: it stays that way for them.
        raise Conflict(
            _(
                "Recording can only be turned on before anyone books: the learners who booked were told "
                "this session would not be recorded."
            ),
            fields={"recording_enabled": [_("Only before the first booking.")]},
            code="recording_locked",
        )
    rescheduled = ("starts_at" in clean and clean["starts_at"] != session.starts_at) or (
        "duration_minutes" in clean and clean["duration_minutes"] != session.duration_minutes
    )
    more_seats = clean.get("capacity") is not None and clean["capacity"] > session.capacity
    for name, value in clean.items():
        setattr(session, name, value)
    if more_seats and session.status == SessionStatus.SCHEDULED:
        events.record("seat_freed", session.id, now=now)  # the waitlist's first learners get them
    booked = []
    if rescheduled and session.status == SessionStatus.SCHEDULED:
        session.schedule_version += 1
        booked = list(
            db.session.scalars(
                select(Booking).where(
                    Booking.session_id == session.id,
                    Booking.status.in_((BookingStatus.PENDING_PAYMENT.value, BookingStatus.CONFIRMED.value)),
                )
            )
        )
        for booking in booked:
            booking.rescheduled_at = now
    if booked:
        events.record(
            "session_rescheduled", session, [b for b in booked if b.status == BookingStatus.CONFIRMED]
        )


def check_can_publish(mentor):
    """Refuse a mentor whose publishing is suspended (services.settlement: too many sessions
    not held); drafts and the sessions already scheduled are not affected."""
    if mentor.publishing_suspended_at is not None:
        config = current_app.config
        raise PermissionDenied(
            _(
                "Publishing is suspended: %(strikes)s of your sessions within %(days)s days were not held "
                "(you were in the room for less than %(percent)s%% of their time). You can still save "
                "drafts, and your scheduled sessions go ahead; an admin can lift the suspension after "
                "reviewing your account.",
                strikes=config["STRIKE_LIMIT"],
                days=config["STRIKE_WINDOW_DAYS"],
                percent=config["HELD_MIN_PERCENT"],
            ),
            code="publishing_suspended",
        )


def _check_publishable(session, mentor, now):
    check_can_publish(mentor)
    if not mentor.is_verified:
        raise PermissionDenied(_("Confirm your email address before publishing."), code="email_unverified")
    if session.starts_at <= now + timedelta(minutes=5):
        raise ValidationError(
            _("Move the start time at least 5 minutes into the future before publishing."),
            fields={"starts_at": [_("Choose a time at least 5 minutes from now.")]},
        )


def _publish(session, mentor, now):
    """Publish a session being created (in the caller's transaction)."""
    _check_publishable(session, mentor, now)
    session.status = SessionStatus.SCHEDULED.value
    session.published_at = now
    events.record("session_published", session, mentor)


@use_case
def publish_session(mentor, session_id, *, now=None):
    now = now or utcnow()
    session = mentor_session(mentor, session_id)
    if session.status == SessionStatus.SCHEDULED:
        return session
    _publish_draft(session, mentor, now)
    db.session.commit()
    outbox.dispatch()
    return session


def _publish_draft(session, mentor, now):
    """Publish a saved draft, in the caller's transaction."""
    if session.status != SessionStatus.DRAFT:
        raise Conflict(
            _("A %(status)s session can't be published.", status=session.status), code="not_publishable"
        )
    _check_publishable(session, mentor, now)
    db.session.flush()
    # Only the request whose update moves the draft tells the followers: a double click (or two
    # tabs) publishes once and notifies once.
    won = db.session.execute(
        update(LearningSession)
        .where(LearningSession.id == session.id, LearningSession.status == SessionStatus.DRAFT.value)
        .values(status=SessionStatus.SCHEDULED.value, published_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.refresh(session)
    if won:
        events.record("session_published", session, mentor)
    elif session.status != SessionStatus.SCHEDULED:
        raise Conflict(
            _("A %(status)s session can't be published.", status=session.status), code="not_publishable"
        )


def cancel_session(actor, session_id, *, reason="", now=None, on_cancelled=None):
    """Cancel a session (its mentor or an admin): every booking is cancelled, and every payment
    of the session (bookings in any state, gifts) refunded in full.

    The session's row is locked before any booking's, as every path that changes both does, and
    one conditional update cancels it: of several cancellations at once, one wins and alone
    refunds and notifies, and runs ``on_cancelled(session, previous_status)`` in its transaction
    (the admin's audit entry); the others are refused as already cancelled (a 409).
    """

    now = now or utcnow()
    session = db.session.get(LearningSession, session_id)
    if session is None or (session.mentor_id != actor.id and not actor.is_admin):
        raise NotFound(_("No such session."))
    previous_status = lock_session(session.id)
    won = db.session.execute(
        update(LearningSession)
        .where(LearningSession.id == session.id, LearningSession.status.in_(CANCELLABLE_STATUSES))
        .values(
            status=SessionStatus.CANCELLED.value,
            cancelled_at=now,
            cancel_reason=(reason or "").strip()[:500],
            seats_taken=0,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.refresh(session)
    if won != 1:
        status = session.status
        db.session.rollback()
        raise Conflict(_("This session is already %(status)s.", status=status), code="not_cancellable")
    if on_cancelled is not None:
        on_cancelled(session, previous_status)
    bookings = settlement.cancel_open_bookings(
        session,
        now,
        reason=system_texts.CANCELLED_BY_ADMIN if actor.is_admin else system_texts.CANCELLED_BY_MENTOR,
        by=actor,
    )
    # Everything paid for the session goes back: open bookings, what a late cancellation kept,
    # and the gifts sent in its room.
    refunds = settlement.refund_session_payments(
        session, key=f"session-{session.id}-cancel", reason=system_texts.SESSION_CANCELLED
    )
    # Its people are told, and a request it was made for is declined (services.session_requests).
    events.record(
        "session_cancelled",
        session,
        [b for b in bookings if b.confirmed_at is not None],
        by_admin=actor.is_admin,
    )
    db.session.commit()
    # A room that was recording stops; what it wrote is discarded with the seats.
    recording_capture.session_cancelled(session.id, now)
    outbox.dispatch()
    for refund in refunds:
        dispatch_refund(refund)
    return session


def complete_due_sessions(now=None):
    """Settle scheduled or live sessions whose room has closed (end plus ROOM_GRACE_MINUTES):
    held ones complete and their bookings' attendance is settled; the others are cancelled and
    refunded (services.settlement). Each session in its own transaction. Returns how many this
    call settled (a session End or another sweep settled first is not counted)."""

    now = now or utcnow()
    candidates = db.session.scalars(
        select(LearningSession).where(
            LearningSession.status.in_((SessionStatus.SCHEDULED.value, SessionStatus.LIVE.value)),
            LearningSession.starts_at <= now,
        )
    ).all()
    settled = 0
    for session in candidates:
        if room.closes_at(session) > now:
            continue
        try:
            outcome = settlement.settle_session(session, now, ended_at=session.ends_at)
            db.session.commit()
        except Conflict as exc:
            # A refund reservation lost to a concurrent one (an admin's refund, say): nothing of
            # this session was applied; the next sweep settles it with fresh amounts.
            db.session.rollback()
            log.warning("settling session %s deferred: %s", session.id, exc.message)
            continue
        if outcome is None:
            continue
        settled += 1
        outcome.dispatch()
        # Anyone still in the room, or watching a countdown elsewhere, is told, as when the
        # mentor ends it.
        announce_completed(session)
    return settled


def announce_completed(session):
    """After a session's settlement has committed: tell everyone, and close its media room.

    Every socket still in the session's room gets ``room:ended``; the mentor and everyone who
    held a seat get ``session:ended`` on their own sockets, so a countdown, a Join button or a
    "live now" notice on any of their pages turns to "ended". The status says how it ended:
    ``completed``, or ``cancelled`` when it was not held. Safe to call twice.
    """
    payload = {"session_id": session.id, "status": session.status}
    realtime.emit("room:ended", payload, room=realtime.session_room(session.id))
    seated = db.session.scalars(
        select(Booking.learner_id).where(
            Booking.session_id == session.id,
            Booking.status.in_(
                (
                    BookingStatus.CONFIRMED.value,
                    BookingStatus.ATTENDED.value,
                    BookingStatus.NO_SHOW.value,
                    BookingStatus.CANCELLED.value,
                )
            ),
        )
    ).all()
    for user_id in {session.mentor_id, *seated}:
        realtime.emit("session:ended", payload, room=realtime.user_room(user_id))
    # A recording stops, the media room is destroyed (Janus closes its files), then the
    # recording is queued for composing.
    recording_capture.session_over(session.id)


# The tabs of the mentor's "My sessions", in the order the page shows them.
SESSION_TABS = {
    "upcoming": _l("Upcoming"),
    "past": _l("Past"),
    "drafts": _l("Drafts"),
    "cancelled": _l("Cancelled"),
}


def _ended(mentor, now):
    """SQL: a scheduled session of ``mentor`` whose end (start + duration) has passed. A session
    that started longer ago than the longest of them lasts has ended; the few that started more
    recently are checked one by one, so no date arithmetic differs between databases."""
    started = (
        LearningSession.mentor_id == mentor.id,
        LearningSession.status == SessionStatus.SCHEDULED.value,
        LearningSession.starts_at <= now,
    )
    longest = db.session.scalar(select(func.max(LearningSession.duration_minutes)).where(*started)) or 0
    settled_before = now - timedelta(minutes=longest)
    recent = db.session.execute(
        select(LearningSession.id, LearningSession.starts_at, LearningSession.duration_minutes).where(
            *started, LearningSession.starts_at > settled_before
        )
    )
    ended_recently = [
        row.id for row in recent if now >= row.starts_at + timedelta(minutes=row.duration_minutes)
    ]
    return or_(LearningSession.starts_at <= settled_before, LearningSession.id.in_(ended_recently))


def _tab_of(mentor, now):
    """SQL: the tab of "My sessions" a session belongs in. A live session stays upcoming until
    the sweep completes it."""
    return case(
        (LearningSession.status == SessionStatus.DRAFT.value, "drafts"),
        (LearningSession.status == SessionStatus.CANCELLED.value, "cancelled"),
        (
            or_(
                LearningSession.status == SessionStatus.COMPLETED.value,
                and_(LearningSession.status == SessionStatus.SCHEDULED.value, _ended(mentor, now)),
            ),
            "past",
        ),
        else_="upcoming",
    )


_TAB_ORDER = {
    "upcoming": (LearningSession.starts_at, LearningSession.id),
    "drafts": (LearningSession.starts_at, LearningSession.id),
    "past": (LearningSession.starts_at.desc(), LearningSession.id.desc()),
    "cancelled": (
        func.coalesce(LearningSession.cancelled_at, LearningSession.updated_at).desc(),
        LearningSession.id.desc(),
    ),
}


def sessions_by_tab(mentor, tab, *, page, per_page, now=None):
    """One page (services.pagination) of the mentor's sessions in one tab of "My sessions":
    upcoming and drafts soonest first, past latest first, cancelled latest cancelled first."""
    query = (
        select(LearningSession)
        .where(LearningSession.mentor_id == mentor.id, _tab_of(mentor, now or utcnow()) == tab)
        .order_by(*_TAB_ORDER[tab])
    )
    return paginate(query, page=page, per_page=per_page)


def session_tab_counts(mentor, *, now=None):
    """How many of the mentor's sessions each tab of "My sessions" holds, in one query."""
    tab = _tab_of(mentor, now or utcnow()).label("tab")
    counts = dict.fromkeys(SESSION_TABS, 0)
    rows = db.session.execute(
        select(tab, func.count()).where(LearningSession.mentor_id == mentor.id).group_by(tab)
    )
    counts.update(dict(rows.all()))
    return counts


def is_over(session, now=None):
    """Over for everyone: completed or cancelled, or its room has closed (the sweep completes it
    within a minute). A draft is never over."""
    if session.status in (SessionStatus.COMPLETED, SessionStatus.CANCELLED):
        return True
    if session.status in (SessionStatus.SCHEDULED, SessionStatus.LIVE):
        return (now or utcnow()) >= room.closes_at(session)
    return False


def is_live_now(session, now=None):
    """Live, and its room still open: what a "Live now" badge may claim."""
    return session.status == SessionStatus.LIVE and (now or utcnow()) < room.closes_at(session)


def _encode_cover(data):
    """A cover's bytes re-encoded for storing, or None without a cover. Decoding ends the
    transaction (services.avatars), so it runs before the use case writes anything."""
    if data is None:
        return None
    return avatars.process_image(data, size=COVER_SIZE, field="cover")


def _put_cover(encoded):
    """Store the encoded cover under a new name and return it (None without a cover). Done
    before the use case writes anything, so a slow bucket keeps no row locked; the session is
    pointed at it in the transaction, and a failed save removes it (``_undo``)."""
    if encoded is None:
        return None
    filename = avatars.new_filename()
    storage.get_storage().put(avatars.cover_key(filename), encoded, "image/webp")
    return filename


def _remove_cover(filename):
    if filename:
        storage.discard(avatars.cover_key(filename))


def _undo(stored_cover):
    """A failed save: roll the transaction back and remove the cover file it wrote."""
    db.session.rollback()
    _remove_cover(stored_cover)
