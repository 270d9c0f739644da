"""A session as the catalog lists it (summary) and as its page shows it (detail)."""

from ..links import external_url


def session_summary(session):
    return {
        "id": session.id,
        "title": session.title,
        "category": session.category,
        "level": session.level,
        "language": session.language,
        "skills": [s.name for s in session.skills],
        "starts_at": session.starts_at.isoformat(),
        "ends_at": session.ends_at.isoformat(),
        "duration_minutes": session.duration_minutes,
        "capacity": session.capacity,
        "seats_left": session.seats_left,
        "price_paise": session.price_paise,
        "currency": session.currency,
        "is_free": session.is_free,
        "status": session.status,
        # The mentor may record it (learners choose in the room whether to be in the video).
        "recording_enabled": session.recording_enabled,
        "mentor": {"id": session.mentor.id, "name": session.mentor.name, "headline": session.mentor.headline},
        "url": external_url("sessions.detail", session_id=session.id),
    }


def session_detail(session):
    data = session_summary(session)
    data["description"] = session.description
    data["cover_url"] = (
        external_url("sessions.cover", filename=session.cover_filename) if session.cover_filename else None
    )
    return data
