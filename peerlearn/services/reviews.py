"""Reviews: a learner who was in the room for enough of a session rates it, once per booking,
for a while after it ends; the session's mentor may answer each review once.

Who may review is read from the room's attendance log: a learner's stays are merged where they
overlap and clipped to the session's slot (its start to its start plus its duration), and must
cover at least REVIEW_MIN_ATTENDANCE_PERCENT of that slot. Reviews are accepted from the end of
the session until REVIEW_WINDOW_DAYS after it.

Admins can hide a review (``hide_review``): it stays in the table, but counts in no average and
shows in no list.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from .. import events
from ..exceptions import Conflict, NotFound, PermissionDenied, ValidationError
from ..extensions import db
from ..inputs import clean_text, whole_number
from ..models import (
    Attendance,
    Booking,
    BookingStatus,
    InteractionKind,
    LearningSession,
    Review,
    SessionStatus,
    utcnow,
)
from . import attendance, interactions, outbox
from .pagination import paginate
from .session_requests import made_for_requests

MAX_BODY_LENGTH = 2000
MAX_REPLY_LENGTH = 2000
MAX_HIDDEN_REASON_LENGTH = 500
# Bookings whose learner held a seat when the session ran.
REVIEWABLE_BOOKINGS = (BookingStatus.CONFIRMED.value, BookingStatus.ATTENDED.value)


def visible():
    """The condition every public count and list uses: not hidden by an admin."""
    return Review.hidden_at.is_(None)


@dataclass(frozen=True)
class Rating:
    """A mentor's or a session's visible reviews in two numbers."""

    average: float | None
    count: int

    @property
    def rounded(self):
        """The average as people read it: one decimal (4.3), or None without reviews."""
        return None if self.average is None else round(self.average + 1e-9, 1)


def _rating(row):
    average, count = row
    return Rating(None if not count else round(float(average), 2), int(count or 0))


def mentor_rating(mentor_id):
    return _rating(
        db.session.execute(
            select(func.avg(Review.rating), func.count(Review.id)).where(
                Review.mentor_id == mentor_id, visible()
            )
        ).one()
    )


def session_rating(session_id):
    return _rating(
        db.session.execute(
            select(func.avg(Review.rating), func.count(Review.id)).where(
                Review.session_id == session_id, visible()
            )
        ).one()
    )


def mentor_ratings(mentor_ids):
    """``{mentor_id: Rating}`` for many mentors in one query (mentors without reviews included)."""
    ids = list(set(mentor_ids))
    ratings = dict.fromkeys(ids, Rating(None, 0))
    if not ids:
        return ratings
    for mentor_id, average, count in db.session.execute(
        select(Review.mentor_id, func.avg(Review.rating), func.count(Review.id))
        .where(Review.mentor_id.in_(ids), visible())
        .group_by(Review.mentor_id)
    ):
        ratings[mentor_id] = _rating((average, count))
    return ratings


def _page(query, page, per_page):
    """Newest first, the id breaking ties."""
    return paginate(query.order_by(Review.created_at.desc(), Review.id.desc()), page=page, per_page=per_page)


def session_reviews(session_id, *, page=1, per_page=20):
    """One page of a session's visible reviews, newest first, and how many there are."""
    return _page(select(Review).where(Review.session_id == session_id, visible()), page, per_page)


def mentor_reviews(mentor_id, *, page=1, per_page=20):
    """One page of the visible reviews of all of a mentor's sessions, newest first."""
    return _page(select(Review).where(Review.mentor_id == mentor_id, visible()), page, per_page)


def with_session_titles(items, viewer):
    """Give each review its ``session_title`` as ``viewer`` may read it, for lists that name the
    session reviewed (a mentor's reviews). A session made from a learner's request is titled
    with that request's topic, so only the review's learner and mentor read it; everyone else
    gets None and the list says it was a session on request (session_requests.made_for_requests)."""

    private = made_for_requests(review.session_id for review in items)
    viewer_id = viewer.id if getattr(viewer, "is_authenticated", False) else None
    for review in items:
        involved = viewer_id in (review.learner_id, review.mentor_id)
        review.session_title = None if review.session_id in private and not involved else review.session.title
    return items


