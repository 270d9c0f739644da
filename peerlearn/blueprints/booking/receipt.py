"""The booking's page, a learner's receipt: what they paid, the refund a cancellation would bring,
and the dispute (or the form to report a problem). The page's view draws it, and so does a refused
report, with the learner's values and the errors beside the form."""

from flask import render_template
from flask_login import current_user

from ...models import BookingStatus
from ...services import booking as booking_service
from ...services import disputes as dispute_service
from ...services import payments as payment_service
from ...services import settlement


def render_receipt(booking, dispute_form=None):
    """The booking page for ``booking``, the current user's own (``dispute_form``: a refused
    report's values and errors)."""
    return render_template(
        "booking/detail.html",
        booking=booking,
        payments=payment_service.booking_payments(booking),
        **_dispute_context(booking, dispute_form),
        refund_if_cancelled=booking_service.refund_due(booking, current_user)
        if booking.status == BookingStatus.CONFIRMED
        else 0,
        refund_promise=booking_service.refund_promise(booking),
        not_held=settlement.was_not_held(booking.session),
    )


def _dispute_context(booking, form=None):
    """What the booking page shows about reporting a problem: the dispute if there is one, else
    the form while the window is open (``form``: a refused post's values and errors)."""
    dispute = dispute_service.for_booking(booking.id)
    return {
        "dispute": dispute,
        "dispute_refund": dispute_service.refund_of(dispute),
        "can_report": dispute is None and dispute_service.can_report(booking),
        "report_until": dispute_service.report_deadline(booking),
        "dispute_reasons": dispute_service.reason_choices(),
        "dispute_form": form or {"values": {}, "errors": {}},
        "dispute_status_label": dispute_service.status_label,
        "dispute_reason_label": dispute_service.reason_label,
        "dispute_details_limits": (dispute_service.MIN_DETAILS_LENGTH, dispute_service.MAX_DETAILS_LENGTH),
    }
