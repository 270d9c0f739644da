"""What the recommender reads (the interaction log) and what it writes (precomputed lists)."""

import enum
from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .base import UTCDateTime, utcnow


class InteractionKind(enum.StrEnum):
    VIEW = "view"  # a session page
    SEARCH = "search"  # a catalog search with a query
    BOOK = "book"  # a confirmed booking
    ATTEND = "attend"  # joined the room
    COMPLETE = "complete"  # attended the session to the end (marked attended)
    RATE = "rate"  # a review; value holds the stars
    FOLLOW = "follow"  # followed the mentor
    GIFT = "gift"  # a paid gift in the room


class Interaction(db.Model):
    """One thing a signed-in user did that tells the recommender what they like. Rows are only
    added; the recommender weighs them by kind and age."""

    __tablename__ = "interactions"
    __table_args__ = (
        CheckConstraint(
            "kind IN ('view', 'search', 'book', 'attend', 'complete', 'rate', 'follow', 'gift')",
            name="kind_valid",
        ),
        Index("ix_interactions_user_id_created_at", "user_id", "created_at"),
        # Per-session counts by kind (a mentor's views → bookings analytics); also serves
        # lookups by session alone.
        Index("ix_interactions_session_id_kind", "session_id", "kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    kind: Mapped[str] = mapped_column(String(10), nullable=False)
    session_id: Mapped[int | None] = mapped_column(ForeignKey("learning_sessions.id", ondelete="SET NULL"))
    # The mentor the action was about (the session's mentor, or the one followed): kept apart from
    # the session because sessions end and mentors last.
    mentor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    query: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    value: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow, index=True)


class LearnerRecommendations(db.Model):
    """A learner's precomputed lists, read whole at request time."""

    __tablename__ = "learner_recommendations"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    # [{"session_id", "score", "reason"}], best first
    sessions: Mapped[list] = mapped_column(JSON, nullable=False, default=list)
    # [{"mentor_id", "score", "reason"}], best first
    mentors: Mapped[list] = mapped_column(JSON, nullable=False, default=list)
    model_version: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    built_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)


class SimilarSessions(db.Model):
    """Sessions like a given one, for its page."""

    __tablename__ = "similar_sessions"

    session_id: Mapped[int] = mapped_column(
        ForeignKey("learning_sessions.id", ondelete="CASCADE"), primary_key=True
    )
    # [{"session_id", "score"}], best first
    similar: Mapped[list] = mapped_column(JSON, nullable=False, default=list)
    built_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)


class RecommenderState(db.Model):
    """Named results of the last rebuild that are not per user: the trending list, the model's
    version and figures."""

    __tablename__ = "recommender_state"

    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    built_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
