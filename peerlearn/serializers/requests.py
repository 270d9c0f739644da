"""A session request as its two parties see it."""

from ..links import external_url
from ..services.session_requests import preferred_times
from .sessions import session_summary


def request_json(req, session):
    """``session`` is the session made from the request, or None while there is none."""
    return {
        "id": req.id,
        "status": req.status,
        "topic": req.topic,
        "message": req.message,
        "preferred_times": [moment.isoformat() for moment in preferred_times(req)],
        "budget_paise": req.budget_paise,
        "currency": "INR",
        "learner": {"id": req.learner.id, "name": req.learner.name},
        "mentor": {"id": req.mentor.id, "name": req.mentor.name, "headline": req.mentor.headline},
        "response_note": req.response_note,
        "session": session_summary(session) if session is not None else None,
        "booking_id": req.booking_id,
        "created_at": req.created_at.isoformat(),
        "responded_at": req.responded_at.isoformat() if req.responded_at else None,
        "expires_at": req.expires_at.isoformat(),
        "url": external_url("community.request_detail", request_id=req.id),
    }
