"""A review as anyone may see it, a rating's summary, and where a follower stands with a
mentor."""

from ..links import external_url
from ..services.session_requests import PRIVATE_SESSION_TITLE
from .users import avatar_url


def rating_json(rating):
    return {"average_rating": rating.average, "review_count": rating.count}


def review_json(review):
    """A visible review as anyone may see it (never the booking, nor moderation details). The
    session's title is the one reviews.with_session_titles let the viewer read, if it ran: a
    session made from a learner's request is not named to others."""
    session = review.session
    title = getattr(review, "session_title", session.title) or PRIVATE_SESSION_TITLE
    return {
        "id": review.id,
        "session": {
            "id": session.id,
            "title": title,
            "url": external_url("sessions.detail", session_id=session.id),
        },
        "mentor_id": review.mentor_id,
        "learner": {
            "id": review.learner.id,
            "name": review.learner.name,
            "avatar_url": avatar_url(review.learner),
        },
        "rating": review.rating,
        "body": review.body,
        "minutes_attended": review.minutes_attended,
        "created_at": review.created_at.isoformat(),
        "reply": {"body": review.reply, "replied_at": review.replied_at.isoformat()}
        if review.reply
        else None,
    }
