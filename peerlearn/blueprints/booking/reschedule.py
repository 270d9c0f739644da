"""Moving a booking to another session of the same mentor: the list of sessions it may move to,
a confirm step, and the move (services.reschedule)."""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from ...exceptions import DomainError
from ...inputs import is_id
from ...services import booking as booking_service
from ...services import reschedule as reschedule_service
from . import bp


@bp.get("/bookings/<int:booking_id>/reschedule")
@login_required
def reschedule(booking_id):
    booking = booking_service.learner_booking(current_user, booking_id)
    options = reschedule_service.targets(booking)
    chosen = None
    wanted = request.args.get("session_id", type=int)
    if wanted is not None:
        chosen = next((option for option in options if option["session"].id == wanted), None)
        if chosen is None:
            flash("That session can't be chosen now; pick one from the list.", "error")
    return render_template(
        "booking/reschedule.html",
        booking=booking,
        options=options,
        chosen=chosen,
        closes_at=reschedule_service.window_closes_at(booking),
        refusal=reschedule_service.refusal(booking),
    )


@bp.post("/bookings/<int:booking_id>/reschedule")
@login_required
def move(booking_id):
    raw = request.form.get("session_id", "")
    session_id = int(raw) if raw.isdigit() and is_id(int(raw)) else None
    if session_id is None:
        abort(400)
    try:
        booking, refund, moved = reschedule_service.reschedule(current_user, booking_id, session_id)
    except DomainError as exc:
        flash(exc.message, "error")
        return redirect(url_for("booking.reschedule", booking_id=booking_id))
    if not moved:
        flash("Your booking is already in that session.", "info")
    elif refund is not None:
        flash("Booking moved. The difference in price is on its way back to you.", "success")
    else:
        flash("Booking moved to the new time.", "success")
    return redirect(url_for("booking.detail", booking_id=booking.id))
