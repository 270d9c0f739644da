"""The interaction log the recommender learns from.

Actions that change data (a booking, a completion, a gift) are logged in the same transaction
as the change. Page views and searches are logged after the response has gone out, so the page
never waits for them, and a failure to log them is only logged.
"""

import logging

from flask import after_this_request, current_app
from sqlalchemy import insert, select

from ..extensions import db
from ..limits import MAX_QUERY_LENGTH
from ..models import Booking, BookingStatus, Interaction, InteractionKind, LearningSession, utcnow

log = logging.getLogger(__name__)


def record(user_id, kind, *, session=None, mentor_id=None, query="", value=None, now=None):
    """Add one interaction to the caller's transaction."""
    db.session.add(
        _row(user_id, kind, session=session, mentor_id=mentor_id, query=query, value=value, now=now)
    )


def record_after_response(user_id, kind, *, session=None, mentor_id=None, query="", value=None):
    """Log an interaction once the current response has been sent, in a transaction of its own."""
    row = _row(user_id, kind, session=session, mentor_id=mentor_id, query=query, value=value)
    values = {column: getattr(row, column) for column in _COLUMNS}
    app = current_app._get_current_object()

    @after_this_request
    def write_after_close(response):
        def write():
            try:
                with app.app_context():
                    db.session.execute(insert(Interaction).values(**values))
                    db.session.commit()
            except Exception:
                log.exception("could not log a %s interaction of user %s", kind, user_id)

        response.call_on_close(write)
        return response


def viewed(user, session):
    """A signed-in user opened a session page (not their own)."""
    if user.is_authenticated and user.id != session.mentor_id:
        record_after_response(user.id, InteractionKind.VIEW, session=session)


def searched(user, query):
    if user.is_authenticated and query.strip():
        record_after_response(user.id, InteractionKind.SEARCH, query=query)


def booked(booking):
    record(booking.learner_id, InteractionKind.BOOK, session=booking.session)


def attended(session_id, user_id, now=None):
    """The first time a learner enters a session's room (reloads and reconnects add nothing)."""
    session = db.session.get(LearningSession, session_id)
    if session is None or session.mentor_id == user_id:
        return
    seen = db.session.scalar(
        select(Interaction.id)
        .where(
            Interaction.user_id == user_id,
            Interaction.session_id == session_id,
            Interaction.kind == InteractionKind.ATTEND.value,
        )
        .limit(1)
    )
    if seen is None:
        record(user_id, InteractionKind.ATTEND, session=session, now=now)


def completed(session, now=None):
    """Every learner whose booking of ``session`` is marked attended (once each)."""
    now = now or utcnow()
    logged = select(Interaction.user_id).where(
        Interaction.session_id == session.id, Interaction.kind == InteractionKind.COMPLETE.value
    )
    learner_ids = db.session.scalars(
        select(Booking.learner_id).where(
            Booking.session_id == session.id,
            Booking.status == BookingStatus.ATTENDED.value,
            Booking.learner_id.not_in(logged),
        )
    )
    for learner_id in learner_ids:
        record(learner_id, InteractionKind.COMPLETE, session=session, now=now)


def gifted(gift):
    """A paid gift (value: rupees)."""
    db.session.add(
        Interaction(
            user_id=gift.sender_id,
            kind=InteractionKind.GIFT.value,
            session_id=gift.session_id,
            mentor_id=gift.mentor_id,
            value=gift.amount_paise / 100,
            created_at=utcnow(),
        )
    )


def _row(user_id, kind, *, session=None, mentor_id=None, query="", value=None, now=None):
    return Interaction(
        user_id=user_id,
        kind=InteractionKind(kind).value,
        session_id=session.id if session is not None else None,
        mentor_id=mentor_id
        if mentor_id is not None
        else (session.mentor_id if session is not None else None),
        query=(query or "").strip()[:MAX_QUERY_LENGTH],
        value=value,
        created_at=now or utcnow(),
    )


_COLUMNS = ("user_id", "kind", "session_id", "mentor_id", "query", "value", "created_at")
