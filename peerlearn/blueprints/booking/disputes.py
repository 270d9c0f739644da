"""A learner reports a problem with a booking, from its page (services.disputes)."""

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ...exceptions import DomainError, ValidationError
from ...services import booking as booking_service
from ...services import disputes as dispute_service
from . import bp
from .receipt import render_receipt


@bp.post("/bookings/<int:booking_id>/dispute")
@login_required
def report_problem(booking_id):
    booking = booking_service.learner_booking(current_user, booking_id)  # anyone else's: 404
    values = {name: request.form.get(name, "") for name in ("reason", "details")}
    try:
        dispute_service.report(current_user, booking.id, values["reason"], values["details"])
    except ValidationError as exc:
        return render_receipt(booking, dispute_form={"values": values, "errors": exc.fields}), exc.status
    except DomainError as exc:
        flash(exc.message, "error")
    else:
        flash(
            _(
                "Thanks for telling us. Your report is with our team, and the mentor's payment for it is on "
                "hold until they decide. We'll email you the decision."
            ),
            "success",
        )
    return redirect(url_for("booking.detail", booking_id=booking_id, _anchor="problem-heading"), 303)
