"""Calendar downloads: one booking as .ics, and each user's private subscription feed."""

from flask import abort, flash, make_response, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ...services import booking as booking_service
from ...services import calendar
from . import bp

ICS_MIMETYPE = "text/calendar; charset=utf-8"
# Where the "Regenerate" forms send people back to.
RETURN_TO = {"bookings": "booking.my_bookings", "sessions": "sessions.mine"}


def _ics_response(body, filename=None):
    response = make_response(body)
    response.headers["Content-Type"] = ICS_MIMETYPE
    if filename:
        response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@bp.get("/bookings/<int:booking_id>.ics")
@login_required
def ics(booking_id):
    booking = booking_service.learner_booking(current_user, booking_id)
    response = _ics_response(calendar.booking_ics(booking), f"peerlearn-booking-{booking.id}.ics")
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/calendar/<token>.ics")
def feed(token):
    """The private feed calendar apps poll. The secret URL is the only credential."""
    user = calendar.user_for_calendar_token(token)
    if user is None:
        abort(404)
    response = _ics_response(calendar.feed_ics(user))
    response.headers["Cache-Control"] = "private, max-age=300"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


@bp.post("/calendar/regenerate")
@login_required
def regenerate_feed():
    if current_user.calendar_token:
        calendar.regenerate_calendar_token(current_user)
        flash(_("Your calendar link was replaced. The old link no longer works."), "success")
    else:
        calendar.ensure_calendar_token(current_user)
        flash(_("Your calendar link is ready. Add it to your calendar app to subscribe."), "success")
    endpoint = RETURN_TO.get(request.form.get("return_to", ""), "booking.my_bookings")
    if endpoint == "sessions.mine" and not current_user.is_mentor:
        endpoint = "booking.my_bookings"
    return redirect(url_for(endpoint) + "#calendar")
