"""Joining and leaving a full session's waitlist from its page."""

from flask import flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ...exceptions import DomainError
from ...services import waitlist as waitlist_service
from . import bp


@bp.post("/sessions/<int:session_id>/waitlist")
@login_required
def join_waitlist(session_id):
    try:
        waitlist_service.join(session_id, current_user)
    except DomainError as exc:
        flash(exc.message, "error")
    else:
        place = waitlist_service.status(current_user, session_id)
        if place["position"]:
            where = waitlist_service.ordinal(place["position"])
            flash(
                _(
                    "You're on the waitlist, %(place)s in line. We'll tell you when a seat opens.",
                    place=where,
                ),
                "success",
            )
    return redirect(url_for("sessions.detail", session_id=session_id))


@bp.post("/sessions/<int:session_id>/waitlist/leave")
@login_required
def leave_waitlist(session_id):
    try:
        waitlist_service.leave(session_id, current_user)
    except DomainError as exc:
        flash(exc.message, "error")
    else:
        flash(_("You've left the waitlist."), "info")
    return redirect(url_for("sessions.detail", session_id=session_id))
