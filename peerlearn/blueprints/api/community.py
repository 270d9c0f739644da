"""Reviews and follows over JSON."""

from flask_babel import gettext as _
from flask_login import current_user

from ...api_envelope import ok, paginated
from ...inputs import refuse_unknown_fields
from ...serializers.follows import follow_json, following_json
from ...serializers.reviews import rating_json, review_json
from ...services import follows, people, reviews
from ...services.sessions import viewable_session
from . import bp
from .utils import api_login_required, json_body, page_args

REVIEW_FIELDS = {"rating", "body"}
REPLY_FIELDS = {"body"}


@bp.post("/sessions/<int:session_id>/reviews/")
@api_login_required
def create_review(session_id):
    data = refuse_unknown_fields(json_body(), REVIEW_FIELDS)
    review = reviews.create_review(
        current_user, session_id, rating=data.get("rating"), body=data.get("body", "")
    )
    return ok(review_json(review), _("Review published."), status=201)


@bp.get("/sessions/<int:session_id>/reviews/")
def session_reviews(session_id):
    session = viewable_session(current_user, session_id)
    page, per_page = page_args()
    items, total = reviews.session_reviews(session.id, page=page, per_page=per_page)
    return ok(
        {
            **paginated([review_json(r) for r in items], page=page, per_page=per_page, total=total),
            "summary": rating_json(reviews.session_rating(session.id)),
        }
    )


@bp.get("/mentors/<int:user_id>/reviews/")
def mentor_reviews(user_id):
    mentor = people.active_mentor(user_id)
    page, per_page = page_args()
    items, total = reviews.mentor_reviews(mentor.id, page=page, per_page=per_page)
    items = reviews.with_session_titles(items, current_user)
    return ok(
        {
            **paginated([review_json(r) for r in items], page=page, per_page=per_page, total=total),
            "summary": {
                **rating_json(reviews.mentor_rating(mentor.id)),
                "follower_count": follows.follower_count(mentor.id),
            },
        }
    )


@bp.post("/reviews/<int:review_id>/reply/")
@api_login_required
def reply_to_review(review_id):
    data = refuse_unknown_fields(json_body(), REPLY_FIELDS)
    review = reviews.reply(current_user, review_id, data.get("body"))
    return ok(review_json(review), _("Reply published."))


@bp.post("/mentors/<int:user_id>/follow/")
@api_login_required
def follow_mentor(user_id):
    row, created = follows.follow(current_user, user_id)
    message = _("You now follow this mentor.") if created else _("You already follow this mentor.")
    return ok(
        follow_json(user_id, follows.follower_count(user_id), row.created_at),
        message,
        status=201 if created else 200,
    )


@bp.delete("/mentors/<int:user_id>/follow/")
@api_login_required
def unfollow_mentor(user_id):
    was_following = follows.unfollow(current_user, user_id)
    message = (
        _("You no longer follow this mentor.") if was_following else _("You were not following this mentor.")
    )
    return ok(follow_json(user_id, follows.follower_count(user_id)), message)


@bp.get("/following/")
@api_login_required
def following():
    page, per_page = page_args()
    found = follows.following_with_upcoming(current_user, limit_per_mentor=3, page=page, per_page=per_page)
    items = [following_json(entry) for entry in found.items]
    return ok(paginated(items, page=page, per_page=per_page, total=found.total))
