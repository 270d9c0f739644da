"""The mentor directory over JSON: GET /api/mentors/ (the same filters as the /mentors page)."""

from flask import request

from ...api_envelope import ok, paginated
from ...links import external_url
from ...services import mentors
from . import bp
from .serializers import avatar_url
from .utils import refuse_empty_args


def mentor_card_json(card):
    """A directory result as anyone may see it."""
    mentor, upcoming = card.mentor, card.next_session
    return {
        "id": mentor.id,
        "name": mentor.name,
        "headline": mentor.headline,
        "avatar_url": avatar_url(mentor),
        "skills": [skill.name for skill in mentor.skills],
        "hourly_rate_paise": mentor.hourly_rate_paise,
        "currency": "INR",
        "verified": mentor.mentor_verified_at is not None,
        "average_rating": card.rating.average,
        "review_count": card.rating.count,
        "next_session": {
            "id": upcoming.id,
            "title": upcoming.title,
            "starts_at": upcoming.starts_at.isoformat(),
            "price_paise": upcoming.price_paise,
            "url": external_url("sessions.detail", session_id=upcoming.id),
        }
        if upcoming
        else None,
        "profile_url": external_url("users.mentor_profile", user_id=mentor.id),
    }


@bp.get("/mentors/")
def list_mentors():
    refuse_empty_args("language", "price_min", "price_max", "min_rating", "sort", "page", "per_page")
    params = mentors.parse_directory_params(request.args)
    cards, total = mentors.search_mentors(params)
    items = [mentor_card_json(card) for card in cards]
    return ok(paginated(items, page=params.page, per_page=params.per_page, total=total))
