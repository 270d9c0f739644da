"""What the recommender suggests to a learner (sessions and mentors, each with its reason) and
the sessions trending now."""

from ..links import external_url
from .sessions import session_summary


def recommendation_json(session, reason, score):
    return {"session": session_summary(session), "reason": reason, "score": score}


def trending_json(session, score):
    return {"session": session_summary(session), "score": score}


def recommended_mentor_json(mentor, reason):
    return {
        "mentor": {
            "id": mentor.id,
            "name": mentor.name,
            "headline": mentor.headline,
            "url": external_url("users.mentor_profile", user_id=mentor.id),
        },
        "reason": reason,
    }