def reviewed_booking_ids(booking_ids):
    """Which of these bookings have a review (hidden ones too: each booking is reviewed once)."""
    ids = list(booking_ids)
    if not ids:
        return set()
    return set(db.session.scalars(select(Review.booking_id).where(Review.booking_id.in_(ids))))


# --------------------------------------------------------------------------- who may review


def seconds_attended(session, user_id, now=None):
    """Seconds ``user_id`` was in ``session``'s room within its slot, overlapping stays counted
    once; a stay still open counts until ``now``."""
    now = now or utcnow()
    stays = db.session.execute(
        select(Attendance.joined_at, Attendance.left_at)
        .where(Attendance.session_id == session.id, Attendance.user_id == user_id)
        .order_by(Attendance.joined_at)
    ).all()
    return int(attendance.seconds_within(stays, session.starts_at, session.ends_at, now))


def session_end(session):
    """When a session ended: when its mentor ended it, else the end of its slot."""
    if session.status == SessionStatus.COMPLETED and session.ended_at is not None:
        return min(session.ended_at, session.ends_at)
    return session.ends_at


def window_closes_at(session):
    return session_end(session) + timedelta(days=current_app.config["REVIEW_WINDOW_DAYS"])


def invites_review(booking, now=None):
    """Whether "My bookings" offers to review this booking's session: the learner held a seat,
    the session has ended and its review window is open. Attendance is checked on the form."""
    now = now or utcnow()
    session = booking.session
    return (
        booking.status in REVIEWABLE_BOOKINGS
        and session.status not in (SessionStatus.DRAFT, SessionStatus.CANCELLED)
        and (session.status == SessionStatus.COMPLETED or now >= session.ends_at)
        and now <= window_closes_at(session)
    )


@dataclass(frozen=True)
class Eligibility:
    """Whether ``user`` may review a session now, and why not (``refusal``, a domain error)."""

    refusal: Exception | None
    booking: Booking | None = None
    review: Review | None = None  # the user's review of it, if written
    minutes_attended: int = 0
    percent_attended: int = 0
    closes_at: datetime | None = None

    @property
    def allowed(self):
        return self.refusal is None

    @property
    def code(self):
        return getattr(self.refusal, "code", None)


def _refused(message, code="review_not_allowed", **facts):
    return Eligibility(PermissionDenied(message, code=code), **facts)


def has_ended(session, now=None):
    """Whether ``session`` is over for reviewing: completed, or past its end (``eligibility``
    turns every review away before then)."""
    return session.status == SessionStatus.COMPLETED or (now or utcnow()) >= session.ends_at


