"""Recommendations over JSON: the signed-in learner's sessions and mentors, with reasons, and the
sessions trending now."""

from flask import request
from flask_babel import gettext as _
from flask_login import current_user

from ...api_envelope import ok, paginated
from ...exceptions import ValidationError
from ...inputs import whole_number
from ...serializers.recommendations import recommendation_json, recommended_mentor_json, trending_json
from ...services import recommendations
from . import bp
from .utils import api_login_required, page_args

MAX_TRENDING = 50


@bp.get("/recommendations/")
@api_login_required
def list_recommendations():
    page, per_page = page_args(default_per_page=10, max_per_page=30)
    items, total, built_at = recommendations.for_learner(current_user, page=page, per_page=per_page)
    return ok(
        {
            **paginated(
                [recommendation_json(session, reason, score) for session, reason, score in items],
                page=page,
                per_page=per_page,
                total=total,
            ),
            "built_at": _iso(built_at),
        }
    )


@bp.get("/recommendations/mentors/")
@api_login_required
def recommended_mentors():
    return ok(
        {
            "items": [
                recommended_mentor_json(mentor, reason)
                for mentor, reason in recommendations.mentors_for(current_user)
            ]
        }
    )


@bp.get("/trending/")
def trending():
    limit = whole_number(request.args.get("limit", "10"))
    if limit is None or not 1 <= limit <= MAX_TRENDING:
        raise ValidationError(
            _("limit must be a whole number from 1 to %(num)s.", num=MAX_TRENDING),
            fields={"limit": [_("Out of range.")]},
        )
    viewer = current_user.id if current_user.is_authenticated else None
    items = recommendations.trending(limit=limit, viewer_id=viewer)
    return ok({"items": [trending_json(session, score) for session, score in items]})


def _iso(moment):
    return moment.isoformat() if moment is not None else None
