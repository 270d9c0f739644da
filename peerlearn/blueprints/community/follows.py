"""Following mentors on pages: the Follow/Following button's form posts, and "Mentors you follow"."""

from urllib.parse import urlsplit

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ...inputs import page_or_first
from ...limits import LIST_PER_PAGE
from ...services import follows
from . import bp


@bp.app_context_processor
def follow_panels():
    def follow_state(mentor):
        """What the Follow button shows: whether the viewer follows ``mentor``, and how many do."""
        return {
            "following": follows.is_following(current_user, mentor.id),
            "followers": follows.follower_count(mentor.id),
            "is_self": current_user.is_authenticated and current_user.id == mentor.id,
        }

    return {"follow_state": follow_state}


def _back(mentor_id):
    """Where the button was pressed (a path on this site), else the mentor's profile."""
    target = request.form.get("next", "")
    parts = urlsplit(target)
    if target.startswith("/") and not target.startswith("//") and not parts.scheme and not parts.netloc:
        return target
    return url_for("users.mentor_profile", user_id=mentor_id)


@bp.post("/mentors/<int:user_id>/follow")
@login_required
def follow(user_id):
    # The button is not shown on one's own profile: a refusal here is a crafted request (409/404).
    _follow, created = follows.follow(current_user, user_id)
    if created:
        flash(_("You're following this mentor: you'll hear when they publish a session."), "success")
    return redirect(_back(user_id), 303)


@bp.post("/mentors/<int:user_id>/unfollow")
@login_required
def unfollow(user_id):
    if follows.unfollow(current_user, user_id):
        flash(_("You no longer follow this mentor."), "info")
    return redirect(_back(user_id), 303)


@bp.get("/following")
@login_required
def following():
    found = follows.following_with_upcoming(
        current_user,
        limit_per_mentor=3,
        page=page_or_first(request.args.get("page", "1")),
        per_page=LIST_PER_PAGE,
    )
    return render_template(
        "community/following.html", entries=found.items, page=found.page, pages=found.pages
    )
