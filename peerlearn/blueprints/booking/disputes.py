"""A learner reports a problem with a booking, from its page (services.disputes)."""

from flask import flash, redirect, request, url_for
from flask_login import current_user, login_required

from ...exceptions import DomainError, ValidationError
from ...extensions import db
from ...models import Refund
from ...services import booking as booking_service
from ...services import disputes as dispute_service
from . import bp


def page_context(booking, form=None):
    """What the booking page shows about reporting a problem: the dispute if there is one, else
    the form while the window is open (``form``: a refused post's values and errors)."""
    dispute = dispute_service.for_booking(booking.id)
    return {
        "dispute": dispute,
        "dispute_refund": db.session.get(Refund, dispute.refund_id)
        if dispute and dispute.refund_id
        else None,
        "can_report": dispute is None and dispute_service.can_report(booking),
        "report_until": dispute_service.report_deadline(booking),
        "dispute_reasons": dispute_service.reason_choices(),
        "dispute_form": form or {"values": {}, "errors": {}},
        "dispute_status_label": dispute_service.status_label,
        "dispute_reason_label": dispute_service.reason_label,
        "dispute_details_limits": (dispute_service.MIN_DETAILS_LENGTH, dispute_service.MAX_DETAILS_LENGTH),
    }


@bp.post("/bookings/<int:booking_id>/dispute")
@login_required
def report_problem(booking_id):
    booking = booking_service.learner_booking(current_user, booking_id)  # anyone else's: 404
    values = {name: request.form.get(name, "") for name in ("reason", "details")}
    try:
        dispute_service.report(current_user, booking.id, values["reason"], values["details"])
    except ValidationError as exc:
        from .routes import detail

        return detail(booking_id, dispute_form={"values": values, "errors": exc.fields}), exc.status
    except DomainError as exc:
        flash(exc.message, "error")
    else:
        flash(
            "Thanks for telling us. Your report is with our team, and the mentor's payment for it is on "
            "hold until they decide. We'll email you the decision.",
            "success",
        )
    return redirect(url_for("booking.detail", booking_id=booking_id, _anchor="problem-heading"), 303)
