from flask import redirect, render_template
from flask_login import current_user, login_required

from ...models import Role
from ...security import home_url_for, role_required
from ...services import search, stats
from ...tasks import failed_job_count
from . import bp


def profile_checklist(user):
    """What a new user still has to do before the marketplace works well for them."""
    items = [
        ("Confirm your email", user.is_verified),
        ("Add a profile photo", bool(user.avatar_filename)),
        ("List your skills", bool(user.skills)),
    ]
    if user.is_mentor:
        items += [("Write a headline", bool(user.headline)), ("Tell learners about you", bool(user.bio))]
    else:
        items += [("Say what you want to learn", bool(user.interests))]
    return [{"label": label, "done": done} for label, done in items]


@bp.get("/home")
@login_required
def home():
    return redirect(home_url_for(current_user))


@bp.get("/learn")
@role_required(Role.LEARNER)
def learner():
    from ...services import recommendations
    from ..booking.routes import bookings_for

    recommended, _total, _built_at = recommendations.for_learner(current_user, per_page=6)
    return render_template(
        "dashboards/learner.html",
        checklist=profile_checklist(current_user),
        upcoming=bookings_for(current_user, "upcoming")[:5],
        recommended=recommended,
        mentors=recommendations.mentors_for(current_user, limit=4),
    )


@bp.get("/teach")
@role_required(Role.MENTOR)
def mentor():
    return render_template(
        "dashboards/mentor.html",
        checklist=profile_checklist(current_user),
        upcoming=search.upcoming_sessions_of(current_user.id, limit=5),
    )


@bp.get("/admin")
@role_required(Role.ADMIN)
def admin():
    return render_template(
        "dashboards/admin.html",
        figures=stats.platform_figures(),
        signups=stats.recent_signups(limit=10),
        unverified=stats.unverified_count(),
        failed_jobs=failed_job_count(),
    )
