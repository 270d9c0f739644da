"""The homes: the learner's (every account), the mentor's (accounts that teach) and the admin's.

The figures come from services/dashboards.py. Charts are drawn in the browser from the specs
built here (labels, series, unit), embedded in the page as JSON; each also renders as a table.
"""

from flask import redirect, render_template
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ...models import Role, utcnow
from ...security import home_url_for, role_required
from ...services import dashboards, learning_record, packs, stats, waitlist
from ...services.earnings import EARNED_THIS_MONTH, MONEY_STATES
from . import bp


def profile_checklist(user, *, teaching, has_skills=None):
    """What a new user still has to do before the marketplace works well for them, as a learner
    or (``teaching``) as a mentor. ``has_skills``, when the dashboard read it already, spares
    loading the user's skills."""
    items = [
        (_("Confirm your email"), user.is_verified),
        (_("Add a profile photo"), bool(user.avatar_filename)),
        (_("List your skills"), bool(user.skills) if has_skills is None else has_skills),
    ]
    if teaching:
        items += [
            (_("Write a headline"), bool(user.headline)),
            (_("Tell learners about you"), bool(user.bio)),
        ]
    else:
        items += [(_("Say what you want to learn"), bool(user.interests))]
    return [{"label": label, "done": done} for label, done in items]


def chart(chart_id, kind, unit, x_label, labels, series):
    """What the browser needs to draw one chart: ``kind`` is bar, line, stacked or grouped,
    ``unit`` how values read (inr in paise, count, rating, percent), ``x_label`` what the labels
    are (Week, Month, Session), ``series`` [(label, values)]."""
    return {
        "id": chart_id,
        "kind": kind,
        "unit": unit,
        "x_label": x_label,
        "labels": list(labels),
        "series": [{"label": label, "values": list(values)} for label, values in series],
    }


def learner_charts(data):
    skills = data["skills_by_month"]
    if not skills["series"]:
        return {}
    return {
        "skills": chart(
            "skills",
            "stacked",
            "count",
            _("Month"),
            skills["labels"],
            [(s["skill"], s["counts"]) for s in skills["series"]],
        )
    }


def mentor_charts(data):
    weeks, months, ratings = data["earnings_by_week"], data["earnings_by_month"], data["rating_by_month"]
    conversion = data["conversion"]["sessions"]
    charts = {
        # Held sessions' earnings by when they ended: the bars add up to "Earned this month".
        "earnings-week": chart(
            "earnings-week",
            "stacked",
            "inr",
            _("Week from"),
            weeks["labels"],
            [(_("Bookings"), weeks["bookings_paise"]), (_("Gifts"), weeks["gifts_paise"])],
        ),
        "earnings-month": chart(
            "earnings-month",
            "stacked",
            "inr",
            _("Month"),
            months["labels"],
            [(_("Bookings"), months["bookings_paise"]), (_("Gifts"), months["gifts_paise"])],
        ),
        "rating-month": chart(
            "rating-month",
            "line",
            "rating",
            _("Month"),
            ratings["labels"],
            [(_("Average rating"), ratings["average"])],
        ),
    }
    if conversion:
        charts["conversion"] = chart(
            "conversion",
            "grouped",
            "count",
            _("Session"),
            [row["title"] for row in conversion],
            [
                (_("Page views"), [row["views"] for row in conversion]),
                (_("Booked seats"), [row["bookings"] for row in conversion]),
            ],
        )
    return charts


def admin_charts(data):
    weeks = data["signups_by_week"]
    return {
        "signups": chart(
            "signups", "bar", "count", _("Week from"), weeks["labels"], [(_("Sign-ups"), weeks["counts"])]
        )
    }


@bp.get("/home")
@login_required
def home():
    return redirect(home_url_for(current_user))


@bp.get("/learn")
@role_required(Role.LEARNER)
def learner():
    from ...services import recommendations

    now = utcnow()
    data = dashboards.learner_dashboard(current_user, now=now, with_profile=True)
    recommended, mentors = recommendations.for_dashboard(current_user, per_page=6, mentor_limit=4)
    history, more_history = learning_record.recent_history(current_user)
    return render_template(
        "dashboards/learner.html",
        history=history,
        more_history=more_history,
        checklist=profile_checklist(current_user, teaching=False, has_skills=data["profile"]["skills"] > 0),
        dash=data,
        charts=learner_charts(data),
        now_iso=now.isoformat(),
        recommended=recommended,
        mentors=mentors,
        waitlists=waitlist.dashboard_waitlists(current_user, now=now),
        packs=[p for p in packs.learner_purchases(current_user) if p.status == "active"],
    )


@bp.get("/teach")
@role_required(Role.MENTOR)
def mentor():
    now = utcnow()
    data = dashboards.mentor_dashboard(current_user, now=now, with_profile=True)
    # Only a full session has a line: the others cost no query.
    shown = data["sessions"]["today"] + data["sessions"]["upcoming"]
    full = [row["session_id"] for row in shown if row["seats_taken"] >= row["capacity"]]
    return render_template(
        "dashboards/mentor.html",
        waiting=waitlist.waiting_counts(full),
        checklist=profile_checklist(current_user, teaching=True, has_skills=data["profile"]["skills"] > 0),
        dash=data,
        charts=mentor_charts(data),
        now_iso=now.isoformat(),
        words=MONEY_STATES,
        earned_this_month=EARNED_THIS_MONTH,
    )


@bp.get("/admin")
@role_required(Role.ADMIN)
def admin():
    from ...services.disputes import open_count as open_dispute_count

    data = dashboards.admin_dashboard(tz=current_user.timezone)
    return render_template(
        "dashboards/admin.html",
        dash=data,
        charts=admin_charts(data),
        figures=stats.platform_figures(),
        signups=stats.recent_signups(limit=10),
        unverified=stats.unverified_count(),
        failed_jobs=data["failed_jobs"],
        open_disputes=open_dispute_count(),
    )
