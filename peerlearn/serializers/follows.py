"""Following a mentor: where the follower stands, and an entry of the list of mentors they
follow with the sessions coming up."""

from .reviews import rating_json
from .sessions import session_summary
from .users import public_user


def follow_json(mentor_id, follower_count, followed_at=None):
    return {
        "mentor_id": mentor_id,
        "following": followed_at is not None,
        "followed_at": followed_at.isoformat() if followed_at else None,
        "follower_count": follower_count,
    }


def following_json(entry):
    """One mentor of services.follows.following_with_upcoming."""
    return {
        "mentor": public_user(entry.mentor),
        "followed_at": entry.followed_at.isoformat(),
        "rating": rating_json(entry.rating),
        "upcoming_sessions": [session_summary(s) for s in entry.upcoming],
        "upcoming_total": entry.upcoming_total,
    }