def eligibility(user, session, now=None):
    """Check, in this order: a learner's seat, an earlier review (409), the window, attendance."""
    now = now or utcnow()
    if user is None or not getattr(user, "is_authenticated", False):
        return _refused(_("Log in to review a session."), "authentication_required")
    if user.id == session.mentor_id:
        return _refused(_("Mentors can't review their own sessions."))
    if session.status in (SessionStatus.DRAFT, SessionStatus.CANCELLED):
        return _refused(_("This session did not take place, so it can't be reviewed."))
    booking = db.session.scalar(
        select(Booking).where(
            Booking.session_id == session.id,
            Booking.learner_id == user.id,
            Booking.status.in_(REVIEWABLE_BOOKINGS),
        )
    )
    if booking is None:
        return _refused(_("Only learners who attended this session can review it."))
    closes_at = window_closes_at(session)
    review = db.session.scalar(select(Review).where(Review.booking_id == booking.id))
    if review is not None:
        return Eligibility(
            Conflict(_("You have already reviewed this session."), code="already_reviewed"),
            booking=booking,
            review=review,
            minutes_attended=review.minutes_attended,
            closes_at=closes_at,
        )
    if not has_ended(session, now):
        return _refused(
            _("You can review this session once it has ended."),
            "review_too_early",
            booking=booking,
            closes_at=closes_at,
        )
    if now > closes_at:
        days = current_app.config["REVIEW_WINDOW_DAYS"]
        return _refused(
            _("Reviews close %(days)s days after the session ends.", days=days),
            "review_window_closed",
            booking=booking,
            closes_at=closes_at,
        )
    seconds = seconds_attended(session, user.id, now)
    slot = session.duration_minutes * 60
    percent = int(seconds * 100 // slot)
    facts = {
        "booking": booking,
        "minutes_attended": seconds // 60,
        "percent_attended": percent,
        "closes_at": closes_at,
    }
    needed = current_app.config["REVIEW_MIN_ATTENDANCE_PERCENT"]
    if seconds * 100 < needed * slot:
        return _refused(
            _(
                "Reviews are for learners who were in the room for at least %(percent)s%% of the session; "
                "you were there for %(minutes)s of its %(duration)s minutes.",
                percent=needed,
                minutes=seconds // 60,
                duration=session.duration_minutes,
            ),
            **facts,
        )
    return Eligibility(None, **facts)


def _session(session_id):
    session = db.session.get(LearningSession, session_id)
    if session is None or session.status == SessionStatus.DRAFT:
        raise NotFound(_("No such session."))
    return session


def _clean_rating(rating, errors):
    if isinstance(rating, str):
        rating = whole_number(rating.strip())
    if isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5:
        errors["rating"] = [_("Choose 1 to 5 stars.")]
        return None
    return rating


def create_review(learner, session_id, *, rating, body="", now=None):
    """Rate a session the learner attended (see ``eligibility``). The mentor is told, and the
    rating joins the learner's interaction log, in the same transaction."""
    now = now or utcnow()
    session = _session(session_id)
    allowed = eligibility(learner, session, now)
    if not allowed.allowed:
        raise allowed.refusal
    errors = {}
    rating = _clean_rating(rating, errors)
    body = clean_text(body, "body", errors, max_length=MAX_BODY_LENGTH, multiline=True)
    if errors:
        raise ValidationError(_("Please correct the highlighted fields."), fields=errors)
    review = Review(
        booking_id=allowed.booking.id,
        session_id=session.id,
        mentor_id=session.mentor_id,
        learner_id=learner.id,
        rating=rating,
        body=body,
        minutes_attended=allowed.minutes_attended,
        created_at=now,
    )
    db.session.add(review)
    try:
        db.session.flush()
    except IntegrityError:  # the same booking reviewed at the same moment (another tab)
        db.session.rollback()
        raise Conflict(_("You have already reviewed this session."), code="already_reviewed") from None
    events.record("new_review", review)
    interactions.record(learner.id, InteractionKind.RATE, session=session, value=rating, now=now)
    db.session.commit()
    outbox.dispatch()
    events.record("learner_interests_changed", learner.id)
    return review


def visible_review(review_id):
    review = db.session.get(Review, review_id)
    if review is None or review.hidden_at is not None:
        raise NotFound(_("No such review."))
    return review


def reply(mentor, review_id, text, now=None):
    """The session's mentor answers a review, once."""
    now = now or utcnow()
    review = visible_review(review_id)
    if review.mentor_id != mentor.id:
        raise PermissionDenied(
            _("Only the session's mentor can reply to this review."), code="not_review_mentor"
        )
    errors = {}
    text = clean_text(
        text,
        "body",
        errors,
        max_length=MAX_REPLY_LENGTH,
        required=True,
        multiline=True,
        required_message=_("Write something first."),
    )
    if errors:
        raise ValidationError(_("Please correct the highlighted fields."), fields=errors)
    # Conditional: of two replies sent at once, one wins and the other is told.
    won = db.session.execute(
        update(Review)
        .where(Review.id == review.id, Review.reply.is_(None))
        .values(reply=text, replied_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not won:
        db.session.rollback()
        raise Conflict(_("You have already replied to this review."), code="already_replied")
    db.session.commit()
    db.session.refresh(review)
    return review


def hide_review(admin, review_id, reason, *, commit=True, now=None):
    """Hide a review from every list and average (an admin's moderation). Returns the review.

    Hiding a hidden review changes nothing. The caller records the audit entry; pass
    ``commit=False`` to write it in the same transaction, then commit.
    """
    if admin is None or not getattr(admin, "is_admin", False):
        raise PermissionDenied(_("Only admins can hide reviews."), code="admin_only")
    review = db.session.get(Review, review_id)
    if review is None:
        raise NotFound(_("No such review."))
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(
            _("Say why the review is hidden."), fields={"reason": [_("This field is required.")]}
        )
    if review.hidden_at is None:
        review.hidden_at = now or utcnow()
        review.hidden_reason = reason[:MAX_HIDDEN_REASON_LENGTH]
        review.hidden_by_id = admin.id
    if commit:
        db.session.commit()
    return review
